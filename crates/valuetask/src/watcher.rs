//! Running a future with no executor: it is its own waker, and whoever wakes it polls it right
//! there, on the waking thread, until it completes. `cancel_on` and `run_with_cancellation`
//! watch their token this way, so a task is canceled inside `token.cancel()`.
//!
//! # Invariants
//!
//! - `state` is `IDLE`, `RUNNING` (one thread holds the future and polls it), `NOTIFIED`
//!   (running, and woken meanwhile: the runner polls again before it goes idle, so no wake-up
//!   is lost) or `DONE` (the future is gone; wakes are ignored).
//! - Only the thread that moved `state` to `RUNNING` (or created the watcher `RUNNING`)
//!   locks `future`, until it stores `IDLE` or `DONE`: the lock is never contended.
//! - The future is dropped once, by the runner that saw it complete (or its poll panic),
//!   after `DONE` is stored: wakes that its drop causes are ignored. The watcher itself is
//!   freed with its last waker.
//! - The first poll runs in `watch`, on the caller's thread, whatever its depth: the watcher
//!   is registered (with a token, a task) before the caller hands out what it watches. A run
//!   started by a wake-up nests on the waking thread's stack as a bridge's does, and past
//!   `inline_depth::MAX_INLINE_DEPTH` such runs moves to another thread
//!   (`global_runtime::run_elsewhere`): a chain of waits on waits completes without growing
//!   one stack without bound.
//! - A panic in the future's poll or drop does not unwind into the waking code (a
//!   completer's wake, tokio's loop inside `token.cancel()`): the watched futures catch the
//!   user code they run, and a panic that still escapes ends the watcher (`DONE`, the future
//!   dropped) and is discarded, so it can never be left `RUNNING` with nobody to poll it.
//!
//! Its loom model is a unit test (`--lib watcher::loom_models`; the module is private).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Wake, Waker};

use crate::sync::{AtomicU8, Mutex, Ordering};

const IDLE: u8 = 0;
const RUNNING: u8 = 1;
const NOTIFIED: u8 = 2;
const DONE: u8 = 3;

type Watched = Pin<Box<dyn Future<Output = ()> + Send>>;

struct Watcher {
    state: AtomicU8,
    future: Mutex<Option<Watched>>,
}

/// Poll `future` once now (registering its wakers), then on every wake, on the waking thread,
/// until it completes.
#[cfg_attr(not(any(feature = "tokio", valuetask_loom)), allow(dead_code))]
pub(crate) fn watch(future: impl Future<Output = ()> + Send + 'static) {
    let watcher = Arc::new(Watcher {
        state: AtomicU8::new(RUNNING),
        future: Mutex::new(Some(Box::pin(future))),
    });
    // The first poll always here, whatever the depth: it registers the watcher's wakers
    // (with a token, say) before the caller hands out what it watches.
    crate::inline_depth::deeper(|| watcher.run());
}

impl Watcher {
    /// [`run`](Self::run) here, one level deeper, unless this thread is already
    /// `MAX_INLINE_DEPTH` runs deep: then on another thread. The caller moved `state` to
    /// `RUNNING`.
    fn run_bounded(self: &Arc<Self>) {
        if crate::inline_depth::too_deep() {
            let this = Arc::clone(self);
            if crate::global_runtime::run_elsewhere(move || this.run_bounded()).is_ok() {
                return;
            }
            // No other thread to be had: here after all, one level deeper.
        }
        crate::inline_depth::deeper(|| self.run());
    }

    /// Poll until the future is done, or until a poll ends with no wake meanwhile. The caller
    /// moved `state` to `RUNNING`.
    fn run(self: &Arc<Self>) {
        let waker = Waker::from(Arc::clone(self));
        let mut cx = Context::from_waker(&waker);
        loop {
            let mut slot = self.future.lock().unwrap_or_else(|e| e.into_inner());
            let finished = match slot.as_mut() {
                Some(future) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    future.as_mut().poll(&mut cx).is_ready()
                }))
                .unwrap_or_else(|panic| {
                    crate::catch_panic::discard(panic);
                    true
                }),
                None => true,
            };
            if finished {
                let future = slot.take();
                drop(slot);
                self.state.store(DONE, Ordering::Release);
                crate::catch_panic::drop_discarding(future);
                return;
            }
            drop(slot);
            match self
                .state
                .compare_exchange(RUNNING, IDLE, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return,
                // Woken while polling (`NOTIFIED`): poll again.
                Err(_) => self.state.store(RUNNING, Ordering::Release),
            }
        }
    }
}

impl Wake for Watcher {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            let next = match state {
                IDLE => RUNNING,
                RUNNING => NOTIFIED,
                _ => return,
            };
            match self
                .state
                .compare_exchange(state, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) if next == RUNNING => return self.run_bounded(),
                Ok(_) => return,
                Err(actual) => state = actual,
            }
        }
    }
}

#[cfg(all(test, not(valuetask_loom)))]
mod tests {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll, Waker};

    /// Pending at its first poll (its waker kept), panics at the next, and panics as it drops.
    struct Fails {
        polls: Arc<AtomicUsize>,
        drops: Arc<AtomicUsize>,
        waker: Arc<Mutex<Option<Waker>>>,
    }
    impl Future for Fails {
        type Output = ();
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.polls.fetch_add(1, SeqCst) == 0 {
                *self.waker.lock().unwrap() = Some(cx.waker().clone());
                return Poll::Pending;
            }
            panic!("the watched future's poll");
        }
    }
    impl Drop for Fails {
        fn drop(&mut self) {
            self.drops.fetch_add(1, SeqCst);
            panic!("the watched future's drop");
        }
    }

    /// A panic that escapes the watched future's poll, and then one of its drop, do not
    /// unwind into the waking code; the watcher ends: the future is dropped once, and later
    /// wakes poll nothing.
    #[test]
    fn a_panicking_poll_and_drop_end_the_watcher_without_unwinding_into_the_waker() {
        let (polls, drops) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let waker = Arc::new(Mutex::new(None));
        super::watch(Fails {
            polls: polls.clone(),
            drops: drops.clone(),
            waker: waker.clone(),
        });
        assert_eq!(polls.load(SeqCst), 1, "polled once in `watch`");
        let waker = waker
            .lock()
            .unwrap()
            .take()
            .expect("the first poll kept its waker");
        let woken = std::thread::spawn({
            let waker = waker.clone();
            move || std::panic::catch_unwind(|| waker.wake_by_ref()).is_ok()
        });
        assert!(woken.join().unwrap(), "the wake did not unwind");
        assert_eq!((polls.load(SeqCst), drops.load(SeqCst)), (2, 1));
        waker.wake();
        assert_eq!((polls.load(SeqCst), drops.load(SeqCst)), (2, 1), "ended");
    }
}

#[cfg(all(test, valuetask_loom))]
mod loom_models {
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
    use std::sync::Arc;

    use crate::TaskCompletionSource;

    /// A watcher waiting on a task completed on another thread runs to its end there or
    /// here, exactly once, and the completion is never lost (run from `.ci/run`'s loom step).
    #[test]
    fn a_wake_racing_the_first_poll_is_not_lost() {
        loom::model(|| {
            let tcs = TaskCompletionSource::<u8>::new();
            let task = tcs.task();
            let seen = Arc::new(AtomicBool::new(false));
            let flag = seen.clone();
            let completer = loom::thread::spawn(move || tcs.set_result(7));
            super::watch(async move {
                let value = (&task).await;
                assert_eq!(value, Ok(7));
                assert!(!flag.swap(true, SeqCst), "the future ran to its end twice");
            });
            completer.join().unwrap();
            assert!(seen.load(SeqCst), "the completion was lost");
        });
    }
}
