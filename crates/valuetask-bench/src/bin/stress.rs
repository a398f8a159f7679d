//! A long randomized run across threads, with a lost-wake-up watchdog:
//!
//! ```sh
//! cargo run --release -p valuetask-bench --bin stress -- --seconds 10 --threads 2
//! ```
//!
//! Worker threads hammer shared `Task`s (completed, faulted, canceled through a token or
//! abandoned, on random threads, awaited by several tokio tasks, directly, through a
//! `#[value_task]` call or a `when_each` stream, and blocked on by plain threads), a
//! `CompletionPool` (rented on one thread, completed or dropped on another; a
//! completer waiting in `closed` while its value task is dropped elsewhere) and
//! `#[value_task]` calls that suspend on such completions. Every awaiter is registered with a
//! watchdog: one still pending a second after its producer completed is a lost wake-up, and
//! fails the run naming its kind. At the end, every value made was dropped exactly once (a
//! count of live `Tracked` values), every await saw the outcome its producer chose, and the
//! heap is back at its baseline, but for what the future pool may keep by design.

use std::future::Future;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{
    AtomicBool, AtomicI64, AtomicU64,
    Ordering::{Acquire, Relaxed, Release},
};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use valuetask::{value_task, CompletionPool, Task, TaskCompletionSource, TaskError};

/// Live heap bytes of the process.
#[global_allocator]
static ALLOC: alloc_count::CountingAllocator = alloc_count::CountingAllocator::PROCESS;

/// What the future pool may keep after every thread that used it has exited: its shared
/// lists hold up to 64 KiB per size class, 7 classes (see `#[value_task]`'s docs), or what
/// `VALUETASK_POOL_SHARED_BYTES` sets per class (a whole number of bytes, read as the pool
/// reads it; anything else leaves the default).
fn pool_retention() -> i64 {
    const CLASSES: i64 = 7;
    let per_class = std::env::var("VALUETASK_POOL_SHARED_BYTES")
        .ok()
        .map(|value| value.trim().to_owned())
        .filter(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .map_or(64 * 1024, |digits| {
            digits.parse::<i64>().unwrap_or(i64::MAX)
        });
    per_class.saturating_mul(CLASSES)
}
/// An awaiter still pending this long after its producer completed lost its wake-up.
const LOST_AFTER: Duration = Duration::from_secs(1);
/// A run still going this long past its deadline is stuck: a round blocked before anything
/// of it was marked complete (a deadlock, a wake-up lost ahead of the producer's mark).
const STUCK_AFTER: Duration = Duration::from_secs(30);

/// How often the progress goes to a stderr that is not a terminal, as a line of its own.
const LOG_EVERY: Duration = Duration::from_secs(5);

/// A value whose drops are counted: live values must come back to zero.
#[derive(Debug, PartialEq)]
struct Tracked(u64);

static TRACKED_LIVE: AtomicI64 = AtomicI64::new(0);

impl Tracked {
    fn new(v: u64) -> Self {
        TRACKED_LIVE.fetch_add(1, Relaxed);
        Tracked(v)
    }
}

impl Clone for Tracked {
    fn clone(&self) -> Self {
        Tracked::new(self.0)
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        TRACKED_LIVE.fetch_sub(1, Relaxed);
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    SharedTask,
    BlockingWait,
    Pool,
    ValueTaskCall,
    /// A pooled completer waiting for its value task to be dropped (`closed`).
    PoolClosed,
    /// A `Task::when_each` stream over the shared task and one completed already.
    WhenEach,
}

const KINDS: [Kind; 6] = [
    Kind::SharedTask,
    Kind::BlockingWait,
    Kind::Pool,
    Kind::ValueTaskCall,
    Kind::PoolClosed,
    Kind::WhenEach,
];

/// One awaiter the watchdog follows: when its producer completed, and whether it has seen it.
struct Watched {
    kind: Kind,
    completed_at: AtomicU64,
    observed: AtomicBool,
}

impl Watched {
    /// Stamp the completion (the first one counts), `start` being the watchdog's.
    fn completed_since(&self, start: Instant) {
        let now = start.elapsed().as_nanos().max(1) as u64;
        let _ = self.completed_at.compare_exchange(0, now, Relaxed, Relaxed);
    }
}

struct Watchdog {
    start: Instant,
    pending: Mutex<Vec<Arc<Watched>>>,
    ops: [AtomicU64; KINDS.len()],
}

impl Watchdog {
    fn watch(&self, kind: Kind) -> Arc<Watched> {
        let w = Arc::new(Watched {
            kind,
            completed_at: AtomicU64::new(0),
            observed: AtomicBool::new(false),
        });
        self.pending.lock().unwrap().push(w.clone());
        w
    }

    fn completed(&self, w: &Watched) {
        w.completed_since(self.start);
    }

    fn observed(&self, w: &Watched) {
        w.observed.store(true, Relaxed);
        self.ops[w.kind as usize].fetch_add(1, Relaxed);
    }

    /// The kind of an awaiter that lost its wake-up, if any; forgets observed ones.
    fn check(&self) -> Option<Kind> {
        let now = self.start.elapsed();
        let mut pending = self.pending.lock().unwrap();
        pending.retain(|w| !w.observed.load(Relaxed));
        pending.iter().find_map(|w| {
            let at = w.completed_at.load(Relaxed);
            (at != 0 && now.saturating_sub(Duration::from_nanos(at)) > LOST_AFTER).then_some(w.kind)
        })
    }
}

/// A small xorshift generator per worker.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What a producer does with its task.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Ending {
    Value(u64),
    Fault,
    Cancel,
    Abandon,
}

fn expected(ending: Ending, got: &Result<Tracked, TaskError>) -> bool {
    match (ending, got) {
        (Ending::Value(v), Ok(t)) => t.0 == v,
        (Ending::Fault, Err(TaskError::Faulted(_))) => true,
        (Ending::Cancel, Err(TaskError::Canceled)) => true,
        (Ending::Abandon, Err(TaskError::Abandoned)) => true,
        _ => false,
    }
}

fn finish(tcs: TaskCompletionSource<Tracked>, token: &CancellationToken, ending: Ending) {
    match ending {
        Ending::Value(v) => tcs.set_result(Tracked::new(v)),
        Ending::Fault => tcs.set_error(TaskError::faulted(std::io::Error::other("stress"))),
        Ending::Cancel => token.cancel(),
        Ending::Abandon => drop(tcs),
    }
}

/// A `#[value_task]` call that suspends on a task completed elsewhere.
struct Service;

#[value_task]
impl Service {
    async fn relay(&self, task: Task<Tracked>) -> Result<Tracked, TaskError> {
        task.await
    }
}

struct Config {
    seconds: u64,
    threads: usize,
}

fn parse() -> Config {
    use lexopt::prelude::*;
    let mut config = Config {
        seconds: 10,
        threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
    };
    let mut parser = lexopt::Parser::from_env();
    loop {
        let arg = match parser.next() {
            Ok(Some(arg)) => arg,
            Ok(None) => break,
            Err(e) => fail(&e.to_string()),
        };
        match arg {
            Long("seconds") => config.seconds = positive(&mut parser, "--seconds"),
            Long("threads") => config.threads = positive(&mut parser, "--threads") as usize,
            Short('h') | Long("help") => {
                println!("usage: stress [--seconds N] [--threads K]   (defaults: 10 s, all cores)");
                std::process::exit(0);
            }
            other => fail(&other.unexpected().to_string()),
        }
    }
    config
}

/// The option's value, a positive number, or the run stops with a message naming `name`.
fn positive(parser: &mut lexopt::Parser, name: &str) -> u64 {
    let value = parser.value().unwrap_or_else(|e| fail(&e.to_string()));
    let raw = value.to_string_lossy();
    raw.parse()
        .ok()
        .filter(|&n| n > 0)
        .unwrap_or_else(|| fail(&format!("`{name} {raw}`: expected a positive number")))
}

fn fail(message: &str) -> ! {
    eprintln!("stress: {message}");
    std::process::exit(2);
}

fn main() {
    let config = parse();
    let baseline = alloc_count::process_counts().live;
    let watchdog = Arc::new(Watchdog {
        start: Instant::now(),
        pending: Mutex::new(Vec::new()),
        ops: Default::default(),
    });
    let deadline = Instant::now() + Duration::from_secs(config.seconds);
    let mismatches = Arc::new(AtomicU64::new(0));
    let lost = Arc::new(Mutex::new(None::<Kind>));
    let workers_panicked = Mutex::new(0_usize);

    {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.threads)
            .enable_all()
            .build()
            .expect("cannot start tokio");
        let pool = CompletionPool::<Tracked>::new();
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            // The watchdog and the progress line.
            s.spawn(|| {
                let terminal = std::io::stderr().is_terminal();
                let mut last_line = Instant::now();
                while !stop.load(Relaxed) {
                    std::thread::sleep(Duration::from_millis(100));
                    if let Some(kind) = watchdog.check() {
                        *lost.lock().unwrap() = Some(kind);
                        eprintln!("\nstress: an awaiter of kind {kind:?} is still pending {LOST_AFTER:?} after its producer completed: a lost wake-up");
                        std::process::exit(1);
                    }
                    if Instant::now() > deadline + STUCK_AFTER {
                        eprintln!("\nstress: still running {STUCK_AFTER:?} past the deadline: a round is stuck (a deadlock, or a wake-up lost before its producer marked it)");
                        std::process::exit(1);
                    }
                    let done: u64 = watchdog.ops.iter().map(|o| o.load(Relaxed)).sum();
                    let left = deadline.saturating_duration_since(Instant::now()).as_secs();
                    if terminal {
                        // One line, rewritten in place.
                        eprint!("\rstress: {done} operations, {left} s left   ");
                        let _ = std::io::stderr().flush();
                    } else if last_line.elapsed() >= LOG_EVERY {
                        // A log (CI): a line every few seconds, not a carriage-return stream.
                        eprintln!("stress: {done} operations, {left} s left");
                        last_line = Instant::now();
                    }
                }
            });
            let workers: Vec<_> = (0..config.threads)
                .map(|t| {
                    let (watchdog, mismatches, pool, handle) =
                        (&watchdog, &mismatches, &pool, runtime.handle().clone());
                    s.spawn(move || {
                        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (t as u64 + 1));
                        while Instant::now() < deadline {
                            round(&mut rng, watchdog, mismatches, pool, &handle);
                        }
                    })
                })
                .collect();
            // A worker's panic (its message printed by the panic hook) ends the run: the
            // watchdog is stopped so the scope can end, and the run fails below.
            let panicked = workers
                .into_iter()
                .map(|w| usize::from(w.join().is_err()))
                .sum::<usize>();
            *workers_panicked.lock().unwrap() = panicked;
            // Every awaiter has finished: nothing may be left pending.
            let wait_until = Instant::now() + LOST_AFTER * 2;
            while panicked == 0 && watchdog.check().is_none() && Instant::now() < wait_until {
                if watchdog.pending.lock().unwrap().is_empty() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            stop.store(true, Relaxed);
        });
        drop(pool);
        drop(runtime);
    }
    eprintln!();
    let seconds = watchdog.start.elapsed().as_secs_f64();
    let mut total = 0;
    for kind in KINDS {
        let n = watchdog.ops[kind as usize].load(Relaxed);
        total += n;
        println!(
            "{:<14} {:>12.0} ops/s",
            format!("{kind:?}"),
            n as f64 / seconds
        );
    }
    let left_pending = watchdog.pending.lock().unwrap().len();
    let live_values = TRACKED_LIVE.load(Relaxed);
    let mismatched = mismatches.load(Relaxed);
    // Give exiting threads' destructors (pool caches) a moment.
    std::thread::sleep(Duration::from_millis(50));
    let grown = alloc_count::process_counts().live - baseline;
    let retention = pool_retention();
    println!(
        "stress: {total} operations in {seconds:.1} s on {} threads; {left_pending} awaiters left pending; {mismatched} outcomes unlike their producer's; {live_values} values not dropped; heap {grown:+} bytes from baseline (the future pool may keep up to {retention})",
        config.threads
    );
    let panicked = *workers_panicked.lock().unwrap();
    if panicked > 0 {
        eprintln!("stress: {panicked} worker(s) panicked");
    }
    let ok = panicked == 0
        && left_pending == 0
        && mismatched == 0
        && live_values == 0
        && grown <= retention;
    if !ok || lost.lock().unwrap().is_some() {
        eprintln!("stress: FAILED");
        std::process::exit(1);
    }
}

/// One round: a shared task with awaiters of every kind, a pooled completion, and a pooled
/// completer waiting for its value task to go.
fn round(
    rng: &mut Rng,
    watchdog: &Watchdog,
    mismatches: &AtomicU64,
    pool: &CompletionPool<Tracked>,
    runtime: &tokio::runtime::Handle,
) {
    let ending = match rng.below(8) {
        0 => Ending::Fault,
        1 => Ending::Cancel,
        2 => Ending::Abandon,
        _ => Ending::Value(rng.next()),
    };
    let tcs = TaskCompletionSource::<Tracked>::new();
    let token = CancellationToken::new();
    tcs.cancel_on(token.clone());
    let task = tcs.task();

    // Awaiters: tokio tasks by value and through a #[value_task] call, a blocked thread.
    let mut joins = Vec::new();
    let mut watched = Vec::new();
    for i in 0..1 + rng.below(4) {
        let kind = match i % 3 {
            0 => Kind::SharedTask,
            1 => Kind::ValueTaskCall,
            _ => Kind::WhenEach,
        };
        let w = watchdog.watch(kind);
        watched.push(w.clone());
        let task = task.clone();
        joins.push(runtime.spawn(async move {
            let got = match kind {
                Kind::ValueTaskCall => Service.relay(task).await,
                Kind::WhenEach => {
                    // Complete at the call and first in input order: handed out first, then
                    // the shared task once it completes.
                    let done = Task::from_result(Tracked::new(0));
                    let mut each = Task::when_each([done.clone(), task]);
                    let first = each.next().await.expect("two inputs");
                    assert!(first.ptr_eq(&done), "the completed input first");
                    each.next().await.expect("two inputs").await
                }
                _ => task.await,
            };
            (w, got)
        }));
    }
    let blocking = watchdog.watch(Kind::BlockingWait);
    watched.push(blocking.clone());
    let waiter = {
        let task = task.clone();
        std::thread::spawn(move || {
            let got = task.wait().map(|t| Tracked::new(t.0)).map_err(Clone::clone);
            (blocking, got)
        })
    };

    // A pooled completion: completed (or dropped) on another thread, which stamps it, while
    // this one waits for it (or finds it done, when the producer wins).
    let (reply, completer) = pool.rent();
    let pooled = watchdog.watch(Kind::Pool);
    let pool_value = rng.next();
    let abandon = rng.below(8) == 0;
    let producer = {
        let pooled = pooled.clone();
        let task_producer = rng.below(2) == 0;
        let token_there = token.clone();
        let (tcs_here, tcs_there) = if task_producer {
            (None, Some(tcs))
        } else {
            (Some(tcs), None)
        };
        let start = watchdog.start;
        let handle = std::thread::spawn(move || {
            if let Some(tcs) = tcs_there {
                finish(tcs, &token_there, ending);
            }
            if abandon {
                drop(completer);
            } else {
                completer.set_result(Tracked::new(pool_value));
            }
            pooled.completed_since(start);
        });
        if let Some(tcs) = tcs_here {
            finish(tcs, &token, ending);
        }
        handle
    };
    let got = reply.get_result();
    producer.join().expect("the producer panicked");
    // A completer waiting on the runtime for its caller to leave, while this thread drops
    // the caller's value task.
    // In half the rounds the caller leaves only once the completer's wait has registered
    // (its first poll returned `Pending`): the register-then-wake path; else whenever the
    // runtime gets to it, most often after the caller left.
    let (left, mut waiting) = pool.rent();
    let closed = watchdog.watch(Kind::PoolClosed);
    let registered = Arc::new(AtomicBool::new(false));
    let after_registration = rng.below(2) == 0;
    let closing = {
        let closed = closed.clone();
        let registered = registered.clone();
        runtime.spawn(async move {
            {
                let mut wait = std::pin::pin!(waiting.closed());
                std::future::poll_fn(|cx| {
                    let poll = wait.as_mut().poll(cx);
                    if poll.is_pending() {
                        registered.store(true, Release);
                    }
                    poll
                })
                .await;
            }
            let handed_back = waiting.send(Tracked::new(0)).is_err();
            (closed, handed_back)
        })
    };
    if after_registration {
        // Bounded by the watchdog's `STUCK_AFTER`: the caller is still here, so the wait's
        // first poll is `Pending`.
        while !registered.load(Acquire) {
            std::thread::yield_now();
        }
    }
    drop(left);
    watchdog.completed(&closed);

    for w in &watched {
        watchdog.completed(w);
    }
    let pool_ok = match (&got, abandon) {
        (Ok(t), false) => t.0 == pool_value,
        (Err(TaskError::Abandoned), true) => true,
        _ => false,
    };
    if !pool_ok {
        mismatches.fetch_add(1, Relaxed);
    }
    watchdog.observed(&pooled);
    drop(got);

    for join in joins {
        let (w, got) = runtime.block_on(join).expect("an awaiting task panicked");
        if !expected(ending, &got) {
            mismatches.fetch_add(1, Relaxed);
        }
        watchdog.observed(&w);
    }
    // Observed in the order watched (the joins', the blocked thread's, then the completer's),
    // so that the first entry the watchdog finds pending too long is the stuck one: those
    // after it stay unobserved only because the round is stuck on it.
    let (w, got) = waiter.join().expect("the blocked thread panicked");
    if !expected(ending, &got) {
        mismatches.fetch_add(1, Relaxed);
    }
    watchdog.observed(&w);
    let (w, handed_back) = runtime
        .block_on(closing)
        .expect("a completer waiting for closed panicked");
    if !handed_back {
        mismatches.fetch_add(1, Relaxed);
    }
    watchdog.observed(&w);
}
