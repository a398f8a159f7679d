//! `#[value_task]` bodies with no `.await` run as plain closures (no future, no storage): the
//! same eager semantics as `ValueTask::start`, checked shape by shape, and bodies that only
//! look synchronous (an unknown macro) still take the pooled path.

use crate::common;

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::drive;
use valuetask::{value_task, LocalValueTask, ValueTask};

static CALLS: AtomicUsize = AtomicUsize::new(0);

#[value_task]
async fn counted(x: u32) -> u32 {
    CALLS.fetch_add(1, Ordering::SeqCst);
    x + 1
}

#[value_task]
async fn parse_all(items: &[&str]) -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
    let mut sum = 0;
    for item in items {
        if item.is_empty() {
            return Ok(sum);
        }
        // `?` converts the error, as in an `async fn`.
        sum += item.parse::<u32>()?;
    }
    assert!(sum < 1_000, "{}", format!("too large: {sum}"));
    Ok(sum)
}

#[value_task]
async fn take_apart((a, b): (u8, u8), mut scale: u8) -> u8 {
    scale += 1;
    (a + b) * scale
}

#[value_task]
async fn panics(x: u32) -> u32 {
    if x == 0 {
        panic!("sync body panicked at zero");
    }
    x
}

macro_rules! twice {
    ($e:expr) => {
        $e * 2
    };
}

#[value_task]
async fn with_unknown_macro(x: u32) -> u32 {
    twice!(x)
}

#[value_task]
trait Meter: Send + Sync {
    async fn read(&self) -> u64;
    async fn read_twice(&self) -> u64 {
        let one = 1;
        2 * one * 21
    }
    async fn consume(self: Box<Self>) -> u64;
}

struct Gauge(u64);

#[value_task]
impl Meter for Gauge {
    async fn read(&self) -> u64 {
        self.0
    }
    async fn consume(self: Box<Self>) -> u64 {
        let Gauge(v) = *self;
        v + 1
    }
}

struct Counter {
    hits: u32,
}

#[value_task]
impl Counter {
    /// `&mut self` returning a reborrow of `self`: the closure owns its captures.
    async fn hits_mut(&mut self) -> &mut u32 {
        self.hits += 1;
        &mut self.hits
    }
}

/// A temporary in the tail expression borrows an argument: it drops before the argument.
#[value_task]
async fn locked_len(items: std::sync::Arc<std::sync::Mutex<Vec<u8>>>) -> usize {
    items.lock().unwrap().len()
}

static DROPS: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());

struct Loud(&'static str);

impl Loud {
    fn n(&self) -> u32 {
        self.0.len() as u32
    }
}

impl Drop for Loud {
    fn drop(&mut self) {
        DROPS.lock().unwrap().push(self.0);
    }
}

#[value_task]
async fn drop_order(_arg: Loud) -> u32 {
    let _local = Loud("local");
    Loud("temporary").n()
}

#[value_task]
async fn drop_order_suspending(_arg: Loud) -> u32 {
    valuetask::yield_now().await;
    let _local = Loud("local");
    Loud("temporary").n()
}

async fn drop_order_native(_arg: Loud) -> u32 {
    let _local = Loud("local");
    Loud("temporary").n()
}

/// A macro that hides an `.await`, nested inside a std macro: the body is not synchronous.
#[value_task]
async fn nested_join() -> (u32, u32) {
    dbg!(futures::join!(async { 1 }, async { 2 }))
}

#[value_task(?Send)]
async fn local_counter(counter: Rc<Cell<u32>>) -> u32 {
    counter.set(counter.get() + 1);
    counter.get()
}

/// `impl Trait` outputs: the closure's return type infers them, so a body with no `.await`
/// need not be `Send` with one either (`Tally` is not `Sync`).
#[value_task]
trait Show {
    async fn show(&self) -> impl std::fmt::Display;
    async fn parsed(
        &self,
        text: &str,
    ) -> Result<impl std::fmt::Display, Box<dyn std::error::Error + Send + Sync>>;
}

struct Tally(Cell<u32>);

#[value_task]
impl Show for Tally {
    async fn show(&self) -> impl std::fmt::Display {
        self.0.set(self.0.get() + 1);
        self.0.get()
    }
    async fn parsed(
        &self,
        text: &str,
    ) -> Result<impl std::fmt::Display, Box<dyn std::error::Error + Send + Sync>> {
        if text.is_empty() {
            return Err("empty".into());
        }
        let n: u32 = text.parse()?;
        Ok(n + self.0.get())
    }
}

/// A body whose only `.await`s are in a future it makes (an `async` block, an item) runs as a
/// closure: `Jobs` is not `Sync`, which the pooled path would refuse.
struct Jobs(std::cell::RefCell<Vec<futures::future::LocalBoxFuture<'static, u32>>>);

#[value_task]
impl Jobs {
    async fn submit(&self, n: u32) -> usize {
        async fn doubled(n: u32) -> u32 {
            std::future::ready(n).await * 2
        }
        let job = async move { doubled(n).await + 1 };
        self.0.borrow_mut().push(Box::pin(job));
        self.0.borrow().len()
    }
}

#[test]
fn a_body_awaiting_only_inside_futures_it_makes_runs_as_a_closure() {
    let jobs = Jobs(std::cell::RefCell::new(Vec::new()));
    let vt = jobs.submit(20);
    assert_eq!(jobs.0.borrow().len(), 1, "ran at the call");
    assert!(vt.is_completed());
    assert_eq!(drive(vt), 1);
    let job = jobs.0.borrow_mut().pop().expect("submitted");
    assert_eq!(futures::executor::block_on(job), 41);
}

#[test]
fn a_synchronous_body_with_an_impl_trait_output_runs_at_the_call() {
    let tally = Tally(Cell::new(1));
    let vt = tally.show();
    assert_eq!(tally.0.get(), 2, "ran at the call");
    assert!(vt.is_completed());
    assert_eq!(drive(vt).to_string(), "2");
    assert_eq!(drive(tally.parsed("40")).unwrap().to_string(), "42");
    let empty = drive(tally.parsed("")).err().map(|e| e.to_string());
    assert_eq!(empty.as_deref(), Some("empty"));
    assert!(drive(tally.parsed("x")).is_err());
}

#[test]
fn a_synchronous_body_runs_at_the_call_and_is_ready() {
    let before = CALLS.load(Ordering::SeqCst);
    let vt: ValueTask<'_, u32> = counted(1);
    assert_eq!(CALLS.load(Ordering::SeqCst), before + 1, "ran at the call");
    assert!(vt.is_completed());
    assert_eq!(vt.try_get().ok(), Some(2));
}

#[test]
fn return_question_mark_and_std_macros_behave_as_in_an_async_fn() {
    assert_eq!(drive(parse_all(&["1", "2"])).unwrap(), 3);
    assert_eq!(
        drive(parse_all(&["4", "", "x"])).unwrap(),
        4,
        "early return"
    );
    let err = drive(parse_all(&["1", "x"])).unwrap_err();
    assert!(err.to_string().contains("invalid digit"), "{err}");
    assert_eq!(drive(take_apart((1, 2), 1)), 6);
}

#[test]
fn a_panic_in_a_synchronous_body_is_kept_until_the_await() {
    let vt = std::panic::catch_unwind(|| panics(0)).expect("the call returns");
    assert!(vt.is_completed());
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drive(vt))).unwrap_err();
    let message = caught.downcast_ref::<&str>().copied().unwrap_or_default();
    assert_eq!(message, "sync body panicked at zero");
    assert_eq!(drive(panics(3)), 3);
}

#[test]
fn a_body_with_an_unknown_macro_takes_the_pooled_path_and_still_completes_at_once() {
    let vt = with_unknown_macro(4);
    assert!(vt.is_completed());
    assert_eq!(drive(vt), 8);
}

#[test]
fn trait_methods_defaults_and_boxed_receivers_through_dyn() {
    let meter: Box<dyn Meter> = Box::new(Gauge(5));
    assert_eq!(drive(meter.read()), 5);
    assert_eq!(drive(meter.read_twice()), 42);
    assert_eq!(drive(meter.consume()), 6);
}

#[test]
fn local_bodies_take_non_send_arguments() {
    let counter = Rc::new(Cell::new(0));
    let vt: LocalValueTask<'_, u32> = local_counter(Rc::clone(&counter));
    assert_eq!(counter.get(), 1, "ran at the call");
    assert_eq!(drive(vt), 1);
}

#[test]
fn a_mut_self_method_can_return_a_reborrow_of_self() {
    let mut counter = Counter { hits: 0 };
    *drive(counter.hits_mut()) += 10;
    assert_eq!(counter.hits, 11);
}

#[test]
fn locals_temporaries_and_arguments_drop_as_in_an_async_fn() {
    let items = std::sync::Arc::new(std::sync::Mutex::new(vec![1, 2, 3]));
    assert_eq!(drive(locked_len(items)), 3);

    DROPS.lock().unwrap().clear();
    assert_eq!(drive(drop_order(Loud("argument"))), 9);
    let synchronous = std::mem::take(&mut *DROPS.lock().unwrap());
    assert_eq!(drive(drop_order_suspending(Loud("argument"))), 9);
    let suspending = std::mem::take(&mut *DROPS.lock().unwrap());
    assert_eq!(drive(drop_order_native(Loud("argument"))), 9);
    let native = std::mem::take(&mut *DROPS.lock().unwrap());
    assert_eq!(native.last(), Some(&"argument"));
    assert_eq!(
        synchronous, native,
        "the synchronous path drops as an `async fn` does"
    );
    assert_eq!(
        suspending, native,
        "the pooled path drops as an `async fn` does"
    );
}

#[test]
fn a_macro_nested_in_a_std_macro_can_still_suspend() {
    assert_eq!(drive(nested_join()), (1, 2));
}
