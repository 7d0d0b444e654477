//! The CI check: flags the code refers to (the [registry](super::registry))
//! that a flags file does not define, with their call sites and a "did you
//! mean" for near names.

use std::fmt;
use std::path::Path;

use super::distance::nearest;
use super::registry::{registry, FlagUse};

/// A flag the code refers to that the flags do not define.
///
/// ```
/// use flags_middleware::hygiene::undefined_flags;
///
/// flags_middleware::flag!(SEARCH = "beta_serch"); // a typo
///
/// let undefined = undefined_flags(["beta_search"]);
/// let typo = &undefined[0];
/// assert_eq!(typo.name, "beta_serch");
/// assert_eq!(typo.did_you_mean.as_deref(), Some("beta_search"));
/// assert!(typo.to_string().starts_with(
///     "`beta_serch` is used in code but not defined (did you mean `beta_search`?)"
/// ));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct UndefinedFlag {
    /// The name the code uses.
    pub name: &'static str,
    /// Where the code uses it.
    pub uses: Vec<&'static FlagUse>,
    /// The defined name nearest to it, when it looks like a typo of one.
    pub did_you_mean: Option<String>,
}

impl fmt::Display for UndefinedFlag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is used in code but not defined", self.name)?;
        if let Some(near) = &self.did_you_mean {
            write!(f, " (did you mean `{near}`?)")?;
        }
        for site in &self.uses {
            write!(f, "\n    at {site}")?;
        }
        Ok(())
    }
}

/// The flags the code refers to that are not among `defined`, by name,
/// each with its call sites and a suggestion.
///
/// ```
/// use flags_middleware::hygiene::undefined_flags;
///
/// flags_middleware::flag!(CHECKOUT = "new_chekout_flow"); // a typo
///
/// let undefined = undefined_flags(["new_checkout_flow"]);
/// let typo = undefined.iter().find(|u| u.name == "new_chekout_flow").unwrap();
/// assert_eq!(typo.did_you_mean.as_deref(), Some("new_checkout_flow"));
/// assert_eq!(typo.uses[0].item, "CHECKOUT");
/// ```
pub fn undefined_flags<'a>(defined: impl IntoIterator<Item = &'a str>) -> Vec<UndefinedFlag> {
    let defined: std::collections::HashSet<&str> = defined.into_iter().collect();
    let mut undefined: Vec<UndefinedFlag> = Vec::new();
    for site in registry() {
        if defined.contains(&site.name) {
            continue;
        }
        match undefined.last_mut() {
            // The registry is sorted by name: a name's uses are together.
            Some(last) if last.name == site.name => last.uses.push(site),
            _ => undefined.push(UndefinedFlag {
                name: site.name,
                uses: vec![site],
                did_you_mean: nearest(site.name, defined.iter().copied()).map(str::to_owned),
            }),
        }
    }
    undefined
}

/// The names a flags file defines: TOML (the crate's format), or JSON
/// (Unleash's client API, an Unleash export, or a bare array of features:
/// every `features[].name`), by the file's extension.
///
/// ```
/// use flags_middleware::hygiene::defined_names;
///
/// let dir = tempfile::tempdir().unwrap();
/// let toml = dir.path().join("flags.toml");
/// std::fs::write(&toml, "[new_checkout_flow]\n[dark_mode]\n").unwrap();
/// assert_eq!(defined_names(&toml).unwrap(), ["new_checkout_flow", "dark_mode"]);
/// let json = dir.path().join("export.json");
/// std::fs::write(&json, r#"{"features": [{"name": "beta_search"}]}"#).unwrap();
/// assert_eq!(defined_names(&json).unwrap(), ["beta_search"]);
/// let err = defined_names(dir.path().join("missing.toml")).unwrap_err();
/// assert!(err.contains("missing.toml"), "{err}");
/// ```
///
/// # Errors
/// When the file cannot be read or parsed, naming the file.
pub fn defined_names(path: impl AsRef<Path>) -> Result<Vec<String>, String> {
    let path = path.as_ref();
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{shown}: {e}"))?;
    let is_json = path
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("json"));
    if is_json {
        json_names(&text).map_err(|e| format!("{shown}: {e}"))
    } else {
        let set = crate::format::toml::parse(&text, &shown.to_string())
            .map_err(|errors| errors.to_string())?;
        Ok(set.features.into_iter().map(|f| f.name).collect())
    }
}

fn json_names(text: &str) -> Result<Vec<String>, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let features = match &value {
        serde_json::Value::Array(features) => features,
        serde_json::Value::Object(map) => match map.get("features") {
            Some(serde_json::Value::Array(features)) => features,
            _ => return Err("no `features` array".to_owned()),
        },
        _ => return Err("expected an object with `features`, or an array".to_owned()),
    };
    features
        .iter()
        .enumerate()
        .map(|(i, feature)| {
            feature
                .get("name")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("features[{i}] has no `name`"))
        })
        .collect()
}

/// The flags the code refers to that the file at `path` does not define,
/// as one message (see
/// [`testing::assert_flags_defined`](crate::testing::assert_flags_defined)).
///
/// ```
/// use flags_middleware::hygiene::check_flags_defined;
///
/// flags_middleware::flag!(RECS = "ai_recomendations"); // a typo
///
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("flags.toml");
/// std::fs::write(&path, "[ai_recommendations]\n").unwrap();
/// let message = check_flags_defined(&path).unwrap_err();
/// assert!(message.contains("ai_recomendations"), "{message}");
/// ```
///
/// # Errors
/// The message listing each undefined flag, or why the file could not be read.
pub fn check_flags_defined(path: impl AsRef<Path>) -> Result<(), String> {
    let path = path.as_ref();
    let names = defined_names(path)?;
    let undefined = undefined_flags(names.iter().map(String::as_str));
    if undefined.is_empty() {
        return Ok(());
    }
    let mut message = format!(
        "{} flag(s) used in code are not defined in {}:",
        undefined.len(),
        path.display()
    );
    for flag in &undefined {
        message.push_str("\n  ");
        message.push_str(&flag.to_string());
    }
    Err(message)
}
