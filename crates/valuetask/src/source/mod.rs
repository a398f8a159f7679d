//! `ValueTaskSource<T>`: an object that backs [`ValueTask`](crate::ValueTask)s by token
//! (.NET `System.Threading.Tasks.Sources.IValueTaskSource<TResult>`).

mod core;
pub(crate) mod pool;

use std::task::{Context, Poll};

pub use self::core::ManualResetValueTaskSourceCore;
pub(crate) use self::core::{Consumer, CoreView};
pub use self::pool::{Completer, CompletionPool};
pub use crate::backing::SourceStatus;

/// An object that produces the result of an operation identified by a `u32` token, so one
/// object can back many [`ValueTask`](crate::ValueTask)s over its life, one at a time
/// (.NET `IValueTaskSource<TResult>`; the token is wider than .NET's `short`).
///
/// `poll_result` replaces .NET's `OnCompleted` + `GetResult`: it returns the result when
/// ready, or stores the waker and returns `Pending`, waking it once the result is ready.
/// The trait is object safe; `ValueTask` holds a `&dyn ValueTaskSource<T>` or an
/// `Arc<dyn ValueTaskSource<T>>` in a pooled record (no allocation once the pool is warm).
///
/// A source is shared with its producer, hence `Send + Sync`. Its `wake` calls may run code
/// inline (a `ValueTask::as_task` bridge polls the source from its waker), so do not hold a lock
/// that `poll_result` needs while waking.
///
/// ```
/// use std::task::{Context, Poll};
/// use valuetask::{SourceStatus, ValueTask, ValueTaskSource};
///
/// /// A source that is always ready with its token doubled.
/// struct Doubler;
/// impl ValueTaskSource<u64> for Doubler {
///     fn status(&self, _token: u32) -> SourceStatus {
///         SourceStatus::Succeeded
///     }
///     fn poll_result(&self, token: u32, _cx: &mut Context<'_>) -> Poll<u64> {
///         Poll::Ready(u64::from(token) * 2)
///     }
/// }
///
/// let source = Doubler;
/// assert_eq!(ValueTask::from_source(&source, 21).get_result(), 42);
/// ```
pub trait ValueTaskSource<T>: Send + Sync {
    /// The status of the operation named by `token` (.NET `GetStatus`).
    fn status(&self, token: u32) -> SourceStatus;

    /// The result of the operation named by `token` if it is complete; otherwise register
    /// `cx`'s waker and return `Pending` (.NET `OnCompleted` + `GetResult`). As with
    /// `Future::poll`, only the waker of the latest `Pending` poll must be woken: a source that
    /// keeps an earlier one instead may never wake its consumer. A source may require that the
    /// result is taken at most once per token.
    fn poll_result(&self, token: u32, cx: &mut Context<'_>) -> Poll<T>;

    /// A value task of `token` is being dropped, perhaps while it waits: a source that
    /// keeps one registration per operation and refuses a second may forget this one's
    /// here. A source built on a [`ManualResetValueTaskSourceCore`] forwards it to the
    /// core's [`withdraw`](ManualResetValueTaskSourceCore::withdraw), without which a new
    /// value task of the same operation, after one was dropped while it waited, may panic
    /// as a second consumer (a value task is named by its record's address, which the
    /// next value task made on the thread often reuses: then it passes as the same one). Does nothing by default. No .NET counterpart: a .NET `await`
    /// cannot be withdrawn; a Rust future is cancelled by dropping it.
    fn withdraw(&self, token: u32) {
        let _ = token;
    }
}
