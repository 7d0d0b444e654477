//! The one naming rule for flags, applied by every strict source (the TOML
//! format, JSON definitions, the admin API, the CLI) and, at compile time,
//! by `#[feature_gated]`.
//!
//! A name is 1 to 100 characters: letters and digits of any script, `_`,
//! `-`, `.`, `~`, and non-ASCII symbols such as emoji. It starts with a
//! letter or a digit. It has no spaces, no control characters, no other
//! ASCII punctuation (so no `/`, `?`, `#`, `%` or quotes), and no invisible
//! formatting characters (bidi overrides such as U+202E, zero-width spaces
//! and joiners, soft hyphens). So every legal name is its own URL path
//! segment and reads the same in a log, a terminal and a TOML header; and
//! since none starts with `_`, paths like the admin API's `/_status` never
//! collide with a flag.
//!
//! Unleash's own rule (URL-friendly ASCII) is stricter; what it accepts is
//! accepted here. Flags loaded from an Unleash server are taken as the
//! server sends them.
//!
//! This file has no dependencies: `flags-macros` compiles it too, so the
//! macro and the runtime cannot disagree.

use std::fmt;

/// The longest legal flag name, in characters.
///
/// ```
/// use flags_core::name::{check_flag_name, MAX_FLAG_NAME_CHARS};
///
/// // Characters, not bytes: each `ø` is two bytes.
/// assert!(check_flag_name(&"ø".repeat(MAX_FLAG_NAME_CHARS)).is_ok());
/// let err = check_flag_name(&"x".repeat(MAX_FLAG_NAME_CHARS + 1)).unwrap_err();
/// assert_eq!(err.problem(), format!("it has {} characters", MAX_FLAG_NAME_CHARS + 1));
/// ```
pub const MAX_FLAG_NAME_CHARS: usize = 100;

/// The rule in one sentence, for error messages and docs.
///
/// ```
/// use flags_core::name::{check_flag_name, FLAG_NAME_RULE};
///
/// // Every refusal ends with the rule, so it says what would pass.
/// let err = check_flag_name("new checkout").unwrap_err();
/// assert!(err.to_string().ends_with(FLAG_NAME_RULE));
/// ```
pub const FLAG_NAME_RULE: &str = "a flag name is 1 to 100 characters: letters and digits of any \
script, `_`, `-`, `.`, `~` and non-ASCII symbols such as emoji, starting with a letter or digit, \
with no spaces, control or invisible characters, or other ASCII punctuation";

/// Checks `name` against the naming rule (see the [module docs](self)).
///
/// ```
/// use flags_core::name::check_flag_name;
///
/// assert!(check_flag_name("new_checkout_flow").is_ok());
/// assert!(check_flag_name("Feature.UTF-8.Hellø_Wørld").is_ok());
/// assert!(check_flag_name("_status").is_err());
/// assert!(check_flag_name("a/b").is_err());
/// assert!(check_flag_name("evil\u{202e}").is_err());
/// ```
///
/// # Errors
/// The first thing wrong with the name.
pub fn check_flag_name(name: &str) -> Result<(), FlagNameError> {
    let problem = if name.is_empty() {
        Some(Problem::Empty)
    } else if name.chars().count() > MAX_FLAG_NAME_CHARS {
        Some(Problem::TooLong(name.chars().count()))
    } else if let Some(c) = name.chars().next().filter(|c| !c.is_alphanumeric()) {
        Some(Problem::Start(c))
    } else {
        name.chars().find(|&c| !allowed(c)).map(Problem::Character)
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(FlagNameError {
            name: name.to_owned(),
            problem,
        }),
    }
}

fn allowed(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '~')
    } else {
        !c.is_whitespace() && !c.is_control() && !invisible(c)
    }
}

/// Format characters that change how text around them looks (bidi
/// overrides and isolates) or that show as nothing (zero-width characters,
/// soft hyphens, fillers, tags): two names that print the same must be the
/// same name.
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}'
        | '\u{3164}' | '\u{FEFF}' | '\u{FFA0}'
        | '\u{FFF0}'..='\u{FFFF}'
        | '\u{E0000}'..='\u{E0FFF}')
}

/// A name that breaks the [naming rule](self).
///
/// ```
/// use flags_core::name::check_flag_name;
///
/// let err = check_flag_name("a/b").unwrap_err();
/// assert_eq!(err.name(), "a/b");
/// assert!(err.problem().contains('/'));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagNameError {
    name: String,
    problem: Problem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Problem {
    Empty,
    TooLong(usize),
    Start(char),
    Character(char),
}

impl FlagNameError {
    /// The name that was refused.
    ///
    /// ```
    /// use flags_core::name::check_flag_name;
    ///
    /// let err = check_flag_name("new checkout").unwrap_err();
    /// assert_eq!(err.name(), "new checkout");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What is wrong, without the rule: "it contains `/`".
    ///
    /// ```
    /// use flags_core::name::check_flag_name;
    ///
    /// assert_eq!(check_flag_name("").unwrap_err().problem(), "it is empty");
    /// assert_eq!(check_flag_name("-beta").unwrap_err().problem(), "it starts with `-`");
    /// // An invisible character is named by its code point.
    /// assert_eq!(check_flag_name("a\u{200b}b").unwrap_err().problem(), "it contains U+200B");
    /// ```
    pub fn problem(&self) -> String {
        match self.problem {
            Problem::Empty => "it is empty".to_owned(),
            Problem::TooLong(n) => format!("it has {n} characters"),
            Problem::Start(c) => format!("it starts with {}", shown(c)),
            Problem::Character(c) => format!("it contains {}", shown(c)),
        }
    }
}

/// A character as a reader can see it: `/`, or `U+202E` for one that
/// would not show (or would turn the message around).
fn shown(c: char) -> String {
    if c.is_ascii_graphic() {
        format!("`{c}`")
    } else {
        format!("U+{:04X}", u32::from(c))
    }
}

impl fmt::Display for FlagNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a valid flag name ({}): {FLAG_NAME_RULE}",
            self.name.escape_debug(),
            self.problem()
        )
    }
}

impl std::error::Error for FlagNameError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_and_unicode_names_pass() {
        for name in [
            "new_checkout_flow",
            "a",
            "7",
            "Feature.A",
            "checkout-v2~beta",
            "Feature.UTF-8.Hellø_Wørld",
            "Feature.UTF-8.😊_φriend_你好_🌍",
            "a..b",
            &"x".repeat(MAX_FLAG_NAME_CHARS),
        ] {
            assert_eq!(check_flag_name(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn hostile_names_fail() {
        for name in [
            "",
            " ",
            "   ",
            " a",
            "a ",
            "a b",
            "a\0",
            "a\n",
            "a\tb",
            "a\u{7f}",
            "a\u{202e}b",
            "a\u{200b}",
            "a\u{feff}",
            "a/b",
            "..",
            ".",
            "../etc",
            "_status",
            "_audit",
            "_guard",
            "a%2F",
            "a?b",
            "a#b",
            "a\"b",
            "a'b",
            "a,b",
            "a:b",
            "a\u{a0}b",
            "a\u{2028}b",
            &"x".repeat(MAX_FLAG_NAME_CHARS + 1),
        ] {
            assert!(check_flag_name(name).is_err(), "{name:?}");
        }
    }

    #[test]
    fn the_message_shows_what_is_wrong_and_the_rule() {
        let e = check_flag_name("evil\u{202e}name").unwrap_err();
        let text = e.to_string();
        assert!(text.contains("U+202E"), "{text}");
        assert!(text.contains(FLAG_NAME_RULE), "{text}");
        assert!(
            !text.contains('\u{202e}'),
            "the message must not carry the override: {text}"
        );
        assert_eq!(
            check_flag_name("_status").unwrap_err().problem(),
            "it starts with `_`"
        );
    }
}
