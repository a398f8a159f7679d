//! Blocking the current thread until something is ready (`wait`, `get_result`).
//!
//! The waker sets a flag and unparks the waiting thread; one waker per thread is created on
//! first use and reused, so blocking allocates nothing after that. The flag, not the thread's
//! park token, decides whether to poll again: code polled here may park the thread itself
//! (a nested `wait`, a `Once`, a scoped thread) and consume the token. The per-thread waker
//! is reached with `try_with` and a fallback (a fresh waker): a thread-local destructor may
//! complete and wait for tasks after this thread's waker was destroyed.
//!
//! On a worker of a multi-thread tokio runtime (a `Task::run` body, a scheduled continuation,
//! any task of yours), the wait runs inside `tokio::task::block_in_place`: the worker's
//! queue, including the task it just spawned or woke into its slot that no other worker may
//! take, moves to another thread, so waiting there on work of the same runtime does not
//! deadlock (.NET's thread pool injects threads for the same reason). A current-thread
//! runtime has nowhere to move its work: a wait on its thread for work on it never ends.
//! On valuetask's continuation thread, a wait hands that thread's queue to a new thread
//! first, for the same reason (`continuation_thread::before_blocking`).

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::Instant;

struct Unparker {
    thread: Thread,
    notified: AtomicBool,
}

impl Wake for Unparker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.notified.store(true, Ordering::Release);
        self.thread.unpark();
    }
}

fn thread_waker() -> (Arc<Unparker>, Waker) {
    let unparker = Arc::new(Unparker {
        thread: thread::current(),
        notified: AtomicBool::new(false),
    });
    let waker = Waker::from(Arc::clone(&unparker));
    (unparker, waker)
}

thread_local! {
    static THREAD_WAKER: (Arc<Unparker>, Waker) = thread_waker();
}

/// Poll `poll` with a waker that unparks this thread until it is ready or `deadline` passes.
/// Spurious unparks just cause another poll.
pub(crate) fn park_until<R>(
    deadline: Option<Instant>,
    poll: impl FnMut(&mut Context<'_>) -> Poll<R>,
) -> Option<R> {
    #[cfg(feature = "tokio")]
    if on_multi_thread_runtime() {
        // tokio offers no test for "may this thread block in place": it refuses (panics)
        // inside a current-thread runtime's `block_on` that entered a multi-thread handle.
        // Refused before running the closure, the wait parks plainly, as it would elsewhere.
        let mut poll = Some(poll);
        let mut ran = false;
        let waited = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            tokio::task::block_in_place(|| {
                ran = true;
                park_here(deadline, poll.take().expect("runs once"))
            })
        }));
        return match waited {
            Ok(result) => result,
            Err(refused) if !ran => {
                crate::catch_panic::discard(refused);
                park_here(
                    deadline,
                    poll.take().expect("not taken: refused before running"),
                )
            }
            Err(panic) => std::panic::resume_unwind(panic),
        };
    }
    park_here(deadline, poll)
}

/// True inside a multi-thread tokio runtime's context, where `block_in_place` hands this
/// worker's queue to another thread (outside a worker it just runs the closure).
#[cfg(feature = "tokio")]
fn on_multi_thread_runtime() -> bool {
    tokio::runtime::Handle::try_current()
        .is_ok_and(|handle| handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread)
}

fn park_here<R>(
    deadline: Option<Instant>,
    mut poll: impl FnMut(&mut Context<'_>) -> Poll<R>,
) -> Option<R> {
    let mut park =
        |unparker: &Arc<Unparker>, waker: &Waker| park_with(unparker, waker, deadline, &mut poll);
    if let Ok(result) = THREAD_WAKER.try_with(|(unparker, waker)| park(unparker, waker)) {
        return result;
    }
    // In a thread-local destructor, after this thread's waker was destroyed: a fresh one.
    let (unparker, waker) = thread_waker();
    park(&unparker, &waker)
}

fn park_with<R>(
    unparker: &Arc<Unparker>,
    waker: &Waker,
    deadline: Option<Instant>,
    poll: &mut impl FnMut(&mut Context<'_>) -> Poll<R>,
) -> Option<R> {
    /// An enclosing `park_until` on this thread (we may be nested inside a future it polls)
    /// might have been woken while we consumed the flag: on every exit, unwinding included,
    /// make it poll again.
    struct RaiseOnExit<'a>(&'a Unparker);
    impl Drop for RaiseOnExit<'_> {
        fn drop(&mut self) {
            self.0.notified.store(true, Ordering::Release);
        }
    }
    let _raise = RaiseOnExit(unparker);
    let mut cx = Context::from_waker(waker);
    loop {
        if let Poll::Ready(r) = poll(&mut cx) {
            break Some(r);
        }
        let timed_out = loop {
            if unparker.notified.swap(false, Ordering::Acquire) {
                break false;
            }
            match deadline {
                None => {
                    crate::continuation_thread::before_blocking();
                    thread::park();
                }
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        break true;
                    }
                    crate::continuation_thread::before_blocking();
                    thread::park_timeout(d - now);
                }
            }
        };
        if timed_out {
            break None;
        }
    }
}

/// Drive `fut` to completion on this thread.
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    park_until(None, |cx| fut.as_mut().poll(cx)).expect("no deadline was set")
}
