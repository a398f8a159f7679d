//! The smallest executors the scenarios need, all with a no-op waker.
//!
//! [`run_ready`] polls once: single-threaded scenarios await only results that are already
//! available, so a `Pending` means the scenario is not measuring the ready path it claims to,
//! and it panics instead of spinning. [`poll_around`] polls before and after the result is
//! produced on another thread, so every implementation waits the same way.

use std::future::{Future, IntoFuture};
use std::pin::{pin, Pin};
use std::task::{Context, Poll, Waker};

/// Drive `future` to completion in a single poll.
///
/// Always inlined, as the `.await` it stands for is: left to the compiler, whether this
/// driver is inlined depends on how rustc partitions the crate and on the size of the
/// future, and when it is not, the future is handed over through memory, a cost of the
/// harness that reaches the implementations unequally (a value task moves its whole result,
/// a box 16 bytes).
///
/// # Panics
/// If the future returns `Pending`.
#[inline(always)]
pub fn run_ready<F: IntoFuture>(future: F) -> F::Output {
    let future = pin!(future.into_future());
    match future.poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => pending(),
    }
}

/// Like [`run_ready`], but the poll is a call the compiler cannot inline, as an executor's
/// poll of a task is: the future's state lives in memory, not in registers.
///
/// Only the poll is out of line: the wrapper is always inlined into the scenario's loop. Left
/// to the compiler, whether it is inlined depends on the size of the future's drop glue, and
/// when it is not, the future is handed over through memory and copied with wide loads of
/// fields just written by narrow stores, which stall on store forwarding: a cost of the
/// harness, not of the future.
///
/// # Panics
/// If the future returns `Pending`.
#[inline(always)]
pub fn run_ready_out_of_line<F: IntoFuture>(future: F) -> F::Output {
    #[inline(never)]
    fn poll<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
        future.poll(&mut Context::from_waker(Waker::noop()))
    }
    match poll(pin!(future.into_future())) {
        Poll::Ready(output) => output,
        Poll::Pending => pending(),
    }
}

#[cold]
#[inline(never)]
fn pending() -> ! {
    panic!("a ready-path scenario returned Pending: it is not measuring what it claims to")
}

/// Poll `future` once (registering its waker, as an executor's first poll does), run
/// `meanwhile` (which makes it ready, on this thread or another, and returns after), then poll
/// it once more: for results produced on another thread, every implementation waits the same
/// way, and nobody polls while the producer works. Always inlined, as [`run_ready`] is.
///
/// # Panics
/// If the second poll returns `Pending`.
#[inline(always)]
pub fn poll_around<F: IntoFuture>(future: F, meanwhile: impl FnOnce()) -> F::Output {
    let mut future = pin!(future.into_future());
    let mut cx = Context::from_waker(Waker::noop());
    let first = future.as_mut().poll(&mut cx);
    meanwhile();
    if let Poll::Ready(output) = first {
        return output;
    }
    match future.poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => pending(),
    }
}

/// Drive `future` to completion on this thread, polling again at once after every `Pending`
/// (for futures that wake themselves, like [`yield_once`]). Always inlined, as [`run_ready`]
/// is.
#[inline(always)]
pub fn poll_to_completion<F: IntoFuture>(future: F) -> F::Output {
    let mut future = pin!(future.into_future());
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

/// Suspend once: the first poll wakes the task and returns `Pending`, the second is `Ready`.
pub async fn yield_once() {
    struct YieldOnce(bool);
    impl Future for YieldOnce {
        type Output = ();
        fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if std::mem::replace(&mut self.0, true) {
                Poll::Ready(())
            } else {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }
    YieldOnce(false).await
}
