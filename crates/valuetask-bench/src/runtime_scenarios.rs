//! Scenarios on a tokio runtime: `Task::run` against `tokio::spawn`, `when_all` against
//! `join_all`, and one result awaited by many tasks against `futures::future::Shared`.

use futures::future::FutureExt;
use tokio::runtime::Runtime;
use valuetask::{Task, TaskCompletionSource};

use crate::harness::Implementation;
use crate::scenarios::{Scenario, Target};

const TASK_RUN: &str = "Task::run";
const VALUETASK_TASK: &str = "valuetask Task";
const WHEN_ALL: &str = "Task::when_all";

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("a tokio runtime")
}

/// (l) Start a trivial future as a task and await it, from a task on the runtime.
///
/// A batch runs inside one task on a worker (one `block_on` per batch, not per operation), so
/// the rows measure starting, completing and awaiting a task, not waking the thread that
/// called `block_on`.
pub fn run_vs_spawn() -> Scenario {
    let (rt1, rt2) = (runtime(), runtime());
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
        Some(Target {
            implementation: TASK_RUN,
            max_ratio: 1.3,
        }),
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
pub fn many_awaiters(id: &'static str, name: &'static str, awaiters: usize) -> Scenario {
    let (rt1, rt2) = (runtime(), runtime());
    Scenario::new(
        id,
        name,
        vec![
            Implementation::batched("oneshot + futures Shared", move |n| {
                rt1.block_on(rounds(
                    n,
                    awaiters,
                    |_| {
                        let (tx, rx) = tokio::sync::oneshot::channel::<u64>();
                        (tx, rx.shared())
                    },
                    |tx, r| tx.send(r).unwrap(),
                    |shared| {
                        let shared = shared.clone();
                        async move { shared.await.unwrap() }
                    },
                ))
            }),
            Implementation::batched(VALUETASK_TASK, move |n| {
                rt2.block_on(rounds(
                    n,
                    awaiters,
                    |_| {
                        let tcs = TaskCompletionSource::new();
                        let task = tcs.task();
                        (tcs, task)
                    },
                    |tcs, r| tcs.set_result(r),
                    |task| async move { task.await.unwrap() },
                ))
            }),
        ],
        (awaiters >= 16).then_some(Target {
            implementation: VALUETASK_TASK,
            max_ratio: 0.5,
        }),
    )
}

/// Run `n` rounds of one result awaited by `awaiters` spawned tasks (see [`many_awaiters`]):
/// `make(r)` creates round `r`'s producing half and shared result, `complete` completes it
/// with `r`, `await_it` awaits it from one task. Returns the sum of everything awaited.
async fn rounds<R, A, F>(
    n: u64,
    awaiters: usize,
    make: impl Fn(u64) -> (R, A),
    complete: impl Fn(R, u64) + Send + Sync + Copy + 'static,
    await_it: impl Fn(&'static A) -> F + Send + Sync + Copy + 'static,
) -> u64
where
    R: Send + 'static,
    A: Send + Sync + 'static,
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

    let rounds: Box<[Round<R, A>]> = (0..n)
        .map(|r| {
            let (producer, result) = make(r);
            Round {
                arrived: AtomicUsize::new(0),
                producer: Mutex::new(Some(producer)),
                result,
            }
        })
        .collect();
    // Leaked for the batch's duration so the awaiting tasks can borrow it; reclaimed below.
    let rounds: &'static [Round<R, A>] = Box::leak(rounds);

    let tasks: Vec<_> = (0..awaiters)
        .map(|_| {
            tokio::spawn(async move {
                let mut sum = 0u64;
                for (r, round) in rounds.iter().enumerate() {
                    if round.arrived.fetch_add(1, Ordering::AcqRel) + 1 == awaiters {
                        let producer = round.producer.lock().unwrap().take().unwrap();
                        complete(producer, r as u64);
                    }
                    sum += await_it(&round.result).await;
                }
                sum
            })
        })
        .collect();
    let mut sum = 0;
    for task in tasks {
        sum += task.await.unwrap();
    }
    // SAFETY: every task that borrowed the rounds has finished (joined above), and the slice
    // was leaked from a box of exactly this type just above.
    drop(unsafe { Box::from_raw(rounds as *const [Round<R, A>] as *mut [Round<R, A>]) });
    sum
}
