//! `flags inventory`, `flags stale` and `flags unknown` on the terminal,
//! from the admin API's `/_inventory`, `/_stale` and `/_unknown`.

use std::io::{self, Write};

use serde_json::Value;

fn items(value: &Value) -> &[Value] {
    value.as_array().map_or(&[][..], Vec::as_slice)
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("")
}

/// `src/shop.rs:14:7 (my_app::shop::get_product)`, and for a gate what
/// its fallback is.
fn call_site(site: &Value) -> String {
    let mut line = format!(
        "{}:{}:{} ({}::{})",
        text(&site["file"]),
        site["line"],
        site["column"],
        text(&site["module_path"]),
        text(&site["item"])
    );
    if let Some(fallback) = site["fallback"].as_str() {
        line.push_str(&format!(" [gate, fallback {fallback}]"));
    } else {
        line.push_str(" [key]");
    }
    line
}

/// `name count, name count`, or `none`.
fn counts(map: &Value) -> String {
    match map.as_object() {
        Some(map) if !map.is_empty() => map
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", "),
        _ => "none".to_owned(),
    }
}

/// A block per flag.
pub(crate) fn inventory(out: &mut impl Write, body: &Value) -> io::Result<()> {
    let flags = items(&body["flags"]);
    for flag in flags {
        let defined = if flag["defined"] == true {
            "defined"
        } else {
            "NOT DEFINED"
        };
        writeln!(out, "{}  ({defined})", text(&flag["name"]))?;
        let sites = items(&flag["call_sites"]);
        if sites.is_empty() {
            writeln!(out, "  code:      no gate or key refers to it")?;
        }
        for site in sites {
            writeln!(out, "  code:      {}", call_site(site))?;
        }
        writeln!(out, "  routes:    {}", counts(&flag["routes"]))?;
        writeln!(out, "  arms:      {}", counts(&flag["arms"]))?;
        match (
            flag["first_evaluated"].as_str(),
            flag["last_evaluated"].as_str(),
        ) {
            (Some(first), Some(last)) => writeln!(out, "  evaluated: first {first}, last {last}")?,
            (None, Some(last)) => writeln!(out, "  evaluated: last {last}")?,
            _ => writeln!(out, "  evaluated: never")?,
        }
    }
    writeln!(out, "({} flags)", flags.len())
}

/// One reason in words.
fn reason(reason: &Value) -> String {
    match text(&reason["reason"]) {
        "one_arm" => {
            let arm = if reason["arm"] == "off" {
                "killed (off for everyone)"
            } else {
                "on for everyone"
            };
            format!("{arm} since {}", text(&reason["since"]))
        }
        "not_evaluated" => match reason["last_evaluated"].as_str() {
            Some(last) => format!("not evaluated since {last}"),
            None => "never evaluated since the app started".to_owned(),
        },
        "not_in_code" => "no gate or key in the code refers to it".to_owned(),
        "marked_stale" => "marked stale".to_owned(),
        other => other.to_owned(),
    }
}

/// A block per stale flag, then the dead code.
pub(crate) fn stale(out: &mut impl Write, body: &Value) -> io::Result<()> {
    let flags = items(&body["flags"]);
    for flag in flags {
        let reasons: Vec<String> = items(&flag["reasons"]).iter().map(reason).collect();
        writeln!(out, "{}: {}", text(&flag["name"]), reasons.join("; "))?;
        for site in items(&flag["call_sites"]) {
            writeln!(out, "  delete: {}", call_site(site))?;
        }
    }
    writeln!(
        out,
        "({} potentially stale flags, threshold {} days)",
        flags.len(),
        body["threshold_days"]
    )?;
    let dead = items(&body["dead_code"]);
    if !dead.is_empty() {
        writeln!(out, "\nOn for everyone; no request reaches:")?;
    }
    for flag in dead {
        let deletable: Vec<&str> = items(&flag["deletable"]).iter().map(text).collect();
        let what = if deletable.is_empty() {
            "the off branch".to_owned()
        } else {
            deletable.join(", ")
        };
        writeln!(out, "{}: delete {what}", text(&flag["name"]))?;
        for site in items(&flag["call_sites"]) {
            writeln!(out, "  at {}", call_site(site))?;
        }
    }
    Ok(())
}

/// A line per unknown name.
pub(crate) fn unknown(out: &mut impl Write, body: &Value) -> io::Result<()> {
    let flags = items(&body["flags"]);
    for flag in flags {
        writeln!(
            out,
            "{}  asked {} times, last {}",
            text(&flag["name"]),
            flag["count"],
            text(&flag["last_seen"])
        )?;
    }
    let other = body["other"].as_u64().unwrap_or(0);
    if other > 0 {
        writeln!(
            out,
            "(and {other} asks for other names, beyond the {} kept)",
            body["capacity"]
        )?;
    }
    writeln!(out, "({} unknown flags)", flags.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shown(f: fn(&mut Vec<u8>, &Value) -> io::Result<()>, body: Value) -> String {
        let mut out = Vec::new();
        f(&mut out, &body).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn stale_flags_with_reasons_and_call_sites_then_dead_code() {
        let site = json!({"file": "src/shop.rs", "line": 14, "column": 10, "module_path": "app::shop",
                          "item": "checkout", "fallback": "checkout_legacy"});
        let body = json!({
            "threshold_days": 30,
            "flags": [{"name": "old", "reasons": [
                {"reason": "one_arm", "arm": "off", "since": "2026-09-01T00:00:00Z"},
                {"reason": "not_in_code"}], "call_sites": [site]}],
            "dead_code": [{"name": "done", "deletable": ["checkout_legacy"], "call_sites": [site]}],
        });
        assert_eq!(
            shown(stale, body),
            "old: killed (off for everyone) since 2026-09-01T00:00:00Z; no gate or key in the code refers to it\n\
             \x20 delete: src/shop.rs:14:10 (app::shop::checkout) [gate, fallback checkout_legacy]\n\
             (1 potentially stale flags, threshold 30 days)\n\
             \n\
             On for everyone; no request reaches:\n\
             done: delete checkout_legacy\n\
             \x20 at src/shop.rs:14:10 (app::shop::checkout) [gate, fallback checkout_legacy]\n"
        );
    }

    #[test]
    fn inventory_blocks() {
        let body = json!({"flags": [{"name": "a", "defined": true, "call_sites": [],
            "routes": {"/x": 3}, "arms": {"on": 2, "off": 1}, "first_evaluated": null, "last_evaluated": null}]});
        assert_eq!(
            shown(inventory, body),
            "a  (defined)\n  code:      no gate or key refers to it\n  routes:    /x 3\n  arms:      on 2, off 1\n  evaluated: never\n(1 flags)\n"
        );
    }
}
