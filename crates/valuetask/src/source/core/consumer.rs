//! Which value task is polling a source on this thread (one consumer per generation).

/// Which value task is polling a source on this thread, so a core can tell a second consumer
/// of a generation from its one consumer polling again (perhaps from another task, with
/// another waker). A value task's source record sets it around its call to `poll_result`
/// (its own address, never 0); anything else polls as 0, "not known", which is never
/// refused (a pooled slot, whose consumer is unique by construction, polls as 0 explicitly).
/// A core polled by hand inside a source's `poll_result`, on behalf of something else, would
/// be credited to the value task polling that source. Under loom, which runs its model
/// threads on one OS thread, the consumer is a loom thread-local: each model thread has its
/// own, as each OS thread has here.
pub(crate) struct Consumer;

#[cfg(not(valuetask_loom))]
thread_local! {
    static CURRENT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

#[cfg(valuetask_loom)]
loom::thread_local! {
    static CURRENT: std::cell::Cell<usize> = std::cell::Cell::new(0);
}

impl Consumer {
    /// Run `poll` as the consumer `id`, then as the one before (nobody, 0, outside any poll),
    /// also when `poll` panics: a consumer left known after its poll would let the public
    /// `withdraw` withdraw its registration; one left unknown after a nested call (a source
    /// whose `withdraw` drops, or whose `poll_result` polls, another value task first) would
    /// make the outer source's `core.withdraw` a no-op, the dropped value task's
    /// registration left behind. A load and two plain stores on every poll.
    #[inline]
    pub(crate) fn polling<R>(id: usize, poll: impl FnOnce() -> R) -> R {
        /// Puts the outer consumer back when dropped.
        struct Restore(usize);
        impl Drop for Restore {
            #[cfg_attr(not(debug_assertions), inline(always))]
            fn drop(&mut self) {
                let _ = CURRENT.try_with(|c| c.set(self.0));
            }
        }
        let outer = CURRENT.try_with(|c| c.replace(id)).unwrap_or(0);
        let _restore = Restore(outer);
        poll()
    }

    /// The consumer polling now, 0 when not known.
    #[inline]
    pub(super) fn current() -> usize {
        CURRENT.try_with(std::cell::Cell::get).unwrap_or(0)
    }
}
