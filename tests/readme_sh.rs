//! The README's shell lines, read as the requests they send, so a test can
//! run the walk-through as written: `sh` code blocks, shell words (quotes,
//! `$NAME`, comments, `;` and `|`), variable assignments and `curl` lines.
//! Only what the README uses is understood; anything else is an error, so a
//! new kind of line makes the walk-through test say so instead of skipping it.

use std::collections::HashMap;

/// One fenced code block of a Markdown text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fenced {
    /// The heading it sits under (without its `#`s), empty before any.
    pub heading: String,
    /// What follows the opening fence (`sh`, `toml`, `rust,ignore`).
    pub info: String,
    pub lines: Vec<String>,
}

/// Every fenced code block of `markdown`, in order.
pub fn fenced_blocks(markdown: &str) -> Vec<Fenced> {
    let mut blocks = Vec::new();
    let mut heading = String::new();
    let mut block: Option<Fenced> = None;
    for line in markdown.lines() {
        if let Some(open) = block.as_mut() {
            if line.trim_start().starts_with("```") {
                blocks.extend(block.take());
            } else {
                open.lines.push(line.to_owned());
            }
            continue;
        }
        if line.starts_with('#') {
            heading = line.trim_start_matches('#').trim().to_owned();
        } else if let Some(info) = line.trim_start().strip_prefix("```") {
            block = Some(Fenced {
                heading: heading.clone(),
                info: info.trim().to_owned(),
                lines: Vec::new(),
            });
        }
    }
    blocks
}

/// The lines of each ```` ```sh ```` block in the section headed `heading`
/// (up to the next heading).
pub fn sh_blocks(markdown: &str, heading: &str) -> Vec<Vec<String>> {
    fenced_blocks(markdown)
        .into_iter()
        .filter(|b| b.heading == heading && b.info == "sh")
        .map(|b| b.lines)
        .collect()
}

/// One word of a shell line, or an operator between commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Word {
    /// A word after quote removal and `$NAME` expansion.
    Text(String),
    /// `;` or `|`.
    Op(char),
}

/// A line split into words, and its comment (after an unquoted `#` that
/// starts a word), trimmed.
///
/// # Errors
/// An unknown variable or an unclosed quote.
pub fn words(line: &str, vars: &HashMap<String, String>) -> Result<(Vec<Word>, String), String> {
    let mut out = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => out.extend(word.take().map(Word::Text)),
            '#' if word.is_none() => {
                return Ok((out, chars.collect::<String>().trim().to_owned()));
            }
            ';' | '|' => {
                out.extend(word.take().map(Word::Text));
                out.push(Word::Op(c));
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err(format!("unclosed ' in: {line}")),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('$') => w.push_str(&variable(&mut chars, vars, line)?),
                        Some(c) => w.push(c),
                        None => return Err(format!("unclosed \" in: {line}")),
                    }
                }
            }
            '$' => {
                let value = variable(&mut chars, vars, line)?;
                word.get_or_insert_with(String::new).push_str(&value);
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    out.extend(word.map(Word::Text));
    Ok((out, String::new()))
}

fn variable(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    vars: &HashMap<String, String>,
    line: &str,
) -> Result<String, String> {
    let mut name = String::new();
    while let Some(&c) = chars.peek() {
        if c.is_ascii_alphanumeric() || c == '_' {
            name.push(c);
            chars.next();
        } else {
            break;
        }
    }
    vars.get(&name)
        .cloned()
        .ok_or_else(|| format!("unknown variable ${name} in: {line}"))
}

/// `NAME=value; NAME=value`: every command of the line an assignment.
///
/// # Errors
/// A command that is not one `NAME=value` word.
pub fn assignments(words: &[Word]) -> Result<Vec<(String, String)>, String> {
    words
        .split(|w| *w == Word::Op(';'))
        .filter(|command| !command.is_empty())
        .map(|command| match command {
            [Word::Text(w)] => match w.split_once('=') {
                Some((name, value))
                    if !name.is_empty()
                        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
                {
                    Ok((name.to_owned(), value.to_owned()))
                }
                _ => Err(format!("not an assignment: {w}")),
            },
            other => Err(format!("not an assignment: {other:?}")),
        })
        .collect()
}

/// The request a `curl` command sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Curl {
    /// `-X`, else POST with `-d`, else GET.
    pub method: String,
    /// `-H` headers, plus the content type `-d` implies when none is given.
    pub headers: Vec<(String, String)>,
    /// The URL's scheme as written (`None` when the URL has none).
    pub scheme: Option<String>,
    /// `host:port`.
    pub authority: String,
    /// Path and query.
    pub path: String,
    /// `-d`.
    pub body: Option<String>,
}

/// The first command of `words` (up to `;` or `|`), read as `curl`.
///
/// # Errors
/// Not `curl`, an option the README does not use, or a URL missing.
pub fn curl(words: &[Word]) -> Result<Curl, String> {
    let command: Vec<&str> = words
        .iter()
        .map_while(|w| match w {
            Word::Text(t) => Some(t.as_str()),
            Word::Op(_) => None,
        })
        .collect();
    let Some((&"curl", args)) = command.split_first() else {
        return Err(format!("not a curl command: {command:?}"));
    };
    let (mut method, mut headers, mut body, mut url) = (None, Vec::new(), None, None);
    let mut args = args.iter();
    while let Some(&arg) = args.next() {
        let mut value = || {
            args.next()
                .map(|v| v.to_string())
                .ok_or_else(|| format!("{arg} needs a value"))
        };
        match arg {
            "-s" | "-i" | "-si" => {}
            "-X" => method = Some(value()?),
            "-d" => body = Some(value()?),
            "-H" => {
                let h = value()?;
                let (name, v) = h
                    .split_once(':')
                    .ok_or_else(|| format!("not a header: {h}"))?;
                headers.push((name.trim().to_owned(), v.trim().to_owned()));
            }
            a if a.starts_with('-') => return Err(format!("curl option {a} is not understood")),
            a => url = Some(a.to_owned()),
        }
    }
    let url = url.ok_or("curl without a URL")?;
    if body.is_some()
        && !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
    {
        headers.push((
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
    }
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme.to_owned()), rest),
        None => (None, url.as_str()),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    Ok(Curl {
        method: method.unwrap_or_else(|| if body.is_some() { "POST" } else { "GET" }.into()),
        headers,
        scheme,
        authority: authority.to_owned(),
        path: path.to_owned(),
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> HashMap<String, String> {
        HashMap::from([
            ("T".into(), "Authorization: Bearer x".into()),
            ("F".into(), "http://localhost:3000/admin/flags".into()),
        ])
    }

    #[test]
    fn a_curl_line_with_quotes_variables_a_pipe_and_a_comment() {
        let (w, comment) = words(
            r#"curl -s -H "$T" "$F/_audit?limit=5" -d '{"a": 1}' | head -1   # who # what"#,
            &vars(),
        )
        .unwrap();
        assert_eq!(comment, "who # what");
        let c = curl(&w).unwrap();
        assert_eq!(c.method, "POST");
        assert_eq!(c.scheme.as_deref(), Some("http"));
        assert_eq!(c.authority, "localhost:3000");
        assert_eq!(c.path, "/admin/flags/_audit?limit=5");
        assert_eq!(c.body.as_deref(), Some(r#"{"a": 1}"#));
        assert_eq!(c.headers[0], ("Authorization".into(), "Bearer x".into()));
        assert_eq!(c.headers[1].1, "application/x-www-form-urlencoded");
    }

    #[test]
    fn assignments_and_errors() {
        let (w, _) = words("T='a b: c'; F=localhost:3000/x", &vars()).unwrap();
        assert_eq!(
            assignments(&w).unwrap(),
            [
                ("T".into(), "a b: c".into()),
                ("F".into(), "localhost:3000/x".into())
            ]
        );
        assert!(words("curl $nope", &vars()).is_err());
        assert!(curl(&words("curl --fail x", &vars()).unwrap().0).is_err());
        assert!(assignments(&words("echo hi", &vars()).unwrap().0).is_err());
    }

    #[test]
    fn blocks_of_one_section_only() {
        let md = "# A\n```sh\nno\n```\n## Walk\ntext\n```sh\none\n# not a heading\n```\n```sh\ntwo\n```\n## B\n```sh\nno\n```\n";
        assert_eq!(
            sh_blocks(md, "Walk"),
            [
                vec!["one".to_owned(), "# not a heading".to_owned()],
                vec!["two".to_owned()]
            ]
        );
    }
}
