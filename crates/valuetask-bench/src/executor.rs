//! The smallest executor the scenarios need: poll a future once with a no-op waker.
//!
//! Every scenario awaits only results that are already available, so one poll must finish
//! it. A `Pending` means the scenario is not measuring the ready path it claims to, so it
//! panics instead of spinning.

use std::future::{Future, IntoFuture};
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Drive `future` to completion in a single poll.
///
/// # Panics
/// If the future returns `Pending`.
#[inline]
pub fn run_ready<F: IntoFuture>(future: F) -> F::Output {
    let future = pin!(future.into_future());
    match future.poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => pending(),
    }
}

#[cold]
#[inline(never)]
fn pending() -> ! {
    panic!("a ready-path scenario returned Pending: it is not measuring what it claims to")
}
