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

/// (l) Start a trivial future as a task and await it, from inside the runtime.
pub fn run_vs_spawn() -> Scenario {
    let (rt1, rt2) = (runtime(), runtime());
    Scenario::new(
        "l",
        "start a task and await it on a multi-thread runtime",
        vec![
            Implementation::new("tokio::spawn", move |v| {
                rt1.block_on(async move { tokio::spawn(async move { v + 1 }).await.unwrap() })
            }),
            Implementation::new(TASK_RUN, move |v| {
                rt2.block_on(async move { Task::run(async move { v + 1 }).await.unwrap() })
            }),
        ],
        Some(Target {
            implementation: TASK_RUN,
            max_ratio: 1.3,
        }),
    )
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

/// (n) One result awaited by `awaiters` tasks on a multi-thread runtime: spawn them, complete
/// the result, join them all.
pub fn many_awaiters(id: &'static str, name: &'static str, awaiters: usize) -> Scenario {
    let (rt1, rt2) = (runtime(), runtime());
    Scenario::new(
        id,
        name,
        vec![
            Implementation::new("futures Shared", move |v| {
                rt1.block_on(async move {
                    let (tx, rx) = tokio::sync::oneshot::channel::<u64>();
                    let shared = rx.shared();
                    let handles: Vec<_> = (0..awaiters)
                        .map(|_| {
                            let s = shared.clone();
                            tokio::spawn(async move { s.await.unwrap() })
                        })
                        .collect();
                    tx.send(v).unwrap();
                    let mut sum = 0;
                    for h in handles {
                        sum += h.await.unwrap();
                    }
                    sum
                })
            }),
            Implementation::new(VALUETASK_TASK, move |v| {
                rt2.block_on(async move {
                    let tcs = TaskCompletionSource::new();
                    let handles: Vec<_> = (0..awaiters)
                        .map(|_| {
                            let t = tcs.task();
                            tokio::spawn(async move { t.await.unwrap() })
                        })
                        .collect();
                    tcs.set_result(v);
                    let mut sum = 0;
                    for h in handles {
                        sum += h.await.unwrap();
                    }
                    sum
                })
            }),
        ],
        (awaiters >= 16).then_some(Target {
            implementation: VALUETASK_TASK,
            max_ratio: 0.5,
        }),
    )
}
