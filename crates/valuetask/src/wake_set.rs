//! `WakeSet`: a waker per input of a combinator that awaits many inputs together, which records
//! the input it belongs to, so that a wake-up polls the inputs that were woken, not all of
//! them (`futures`' `FuturesUnordered` does the same with a queue of its tasks).
//!
//! # Invariants
//!
//! - An input's waker sets its bit in `woken` before it wakes the combinator, and the
//!   combinator stores its own waker before it clears the bits it polls for: so a wake-up
//!   after the clear finds that waker (or a later one), and one before it is seen by the
//!   clear. No wake-up is lost (`loom_models`).
//! - `parent` is taken (not cloned) by the first input woken after a store, and woken with
//!   the lock released: no waker's code (`clone`, `wake`, `drop`) runs under the lock. Inputs
//!   woken after that find it empty: their bits are set, and the wake-up already on its way
//!   polls them, since the combinator clears the bits only after its next store.
//! - A poll that unwinds (an input's poll panics) loses the bits it had cleared and not yet
//!   polled for: the combinator must not be polled again after that (an `async` block that
//!   panicked is not).
//! - The set lets go of the combinator's waker when dropped: an input's waker that outlives
//!   the combinator (kept by whatever the input waited on) wakes nobody.

use std::sync::Arc;
use std::task::{Context, Wake, Waker};

use crate::sync::{lock, AtomicU64, Mutex, Ordering};

/// Inputs woken since the combinator last looked, and the combinator's waker.
struct Shared {
    /// Bit `i % 64` of word `i / 64`: input `i` was woken.
    woken: Box<[AtomicU64]>,
    /// The waker of the combinator's last poll, until an input takes it to wake it.
    parent: Mutex<Option<Waker>>,
}

/// One input's waker.
struct InputWaker {
    shared: Arc<Shared>,
    index: usize,
}

impl Wake for InputWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let bit = 1u64 << (self.index % 64);
        let before = self.shared.woken[self.index / 64].fetch_or(bit, Ordering::AcqRel);
        if before & bit != 0 {
            // Set already, by a wake-up that is still to take the parent, or whose taking
            // already woke the combinator, which has not looked yet.
            return;
        }
        let parent = lock(&self.shared.parent).take();
        if let Some(parent) = parent {
            parent.wake();
        }
    }
}

/// The wakers of `len` inputs and the record of which were woken. Every input counts as
/// woken at first.
pub(crate) struct WakeSet {
    shared: Arc<Shared>,
    wakers: Box<[Waker]>,
}

impl WakeSet {
    /// Wakers for `len` inputs: one allocation per input, and three for the set (the shared
    /// record, its bits, the wakers' slice).
    pub(crate) fn new(len: usize) -> Self {
        let words = len.div_ceil(64);
        let woken = (0..words)
            .map(|word| {
                let bits = (len - word * 64).min(64);
                AtomicU64::new(if bits == 64 {
                    u64::MAX
                } else {
                    (1 << bits) - 1
                })
            })
            .collect();
        let shared = Arc::new(Shared {
            woken,
            parent: Mutex::new(None),
        });
        let wakers = (0..len)
            .map(|index| {
                Waker::from(Arc::new(InputWaker {
                    shared: shared.clone(),
                    index,
                }))
            })
            .collect();
        Self { shared, wakers }
    }

    /// Store `cx`'s waker for the inputs to wake, then call `poll` with each input woken
    /// since the last call (in input order) and a context of that input's own waker.
    pub(crate) fn poll_woken(
        &self,
        cx: &Context<'_>,
        mut poll: impl FnMut(usize, &mut Context<'_>),
    ) {
        let waker = cx.waker().clone();
        let old = lock(&self.shared.parent).replace(waker);
        drop(old);
        for (word_index, word) in self.shared.woken.iter().enumerate() {
            let mut bits = word.swap(0, Ordering::AcqRel);
            while bits != 0 {
                let index = word_index * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                poll(index, &mut Context::from_waker(&self.wakers[index]));
            }
        }
    }
}

impl Drop for WakeSet {
    fn drop(&mut self) {
        let parent = lock(&self.shared.parent).take();
        drop(parent);
    }
}

impl std::fmt::Debug for WakeSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WakeSet")
            .field("inputs", &self.wakers.len())
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(valuetask_loom)))]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;
    use std::task::{Context, Wake, Waker};

    use super::WakeSet;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    fn polled(set: &WakeSet, cx: &Context<'_>) -> (Vec<usize>, Vec<Waker>) {
        let mut seen = Vec::new();
        let mut wakers = Vec::new();
        set.poll_woken(cx, |index, cx| {
            seen.push(index);
            wakers.push(cx.waker().clone());
        });
        (seen, wakers)
    }

    #[test]
    fn every_input_at_first_then_only_the_woken_ones_each_waking_the_parent_once() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let parent = Waker::from(count.clone());
        let cx = Context::from_waker(&parent);
        let set = WakeSet::new(130);
        let (first, wakers) = polled(&set, &cx);
        assert_eq!(first, (0..130).collect::<Vec<_>>());
        assert_eq!(polled(&set, &cx).0, Vec::<usize>::new(), "nothing woken");
        wakers[129].wake_by_ref();
        wakers[3].wake_by_ref();
        wakers[3].wake_by_ref();
        let by_value = wakers[64].clone();
        by_value.wake();
        assert_eq!(count.0.load(SeqCst), 1, "the parent is woken once per look");
        assert_eq!(polled(&set, &cx).0, [3, 64, 129], "in input order");
        wakers[0].wake_by_ref();
        assert_eq!(count.0.load(SeqCst), 2);
        assert_eq!(polled(&set, &cx).0, [0]);
    }

    #[test]
    fn a_waker_outliving_the_set_wakes_nobody() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let parent = Waker::from(count.clone());
        let set = WakeSet::new(1);
        let (_, wakers) = polled(&set, &Context::from_waker(&parent));
        drop(set);
        wakers[0].wake_by_ref();
        assert_eq!(count.0.load(SeqCst), 0, "the combinator's waker was kept");
        assert_eq!(Arc::strong_count(&count), 2, "only `parent` holds it");
    }
}

#[cfg(all(test, valuetask_loom))]
mod loom_models {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;
    use std::task::{Context, Wake, Waker};

    use super::WakeSet;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    /// An input woken on another thread while the combinator looks again, with a new waker
    /// and none stored (an earlier wake-up took it): either that look polls the input, or the
    /// look's own waker is woken after it, so a later look does. A look that cleared the bits
    /// before storing its waker fails here: the wake-up finds no waker and the bit stays set.
    #[test]
    fn a_wake_racing_a_look_is_not_lost() {
        loom::model(|| {
            let set = WakeSet::new(2);
            let first = Arc::new(Count(AtomicUsize::new(0)));
            let second = Arc::new(Count(AtomicUsize::new(0)));
            let (first_waker, second_waker) =
                (Waker::from(first.clone()), Waker::from(second.clone()));
            let mut wakers = Vec::new();
            set.poll_woken(&Context::from_waker(&first_waker), |_, cx| {
                wakers.push(cx.waker().clone());
            });
            // Input 0's wake-up takes the first look's waker: none is stored now.
            wakers[0].wake_by_ref();
            assert_eq!(first.0.load(SeqCst), 1);
            let input = wakers[1].clone();
            let woken = loom::thread::spawn(move || input.wake());
            let mut seen = Vec::new();
            set.poll_woken(&Context::from_waker(&second_waker), |index, _| {
                seen.push(index)
            });
            woken.join().unwrap();
            if !seen.contains(&1) {
                assert_eq!(second.0.load(SeqCst), 1, "the second look was not woken");
                set.poll_woken(&Context::from_waker(&second_waker), |index, _| {
                    seen.push(index);
                });
            }
            assert_eq!(seen.iter().filter(|&&index| index == 1).count(), 1);
            assert!(seen.contains(&0));
            assert_eq!(first.0.load(SeqCst), 1, "an old waker woken");
        });
    }
}
