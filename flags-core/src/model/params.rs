//! Strategy parameters arrive as strings in Unleash's JSON, but hand-written
//! JSON and older servers send numbers and booleans too: accept any scalar.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

fn scalar_map<'de, D>(d: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: Deserializer<'de>,
{
    let raw: Option<BTreeMap<String, serde_json::Value>> = Option::deserialize(d)?;
    Ok(raw
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| scalar_to_string(v).map(|v| (k, v)))
        .collect())
}

pub(crate) fn opt_scalar<'de, D>(d: D) -> Result<Option<String>, D::Error>
where
    D: Deserializer<'de>,
{
    let raw: Option<serde_json::Value> = Option::deserialize(d)?;
    Ok(raw.and_then(scalar_to_string))
}

pub(crate) fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn scalar_to_string(v: serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A strategy's parameters: a small map kept as a sorted list, because a
/// strategy has a handful of them and a tree map costs ~600 bytes each.
///
/// ```
/// use flags_core::model::Parameters;
///
/// let mut p: Parameters = [("rollout", "20")].into_iter().collect();
/// p.insert("stickiness", "default");
/// assert_eq!(p.get("rollout").map(String::as_str), Some("20"));
/// assert_eq!(p.len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parameters(Vec<(String, String)>);

impl Parameters {
    /// No parameters.
    ///
    /// ```
    /// use flags_core::model::Parameters;
    ///
    /// let mut p = Parameters::new();
    /// assert!(p.is_empty());
    /// p.insert("rollout", "20");
    /// assert_eq!(p.len(), 1);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of `key`.
    ///
    /// ```
    /// use flags_core::model::Parameters;
    ///
    /// let p: Parameters = [("rollout", "20")].into_iter().collect();
    /// assert_eq!(p.get("rollout").map(String::as_str), Some("20"));
    /// assert_eq!(p.get("groupId"), None);
    /// ```
    pub fn get(&self, key: &str) -> Option<&String> {
        self.position(key).ok().map(|i| &self.0[i].1)
    }

    /// Whether `key` is set.
    ///
    /// ```
    /// use flags_core::model::Parameters;
    ///
    /// let p: Parameters = [("userIds", "alice,bob")].into_iter().collect();
    /// assert!(p.contains_key("userIds"));
    /// assert!(!p.contains_key("userids")); // keys are case-sensitive
    /// ```
    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_ok()
    }

    /// Sets `key`, returning the previous value.
    ///
    /// ```
    /// use flags_core::model::Parameters;
    ///
    /// let mut p = Parameters::new();
    /// assert_eq!(p.insert("rollout", "20"), None);
    /// assert_eq!(p.insert("rollout", "50").as_deref(), Some("20"));
    /// assert_eq!(p["rollout"], "50");
    /// ```
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) -> Option<String> {
        let key = key.into();
        let value = value.into();
        match self.position(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    /// Removes `key`, returning its value.
    ///
    /// ```
    /// use flags_core::model::Parameters;
    ///
    /// let mut p: Parameters = [("rollout", "20"), ("groupId", "checkout")].into_iter().collect();
    /// assert_eq!(p.remove("groupId").as_deref(), Some("checkout"));
    /// assert_eq!(p.remove("groupId"), None);
    /// assert_eq!(p.len(), 1);
    /// ```
    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.position(key).ok().map(|i| self.0.remove(i).1)
    }

    /// The parameters, sorted by key.
    ///
    /// ```
    /// use flags_core::model::Parameters;
    ///
    /// let p: Parameters = [("stickiness", "default"), ("rollout", "20")].into_iter().collect();
    /// let pairs: Vec<_> = p.iter().map(|(k, v)| format!("{k}={v}")).collect();
    /// assert_eq!(pairs, ["rollout=20", "stickiness=default"]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// The keys, sorted.
    ///
    /// ```
    /// use flags_core::model::Parameters;
    ///
    /// let p: Parameters = [("stickiness", "default"), ("groupId", "a"), ("rollout", "5")].into_iter().collect();
    /// assert_eq!(p.keys().collect::<Vec<_>>(), ["groupId", "rollout", "stickiness"]);
    /// ```
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }

    /// How many parameters there are.
    ///
    /// ```
    /// use flags_core::model::Parameters;
    ///
    /// let mut p: Parameters = [("rollout", "20")].into_iter().collect();
    /// p.insert("rollout", "30"); // replaces, does not add
    /// assert_eq!(p.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    ///
    /// ```
    /// use flags_core::format::toml;
    ///
    /// let set = toml::parse("[on_for_all]\n[some]\nrollout = 5\n", "flags.toml").unwrap();
    /// let params = |flag: &str| &set.feature(flag).unwrap().strategies[0].parameters;
    /// assert!(params("on_for_all").is_empty()); // `default`: nothing to say
    /// assert!(!params("some").is_empty()); // `flexibleRollout`: rollout, stickiness, groupId
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn position(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Parameters {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut p = Parameters::new();
        for (k, v) in iter {
            p.insert(k, v);
        }
        p.0.shrink_to_fit();
        p
    }
}

impl<'a> IntoIterator for &'a Parameters {
    type Item = (&'a String, &'a String);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, String)>,
        fn(&'a (String, String)) -> (&'a String, &'a String),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl serde::Serialize for Parameters {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Parameters {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(scalar_map(d)?.into_iter().collect())
    }
}

/// Like a map's index: the value of `key`.
///
/// # Panics
/// When `key` is not set; use [`Parameters::get`] where it may not be.
impl std::ops::Index<&str> for Parameters {
    type Output = String;
    fn index(&self, key: &str) -> &String {
        match self.get(key) {
            Some(v) => v,
            None => panic!("no parameter `{key}`"),
        }
    }
}
