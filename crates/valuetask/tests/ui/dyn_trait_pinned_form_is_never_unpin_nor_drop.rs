// Mistake (or attack): a `dyn` form with a pinned receiver passes its pin on to the trait
// object inside it, so safe code must not make the form `Unpin` (then any `&mut` implementor
// could be pinned in place and moved after) nor give it a `Drop` (which gets `&mut` to a
// pinned form). Both impls conflict with the ones the attribute writes.
use std::pin::Pin;
use std::task::{Context, Poll};
use valuetask::dyn_trait;

#[dyn_trait(DynPoller = dyn Poller)]
trait Poller {
    fn poll_once(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()>;
}

impl Unpin for DynPoller<'_> {}

impl Drop for DynPoller<'_> {
    fn drop(&mut self) {}
}

fn main() {}
