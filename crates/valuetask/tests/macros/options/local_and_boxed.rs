//! `#[value_task(?Send)]` (futures that are not `Send`, `LocalValueTask`) and the `boxed`
//! opt-out per method and per item.

use crate::common;

use std::cell::RefCell;
use std::rc::Rc;

use common::{allocations_during, drive, yield_once};
use valuetask::{value_task, LocalValueTask, ValueTask};

#[value_task(?Send)]
trait Local {
    async fn bump(&self) -> usize;
}

struct Shared(Rc<RefCell<usize>>);

#[value_task(?Send)]
impl Local for Shared {
    async fn bump(&self) -> usize {
        let rc = Rc::clone(&self.0);
        yield_once().await;
        *rc.borrow_mut() += 1;
        let n = *rc.borrow();
        n
    }
}

#[test]
fn not_send_futures_work_through_dyn() {
    let s = Shared(Rc::new(RefCell::new(0)));
    let local: &dyn Local = &s;
    let vt: LocalValueTask<'_, usize> = local.bump();
    assert_eq!(drive(vt), 1);
    assert_eq!(drive(local.bump()), 2);
}

#[value_task]
trait Mixed: Send + Sync {
    async fn pooled(&self) -> u8;
    /// Boxed in the impl below: storage belongs to a body.
    async fn boxed(&self) -> u8;
}

struct M;

#[value_task]
impl Mixed for M {
    async fn pooled(&self) -> u8 {
        1
    }
    #[value_task(boxed)]
    async fn boxed(&self) -> u8 {
        2
    }
}

#[value_task(boxed)]
async fn always_boxed() -> u8 {
    3
}

#[value_task(boxed)]
async fn boxed_suspending() -> u8 {
    yield_once().await;
    4
}

#[test]
fn boxed_methods_allocate_per_suspending_call_and_pooled_ones_do_not() {
    let m: &dyn Mixed = &M;
    // One call of each first: the steady state is measured, not a call site's first call
    // (with the `stats` feature that registers the site and may allocate this thread's page
    // of counters, depending on how many sites other tests' threads registered before).
    drive(m.pooled());
    drive(m.boxed());
    drive(always_boxed());
    drive(boxed_suspending());
    let (_, pooled) = allocations_during(|| {
        for _ in 0..100 {
            drive(m.pooled());
        }
    });
    let (_, boxed) = allocations_during(|| {
        for _ in 0..100 {
            drive(m.boxed());
        }
    });
    let (_, free_boxed) = allocations_during(|| {
        for _ in 0..100 {
            drive(always_boxed());
        }
    });
    assert_eq!(pooled, 0);
    // `boxed` changes where a suspended future is kept, not when the body runs: a body that
    // completes at once gives its value with no box, one that suspends is boxed.
    assert_eq!(boxed, 0, "completes at once: no box");
    assert_eq!(free_boxed, 0, "no .await: a plain call, no box");
    let (_, suspending) = allocations_during(|| {
        for _ in 0..100 {
            drive(boxed_suspending());
        }
    });
    assert_eq!(suspending, 100, "one box per call that suspends");
    let typed: ValueTask<'_, u8> = always_boxed();
    assert_eq!(drive(typed), 3);
}

#[test]
fn a_local_value_task_reports_completion_and_shows_its_backing() {
    let tcs = valuetask::TaskCompletionSource::<u8>::new();
    let local = LocalValueTask::from(ValueTask::from(tcs.task()));
    assert!(!local.is_completed());
    let shown = format!("{local:?}");
    assert!(
        shown.starts_with("LocalValueTask(ValueTask { backing: ")
            && shown.contains("is_completed: false"),
        "{shown}"
    );
    tcs.set_result(4);
    assert!(local.is_completed());
    assert_eq!(local.get_result(), Ok(4));
    assert!(LocalValueTask::from_result(1).is_completed());
}
