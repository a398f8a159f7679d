//! The `stats` advisor counts each `#[value_task]` method's synchronous and suspended calls,
//! per thread, and reports them merged with the advice their shares give.
#![cfg(feature = "stats")]

use std::sync::{Barrier, Mutex};

use valuetask::stats::{self, Advice, MethodStats};
use valuetask::{value_task, LocalValueTask, ValueTask};

/// `reset` and `report` see every thread's calls: the tests that count take turns.
static SERIAL: Mutex<()> = Mutex::new(());

#[value_task]
trait Lookup: Send + Sync {
    /// Completes synchronously unless `n` is a multiple of `every`.
    async fn get(&self, n: u64, every: u64) -> u64;
    async fn default_body(&self, n: u64) -> u64 {
        self.get(n, 1).await
    }
}

struct Cache;

#[value_task]
impl Lookup for Cache {
    async fn get(&self, n: u64, every: u64) -> u64 {
        if n % every == 0 {
            valuetask::yield_now().await;
        }
        n
    }
}

/// A second trait with a method of the same name on the same type: a row of its own.
#[value_task]
trait Remote: Send + Sync {
    async fn get(&self, n: u64, every: u64) -> u64;
}

#[value_task]
impl Remote for Cache {
    async fn get(&self, n: u64, _every: u64) -> u64 {
        valuetask::yield_now().await;
        n
    }
}

/// Completes synchronously on 95 of every 100 calls.
#[value_task]
async fn mostly_hits(n: u64) -> u64 {
    if n % 100 < 5 {
        valuetask::yield_now().await;
    }
    n
}

/// Completes synchronously on 10 of every 100 calls.
#[value_task]
async fn mostly_misses(n: u64) -> u64 {
    if n % 100 >= 10 {
        valuetask::yield_now().await;
    }
    n
}

/// Never suspends: the expansion runs it as a closure, still counted.
#[value_task]
async fn never_suspends(n: u64) -> u64 {
    n + 1
}

/// Boxed bodies start at the call too: counted.
#[value_task(boxed)]
async fn boxed_is_counted(n: u64) -> u64 {
    if n % 2 == 0 {
        valuetask::yield_now().await;
    }
    n
}

/// Lazy bodies have not run at the call: not counted.
#[value_task(lazy)]
async fn lazy_is_not_counted(n: u64) -> u64 {
    n
}

/// A result of 256 bytes, synchronous on 95 of every 100 calls.
#[value_task]
async fn large_result(n: u64) -> [u64; 32] {
    if n % 100 < 5 {
        valuetask::yield_now().await;
    }
    [n; 32]
}

/// A result of exactly `LARGE_RESULT_BYTES`, always synchronous.
#[value_task]
async fn result_at_the_limit(n: u64) -> [u64; 8] {
    [n; 8]
}

fn name(item: &str) -> String {
    format!("{}::{item}", module_path!())
}

#[test]
fn counts_shares_and_advice_across_two_threads_exactly() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    stats::reset();
    // Spawned and joined explicitly: `join` waits for the thread's thread-local destructors
    // (its counts handed over at exit), which a scope's implicit join does not.
    let barrier = std::sync::Arc::new(Barrier::new(2));
    let threads: Vec<_> = (0..2u64)
        .map(|t| {
            let barrier = std::sync::Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                for n in 0..500u64 {
                    let n = t * 500 + n;
                    assert_eq!(mostly_hits(n).get_result(), n);
                    assert_eq!(mostly_misses(n).get_result(), n);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let report = stats::report();
    let hits = report.method(&name("mostly_hits")).expect("counted");
    assert_eq!((hits.synchronous, hits.suspended), (950, 50));
    assert_eq!(hits.synchronous_share(), 0.95);
    assert_eq!(hits.advice(), Advice::KeepMostlySynchronous);
    assert_eq!(
        hits.advice().reason(hits),
        "keep ValueTask: 95% synchronous (no allocation, no future kept; a Task would take a shared cell on every call)"
    );
    let misses = report.method(&name("mostly_misses")).expect("counted");
    assert_eq!((misses.synchronous, misses.suspended), (100, 900));
    assert_eq!(misses.synchronous_share(), 0.1);
    assert_eq!(misses.advice(), Advice::MostlySuspends);
    assert_eq!(
        misses.advice().reason(misses),
        "suspends in 90% of calls: still no allocation in steady state (a suspending call continues in pooled storage), but a body that waits for another party's answer is polled once more than a boxed one and takes about its time; if callers share the result, return a Task"
    );
    // The threads exited: their counts were kept.
    assert_eq!(report.rows().len(), 2, "{report}");
    assert_eq!(report.rows()[0].calls(), 1000);
    let table = report.to_string();
    assert!(table.starts_with("method"), "{table}");
    assert!(table.contains(&name("mostly_hits")), "{table}");
    assert!(table.contains("95.0%"), "{table}");
}

#[test]
fn methods_are_named_by_type_or_trait_boxed_ones_counted_and_lazy_ones_not() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    stats::reset();
    let cache: &dyn Lookup = &Cache;
    for n in 1..=300 {
        assert_eq!(cache.get(n, 3).get_result(), n);
    }
    for n in 0..60 {
        assert_eq!(cache.default_body(n).get_result(), n);
        assert_eq!(never_suspends(n).get_result(), n + 1);
        assert_eq!(boxed_is_counted(n).get_result(), n);
        assert_eq!(lazy_is_not_counted(n).get_result(), n);
    }
    let report = stats::report();
    let get = report
        .method(&name("<Cache as Lookup>::get"))
        .expect("counted");
    // The default body's own `get` calls suspend every time (`every` = 1).
    assert_eq!((get.synchronous, get.suspended), (200, 160), "{report}");
    // `Remote::get` on the same type is a row of its own.
    let remote: &dyn Remote = &Cache;
    for n in 0..5 {
        assert_eq!(remote.get(n, 1).get_result(), n);
    }
    let report = stats::report();
    let get = report.method(&name("<Cache as Lookup>::get")).unwrap();
    assert_eq!((get.synchronous, get.suspended), (200, 160), "{report}");
    let other = report.method(&name("<Cache as Remote>::get")).unwrap();
    assert_eq!((other.synchronous, other.suspended), (0, 5), "{report}");
    assert_eq!(get.advice(), Advice::KeepPooled);
    // The default body only awaits `get` (`self.get(n, 1).await`), so it returns `get`'s
    // value task itself, which is pending at the call (its `yield_now` returned `Pending`
    // once): counted as suspended, as the inner `get` is.
    let default = report
        .method(&name("Lookup::default_body"))
        .expect("counted");
    assert_eq!((default.synchronous, default.suspended), (0, 60));
    assert_eq!(default.advice(), Advice::TooFewCalls);
    assert_eq!(
        default.advice().reason(default),
        "too few calls to tell (60 of the 100 needed)"
    );
    let closure = report.method(&name("never_suspends")).expect("counted");
    assert_eq!((closure.synchronous, closure.suspended), (60, 0));
    let boxed = report.method(&name("boxed_is_counted")).expect("counted");
    assert_eq!((boxed.synchronous, boxed.suspended), (30, 30));
    assert!(report.method(&name("lazy_is_not_counted")).is_none());
}

#[test]
fn reset_starts_a_new_measurement_and_own_call_sites_count_too() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for n in 0..10 {
        never_suspends(n).get_result();
    }
    stats::reset();
    assert!(stats::report().is_empty(), "{}", stats::report());
    fn mine(ready: bool) -> ValueTask<'static, u8> {
        let vt = if ready {
            ValueTask::from_result(1)
        } else {
            ValueTask::start(async {
                valuetask::yield_now().await;
                2
            })
        };
        valuetask::count!("mine", vt)
    }
    fn local() -> LocalValueTask<'static, u8> {
        valuetask::count!("local", LocalValueTask::from_result(3))
    }
    assert_eq!(mine(true).get_result(), 1);
    assert_eq!(mine(false).get_result(), 2);
    assert_eq!(local().get_result(), 3);
    let report = stats::report();
    let row = report.method(&name("mine")).unwrap();
    assert_eq!((row.synchronous, row.suspended), (1, 1));
    assert_eq!(report.method(&name("local")).unwrap().synchronous, 1);
    assert!(report.method(&name("never_suspends")).is_none());
}

/// A lazy value task at an own call site counts as suspended (nothing ran at the call); one
/// that stands for a completed source or task counts as synchronous, also when a method's
/// body only forwards it (and so returns it as its own).
#[test]
fn lazy_ones_count_as_suspended_and_completed_sources_as_synchronous() {
    use valuetask::{ManualResetValueTaskSourceCore, TaskCompletionSource, TaskError};
    struct Channel {
        core: ManualResetValueTaskSourceCore<u8>,
    }
    impl Channel {
        fn reply(&self) -> ValueTask<'_, Result<u8, TaskError>> {
            self.core.value_task()
        }
    }
    #[value_task]
    impl Channel {
        async fn receive(&self) -> Result<u8, TaskError> {
            self.reply().await
        }
    }

    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    stats::reset();
    for _ in 0..10 {
        let lazy = valuetask::count!("lazy_site", ValueTask::new(async { 1u8 }));
        assert_eq!(lazy.get_result(), 1);
    }
    let channel = Channel {
        core: ManualResetValueTaskSourceCore::new(),
    };
    for round in 0..10u8 {
        if round % 2 == 0 {
            channel.core.set_result(round);
            assert_eq!(channel.receive().get_result(), Ok(round));
        } else {
            let pending = channel.receive();
            channel.core.set_result(round);
            assert_eq!(pending.get_result(), Ok(round));
        }
        channel.core.reset();
    }
    let tcs = TaskCompletionSource::new();
    tcs.set_result(5u8);
    let done = valuetask::count!("task_site", ValueTask::from(tcs.task()));
    assert_eq!(done.get_result(), Ok(5));

    let report = stats::report();
    let lazy = report.method(&name("lazy_site")).unwrap();
    assert_eq!((lazy.synchronous, lazy.suspended), (0, 10), "{report}");
    let row = report.method(&name("Channel::receive")).unwrap();
    assert_eq!((row.synchronous, row.suspended), (5, 5), "{report}");
    assert_eq!(report.method(&name("task_site")).unwrap().synchronous, 1);
}

#[test]
fn a_result_over_the_large_result_size_gets_its_own_advice_when_calls_mostly_complete_at_once() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    assert_eq!(stats::LARGE_RESULT_BYTES, 64);
    stats::reset();
    for n in 0..200u64 {
        assert_eq!(large_result(n).get_result()[31], n);
        assert_eq!(result_at_the_limit(n).get_result()[7], n);
    }
    let report = stats::report();
    let large = report.method(&name("large_result")).expect("counted");
    assert_eq!(
        (large.synchronous, large.suspended, large.result_bytes),
        (190, 10, 256)
    );
    assert_eq!(large.advice(), Advice::LargeResult);
    assert_eq!(
        large.advice().reason(large),
        "measure: a 256-byte result of a call that completes at once is kept in a pooled block and copied out once when awaited; no allocation (95% synchronous), but such a call may take as much time as #[async_trait]'s or more; a Box<T> result costs one allocation a call"
    );
    let limit = report
        .method(&name("result_at_the_limit"))
        .expect("counted");
    assert_eq!(limit.result_bytes, 64);
    assert_eq!(
        limit.advice(),
        Advice::KeepMostlySynchronous,
        "64 bytes is not large"
    );
    let table = report.to_string();
    assert!(table.contains("measure: a 256-byte result"), "{table}");
    assert_eq!(Advice::LargeResult.to_string(), "large result: measure");
    // A method that mostly suspends returns its result as a box does: its share decides.
    let suspending = stats::MethodStats {
        name: "suspending",
        synchronous: 10,
        suspended: 190,
        result_bytes: 256,
    };
    assert_eq!(suspending.advice(), Advice::MostlySuspends);
}

/// The share is shown rounded down: a method just under a band's edge never reads as on it.
#[test]
fn the_share_in_the_advice_is_rounded_down_to_its_band() {
    let row = |synchronous| stats::MethodStats {
        name: "m",
        synchronous,
        suspended: 10_000 - synchronous,
        result_bytes: 8,
    };
    let just_under_90 = row(8_996);
    assert_eq!(just_under_90.advice(), Advice::KeepPooled);
    assert!(
        just_under_90
            .advice()
            .reason(&just_under_90)
            .starts_with("keep ValueTask: 89% synchronous; the 11% that suspend"),
        "{}",
        just_under_90.advice().reason(&just_under_90)
    );
    let just_under_50 = row(4_970);
    assert_eq!(just_under_50.advice(), Advice::MostlySuspends);
    assert!(just_under_50
        .advice()
        .reason(&just_under_50)
        .starts_with("suspends in 51% of calls"));
}

/// Shares that floating point puts a hair under their value (29 of 100 is 0.28999..) read
/// as they are in the advice (the table computes its tenths the same way, in integers).
#[test]
fn exact_shares_read_exactly() {
    for (synchronous, advice_share) in [
        (29, "71% of calls"),
        (57, "57% synchronous"),
        (58, "58% synchronous"),
    ] {
        let row = stats::MethodStats {
            name: "m",
            synchronous,
            suspended: 100 - synchronous,
            result_bytes: 8,
        };
        let reason = row.advice().reason(&row);
        assert!(reason.contains(advice_share), "{synchronous}: {reason}");
    }
}

/// The table's share is rounded down too: a method with one suspended call in 10,000 reads
/// 99.9%, never 100.0%.
#[test]
fn the_share_in_the_table_is_rounded_down() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    stats::reset();
    let cache: &dyn Lookup = &Cache;
    for n in 1..=10_000 {
        assert_eq!(cache.get(n, 10_000).get_result(), n);
    }
    let report = stats::report();
    let get = report
        .method(&name("<Cache as Lookup>::get"))
        .expect("counted");
    assert_eq!((get.synchronous, get.suspended), (9_999, 1), "{report}");
    let table = report.to_string();
    assert!(table.contains("  99.9%  "), "{table}");
    assert!(!table.contains("100.0%"), "{table}");
}

/// The user's own `SITE` (a constant, a `let`) in a counted body means the user's: the
/// counter's static is not in the body's scope (with `stats` on, it was: a mismatched type,
/// and E0530 for the `let`).
mod names_of_the_counter_stay_out_of_bodies {
    use super::*;

    const SITE: &str = "https://example.com";

    pub struct Client;

    #[value_task]
    impl Client {
        pub async fn home(&self) -> usize {
            SITE.len()
        }
    }

    mod without_the_constant {
        pub struct Shadows;

        #[valuetask::value_task]
        impl Shadows {
            #[allow(non_snake_case)]
            pub async fn shadowed(&self) -> usize {
                let SITE = "x";
                valuetask::yield_now().await;
                SITE.len()
            }
        }
    }

    #[test]
    fn a_users_site_is_the_users() {
        assert_eq!(Client.home().get_result(), 19);
        assert_eq!(without_the_constant::Shadows.shadowed().get_result(), 1);
    }
}

#[value_task]
trait Load {
    async fn load(&self) -> u8;
}

struct Typed<T>(std::marker::PhantomData<T>);

#[value_task]
impl Load for Typed<u8> {
    async fn load(&self) -> u8 {
        1
    }
}

#[value_task]
impl Load for Typed<u16> {
    async fn load(&self) -> u8 {
        2
    }
}

#[value_task]
async fn made<T: Default + Send>() -> T {
    T::default()
}

/// Two impls of one trait for two instantiations of one type are two rows (the type is named
/// with its arguments); a generic function's result size is its largest instantiation's,
/// whichever was called first.
#[test]
fn instantiations_are_told_apart_by_type_and_a_generic_result_by_its_largest() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    stats::reset();
    for _ in 0..3 {
        assert_eq!(Typed::<u8>(std::marker::PhantomData).load().get_result(), 1);
    }
    for _ in 0..5 {
        assert_eq!(
            Typed::<u16>(std::marker::PhantomData).load().get_result(),
            2
        );
    }
    for _ in 0..100 {
        assert_eq!(made::<u8>().get_result(), 0);
    }
    for _ in 0..100 {
        assert_eq!(made::<[u64; 32]>().get_result(), [0; 32]);
    }
    let report = stats::report();
    let small = report.method(&name("<Typed<u8> as Load>::load"));
    assert_eq!(small.map(MethodStats::calls), Some(3), "{report}");
    let wide = report.method(&name("<Typed<u16> as Load>::load"));
    assert_eq!(wide.map(MethodStats::calls), Some(5), "{report}");
    let made = report.method(&name("made")).expect("counted");
    assert_eq!(made.calls(), 200);
    assert_eq!(made.result_bytes, 256, "{report}");
    assert_eq!(made.advice(), Advice::LargeResult);
}
