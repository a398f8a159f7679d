//! A worker thread that takes jobs from a one-slot mailbox it spins on: handing a job to
//! another core costs a couple of cache-line transfers, not a thread wake-up, so a cross-thread
//! scenario measures what crosses the threads rather than the scheduler. The worker parks only
//! after it has been idle for a while (between samples and scenarios).
//!
//! # Invariants
//!
//! `job` is written only by the sender while `state` is `EMPTY`, and read only by the worker
//! after it saw `FULL` (Acquire), which the sender stored with Release after the write; the
//! worker stores `EMPTY` (Release) after taking it. One sender (`&mut self`), one worker.

use std::cell::UnsafeCell;
use std::hint::spin_loop;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

const EMPTY: u8 = 0;
const FULL: u8 = 1;
const CLOSED: u8 = 2;
/// Idle polls before the worker parks: long enough to bridge the gap between two jobs of a
/// batch, short enough (tens of microseconds) that a worker whose batch ended does not spin
/// through the next implementation's batch.
const SPINS_BEFORE_PARK: u32 = 2_000;

struct Mailbox<J> {
    state: AtomicU8,
    job: UnsafeCell<Option<J>>,
    /// Jobs run to the end so far (Release after each).
    finished: AtomicU64,
}

// SAFETY: `job` moves a `J: Send` between the two threads under the protocol in the module
// invariants; nothing is shared by reference.
unsafe impl<J: Send> Sync for Mailbox<J> {}

/// The sending side; dropping it stops and joins the worker.
pub struct SpinWorker<J: Send + 'static> {
    mailbox: Arc<Mailbox<J>>,
    thread: Option<JoinHandle<()>>,
    /// Jobs sent so far.
    sent: u64,
}

impl<J: Send + 'static> SpinWorker<J> {
    /// Start a worker that runs `run` on every job it is sent.
    pub fn new(run: impl Fn(J) + Send + 'static) -> Self {
        let mailbox = Arc::new(Mailbox {
            state: AtomicU8::new(EMPTY),
            job: UnsafeCell::new(None),
            finished: AtomicU64::new(0),
        });
        let inbox = Arc::clone(&mailbox);
        let thread = thread::spawn(move || {
            let mut idle = 0u32;
            let mut finished = 0u64;
            loop {
                match inbox.state.load(Ordering::Acquire) {
                    FULL => {
                        // SAFETY: `FULL` seen with Acquire: the sender wrote the job and will
                        // not touch it until we store `EMPTY`.
                        let job = unsafe { (*inbox.job.get()).take() };
                        inbox.state.store(EMPTY, Ordering::Release);
                        run(job.expect("a full mailbox holds a job"));
                        // The only writer: a plain store, no locked instruction in the cycle.
                        finished += 1;
                        inbox.finished.store(finished, Ordering::Release);
                        idle = 0;
                    }
                    CLOSED => return,
                    _ if idle < SPINS_BEFORE_PARK => {
                        idle += 1;
                        spin_loop();
                    }
                    // `send` and `drop` unpark after storing: a token left by an unpark makes
                    // this return at once, so no job is missed.
                    _ => thread::park(),
                }
            }
        });
        SpinWorker {
            mailbox,
            thread: Some(thread),
            sent: 0,
        }
    }

    /// Hand `job` to the worker (waiting, spinning, for the previous one to be taken).
    pub fn send(&mut self, job: J) {
        let mut spins = 0u32;
        while self.mailbox.state.load(Ordering::Acquire) != EMPTY {
            self.check_alive(&mut spins);
            spin_loop();
        }
        // SAFETY: `EMPTY` seen with Acquire: the worker took the previous job and does not
        // touch the slot until we store `FULL`; we are the only sender (`&mut self`).
        unsafe { *self.mailbox.job.get() = Some(job) };
        self.mailbox.state.store(FULL, Ordering::Release);
        self.sent += 1;
        if let Some(thread) = &self.thread {
            thread.thread().unpark();
        }
    }

    /// Spin until the worker has run every job sent so far; what they did is visible after.
    pub fn wait_until_done(&self) {
        let mut spins = 0u32;
        while self.mailbox.finished.load(Ordering::Acquire) != self.sent {
            self.check_alive(&mut spins);
            spin_loop();
        }
    }

    /// Every 1024 spins, panic if the worker has stopped (a job panicked): waiting for it
    /// would never end.
    fn check_alive(&self, spins: &mut u32) {
        *spins = spins.wrapping_add(1);
        if *spins % 1024 == 0 && self.thread.as_ref().is_some_and(JoinHandle::is_finished) {
            panic!("SpinWorker: the worker thread stopped (a job panicked)");
        }
    }
}

impl<J: Send + 'static> Drop for SpinWorker<J> {
    fn drop(&mut self) {
        while self.mailbox.state.load(Ordering::Acquire) == FULL {
            spin_loop();
        }
        self.mailbox.state.store(CLOSED, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            if let Err(panic) = thread.join() {
                // A job's panic (a failed assertion) fails the caller, unless it is unwinding.
                if !std::thread::panicking() {
                    std::panic::resume_unwind(panic);
                }
            }
        }
    }
}

impl<J: Send + 'static> std::fmt::Debug for SpinWorker<J> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpinWorker").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::SpinWorker;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    #[test]
    fn every_job_runs_once_in_order() {
        let sum = Arc::new(AtomicU64::new(0));
        let seen = Arc::clone(&sum);
        let mut worker = SpinWorker::new(move |v: u64| {
            // Order check: each job sees the sum of the ones before it.
            assert_eq!(seen.load(Ordering::SeqCst), v * (v - 1) / 2);
            seen.fetch_add(v, Ordering::SeqCst);
        });
        for v in 1..=1000u64 {
            worker.send(v);
        }
        drop(worker);
        assert_eq!(sum.load(Ordering::SeqCst), 1000 * 1001 / 2);
    }
}
