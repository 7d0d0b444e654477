//! Reading contexts written in the Unleash client specification's format.

use serde_json::Value;

/// A context value as the specification's runners read it: strings as they
/// are, numbers and booleans as their text; anything else is not a value.
pub fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
