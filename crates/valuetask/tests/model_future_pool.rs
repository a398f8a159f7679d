//! Model-based test of pooled future storage (`ValueTask::new` / `start` / `boxed` and
//! `#[value_task]`): random sequences that start futures (some complete at once, some suspend
//! on a completion source), resume them, poll them here or on a second thread, and drop them
//! pending or finished. After every step: outputs as the model says (a future that suspended
//! at its start says `Pending` at its first poll, see `stored_future.rs`), and every future
//! dropped exactly once, wherever its block was taken or returned. Run with a one-word output
//! (inline in the value task) and with a 256-byte one (held in the body's block when it
//! completes at the call, returned by the block's poll into the poller's place when it
//! suspends, the block then kept until the value task drops), whose every value made is
//! dropped exactly once too.
//!
//! `PROPTEST_CASES` raises the number of sequences (default 256).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use proptest::prelude::*;
use valuetask::{value_task, Task, TaskCompletionSource, ValueTask};

/// Counts its drops, so each future's state is dropped exactly once.
struct DropCounter(Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Debug, Clone, Copy)]
enum How {
    New,
    Start,
    Boxed,
    Method,
}

#[derive(Debug, Clone)]
enum Op {
    /// Start a future of the given kind that waits for its gate (or not, when `ready`).
    Start(How, bool),
    /// Complete future `i`'s gate.
    Resume(usize),
    /// Poll future `i` here.
    Poll(usize),
    /// Poll future `i` on the second thread (moving it there and back).
    PollThere(usize),
    /// Drop future `i`, pending or finished.
    Drop(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let how = prop_oneof![
        Just(How::New),
        Just(How::Start),
        Just(How::Boxed),
        Just(How::Method)
    ];
    prop_oneof![
        2 => (how, any::<bool>()).prop_map(|(h, r)| Op::Start(h, r)),
        2 => (0..6usize).prop_map(Op::Resume),
        3 => (0..6usize).prop_map(Op::Poll),
        2 => (0..6usize).prop_map(Op::PollThere),
        1 => (0..6usize).prop_map(Op::Drop),
    ]
}

/// A future's output: a number the model predicts, in a one-word or a 256-byte value.
trait Output: Send + Sized + 'static {
    fn make(value: u32, outputs: &Outputs) -> Self;
    fn value(&self) -> u32;
}

/// How many large outputs were made and dropped.
#[derive(Default, Clone)]
struct Outputs {
    made: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
}

impl Output for u32 {
    fn make(value: u32, _: &Outputs) -> Self {
        value
    }
    fn value(&self) -> u32 {
        *self
    }
}

/// 256 bytes: the value, its copies in the padding (checked when read), and a drop counter.
struct Large {
    value: u32,
    copies: [u64; 30],
    _dropped: DropCounter,
}

impl Output for Large {
    fn make(value: u32, outputs: &Outputs) -> Self {
        outputs.made.fetch_add(1, Ordering::SeqCst);
        Large {
            value,
            copies: [u64::from(value) * 3; 30],
            _dropped: DropCounter(outputs.dropped.clone()),
        }
    }
    fn value(&self) -> u32 {
        assert!(
            self.copies.iter().all(|&c| c == u64::from(self.value) * 3),
            "torn output"
        );
        self.value
    }
}

struct Service;

#[value_task]
impl Service {
    async fn wait<O: Output>(
        &self,
        gate: Task<u32>,
        guard: DropCounter,
        ready: bool,
        outputs: Outputs,
    ) -> O {
        let _guard = guard;
        if ready {
            return O::make(7, &outputs);
        }
        O::make(gate.await.unwrap_or(0) + 1, &outputs)
    }
}

async fn waiting<O: Output>(
    gate: Task<u32>,
    guard: DropCounter,
    ready: bool,
    outputs: Outputs,
) -> O {
    let _guard = guard;
    if ready {
        return O::make(7, &outputs);
    }
    O::make(gate.await.unwrap_or(0) + 1, &outputs)
}

/// One started future and what the model expects of it.
struct Started<O: Output> {
    vt: Option<ValueTask<'static, O>>,
    gate: Option<TaskCompletionSource<u32>>,
    ready: bool,
    resumed: Option<u32>,
    drops: Arc<AtomicUsize>,
    finished: bool,
    /// Started at the call and suspended there, not polled since: its first poll hands the
    /// suspension to the caller, so it says `Pending` even if the gate opened meanwhile (the
    /// output is then kept for the next poll).
    first_poll: bool,
}

fn poll_once<O: Output>(vt: &mut ValueTask<'static, O>) -> Poll<O> {
    std::future::Future::poll(
        std::pin::Pin::new(vt),
        &mut Context::from_waker(Waker::noop()),
    )
}

fn run<O: Output>(ops: &[Op]) -> Result<(), TestCaseError> {
    let outputs = Outputs::default();
    // The second thread polls what it is sent and sends it back.
    type Job<O> = (
        ValueTask<'static, O>,
        mpsc::Sender<(ValueTask<'static, O>, Poll<O>)>,
    );
    let (to_there, jobs) = mpsc::channel::<Job<O>>();
    let there = std::thread::spawn(move || {
        for (mut vt, back) in jobs {
            let polled = poll_once(&mut vt);
            back.send((vt, polled)).unwrap();
        }
    });
    let mut futures: Vec<Started<O>> = Vec::new();
    for op in ops {
        match *op {
            Op::Start(how, ready) => {
                let gate = TaskCompletionSource::<u32>::new();
                let drops = Arc::new(AtomicUsize::new(0));
                let guard = DropCounter(drops.clone());
                let task = gate.task();
                let future = waiting::<O>(task.clone(), guard, ready, outputs.clone());
                let vt = match how {
                    How::New => ValueTask::new(future),
                    How::Start => ValueTask::start(future),
                    How::Boxed => ValueTask::boxed(future),
                    How::Method => {
                        drop(future); // its guard counts a drop: use a fresh counter
                        drops.store(0, Ordering::SeqCst);
                        Service.wait(task, DropCounter(drops.clone()), ready, outputs.clone())
                    }
                };
                // Eager kinds that complete at once have already dropped their state.
                let eager = !matches!(how, How::New);
                if eager && ready {
                    prop_assert!(vt.is_completed(), "{:?} ready at the call", how);
                }
                futures.push(Started {
                    vt: Some(vt),
                    gate: Some(gate),
                    ready,
                    resumed: None,
                    drops,
                    finished: false,
                    first_poll: eager && !ready,
                });
            }
            Op::Resume(i) => {
                if futures.is_empty() {
                    continue;
                }
                let n = futures.len();
                let f = &mut futures[i % n];
                if let Some(gate) = f.gate.take() {
                    gate.set_result(i as u32);
                    f.resumed = Some(i as u32);
                }
            }
            Op::Poll(i) | Op::PollThere(i) => {
                if futures.is_empty() {
                    continue;
                }
                let n = futures.len();
                let f = &mut futures[i % n];
                let Some(mut vt) = f.vt.take() else { continue };
                let polled = if matches!(op, Op::Poll(_)) {
                    poll_once(&mut vt)
                } else {
                    let (back, answer) = mpsc::channel();
                    to_there.send((vt, back)).unwrap();
                    let (returned, polled) = answer.recv().unwrap();
                    vt = returned;
                    polled
                };
                let expected = if f.ready {
                    Some(7)
                } else if std::mem::take(&mut f.first_poll) {
                    None
                } else {
                    f.resumed.map(|v| v + 1)
                };
                match (polled, expected) {
                    (Poll::Ready(v), Some(e)) => {
                        prop_assert_eq!(v.value(), e);
                        drop(v);
                        f.finished = true;
                        // Yielded: dropping it now releases nothing more.
                        drop(vt);
                    }
                    (Poll::Pending, None) => f.vt = Some(vt),
                    (polled, expected) => {
                        return Err(TestCaseError::fail(format!(
                            "polled {:?}, the model says {expected:?}",
                            polled.map(|v| v.value())
                        )))
                    }
                }
            }
            Op::Drop(i) => {
                if futures.is_empty() {
                    continue;
                }
                let n = futures.len();
                futures[i % n].vt = None;
            }
        }
        // A future's state is dropped once: when it finished or its value task was dropped
        // (a ready one at once, for the eager kinds), and never twice.
        for f in &futures {
            let drops = f.drops.load(Ordering::SeqCst);
            prop_assert!(drops <= 1, "a future's state dropped {} times", drops);
            if f.vt.is_none() {
                prop_assert_eq!(drops, 1, "gone but not dropped after {:?}", op);
            }
        }
    }
    drop(futures);
    drop(to_there);
    there.join().unwrap();
    // Every output made (taken, held in a block, or kept for the next poll) dropped once.
    prop_assert_eq!(
        outputs.made.load(Ordering::SeqCst),
        outputs.dropped.load(Ordering::SeqCst)
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
    ))]

    #[test]
    fn pooled_future_storage_follows_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        run::<u32>(&ops)?;
    }

    #[test]
    fn pooled_future_storage_of_large_outputs_follows_the_model(
        ops in proptest::collection::vec(op(), 1..40)
    ) {
        run::<Large>(&ops)?;
    }
}
