//! Each admin subcommand as the one admin API call it makes, and how its
//! answer is shown. The paths and bodies are the admin router's
//! (flags-middleware's admin/mod.rs): `PUT /{name}/rollout` takes
//! `{"percent": N}`, `PUT /{name}/users` takes `{"users": [...]}`.

use serde_json::{json, Value};

use crate::args::AdminCommand;

/// One admin API call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AdminCall {
    /// `GET`, `POST` or `PUT`.
    pub(crate) method: &'static str,
    /// The path under the admin API's base URL, with the query, if any.
    pub(crate) path: String,
    /// The JSON body, for calls that send one.
    pub(crate) body: Option<Value>,
    /// How a successful answer is printed.
    pub(crate) report: Report,
}

/// How a successful answer is printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Report {
    /// One line per flag, then a count and the version.
    Table,
    /// The answer, pretty-printed.
    Json,
    /// `flags inventory`: a block per flag.
    Inventory,
    /// `flags stale`: a block per stale flag, then the dead code.
    Stale,
    /// `flags unknown`: a line per name.
    Unknown,
    /// `NAME: DONE, version N` for a change to one flag.
    Change {
        /// The flag changed.
        name: String,
        /// What was done, in words (`killed (off for everyone)`).
        done: String,
        /// Whether to point out that the flag is still killed (a rollout
        /// on a killed flag changes its rule, not its state).
        note_if_killed: bool,
    },
}

impl AdminCall {
    /// The call `command` makes.
    pub(crate) fn of(command: &AdminCommand) -> AdminCall {
        let call = |method, path: String, body, report| AdminCall {
            method,
            path,
            body,
            report,
        };
        let change = |name: &str, done: &str| Report::Change {
            name: name.to_owned(),
            done: done.to_owned(),
            note_if_killed: false,
        };
        match command {
            AdminCommand::List => call("GET", String::new(), None, Report::Table),
            AdminCommand::Status => call("GET", "/_status".into(), None, Report::Json),
            AdminCommand::Audit { limit } => {
                call("GET", format!("/_audit?limit={limit}"), None, Report::Json)
            }
            AdminCommand::Inventory => call("GET", "/_inventory".into(), None, Report::Inventory),
            AdminCommand::Stale { days, mark: false } => {
                call("GET", format!("/_stale?days={days}"), None, Report::Stale)
            }
            AdminCommand::Stale { days, mark: true } => call(
                "POST",
                format!("/_stale/mark?days={days}"),
                None,
                Report::Json,
            ),
            AdminCommand::Unknown => call("GET", "/_unknown".into(), None, Report::Unknown),
            AdminCommand::Get { name } => {
                call("GET", format!("/{}", escape(name)), None, Report::Json)
            }
            AdminCommand::Kill { name } => call(
                "POST",
                format!("/{}/kill", escape(name)),
                None,
                change(name, "killed (off for everyone)"),
            ),
            AdminCommand::Enable { name } => call(
                "POST",
                format!("/{}/enable", escape(name)),
                None,
                change(name, "enabled"),
            ),
            AdminCommand::Rollout { name, percent } => call(
                "PUT",
                format!("/{}/rollout", escape(name)),
                Some(json!({ "percent": percent })),
                Report::Change {
                    name: name.clone(),
                    done: format!("rollout set to {percent}%"),
                    note_if_killed: true,
                },
            ),
            AdminCommand::Users { name, ids } => call(
                "PUT",
                format!("/{}/users", escape(name)),
                Some(json!({ "users": ids })),
                change(name, "user list set"),
            ),
        }
    }
}

/// Flag names go in the URL path: escape everything but the characters
/// RFC 3986 leaves unreserved, so `/`, `?` or `%` in a name cannot change
/// which endpoint is called.
fn escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(n: &str) -> String {
        n.to_owned()
    }

    #[test]
    fn each_command_is_the_admin_api_call_for_it() {
        let cases = [
            (AdminCommand::List, "GET", "", None),
            (AdminCommand::Status, "GET", "/_status", None),
            (
                AdminCommand::Audit { limit: 3 },
                "GET",
                "/_audit?limit=3",
                None,
            ),
            (AdminCommand::Get { name: name("a") }, "GET", "/a", None),
            (AdminCommand::Inventory, "GET", "/_inventory", None),
            (
                AdminCommand::Stale {
                    days: 7,
                    mark: false,
                },
                "GET",
                "/_stale?days=7",
                None,
            ),
            (
                AdminCommand::Stale {
                    days: 7,
                    mark: true,
                },
                "POST",
                "/_stale/mark?days=7",
                None,
            ),
            (AdminCommand::Unknown, "GET", "/_unknown", None),
            (
                AdminCommand::Kill { name: name("a") },
                "POST",
                "/a/kill",
                None,
            ),
            (
                AdminCommand::Enable { name: name("a") },
                "POST",
                "/a/enable",
                None,
            ),
            (
                AdminCommand::Rollout {
                    name: name("a"),
                    percent: 25,
                },
                "PUT",
                "/a/rollout",
                Some(json!({ "percent": 25 })),
            ),
            (
                AdminCommand::Users {
                    name: name("a"),
                    ids: vec![name("u1"), name("u2")],
                },
                "PUT",
                "/a/users",
                Some(json!({ "users": ["u1", "u2"] })),
            ),
            (
                AdminCommand::Users {
                    name: name("a"),
                    ids: vec![],
                },
                "PUT",
                "/a/users",
                Some(json!({ "users": [] })),
            ),
        ];
        for (command, method, path, body) in cases {
            let call = AdminCall::of(&command);
            assert_eq!(
                (call.method, call.path.as_str(), call.body),
                (method, path, body),
                "{command:?}"
            );
        }
    }

    #[test]
    fn names_cannot_leave_their_path_segment() {
        assert_eq!(escape("new_checkout-flow.v2~"), "new_checkout-flow.v2~");
        assert_eq!(escape("a/../_status"), "a%2F..%2F_status");
        assert_eq!(escape("a?b#c d%"), "a%3Fb%23c%20d%25");
        assert_eq!(escape("é"), "%C3%A9");
    }
}
