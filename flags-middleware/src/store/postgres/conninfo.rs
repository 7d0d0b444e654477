//! The TLS keys of a libpq connection string (`sslmode`, `sslrootcert`,
//! `sslcert`, `sslkey`), taken out before the rest goes to tokio-postgres:
//! its parser knows only `disable`, `prefer` and `require`, and none of the
//! files.
//!
//! Both forms libpq accepts are read: `key=value` pairs (values optionally
//! in single quotes, `\` escaping the next character) and
//! `postgresql://...?sslmode=...&sslrootcert=...` URLs (percent-encoded).

use std::path::PathBuf;

use super::tls::SslMode;

/// A connection string with its TLS keys taken out.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Split {
    /// The connection string without the TLS keys.
    pub(super) rest: String,
    pub(super) mode: Option<SslMode>,
    pub(super) root: Option<PathBuf>,
    /// The client certificate (`sslcert`) and its key (`sslkey`).
    pub(super) cert: Option<PathBuf>,
    pub(super) key: Option<PathBuf>,
}

/// Takes the TLS keys out of `conn`.
///
/// # Errors
/// An unknown `sslmode`, an unterminated quote, a key without `=`, or a
/// URL parameter that is not UTF-8 once decoded; each message names the key.
pub(super) fn split(conn: &str) -> Result<Split, String> {
    let is_url = ["postgres://", "postgresql://"]
        .iter()
        .any(|p| conn.starts_with(p));
    let (rest, pairs) = if is_url {
        split_url(conn)?
    } else {
        split_key_values(conn)?
    };
    let mut split = Split {
        rest,
        mode: None,
        root: None,
        cert: None,
        key: None,
    };
    // As in libpq, a key given twice takes its last value.
    for (key, value) in pairs {
        match key {
            Setting::Mode => split.mode = Some(SslMode::parse(&value)?),
            Setting::RootCert => split.root = Some(PathBuf::from(value)),
            Setting::ClientCert => split.cert = Some(PathBuf::from(value)),
            Setting::ClientKey => split.key = Some(PathBuf::from(value)),
        }
    }
    Ok(split)
}

#[derive(Clone, Copy)]
enum Setting {
    Mode,
    RootCert,
    ClientCert,
    ClientKey,
}

impl Setting {
    fn of(name: &str) -> Option<Setting> {
        match name {
            "sslmode" => Some(Setting::Mode),
            "sslrootcert" => Some(Setting::RootCert),
            "sslcert" => Some(Setting::ClientCert),
            "sslkey" => Some(Setting::ClientKey),
            _ => None,
        }
    }
}

/// `key=value ...`: the other pairs are written back quoted, so values with
/// spaces or quotes survive as they were.
fn split_key_values(conn: &str) -> Result<(String, Vec<(Setting, String)>), String> {
    let mut rest = Vec::new();
    let mut ours = Vec::new();
    let mut chars = conn.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(&first) = chars.peek() else { break };
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != '=') {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            return Err(format!(
                "`{}` in the connection string has no `=value`",
                if key.is_empty() {
                    first.to_string()
                } else {
                    key
                }
            ));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let value = if chars.next_if_eq(&'\'').is_some() {
            let mut value = String::new();
            loop {
                match chars.next() {
                    Some('\'') => break value,
                    Some('\\') => value.extend(chars.next()),
                    Some(c) => value.push(c),
                    None => return Err(format!("the value of `{key}` has no closing quote")),
                }
            }
        } else {
            let mut value = String::new();
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    value.extend(chars.next());
                } else {
                    value.push(c);
                }
            }
            value
        };
        match Setting::of(&key) {
            Some(k) => ours.push((k, value)),
            None => rest.push(format!("{key}={}", quote(&value))),
        }
    }
    Ok((rest.join(" "), ours))
}

fn quote(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('\'');
    for c in value.chars() {
        if c == '\'' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('\'');
    quoted
}

/// `postgresql://...?a=b&c=d`: our parameters leave the query, the others
/// stay as written.
fn split_url(conn: &str) -> Result<(String, Vec<(Setting, String)>), String> {
    let Some((base, query)) = conn.split_once('?') else {
        return Ok((conn.to_owned(), Vec::new()));
    };
    let mut kept = Vec::new();
    let mut ours = Vec::new();
    for param in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = param.split_once('=').unwrap_or((param, ""));
        match Setting::of(&percent_decode(name, name)?) {
            Some(k) => ours.push((k, percent_decode(value, name)?)),
            None => kept.push(param),
        }
    }
    let rest = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((rest, ours))
}

/// `%XX` escapes decoded; a `%` not followed by two hex digits stays as it
/// is (as libpq's and tokio-postgres's decoders leave it).
fn percent_decode(s: &str, what: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| format!("`{what}` in the connection URL is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(conn: &str) -> Split {
        split(conn).unwrap()
    }

    #[test]
    fn key_values_lose_the_tls_keys_and_keep_the_rest() {
        let s = ok(
            "host=db port=5432 sslmode=verify-full sslrootcert=/etc/ca.pem dbname=app \
             sslcert=/etc/app.crt sslkey=/etc/app.key",
        );
        assert_eq!(s.rest, "host='db' port='5432' dbname='app'");
        assert_eq!(s.mode, Some(SslMode::VerifyFull));
        assert_eq!(s.root, Some(PathBuf::from("/etc/ca.pem")));
        assert_eq!(s.cert, Some(PathBuf::from("/etc/app.crt")));
        assert_eq!(s.key, Some(PathBuf::from("/etc/app.key")));
        assert!(s.rest.parse::<tokio_postgres::Config>().is_ok());
    }

    #[test]
    fn quoted_and_escaped_values_survive() {
        let s = ok(r"password='it\'s a secret' sslrootcert = '/my certs/ca.pem' user=a\ b");
        assert_eq!(s.root, Some(PathBuf::from("/my certs/ca.pem")));
        let pg: tokio_postgres::Config = s.rest.parse().unwrap();
        assert_eq!(pg.get_password(), Some(&b"it's a secret"[..]));
        assert_eq!(pg.get_user(), Some("a b"));
    }

    #[test]
    fn the_last_of_a_repeated_key_wins() {
        assert_eq!(
            ok("sslmode=disable sslmode=require").mode,
            Some(SslMode::Require)
        );
    }

    #[test]
    fn url_parameters_are_taken_out_and_decoded() {
        let s = ok("postgresql://u@db/app?connect_timeout=3&sslmode=verify-ca&sslrootcert=%2Fetc%2Fca%20x.pem&sslcert=a.crt&sslkey=a.key");
        assert_eq!(s.rest, "postgresql://u@db/app?connect_timeout=3");
        assert_eq!(s.mode, Some(SslMode::VerifyCa));
        assert_eq!(s.root, Some(PathBuf::from("/etc/ca x.pem")));
        assert_eq!(
            (s.cert, s.key),
            (Some(PathBuf::from("a.crt")), Some(PathBuf::from("a.key")))
        );
        let s = ok("postgres://db/app?sslmode=require");
        assert_eq!(s.rest, "postgres://db/app");
        assert!(s.rest.parse::<tokio_postgres::Config>().is_ok());
    }

    #[test]
    fn without_tls_keys_nothing_is_set() {
        let s = ok("postgresql://db/app");
        assert_eq!((s.mode, s.root), (None, None));
        assert_eq!(ok("").rest, "");
    }

    #[test]
    fn an_unknown_sslmode_names_the_key_and_the_choices() {
        let e = split("host=db sslmode=verify_full").unwrap_err();
        assert!(e.contains("sslmode") && e.contains("verify_full"), "{e}");
        assert!(e.contains("verify-full"), "{e}");
        let e = split("postgresql://db?sslmode=strict").unwrap_err();
        assert!(e.contains("strict"), "{e}");
    }

    #[test]
    fn malformed_strings_name_the_key() {
        let e = split("host=db sslrootcert='/etc/ca.pem").unwrap_err();
        assert!(
            e.contains("sslrootcert") && e.contains("closing quote"),
            "{e}"
        );
        let e = split("host=db sslmode").unwrap_err();
        assert!(e.contains("sslmode") && e.contains("="), "{e}");
    }
}
