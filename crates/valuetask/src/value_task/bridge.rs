//! Completing a `Task` from a pending source- or task-backed value task, with no executor.
//!
//! The bridge is its own waker: the backing is polled with it, and when the backing wakes it
//! the bridge polls again right there, on the waking thread, until the result is in; then it
//! completes the task.
//!
//! # Invariants
//!
//! - `state` is `IDLE`, `RUNNING`, `NOTIFIED` (running, and woken meanwhile) or `DONE`.
//! - Only the thread that moved `state` from `IDLE` to `RUNNING` (or was created `RUNNING`)
//!   touches `pending`, until it stores `IDLE` or `DONE`.
//! - A wake during `RUNNING` becomes `NOTIFIED`, and the runner polls again before it goes
//!   idle, so no wake-up is lost; a wake during `IDLE` starts a run; after `DONE` wakes are
//!   ignored.
//! - A run re-polls a backing that woke it during its poll ("poll me again") fewer than 64
//!   times on the thread it started on (`MAX_INLINE_REPOLLS`), which may be the caller of
//!   `as_task` or a completer, whose own progress may be what the backing waits for; then it
//!   moves, `RUNNING`, to another thread (`global_runtime::run_elsewhere`), which re-polls as
//!   many times again before it yields its time slice between re-polls.
//! - A bridge whose backing can never wake it (it kept no waker, or dropped the last one
//!   unwoken) completes its task `Abandoned` after dropping the backing: in `drive` when no
//!   waker outlived the first run, else from its `Drop`, on another thread, since that drop
//!   runs inside the backing's code (perhaps under a lock the backing's drop takes again).
//! - Runs nest at most 32 deep on one thread, counted with watchers' runs
//!   (`inline_depth::MAX_INLINE_DEPTH`); a deeper one moves to the
//!   global runtime's blocking pool (`global_runtime::run_elsewhere`), as .NET queues an
//!   `ExecuteSynchronously` continuation to the thread pool when the stack is deep. Not to a
//!   queue on the same thread (code up the stack may block until that run happens), nor to
//!   the one continuation thread (a deep link that blocks would hold up every other one).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use super::Repr;
use crate::sync::{AtomicU8, Ordering, UnsafeCell};
use crate::task::cell::RawTask;
use crate::task::{outcome_of, Task, TaskError, TaskOutput};

/// Re-polls of a backing that wakes itself, in one run on the thread it started on.
const MAX_INLINE_REPOLLS: u32 = 64;

const IDLE: u8 = 0;
const RUNNING: u8 = 1;
const NOTIFIED: u8 = 2;
const DONE: u8 = 3;

struct Bridge<T: Send + Sync + 'static> {
    state: AtomicU8,
    pending: UnsafeCell<Option<Repr<'static, T>>>,
    target: RawTask<TaskOutput<T>>,
}

// SAFETY: `pending` is touched only by the single runner (see the module invariants), so the
// bridge may be shared as long as its contents may move between threads: `Repr<'static, T>`
// is `Send` for `T: Send` (its backing is, see `Backed`'s `Send`: every constructor of a
// `Send` value task holds a `Send` future, a `Send + Sync` source or task, or a pool slot).
unsafe impl<T: Send + Sync> Sync for Bridge<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Send for Bridge<T> {}

/// A task completed by `pending` (a `Task` or source backing) once it is ready.
pub(super) fn drive<T: Send + Sync + 'static>(
    pending: Repr<'static, T>,
    internal: bool,
) -> Task<T> {
    let report: fn(&_) = if internal {
        crate::unobserved::report_unless_abandoned::<T>
    } else {
        crate::unobserved::report::<T>
    };
    let target = RawTask::new_pending(false, 0, Some(report));
    let task = Task::from_raw(target.clone());
    let bridge = Arc::new(Bridge {
        state: AtomicU8::new(RUNNING),
        pending: UnsafeCell::new(Some(pending)),
        target,
    });
    // Bounded like a wake-up: a synchronous continuation registered on a completed task
    // runs here, and it may register the next one, and so on.
    bridge.run_bounded();
    let mut bridge = bridge;
    if let Some(unwoken) = Arc::get_mut(&mut bridge) {
        // The backing kept no waker (nor did a run move elsewhere): it can never wake the
        // bridge. Abandoned here, where no code of the backing's is up the stack.
        // SAFETY: the only reference: nobody else can touch `pending`.
        if let Some(backing) = unwoken.pending.with_mut(|p| unsafe { (*p).take() }) {
            abandon(backing, &unwoken.target);
        }
    }
    task
}

/// Complete `target` for a `backing` that can never wake its bridge: the backing is dropped
/// first, so whoever the completion wakes finds the work's destructors already run; a panic
/// in that drop faults the task instead.
fn abandon<T: Send + Sync + 'static>(backing: Repr<'static, T>, target: &RawTask<TaskOutput<T>>) {
    let error = match catch_unwind(AssertUnwindSafe(|| drop(backing))) {
        Ok(()) => TaskError::Abandoned,
        Err(panic) => crate::catch_panic::panic_error(panic),
    };
    target.try_complete_in_drop(Err(error), crate::task::Outcome::Faulted, false, false);
}

impl<T: Send + Sync + 'static> Bridge<T> {
    /// Poll until ready or until a poll returns `Pending` with no wake in between; `inline`:
    /// on the thread the run started on, which it leaves after `MAX_INLINE_REPOLLS`.
    /// Caller holds `RUNNING`.
    fn run(self: &Arc<Self>, inline: bool) {
        let waker = Waker::from(Arc::clone(self));
        let mut cx = Context::from_waker(&waker);
        let mut repolls = 0u32;
        loop {
            let polled = self.pending.with_mut(|p| {
                // SAFETY: we hold `RUNNING`, so `pending` is ours alone.
                let repr = unsafe { (*p).as_mut() }.expect("a running bridge has a backing");
                catch_unwind(AssertUnwindSafe(|| repr.poll(&mut cx)))
            });
            let output: TaskOutput<T> = match polled {
                Ok(Poll::Pending) => {
                    match self.state.compare_exchange(
                        RUNNING,
                        IDLE,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    ) {
                        Ok(_) => return,
                        Err(_notified) => {
                            self.state.store(RUNNING, Ordering::Relaxed);
                            repolls = repolls.saturating_add(1);
                            if repolls >= MAX_INLINE_REPOLLS {
                                if inline {
                                    let this = Arc::clone(self);
                                    let moved = move || this.run_at_depth(false);
                                    if crate::global_runtime::run_elsewhere(moved).is_ok() {
                                        return;
                                    }
                                } else {
                                    std::thread::yield_now();
                                }
                            }
                            continue;
                        }
                    }
                }
                Ok(Poll::Ready(value)) => Ok(value),
                Err(panic) => Err(crate::catch_panic::panic_error(panic)),
            };
            // Drop the backing before publishing; a panic in that drop is a failure of the
            // operation: it faults the task.
            let dropped = catch_unwind(AssertUnwindSafe(|| {
                // SAFETY: still `RUNNING`: the backing is ours alone.
                drop(self.pending.with_mut(|p| unsafe { (*p).take() }))
            }));
            let output = match dropped {
                Ok(()) => output,
                Err(panic) => {
                    crate::catch_panic::drop_discarding(output);
                    Err(crate::catch_panic::panic_error(panic))
                }
            };
            self.state.store(DONE, Ordering::Release);
            let outcome = outcome_of(&output);
            let _ = self.target.try_complete(output, outcome);
            return;
        }
    }

    /// Run here, on the waking thread, unless this thread is already `MAX_INLINE_DEPTH`
    /// bridges deep (a long chain of synchronous continuations completing each other): then
    /// the run moves, with the `RUNNING` state, to another thread, so the stack stays bounded
    /// (as .NET queues an `ExecuteSynchronously` continuation to the thread pool when the
    /// stack is deep). Not a queue on this thread: code up the stack may block until the run
    /// happens.
    fn run_bounded(self: &Arc<Self>) {
        self.run_at_depth(true);
    }

    /// [`run_bounded`](Self::run_bounded); `inline`: on the thread the run started on (the
    /// waking thread), not one it moved to.
    fn run_at_depth(self: &Arc<Self>, inline: bool) {
        // Also off a thread dropping a runtime's work at its shutdown, where the run's
        // completion would run awaiters' code (see `continuation_thread::dropping_at_shutdown`).
        if crate::inline_depth::too_deep() || crate::continuation_thread::is_dropping_at_shutdown()
        {
            let this = Arc::clone(self);
            if crate::global_runtime::run_elsewhere(move || this.run_at_depth(false)).is_ok() {
                return;
            }
            // No other thread to be had: here after all, one level deeper.
        }
        crate::inline_depth::deeper(|| self.run(inline));
    }

    fn schedule(self: &Arc<Self>) {
        let mut cur = self.state.load(Ordering::Acquire);
        loop {
            let next = match cur {
                IDLE => RUNNING,
                RUNNING => NOTIFIED,
                _ => return,
            };
            match self
                .state
                .compare_exchange(cur, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) if next == RUNNING => return self.run_bounded(),
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
    }
}

/// A bridge dropped before it completed its task (its backing dropped the waker without ever
/// waking it) must not leave the task pending forever: it is [`abandon`]ed. On another thread
/// (`global_runtime::run_elsewhere`; here only if none can be had): the last waker is dropped
/// inside the backing's code, perhaps under a lock of a user source's that the backing's
/// drop, the source's `withdraw`, takes again (a source clearing its waker under its mutex
/// deadlocked there), and the completion would run the task's synchronous continuations
/// under it too.
impl<T: Send + Sync + 'static> Drop for Bridge<T> {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: nobody else can touch `pending`.
        let Some(backing) = self.pending.with_mut(|p| unsafe { (*p).take() }) else {
            return; // A run completed the task.
        };
        let target = self.target.clone();
        let abandoned = move || abandon(backing, &target);
        if let Err(here) = crate::global_runtime::run_elsewhere(abandoned) {
            here();
        }
    }
}

impl<T: Send + Sync + 'static> Wake for Bridge<T> {
    fn wake(self: Arc<Self>) {
        self.schedule();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.schedule();
    }
}
