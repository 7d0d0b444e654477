//! Load-time errors: each names the source, the flag, the field and, where the
//! source is text, the line and column.

use std::fmt;

/// One problem found while loading or validating flags.
///
/// ```
/// use flags_core::LoadError;
///
/// let err = LoadError::new("flags.toml", "rollout must be between 0 and 100, got 150")
///     .flag("new_checkout_flow")
///     .field("rollout")
///     .at(3, 11);
/// assert_eq!(
///     err.to_string(),
///     "flags.toml:3:11: flag `new_checkout_flow`, field `rollout`: rollout must be between 0 and 100, got 150"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct LoadError {
    /// Where the flags came from: a file path, `unleash json`, `admin api`...
    pub source: String,
    /// The flag the problem is in, if it is in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flag: Option<String>,
    /// The field, as a dotted path inside the flag (`rules[0].when[1].value`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// 1-based line, for text sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 1-based column, for text sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// What is wrong, and what would be right.
    pub message: String,
}

impl LoadError {
    /// A new error from `source` saying `message`.
    ///
    /// ```
    /// use flags_core::LoadError;
    ///
    /// let err = LoadError::new("admin api", "body is not JSON");
    /// assert_eq!((err.source.as_str(), err.flag.as_deref()), ("admin api", None));
    /// assert_eq!(err.to_string(), "admin api: body is not JSON");
    /// ```
    pub fn new(source: impl Into<String>, message: impl Into<String>) -> Self {
        LoadError {
            source: source.into(),
            flag: None,
            field: None,
            line: None,
            column: None,
            message: message.into(),
        }
    }

    /// Names the flag.
    ///
    /// ```
    /// use flags_core::LoadError;
    ///
    /// let err = LoadError::new("flags.toml", "unknown key `rolout`").flag("a");
    /// assert_eq!(err.flag.as_deref(), Some("a"));
    /// assert_eq!(err.to_string(), "flags.toml: flag `a`: unknown key `rolout`");
    /// ```
    #[must_use]
    pub fn flag(mut self, flag: impl Into<String>) -> Self {
        self.flag = Some(flag.into());
        self
    }

    /// Names the field.
    ///
    /// ```
    /// use flags_core::LoadError;
    ///
    /// let err = LoadError::new("flags.toml", "must be 0 to 100").field("rollout");
    /// assert_eq!(err.field.as_deref(), Some("rollout"));
    /// assert_eq!(err.to_string(), "flags.toml: field `rollout`: must be 0 to 100");
    /// ```
    #[must_use]
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Sets the 1-based line and column.
    ///
    /// ```
    /// use flags_core::LoadError;
    ///
    /// let err = LoadError::new("flags.toml", "expected `=`").at(4, 9);
    /// assert_eq!((err.line, err.column), (Some(4), Some(9)));
    /// assert_eq!(err.to_string(), "flags.toml:4:9: expected `=`");
    /// ```
    #[must_use]
    pub fn at(mut self, line: usize, column: usize) -> Self {
        self.line = Some(line);
        self.column = Some(column);
        self
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)?;
        if let (Some(line), Some(col)) = (self.line, self.column) {
            write!(f, ":{line}:{col}")?;
        }
        f.write_str(": ")?;
        match (&self.flag, &self.field) {
            (Some(flag), Some(field)) => write!(f, "flag `{flag}`, field `{field}`: ")?,
            (Some(flag), None) => write!(f, "flag `{flag}`: ")?,
            (None, Some(field)) => write!(f, "field `{field}`: ")?,
            (None, None) => {}
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for LoadError {}

/// Every problem found in one load; a load with any error changes nothing.
///
/// ```
/// use flags_core::{LoadError, LoadErrors};
///
/// let errors = LoadErrors::from(vec![
///     LoadError::new("flags.toml", "unknown key `rolout`").flag("a"),
///     LoadError::new("flags.toml", "flag is defined twice").flag("b"),
/// ]);
/// let flags: Vec<_> = errors.iter().filter_map(|e| e.flag.as_deref()).collect();
/// assert_eq!(flags, ["a", "b"]);
/// assert_eq!(errors.into_vec().len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LoadErrors(Vec<LoadError>);

impl LoadErrors {
    /// The individual errors, in source order.
    ///
    /// ```
    /// use flags_core::format::toml;
    ///
    /// let errors = toml::parse("[a]\nrollout = 150\n", "flags.toml").unwrap_err();
    /// assert_eq!(errors.errors()[0].flag.as_deref(), Some("a"));
    /// assert_eq!(errors.errors()[0].line, Some(2));
    /// ```
    pub fn errors(&self) -> &[LoadError] {
        &self.0
    }

    /// The individual errors, in source order.
    ///
    /// ```
    /// use flags_core::format::toml;
    ///
    /// let errors = toml::parse("[a]\nrollout = 150\n[b]\nrollout = -1\n", "flags.toml").unwrap_err();
    /// let flags: Vec<_> = errors.iter().filter_map(|e| e.flag.as_deref()).collect();
    /// assert_eq!(flags, ["a", "b"]);
    /// ```
    pub fn iter(&self) -> std::slice::Iter<'_, LoadError> {
        self.0.iter()
    }

    /// The individual errors, owned.
    ///
    /// ```
    /// use flags_core::format::toml;
    ///
    /// let errors = toml::parse("[a]\nrollout = 150\n", "flags.toml").unwrap_err();
    /// let first = errors.into_vec().remove(0);
    /// assert_eq!(first.field.as_deref(), Some("rollout"));
    /// ```
    pub fn into_vec(self) -> Vec<LoadError> {
        self.0
    }
}

impl From<LoadError> for LoadErrors {
    fn from(e: LoadError) -> Self {
        LoadErrors(vec![e])
    }
}

impl From<Vec<LoadError>> for LoadErrors {
    fn from(errors: Vec<LoadError>) -> Self {
        LoadErrors(errors)
    }
}

impl FromIterator<LoadError> for LoadErrors {
    fn from_iter<I: IntoIterator<Item = LoadError>>(iter: I) -> Self {
        LoadErrors(iter.into_iter().collect())
    }
}

impl IntoIterator for LoadErrors {
    type Item = LoadError;
    type IntoIter = std::vec::IntoIter<LoadError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a LoadErrors {
    type Item = &'a LoadError;
    type IntoIter = std::slice::Iter<'a, LoadError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadErrors {}
