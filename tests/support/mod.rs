//! Helpers shared by the layer tests: an event recorder and a tiny client.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::subscriber::NoSubscriber;
use tracing::{Dispatch, Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// One recorded event, or a span as it was opened.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The span's name (for an event, tracing's generated one).
    pub name: String,
    pub target: String,
    pub level: Level,
    pub fields: BTreeMap<String, Value>,
}

impl Recorded {
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.fields.get(name)
    }

    pub fn str(&self, name: &str) -> &str {
        self.fields
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no string field {name} in {:?}", self.fields))
    }
}

/// Makes tracing-core ask every live dispatcher, not only the current
/// thread's, when a callsite is first hit. While only one dispatcher is
/// alive it asks just the current thread's: a parallel test without a
/// subscriber would cache "never" for an event a test with a thread-local
/// subscriber waits for. A second dispatcher that lives forever prevents it.
pub fn ask_every_dispatcher() {
    static SECOND: OnceLock<Dispatch> = OnceLock::new();
    SECOND.get_or_init(|| Dispatch::new(NoSubscriber::default()));
}

/// Records every event it sees, and every span's fields as it opens, fields
/// as JSON values.
#[derive(Clone, Default)]
pub struct Recorder {
    events: Arc<Mutex<Vec<Recorded>>>,
    spans: Arc<Mutex<Vec<Recorded>>>,
}

impl Recorder {
    /// Installs a recorder as this thread's default subscriber.
    pub fn install() -> (Recorder, tracing::subscriber::DefaultGuard) {
        ask_every_dispatcher();
        let rec = Recorder::default();
        let subscriber = tracing_subscriber::registry().with(rec.clone());
        let guard = tracing::subscriber::set_default(subscriber);
        (rec, guard)
    }

    /// A recorder installed once, as the global subscriber of this test
    /// binary: for events from threads the test does not own (the file
    /// watcher's, the reload thread). Tests sharing it filter by a field of
    /// their own (a temp file's path).
    pub fn global() -> &'static Recorder {
        static GLOBAL: std::sync::OnceLock<Recorder> = std::sync::OnceLock::new();
        GLOBAL.get_or_init(|| {
            let rec = Recorder::default();
            let subscriber = tracing_subscriber::registry().with(rec.clone());
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other global subscriber in this test binary");
            // Callsites registered before, with no subscriber, would stay off.
            tracing::callsite::rebuild_interest_cache();
            rec
        })
    }

    pub fn events(&self) -> Vec<Recorded> {
        self.events.lock().unwrap().clone()
    }

    /// The spans opened, in order, with the fields they were opened with.
    pub fn spans(&self) -> Vec<Recorded> {
        self.spans.lock().unwrap().clone()
    }

    pub fn with_target(&self, target: &str) -> Vec<Recorded> {
        self.events()
            .into_iter()
            .filter(|e| e.target == target)
            .collect()
    }

    pub fn clear(&self) {
        self.events.lock().unwrap().clear();
        self.spans.lock().unwrap().clear();
    }
}

struct Fields<'a>(&'a mut BTreeMap<String, Value>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().into(), Value::from(format!("{value:?}")));
    }
}

impl<S: Subscriber> Layer<S> for Recorder {
    fn on_new_span(&self, attrs: &Attributes<'_>, _id: &Id, _ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        self.spans.lock().unwrap().push(Recorded {
            name: attrs.metadata().name().to_owned(),
            target: attrs.metadata().target().to_owned(),
            level: *attrs.metadata().level(),
            fields,
        });
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        self.events.lock().unwrap().push(Recorded {
            name: event.metadata().name().to_owned(),
            target: event.metadata().target().to_owned(),
            level: *event.metadata().level(),
            fields,
        });
    }
}

/// What tracing-subscriber's JSON formatter writes (the README's log
/// pipeline), kept in memory: install it, make requests, read the lines.
#[derive(Clone, Default)]
pub struct JsonLines(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for JsonLines {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl JsonLines {
    /// Installs the JSON formatter, filtered by `filter`, as this thread's
    /// default subscriber, writing here.
    pub fn install(filter: &str) -> (JsonLines, tracing::subscriber::DefaultGuard) {
        ask_every_dispatcher();
        let lines = JsonLines::default();
        let writer = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(move || writer.clone())
            .with_env_filter(filter)
            .finish();
        (lines, tracing::subscriber::set_default(subscriber))
    }

    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}
