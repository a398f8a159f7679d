//! `TaskError`: clone, display, source, and identity of faulted errors.

use std::error::Error;
use std::sync::Arc;

use valuetask::{Task, TaskCompletionSource, TaskError};

#[derive(Debug)]
struct Boom;
impl std::fmt::Display for Boom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("boom")
    }
}
impl Error for Boom {}

#[test]
fn a_faulted_error_keeps_its_identity_through_every_awaiter() {
    let error: Arc<dyn Error + Send + Sync> = Arc::new(Boom);
    let tcs = TaskCompletionSource::<u8>::new();
    let task = tcs.task();
    tcs.set_error(TaskError::Faulted(error.clone()));
    let seen: Vec<TaskError> = (0..3)
        .map(|_| futures::executor::block_on(task.clone()).unwrap_err())
        .collect();
    for e in &seen {
        match e {
            TaskError::Faulted(inner) => assert!(Arc::ptr_eq(inner, &error)),
            other => panic!("expected Faulted, got {other:?}"),
        }
    }
    assert_eq!(seen[0], seen[1]);
    assert_ne!(
        TaskError::Faulted(Arc::new(Boom)),
        seen[0],
        "equal text, other error"
    );
}

#[test]
fn display_and_source_name_the_cause() {
    let e = TaskError::faulted(Boom);
    assert_eq!(e.to_string(), "task faulted: boom");
    // The source is the faulted error itself, so a walk of the chain finds it.
    assert_eq!(e.source().unwrap().to_string(), "boom");
    assert!(e.downcast_ref::<Boom>().is_some());
    #[derive(Debug)]
    struct Outer(Boom);
    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("outer")
        }
    }
    impl Error for Outer {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }
    let chained = TaskError::faulted(Outer(Boom));
    assert_eq!(chained.to_string(), "task faulted: outer");
    let below = chained.source().unwrap();
    assert_eq!(below.to_string(), "outer");
    assert_eq!(below.source().unwrap().to_string(), "boom");
    // A boxed TaskError comes back as itself.
    let boxed: Box<dyn Error + Send + Sync> = Box::new(TaskError::Canceled);
    assert!(TaskError::from(boxed).is_canceled());
    assert_eq!(TaskError::Canceled.to_string(), "task was canceled");
    assert_eq!(
        TaskError::panicked("oops").to_string(),
        "task panicked: oops"
    );
    assert!(TaskError::Canceled.source().is_none());
}

#[test]
fn a_task_error_given_to_faulted_comes_back_as_itself() {
    // Passed on from another task: its kind and identity survive, as through a box.
    assert!(TaskError::faulted(TaskError::Canceled).is_canceled());
    assert!(TaskError::faulted(TaskError::TimedOut).is_timeout());
    let inner = TaskError::faulted(Boom);
    let passed_on = TaskError::faulted(inner.clone());
    assert_eq!(passed_on, inner, "the same Arc, not a fault wrapping it");
    let boxed: Box<dyn Error + Send + Sync> = Box::new(TaskError::Abandoned);
    assert!(TaskError::from(boxed).is_abandoned());
}

#[test]
fn equal_errors_hash_alike_and_faults_hash_by_identity() {
    use std::collections::HashSet;
    let disk = TaskError::faulted(Boom);
    let other_disk = TaskError::faulted(Boom);
    let all = |errors: Vec<TaskError>| TaskError::Aggregate(errors.into());
    let seen: HashSet<TaskError> = [
        disk.clone(),
        disk.clone(),
        other_disk.clone(),
        TaskError::panicked("a"),
        TaskError::panicked("a"),
        TaskError::panicked("b"),
        all(vec![disk.clone(), TaskError::Canceled]),
        all(vec![disk.clone(), TaskError::Canceled]),
        all(vec![TaskError::Canceled, disk.clone()]),
        TaskError::Canceled,
        TaskError::Abandoned,
        TaskError::TimedOut,
    ]
    .into_iter()
    .collect();
    assert_eq!(seen.len(), 9);
    assert!(seen.contains(&disk) && seen.contains(&other_disk));
}

#[test]
fn panic_payloads_keep_their_text() {
    let p = std::panic::catch_unwind(|| panic!("formatted {}", 1)).unwrap_err();
    assert_eq!(
        TaskError::from_panic(&*p).panic_message(),
        Some("formatted 1")
    );
    let p = std::panic::catch_unwind(|| panic!("static")).unwrap_err();
    assert_eq!(TaskError::from_panic(&*p).panic_message(), Some("static"));
    let p = std::panic::catch_unwind(|| std::panic::panic_any(5u8)).unwrap_err();
    assert!(TaskError::from_panic(&*p).is_panic());
}

#[test]
fn task_error_is_clone_send_sync_and_an_error() {
    fn assert_traits<E: Clone + Send + Sync + Error + Eq + std::hash::Hash + 'static>() {}
    assert_traits::<TaskError>();
    let t: Task<()> = Task::from_error(TaskError::Canceled);
    assert!(t.error().unwrap().is_canceled());
}

/// A `TaskError` passed to `faulted` in a `Box` or an `Arc` comes back as itself, as a bare
/// one does: a cancellation passed on that way stays a cancellation.
#[test]
fn faulted_passes_a_boxed_or_shared_task_error_on_as_itself() {
    assert!(TaskError::faulted(TaskError::Canceled).is_canceled());
    assert!(TaskError::faulted(Box::new(TaskError::Canceled)).is_canceled());
    assert!(TaskError::faulted(std::sync::Arc::new(TaskError::Canceled)).is_canceled());
    let timed_out = TaskError::faulted(Box::new(TaskError::TimedOut));
    assert!(timed_out.is_timeout(), "{timed_out}");
    assert!(matches!(
        TaskError::faulted(std::io::Error::other("io")),
        TaskError::Faulted(_)
    ));
}

/// A fault's own payload, an `Arc<dyn Error + Send + Sync>`, passed to `faulted` (a fault
/// passed on) is that fault again: the same `Arc` (equal to the original), the cause found
/// by `downcast_ref` and as the `source`, not a wrapper around it.
#[test]
fn faulted_passes_a_shared_dyn_error_on_as_the_same_fault() {
    let original = TaskError::faulted(std::io::Error::other("disk"));
    let TaskError::Faulted(payload) = &original else {
        panic!("{original:?}")
    };
    let again = TaskError::faulted(payload.clone());
    assert_eq!(again, original, "one error: the same Arc");
    assert_eq!(
        again.downcast_ref::<std::io::Error>().map(|e| e.kind()),
        Some(std::io::ErrorKind::Other)
    );
    let source = again.source().expect("the cause");
    assert!(
        source.is::<std::io::Error>(),
        "the chain reaches the io::Error"
    );
    assert_eq!(again.to_string(), "task faulted: disk");
}

/// A panic payload passed as the `Box` itself (`&payload`, not `&*payload`) keeps its text.
#[test]
fn a_boxed_panic_payload_keeps_its_text() {
    let p = std::panic::catch_unwind(|| panic!("formatted {}", 2)).unwrap_err();
    assert_eq!(
        TaskError::from_panic(&p).panic_message(),
        Some("formatted 2")
    );
    let p = std::panic::catch_unwind(|| panic!("static")).unwrap_err();
    assert_eq!(TaskError::from_panic(&p).panic_message(), Some("static"));
}

/// An aggregate of one says "1 task failed".
#[test]
fn an_aggregate_of_one_is_singular() {
    let one = TaskError::Aggregate(vec![TaskError::panicked("p")].into());
    assert_eq!(one.to_string(), "1 task failed: task panicked: p");
}
