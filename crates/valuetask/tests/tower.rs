//! `valuetask::tower` against tower's own erasure: the same scenarios run through tower's
//! `BoxCloneService` (and kin) and through ours, and what a caller observes is compared;
//! allocations per request are counted on this thread (deterministic, so asserted).
#![cfg(feature = "tower")]

mod common;

use std::cell::Cell;
use std::convert::Infallible;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use common::{allocations_during, drive, yield_once, CountingAllocator};
use tower::util::{
    BoxCloneService as TowerBoxCloneService, BoxCloneSyncService as TowerBoxCloneSyncService,
    BoxService as TowerBoxService, UnsyncBoxService as TowerUnsyncBoxService,
};
use tower::{service_fn, Layer, Service, ServiceBuilder, ServiceExt};
use valuetask::tower::{
    BoxCloneService, BoxCloneServiceLayer, BoxCloneSyncService, BoxCloneSyncServiceLayer, BoxLayer,
    BoxService, UnsyncBoxService,
};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator::PER_THREAD;

type Error = &'static str;

/// The bench's stack: `map_request`, `map_response` and a handler, which answers at once or
/// after one suspension.
fn stack(
    suspends: bool,
) -> impl Service<u64, Response = u64, Error = Error, Future = impl Future + Send> + Clone + Send + Sync
{
    ServiceBuilder::new()
        .map_request(|n: u64| n + 1)
        .map_response(|n: u64| n * 2)
        .service(service_fn(move |n: u64| async move {
            if suspends {
                yield_once().await;
            }
            Ok::<u64, Error>(n)
        }))
}

/// `ready()` then `call(request)`, awaited, as a server's loop does.
fn request<S: Service<u64>>(service: &mut S, n: u64) -> Result<S::Response, S::Error> {
    drive(async move { service.ready().await?.call(n).await })
}

/// Allocations per request in steady state: the mean over 100 requests after a warm-up.
fn allocations_per_request<S: Service<u64, Response = u64, Error = Error>>(service: &mut S) -> f64 {
    for n in 0..20 {
        assert_eq!(request(service, n), Ok((n + 1) * 2));
    }
    let ((), allocations) = allocations_during(|| {
        for n in 0..100 {
            assert_eq!(request(service, n), Ok((n + 1) * 2));
        }
    });
    allocations as f64 / 100.0
}

#[test]
fn requests_allocate_nothing_in_steady_state_where_towers_erasure_boxes_each() {
    for suspends in [false, true] {
        let tower = allocations_per_request(&mut TowerBoxCloneService::new(stack(suspends)));
        let ours = allocations_per_request(&mut BoxCloneService::new(stack(suspends)));
        assert!(
            tower >= 1.0,
            "tower's BoxCloneService boxes each response: {tower}"
        );
        assert_eq!(ours, 0.0, "suspends: {suspends}");
        assert_eq!(
            allocations_per_request(&mut BoxCloneSyncService::new(stack(suspends))),
            0.0
        );
        assert_eq!(
            allocations_per_request(&mut BoxService::new(stack(suspends))),
            0.0
        );
        assert!(allocations_per_request(&mut TowerBoxService::new(stack(suspends))) >= 1.0);
    }
}

/// A server adapter that clones the service for each request and calls the clone
/// (`service.clone().oneshot(request)`, as hyper_util's `TowerToHyperService` does):
/// the clone goes in pooled storage too, so a request still allocates nothing in steady
/// state, where tower's erasure boxes the clone and the response.
fn allocations_per_cloned_request<S>(service: &S) -> f64
where
    S: Service<u64, Response = u64, Error = Error> + Clone,
{
    let cloned = |n: u64| drive(service.clone().oneshot(n));
    for n in 0..20 {
        assert_eq!(cloned(n), Ok((n + 1) * 2));
    }
    let ((), allocations) = allocations_during(|| {
        for n in 0..100 {
            assert_eq!(cloned(n), Ok((n + 1) * 2));
        }
    });
    allocations as f64 / 100.0
}

#[test]
fn a_clone_per_request_allocates_nothing_in_steady_state_where_towers_boxes_it() {
    for suspends in [false, true] {
        let tower = allocations_per_cloned_request(&TowerBoxCloneService::new(stack(suspends)));
        assert!(
            tower >= 2.0,
            "tower boxes the clone and the response: {tower}"
        );
        let ours = allocations_per_cloned_request(&BoxCloneService::new(stack(suspends)));
        assert_eq!(ours, 0.0, "suspends: {suspends}");
        let sync = allocations_per_cloned_request(&BoxCloneSyncService::new(stack(suspends)));
        assert_eq!(sync, 0.0, "suspends: {suspends}");
    }
}

/// Every clone of the inner service is dropped once, wherever its erased clone is (a pooled
/// block, or a box for an inner service too large for the pool), and on another thread too.
#[test]
fn clones_of_the_inner_service_are_dropped_once_in_or_out_of_the_pool() {
    /// A clone of the marker each (its count is the live clones), and `BYTES` of payload.
    #[derive(Clone)]
    struct Counted<const BYTES: usize>(#[allow(dead_code)] Arc<()>, [u8; BYTES]);
    impl<const BYTES: usize> Service<u64> for Counted<BYTES> {
        type Response = u64;
        type Error = Error;
        type Future = std::future::Ready<Result<u64, Error>>;
        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Error>> {
            Poll::Ready(Ok(()))
        }
        fn call(&mut self, n: u64) -> Self::Future {
            std::future::ready(Ok(n + u64::from(self.1[BYTES - 1])))
        }
    }
    fn check<const BYTES: usize>() {
        let marker = Arc::new(());
        let service = BoxCloneSyncService::new(Counted::<BYTES>(marker.clone(), [1; BYTES]));
        let clones: Vec<_> = (0..10).map(|_| service.clone()).collect();
        assert_eq!(Arc::strong_count(&marker), 12);
        let elsewhere = std::thread::spawn(move || {
            for mut clone in clones {
                assert_eq!(request(&mut clone, 1), Ok(2));
            }
        });
        elsewhere.join().unwrap();
        assert_eq!(Arc::strong_count(&marker), 2, "dropped on the other thread");
        drop(service);
        assert_eq!(Arc::strong_count(&marker), 1, "each dropped once");
    }
    check::<8>(); // a pooled block
    check::<5000>(); // over the largest block: a box
}

/// A service that is not ready for its first `not_ready` polls (waking the caller each time,
/// as a back-pressured service whose capacity frees up does), fails `poll_ready` when told,
/// and answers `n * 10`, or an error for `0`.
#[derive(Clone)]
struct Picky {
    not_ready: Arc<AtomicUsize>,
    broken: Arc<AtomicBool>,
    calls: Arc<AtomicUsize>,
}

impl Picky {
    fn new(not_ready: usize) -> Self {
        Self {
            not_ready: Arc::new(AtomicUsize::new(not_ready)),
            broken: Arc::new(AtomicBool::new(false)),
            calls: Arc::new(AtomicUsize::new(0)),
        }
    }
}

impl Service<u64> for Picky {
    type Response = u64;
    type Error = Error;
    type Future = std::future::Ready<Result<u64, Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.broken.load(Ordering::Relaxed) {
            return Poll::Ready(Err("broken"));
        }
        if self.not_ready.load(Ordering::Relaxed) > 0 {
            self.not_ready.fetch_sub(1, Ordering::Relaxed);
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, n: u64) -> Self::Future {
        self.calls.fetch_add(1, Ordering::Relaxed);
        std::future::ready(if n == 0 { Err("zero") } else { Ok(n * 10) })
    }
}

/// What a caller sees of a `Picky` behind an erasure: each `poll_ready` in turn, then
/// responses and errors, and how often the caller's waker was woken (the caller's context
/// reaches the inner service).
fn observe_picky<S: Service<u64, Response = u64, Error = Error>>(
    mut service: S,
    picky: &Picky,
) -> Vec<String> {
    let mut seen = Vec::new();
    let (wakes, waker) = common::CountingWaker::new();
    let mut cx = Context::from_waker(&waker);
    loop {
        match service.poll_ready(&mut cx) {
            Poll::Pending => seen.push("pending".to_string()),
            Poll::Ready(ready) => {
                seen.push(format!("ready {ready:?}"));
                break;
            }
        }
    }
    for n in [3, 0] {
        seen.push(format!("{:?}", drive(service.call(n))));
    }
    picky.broken.store(true, Ordering::Relaxed);
    seen.push(format!("{:?}", service.poll_ready(&mut cx)));
    seen.push(format!("calls {}", picky.calls.load(Ordering::Relaxed)));
    seen.push(format!("woken {}", wakes.count()));
    seen
}

#[test]
fn poll_ready_back_pressure_and_errors_pass_through_as_with_tower() {
    let expected = {
        let picky = Picky::new(3);
        observe_picky(TowerBoxCloneService::new(picky.clone()), &picky)
    };
    assert_eq!(
        expected,
        [
            "pending",
            "pending",
            "pending",
            "ready Ok(())",
            "Ok(30)",
            "Err(\"zero\")",
            "Ready(Err(\"broken\"))",
            "calls 2",
            "woken 3"
        ]
    );
    let picky = Picky::new(3);
    assert_eq!(
        observe_picky(BoxCloneService::new(picky.clone()), &picky),
        expected
    );
    let picky = Picky::new(3);
    assert_eq!(
        observe_picky(BoxCloneSyncService::new(picky.clone()), &picky),
        expected
    );
    let picky = Picky::new(3);
    assert_eq!(
        observe_picky(BoxService::new(picky.clone()), &picky),
        expected
    );
    let picky = Picky::new(3);
    assert_eq!(
        observe_picky(UnsyncBoxService::new(picky.clone()), &picky),
        expected
    );
    let picky = Picky::new(3);
    assert_eq!(
        observe_picky(TowerUnsyncBoxService::new(picky.clone()), &picky),
        expected
    );
}

/// A service that counts its calls in its own (cloned) state.
#[derive(Clone, Default)]
struct Counter(u64);

impl Service<u64> for Counter {
    type Response = u64;
    type Error = Infallible;
    type Future = std::future::Ready<Result<u64, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, n: u64) -> Self::Future {
        self.0 += 1;
        std::future::ready(Ok(n * 100 + self.0))
    }
}

/// Call, clone, call both: each clone carries the state it was cloned with.
fn clone_then_call<S>(mut service: S) -> Vec<u64>
where
    S: Service<u64, Response = u64, Error = Infallible> + Clone,
{
    let first = drive(service.call(1)).unwrap();
    let mut clone = service.clone();
    let second = drive(service.call(2)).unwrap();
    let from_clone = drive(clone.call(3)).unwrap();
    let from_clone_again = drive(clone.call(4)).unwrap();
    vec![first, second, from_clone, from_clone_again]
}

#[test]
fn a_clone_calls_its_own_copy_of_the_service_as_with_tower() {
    let expected = clone_then_call(TowerBoxCloneService::new(Counter::default()));
    assert_eq!(expected, [101, 202, 302, 403]);
    assert_eq!(
        clone_then_call(BoxCloneService::new(Counter::default())),
        expected
    );
    assert_eq!(
        clone_then_call(BoxCloneSyncService::new(Counter::default())),
        expected
    );
    assert_eq!(
        clone_then_call(TowerBoxCloneSyncService::new(Counter::default())),
        expected
    );
}

/// Where the inner service panics.
#[derive(Clone, Copy, Debug)]
enum PanicAt {
    Call,
    FirstPoll,
    SecondPoll,
}

#[derive(Clone)]
struct Panicky(PanicAt);

impl Service<u64> for Panicky {
    type Response = u64;
    type Error = Infallible;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<u64, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, n: u64) -> Self::Future {
        let at = self.0;
        if let PanicAt::Call = at {
            panic!("deliberate panic in call");
        }
        Box::pin(async move {
            if let PanicAt::SecondPoll = at {
                yield_once().await;
            }
            panic!("deliberate panic in the response, after {n}");
        })
    }
}

/// Which step panicked, and with what message: `call`, or the poll of the response.
fn where_it_panics<S>(mut service: S) -> String
where
    S: Service<u64, Response = u64, Error = Infallible>,
{
    let message = |panic: Box<dyn std::any::Any + Send>| {
        panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default()
    };
    let response = match catch_unwind(AssertUnwindSafe(|| service.call(7))) {
        Ok(response) => response,
        Err(panic) => return format!("call: {}", message(panic)),
    };
    let mut response = pin!(response);
    let mut cx = Context::from_waker(Waker::noop());
    for poll in 1.. {
        match catch_unwind(AssertUnwindSafe(|| response.as_mut().poll(&mut cx))) {
            Ok(Poll::Pending) => continue,
            Ok(Poll::Ready(output)) => return format!("poll {poll}: ready {output:?}"),
            Err(panic) => return format!("poll {poll}: {}", message(panic)),
        }
    }
    unreachable!()
}

#[test]
fn a_panic_in_call_or_in_the_response_comes_out_where_towers_does() {
    common::quiet_about_panics_with("deliberate panic in call");
    common::quiet_about_panics_with("deliberate panic in the response");
    for at in [PanicAt::Call, PanicAt::FirstPoll, PanicAt::SecondPoll] {
        let tower = where_it_panics(TowerBoxCloneService::new(Panicky(at)));
        let ours = where_it_panics(BoxCloneService::new(Panicky(at)));
        assert_eq!(ours, tower, "{at:?}");
        assert_eq!(where_it_panics(UnsyncBoxService::new(Panicky(at))), tower);
        // The service is still usable after the panic.
        let mut service = BoxService::new(Panicky(at));
        let _ = where_it_panics(&mut service);
        assert_eq!(where_it_panics(&mut service), tower);
    }
}

/// A response future that suspends until dropped; dropping it sets the flag.
struct Pending(Arc<AtomicBool>);

impl Future for Pending {
    type Output = Result<u64, Infallible>;
    fn poll(self: std::pin::Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        Poll::Pending
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[derive(Clone)]
struct NeverAnswers(Arc<AtomicBool>);

impl Service<u64> for NeverAnswers {
    type Response = u64;
    type Error = Infallible;
    type Future = Pending;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _n: u64) -> Pending {
        Pending(Arc::clone(&self.0))
    }
}

#[test]
fn a_response_dropped_before_it_completes_drops_the_inner_future_and_leaks_nothing() {
    for polled in [false, true] {
        let dropped = Arc::new(AtomicBool::new(false));
        let mut tower = TowerBoxCloneService::new(NeverAnswers(Arc::clone(&dropped)));
        let mut response = tower.call(1);
        if polled {
            let _ = pin!(&mut response)
                .as_mut()
                .poll(&mut Context::from_waker(Waker::noop()));
        }
        drop(response);
        assert!(dropped.load(Ordering::Relaxed));

        let dropped = Arc::new(AtomicBool::new(false));
        let mut ours = BoxCloneService::new(NeverAnswers(Arc::clone(&dropped)));
        // Warm this thread's pool, then count: live bytes come back where they were.
        drop(ours.call(0));
        dropped.store(false, Ordering::Relaxed);
        let before = alloc_count::thread_counts().live;
        let mut response = ours.call(1);
        if polled {
            let _ = pin!(&mut response)
                .as_mut()
                .poll(&mut Context::from_waker(Waker::noop()));
        }
        assert!(!dropped.load(Ordering::Relaxed));
        drop(response);
        assert!(dropped.load(Ordering::Relaxed), "polled: {polled}");
        assert_eq!(
            alloc_count::thread_counts().live,
            before,
            "polled: {polled}"
        );
    }
}

/// Sets its flag when dropped: a guard the inner future holds.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Whether the inner future's guard is gone once its response returned `Ready` (before the
/// response is dropped), and whether it is gone after.
fn guard_dropped_at_ready_and_at_drop<S, R>(mut service: S) -> (bool, bool)
where
    S: Service<Arc<AtomicBool>, Response = R, Error = Infallible>,
{
    let flag = Arc::new(AtomicBool::new(false));
    let at_ready = {
        let mut response = pin!(service.call(Arc::clone(&flag)));
        let cx = &mut Context::from_waker(Waker::noop());
        assert!(response.as_mut().poll(cx).is_ready());
        flag.load(Ordering::Relaxed)
    }; // the response dropped here
    (at_ready, flag.load(Ordering::Relaxed))
}

/// A response future that holds a guard in a field until it is dropped, as tower's
/// `ConcurrencyLimit` future holds its permit (an `async` block would drop its locals as it
/// returns).
struct Holding<R> {
    _guard: SetOnDrop,
    value: Option<R>,
}

impl<R: Unpin> Future for Holding<R> {
    type Output = Result<R, Infallible>;
    fn poll(mut self: std::pin::Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
        Poll::Ready(Ok(self.value.take().expect("polled after Ready")))
    }
}

#[test]
fn a_completed_inner_future_is_dropped_at_completion_or_with_a_large_response() {
    fn answering<R: Clone + Unpin + Send + 'static>(
        value: R,
    ) -> impl Service<Arc<AtomicBool>, Response = R, Error = Infallible, Future = Holding<R>>
           + Clone
           + Send {
        service_fn(move |flag: Arc<AtomicBool>| Holding {
            _guard: SetOnDrop(flag),
            value: Some(value.clone()),
        })
    }
    // tower drops it with the response, whatever its size.
    assert_eq!(
        guard_dropped_at_ready_and_at_drop(TowerBoxCloneService::new(answering(7_u64))),
        (false, true)
    );
    assert_eq!(
        guard_dropped_at_ready_and_at_drop(TowerBoxCloneService::new(answering([7_u64; 4]))),
        (false, true)
    );
    // Ours: a response of a word at completion (its block given back in that poll), one of
    // four words with the response, as tower's.
    assert_eq!(
        guard_dropped_at_ready_and_at_drop(BoxCloneService::new(answering(7_u64))),
        (true, true)
    );
    assert_eq!(
        guard_dropped_at_ready_and_at_drop(BoxCloneService::new(answering([7_u64; 4]))),
        (false, true)
    );
    // Not whole words (a 33-byte digest, aligned to 1) up to 64 bytes: at completion; past
    // 64 bytes, with the response.
    assert_eq!(
        guard_dropped_at_ready_and_at_drop(BoxCloneService::new(answering([7_u8; 33]))),
        (true, true)
    );
    assert_eq!(
        guard_dropped_at_ready_and_at_drop(BoxCloneService::new(answering([7_u8; 65]))),
        (false, true)
    );
}

/// A service whose clone or drop panics when armed (the flag shared by every clone).
struct PanicsWhenArmed {
    armed: Arc<AtomicBool>,
    on_drop: bool,
}

impl Clone for PanicsWhenArmed {
    fn clone(&self) -> Self {
        assert!(
            self.on_drop || !self.armed.load(Ordering::Relaxed),
            "deliberate panic in the inner service's clone"
        );
        Self {
            armed: Arc::clone(&self.armed),
            on_drop: self.on_drop,
        }
    }
}

impl Drop for PanicsWhenArmed {
    fn drop(&mut self) {
        if self.on_drop && self.armed.swap(false, Ordering::Relaxed) {
            panic!("deliberate panic in the inner service's drop");
        }
    }
}

impl Service<u64> for PanicsWhenArmed {
    type Response = u64;
    type Error = Error;
    type Future = std::future::Ready<Result<u64, Error>>;
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }
    fn call(&mut self, n: u64) -> Self::Future {
        std::future::ready(Ok(n))
    }
}

#[test]
fn a_clone_or_drop_of_the_inner_service_that_panics_loses_no_block() {
    common::quiet_about_panics_with("deliberate panic in the inner service's");
    for on_drop in [false, true] {
        let armed = Arc::new(AtomicBool::new(false));
        let service = BoxCloneSyncService::new(PanicsWhenArmed {
            armed: Arc::clone(&armed),
            on_drop,
        });
        drop(service.clone()); // warms this thread's pool
        let before = alloc_count::thread_counts().live;
        // A block lost per panic would show in live bytes within these rounds: the pool
        // would take more from the allocator.
        for _ in 0..100 {
            let clone = service.clone();
            armed.store(true, Ordering::Relaxed);
            let panicked = if on_drop {
                catch_unwind(AssertUnwindSafe(|| drop(clone))).is_err()
            } else {
                drop(clone);
                catch_unwind(AssertUnwindSafe(|| service.clone())).is_err()
            };
            assert!(panicked, "on_drop: {on_drop}");
            armed.store(false, Ordering::Relaxed);
        }
        assert_eq!(
            alloc_count::thread_counts().live,
            before,
            "each clone's block went back (on_drop: {on_drop})"
        );
        let (clone, allocations) = allocations_during(|| service.clone());
        assert_eq!(allocations, 0, "a block is reused (on_drop: {on_drop})");
        let mut clone = clone;
        assert_eq!(request(&mut clone, 3), Ok(3));
    }
}

#[test]
fn an_inner_service_aligned_past_the_blocks_goes_to_a_box_and_back() {
    #[derive(Clone)]
    #[repr(align(32))]
    struct Aligned(#[allow(dead_code)] Arc<()>, u64);
    impl Service<u64> for Aligned {
        type Response = u64;
        type Error = Error;
        type Future = std::future::Ready<Result<u64, Error>>;
        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Error>> {
            Poll::Ready(Ok(()))
        }
        fn call(&mut self, n: u64) -> Self::Future {
            assert_eq!(
                std::ptr::from_ref(self).addr() % 32,
                0,
                "aligned in its place"
            );
            std::future::ready(Ok(n + self.1))
        }
    }
    let marker = Arc::new(());
    let service = BoxCloneSyncService::new(Aligned(Arc::clone(&marker), 5));
    let mut clones: Vec<_> = (0..4).map(|_| service.clone()).collect();
    for clone in &mut clones {
        assert_eq!(request(clone, 1), Ok(6));
    }
    assert_eq!(Arc::strong_count(&marker), 6);
    drop((clones, service));
    assert_eq!(Arc::strong_count(&marker), 1, "each clone dropped once");
}

/// Allocations while 64 responses of `service` are pending at once (each called and polled
/// once): the blocks their value tasks hold that this thread's pool does not have spare.
fn allocations_for_64_pending_responses<S>(service: &mut S) -> usize
where
    S: Service<u64, Response = u64, Error = Error>,
    S::Future: Unpin,
{
    let cx = &mut Context::from_waker(Waker::noop());
    let mut pending = Vec::with_capacity(64);
    let ((), allocations) = allocations_during(|| {
        for n in 0..64 {
            let mut response = service.call(n);
            assert!(std::pin::Pin::new(&mut response).poll(cx).is_pending());
            pending.push(response);
        }
    });
    for (n, mut response) in (0..).zip(pending) {
        let answer = std::pin::Pin::new(&mut response).poll(cx);
        assert!(matches!(answer, Poll::Ready(Ok(r)) if r == (n + 1) * 2));
    }
    allocations
}

/// On a fresh thread, `make()`'s service made, then 64 pending responses of the stack erased
/// once given back: the allocations 64 pending responses of `make()`'s service take more.
fn allocations_beyond_erasing_once<S>(make: impl FnOnce() -> S + Send + 'static) -> usize
where
    S: Service<u64, Response = u64, Error = Error>,
    S::Future: Unpin,
{
    std::thread::spawn(move || {
        // Made first: its own blocks are not among those the warm-up leaves spare.
        let mut service = make();
        let _ = allocations_for_64_pending_responses(&mut BoxCloneService::new(stack(true)));
        let _ = allocations_for_64_pending_responses(&mut UnsyncBoxService::new(stack(true)));
        allocations_for_64_pending_responses(&mut service)
    })
    .join()
    .unwrap()
}

#[test]
fn an_erased_service_erased_again_passes_its_response_on() {
    // The outer erasure hands on the inner one's value task instead of putting it in a block
    // of its own: its pending responses hold only the blocks erasing once holds. (No count
    // above zero is asserted for a stack that does wrap: blocks other test threads gave back
    // to the shared lists may serve it without an allocation.)
    assert_eq!(
        allocations_beyond_erasing_once(|| BoxCloneService::new(stack(true))),
        0
    );
    assert_eq!(
        allocations_beyond_erasing_once(|| BoxCloneService::new(BoxCloneService::new(stack(true)))),
        0
    );
    assert_eq!(
        allocations_beyond_erasing_once(|| BoxService::new(BoxCloneSyncService::new(stack(true)))),
        0
    );
    assert_eq!(
        allocations_beyond_erasing_once(|| {
            ServiceBuilder::new()
                .layer(BoxCloneService::layer())
                .layer(BoxCloneService::layer())
                .service(stack(true))
        }),
        0
    );
    assert_eq!(
        allocations_beyond_erasing_once(|| {
            UnsyncBoxService::new(UnsyncBoxService::new(stack(true)))
        }),
        0
    );
    assert_eq!(
        allocations_beyond_erasing_once(|| {
            UnsyncBoxService::new(BoxCloneService::new(stack(true)))
        }),
        0
    );
}

/// A `Send` erasure of ours, or any service whose response is a `ValueTask`, erased as an
/// `UnsyncBoxService`: its value task becomes the `LocalValueTask` as it is (a ready one
/// stays ready, nothing polled through a second block).
#[test]
fn an_unsync_erasure_passes_a_value_task_response_on() {
    #[derive(Clone)]
    struct Ready;
    impl Service<u64> for Ready {
        type Response = u64;
        type Error = Error;
        type Future = valuetask::ValueTask<'static, Result<u64, Error>>;
        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Error>> {
            Poll::Ready(Ok(()))
        }
        fn call(&mut self, n: u64) -> Self::Future {
            valuetask::ValueTask::from_result(Ok(n))
        }
    }
    let mut direct = UnsyncBoxService::new(Ready);
    let response = direct.call(1);
    assert!(response.is_completed(), "a ready value task was wrapped");
    assert_eq!(response.get_result(), Ok(1));
    let mut twice = UnsyncBoxService::new(BoxCloneService::new(Ready));
    let response = twice.call(2);
    assert!(
        response.is_completed(),
        "the Send erasure's response was wrapped"
    );
    assert_eq!(response.get_result(), Ok(2));
}

#[test]
fn erased_layers_drop_into_a_service_builder_stack() {
    let handler = || service_fn(|n: u64| async move { Ok::<u64, Error>(n) });
    let add_one = || tower::util::MapRequestLayer::new(|n: u64| n + 1);

    let mut service = ServiceBuilder::new()
        .layer(BoxLayer::new(add_one()))
        .service(handler());
    assert_eq!(request(&mut service, 1), Ok(2));

    let mut service = ServiceBuilder::new()
        .layer(BoxCloneServiceLayer::new(add_one()))
        .map_response(|n: u64| n * 3)
        .service(handler());
    assert_eq!(request(&mut service, 1), Ok(6));
    let layer = BoxCloneServiceLayer::new(add_one());
    assert_eq!(request(&mut layer.clone().layer(handler()), 4), Ok(5));

    let service = ServiceBuilder::new()
        .layer(BoxCloneSyncServiceLayer::new(add_one()))
        .service(handler());
    assert_eq!(request(&mut service.clone(), 9), Ok(10));

    let mut service = ServiceBuilder::new()
        .layer(BoxService::layer())
        .map_request(|n: u64| n * 2)
        .service(handler());
    assert_eq!(request(&mut service, 4), Ok(8));
    let mut service: BoxCloneSyncService<u64, u64, Error> = ServiceBuilder::new()
        .layer(BoxCloneSyncService::layer())
        .service(handler());
    assert_eq!(request(&mut service, 5), Ok(5));
}

#[test]
fn a_service_that_is_not_send_erases_into_unsync_box_service() {
    let seen = Rc::new(Cell::new(0u64));
    let handler = {
        let seen = Rc::clone(&seen);
        service_fn(move |n: u64| {
            let seen = Rc::clone(&seen);
            async move {
                yield_once().await;
                seen.set(seen.get() + n);
                Ok::<u64, Error>(seen.get())
            }
        })
    };
    let mut ours = UnsyncBoxService::new(handler.clone());
    let mut tower = TowerUnsyncBoxService::new(handler);
    assert_eq!(request(&mut ours, 2), Ok(2));
    assert_eq!(request(&mut tower, 3), Ok(5));
    let ((), allocations) = allocations_during(|| {
        for n in 0..50 {
            let _ = request(&mut ours, n);
        }
    });
    assert_eq!(allocations, 0, "a !Send response in pooled storage");
    let mut ours = UnsyncBoxService::layer().layer(stack(true));
    assert_eq!(request(&mut ours, 1), Ok(4));
}

#[test]
fn the_erased_types_have_towers_auto_traits() {
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    fn clone<T: Clone>() {}
    send::<BoxService<u64, u64, Error>>();
    sync::<BoxService<u64, u64, Error>>();
    send::<BoxCloneService<u64, u64, Error>>();
    clone::<BoxCloneService<u64, u64, Error>>();
    send::<BoxCloneSyncService<u64, u64, Error>>();
    sync::<BoxCloneSyncService<u64, u64, Error>>();
    clone::<BoxCloneSyncService<u64, u64, Error>>();
    send::<BoxLayer<Counter, u64, u64, Infallible>>();
    sync::<BoxLayer<Counter, u64, u64, Infallible>>();
    clone::<BoxLayer<Counter, u64, u64, Infallible>>();
    // Their responses are `Send`, as tower's boxed futures are.
    send::<<BoxService<u64, u64, Error> as Service<u64>>::Future>();
    fn unpin<T: Unpin>() {}
    unpin::<BoxCloneService<u64, u64, Error>>();
    unpin::<BoxCloneSyncService<u64, u64, Error>>();
    unpin::<BoxService<u64, u64, Error>>();
    unpin::<UnsyncBoxService<u64, u64, Error>>();
    unpin::<TowerBoxCloneService<u64, u64, Error>>();
    send::<BoxCloneServiceLayer<Counter, u64, u64, Error>>();
    sync::<BoxCloneServiceLayer<Counter, u64, u64, Error>>();
    clone::<BoxCloneServiceLayer<Counter, u64, u64, Error>>();
    send::<BoxCloneSyncServiceLayer<Counter, u64, u64, Error>>();
    sync::<BoxCloneSyncServiceLayer<Counter, u64, u64, Error>>();
    clone::<BoxCloneSyncServiceLayer<Counter, u64, u64, Error>>();
    // Their responses are `Send`, as tower's boxed futures are.
    send::<<BoxCloneService<u64, u64, Error> as Service<u64>>::Future>();
    // The same checks hold for tower's, which is what makes the swap a change of import.
    sync::<TowerBoxService<u64, u64, Error>>();
    clone::<TowerBoxCloneSyncService<u64, u64, Error>>();
    // And what tower's are not, ours are not either: a `BoxCloneService` reaches its inner
    // service through `&self` (`clone`), so it cannot be `Sync` unless the inner one is.
    assert_not_impl!(BoxCloneService<u64, u64, Error>: Sync);
    assert_not_impl!(TowerBoxCloneService<u64, u64, Error>: Sync);
    assert_not_impl!(UnsyncBoxService<u64, u64, Error>: Send);
    assert_not_impl!(UnsyncBoxService<u64, u64, Error>: Sync);
    assert_not_impl!(<UnsyncBoxService<u64, u64, Error> as Service<u64>>::Future: Send);
    assert_not_impl!(<BoxService<u64, u64, Error> as Service<u64>>::Future: Sync);
    // The documented difference: a response holding an error that is not `Send` is not.
    type LocalError = Box<dyn std::error::Error>;
    assert_not_impl!(<BoxService<u64, u64, LocalError> as Service<u64>>::Future: Send);
    // `Debug` prints what tower's does (a log or a snapshot test sees no change).
    assert_eq!(
        format!("{:?}", BoxCloneService::new(Counter::default())),
        format!("{:?}", TowerBoxCloneService::new(Counter::default())),
    );
    assert_eq!(
        format!("{:?}", BoxCloneSyncService::new(Counter::default())),
        format!("{:?}", TowerBoxCloneSyncService::new(Counter::default())),
    );
    assert_eq!(
        format!("{:?}", BoxService::new(Counter::default())),
        format!("{:?}", TowerBoxService::new(Counter::default())),
    );
    assert_eq!(
        format!("{:?}", UnsyncBoxService::new(Counter::default())),
        format!("{:?}", TowerUnsyncBoxService::new(Counter::default())),
    );
    assert_eq!(
        format!(
            "{:?}",
            BoxLayer::<Counter, u64, u64, Infallible>::new(tower::layer::layer_fn(|s| s))
        ),
        format!(
            "{:?}",
            tower::util::BoxLayer::<Counter, u64, u64, Infallible>::new(tower::layer::layer_fn(
                |s| s
            ))
        ),
    );
}

/// Compiles exactly when `$type` does not implement `$trait`: with the trait implemented,
/// both impls of `Ambiguous` apply and the path is ambiguous (E0283).
macro_rules! assert_not_impl {
    ($type:ty: $trait:path) => {{
        trait Ambiguous<Marker> {
            fn check() {}
        }
        impl<T: ?Sized> Ambiguous<()> for T {}
        struct Implemented;
        impl<T: ?Sized + $trait> Ambiguous<Implemented> for T {}
        <$type as Ambiguous<_>>::check();
    }};
}
use assert_not_impl;
