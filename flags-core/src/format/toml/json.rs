//! The TOML format's shape in JSON: the admin API takes and returns flag
//! definitions as the same keys the TOML file uses.

use toml_edit::{Array, InlineTable, Item, Value};

/// A TOML item as JSON (tables become objects, dates strings).
pub(crate) fn item_to_json(item: &Item) -> serde_json::Value {
    match item {
        Item::None => serde_json::Value::Null,
        Item::Value(v) => value_to_json(v),
        Item::Table(t) => serde_json::Value::Object(
            t.iter()
                .map(|(k, v)| (k.to_owned(), item_to_json(v)))
                .collect(),
        ),
        Item::ArrayOfTables(a) => serde_json::Value::Array(
            a.iter()
                .map(|t| {
                    serde_json::Value::Object(
                        t.iter()
                            .map(|(k, v)| (k.to_owned(), item_to_json(v)))
                            .collect(),
                    )
                })
                .collect(),
        ),
    }
}

fn value_to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::String(s) => s.value().clone().into(),
        Value::Integer(i) => (*i.value()).into(),
        Value::Float(f) => serde_json::Number::from_f64(*f.value())
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        Value::Boolean(b) => (*b.value()).into(),
        Value::Datetime(d) => d.value().to_string().into(),
        Value::Array(a) => serde_json::Value::Array(a.iter().map(value_to_json).collect()),
        Value::InlineTable(t) => serde_json::Value::Object(
            t.iter()
                .map(|(k, v)| (k.to_owned(), value_to_json(v)))
                .collect(),
        ),
    }
}

/// Parses JSON text straight into a TOML value, keeping the order of object
/// keys (variant order decides bucketing, so `{"blue": 50, "green": 50}`
/// must stay in the order written).
///
/// # Errors
/// Malformed JSON, or a `null` (TOML has none).
pub(crate) fn json_text_to_value(text: &str) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let v = serde::Deserializer::deserialize_any(&mut de, TomlVisitor)?;
    de.end()?;
    Ok(v)
}

struct TomlVisitor;

impl<'de> serde::de::Visitor<'de> for TomlVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value other than null")
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(match i64::try_from(v) {
            Ok(i) => Value::from(i),
            Err(_) => Value::from(v as f64),
        })
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
        Err(E::custom(
            "null is not allowed (TOML has no null; leave the key out)",
        ))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut a = Array::new();
        while let Some(v) = seq.next_element_seed(Seed)? {
            a.push(v);
        }
        Ok(Value::Array(a))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut t = InlineTable::new();
        while let Some(k) = map.next_key::<String>()? {
            let v = map.next_value_seed(Seed)?;
            t.insert(k, v);
        }
        Ok(Value::InlineTable(t))
    }
}

struct Seed;

impl<'de> serde::de::DeserializeSeed<'de> for Seed {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(TomlVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keeps_key_order_and_rejects_null() {
        let v = json_text_to_value(r#"{"variants": {"green": 50, "blue": 50}}"#).unwrap();
        let order: Vec<&str> = v.as_inline_table().unwrap()["variants"]
            .as_inline_table()
            .unwrap()
            .iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(order, ["green", "blue"]);
        assert!(json_text_to_value(r#"{"rollout": null}"#).is_err());
    }
}
