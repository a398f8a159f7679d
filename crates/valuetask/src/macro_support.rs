//! Items `#[value_task]`'s expansion refers to; not part of the API.
//!
//! [`receiver_is_send`] names a receiver that is not `Send` (and points to `?Send`) through
//! `#[diagnostic::on_unimplemented]`; [`call_once`] runs a body that cannot suspend; without
//! the `stats` feature `count!` is defined here as its argument, no code (with it,
//! `stats.rs`), and it wraps every `#[value_task]` body but `lazy` ones.

/// The `stats` advisor's count of a call (the value task itself without the feature).
pub use crate::count;

/// A receiver a `Send` method future can hold.
#[diagnostic::on_unimplemented(
    message = "the receiver `{Self}` is not `Send`, so this #[value_task] method's future cannot be `Send`",
    label = "not `Send`",
    note = "use #[value_task(?Send)] on the trait or impl: its methods then return `LocalValueTask`, which need not be `Send`"
)]
pub trait SendReceiver {}

impl<T: Send + ?Sized> SendReceiver for T {}

/// Fails to compile, with the message above, when a suspending `Send` method's receiver is not
/// `Send` (rustc's own error then names only the future).
#[inline(always)]
pub fn receiver_is_send<T: SendReceiver + ?Sized>(_: &T) {}

/// Runs a synchronous method body: the closure owns its captures (an `FnOnce` bound), as an
/// async block does, so a `&mut self` method may return a reborrow of `self`.
#[inline(always)]
pub fn call_once<R>(body: impl FnOnce() -> R) -> R {
    body()
}

/// Without the `stats` feature, [`count!`](crate::count) is its value task, unchanged: no
/// counting code is compiled (with the feature, see `valuetask::stats`). No .NET
/// counterpart: .NET has no `Task`-or-`ValueTask` advisor.
///
/// ```
/// let vt = valuetask::count!("answer", valuetask::ValueTask::from_result(42));
/// assert_eq!(vt.get_result(), 42);
/// ```
#[cfg(not(feature = "stats"))]
#[macro_export]
macro_rules! count {
    ($name:expr, $value_task:expr $(,)?) => {
        $value_task
    };
}
