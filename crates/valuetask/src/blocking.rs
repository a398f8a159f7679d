//! Blocking the current thread until something is ready (`wait`, `get_result`).
//!
//! The waker sets a flag and unparks the waiting thread; one waker per thread is created on
//! first use and reused, so the parking itself allocates nothing after that (moving a
//! worker's queue away, below, is tokio's `block_in_place`, which may start a thread). The flag, not the thread's
//! park token, decides whether to poll again: code polled here may park the thread itself
//! (a nested `wait`, a `Once`, a scoped thread) and consume the token. The per-thread waker
//! is reached with `try_with` and a fallback (a fresh waker): a thread-local destructor may
//! complete and wait for tasks after this thread's waker was destroyed.
//!
//! On a worker of a multi-thread tokio runtime (a `Task::run` body, any task of yours), the
//! wait runs inside `tokio::task::block_in_place`: the worker's
//! queue, including the task it just spawned or woke into its slot that no other worker may
//! take, moves to another thread, so waiting there on work of the same runtime does not
//! deadlock (.NET's thread pool injects threads for the same reason). A runtime's shutdown
//! drops its tasks on its own threads, one after another on each, so the awaiters of a
//! task ended by dropping a `Task::run` future or a `Task::run_blocking` closure (its own
//! task, any a source it holds abandons, and an `as_task` bridge a completer it holds wakes)
//! run elsewhere (`continuation_thread::dropping_at_shutdown`), where a synchronous
//! continuation may wait for another task of that runtime. Code that such a drop runs
//! itself (a `Drop` that waits, or completes a task with `set_*`, whose awaiters it wakes
//! inline), and a continuation of a source abandoned by a `tokio::spawn` future's drop
//! (tokio's own task: valuetask is not there), can wait for good if it waits for another
//! task of that runtime, that task's drop being queued behind it (.NET has no runtime to
//! shut down). A current-thread
//! runtime has nowhere to move its work: a wait on its thread for work on it never ends, and
//! that work includes its timers and I/O (a `tokio::time::sleep` in a future this wait drives
//! is registered with that runtime's driver, which turns only when the thread parks in its
//! scheduler). A wait there for anything else does end, though tokio defers some wake-ups to that
//! runtime's scheduler (`yield_now`, a spent cooperative budget): the wait polls without a
//! budget and again after short naps (`park_in_scheduler`).
//! A wait inside a wake-up that a worker's timer or I/O driver runs (a synchronous
//! continuation of a task that a bridged source completes there) blocks the thread as it
//! is: that worker's core cannot be moved from under its park, and its driver waits with it,
//! so a wait there for that runtime's timers or I/O, or for a task spawned from there (it
//! sits in that worker's own slot, which no other worker takes), does not end; the wait
//! polls as on a current-thread runtime's thread (below), for the wake-ups tokio defers to
//! that worker. tokio offers no test for that place: what tells it from a task's poll is
//! the cooperative budget, which a task polled through `tokio::task::unconstrained` lacks
//! too, so such a run inside such a task waits the same way (`may_block_in_place`). So too
//! a wait inside a run that a `block_in_place` starts (a wait's own or the user's): it wakes
//! the worker's deferred wakers first, with their list borrowed, where tokio cannot be
//! entered again, and before it moves the worker's queue, so a wait there for a task spawned
//! from there (the worker's own slot) or, with one worker, for its timers never ends.
//! On valuetask's continuation thread, a wait hands that thread's queue to a new thread
//! first, for the same reason (`continuation_thread::before_blocking`).

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

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
    match tokio::runtime::Handle::try_current().map(|handle| handle.runtime_flavor()) {
        // The worker's core stays in its context, so tokio defers wake-ups (`yield_now`, a
        // spent budget) to it: polled as on a current-thread runtime's thread.
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) if !may_block_in_place() => {
            return park_in_scheduler(deadline, poll)
        }
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => {
            // tokio offers no test for "may this thread block in place": it refuses (panics,
            // with `REFUSED`) inside a current-thread runtime's `block_on` that entered a
            // multi-thread handle, and panics (`REENTERED`) inside a run that the deferred
            // wake-ups of a `block_in_place` of the user's start (its list of them is
            // borrowed; our own `block_in_place` marks the thread, see `may_block_in_place`).
            // Either way before it changes anything: the wait goes on as on a current-thread
            // runtime's thread. Any other panic is tokio's own failure (one after it took the
            // worker's core, say): passed on, not mistaken for a refusal and waited past.
            let mut poll = Some(poll);
            let mut ran = false;
            let waited = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                block_in_place_marked(|| {
                    ran = true;
                    park_here(deadline, poll.take().expect("runs once"), false)
                })
            }));
            return match waited {
                Ok(result) => result,
                Err(refused)
                    if !ran
                        && (is_refusal(&*refused, REFUSED) || is_refusal(&*refused, REENTERED)) =>
                {
                    crate::catch_panic::discard(refused);
                    park_in_scheduler(
                        deadline,
                        poll.take().expect("not taken: refused before running"),
                    )
                }
                Err(panic) => std::panic::resume_unwind(panic),
            };
        }
        Ok(_) => return park_in_scheduler(deadline, poll),
        Err(_) => {}
    }
    park_here(deadline, poll, false)
}

/// Whether `block_in_place` may move this multi-thread worker's core away. Not inside a
/// wake-up that the runtime's timer or I/O driver runs while the worker parks: the worker's
/// core sits in its context without its parker then, and `block_in_place` asserts the parker
/// after taking the core (the worker panics, "core missing", and the process aborts). tokio
/// offers no test for it; what tells is the cooperative budget, which a task's poll (and
/// `block_on`'s) has and a driver's wake-ups do not. Asked only inside a run that a wake-up
/// started (a bridge's, a watcher's: [`inline_depth`](crate::inline_depth)), the one way the
/// crate runs its user's code from a driver's wake-up; inside such a run, a task polled
/// through `tokio::task::unconstrained` has no budget either, and blocks its thread as it is.
/// Not inside a run that the deferred wake-ups of this thread's own `block_in_place` start
/// either: `block_in_place` wakes the worker's deferred wakers first, holding their list
/// borrowed meanwhile, and a nested `block_in_place` wakes that list again (tokio panics,
/// "already borrowed"); such a wait polls as inside a driver's wake-up.
#[cfg(feature = "tokio")]
fn may_block_in_place() -> bool {
    !crate::inline_depth::inside_run()
        || (!ENTERING_BLOCK_IN_PLACE.with(std::cell::Cell::get) && has_cooperative_budget())
}

#[cfg(feature = "tokio")]
thread_local! {
    /// Set while this thread is in `block_in_place` before its closure runs: where tokio
    /// wakes the worker's deferred wakers (see [`may_block_in_place`]).
    static ENTERING_BLOCK_IN_PLACE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// `tokio::task::block_in_place(f)`, marking this thread as entering it until `f` runs (or
/// `block_in_place` returns or unwinds without running it).
#[cfg(feature = "tokio")]
fn block_in_place_marked<R>(f: impl FnOnce() -> R) -> R {
    /// Clears the mark, as it was before, when dropped.
    struct Entering(bool);
    impl Drop for Entering {
        fn drop(&mut self) {
            ENTERING_BLOCK_IN_PLACE.with(|entering| entering.set(self.0));
        }
    }
    let outer = ENTERING_BLOCK_IN_PLACE.with(|entering| entering.replace(true));
    let _entering = Entering(outer);
    tokio::task::block_in_place(|| {
        ENTERING_BLOCK_IN_PLACE.with(|entering| entering.set(false));
        f()
    })
}

/// Whether this thread runs under a tokio cooperative budget, found by spending it unit by
/// unit (`poll_proceed`) until none is left (`has_budget_remaining`), then handing it all
/// back (the first unit's guard restores the budget as it was before it). Never asks for a
/// unit past the last one: `poll_proceed` then defers the waker to the scheduler
/// (`context::defer`), whose list tokio holds borrowed while it wakes the wakers deferred
/// (inside `block_in_place`, among others), so a probe from a run those wake-ups start
/// would panic there ("already borrowed").
#[cfg(feature = "tokio")]
fn has_cooperative_budget() -> bool {
    use tokio::task::coop::{has_budget_remaining, poll_proceed};
    /// Past tokio's budget of a poll (128 units).
    const MORE_THAN_A_BUDGET: u32 = 1024;
    if !has_budget_remaining() {
        return true; // spent already
    }
    let mut cx = Context::from_waker(Waker::noop());
    let Poll::Ready(first) = poll_proceed(&mut cx) else {
        unreachable!("a unit is left");
    };
    let budgeted = (0..MORE_THAN_A_BUDGET).any(|_| {
        if !has_budget_remaining() {
            return true;
        }
        match poll_proceed(&mut cx) {
            Poll::Ready(spent) => {
                spent.made_progress();
                false
            }
            Poll::Pending => unreachable!("a unit is left"),
        }
    });
    drop(first);
    budgeted
}

/// The message of tokio's `block_in_place` when it refuses to block here (tokio 1.x).
#[cfg(feature = "tokio")]
const REFUSED: &str = "can call blocking only when running on the multi-threaded runtime";

/// The message of the `RefCell` panic of tokio's `block_in_place` entered again while it
/// wakes the worker's deferred wakers (their list is borrowed meanwhile).
#[cfg(feature = "tokio")]
const REENTERED: &str = "already borrowed";

/// Whether a panic's payload is tokio's refusal to block in place, as `message` says.
#[cfg(feature = "tokio")]
fn is_refusal(payload: &(dyn std::any::Any + Send), message: &str) -> bool {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .is_some_and(|said| said.contains(message))
}

/// [`park_until`] on the thread of a current-thread tokio scheduler (inside its `block_on`),
/// which cannot run while this thread waits. tokio wakes some futures through that
/// scheduler, not at once: `tokio::task::yield_now` and a spent cooperative budget (`mpsc`,
/// `oneshot` and the other budgeted resources) defer their wake-up to it. So here the future
/// is polled with no budget (`unconstrained`), and polled again after a short nap, growing to
/// [`LAST_NAP`], whether or not anything woke it. Also taken on any other thread that entered
/// such a runtime's handle (its blocking pool: `spawn_blocking`, `Task::run_blocking`;
/// `rt.enter()`), which tokio gives no way to tell from the scheduler's own without a panic
/// (`block_in_place`'s refusal) or a way to hang (parking the scheduler's thread inside
/// `tokio::task::unconstrained`, where a deferred wake-up never comes): there a long wait
/// costs a poll per nap, up to 200 a second, where parking would cost none.
#[cfg(feature = "tokio")]
fn park_in_scheduler<R>(
    deadline: Option<Instant>,
    mut poll: impl FnMut(&mut Context<'_>) -> Poll<R>,
) -> Option<R> {
    let mut unbudgeted =
        std::pin::pin!(tokio::task::unconstrained(std::future::poll_fn(&mut poll)));
    park_here(deadline, |cx| unbudgeted.as_mut().poll(cx), true)
}

/// The first nap of a wait that polls again whether or not it was woken ([`park_in_scheduler`]).
const FIRST_NAP: Duration = Duration::from_micros(50);
/// Its longest nap: how late at most such a wait sees a wake-up that never comes.
const LAST_NAP: Duration = Duration::from_millis(5);

/// Park on this thread's waker; `renap`: poll again after each nap even if not woken.
fn park_here<R>(
    deadline: Option<Instant>,
    mut poll: impl FnMut(&mut Context<'_>) -> Poll<R>,
    renap: bool,
) -> Option<R> {
    let mut park = |unparker: &Arc<Unparker>, waker: &Waker| {
        park_with(unparker, waker, deadline, renap, &mut poll)
    };
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
    renap: bool,
    poll: &mut impl FnMut(&mut Context<'_>) -> Poll<R>,
) -> Option<R> {
    /// An enclosing `park_until` on this thread (we may be nested inside a future it polls)
    /// might have been woken while we consumed the flag: on every exit after consuming it,
    /// unwinding included, make that wait poll again. A wait that never consumed it leaves
    /// it as it was: raising it anyway made an enclosing wait whose future waits here on
    /// something already done poll again at once, round after round.
    struct RaiseOnExit<'a> {
        unparker: &'a Unparker,
        consumed: bool,
    }
    impl Drop for RaiseOnExit<'_> {
        fn drop(&mut self) {
            if self.consumed {
                self.unparker.notified.store(true, Ordering::Release);
            }
        }
    }
    let mut raise = RaiseOnExit {
        unparker,
        consumed: false,
    };
    let mut cx = Context::from_waker(waker);
    let mut nap = renap.then_some(FIRST_NAP);
    loop {
        if let Poll::Ready(r) = poll(&mut cx) {
            break Some(r);
        }
        let timed_out = loop {
            if unparker.notified.swap(false, Ordering::Acquire) {
                raise.consumed = true;
                break false;
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                break true;
            }
            let left = deadline.map(|d| d - now);
            crate::continuation_thread::before_blocking();
            match (nap, left) {
                (None, None) => thread::park(),
                (None, Some(left)) => thread::park_timeout(left),
                (Some(this_nap), left) => {
                    thread::park_timeout(left.map_or(this_nap, |left| left.min(this_nap)));
                    nap = Some((this_nap * 2).min(LAST_NAP));
                    // Poll again: a wake-up deferred to the scheduler would never come.
                    break deadline.is_some_and(|d| Instant::now() >= d);
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
