//! Scenarios on a tokio runtime: `Task::run` against `tokio::spawn`, `when_all` against
//! `join_all`, and one result awaited by many tasks against `futures::future::Shared`.

use futures::future::FutureExt;
use tokio::runtime::Runtime;
use valuetask::{Task, TaskCompletionSource};

use crate::harness::Implementation;
use crate::scenarios::{Scenario, Target, SLOT_PER_AWAITER};

const TASK_RUN: &str = "Task::run";
const VALUETASK_TASK: &str = "valuetask Task";
const WHEN_ALL: &str = "Task::when_all";

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("a tokio runtime")
}

/// One runtime for every implementation of a scenario (their batches never overlap), so
/// each row runs on the same worker threads: where the host's scheduler placed them, and
/// how deeply an idle one sleeps, weighs on every row alike. Those states are large next to
/// the rows' own work: (l)'s spawn can take twice as long depending on what the process had
/// run just before.
fn shared_runtime() -> std::rc::Rc<Runtime> {
    std::rc::Rc::new(runtime())
}

/// (l) Start a trivial future as a task and await it, from a task on the runtime.
///
/// A batch runs inside one task on a worker (one `block_on` per batch, not per operation), so
/// the rows measure starting, completing and awaiting a task, not waking the thread that
/// called `block_on`.
pub fn run_vs_spawn() -> Scenario {
    let rt1 = shared_runtime();
    let rt2 = rt1.clone();
    Scenario::new(
        "l",
        "start a task and await it on a multi-thread runtime",
        vec![
            Implementation::batched("tokio::spawn", move |n| {
                rt1.block_on(on_a_worker(async move {
                    let mut sum = 0u64;
                    for i in 0..n {
                        sum += tokio::spawn(async move { i + 1 }).await.unwrap();
                    }
                    sum
                }))
            }),
            Implementation::batched(TASK_RUN, move |n| {
                rt2.block_on(on_a_worker(async move {
                    let mut sum = 0u64;
                    for i in 0..n {
                        sum += Task::run(async move { i + 1 }).await.unwrap();
                    }
                    sum
                }))
            }),
        ],
        Some(Target::peer(TASK_RUN, 1.2)),
    )
}

/// Run `batch` as a task on one of the runtime's workers and wait for it.
async fn on_a_worker(batch: impl std::future::Future<Output = u64> + Send + 'static) -> u64 {
    tokio::spawn(batch).await.unwrap()
}

/// (m) Combine 100 completed results: `when_all` over 100 completed tasks against
/// `join_all` over 100 ready futures.
pub fn when_all_vs_join_all() -> Scenario {
    let tasks: Vec<Task<u64>> = (0..100).map(Task::from_result).collect();
    Scenario::new(
        "m",
        "combine 100 completed results",
        vec![
            Implementation::new("futures::future::join_all", |v| {
                crate::executor::run_ready(async move {
                    let all =
                        futures::future::join_all((0..100).map(|i| futures::future::ready(i + v)))
                            .await;
                    all.iter().sum::<u64>()
                })
            }),
            // Read with `try_result`, not awaited through the driver as the peer is: a
            // completed `when_all` needs no poll, and awaiting it here cost row (d) the
            // inlining of the task code the two rows share (one codegen unit: see
            // docs/benchmarks.md, "Codegen units"), for a row with no target.
            Implementation::new(WHEN_ALL, move |v| {
                let all = Task::when_all(tasks.iter().cloned());
                all.try_result()
                    .expect("completed")
                    .expect("no failures")
                    .iter()
                    .sum::<u64>()
                    + v
            }),
        ],
        None,
    )
}

/// (n) One result awaited by `awaiters` tasks on a multi-thread runtime, round after round.
///
/// A batch of `n` operations spawns the awaiting tasks once; they live for the whole batch, so
/// spawning and joining them is spread over `n` rounds and the rows measure the awaiting
/// itself. Round `r` has its own result (created for the batch, pending). Every task counts
/// its arrival at round `r` and awaits the result; the last to arrive completes it first. One
/// operation is one round: a result created, completed, and awaited by every task (all but
/// the completing one, give or take a race, registered and woken).
///
/// The rows with a target also measure the same rounds with a waker slot per awaiting task
/// ([`slot_per_awaiter_rounds`]): once registering in it at every wait, as any result must,
/// and once registering only at the start of the batch, the floor: the runtime's wake-ups
/// alone.
pub fn many_awaiters(id: &'static str, name: &'static str, awaiters: usize) -> Scenario {
    let rt = shared_runtime();
    let (rt1, rt2) = (rt.clone(), rt.clone());
    let mut implementations = vec![
        Implementation::batched("oneshot + futures Shared", move |n| {
            rt1.block_on(shared_rounds(n, awaiters))
        }),
        Implementation::batched(VALUETASK_TASK, move |n| {
            rt2.block_on(task_rounds(n, awaiters))
        }),
    ];
    // Half of `Shared`'s time, or, on a host where the runtime's own wake-ups leave no room
    // for that, within 1.1x of the design that gives every awaiter a waker slot of its own:
    // then what remains is the per-wait registration any result needs, not `Task`'s list.
    let target = (awaiters >= 16).then_some(Target::peer_or_row_times(
        VALUETASK_TASK,
        0.5,
        SLOT_PER_AWAITER,
        1.1,
    ));
    if target.is_some() {
        for (name, register) in [
            (SLOT_PER_AWAITER, Register::EveryWait),
            ("floor: the wake-ups alone", Register::Once),
        ] {
            let rt = rt.clone();
            implementations.push(Implementation::batched(name, move |n| {
                rt.block_on(slot_per_awaiter_rounds(n, awaiters, register))
            }));
        }
    }
    Scenario::new(id, name, implementations, target)
}

/// The peer's rounds: a oneshot per round, awaited through `futures`' `Shared`.
async fn shared_rounds(n: u64, awaiters: usize) -> u64 {
    rounds(
        n,
        awaiters,
        |_| {
            let (tx, rx) = tokio::sync::oneshot::channel::<u64>();
            (tx, rx.shared())
        },
        |tx, r, _| tx.send(r).unwrap(),
        |_| async {},
        |shared, _| {
            let shared = shared.clone();
            async move { shared.await.unwrap() }
        },
    )
    .await
}

/// Our rounds: a `TaskCompletionSource` per round, its task awaited by reference.
async fn task_rounds(n: u64, awaiters: usize) -> u64 {
    rounds(
        n,
        awaiters,
        |_| {
            let tcs = TaskCompletionSource::new();
            let task = tcs.task();
            (tcs, task)
        },
        |tcs, r, _| tcs.set_result(r),
        |_| async {},
        |task, _| async move { task.await.unwrap() },
    )
    .await
}

/// Run `n` rounds of one result awaited by `awaiters` spawned tasks (see [`many_awaiters`]):
/// `make(r)` creates round `r`'s producing half and shared result, `complete(producer, r, i)`
/// completes it with `r` from task `i`, `await_it(result, i)` awaits it from task `i`, which first awaits `start(i)`.
/// Returns the sum of everything awaited. Every row of (n) runs through here, so they differ
/// only in how a result is made, completed and awaited.
async fn rounds<R, A, S, F>(
    n: u64,
    awaiters: usize,
    make: impl Fn(u64) -> (R, A),
    complete: impl Fn(R, u64, usize) + Send + Sync + Copy + 'static,
    start: impl Fn(usize) -> S + Send + Sync + Copy + 'static,
    await_it: impl Fn(&'static A, usize) -> F + Send + Sync + Copy + 'static,
) -> u64
where
    R: Send + 'static,
    A: Send + Sync + 'static,
    S: std::future::Future<Output = ()> + Send,
    F: std::future::Future<Output = u64> + Send,
{
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    /// Aligned to two cache lines, so neighbouring rounds share none.
    #[repr(align(128))]
    struct Round<R, A> {
        arrived: AtomicUsize,
        producer: Mutex<Option<R>>,
        result: A,
    }

    // The array of rounds is the harness's, uncounted (128 bytes a round); what each round's
    // `make` allocates is the row's, counted.
    let mut rounds: Vec<Round<R, A>> = alloc_count::uncounted(|| Vec::with_capacity(n as usize));
    rounds.extend((0..n).map(|r| {
        let (producer, result) = make(r);
        Round {
            arrived: AtomicUsize::new(0),
            producer: Mutex::new(Some(producer)),
            result,
        }
    }));
    let rounds = rounds.into_boxed_slice();
    with_awaiting_tasks(rounds, awaiters, move |rounds, me| async move {
        start(me).await;
        let mut sum = 0u64;
        for (r, round) in rounds.iter().enumerate() {
            if round.arrived.fetch_add(1, Ordering::AcqRel) + 1 == awaiters {
                let producer = round.producer.lock().unwrap().take().unwrap();
                complete(producer, r as u64, me);
            }
            sum += await_it(&round.result, me).await;
        }
        sum
    })
    .await
}

/// When a task of [`slot_per_awaiter_rounds`] puts its waker in its slot.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Register {
    /// At every wait that finds the round pending: a clone of the waker, which the completer
    /// takes and wakes, as with any result that outlives a poll (the peer's and ours too).
    EveryWait,
    /// Once, before the first round; the completer wakes it by reference and leaves it there.
    /// Only a task known to wait every round can do this: the runtime's wake-ups alone.
    Once,
}

/// The rows (n16) and (n64) again, each awaiting task with a waker slot of its own (futures'
/// `AtomicWaker`) for the whole batch, through the same [`rounds`] as the other rows: each
/// round's result is an object of its own (a flag and a value behind an `Arc`, as `Shared`'s
/// is behind one and a `Task`'s in its cell), completed by the last task to arrive, which
/// stores the value, sets the flag, and wakes every task's slot; a waiting task checks the
/// flag, registers as `register` says, and checks it again. No list or lock is shared between
/// the awaiting tasks: what a round costs this runtime when the set of awaiting tasks is
/// known in advance. A `Task` cannot know it: its awaiters come and go, so they share its
/// waiter list.
async fn slot_per_awaiter_rounds(n: u64, awaiters: usize, register: Register) -> u64 {
    use futures::task::AtomicWaker;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::{Arc, OnceLock};
    use std::task::{Poll, Waker};

    /// A round's result.
    struct Outcome {
        done: AtomicBool,
        value: AtomicU64,
    }
    /// Aligned to two cache lines, so neighbouring slots share none.
    #[repr(align(128))]
    struct Slot {
        every_wait: AtomicWaker,
        once: OnceLock<Waker>,
    }

    // Leaked for the batch's duration so the rounds can borrow it; reclaimed below.
    let slots: &'static [Slot] = Box::leak(
        (0..awaiters)
            .map(|_| Slot {
                every_wait: AtomicWaker::new(),
                once: OnceLock::new(),
            })
            .collect::<Box<[Slot]>>(),
    );
    let sum = rounds(
        n,
        awaiters,
        |_| {
            let outcome = Arc::new(Outcome {
                done: AtomicBool::new(false),
                value: AtomicU64::new(0),
            });
            (outcome.clone(), outcome)
        },
        move |outcome, r, me| {
            outcome.value.store(r, Ordering::Relaxed);
            // SeqCst with the waiter's second load: it sees the flag, or its registration
            // comes before this store and is seen by the wake below.
            outcome.done.store(true, Ordering::SeqCst);
            for (i, slot) in slots.iter().enumerate() {
                if i != me {
                    match register {
                        Register::EveryWait => slot.every_wait.wake(),
                        Register::Once => slot.once.get().expect("set").wake_by_ref(),
                    }
                }
            }
        },
        move |me| async move {
            if register == Register::Once {
                // Before this task arrives anywhere, so before any round can complete.
                std::future::poll_fn(|cx| {
                    let _ = slots[me].once.set(cx.waker().clone());
                    Poll::Ready(())
                })
                .await;
            }
        },
        move |outcome: &'static Arc<Outcome>, me| {
            std::future::poll_fn(move |cx| {
                if !outcome.done.load(Ordering::Acquire) {
                    if register == Register::EveryWait {
                        slots[me].every_wait.register(cx.waker());
                    }
                    if !outcome.done.load(Ordering::SeqCst) {
                        return Poll::Pending;
                    }
                }
                Poll::Ready(outcome.value.load(Ordering::Relaxed))
            })
        },
    )
    .await;
    // SAFETY: every task that borrowed the slots has finished (`rounds` joined them), and the
    // slice was leaked from a box of exactly this type above.
    drop(unsafe { Box::from_raw(slots as *const [Slot] as *mut [Slot]) });
    sum
}

/// Spawn `awaiters` tasks, task `i` running `body(rounds, i)`, wait for them all and return
/// the sum of their outputs. The rounds are borrowed by the tasks for the batch's duration.
async fn with_awaiting_tasks<T, F>(
    rounds: Box<[T]>,
    awaiters: usize,
    body: impl Fn(&'static [T], usize) -> F + Send + Sync + Copy + 'static,
) -> u64
where
    T: Send + Sync + 'static,
    F: std::future::Future<Output = u64> + Send + 'static,
{
    // Leaked for the batch's duration so the awaiting tasks can borrow it; reclaimed below.
    let rounds: &'static [T] = Box::leak(rounds);
    let tasks: Vec<_> = (0..awaiters)
        .map(|i| tokio::spawn(body(rounds, i)))
        .collect();
    let mut sum = 0;
    for task in tasks {
        sum += task.await.unwrap();
    }
    // SAFETY: every task that borrowed the rounds has finished (joined above), and the slice
    // was leaked from a box of exactly this type just above.
    drop(unsafe { Box::from_raw(rounds as *const [T] as *mut [T]) });
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every implementation of (n) hands every awaiting task every round's value.
    #[test]
    fn every_many_awaiters_implementation_sees_every_round() {
        let rt = runtime();
        for awaiters in [1, 4, 16, 64] {
            let n = 50;
            let expected = awaiters as u64 * (0..n).sum::<u64>();
            let shared = rt.block_on(shared_rounds(n, awaiters));
            let task = rt.block_on(task_rounds(n, awaiters));
            let every_wait = rt.block_on(slot_per_awaiter_rounds(n, awaiters, Register::EveryWait));
            let once = rt.block_on(slot_per_awaiter_rounds(n, awaiters, Register::Once));
            assert_eq!(
                [shared, task, every_wait, once],
                [expected; 4],
                "{awaiters} awaiters"
            );
        }
    }
}
