//! A `tracing` layer that keeps every field value recorded on spans and
//! events, to check what guard tells an app's tracing.

use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// Held by each test that installs its own subscriber, for its whole run:
/// two scoped dispatchers coming and going on parallel test threads race in
/// tracing's callsite-interest cache, and a span could then be left
/// disabled for the other test (seen only in full parallel runs).
pub async fn one_subscriber_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}

/// Field values, in the order they were recorded.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<(String, String)>>>);

impl Captured {
    /// Every value recorded under `name`.
    pub fn values(&self, name: &str) -> Vec<String> {
        self.0.lock().expect("lock").iter().filter(|(n, _)| n == name).map(|(_, v)| v.clone()).collect()
    }

    /// The fields of the events whose message is `message`.
    pub fn event_fields(&self, message: &str) -> Vec<Vec<(String, String)>> {
        let all = self.0.lock().expect("lock").clone();
        all.split(|(name, _)| name == "--")
            .filter(|fields| fields.iter().any(|(n, v)| n == "message" && v == message))
            .map(<[_]>::to_vec)
            .collect()
    }
}

struct Visitor<'a>(&'a Mutex<Vec<(String, String)>>);

impl Visit for Visitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.lock().expect("lock").push((field.name().to_owned(), value.to_owned()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.lock().expect("lock").push((field.name().to_owned(), format!("{value:?}")));
    }
}

impl<S: Subscriber> Layer<S> for Captured {
    fn on_new_span(&self, attrs: &Attributes<'_>, _: &Id, _: Context<'_, S>) {
        attrs.record(&mut Visitor(&self.0));
    }

    fn on_record(&self, _: &Id, values: &Record<'_>, _: Context<'_, S>) {
        values.record(&mut Visitor(&self.0));
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        // Events are separated by a marker, so each one's fields stay together.
        self.0.lock().expect("lock").push(("--".to_owned(), String::new()));
        event.record(&mut Visitor(&self.0));
        self.0.lock().expect("lock").push(("--".to_owned(), String::new()));
    }
}
