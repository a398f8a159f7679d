//! Model-based tests of `ManualResetValueTaskSourceCore` and `CompletionPool`: random
//! operation sequences on the real types, checked after every step against a plain model,
//! including the panics a misuse gets (caught and compared with what the model predicts).
//!
//! `PROPTEST_CASES` raises the number of sequences (default 256); failures shrink to a minimal
//! sequence of operations.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use common::CountingWaker;
use proptest::prelude::*;
use valuetask::{CompletionPool, ManualResetValueTaskSourceCore, SourceStatus, TaskError};

fn cases() -> ProptestConfig {
    ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(256),
    )
}

fn counting_waker() -> (Arc<CountingWaker>, Waker) {
    CountingWaker::new()
}

/// The misuse panics print nothing while the model runs.
fn quietly<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    catch_unwind(AssertUnwindSafe(f))
}

fn silence_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info.to_string();
            if !(message.contains("version") || message.contains("taken")) {
                default(info);
            }
        }));
    });
}

// --- ManualResetValueTaskSourceCore --------------------------------------------------------

#[derive(Debug, Clone)]
enum CoreOp {
    SetResult(u8),
    SetCanceled,
    /// Poll the current generation with waker `0..2`.
    Poll(usize),
    /// Poll a token `1..3` versions away from the current one.
    PollStale(u32),
    Status,
    StatusStale(u32),
    Reset,
}

fn core_op() -> impl Strategy<Value = CoreOp> {
    prop_oneof![
        2 => any::<u8>().prop_map(CoreOp::SetResult),
        1 => Just(CoreOp::SetCanceled),
        3 => (0..2usize).prop_map(CoreOp::Poll),
        1 => (1..3u32).prop_map(CoreOp::PollStale),
        1 => Just(CoreOp::Status),
        1 => (1..3u32).prop_map(CoreOp::StatusStale),
        2 => Just(CoreOp::Reset),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Generation {
    Pending,
    Complete(Option<u8>),
    Taken,
}

fn run_core(ops: &[CoreOp]) -> Result<(), TestCaseError> {
    silence_panics();
    let core = ManualResetValueTaskSourceCore::<u8>::new();
    let wakers = [counting_waker(), counting_waker()];
    // Model.
    let mut version = 0u32;
    let mut generation = Generation::Pending;
    let mut registered: Option<usize> = None;
    let mut wakes = [0usize; 2];
    let wake_registered = |registered: &mut Option<usize>, wakes: &mut [usize; 2]| {
        if let Some(k) = registered.take() {
            wakes[k] += 1;
        }
    };
    for op in ops {
        match *op {
            CoreOp::SetResult(v) => {
                let done = core.try_set_result(v).is_ok();
                prop_assert_eq!(done, generation == Generation::Pending);
                if done {
                    generation = Generation::Complete(Some(v));
                    wake_registered(&mut registered, &mut wakes);
                }
            }
            CoreOp::SetCanceled => {
                let done = core.try_set_canceled();
                prop_assert_eq!(done, generation == Generation::Pending);
                if done {
                    generation = Generation::Complete(None);
                    wake_registered(&mut registered, &mut wakes);
                }
            }
            CoreOp::Poll(k) => {
                let polled =
                    quietly(|| core.poll_result(version, &mut Context::from_waker(&wakers[k].1)));
                match (generation, polled) {
                    (Generation::Pending, Ok(Poll::Pending)) => registered = Some(k),
                    (Generation::Complete(v), Ok(Poll::Ready(result))) => {
                        let expected = match v {
                            Some(v) => Ok(v),
                            None => Err(TaskError::Canceled),
                        };
                        prop_assert_eq!(result, expected);
                        generation = Generation::Taken;
                    }
                    (Generation::Taken, Err(_)) => {} // taken twice: a panic naming it
                    (g, p) => {
                        return Err(TestCaseError::fail(format!(
                            "poll in {g:?} gave {:?}",
                            p.map(|p| p.map(|r| r.map_err(|e| e.to_string())))
                        )))
                    }
                }
            }
            CoreOp::PollStale(delta) => {
                let stale = version.wrapping_add(delta);
                let polled =
                    quietly(|| core.poll_result(stale, &mut Context::from_waker(&wakers[0].1)));
                prop_assert!(polled.is_err(), "a stale token must panic");
            }
            CoreOp::Status => {
                let expected = match generation {
                    Generation::Pending => SourceStatus::Pending,
                    Generation::Complete(Some(_)) | Generation::Taken => SourceStatus::Succeeded,
                    Generation::Complete(None) => SourceStatus::Canceled,
                };
                // A taken generation keeps its outcome's status.
                let status = core.status(version);
                if generation == Generation::Taken {
                    prop_assert!(status.is_completed());
                } else {
                    prop_assert_eq!(status, expected);
                }
            }
            CoreOp::StatusStale(delta) => {
                prop_assert!(quietly(|| core.status(version.wrapping_add(delta))).is_err());
            }
            CoreOp::Reset => {
                core.reset();
                // A consumer still waiting on the old generation is woken (to find its token
                // stale); a completed generation's consumer was woken already.
                if generation == Generation::Pending {
                    wake_registered(&mut registered, &mut wakes);
                }
                registered = None;
                version = version.wrapping_add(1);
                generation = Generation::Pending;
            }
        }
        prop_assert_eq!(core.version(), version, "after {:?}", op);
        for (k, (counter, _)) in wakers.iter().enumerate() {
            prop_assert_eq!(counter.count(), wakes[k], "waker {} after {:?}", k, op);
        }
    }
    Ok(())
}

// --- CompletionPool ------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum PoolOp {
    Rent,
    /// Complete rental `i` (on another thread when `far`).
    Complete(usize, u8, bool),
    DropCompleter(usize),
    /// Poll rental `i`'s value task.
    Poll(usize),
    DropValueTask(usize),
    DropPool,
}

fn pool_op() -> impl Strategy<Value = PoolOp> {
    prop_oneof![
        2 => Just(PoolOp::Rent),
        2 => (0..4usize, any::<u8>(), any::<bool>()).prop_map(|(i, v, far)| PoolOp::Complete(i, v, far)),
        1 => (0..4usize).prop_map(PoolOp::DropCompleter),
        3 => (0..4usize).prop_map(PoolOp::Poll),
        1 => (0..4usize).prop_map(PoolOp::DropValueTask),
        1 => Just(PoolOp::DropPool),
    ]
}

type Rental = (
    Option<valuetask::ValueTask<'static, Result<u8, TaskError>>>,
    Option<valuetask::Completer<u8>>,
    Option<Result<u8, TaskError>>,
    Arc<CountingWaker>,
    Waker,
    usize,
    bool,
);

fn run_pool(ops: &[PoolOp]) -> Result<(), TestCaseError> {
    let mut pool = Some(CompletionPool::<u8>::new());
    // (value task, completer, model outcome, waker counter, waker, expected wakes, registered)
    let mut rentals: Vec<Rental> = Vec::new();
    for op in ops {
        match *op {
            PoolOp::Rent => {
                if let Some(pool) = &pool {
                    let (vt, completer) = pool.rent();
                    let (counter, waker) = counting_waker();
                    rentals.push((Some(vt), Some(completer), None, counter, waker, 0, false));
                }
            }
            PoolOp::Complete(i, v, far) => {
                if rentals.is_empty() {
                    continue;
                }
                let n = rentals.len();
                let r = &mut rentals[i % n];
                if let Some(completer) = r.1.take() {
                    if far {
                        std::thread::spawn(move || completer.set_result(v))
                            .join()
                            .unwrap();
                    } else {
                        completer.set_result(v);
                    }
                    r.2 = Some(Ok(v));
                    if std::mem::take(&mut r.6) {
                        r.5 += 1;
                    }
                }
            }
            PoolOp::DropCompleter(i) => {
                if rentals.is_empty() {
                    continue;
                }
                let n = rentals.len();
                let r = &mut rentals[i % n];
                if r.1.take().is_some() {
                    r.2 = Some(Err(TaskError::Abandoned));
                    if std::mem::take(&mut r.6) {
                        r.5 += 1;
                    }
                }
            }
            PoolOp::Poll(i) => {
                if rentals.is_empty() {
                    continue;
                }
                let n = rentals.len();
                let r = &mut rentals[i % n];
                let Some(vt) = r.0.as_mut() else { continue };
                let polled = std::pin::Pin::new(vt).poll_unpin_with(&r.4);
                match (&r.2, polled) {
                    (None, Poll::Pending) => r.6 = true,
                    (Some(expected), Poll::Ready(result)) => {
                        prop_assert_eq!(&result, expected);
                        r.0 = None; // consumed: dropped, its slot recycled
                    }
                    (expected, polled) => {
                        return Err(TestCaseError::fail(format!(
                            "poll gave {polled:?}, the model says {expected:?}"
                        )))
                    }
                }
            }
            PoolOp::DropValueTask(i) => {
                if rentals.is_empty() {
                    continue;
                }
                let n = rentals.len();
                let r = &mut rentals[i % n];
                r.0 = None;
                r.6 = false;
            }
            PoolOp::DropPool => pool = None,
        }
        for (_, _, _, counter, _, wakes, _) in &rentals {
            prop_assert_eq!(counter.count(), *wakes, "after {:?}", op);
        }
    }
    Ok(())
}

/// Polling a value task by hand with a given waker.
trait PollWith: std::future::Future {
    fn poll_unpin_with(self: std::pin::Pin<&mut Self>, waker: &Waker) -> Poll<Self::Output>;
}

impl<F: std::future::Future> PollWith for F {
    fn poll_unpin_with(self: std::pin::Pin<&mut Self>, waker: &Waker) -> Poll<F::Output> {
        self.poll(&mut Context::from_waker(waker))
    }
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn the_source_core_follows_the_model(ops in proptest::collection::vec(core_op(), 1..40)) {
        run_core(&ops)?;
    }

    #[test]
    fn the_completion_pool_follows_the_model(ops in proptest::collection::vec(pool_op(), 1..40)) {
        run_pool(&ops)?;
    }
}
