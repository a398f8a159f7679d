//! Shared test support: a counting global allocator with per-thread counts, so tests running
//! in parallel do not see each other's allocations, and a waker that counts its wake-ups.
#![allow(dead_code)]

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

// Installed by the test binaries that count allocations (`CountingAllocator::PER_THREAD`).
#[allow(unused_imports)]
pub use alloc_count::CountingAllocator;

/// Allocations made by this thread while `f` runs (with `CountingAllocator::PER_THREAD`).
pub fn allocations_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let (r, counts) = alloc_count::during(f);
    (r, counts.allocations as usize)
}

/// Allocations made by this thread while `f` runs, and their bytes (a reallocation counts
/// its new size).
pub fn allocations_and_bytes_during<R>(f: impl FnOnce() -> R) -> (R, usize, usize) {
    let (r, counts) = alloc_count::during(f);
    (r, counts.allocations as usize, counts.bytes as usize)
}

/// Poll `fut` once with `waker`.
pub fn poll_once<F: Future + Unpin>(fut: &mut F, waker: &Waker) -> Poll<F::Output> {
    std::pin::Pin::new(fut).poll(&mut Context::from_waker(waker))
}

/// Drive a future that must complete without ever returning `Pending`.
pub fn now<F: Future>(fut: F) -> F::Output {
    let fut = pin!(fut);
    match fut.poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("expected the future to complete synchronously"),
    }
}

/// A waker that counts how often it was woken.
pub struct CountingWaker(pub AtomicUsize);

impl CountingWaker {
    pub fn new() -> (Arc<Self>, Waker) {
        let c = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let w = Waker::from(c.clone());
        (c, w)
    }
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Whether `f`, run on another thread, returns within `limit` (a hung `f` is left behind,
/// so a test fails instead of hanging).
pub fn finishes_within(limit: std::time::Duration, f: impl FnOnce() + Send + 'static) -> bool {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        f();
        let _ = done_tx.send(());
    });
    done_rx.recv_timeout(limit).is_ok()
}

/// A `Clone` whose `clone` panics with "clone failed".
#[derive(Debug)]
pub struct PanicsOnClone;

impl Clone for PanicsOnClone {
    fn clone(&self) -> Self {
        panic!("clone failed")
    }
}

/// A waker whose `wake` panics with "this waker panics".
pub fn waker_that_panics_on_wake() -> Waker {
    struct Boom;
    impl Wake for Boom {
        fn wake(self: Arc<Self>) {
            panic!("this waker panics");
        }
    }
    Waker::from(Arc::new(Boom))
}

/// A waker whose `clone` panics, for checking that executor code runs outside lock bits.
pub fn waker_that_panics_on_clone() -> Waker {
    use std::task::{RawWaker, RawWakerVTable};
    fn clone(_: *const ()) -> RawWaker {
        panic!("this waker cannot be cloned")
    }
    fn noop(_: *const ()) {}
    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, noop, noop, noop);
    // SAFETY: the vtable's functions ignore the data pointer; none is unsound to call.
    unsafe { Waker::from_raw(RawWaker::new(std::ptr::null(), &VTABLE)) }
}

/// A waker whose first `clone` runs `on_clone` (say, completing what is being polled) and
/// whose clones panic when dropped: for checking that a poll runs no executor code between
/// taking a result and returning it. Reference-counted like any waker: nothing leaks.
pub fn waker_whose_clone_runs_and_whose_clones_panic_on_drop(
    on_clone: impl FnOnce() + Send + 'static,
) -> Waker {
    use std::sync::Mutex;
    use std::task::{RawWaker, RawWakerVTable};
    type Hook = Mutex<Option<Box<dyn FnOnce() + Send>>>;
    fn clone(data: *const ()) -> RawWaker {
        // SAFETY: `data` is an `Arc<Hook>` this waker holds a count of; the clone takes one.
        let hook = unsafe {
            Arc::increment_strong_count(data.cast::<Hook>());
            &*data.cast::<Hook>()
        };
        let run = hook.lock().unwrap().take();
        if let Some(run) = run {
            run();
        }
        RawWaker::new(data, &CLONE)
    }
    fn release(data: *const ()) {
        // SAFETY: gives back the count this waker held.
        drop(unsafe { Arc::from_raw(data.cast::<Hook>()) });
    }
    fn release_and_panic(data: *const ()) {
        release(data);
        panic!("this waker's clone panics when dropped")
    }
    fn noop(_: *const ()) {}
    static ORIGINAL: RawWakerVTable = RawWakerVTable::new(clone, release, noop, release);
    static CLONE: RawWakerVTable = RawWakerVTable::new(clone, release, noop, release_and_panic);
    let run: Box<dyn FnOnce() + Send> = Box::new(on_clone);
    let data = Arc::into_raw(Arc::new(Mutex::new(Some(run)))).cast::<()>();
    // SAFETY: `data` is an `Arc<Hook>` with one count, this waker's; every function of both
    // vtables keeps the counts as a waker must.
    unsafe { Waker::from_raw(RawWaker::new(data, &ORIGINAL)) }
}

/// Suspend once: `Pending` the first time (waking itself), `Ready` the second.
pub async fn yield_once() {
    struct YieldOnce(bool);
    impl Future for YieldOnce {
        type Output = ();
        fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                Poll::Ready(())
            } else {
                self.0 = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }
    YieldOnce(false).await;
}

/// Drive a future on this thread with a no-op waker, polling until it is ready.
pub fn drive<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// What [`quiet_about_panics_with`] calls a payload that is not a string (`panic_any`).
#[allow(dead_code)]
pub const NOT_A_STRING: &str = "<a payload that is not a string>";

/// Installs, once per test binary, a panic hook that keeps quiet about panics whose payload is
/// one of the `message`s given here (a test's deliberate ones) or contains it, and reports
/// every other panic as before ([`NOT_A_STRING`] for payloads that are not strings).
pub fn quiet_about_panics_with(message: &'static str) {
    static QUIET: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
    static ONCE: std::sync::Once = std::sync::Once::new();
    QUIET
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(message);
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // A payload that is not a string is quiet when `NOT_A_STRING` was given.
            let payload = info
                .payload()
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| info.payload().downcast_ref::<String>().map(String::as_str))
                .or(Some(NOT_A_STRING));
            let quiet = payload.is_some_and(|payload| {
                QUIET
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .iter()
                    .any(|message| payload.contains(message))
            });
            if !quiet {
                previous(info);
            }
        }));
    });
}

/// Run the test `name` (the calling test) again in a child process, so that an abort fails
/// the test instead of killing the whole test binary. Returns `true` in the child, which then
/// runs the test's body; in the parent, asserts that the child passed and returns `false`.
pub fn runs_in_child_process(name: &str) -> bool {
    if std::env::var_os("VALUETASK_TEST_CHILD").is_some() {
        return true;
    }
    if cfg!(miri) {
        eprintln!("{name}: skipped under Miri, which cannot start a child process");
        return false;
    }
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--test-threads=1"])
        .env("VALUETASK_TEST_CHILD", "1")
        .stderr(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        child.status.success(),
        "the child test failed or aborted: {}",
        child.status
    );
    // A name that matches no test would run nothing and still succeed.
    let report = String::from_utf8_lossy(&child.stdout);
    assert!(
        report.contains("1 passed"),
        "the child ran no test named {name}: {report}"
    );
    false
}

/// A value whose `Drop` panics with its message (unless the thread is already unwinding,
/// where a second panic would abort the process).
pub struct PanicsOnDrop(pub &'static str);

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            std::panic::panic_any(self.0);
        }
    }
}

/// Rounds for the stress tests: `VALUETASK_STRESS_ROUNDS` (CI's valgrind and Miri steps
/// shrink it), 1000 by default.
pub fn stress_rounds() -> usize {
    std::env::var("VALUETASK_STRESS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}
