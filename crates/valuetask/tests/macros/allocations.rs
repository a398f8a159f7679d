//! `#[value_task]` allocation counts: a `dyn` call that completes synchronously and one that
//! suspends once, in steady state; futures dropped on another thread are not leaked.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{allocations_during, drive, now, yield_once};
use valuetask::{value_task, ValueTask};

#[value_task]
trait Service: Send + Sync {
    async fn cached(&self, key: u64) -> u64;
    async fn cache_hit(&self, key: u64) -> u64;
    async fn suspending(&self, key: u64) -> u64;
}

struct Backend {
    /// A future large enough to need a bigger size class than the smallest.
    padding: [u64; 4],
}

#[value_task]
impl Service for Backend {
    async fn cached(&self, key: u64) -> u64 {
        key + self.padding[0]
    }
    /// Has an `.await` (so it runs as a future), on a path the tests never take.
    async fn cache_hit(&self, key: u64) -> u64 {
        if key == u64::MAX {
            yield_once().await;
        }
        key + self.padding[2]
    }
    async fn suspending(&self, key: u64) -> u64 {
        let scratch = [key; 16];
        yield_once().await;
        scratch.iter().sum::<u64>() + self.padding[1]
    }
}

#[test]
fn a_dyn_call_completing_synchronously_allocates_nothing_after_warm_up() {
    let svc: &dyn Service = &Backend { padding: [0; 4] };
    now(svc.cached(0));
    let (sum, allocs) = allocations_during(|| (0..10_000).map(|i| now(svc.cached(i))).sum::<u64>());
    assert_eq!(sum, (0..10_000).sum::<u64>());
    assert_eq!(allocs, 0);
}

#[test]
fn a_dyn_call_that_could_suspend_but_completes_at_once_allocates_nothing_after_warm_up() {
    let svc: &dyn Service = &Backend { padding: [0; 4] };
    let vt = svc.cache_hit(0);
    assert!(
        vt.is_completed(),
        "started at the call, finished in its first poll"
    );
    now(vt);
    let (sum, allocs) =
        allocations_during(|| (0..10_000).map(|i| now(svc.cache_hit(i))).sum::<u64>());
    assert_eq!(sum, (0..10_000).sum::<u64>());
    assert_eq!(allocs, 0);
}

#[test]
fn a_dyn_call_suspending_once_allocates_nothing_after_warm_up() {
    let svc: &dyn Service = &Backend { padding: [0; 4] };
    drive(svc.suspending(0));
    let (sum, allocs) =
        allocations_during(|| (0..10_000).map(|i| drive(svc.suspending(i))).sum::<u64>());
    assert_eq!(sum, (0..10_000u64).map(|i| i * 16).sum::<u64>());
    assert_eq!(allocs, 0);
}

#[test]
fn a_static_call_completing_synchronously_allocates_nothing_after_warm_up() {
    #[value_task]
    async fn double(x: u64) -> u64 {
        x * 2
    }
    now(double(1));
    let (sum, allocs) = allocations_during(|| (0..10_000).map(|i| now(double(i))).sum::<u64>());
    assert_eq!(sum, (0..10_000u64).map(|i| i * 2).sum::<u64>());
    assert_eq!(allocs, 0);
}

/// Counts live futures: incremented when made, decremented when dropped.
struct Live(Arc<AtomicUsize>);

impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[value_task]
async fn hold(live: Live) -> usize {
    yield_once().await;
    live.0.load(Ordering::SeqCst)
}

#[test]
fn futures_polled_on_one_thread_and_dropped_or_finished_on_another_are_not_leaked() {
    let live = Arc::new(AtomicUsize::new(0));
    let rounds = 2_000;
    let (tx, rx) = std::sync::mpsc::channel::<ValueTask<'static, usize>>();
    let consumer = std::thread::spawn(move || {
        let mut finished = 0;
        for (i, mut vt) in rx.into_iter().enumerate() {
            // Half are finished over there, half dropped while pending.
            if i % 2 == 0 {
                drive(&mut vt);
                finished += 1;
            }
            drop(vt);
        }
        finished
    });
    for _ in 0..rounds {
        live.fetch_add(1, Ordering::SeqCst);
        // Started here (a `#[value_task]` fn runs to its first suspension at the call), then
        // handed to the other thread.
        let vt = hold(Live(live.clone()));
        tx.send(vt).unwrap();
    }
    drop(tx);
    assert_eq!(consumer.join().unwrap(), rounds / 2);
    assert_eq!(
        live.load(Ordering::SeqCst),
        0,
        "every future was dropped exactly once"
    );
}
