//! The `flags` command-line tool: check a flags file, or change flags in a
//! running app through its admin API.
//!
//! ```text
//! flags check flags.toml             # every error with line:col; exit 1 if any
//! flags list                         # every flag and its rule
//! flags kill new_checkout_flow       # off for everyone, now
//! flags enable new_checkout_flow
//! flags rollout new_checkout_flow 25
//! flags users ai_recommendations user_123 user_456
//! flags status | flags audit [N]
//! ```
//!
//! The admin API's address comes from `--url` or `FLAGS_URL` (default
//! `http://127.0.0.1:3000/admin/flags`), the token from `FLAGS_TOKEN`.

use std::process::ExitCode;

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

const USAGE: &str = "\
usage: flags check FILE...
       flags [--url URL] list | get NAME | kill NAME | enable NAME
       flags [--url URL] rollout NAME PERCENT | users NAME [ID...]
       flags [--url URL] status | audit [LIMIT]

  check    validate flags files; prints every error with line:column, exit 1 if any
  others   talk to a running app's admin API:
             URL   --url or FLAGS_URL (default http://127.0.0.1:3000/admin/flags)
             token FLAGS_TOKEN (a write token for changes)";

const DEFAULT_URL: &str = "http://127.0.0.1:3000/admin/flags";

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut url = std::env::var("FLAGS_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
    if let Some(i) = args.iter().position(|a| a == "--url") {
        if i + 1 >= args.len() {
            return usage("--url needs a value");
        }
        url = args.remove(i + 1);
        args.remove(i);
    } else if let Some(i) = args.iter().position(|a| a.starts_with("--url=")) {
        url = args.remove(i)["--url=".len()..].to_owned();
    }
    let Some(command) = args.first().cloned() else {
        return usage("");
    };
    let rest = &args[1..];
    if command == "check" {
        return check(rest);
    }
    if matches!(command.as_str(), "-h" | "--help" | "help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let request = match admin_request(&command, rest) {
        Ok(r) => r,
        Err(msg) => return usage(&msg),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("flags: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let token = std::env::var("FLAGS_TOKEN").unwrap_or_default();
    match runtime.block_on(send(&url, &token, &request)) {
        Ok((status, body)) if (200..300).contains(&status) => {
            print_success(&command, rest, &body);
            ExitCode::SUCCESS
        }
        Ok((status, body)) => {
            print_failure(status, &body);
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("flags: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage(problem: &str) -> ExitCode {
    if !problem.is_empty() {
        eprintln!("flags: {problem}");
    }
    eprintln!("{USAGE}");
    ExitCode::from(2)
}

/// `flags check FILE...`
fn check(files: &[String]) -> ExitCode {
    if files.is_empty() {
        return usage("check needs a file");
    }
    let mut failed = false;
    for file in files {
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{file}: cannot read: {e}");
                failed = true;
                continue;
            }
        };
        match flags_middleware::format::toml::parse(&text, file) {
            Ok(set) => println!("{file}: {} flags, ok", set.features.len()),
            Err(errors) => {
                for e in errors.errors() {
                    eprintln!("{e}");
                }
                eprintln!("{file}: {} error(s)", errors.errors().len());
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// One admin API call.
struct AdminRequest {
    method: &'static str,
    path: String,
    body: Option<Value>,
}

/// Flag names go in the URL path: escape what is not safe there.
fn escape(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn admin_request(command: &str, rest: &[String]) -> Result<AdminRequest, String> {
    let name = || {
        rest.first()
            .map(|n| escape(n))
            .ok_or_else(|| format!("{command} needs a flag name"))
    };
    let req = |method, path: String, body| AdminRequest { method, path, body };
    Ok(match command {
        "list" => req("GET", String::new(), None),
        "status" => req("GET", "/_status".into(), None),
        "audit" => {
            let limit: usize = match rest.first() {
                Some(n) => n.parse().map_err(|_| format!("`{n}` is not a number"))?,
                None => 20,
            };
            req("GET", format!("/_audit?limit={limit}"), None)
        }
        "get" => req("GET", format!("/{}", name()?), None),
        "kill" => req("POST", format!("/{}/kill", name()?), None),
        "enable" => req("POST", format!("/{}/enable", name()?), None),
        "rollout" => {
            let pct = rest
                .get(1)
                .ok_or("rollout needs a flag name and a percentage")?
                .trim_end_matches('%');
            let pct: u64 = pct
                .parse()
                .map_err(|_| format!("`{pct}` is not a whole percentage"))?;
            req(
                "PUT",
                format!("/{}/rollout", name()?),
                Some(json!({ "percent": pct })),
            )
        }
        "users" => req(
            "PUT",
            format!("/{}/users", name()?),
            Some(json!({ "users": rest[1..] })),
        ),
        other => return Err(format!("unknown command `{other}`")),
    })
}

async fn send(base: &str, token: &str, r: &AdminRequest) -> Result<(u16, Value), String> {
    if base.starts_with("https://") {
        return Err(
            "https is not supported; reach the admin API over http (a local port or a tunnel)"
                .into(),
        );
    }
    let url = format!("{}{}", base.trim_end_matches('/'), r.path);
    let mut req = hyper::Request::builder().method(r.method).uri(&url);
    if !token.is_empty() {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    let body = match &r.body {
        Some(b) => {
            req = req.header("content-type", "application/json");
            Bytes::from(b.to_string())
        }
        None => Bytes::new(),
    };
    let req = req
        .body(Full::new(body))
        .map_err(|e| format!("bad URL `{url}`: {e}"))?;
    let client = Client::builder(TokioExecutor::new()).build_http();
    let resp = client
        .request(req)
        .await
        .map_err(|e| format!("cannot reach {url}: {e}"))?;
    let status = resp.status().as_u16();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("reading the answer: {e}"))?
        .to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    Ok((status, body))
}

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

fn print_success(command: &str, rest: &[String], body: &Value) {
    match command {
        "list" => {
            let flags = body["flags"].as_array().cloned().unwrap_or_default();
            let width = flags
                .iter()
                .filter_map(|f| f["name"].as_str().map(str::len))
                .max()
                .unwrap_or(4);
            for f in &flags {
                let state = if f["enabled"] == true { "on " } else { "off" };
                println!(
                    "{:width$}  {state}  {}",
                    f["name"].as_str().unwrap_or(""),
                    rule(f)
                );
            }
            println!("({} flags, version {})", flags.len(), body["version"]);
        }
        "get" | "status" | "audit" => {
            println!("{}", serde_json::to_string_pretty(body).unwrap_or_default());
        }
        _ => {
            let name = rest.first().map_or("", String::as_str);
            let what = match command {
                "kill" => "killed (off for everyone)".to_owned(),
                "enable" => "enabled".to_owned(),
                "rollout" => format!(
                    "rollout set to {}%",
                    rest.get(1).map_or("", |p| p.trim_end_matches('%'))
                ),
                _ => "user list set".to_owned(),
            };
            let unchanged = if body["changed"] == false {
                " (no change)"
            } else {
                ""
            };
            println!("{name}: {what}{unchanged}, version {}", body["version"]);
            if command == "rollout" && body["flag"]["enabled"] == false {
                println!("note: {name} is killed; `flags enable {name}` turns it back on");
            }
        }
    }
}

fn print_failure(status: u16, body: &Value) {
    let message = body["message"]
        .as_str()
        .map_or_else(|| body.to_string(), ToOwned::to_owned);
    eprintln!("flags: {status}: {message}");
    if status == 401 {
        eprintln!("flags: set FLAGS_TOKEN to an admin token");
    }
}
