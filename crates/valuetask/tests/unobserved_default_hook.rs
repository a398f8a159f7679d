//! With no hook set, an unobserved fault is reported as a `tracing` event at warn level
//! carrying the error (its own test binary: the hook is process-wide).

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};
use valuetask::{Task, TaskError};

/// Records every event as `(level, "field=value ...")`.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<(Level, String)>>>);

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        self.0
            .lock()
            .unwrap()
            .push((*event.metadata().level(), fields.0));
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn the_default_hook_emits_a_warning_with_the_error() {
    let recorder = Recorder::default();
    tracing::subscriber::with_default(recorder.clone(), || {
        drop(Task::<u8>::from_error(TaskError::panicked("nobody looked")));
        let observed = Task::<u8>::from_error(TaskError::panicked("looked at"));
        assert!(observed.error().is_some());
        drop(observed);
        drop(Task::from_result(1u8));
    });
    let events = recorder.0.lock().unwrap().clone();
    assert_eq!(
        events.len(),
        1,
        "one event, for the unobserved fault only: {events:?}"
    );
    let (level, fields) = &events[0];
    assert_eq!(*level, Level::WARN);
    assert!(fields.contains("nobody looked"), "{fields}");
    assert!(fields.contains("without anyone observing"), "{fields}");
}

/// A subscriber whose events panic: the default hook's report is contained, as a hook's is.
#[cfg(feature = "tokio")]
struct Panics;

#[cfg(feature = "tokio")]
impl Subscriber for Panics {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {
        panic!("deliberate panic in the subscriber");
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[cfg(feature = "tokio")]
#[test]
fn a_subscriber_that_panics_in_the_default_hook_does_not_unwind_into_the_caller() {
    /// A future whose `Drop` panics: dropped because its token fired, it is reported.
    struct DropPanics;
    impl std::future::Future for DropPanics {
        type Output = u8;
        fn poll(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<u8> {
            std::task::Poll::Pending
        }
    }
    impl Drop for DropPanics {
        fn drop(&mut self) {
            panic!("deliberate panic in the work's drop");
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tracing::subscriber::with_default(Panics, || {
        let token = tokio_util::sync::CancellationToken::new();
        token.cancel();
        let task = Task::run_with_cancellation_on(runtime.handle(), DropPanics, token);
        let result = runtime.block_on(async {
            tokio::task::yield_now().await;
            tokio::task::yield_now().await;
            task.result().await.map(|_| ()).map_err(Clone::clone)
        });
        assert!(result.unwrap_err().is_canceled());
    });
}
