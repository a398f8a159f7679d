//! Running continuations asynchronously (.NET's `RunContinuationsAsynchronously`).
//!
//! In Rust a continuation is a `Waker::wake` call. Most wakers only schedule work, but some run
//! code inline (a thread unpark, the `as_task` bridge that polls its source from `wake`). With
//! asynchronous continuations the completing call never invokes a waker itself: it hands the
//! wakers to one process-wide thread, `valuetask-continuations`, started on first use, which
//! wakes them after (or while) the completing call returns. Each such hand-off allocates one
//! boxed job.

use std::sync::mpsc::{channel, Sender};
use std::sync::{Mutex, OnceLock};
use std::thread;

type Job = Box<dyn FnOnce() + Send>;

static QUEUE: OnceLock<Mutex<Sender<Job>>> = OnceLock::new();

fn queue() -> &'static Mutex<Sender<Job>> {
    QUEUE.get_or_init(|| {
        let (tx, rx) = channel::<Job>();
        thread::Builder::new()
            .name("valuetask-continuations".into())
            .spawn(move || {
                for job in rx {
                    // A panicking waker must not take the thread (and every later wake-up)
                    // down with it.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                }
            })
            .expect("valuetask: failed to start the continuation thread");
        Mutex::new(tx)
    })
}

/// Run `job` on the continuation thread, never on the caller's.
pub(crate) fn wake_later(job: impl FnOnce() + Send + 'static) {
    let sender = queue().lock().unwrap_or_else(|e| e.into_inner()).clone();
    sender
        .send(Box::new(job))
        .expect("valuetask: the continuation thread has stopped");
}
