//! Calls through a `#[dyn_trait]` `dyn` form allocate nothing in steady state, ready or
//! suspending, `Send` or not (dynosaur boxes each).

use super::common::{allocations_during, drive, now, yield_once};
use std::future::Future;

use valuetask::dyn_trait;

#[dyn_trait(DynService = dyn Service)]
trait Service {
    async fn ready(&self, key: u64) -> u64;
    async fn suspending(&mut self, key: u64) -> u64;
    fn sent(&self, key: u64) -> impl Future<Output = u64> + Send;
}

struct Backend {
    /// A future large enough to need a bigger size class than the smallest.
    padding: [u64; 4],
}

impl Service for Backend {
    async fn ready(&self, key: u64) -> u64 {
        key + self.padding[0]
    }
    async fn suspending(&mut self, key: u64) -> u64 {
        let scratch = [key; 16];
        yield_once().await;
        self.padding[1] += 1;
        scratch.iter().sum::<u64>()
    }
    async fn sent(&self, key: u64) -> u64 {
        yield_once().await;
        key + self.padding[2]
    }
}

#[test]
fn a_ready_call_allocates_nothing_after_warm_up() {
    let backend = Backend { padding: [0; 4] };
    let service = DynService::from_ref(&backend);
    now(service.ready(0));
    let (sum, allocs) =
        allocations_during(|| (0..10_000).map(|i| now(service.ready(i))).sum::<u64>());
    assert_eq!(sum, (0..10_000).sum::<u64>());
    assert_eq!(allocs, 0);
}

#[test]
fn a_call_suspending_once_allocates_nothing_after_warm_up() {
    let mut service = DynService::new_box(Backend { padding: [0; 4] });
    drive(service.suspending(0));
    let (sum, allocs) = allocations_during(|| {
        (0..10_000)
            .map(|i| drive(service.suspending(i)))
            .sum::<u64>()
    });
    assert_eq!(sum, (0..10_000u64).map(|i| i * 16).sum::<u64>());
    assert_eq!(allocs, 0);
}

#[test]
fn a_send_call_suspending_once_allocates_nothing_after_warm_up() {
    let service = DynService::new_box(Backend { padding: [0; 4] });
    drive(service.sent(0));
    let (sum, allocs) =
        allocations_during(|| (0..10_000).map(|i| drive(service.sent(i))).sum::<u64>());
    assert_eq!(sum, (0..10_000).sum::<u64>());
    assert_eq!(allocs, 0);
}

// dynosaur's expansion needs its trait at module level (its module `use`s `super::*`, which
// does not see items inside a function); ours does not.
#[dynosaur::dynosaur(DynPeer = dyn(box) Peer)]
trait Peer {
    async fn ready(&self, key: u64) -> u64;
}

impl Peer for Backend {
    async fn ready(&self, key: u64) -> u64 {
        key + self.padding[0]
    }
}

/// The peer: dynosaur's `dyn` form allocates a box per call (so the counts above measure
/// something).
#[test]
fn dynosaurs_dyn_form_allocates_per_call() {
    let backend = Backend { padding: [0; 4] };
    let peer = DynPeer::from_ref(&backend);
    now(peer.ready(0));
    let (_, allocs) = allocations_during(|| (0..100).map(|i| now(peer.ready(i))).sum::<u64>());
    assert_eq!(allocs, 100);
}
