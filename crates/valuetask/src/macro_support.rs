//! Items `#[value_task]`'s expansion refers to; not part of the API.

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
