//! Counts the PostgreSQL store's refused attempts to listen (its `debug`
//! event "cannot listen for flag changes yet"), per database: a test that
//! expects an instance to stay disconnected can then tell it kept trying,
//! rather than sleeping and hoping its reconnect loop ran.

use std::fmt;
use std::sync::{Mutex, OnceLock};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

const MESSAGE: &str = "cannot listen for flag changes yet";

/// The `database` field of every refused attempt so far.
static REFUSED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// How many times an instance on database `name` failed to start listening.
pub fn refused_listens(name: &str) -> usize {
    install();
    let suffix = format!("/{name}");
    REFUSED
        .lock()
        .unwrap()
        .iter()
        .filter(|db| db.ends_with(&suffix))
        .count()
}

/// A global subscriber that sees only `flags::postgres` (so the load tests'
/// request events stay off), installed on first use.
fn install() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let only_postgres = Targets::new().with_target("flags::postgres", Level::DEBUG);
        let subscriber = tracing_subscriber::registry().with(Refusals.with_filter(only_postgres));
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other global subscriber in this test binary");
        // Callsites met before, with no subscriber, would stay off.
        tracing::callsite::rebuild_interest_cache();
    });
}

struct Refusals;

impl<S: Subscriber> Layer<S> for Refusals {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        if let (Some(MESSAGE), Some(db)) = (fields.message.as_deref(), fields.database) {
            REFUSED.lock().unwrap().push(db);
        }
    }
}

#[derive(Default)]
struct Fields {
    message: Option<String>,
    database: Option<String>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = Some(format!("{value:?}"));
        match field.name() {
            "message" => self.message = text,
            "database" => self.database = text,
            _ => {}
        }
    }
}
