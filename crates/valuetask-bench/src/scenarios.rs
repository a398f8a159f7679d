//! The single-process scenarios (a)–(k): each pits a valuetask type against its closest peer,
//! doing identical work except for the thing compared. Most are single-threaded and
//! ready-path (every await finds its result available, so [`run_ready`] finishes each
//! operation in one poll); (g) hands work to another thread, and (j) suspends once.

use std::hint::black_box;

use futures::future::{BoxFuture, FutureExt, Shared};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use valuetask::{
    Completer, CompletionPool, ManualResetValueTaskSourceCore, Task, TaskCompletionSource,
    ValueTask,
};

use crate::dyn_traits::{free, Backend, BoxedService, PlainService, PooledService, StackService};
use crate::executor::{poll_around, poll_to_completion, run_ready, run_ready_out_of_line};
use crate::handoff::SpinWorker;
use crate::harness::Implementation;

/// The ceiling a scenario's valuetask implementation should stay under, as a ratio to the
/// scenario's peer. Some ceilings are relative to another row of the same scenario, measured
/// in the same run (a floor, a reference design), so PASS and FAIL mean the same on a host
/// whose atomics are cheap and on one where they are dear.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    /// The implementation checked.
    pub implementation: &'static str,
    /// How its ceiling is set.
    pub bound: Bound,
}

/// How a [`Target`]'s ceiling is set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    /// At most this ratio to the peer.
    Peer(f64),
    /// At most the ratio of the row `row` plus `plus` (both ratios to the peer): a floor
    /// measured in the same run, plus what the design may add to it.
    RowPlus {
        /// The reference row.
        row: &'static str,
        /// What may be added to its ratio.
        plus: f64,
    },
    /// At most `max` to the peer, or at most `times` the ratio of the row `row`, whichever
    /// is larger: where a host cannot reach `max` at all, staying within `times` of a
    /// reference design shows the remainder is not this implementation's.
    PeerOrRowTimes {
        /// The ceiling as a ratio to the peer.
        max: f64,
        /// The reference row.
        row: &'static str,
        /// The factor on the reference row's ratio.
        times: f64,
    },
    /// What this implementation adds above the row `row` (a floor: the same work without
    /// what is compared) is at most `share` of what the peer adds above it:
    /// `ratio − floor ≤ share × (1 − floor)`.
    ShareAboveRow {
        /// The floor row.
        row: &'static str,
        /// The share of the peer's cost above the floor.
        share: f64,
    },
}

impl Target {
    /// At most `max_ratio` to the peer.
    pub const fn peer(implementation: &'static str, max_ratio: f64) -> Self {
        Self {
            implementation,
            bound: Bound::Peer(max_ratio),
        }
    }

    /// At most the ratio of the row `row` plus `plus`.
    pub const fn row_plus(implementation: &'static str, row: &'static str, plus: f64) -> Self {
        Self {
            implementation,
            bound: Bound::RowPlus { row, plus },
        }
    }

    /// At most `max` to the peer, or within `times` the ratio of the row `row`.
    pub const fn peer_or_row_times(
        implementation: &'static str,
        max: f64,
        row: &'static str,
        times: f64,
    ) -> Self {
        Self {
            implementation,
            bound: Bound::PeerOrRowTimes { max, row, times },
        }
    }

    /// What this implementation adds above the floor row `row` is at most `share` of what
    /// the peer adds above it.
    pub const fn share_above_row(
        implementation: &'static str,
        row: &'static str,
        share: f64,
    ) -> Self {
        Self {
            implementation,
            bound: Bound::ShareAboveRow { row, share },
        }
    }

    /// The row the ceiling refers to, besides the peer.
    pub fn reference_row(&self) -> Option<&'static str> {
        match self.bound {
            Bound::Peer(_) => None,
            Bound::RowPlus { row, .. }
            | Bound::PeerOrRowTimes { row, .. }
            | Bound::ShareAboveRow { row, .. } => Some(row),
        }
    }

    /// The ceiling as a ratio to the peer, given the ratio of each row by name.
    ///
    /// # Panics
    /// If the bound names a row that `ratio_of` does not know.
    pub fn limit(&self, ratio_of: impl Fn(&str) -> Option<f64>) -> f64 {
        let reference = |row: &str| {
            ratio_of(row).unwrap_or_else(|| panic!("a target names `{row}`, which has no row"))
        };
        match self.bound {
            Bound::Peer(max) => max,
            Bound::RowPlus { row, plus } => reference(row) + plus,
            Bound::PeerOrRowTimes { max, row, times } => max.max(times * reference(row)),
            Bound::ShareAboveRow { row, share } => {
                let floor = reference(row);
                floor + share * (1.0 - floor)
            }
        }
    }

    /// How the ceiling is formed, for the target lines, with the peer's name where it reads
    /// right: `0.90× tokio oneshot`, `"floor: 1 atomic RMW" + 0.12× tokio oneshot`,
    /// `0.50× futures Shared or 1.10× "a waker slot per awaiter"`.
    pub fn describe(&self, peer: &str) -> String {
        match self.bound {
            Bound::Peer(max) => format!("{max:.2}× {peer}"),
            Bound::RowPlus { row, plus } => format!("\"{row}\" + {plus:.2}× {peer}"),
            Bound::PeerOrRowTimes { max, row, times } => {
                format!("{max:.2}× {peer} or {times:.2}× \"{row}\"")
            }
            Bound::ShareAboveRow { row, share } => {
                format!("\"{row}\" + {share:.2} × ({peer} − \"{row}\")")
            }
        }
    }
}

/// One scenario: an operation, its implementations (the first is the peer every row is
/// compared with) and the target it checks.
#[derive(Debug)]
pub struct Scenario {
    /// Short label, `a` to `n64`.
    pub id: &'static str,
    /// What the operation does.
    pub name: &'static str,
    /// The peer first, then the implementations compared with it.
    pub implementations: Vec<Implementation>,
    /// The ratio the scenario checks, if it makes a claim.
    pub target: Option<Target>,
}

impl Scenario {
    pub(crate) fn new(
        id: &'static str,
        name: &'static str,
        implementations: Vec<Implementation>,
        target: Option<Target>,
    ) -> Self {
        if let Some(target) = target {
            assert!(
                implementations
                    .iter()
                    .skip(1)
                    .any(|imp| imp.name() == target.implementation),
                "scenario ({id}): the target names `{}`, which is not a compared implementation",
                target.implementation
            );
            if let Some(row) = target.reference_row() {
                assert!(
                    implementations.iter().any(|imp| imp.name() == row),
                    "scenario ({id}): the target refers to `{row}`, which is not measured"
                );
            }
        }
        Self {
            id,
            name,
            implementations,
            target,
        }
    }
}

/// `Err` naming the ids in `only` that none of `scenarios` has, and the ids there are (a typo
/// in `--only` would otherwise measure nothing and print an empty table).
pub fn check_only(only: &[String], scenarios: &[Scenario]) -> Result<(), String> {
    let ids: Vec<&str> = scenarios.iter().map(|scenario| scenario.id).collect();
    let unknown: Vec<&str> = only
        .iter()
        .map(String::as_str)
        .filter(|wanted| !ids.iter().any(|id| selects(wanted, id)))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(format!(
        "--only names no scenario {}; the scenarios are {}",
        unknown
            .iter()
            .map(|id| format!("`{id}`"))
            .collect::<Vec<_>>()
            .join(", "),
        ids.join(", ")
    ))
}

/// Every scenario, in report order.
pub fn all() -> Vec<Scenario> {
    vec![
        ready_in_async_fn(),
        completed_shared_awaited_again(),
        ready_shared_awaited_twice(),
        one_shot_completion(),
        one_shot_completion_producer_outlives(),
        reused_core_cycle(),
        pooled_source_cycle(),
        cross_thread_cycle(),
        dyn_call_ready_vs_async_trait(),
        dyn_call_could_suspend_but_does_not(),
        dyn_call_ready_polled_out_of_line(),
        dyn_call_ready_vs_stackfuture(),
        dyn_call_ready_in_a_tasks_loop(),
        dyn_call_suspending(),
        dyn_call_suspending_in_a_tasks_loop(),
        static_call_ready(),
        #[cfg(feature = "stats")]
        counted_static_call_ready(),
        crate::runtime_scenarios::run_vs_spawn(),
        crate::runtime_scenarios::when_all_vs_join_all(),
        crate::runtime_scenarios::many_awaiters(
            "n1",
            "one result, 1 task (it completes it: nothing waits)",
            1,
        ),
        crate::runtime_scenarios::many_awaiters("n4", "one result, 4 awaiting tasks", 4),
        crate::runtime_scenarios::many_awaiters("n16", "one result, 16 awaiting tasks", 16),
        crate::runtime_scenarios::many_awaiters("n64", "one result, 64 awaiting tasks", 64),
        crate::awaits_answer::scenario(),
    ]
    .into_iter()
    .chain(crate::native_traits::all())
    .chain(crate::tower_stack::all())
    .chain(crate::payload_grid::all())
    .collect()
}

/// Whether `--only`'s `wanted` selects the scenario `id`: its own id, or `p` for every cell of
/// the payload grid.
pub fn selects(wanted: &str, id: &str) -> bool {
    wanted == id || (wanted == "p" && crate::payload_grid::is_cell(id))
}

const VALUE_TASK_FROM_RESULT: &str = "ValueTask::from_result";
const VALUETASK_TASK: &str = "valuetask Task";
const FUTURES_SHARED: &str = "futures Shared";
const TASK_COMPLETION_SOURCE: &str = "TaskCompletionSource";
const TOKIO_ONESHOT: &str = "tokio oneshot";
const REUSED_CORE: &str = "ManualResetValueTaskSourceCore";
const POOLED_SOURCE: &str = "CompletionPool";
const FLOOR_3_RMWS: &str = "floor: 3 atomic RMWs";
/// Row (f)'s floor: one atomic RMW (what `report::atomics` reads the kind of host from).
pub(crate) const FLOOR_1_RMW: &str = "floor: 1 atomic RMW";
/// The id of the pooled source's scenario, (f).
pub(crate) const POOLED_SOURCE_SCENARIO: &str = "f";
/// The (n16)/(n64) reference row whose ratio their target may be relative to.
pub(crate) const SLOT_PER_AWAITER: &str = "a waker slot per awaiter";
pub(crate) const ASYNC_TRAIT: &str = "#[async_trait]";
const STACK_FUTURE: &str = "StackFuture";
pub(crate) const VALUE_TASK_ATTR: &str = "#[value_task]";

/// (a) `async fn outer(x) -> u64 { inner(x).await + 1 }`, for four kinds of ready `inner`.
fn ready_in_async_fn() -> Scenario {
    async fn inner_async_fn(x: u64) -> u64 {
        x
    }
    fn inner_ready(x: u64) -> futures::future::Ready<u64> {
        futures::future::ready(x)
    }
    fn inner_value_task(x: u64) -> ValueTask<'static, u64> {
        ValueTask::from_result(x)
    }
    fn inner_task(x: u64) -> Task<u64> {
        Task::from_result(x)
    }

    async fn outer_async_fn(x: u64) -> u64 {
        inner_async_fn(x).await + 1
    }
    async fn outer_ready(x: u64) -> u64 {
        inner_ready(x).await + 1
    }
    async fn outer_value_task(x: u64) -> u64 {
        inner_value_task(x).await + 1
    }
    async fn outer_task(x: u64) -> u64 {
        inner_task(x).await.unwrap() + 1
    }

    Scenario::new(
        "a",
        "ready result awaited in an async fn",
        vec![
            Implementation::new("async fn", |x| run_ready(outer_async_fn(x))),
            Implementation::new("futures::future::ready", |x| run_ready(outer_ready(x))),
            Implementation::new(VALUE_TASK_FROM_RESULT, |x| run_ready(outer_value_task(x))),
            Implementation::new("Task::from_result", |x| run_ready(outer_task(x))),
        ],
        Some(Target::peer(VALUE_TASK_FROM_RESULT, 1.5)),
    )
}

/// (b) A completed shared result, set up once, awaited once more per operation: a clone of
/// a `Shared` (awaiting consumes it) against awaiting `&Task`.
fn completed_shared_awaited_again() -> Scenario {
    let shared: Shared<BoxFuture<'static, u64>> = futures::future::ready(7).boxed().shared();
    assert_eq!(run_ready(shared.clone()), 7);
    assert_eq!(shared.peek(), Some(&7), "the Shared future is complete");
    let task = Task::from_result(7u64);
    assert!(task.is_completed());

    Scenario::new(
        "b",
        "completed shared result awaited once more",
        vec![
            Implementation::new(FUTURES_SHARED, move |_| {
                let shared = &shared;
                run_ready(async { black_box(shared).clone().await })
            }),
            Implementation::new(VALUETASK_TASK, move |_| {
                let task = &task;
                run_ready(async { black_box(task).await.unwrap() })
            }),
        ],
        Some(Target::peer(VALUETASK_TASK, 0.5)),
    )
}

/// (c) Create a ready shared result, clone the handle, await both handles.
fn ready_shared_awaited_twice() -> Scenario {
    Scenario::new(
        "c",
        "create a ready shared result and await it from two handles",
        vec![
            Implementation::new(FUTURES_SHARED, |v| {
                run_ready(async move {
                    let s = futures::future::ready(v).shared();
                    let s2 = s.clone();
                    s.await + s2.await
                })
            }),
            Implementation::new(VALUETASK_TASK, |v| {
                run_ready(async move {
                    let t = Task::from_result(v);
                    let t2 = t.clone();
                    t.await.unwrap() + t2.await.unwrap()
                })
            }),
        ],
        Some(Target::peer(VALUETASK_TASK, 0.3)),
    )
}

/// (d) Create a one-shot completion, complete it, then await it (one poll: the value is
/// there before the await).
fn one_shot_completion() -> Scenario {
    Scenario::new(
        "d",
        "one-shot completion then await",
        vec![
            oneshot_cycle(),
            Implementation::new(TASK_COMPLETION_SOURCE, |v| {
                run_ready(async move {
                    let tcs = TaskCompletionSource::new();
                    let t = tcs.task();
                    tcs.set_result(v);
                    drop(tcs);
                    t.await.unwrap()
                })
            }),
        ],
        Some(Target::peer(TASK_COMPLETION_SOURCE, 0.9)),
    )
}

/// (d2) As (d), but the producing half outlives the await, as a producer that keeps its end
/// until it is done with the request: the awaited result is read while the source still
/// holds the task (a clone of `T`), and the source's drop frees it.
fn one_shot_completion_producer_outlives() -> Scenario {
    Scenario::new(
        "d2",
        "one-shot completion then await, the producer dropped after the await",
        vec![
            // `send` consumes a oneshot's sender: its shared block lives on in the receiver
            // and is freed when the receiver drops after the await, as the source's is here.
            oneshot_cycle(),
            Implementation::new(TASK_COMPLETION_SOURCE, |v| {
                run_ready(async move {
                    let tcs = TaskCompletionSource::new();
                    let t = tcs.task();
                    tcs.set_result(v);
                    let out = t.await.unwrap();
                    drop(tcs);
                    out
                })
            }),
        ],
        Some(Target::peer(TASK_COMPLETION_SOURCE, 0.9)),
    )
}

/// tokio's oneshot, created, completed and awaited: the peer of the reusable sources.
fn oneshot_cycle() -> Implementation {
    Implementation::new(TOKIO_ONESHOT, |v| {
        run_ready(async move {
            let (tx, rx) = tokio::sync::oneshot::channel();
            tx.send(v).unwrap();
            rx.await.unwrap()
        })
    })
}

/// The floor of a cycle that needs `n` atomic read-modify-writes: `n` compare-exchanges on
/// one uncontended word, each after a load of it, and nothing else. The reusable core shared
/// through `&self` does three per cycle (complete, take, reset: each may race another
/// thread). Completing needs one in any design (it races a second completion and the
/// awaiter's registration); taking could do without only with the value task as an
/// ownership ticket, and resetting only as a plain store that two racing resets can merge
/// into one version bump (see the README). A pooled slot needs one (complete: its consumer
/// is unique, so taking and recycling are plain stores).
fn atomic_rmw_floor(name: &'static str, n: u32) -> Implementation {
    let word = AtomicU64::new(0);
    Implementation::new(name, move |v| {
        let word = black_box(&word);
        for _ in 0..n {
            // As the library's lock takes its bit: a weak compare-exchange, Acquire.
            let cur = word.load(Ordering::Acquire);
            let _ = word.compare_exchange_weak(
                cur,
                cur.wrapping_add(v),
                Ordering::Acquire,
                Ordering::Acquire,
            );
        }
        v
    })
}

/// (e) One complete → await → reset cycle of a core embedded in a long-lived object.
fn reused_core_cycle() -> Scenario {
    let core = ManualResetValueTaskSourceCore::<u64>::new();
    Scenario::new(
        "e",
        "one complete -> await cycle on the same thread: reused core",
        vec![
            oneshot_cycle(),
            // The same shape as the peer's row: the cycle in an `async` block, awaited as
            // an `async fn` awaits. (Polled by `run_ready(vt)` directly, the poll was a call
            // of a `run_ready` shared with (f), one function for every kind of value task.)
            Implementation::new(REUSED_CORE, move |v| {
                let core = black_box(&core);
                run_ready(async move {
                    let vt = core.value_task();
                    core.set_result(v);
                    let out = vt.await.unwrap();
                    core.reset();
                    out
                })
            }),
            atomic_rmw_floor(FLOOR_3_RMWS, 3),
        ],
        Some(Target::row_plus(REUSED_CORE, FLOOR_3_RMWS, 0.25)),
    )
}

/// (f) One rent → complete → await cycle of a pooled completion (the slot returns to the
/// pool when the value task yields).
fn pooled_source_cycle() -> Scenario {
    let pool = CompletionPool::<u64>::new();
    Scenario::new(
        POOLED_SOURCE_SCENARIO,
        "one complete -> await cycle on the same thread: pooled source",
        vec![
            oneshot_cycle(),
            // As the peer's row and (e): the cycle in an `async` block.
            Implementation::new(POOLED_SOURCE, move |v| {
                let pool = black_box(&pool);
                run_ready(async move {
                    let (vt, completer) = pool.rent();
                    completer.set_result(v);
                    vt.await.unwrap()
                })
            }),
            atomic_rmw_floor(FLOOR_1_RMW, 1),
        ],
        Some(Target::row_plus(POOLED_SOURCE, FLOOR_1_RMW, 0.12)),
    )
}

/// (g) The producer on another thread: poll the receiving half once (it registers its
/// waker), hand the producing half to a worker thread that spins on a one-slot mailbox, wait
/// (spinning) until the worker has completed it, and poll again: the same for every
/// implementation, and nobody polls while the producer works. Neither thread sleeps, so the
/// row measures the completion crossing cores, not a thread wake-up.
fn cross_thread_cycle() -> Scenario {
    let mut oneshot = SpinWorker::new(|(tx, v): (tokio::sync::oneshot::Sender<u64>, u64)| {
        let _ = tx.send(v);
    });
    let core = Arc::new(ManualResetValueTaskSourceCore::<u64>::new());
    let mut core_worker = {
        let core = Arc::clone(&core);
        SpinWorker::new(move |v: u64| core.set_result(v))
    };
    let pool = CompletionPool::<u64>::new();
    let mut pool_worker = SpinWorker::new(|(c, v): (Completer<u64>, u64)| c.set_result(v));
    Scenario::new(
        "g",
        "one complete -> await cycle, producer on another thread",
        vec![
            Implementation::new(TOKIO_ONESHOT, move |v| {
                let (tx, rx) = tokio::sync::oneshot::channel();
                poll_around(rx, || {
                    oneshot.send((tx, v));
                    oneshot.wait_until_done();
                })
                .unwrap()
            }),
            Implementation::new(REUSED_CORE, move |v| {
                let vt = core.value_task();
                let out = poll_around(vt, || {
                    core_worker.send(v);
                    core_worker.wait_until_done();
                })
                .unwrap();
                core.reset();
                out
            }),
            Implementation::new(POOLED_SOURCE, move |v| {
                let (vt, completer) = pool.rent();
                poll_around(vt, || {
                    pool_worker.send((completer, v));
                    pool_worker.wait_until_done();
                })
                .unwrap()
            }),
        ],
        None,
    )
}

/// An implementation whose operation awaits `$call` in an `async` block (`$k` is the
/// operation's input) driven by `$drive`, as a caller awaits it: the value or future the call
/// returns goes straight into the block's state.
macro_rules! awaited {
    ($name:expr, $drive:path, |$k:ident| $call:expr) => {
        Implementation::new($name, move |$k| $drive(async { $call.await }))
    };
}

/// The three `dyn` services over one backend. Each box passes through `black_box` once, so
/// the compiler cannot see which type is behind it (every call stays dynamic) and the calls
/// pay no per-operation `black_box`.
fn services() -> (
    Box<dyn BoxedService>,
    Box<dyn StackService>,
    Box<dyn PooledService>,
) {
    (
        black_box::<Box<dyn BoxedService>>(Box::new(Backend { offset: 1 })),
        black_box::<Box<dyn StackService>>(Box::new(Backend { offset: 1 })),
        black_box::<Box<dyn PooledService>>(Box::new(Backend { offset: 1 })),
    )
}

/// (h) A `dyn` trait method whose body completes without suspending (it has no `.await`),
/// awaited in an `async` block as callers do. The floor row is the same body as a plain
/// method returning `u64`: what any `dyn` call costs here.
fn dyn_call_ready_vs_async_trait() -> Scenario {
    let (boxed, stack, pooled) = services();
    Scenario::new(
        "h",
        "dyn async trait call, a body with no .await (completes synchronously)",
        vec![
            awaited!(ASYNC_TRAIT, run_ready, |k| boxed.ready(k)),
            awaited!(STACK_FUTURE, run_ready, |k| stack.ready(k)),
            awaited!(VALUE_TASK_ATTR, run_ready, |k| pooled.ready(k)),
            {
                let plain = black_box::<Box<dyn PlainService>>(Box::new(Backend { offset: 1 }));
                Implementation::new("floor: plain dyn fn", move |k| {
                    run_ready(async { plain.ready(k) })
                })
            },
        ],
        Some(Target::peer(VALUE_TASK_ATTR, 0.25)),
    )
}

/// (h3) The call of (h), awaited in an `async` block that is polled out of line, as an
/// executor polls a task: the returned value goes through the block's stored state.
fn dyn_call_ready_polled_out_of_line() -> Scenario {
    let (boxed, stack, pooled) = services();
    Scenario::new(
        "h3",
        "dyn async trait call, a body with no .await, caller polled out of line",
        vec![
            awaited!(ASYNC_TRAIT, run_ready_out_of_line, |k| boxed.ready(k)),
            awaited!(STACK_FUTURE, run_ready_out_of_line, |k| stack.ready(k)),
            awaited!(VALUE_TASK_ATTR, run_ready_out_of_line, |k| pooled.ready(k)),
        ],
        None,
    )
}

/// (h2) A `dyn` trait method whose body could suspend but completes without suspending (a
/// cache hit): `#[value_task]` starts it in pooled storage and hands the block back at once.
fn dyn_call_could_suspend_but_does_not() -> Scenario {
    let (boxed, stack, pooled) = services();
    Scenario::new(
        "h2",
        "dyn async trait call that could suspend, completing synchronously",
        vec![
            awaited!(ASYNC_TRAIT, run_ready, |k| boxed.cache_hit(k)),
            awaited!(STACK_FUTURE, run_ready, |k| stack.cache_hit(k)),
            awaited!(VALUE_TASK_ATTR, run_ready, |k| pooled.cache_hit(k)),
        ],
        None,
    )
}

/// An implementation whose batch is one long-lived `async` block, driven by `$drive`, that
/// awaits `$call` once per operation (`$k` is the operation's input), as a service's task
/// awaits calls in a loop: the value or future each call returns goes into the block's state,
/// which lives in memory across the block's suspensions, never in registers.
macro_rules! awaited_in_a_loop {
    ($name:expr, $drive:path, |$k:ident| $call:expr) => {
        Implementation::batched($name, move |n| {
            $drive(async {
                let mut sum = 0u64;
                for $k in 0..n {
                    let $k = black_box($k);
                    sum = sum.wrapping_add($call.await);
                }
                sum
            })
        })
    };
}

/// (h4) The call of (h), awaited in a task's loop (see [`awaited_in_a_loop`]).
fn dyn_call_ready_in_a_tasks_loop() -> Scenario {
    let (boxed, stack, pooled) = services();
    Scenario::new(
        "h4",
        "dyn async trait call, a body with no .await, awaited in a task's loop",
        vec![
            awaited_in_a_loop!(ASYNC_TRAIT, run_ready, |k| boxed.ready(k)),
            awaited_in_a_loop!(STACK_FUTURE, run_ready, |k| stack.ready(k)),
            awaited_in_a_loop!(VALUE_TASK_ATTR, run_ready, |k| pooled.ready(k)),
        ],
        None,
    )
}

/// (i) The same call as (h), with `StackFuture` as the peer.
fn dyn_call_ready_vs_stackfuture() -> Scenario {
    let (_, stack, pooled) = services();
    Scenario::new(
        "i",
        "dyn async trait call, a body with no .await, against StackFuture",
        vec![
            awaited!(STACK_FUTURE, run_ready, |k| stack.ready(k)),
            awaited!(VALUE_TASK_ATTR, run_ready, |k| pooled.ready(k)),
        ],
        Some(Target::peer(VALUE_TASK_ATTR, 1.0)),
    )
}

/// (j) A `dyn` trait method that suspends once and is resumed.
fn dyn_call_suspending() -> Scenario {
    let (boxed, stack, pooled) = services();
    Scenario::new(
        "j",
        "dyn async trait call suspending once (a yield)",
        vec![
            awaited!(ASYNC_TRAIT, poll_to_completion, |k| boxed.suspending(k)),
            awaited!(STACK_FUTURE, poll_to_completion, |k| stack.suspending(k)),
            awaited!(VALUE_TASK_ATTR, poll_to_completion, |k| pooled
                .suspending(k)),
        ],
        Some(Target::peer(VALUE_TASK_ATTR, 0.6)),
    )
}

/// (j2) The call of (j), awaited in a task's loop (see [`awaited_in_a_loop`]): every
/// operation suspends the whole block once, back to the driver.
fn dyn_call_suspending_in_a_tasks_loop() -> Scenario {
    let (boxed, stack, pooled) = services();
    Scenario::new(
        "j2",
        "dyn async trait call suspending once (a yield), awaited in a task's loop",
        vec![
            awaited_in_a_loop!(ASYNC_TRAIT, poll_to_completion, |k| boxed.suspending(k)),
            awaited_in_a_loop!(STACK_FUTURE, poll_to_completion, |k| stack.suspending(k)),
            awaited_in_a_loop!(VALUE_TASK_ATTR, poll_to_completion, |k| pooled
                .suspending(k)),
        ],
        None,
    )
}

/// (s) The call of (k), counted by the `stats` advisor (a bench built with `--features
/// stats`), against what the same `#[value_task]` function expands to without the count.
#[cfg(feature = "stats")]
fn counted_static_call_ready() -> Scenario {
    Scenario::new(
        "s",
        "static #[value_task] call completing synchronously, counted by the stats advisor",
        vec![
            awaited!("uncounted", run_ready, |x| free::pooled_uncounted(x)),
            awaited!(VALUE_TASK_ATTR, run_ready, |x| free::pooled(x)),
        ],
        // No target: the count is one increment of a per-thread counter in memory, and calls
        // back to back wait on the previous call's increment (a store-to-load dependency of
        // a few cycles), which is the cost this row shows; real calls do more in between.
        None,
    )
}

/// (k) A free `async fn` completing synchronously, called statically.
fn static_call_ready() -> Scenario {
    Scenario::new(
        "k",
        "static async fn call completing synchronously",
        vec![
            awaited!("async fn", run_ready, |x| free::plain(x)),
            awaited!(VALUE_TASK_ATTR, run_ready, |x| free::pooled(x)),
        ],
        Some(Target::peer(VALUE_TASK_ATTR, 1.5)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The peer's name goes where the ceiling is a multiple of it, so a line reads as a
    /// sentence in every form.
    #[test]
    fn a_target_describes_its_ceiling_with_the_peer_where_it_reads_right() {
        let peer = "futures Shared";
        assert_eq!(
            Target::peer("x", 0.5).describe(peer),
            "0.50× futures Shared"
        );
        assert_eq!(
            Target::row_plus("x", "floor", 0.12).describe(peer),
            "\"floor\" + 0.12× futures Shared"
        );
        assert_eq!(
            Target::peer_or_row_times("x", 0.5, "slot", 1.1).describe(peer),
            "0.50× futures Shared or 1.10× \"slot\""
        );
    }

    #[test]
    fn only_must_name_scenarios_that_exist() {
        let scenarios = ["a", "n16"]
            .map(|id| Scenario::new(id, "test", vec![Implementation::new("peer", |x| x)], None));
        let only = |ids: &[&str]| ids.iter().map(|id| id.to_string()).collect::<Vec<_>>();
        assert_eq!(check_only(&only(&[]), &scenarios), Ok(()));
        assert_eq!(check_only(&only(&["n16", "a"]), &scenarios), Ok(()));
        assert_eq!(
            check_only(&only(&["a", "n17", "zz"]), &scenarios),
            Err("--only names no scenario `n17`, `zz`; the scenarios are a, n16".to_string())
        );
    }
}
