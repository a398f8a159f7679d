//! The constructors of value tasks over the library's own sources, kept on this side so that
//! the sources (a lower layer) never name `ValueTask`:
//! [`ManualResetValueTaskSourceCore::value_task`] and [`CompletionPool::rent`].

use crate::source::{Completer, CompletionPool, ManualResetValueTaskSourceCore};
use crate::task::TaskOutput;
use crate::ValueTask;

use super::records::CoreRecord;

impl<T> ManualResetValueTaskSourceCore<T> {
    /// A value task for the current generation, borrowing the core (.NET: an
    /// `IValueTaskSource<TResult>` returning `new ValueTask<TResult>(this, _core.Version)`).
    ///
    /// ```
    /// let core = valuetask::ManualResetValueTaskSourceCore::<u8>::new();
    /// let vt = core.value_task();
    /// assert!(!vt.is_completed());
    /// core.set_result(8);
    /// assert!(vt.is_completed());
    /// assert_eq!(vt.get_result(), Ok(8));
    /// ```
    pub fn value_task(&self) -> ValueTask<'_, TaskOutput<T>>
    where
        T: Send,
    {
        let record = CoreRecord::store(self.view(), self.version());
        // SAFETY: a fresh record borrowing the core for `'_`, of a `Send` output.
        unsafe { ValueTask::from_header(record) }
    }
}

impl<T: Send + 'static> CompletionPool<T> {
    /// A pending one-shot completion: the value task to await and the completer that
    /// completes it (`tokio::sync::oneshot::channel()`; in .NET, renting a pooled
    /// `IValueTaskSource` and taking its `ValueTask`). No allocation when the pool has an
    /// idle slot.
    ///
    /// ```
    /// use valuetask::CompletionPool;
    ///
    /// let pool = CompletionPool::<u8>::new();
    /// let (reply, completer) = pool.rent();
    /// assert!(!reply.is_completed());
    /// completer.set_result(3);
    /// assert!(reply.is_completed());
    /// assert_eq!(reply.get_result(), Ok(3));
    /// ```
    #[inline]
    pub fn rent(&self) -> (ValueTask<'static, TaskOutput<T>>, Completer<T>) {
        let (backing, completer) = self.rent_backing();
        (ValueTask::from_slot(backing), completer)
    }
}
