//! What the admin API's answers look like on the terminal. Every function
//! writes to the writer it is given and returns its error, so a closed pipe
//! (`flags list | head -1`) ends the program quietly instead of panicking.

use std::io::{self, Write};

use serde_json::Value;

use crate::admin_call::Report;
use crate::hygiene_report as hygiene;

/// Prints a successful answer to `out`, in the shape `report` asks for.
pub(crate) fn success(out: &mut impl Write, report: &Report, body: &Value) -> io::Result<()> {
    match report {
        Report::Table => table(out, body),
        Report::Inventory => hygiene::inventory(out, body),
        Report::Stale => hygiene::stale(out, body),
        Report::Unknown => hygiene::unknown(out, body),
        Report::Json => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(body).unwrap_or_default()
        ),
        Report::Change {
            name,
            done,
            note_if_killed,
        } => {
            let unchanged = if body["changed"] == false {
                " (no change)"
            } else {
                ""
            };
            writeln!(
                out,
                "{name}: {done}{unchanged}, version {}",
                body["version"]
            )?;
            if *note_if_killed && body["flag"]["enabled"] == false {
                writeln!(
                    out,
                    "note: {name} is killed; `flags enable {name}` turns it back on"
                )?;
            }
            Ok(())
        }
    }
}

/// Prints a refusal to `err`: the status and the server's reason.
pub(crate) fn failure(err: &mut impl Write, status: u16, body: &Value) -> io::Result<()> {
    let message = body["message"]
        .as_str()
        .map_or_else(|| body.to_string(), ToOwned::to_owned);
    writeln!(err, "flags: {status}: {message}")?;
    if status == 401 {
        writeln!(err, "flags: set FLAGS_TOKEN to an admin token")?;
    }
    Ok(())
}

/// `flags list`: `name  on   rule` per flag, then the count and version.
fn table(out: &mut impl Write, body: &Value) -> io::Result<()> {
    let flags = body["flags"].as_array().map_or(&[][..], Vec::as_slice);
    let width = flags
        .iter()
        .filter_map(|f| f["name"].as_str().map(str::len))
        .max()
        .unwrap_or(4);
    for f in flags {
        let state = if f["enabled"] == true { "on " } else { "off" };
        let name = f["name"].as_str().unwrap_or("");
        writeln!(out, "{name:width$}  {state}  {}", rule(f))?;
    }
    writeln!(out, "({} flags, version {})", flags.len(), body["version"])
}

/// A flag's rule in one line: its definition without the description and
/// the on/off state (shown in their own column), or `everyone`.
fn rule(flag: &Value) -> String {
    match &flag["definition"] {
        Value::Object(o) => {
            let mut o = o.clone();
            o.remove("description");
            o.remove("enabled");
            if o.is_empty() {
                "everyone".to_owned()
            } else {
                Value::Object(o).to_string()
            }
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn printed(f: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> String {
        let mut out = Vec::new();
        f(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn list_is_a_table_with_a_count_and_the_version() {
        let body = json!({ "version": 7, "flags": [
            { "name": "new_checkout_flow", "enabled": true,
              "definition": { "description": "x", "enabled": true, "rollout": 5 } },
            { "name": "legacy_api", "enabled": false,
              "definition": { "enabled": false } },
        ]});
        assert_eq!(
            printed(|o| success(o, &Report::Table, &body)),
            "new_checkout_flow  on   {\"rollout\":5}\n\
             legacy_api         off  everyone\n\
             (2 flags, version 7)\n"
        );
    }

    #[test]
    fn a_change_says_what_was_done_and_notes_a_killed_flag() {
        let report = Report::Change {
            name: "f".into(),
            done: "rollout set to 5%".into(),
            note_if_killed: true,
        };
        let body = json!({ "version": 3, "changed": false, "flag": { "enabled": false } });
        assert_eq!(
            printed(|o| success(o, &report, &body)),
            "f: rollout set to 5% (no change), version 3\n\
             note: f is killed; `flags enable f` turns it back on\n"
        );
    }

    #[test]
    fn a_refusal_shows_the_servers_reason_and_a_hint_for_401() {
        let body = json!({ "message": "missing or invalid token" });
        assert_eq!(
            printed(|o| failure(o, 401, &body)),
            "flags: 401: missing or invalid token\nflags: set FLAGS_TOKEN to an admin token\n"
        );
        assert_eq!(
            printed(|o| failure(o, 502, &json!("Bad Gateway"))),
            "flags: 502: \"Bad Gateway\"\n"
        );
    }
}
