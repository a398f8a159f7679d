//! A body that panics in the part that runs at the call (before its first suspension, or a
//! body with no `.await`) does not panic the caller: the value task keeps the panic and it
//! resumes where the value task is awaited, as .NET keeps an exception thrown before an
//! `async` method's first `await` in its task, and as `#[async_trait]`'s lazy box panics at
//! its first poll. So code that isolates a call's panics around its future (a supervisor's
//! `catch_unwind(AssertUnwindSafe(call))`, a spawned task's `JoinError`) sees them there.

mod common;

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{
    drive, quiet_about_panics_with, runs_in_child_process, yield_once, PanicsOnDrop, NOT_A_STRING,
};
use futures::FutureExt;
use valuetask::{dyn_trait, value_task, LocalValueTask, TaskError, ValueTask};

const MESSAGE: &str = "panicked at the call (a test's own panic)";

fn text(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("<not a string>")
}

/// Counts its drops in the counter it holds.
struct Counted(&'static AtomicUsize);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// The panic `f` raises, which must be `MESSAGE`.
fn assert_resumes<R>(f: impl FnOnce() -> R) {
    let payload = catch_unwind(AssertUnwindSafe(f))
        .err()
        .expect("the kept panic resumes here");
    assert_eq!(text(&*payload), MESSAGE);
}

#[value_task]
trait Service: Send + Sync {
    async fn synchronous(&self, fail: bool) -> u64;
    async fn suspending(&self, fail: bool) -> u64;
}

struct Backend;

#[value_task]
impl Service for Backend {
    // No `.await`: runs as a plain closure at the call.
    async fn synchronous(&self, fail: bool) -> u64 {
        assert!(!fail, "{MESSAGE}");
        1
    }

    async fn suspending(&self, fail: bool) -> u64 {
        assert!(!fail, "{MESSAGE}");
        yield_once().await;
        2
    }
}

#[test]
fn the_call_returns_and_the_await_panics() {
    quiet_about_panics_with(MESSAGE);
    let service: &dyn Service = &Backend;
    for vt in [service.synchronous(true), service.suspending(true)] {
        assert!(vt.is_completed(), "a panic completes it (.NET: faulted)");
        let vt = vt.try_get().expect_err("not completed successfully");
        assert!(format!("{vt:?}").contains("Panicked"), "{vt:?}");
        assert_resumes(|| drive(vt));
    }
    // Without a panic, as before.
    assert_eq!(drive(service.synchronous(false)), 1);
    assert_eq!(drive(service.suspending(false)), 2);
}

/// ractor's supervision: the future a trait method returns goes into `catch_unwind`, which
/// must see the body's panic.
#[test]
fn catch_unwind_around_the_future_catches_it() {
    quiet_about_panics_with(MESSAGE);
    let service: &dyn Service = &Backend;
    for call in [service.synchronous(true), service.suspending(true)] {
        let caught = drive(AssertUnwindSafe(call).catch_unwind());
        assert_eq!(text(&*caught.expect_err("caught")), MESSAGE);
    }
}

/// A handler spawned per request: its panic fails that task, not the loop that spawns it.
#[test]
fn a_tokio_spawned_calls_panic_is_its_tasks() {
    quiet_about_panics_with(MESSAGE);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let service: &'static dyn Service = &Backend;
        for failed in [
            tokio::spawn(service.suspending(true)).await.unwrap_err(),
            tokio::spawn(service.synchronous(true)).await.unwrap_err(),
        ] {
            assert_eq!(text(&*failed.into_panic()), MESSAGE);
        }
        assert_eq!(tokio::spawn(service.suspending(false)).await.unwrap(), 2);
    });
}

#[test]
fn start_and_boxed_keep_the_panic() {
    quiet_about_panics_with(MESSAGE);
    let started = ValueTask::<u8>::start(async { panic!("{MESSAGE}") });
    assert_resumes(|| started.get_result());
    let boxed = ValueTask::<u8>::boxed(async { panic!("{MESSAGE}") });
    assert_resumes(|| boxed.get_result());
    // A result too large for the value task's words, and one of no size.
    let large = ValueTask::<[u64; 8]>::start(async { panic!("{MESSAGE}") });
    assert_resumes(|| drive(large));
    let unit = ValueTask::<()>::start(async { panic!("{MESSAGE}") });
    assert_resumes(|| drive(unit));
}

/// A panic after the first suspension comes out of the poll that runs it, as before.
#[test]
fn a_panic_after_a_suspension_comes_out_of_its_poll() {
    quiet_about_panics_with(MESSAGE);
    let vt = ValueTask::<u8>::start(async {
        yield_once().await;
        panic!("{MESSAGE}")
    });
    assert!(!vt.is_completed());
    assert_resumes(|| drive(vt));
}

#[test]
fn as_task_makes_it_the_tasks_fault() {
    quiet_about_panics_with(MESSAGE);
    let task = ValueTask::<u8>::start(async { panic!("{MESSAGE}") }).as_task();
    match task.wait() {
        Err(TaskError::Panicked(message)) => assert_eq!(&**message, MESSAGE),
        other => panic!("expected the panic as the task's fault, got {other:?}"),
    }
}

/// The payload is dropped exactly once: by the await that resumes it (its catcher's), or
/// with the value task dropped unawaited.
#[test]
fn the_payload_is_dropped_once() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    let counted = || Counted(&DROPS);
    quiet_about_panics_with(NOT_A_STRING);
    let unawaited = ValueTask::<u8>::start(async move { std::panic::panic_any(counted()) });
    assert_eq!(DROPS.load(Ordering::SeqCst), 0, "kept");
    drop(unawaited);
    assert_eq!(
        DROPS.load(Ordering::SeqCst),
        1,
        "dropped with the value task"
    );
    let awaited = ValueTask::<u8>::start(async move { std::panic::panic_any(counted()) });
    let payload = catch_unwind(AssertUnwindSafe(|| drive(awaited))).unwrap_err();
    assert!(payload.is::<Counted>(), "the body's own payload");
    assert_eq!(DROPS.load(Ordering::SeqCst), 1, "handed to the catcher");
    drop(payload);
    assert_eq!(DROPS.load(Ordering::SeqCst), 2);
}

/// A payload whose `Drop` panics, dropped with its value task unawaited: that second panic is
/// caught and discarded, not raised out of the value task's drop.
#[test]
fn a_payload_whose_drop_panics_is_discarded_quietly() {
    quiet_about_panics_with("the payload's drop panicked");
    quiet_about_panics_with(NOT_A_STRING);
    let unawaited = ValueTask::<u8>::start(async {
        std::panic::panic_any(PanicsOnDrop("the payload's drop panicked"))
    });
    drop(unawaited);
}

/// A hand-written future whose poll panics and whose `Drop` panics too, unconditionally: the
/// drop runs while the first panic unwinds, where a second panic would abort the process; it
/// is discarded and the poll's panic kept.
#[test]
fn a_future_whose_poll_and_drop_both_panic_does_not_abort() {
    struct Both;
    impl std::future::Future for Both {
        type Output = u8;
        fn poll(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<u8> {
            panic!("{MESSAGE}")
        }
    }
    impl Drop for Both {
        fn drop(&mut self) {
            panic!("{MESSAGE}: the future's drop");
        }
    }
    if !runs_in_child_process("a_future_whose_poll_and_drop_both_panic_does_not_abort") {
        return;
    }
    quiet_about_panics_with(MESSAGE);
    let pooled = ValueTask::start(Both);
    assert_resumes(|| drive(pooled));
    let boxed = ValueTask::boxed(Both);
    assert_resumes(|| drive(boxed));
}

/// Polled again by hand after its panic resumed (and was caught): a panic naming the misuse.
#[test]
fn polling_again_after_the_panic_resumed_names_the_misuse() {
    quiet_about_panics_with(MESSAGE);
    quiet_about_panics_with("polled again after its panic resumed");
    let mut vt = ValueTask::<u8>::start(async { panic!("{MESSAGE}") });
    assert_resumes(|| drive(&mut vt));
    let again = catch_unwind(AssertUnwindSafe(|| drive(&mut vt))).unwrap_err();
    assert_eq!(
        text(&*again),
        "a value task whose body panicked at the call was polled again after its panic resumed"
    );
}

/// The combinators and `preserve` leave a kept panic to the await.
#[test]
fn combinators_and_preserve_leave_it_to_the_await() {
    quiet_about_panics_with(MESSAGE);
    let service: &dyn Service = &Backend;
    // First in input order: `when_any` does not take a later ready result at the call.
    let any = ValueTask::when_any([service.synchronous(true), service.synchronous(false)]);
    assert_resumes(|| drive(any));
    // A ready result earlier in input order wins at once.
    let any = ValueTask::when_any([service.synchronous(false), service.synchronous(true)]);
    assert_eq!(any.try_get().ok(), Some((0, 1)));
    let all = ValueTask::when_all([service.synchronous(false), service.suspending(true)]);
    assert_resumes(|| drive(all));
    let mapped = service.synchronous(true).map(|n| n + 1);
    assert_resumes(|| drive(mapped));
    let kept = ValueTask::<Result<u8, TaskError>>::start(async { panic!("{MESSAGE}") });
    let preserved = kept.preserve();
    assert!(
        format!("{preserved:?}").contains("Panicked"),
        "{preserved:?}"
    );
    assert_resumes(|| drive(preserved));
}

/// The body's locals are dropped at the call, while its panic unwinds (as a plain function's
/// are): what the value task keeps is the panic alone.
#[test]
fn the_bodys_locals_are_dropped_at_the_call() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    quiet_about_panics_with(MESSAGE);
    let held = Counted(&DROPS);
    let vt = ValueTask::<u8>::start(async move {
        let _held = held;
        panic!("{MESSAGE}")
    });
    assert_eq!(DROPS.load(Ordering::SeqCst), 1, "dropped at the call");
    assert_resumes(|| drive(vt));
    assert_eq!(DROPS.load(Ordering::SeqCst), 1);
}

struct Local(std::rc::Rc<u8>);

#[value_task(?Send)]
impl Local {
    async fn synchronous(&self) -> u8 {
        assert!(*self.0 == 0, "{MESSAGE}");
        *self.0
    }

    async fn suspending(&self) -> u8 {
        assert!(*self.0 == 0, "{MESSAGE}");
        yield_once().await;
        *self.0
    }
}

#[test]
fn local_value_tasks_keep_it_too() {
    quiet_about_panics_with(MESSAGE);
    let local = Local(std::rc::Rc::new(1));
    let vt: LocalValueTask<'_, u8> = local.synchronous();
    assert_resumes(|| drive(vt));
    let vt: LocalValueTask<'_, u8> = local.suspending();
    assert_resumes(|| drive(vt));
}

#[dyn_trait(DynStore = dyn Store)]
trait Store {
    async fn get(&self, fail: bool) -> u8;
}

struct Memory;

impl Store for Memory {
    async fn get(&self, fail: bool) -> u8 {
        assert!(!fail, "{MESSAGE}");
        3
    }
}

/// `#[dyn_trait]`'s form starts the implementor's future at the call as well.
#[test]
fn a_dyn_form_call_keeps_it() {
    quiet_about_panics_with(MESSAGE);
    let store = DynStore::new_box(Memory);
    let vt = store.get(true);
    assert_resumes(|| drive(vt));
    assert_eq!(drive(store.get(false)), 3);
}
