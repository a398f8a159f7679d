//! Running continuations off the completing call: asynchronously (.NET's
//! `RunContinuationsAsynchronously`), and on another thread (`run_elsewhere`: scheduled
//! continuations, and synchronous ones woken too deep in a thread's stack).
//!
//! In Rust a continuation is a `Waker::wake` call. Most wakers only schedule work, but some run
//! code inline (a thread unpark, the `as_task` bridge that polls its source from `wake`). With
//! asynchronous continuations the completing call never invokes a waker itself: it hands the
//! wakers to one process-wide thread, `valuetask-continuations`, started on first use, which
//! wakes them after (or while) the completing call returns. Each such hand-off allocates one
//! boxed job. The thread is shared by the whole process. A waker that waits there with
//! valuetask's `wait` / `get_result` (a synchronous continuation waiting for another task,
//! perhaps one whose wake-up is queued behind it) hands the queue to a new thread first, so
//! the queue keeps moving; one that blocks any other way holds up every asynchronous
//! continuation until it returns. Should the thread be impossible to start (thread or memory
//! limits), the wakers run on the completing thread instead, and a later completion tries
//! to start it again: a late wake-up, never a lost one. A child process made by `fork`
//! (without `exec`) inherits the record that the thread started, not the thread: there,
//! asynchronous continuations are queued and never run, as a runtime's threads are missing
//! in such a child.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Mutex, OnceLock};
use std::task::Waker;
use std::thread;

use crate::sync::lock_std as lock;

/// When the wakers of a completed task run (.NET `TaskCreationOptions.RunContinuationsAsynchronously`).
///
/// ```
/// use valuetask::{Continuations, TaskCompletionSource};
///
/// assert_eq!(Continuations::default(), Continuations::Inline);
/// # futures::executor::block_on(async {
/// let tcs = TaskCompletionSource::<u8>::with_continuations(Continuations::Asynchronous);
/// let task = tcs.task();
/// std::thread::spawn(move || tcs.set_result(1)); // wakers run on the continuation thread
/// assert_eq!(task.await, Ok(1));
/// # });
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Continuations {
    /// The completing call (`set_result` and friends) wakes every awaiter before it returns
    /// (.NET's default: no `RunContinuationsAsynchronously`).
    /// Cheapest; a waker that runs code inline runs it on the completing thread.
    #[default]
    Inline,
    /// The completing call does not call a waker (.NET
    /// `TaskCreationOptions.RunContinuationsAsynchronously`): the wakers are handed to valuetask's
    /// continuation thread (one per process, started on first use), which wakes them.
    /// Use it when the completing thread holds a lock an awaiter may need, or must not run
    /// arbitrary waker code. Costs one allocation and a thread hop per completion that had
    /// awaiters; a completion nobody waits for yet costs nothing extra. A waker run there
    /// (a synchronous continuation) may `wait()` for another task: the thread hands its
    /// queue to a new one first; code there that blocks any other way, or runs long, holds up
    /// every asynchronous continuation in the process until it returns. A thread blocked in
    /// `wait()` on such a task is woken through that thread too (.NET wakes such waiters
    /// inline). Only when no thread can be started at all (thread or memory limits) do the
    /// wakers run in the completing call, rather than never.
    Asynchronous,
}

use crate::catch_panic::{wake_each, Panic};

/// A continuation handed to another thread.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

/// The continuation queue. Jobs go in through `tx`; the thread serving the queue (one at a
/// time, see `before_blocking`) takes them out of `rx`.
struct Queue {
    tx: Sender<Job>,
    rx: Mutex<Receiver<Job>>,
}

static QUEUE: OnceLock<Queue> = OnceLock::new();
/// A serving thread was started; jobs are queued only after that.
static STARTED: AtomicBool = AtomicBool::new(false);
/// Held while the first serving thread is started, so no job is queued meanwhile.
static STARTING: Mutex<()> = Mutex::new(());

thread_local! {
    /// This thread serves the queue (and has not handed it over).
    static SERVING: Cell<bool> = const { Cell::new(false) };
    /// The wakers of the completion this thread is waking (`wake_in_turn`) not woken yet.
    static UNWOKEN: RefCell<VecDeque<Waker>> = const { RefCell::new(VecDeque::new()) };
}

/// The continuation queue, starting its thread on first use. `None` when no thread can be
/// started (thread or memory limits); a later call tries again.
fn queue() -> Option<&'static Queue> {
    #[cfg(test)]
    if tests::NO_THREAD.with(Cell::get) {
        return None;
    }
    let queue = QUEUE.get_or_init(|| {
        let (tx, rx) = channel();
        Queue {
            tx,
            rx: Mutex::new(rx),
        }
    });
    if !STARTED.load(Ordering::Acquire) {
        let _starting = lock(&STARTING);
        if !STARTED.load(Ordering::Acquire) {
            start_serving(queue).ok()?;
            STARTED.store(true, Ordering::Release);
        }
    }
    Some(queue)
}

fn start_serving(queue: &'static Queue) -> std::io::Result<()> {
    thread::Builder::new()
        .name("valuetask-continuations".into())
        .spawn(move || serve(queue))
        .map(drop)
}

/// Run the queue's jobs until this thread hands the queue over (a job blocked in it).
fn serve(queue: &'static Queue) {
    SERVING.with(|s| s.set(true));
    loop {
        let Ok(job) = lock(&queue.rx).recv() else {
            return; // unreachable: the sender lives in the same static
        };
        // A panicking waker must not take the thread (and every later wake-up) down with
        // it, nor may its payload's `Drop`.
        if let Err(panic) = catch_unwind(AssertUnwindSafe(job)) {
            crate::catch_panic::discard(panic);
        }
        if !SERVING.with(Cell::get) {
            return;
        }
    }
}

/// Called by a thread about to block (`wait`, `get_result`). On the continuation thread (a
/// synchronous continuation that waits for another task), the queue is handed to a new
/// thread first, and this one stops serving once its job returns: the wake-ups queued behind
/// it, perhaps the very one it waits for, still run. Should no thread start, this thread keeps
/// serving and blocks.
pub(crate) fn before_blocking() {
    if !SERVING.try_with(Cell::get).unwrap_or(false) {
        return;
    }
    let queue = QUEUE.get().expect("a serving thread serves the queue");
    if start_serving(queue).is_ok() {
        SERVING.with(|s| s.set(false));
        // The rest of this completion's wakers go too: the wait may be for one of them.
        let unwoken = UNWOKEN
            .try_with(|u| std::mem::take(&mut *u.borrow_mut()))
            .unwrap_or_default();
        if !unwoken.is_empty() {
            let rest: Job = Box::new(move || {
                if let Some(panic) = wake_in_turn(unwoken.into_iter()) {
                    crate::catch_panic::discard(panic);
                }
            });
            queue.send(rest);
        }
    }
}

/// Wake an asynchronous completion's `wakers` in turn, each under a catch (the first panic is
/// returned). Those not woken yet are kept where `before_blocking` finds them: if one waker
/// blocks on the continuation thread, the rest move to the new serving thread with the
/// queue, instead of waiting behind it (one of them may be what it waits for).
///
/// Only a serving thread needs that, and there one completion is woken at a time (every
/// asynchronous completion is queued, never woken inline). Anywhere else (no continuation
/// thread could start) the wakers are woken directly. The list keeps up to 256 slots between
/// completions, so this allocates nothing in steady state.
pub(crate) fn wake_in_turn(mut wakers: impl Iterator<Item = Waker>) -> Option<Panic> {
    let serving = SERVING.try_with(Cell::get).unwrap_or(false);
    if !serving
        || UNWOKEN
            .try_with(|u| u.borrow_mut().extend(&mut wakers))
            .is_err()
    {
        return wake_each(wakers);
    }
    let next = || UNWOKEN.with(|u| u.borrow_mut().pop_front());
    let panic = wake_each(std::iter::from_fn(next));
    UNWOKEN.with(|u| u.borrow_mut().shrink_to(KEPT_WAKER_SLOTS));
    panic
}

/// Slots `UNWOKEN` keeps between completions (a completion with more awaiters grows it; it
/// shrinks back after).
const KEPT_WAKER_SLOTS: usize = 256;

thread_local! {
    /// This thread is dropping work at a runtime's shutdown ([`dropping_at_shutdown`]).
    static DROPPING_AT_SHUTDOWN: Cell<bool> = const { Cell::new(false) };
}

/// Run `f`, the drop of work a runtime's shutdown ends (`runtime::Drive`, a `run_blocking`
/// job), so that no awaiter's code runs inside it: a task abandoned on this thread meanwhile
/// (its last `TaskCompletionSource` dropped) wakes its awaiters from the continuation thread
/// (as [`wake_later`] does), and a bridge woken here (`value_task/bridge.rs`: a pool's
/// completer abandoned, an `as_task` of its value task) runs on another thread. The runtime
/// drops its tasks one after another on each of its threads: a synchronous continuation run
/// inline that waited for another of its tasks would wait for good, that task's drop coming
/// only after its own. Nests; a thread whose locals are gone runs them inline.
pub(crate) fn dropping_at_shutdown<R>(f: impl FnOnce() -> R) -> R {
    /// Puts the flag back as it was, also when `f` unwinds.
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = DROPPING_AT_SHUTDOWN.try_with(|d| d.set(self.0));
        }
    }
    let before = DROPPING_AT_SHUTDOWN
        .try_with(|d| d.replace(true))
        .unwrap_or(false);
    let _restore = Restore(before);
    f()
}

/// Whether this thread is inside [`dropping_at_shutdown`]: awaiters' code goes elsewhere.
pub(crate) fn is_dropping_at_shutdown() -> bool {
    DROPPING_AT_SHUTDOWN.try_with(Cell::get).unwrap_or(false)
}

/// Run `job` on the continuation thread, never on the caller's; should no such thread be
/// startable, here rather than never: the completion has already happened, and its awaiters
/// must still be woken.
pub(crate) fn wake_later(job: impl FnOnce() + Send + 'static) {
    match queue() {
        Some(queue) => queue.send(Box::new(job)),
        None => job(),
    }
}

impl Queue {
    fn send(&self, job: Job) {
        self.tx
            .send(job)
            .unwrap_or_else(|_| unreachable!("the receiver lives in the same static"));
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::future::{Future, IntoFuture};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Context, Wake, Waker};

    use crate::{Continuations, TaskCompletionSource};

    thread_local! {
        /// Makes `queue()` behave on this thread as if no thread could be started.
        pub(super) static NO_THREAD: Cell<bool> = const { Cell::new(false) };
    }

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Where no continuation thread can start, a waker of one asynchronous completion that
    /// completes another one inline sees only that one's wakers: a later waker of the first
    /// completion, which panics, is not woken inside it, and its panic comes out of the first
    /// completion's `set_result`.
    #[test]
    fn an_inline_nested_asynchronous_completion_wakes_only_its_own_wakers() {
        struct Completes(
            std::sync::Mutex<Option<TaskCompletionSource<u8>>>,
            Arc<AtomicUsize>,
        );
        impl Wake for Completes {
            fn wake(self: Arc<Self>) {
                if let Some(tcs) = self.0.lock().unwrap().take() {
                    let nested = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        tcs.set_result(2)
                    }));
                    if nested.is_ok() {
                        self.1.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
        }
        struct Panics;
        impl Wake for Panics {
            fn wake(self: Arc<Self>) {
                panic!("the later waker");
            }
        }
        let first = TaskCompletionSource::<u8>::with_continuations(Continuations::Asynchronous);
        let second = TaskCompletionSource::<u8>::with_continuations(Continuations::Asynchronous);
        let (first_task, second_task) = (first.task(), second.task());
        let nested_ok = Arc::new(AtomicUsize::new(0));
        let completes = Waker::from(Arc::new(Completes(
            std::sync::Mutex::new(Some(second)),
            nested_ok.clone(),
        )));
        let panics = Waker::from(Arc::new(Panics));
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let mut awaiting_first = [(&first_task).into_future(), (&first_task).into_future()];
        for (fut, waker) in awaiting_first.iter_mut().zip([&completes, &panics]) {
            let mut fut = std::pin::Pin::new(fut);
            assert!(fut
                .as_mut()
                .poll(&mut Context::from_waker(waker))
                .is_pending());
        }
        let mut awaiting_second = (&second_task).into_future();
        let waker = Waker::from(count.clone());
        let polled =
            std::pin::Pin::new(&mut awaiting_second).poll(&mut Context::from_waker(&waker));
        assert!(polled.is_pending());
        NO_THREAD.with(|n| n.set(true));
        let completed =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| first.set_result(1)));
        NO_THREAD.with(|n| n.set(false));
        let panic = completed.expect_err("the later waker's panic comes out here");
        assert_eq!(panic.downcast_ref::<&str>(), Some(&"the later waker"));
        assert_eq!(
            nested_ok.load(Ordering::SeqCst),
            1,
            "the nested completion did not panic"
        );
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            1,
            "its own awaiter was woken"
        );
    }

    /// With no continuation thread to be had, an asynchronous completion still wakes its
    /// awaiters (on the completing thread) and `set_result` does not panic.
    #[test]
    fn awaiters_are_woken_when_no_continuation_thread_can_start() {
        let tcs = TaskCompletionSource::<u8>::with_continuations(Continuations::Asynchronous);
        let task = tcs.task();
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut fut = std::pin::pin!((&task).into_future());
        assert!(fut
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
        NO_THREAD.with(|n| n.set(true));
        let completed =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| tcs.set_result(1)));
        NO_THREAD.with(|n| n.set(false));
        assert!(completed.is_ok(), "set_result panicked");
        assert_eq!(count.0.load(Ordering::SeqCst), 1, "the awaiter was woken");
        assert!(matches!(task.try_result(), Some(Ok(&1))));
    }

    /// Inside `dropping_at_shutdown` a dropped last source abandons its task without calling
    /// its awaiter's waker on this thread (the continuation thread wakes it); the scope nests,
    /// and it ends also when its closure unwinds.
    #[test]
    fn abandonments_in_the_scope_wake_from_the_continuation_thread() {
        use super::{dropping_at_shutdown, is_dropping_at_shutdown};
        struct OnThread(std::sync::Mutex<Option<std::thread::ThreadId>>);
        impl Wake for OnThread {
            fn wake(self: Arc<Self>) {
                *self.0.lock().unwrap() = Some(std::thread::current().id());
            }
        }
        let woken = Arc::new(OnThread(std::sync::Mutex::new(None)));
        let tcs = TaskCompletionSource::<u8>::new();
        let task = tcs.task();
        let waker = Waker::from(woken.clone());
        let mut awaiting = std::pin::pin!((&task).into_future());
        assert!(awaiting
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
        dropping_at_shutdown(|| {
            dropping_at_shutdown(|| assert!(is_dropping_at_shutdown()));
            assert!(
                is_dropping_at_shutdown(),
                "the inner scope put the flag back"
            );
            drop(tcs);
        });
        assert!(!is_dropping_at_shutdown());
        assert!(task.is_completed(), "abandoned at the drop");
        let here = std::thread::current().id();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let on = loop {
            if let Some(on) = *woken.0.lock().unwrap() {
                break on;
            }
            assert!(std::time::Instant::now() < deadline, "never woken");
            std::thread::yield_now();
        };
        assert_ne!(on, here, "woken inside the scope's drop");
        let unwound = std::panic::catch_unwind(|| dropping_at_shutdown(|| panic!("unwinds")));
        assert!(unwound.is_err());
        assert!(!is_dropping_at_shutdown(), "an unwind left the flag set");
    }
}
