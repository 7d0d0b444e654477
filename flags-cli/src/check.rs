//! `flags check FILE...`: loads each file as the app would, offline, and
//! prints the readable report: one `file:line:col: flag, field: message`
//! line per problem, then the count.

use std::io::{self, Write};
use std::path::PathBuf;

use flags_core::format::toml;

/// Checks every file in `files`; `true` if all are good. The verdicts go to
/// `out`, the problems to `err`.
///
/// # Errors
/// Only a failed write to `out` or `err` (a closed pipe).
pub(crate) fn check_files(
    files: &[PathBuf],
    out: &mut impl Write,
    err: &mut impl Write,
) -> io::Result<bool> {
    let mut all_good = true;
    for file in files {
        let name = file.display().to_string();
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) => {
                writeln!(err, "{name}: cannot read: {e}")?;
                all_good = false;
                continue;
            }
        };
        match toml::parse(&text, &name) {
            Ok(set) => writeln!(out, "{name}: {} flags, ok", set.features.len())?,
            Err(errors) => {
                for e in errors.errors() {
                    writeln!(err, "{e}")?;
                }
                writeln!(err, "{name}: {} error(s)", errors.errors().len())?;
                all_good = false;
            }
        }
    }
    Ok(all_good)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_is_named_and_the_others_still_checked() {
        let dir = std::env::temp_dir().join(format!("flags-cli-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.toml");
        std::fs::write(&good, "[a]\n").unwrap();
        let missing = dir.join("missing.toml");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let ok = check_files(&[missing.clone(), good.clone()], &mut out, &mut err).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(!ok);
        let err = String::from_utf8(err).unwrap();
        assert!(
            err.starts_with(&format!("{}: cannot read: ", missing.display())),
            "{err}"
        );
        let out = String::from_utf8(out).unwrap();
        assert_eq!(out, format!("{}: 1 flags, ok\n", good.display()));
    }
}
