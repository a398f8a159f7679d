//! A body started at the call (`#[value_task]`, `ValueTask::start`, `ValueTask::boxed`) that
//! yields there hands the yield to its caller's executor: the caller's task returns `Pending`
//! as often as with `#[async_trait]`, whose body runs at the first poll, when the yield wakes
//! the waker it is given. A yield that defers its wake through a clone (tokio's `yield_now`
//! inside a runtime) suspends the caller at least once, one time fewer when the body yields
//! again after it (`stored_future.rs`'s docs say why). (.NET: `await Task.Yield()` in an
//! `async ValueTask` method suspends the caller.)

mod common;

use std::cell::Cell;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use valuetask::{value_task, LocalValueTask, TaskCompletionSource, ValueTask};

#[global_allocator]
static ALLOCATOR: common::CountingAllocator = common::CountingAllocator::PER_THREAD;

/// Returns `Pending` `.0` times, waking its waker each time first (a yield); through a
/// clone of the waker when `.1` (as a scheduler that defers wake-ups would, later).
struct Yields(u32, bool);

impl Future for Yields {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 == 0 {
            return Poll::Ready(());
        }
        self.0 -= 1;
        if self.1 {
            let deferred = cx.waker().clone();
            deferred.wake();
        } else {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

/// Yields `n` times, waking its own waker.
fn yielding(n: u32) -> Yields {
    Yields(n, false)
}

/// Yields `n` times, waking a clone of its waker.
fn yielding_by_clone(n: u32) -> Yields {
    Yields(n, true)
}

#[value_task]
trait Check: Send + Sync {
    async fn self_waking(&self, yields: u32) -> u32;
    async fn clone_waking(&self) -> u32;
    async fn tokio_yield(&self) -> u32;
}

struct Pool;

#[value_task]
impl Check for Pool {
    async fn self_waking(&self, yields: u32) -> u32 {
        yielding(yields).await;
        yields
    }
    async fn clone_waking(&self) -> u32 {
        yielding_by_clone(1).await;
        1
    }
    async fn tokio_yield(&self) -> u32 {
        tokio::task::yield_now().await;
        1
    }
}

#[async_trait::async_trait]
trait BoxedCheck: Send + Sync {
    async fn self_waking(&self, yields: u32) -> u32;
    async fn tokio_yield(&self) -> u32;
}

#[async_trait::async_trait]
impl BoxedCheck for Pool {
    async fn self_waking(&self, yields: u32) -> u32 {
        yielding(yields).await;
        yields
    }
    async fn tokio_yield(&self) -> u32 {
        tokio::task::yield_now().await;
        1
    }
}

/// Counts the wake-ups of the executor below.
struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// Polls `future` until it is ready, each poll after a wake-up (a real executor), and says
/// how many times it returned `Pending`. Panics on a lost wake-up.
fn pendings<F: Future>(future: F) -> (F::Output, usize) {
    let counter = Arc::new(Counter(AtomicUsize::new(0)));
    let waker = Waker::from(counter.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    let mut pendings = 0;
    loop {
        let before = counter.0.load(Ordering::Relaxed);
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return (output, pendings);
        }
        pendings += 1;
        assert!(
            counter.0.load(Ordering::Relaxed) > before,
            "Pending without a wake-up: lost"
        );
    }
}

#[test]
fn a_self_waking_body_returns_pending_to_the_executor_as_often_as_async_trait() {
    for yields in 0..4 {
        let (value, with_value_task) = pendings(async { Check::self_waking(&Pool, yields).await });
        let (_, with_box) = pendings(async { BoxedCheck::self_waking(&Pool, yields).await });
        assert_eq!(value, yields);
        assert_eq!(with_value_task, yields as usize, "{yields} yields");
        assert_eq!(with_value_task, with_box, "{yields} yields");
    }
}

#[test]
fn a_body_that_wakes_a_clone_yields_once_too() {
    assert_eq!(pendings(async { Check::clone_waking(&Pool).await }), (1, 1));
}

/// The limit the module docs state: a second deferred yield after one at the call is where
/// the caller suspends, once, where a lazily polled body suspends it twice.
#[test]
fn two_deferred_yields_at_the_call_suspend_the_caller_once() {
    assert_eq!(pendings(yielding_by_clone(2)), ((), 2), "polled lazily");
    assert_eq!(pendings(ValueTask::start(yielding_by_clone(2))), ((), 1));
    assert_eq!(
        pendings(ValueTask::start(yielding(2))),
        ((), 2),
        "a woken yield"
    );
}

#[test]
fn a_body_that_completes_in_the_first_real_poll_holds_its_output_for_the_next() {
    // Registered with the first poll's waker, then completed before the caller polls: the
    // body suspended at the call, so the caller suspends once, and gets the output after.
    let tcs = TaskCompletionSource::<String>::new();
    let task = tcs.task();
    let vt = ValueTask::start(async move { task.await.unwrap() });
    tcs.set_result("held".to_owned());
    assert_eq!(pendings(vt), ("held".to_owned(), 1));
}

/// Counts its drops.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn a_held_output_is_dropped_once_whether_taken_or_not() {
    let drops = Arc::new(AtomicUsize::new(0));
    let start = || {
        let drops = drops.clone();
        ValueTask::start(async move {
            yielding(0).await;
            yielding_by_clone(1).await;
            Counted(drops)
        })
    };
    // Dropped while held.
    let mut vt = start();
    let waker = Waker::noop();
    assert!(Pin::new(&mut vt)
        .poll(&mut Context::from_waker(waker))
        .is_pending());
    assert!(vt.is_completed(), "the output is held");
    drop(vt);
    assert_eq!(drops.load(Ordering::Relaxed), 1);
    // Taken by the next poll, dropped by its taker.
    let (counted, pendings) = pendings(start());
    assert_eq!((drops.load(Ordering::Relaxed), pendings), (1, 1));
    drop(counted);
    assert_eq!(drops.load(Ordering::Relaxed), 2);
}

/// Completes at its second poll, and panics when dropped.
struct PanicsOnDrop(bool, Arc<AtomicUsize>);

impl Future for PanicsOnDrop {
    type Output = Counted;
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Counted> {
        if std::mem::replace(&mut self.0, true) {
            Poll::Ready(Counted(self.1.clone()))
        } else {
            Poll::Pending
        }
    }
}

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("the finished future's drop panics");
        }
    }
}

#[test]
fn a_future_whose_drop_panics_after_it_completed_is_dropped_once_and_its_output_too() {
    let drops = Arc::new(AtomicUsize::new(0));
    let mut vt = ValueTask::start(PanicsOnDrop(false, drops.clone()));
    let waker = Waker::noop();
    let polled = catch_unwind(AssertUnwindSafe(|| {
        Pin::new(&mut vt).poll(&mut Context::from_waker(waker))
    }));
    assert!(polled.is_err(), "the drop's panic reaches the poller");
    drop(vt);
    assert_eq!(drops.load(Ordering::Relaxed), 1, "the held output, once");
}

/// Drops of [`Marked`] outputs.
static MARKED_DROPS: AtomicUsize = AtomicUsize::new(0);

/// An output of 40 bytes aligned to 1: neither whole words nor past the slot's 64 bytes, so
/// the block's poll delivers it into the poller's slot (`backing::Delivered`), where it
/// waits while the block is released.
struct Marked([u8; 40]);

impl Drop for Marked {
    /// Counts an intact output only.
    fn drop(&mut self) {
        MARKED_DROPS.fetch_add(usize::from(self.0 == [3; 40]), Ordering::Relaxed);
    }
}

/// Completes at its second poll with a [`Marked`], and panics when dropped.
struct MarkedPanicsOnDrop(bool);

impl Future for MarkedPanicsOnDrop {
    type Output = Marked;
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Marked> {
        if std::mem::replace(&mut self.0, true) {
            Poll::Ready(Marked([3; 40]))
        } else {
            Poll::Pending
        }
    }
}

impl Drop for MarkedPanicsOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("the finished future's drop panics");
        }
    }
}

#[test]
fn a_delivered_output_whose_futures_drop_panics_is_dropped_once() {
    let mut vt = ValueTask::start(MarkedPanicsOnDrop(false));
    let polled = catch_unwind(AssertUnwindSafe(|| {
        Pin::new(&mut vt).poll(&mut Context::from_waker(Waker::noop()))
    }));
    assert!(polled.is_err(), "the drop's panic reaches the poller");
    drop(vt);
    assert_eq!(
        MARKED_DROPS.load(Ordering::Relaxed),
        1,
        "the delivered output, once, as the release unwound"
    );
}

/// [`PanicsOnDrop`] with an output of more than three words, which the block's poll returns
/// straight into the poller's place (`backing::PollFn`): the value task keeps the finished
/// future's block until it is dropped (`Repr::Yielded`), as a box is kept until the boxed
/// future is dropped.
struct LargeOutputPanicsOnDrop(PanicsOnDrop);

impl Future for LargeOutputPanicsOnDrop {
    type Output = (Counted, [u64; 16]);
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|counted| (counted, [7; 16]))
    }
}

#[test]
fn a_large_output_whose_futures_drop_panics_after_it_completed_is_dropped_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let mut vt = ValueTask::start(LargeOutputPanicsOnDrop(PanicsOnDrop(false, drops.clone())));
    let Poll::Ready(output) = Pin::new(&mut vt).poll(&mut Context::from_waker(Waker::noop()))
    else {
        panic!("completes at its second poll");
    };
    assert_eq!(output.1, [7; 16], "the output, whole");
    drop(output);
    assert_eq!(drops.load(Ordering::Relaxed), 1, "dropped by its taker");
    let dropped = catch_unwind(AssertUnwindSafe(|| drop(vt)));
    assert!(
        dropped.is_err(),
        "the finished future's drop panics where the value task is dropped"
    );
    assert_eq!(drops.load(Ordering::Relaxed), 1, "and the output only once");

    // Without a panic, the output comes back whole.
    let mut vt = ValueTask::start(async {
        yielding(1).await;
        (Counted(drops.clone()), [9u64; 16])
    });
    let output = loop {
        if let Poll::Ready(output) = Pin::new(&mut vt).poll(&mut Context::from_waker(Waker::noop()))
        {
            break output;
        }
    };
    assert_eq!(output.1, [9; 16]);
    drop(output);
    assert_eq!(drops.load(Ordering::Relaxed), 2);
}

/// Completes at its first poll, at the call, with an output too large for a value task's
/// two words (so its block keeps it), and panics when dropped.
struct ReadyPanicsOnDrop(Arc<AtomicUsize>);

impl Future for ReadyPanicsOnDrop {
    type Output = (Counted, [u64; 4]);
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
        Poll::Ready((Counted(self.0.clone()), [5; 4]))
    }
}

impl Drop for ReadyPanicsOnDrop {
    fn drop(&mut self) {
        panic!("the future that completed at the call panics when dropped");
    }
}

#[test]
fn a_large_output_kept_at_the_call_is_dropped_once_when_its_futures_drop_panics() {
    for boxed in [false, true] {
        let drops = Arc::new(AtomicUsize::new(0));
        let future = ReadyPanicsOnDrop(drops.clone());
        let started = if boxed {
            ValueTask::boxed(future)
        } else {
            ValueTask::start(future)
        };
        assert_eq!(
            drops.load(Ordering::Relaxed),
            1,
            "the output nobody can take is dropped, once (boxed: {boxed})"
        );
        // The drop's panic is kept, as a panic of the body is (`tests/panics_at_the_call.rs`).
        let awaited = catch_unwind(AssertUnwindSafe(|| started.get_result()));
        assert!(awaited.is_err(), "the drop's panic reaches the awaiter");
        assert_eq!(drops.load(Ordering::Relaxed), 1);
    }
}

#[test]
fn try_get_gives_a_held_output_and_waits_out_a_yield() {
    let tcs = TaskCompletionSource::<u8>::new();
    let task = tcs.task();
    let vt = ValueTask::start(async move { task.await.unwrap() });
    tcs.set_result(3);
    assert_eq!(
        vt.try_get().ok(),
        Some(3),
        "completed: no yield for try_get"
    );
    // A yield is a yield to try_get too (.NET: `IsCompleted` is false while the
    // continuation is queued); the next try polls the body.
    let vt = Check::self_waking(&Pool, 1);
    let vt = vt.try_get().expect_err("yielded");
    assert_eq!(vt.try_get().ok(), Some(1));
}

#[test]
fn boxed_and_local_bodies_yield_too() {
    #[value_task(boxed)]
    async fn boxed(yields: u32) -> u32 {
        yielding(yields).await;
        yields
    }
    #[value_task(?Send)]
    async fn local(yields: Rc<Cell<u32>>) -> u32 {
        yielding(yields.get()).await;
        yields.get()
    }
    assert_eq!(pendings(boxed(2)), (2, 2));
    assert_eq!(pendings(ValueTask::boxed(yielding_by_clone(1))), ((), 1));
    assert_eq!(pendings(local(Rc::new(Cell::new(2)))), (2, 2));
    assert_eq!(pendings(LocalValueTask::boxed(yielding(1))), ((), 1));
}

#[test]
fn a_body_that_yields_at_the_call_allocates_nothing_in_steady_state() {
    let (_, executor) = common::allocations_during(|| pendings(std::future::ready(0)));
    let mut allocations = Vec::new();
    for _ in 0..3 {
        let ((value, pendings), count) =
            common::allocations_during(|| pendings(Check::self_waking(&Pool, 1)));
        assert_eq!((value, pendings), (1, 1));
        allocations.push(count - executor);
    }
    // The first call warms this thread's pool.
    assert_eq!(
        allocations[1..],
        [0, 0],
        "the executor's own waker not counted"
    );
}

/// Polls the future it wraps and counts the `Pending`s it returns to tokio.
struct CountPendings<F>(F, Arc<AtomicUsize>);

impl<F: Future + Unpin> Future for CountPendings<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let polled = Pin::new(&mut self.0).poll(cx);
        if polled.is_pending() {
            self.1.fetch_add(1, Ordering::Relaxed);
        }
        polled
    }
}

/// `calls` calls of `call` in one tokio task; the `Pending`s that task returned to tokio.
fn pendings_in_a_tokio_task<F>(calls: u32, call: fn() -> F) -> usize
where
    F: Future<Output = u32> + Send + 'static,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let body = Box::pin(async move {
        let mut sum = 0;
        for _ in 0..calls {
            sum += call().await;
        }
        sum
    });
    let sum = runtime.block_on(async { tokio::spawn(CountPendings(body, count.clone())).await });
    assert_eq!(sum.unwrap(), calls);
    count.load(Ordering::Relaxed)
}

#[test]
fn tokio_yield_now_in_a_body_returns_pending_to_tokio_once_per_call_as_async_trait() {
    let with_value_task = pendings_in_a_tokio_task(50, || Check::tokio_yield(&Pool));
    let with_box = pendings_in_a_tokio_task(50, || async { BoxedCheck::tokio_yield(&Pool).await });
    assert_eq!(with_box, 50);
    assert_eq!(with_value_task, with_box);
}

#[value_task]
trait Receive: Send + Sync {
    async fn receive(
        &self,
        from: &tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<u32>>,
    ) -> u32;
}

#[value_task]
impl Receive for Pool {
    async fn receive(
        &self,
        from: &tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<u32>>,
    ) -> u32 {
        from.lock().await.recv().await.unwrap()
    }
}

#[async_trait::async_trait]
trait BoxedReceive: Send + Sync {
    async fn receive(
        &self,
        from: &tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<u32>>,
    ) -> u32;
}

#[async_trait::async_trait]
impl BoxedReceive for Pool {
    async fn receive(
        &self,
        from: &tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<u32>>,
    ) -> u32 {
        from.lock().await.recv().await.unwrap()
    }
}

/// Receives `messages` ready messages in one tokio task through `receive`; the `Pending`s
/// that task returned to tokio (tokio's cooperative budget makes it yield now and then).
fn budget_pendings(messages: u32, boxed: bool) -> usize {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    for n in 0..messages {
        tx.send(n).unwrap();
    }
    let rx = tokio::sync::Mutex::new(rx);
    let count = Arc::new(AtomicUsize::new(0));
    let body = Box::pin(async move {
        let mut sum = 0u64;
        for _ in 0..messages {
            let n = if boxed {
                BoxedReceive::receive(&Pool, &rx).await
            } else {
                Receive::receive(&Pool, &rx).await
            };
            sum += u64::from(n);
        }
        sum
    });
    let sum = runtime
        .block_on(async { tokio::spawn(CountPendings(body, count.clone())).await })
        .unwrap();
    assert_eq!(sum, u64::from(messages) * u64::from(messages - 1) / 2);
    count.load(Ordering::Relaxed)
}

#[test]
fn a_spent_cooperative_budget_yields_to_tokio_as_with_async_trait() {
    let with_box = budget_pendings(2000, true);
    let with_value_task = budget_pendings(2000, false);
    assert!(with_box > 0, "tokio's budget made the boxed version yield");
    assert_eq!(with_value_task, with_box);
}
