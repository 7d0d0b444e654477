//! Callers for the evaluator: an [`arbitrary`]-built [`Context`] whose
//! strings are mostly drawn from the words the fuzzers' flag set tests for
//! (so random callers do match rules), and a few fixed callers to evaluate
//! fuzzed flag sets with.

use std::sync::Arc;

use arbitrary::Arbitrary;
use flags_core::Context;

/// Field names and values that the flags in `mixed.toml` look at, plus
/// the awkward ones (empty, blank, padded, not quite a number or a date).
const WORDS: &[&str] = &[
    "userId",
    "sessionId",
    "remoteAddress",
    "environment",
    "appName",
    "currentTime",
    "email",
    "country",
    "beta",
    "age",
    "score",
    "plan",
    "path",
    "tenant",
    "appVersion",
    "user-1",
    "user-2",
    "user-3",
    "ann@acme.com",
    "BOB@ACME.COM",
    "eve+x@example.org",
    "NO",
    "SE",
    "DK",
    "true",
    "false",
    "18",
    "64.9",
    "65.5",
    "42",
    "-1e3",
    "1e309",
    "NaN",
    "1.2.0",
    "2.0.0",
    "3.0.0-rc.1",
    "2.5.0-beta+build.7",
    "v2",
    "/api/v2/orders",
    "10.0.0.1",
    "10.1.2.3",
    "192.168.1.1",
    "::1",
    "2001:db8::1",
    " 10.0.0.1 ",
    "production",
    "staging",
    "shop",
    "free",
    "pro",
    "2020-05-05T00:00:00Z",
    "2020-05-05",
    "",
    " ",
];

/// A string: mostly one of the words above, sometimes anything.
#[derive(Debug, Arbitrary)]
pub enum Text {
    /// `WORDS[i % WORDS.len()]`.
    Word(u8),
    /// Any string.
    Free(String),
}

impl Text {
    /// The text.
    pub fn as_str(&self) -> &str {
        match self {
            Text::Word(i) => WORDS[usize::from(*i) % WORDS.len()],
            Text::Free(s) => s,
        }
    }

    fn shared(&self) -> Arc<str> {
        self.as_str().into()
    }
}

/// A pinned current time, as a timestamp or as text.
#[derive(Debug, Arbitrary)]
pub enum Time {
    /// Seconds since 1970 (out-of-range values leave the time unset).
    Seconds(i64),
    /// Text set as the `currentTime` field.
    Text(Text),
}

/// Who is asking, field by field.
#[derive(Debug, Arbitrary)]
pub struct Caller {
    /// `userId`.
    pub user_id: Option<Text>,
    /// `sessionId`.
    pub session_id: Option<Text>,
    /// `remoteAddress`.
    pub remote_address: Option<Text>,
    /// `environment`.
    pub environment: Option<Text>,
    /// `appName`.
    pub app_name: Option<Text>,
    /// `currentTime`.
    pub current_time: Option<Time>,
    /// Properties, set in order (standard names set those fields).
    pub properties: Vec<(Text, Text)>,
}

impl Caller {
    /// The context this caller describes.
    pub fn context(&self) -> Context {
        let mut ctx = Context::new();
        if let Some(t) = &self.user_id {
            ctx = ctx.user_id(t.shared());
        }
        if let Some(t) = &self.session_id {
            ctx = ctx.session_id(t.shared());
        }
        if let Some(t) = &self.remote_address {
            ctx = ctx.remote_address(t.shared());
        }
        if let Some(t) = &self.environment {
            ctx = ctx.environment(t.shared());
        }
        if let Some(t) = &self.app_name {
            ctx = ctx.app_name(t.shared());
        }
        match &self.current_time {
            Some(Time::Seconds(s)) => {
                if let Some(at) = chrono::DateTime::from_timestamp(*s, 0) {
                    ctx = ctx.current_time(at);
                }
            }
            Some(Time::Text(t)) => ctx.set("currentTime", t.shared()),
            None => {}
        }
        for (k, v) in &self.properties {
            ctx.set(k.shared(), v.shared());
        }
        ctx
    }
}

/// A few fixed callers, from nobody to somebody with every field set,
/// to evaluate fuzzed flag sets with.
pub fn fixed() -> Vec<Context> {
    vec![
        Context::new(),
        Context::new().user_id("user-1"),
        Context::new()
            .user_id("ann@acme.com")
            .session_id("s-1")
            .remote_address("10.0.0.1")
            .environment("production")
            .app_name("shop")
            .property("currentTime", "2020-05-05T00:00:00Z")
            .property("email", "ann@acme.com")
            .property("country", "NO")
            .property("beta", "true")
            .property("age", "42")
            .property("appVersion", "2.0.0"),
    ]
}
