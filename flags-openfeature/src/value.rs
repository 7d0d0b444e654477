//! A variant's payload as the value type the caller asked for.

use flags_middleware::model::Payload;
use open_feature::{EvaluationError, EvaluationErrorCode, StructValue, Value};

/// What went wrong turning a payload into the asked type.
fn error(code: EvaluationErrorCode, message: String) -> EvaluationError {
    EvaluationError {
        code,
        message: Some(message),
    }
}

fn mismatch(flag: &str, variant: &str, payload: Option<&Payload>, asked: &str) -> EvaluationError {
    let found = match payload {
        Some(p) => format!("a `{}` payload", p.kind),
        None => "no payload".to_owned(),
    };
    error(
        EvaluationErrorCode::TypeMismatch,
        format!("flag `{flag}`: variant `{variant}` has {found}, asked for {asked}"),
    )
}

fn unparsable(flag: &str, variant: &str, payload: &Payload, problem: &str) -> EvaluationError {
    error(
        EvaluationErrorCode::ParseError,
        format!(
            "flag `{flag}`: the `{}` payload of variant `{variant}` {problem}: {:?}",
            payload.kind, payload.value
        ),
    )
}

/// A `string` or `csv` payload as it is; a variant without a payload
/// answers its name (an A/B test's arms often carry none).
pub(crate) fn string(
    flag: &str,
    variant: &str,
    payload: Option<&Payload>,
) -> Result<String, EvaluationError> {
    match payload {
        None => Ok(variant.to_owned()),
        Some(p) if p.kind == "string" || p.kind == "csv" => Ok(p.value.clone()),
        Some(_) => Err(mismatch(flag, variant, payload, "a string")),
    }
}

/// A `number` payload that is a whole number.
pub(crate) fn int(
    flag: &str,
    variant: &str,
    payload: Option<&Payload>,
) -> Result<i64, EvaluationError> {
    let p = number_payload(flag, variant, payload, "an integer")?;
    let text = p.value.trim();
    if let Ok(i) = text.parse::<i64>() {
        return Ok(i);
    }
    match text.parse::<f64>() {
        // A number, but not a whole one that fits: the caller wants a float.
        Ok(_) => Err(error(
            EvaluationErrorCode::TypeMismatch,
            format!(
                "flag `{flag}`: the number payload of variant `{variant}` is not an integer: {text}"
            ),
        )),
        Err(_) => Err(unparsable(flag, variant, p, "is not a number")),
    }
}

/// A `number` payload.
pub(crate) fn float(
    flag: &str,
    variant: &str,
    payload: Option<&Payload>,
) -> Result<f64, EvaluationError> {
    let p = number_payload(flag, variant, payload, "a float")?;
    p.value
        .trim()
        .parse::<f64>()
        .map_err(|_| unparsable(flag, variant, p, "is not a number"))
}

fn number_payload<'p>(
    flag: &str,
    variant: &str,
    payload: Option<&'p Payload>,
    asked: &str,
) -> Result<&'p Payload, EvaluationError> {
    match payload {
        Some(p) if p.kind == "number" => Ok(p),
        _ => Err(mismatch(flag, variant, payload, asked)),
    }
}

/// A `json` payload holding an object. JSON `null`s are left out (OpenFeature
/// values have no null); whole numbers that fit become `Int`, others `Float`.
pub(crate) fn structure(
    flag: &str,
    variant: &str,
    payload: Option<&Payload>,
) -> Result<StructValue, EvaluationError> {
    let p = match payload {
        Some(p) if p.kind == "json" => p,
        _ => return Err(mismatch(flag, variant, payload, "a structure")),
    };
    let json: serde_json::Value = serde_json::from_str(&p.value)
        .map_err(|e| unparsable(flag, variant, p, &format!("is not valid JSON ({e})")))?;
    match json {
        serde_json::Value::Object(map) => Ok(object(map)),
        _ => Err(error(
            EvaluationErrorCode::TypeMismatch,
            format!(
                "flag `{flag}`: the json payload of variant `{variant}` is not an object, asked for a structure"
            ),
        )),
    }
}

fn object(map: serde_json::Map<String, serde_json::Value>) -> StructValue {
    StructValue {
        fields: map
            .into_iter()
            .filter_map(|(k, v)| value(v).map(|v| (k, v)))
            .collect(),
    }
}

fn value(json: serde_json::Value) -> Option<Value> {
    Some(match json {
        serde_json::Value::Null => return None,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::String(s),
        serde_json::Value::Array(items) => {
            Value::Array(items.into_iter().filter_map(value).collect())
        }
        serde_json::Value::Object(map) => Value::Struct(object(map)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(kind: &str, value: &str) -> Payload {
        Payload {
            kind: kind.into(),
            value: value.into(),
        }
    }

    #[test]
    fn numbers_parse_or_say_why_not() {
        let n = payload("number", " 42 ");
        assert_eq!(int("f", "v", Some(&n)).unwrap(), 42);
        assert_eq!(float("f", "v", Some(&n)).unwrap(), 42.0);
        let half = payload("number", "0.5");
        assert_eq!(float("f", "v", Some(&half)).unwrap(), 0.5);
        let e = int("f", "v", Some(&half)).unwrap_err();
        assert_eq!(e.code, EvaluationErrorCode::TypeMismatch);
        let bad = payload("number", "forty");
        assert_eq!(
            int("f", "v", Some(&bad)).unwrap_err().code,
            EvaluationErrorCode::ParseError
        );
        let e = float("f", "v", Some(&bad)).unwrap_err();
        assert_eq!(e.code, EvaluationErrorCode::ParseError);
        assert!(e.message.unwrap().contains("flag `f`"));
    }

    #[test]
    fn json_objects_become_structures() {
        let p = payload(
            "json",
            r#"{"a": 1, "b": 1.5, "c": [true, null], "d": {"e": "x"}, "n": null}"#,
        );
        let s = structure("f", "v", Some(&p)).unwrap();
        assert_eq!(s.fields["a"], Value::Int(1));
        assert_eq!(s.fields["b"], Value::Float(1.5));
        assert_eq!(s.fields["c"], Value::Array(vec![Value::Bool(true)]));
        assert_eq!(
            s.fields["d"],
            Value::Struct(StructValue::default().with_field("e", "x"))
        );
        assert!(!s.fields.contains_key("n"));
        let list = payload("json", "[1]");
        let e = structure("f", "v", Some(&list)).unwrap_err();
        assert_eq!(e.code, EvaluationErrorCode::TypeMismatch);
        let broken = payload("json", "{");
        let e = structure("f", "v", Some(&broken)).unwrap_err();
        assert_eq!(e.code, EvaluationErrorCode::ParseError);
    }

    #[test]
    fn strings_from_string_and_csv_payloads_or_the_variant_name() {
        assert_eq!(
            string("f", "v", Some(&payload("csv", "a,b"))).unwrap(),
            "a,b"
        );
        assert_eq!(string("f", "blue", None).unwrap(), "blue");
        let e = string("f", "v", Some(&payload("number", "1"))).unwrap_err();
        assert_eq!(e.code, EvaluationErrorCode::TypeMismatch);
        assert_eq!(
            int("f", "v", None).unwrap_err().code,
            EvaluationErrorCode::TypeMismatch
        );
    }
}
