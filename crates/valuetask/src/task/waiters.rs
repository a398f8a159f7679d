//! The wakers of a pending task: one inline slot, spilling to a slab for more awaiters.
//!
//! Not synchronized by itself: the cell's `LOCKED` bit guards every access (see `cell.rs`).
//! Each awaiting future owns a [`WaiterKey`] naming its slot, so a re-poll replaces its own
//! waker (after `will_wake`) instead of growing the list, and a dropped future frees its slot.

use std::task::Waker;

/// Names one awaiter's slot in a [`Waiters`] list; `WaiterKey::NONE` when not registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WaiterKey(u32);

impl WaiterKey {
    pub(crate) const NONE: WaiterKey = WaiterKey(u32::MAX);
    const INLINE: WaiterKey = WaiterKey(0);

    #[inline]
    pub(crate) const fn is_none(self) -> bool {
        self.0 == u32::MAX
    }
}

/// The registered wakers. `inline` is key 0; spill slot `i` is key `i + 1`. The spill is
/// boxed so a task that never has two awaiters at once pays one word for it, and its first
/// slots live in the box itself, so up to 16 awaiters cost one allocation. Waking all
/// empties the spill and keeps it for the thread's next spilling task (one per thread, with
/// room for at most 1,039 wakers and 1,024 free-slot indexes: about 21 KiB), so a result
/// awaited by many, round after round, allocates its slab once.
///
/// The spill's counts live here, in the cell (usually on the state word's cache line, which
/// the registering thread has just locked; `Cell` is not laid out to guarantee it), not in
/// the spill: a new registration then writes one spill line, its slot, and past 15 spilled
/// awaiters also reads the `more` block's pointer, a line nobody writes in steady state.
/// Reusing a freed slot also touches the free list. This matters when awaiters on several
/// cores register in turn.
#[derive(Debug, Default)]
pub(crate) struct Waiters {
    inline: Option<Waker>,
    spill: Option<Box<Spill>>,
    /// Spill slots handed out so far (`first` then `more`).
    spill_len: u32,
    /// Entries in the spill's `free` list.
    spill_free: u32,
}

/// Spill slots kept in the spill's own allocation; more go to `Spill::more`.
const SPILL_FIRST: usize = 15;

#[derive(Debug)]
struct Spill {
    /// Slots `0..SPILL_FIRST`.
    first: [Option<Waker>; SPILL_FIRST],
    /// Slots `SPILL_FIRST..`: a fixed block, replaced by one twice the size when full. Not a
    /// `Vec`, so a registration writes its slot and nothing else (no length field).
    more: Box<[Option<Waker>]>,
    /// Handed-out slots whose awaiter went away, for reuse.
    free: Vec<u32>,
}

/// Most `more` slots a spill kept for reuse may have (a spare holds no wakers, only room).
const SPARE_MAX_MORE: usize = 1024;

thread_local! {
    /// One emptied spill per thread, kept for the next task that needs one: a task awaited by
    /// many, completed round after round, then reuses its predecessor's slab.
    static SPARE: std::cell::Cell<Option<Box<Spill>>> = const { std::cell::Cell::new(None) };
}

impl Spill {
    fn new() -> Box<Self> {
        // Loom runs model threads on one OS thread: a real thread-local would outlive the model.
        if !cfg!(valuetask_loom) {
            if let Ok(Some(spare)) = SPARE.try_with(std::cell::Cell::take) {
                return spare;
            }
        }
        Box::new(Spill {
            first: [const { None }; SPILL_FIRST],
            more: Box::new([]),
            free: Vec::new(),
        })
    }

    /// Keep an emptied spill for reuse (the thread keeps one).
    fn recycle(mut self: Box<Self>) {
        debug_assert!(self.slots().all(Option::is_none));
        if cfg!(valuetask_loom)
            || self.more.len() > SPARE_MAX_MORE
            || self.free.capacity() > SPARE_MAX_MORE
        {
            return;
        }
        self.free.clear();
        let _ = SPARE.try_with(|spare| {
            if let Some(previous) = spare.replace(Some(self)) {
                spare.set(Some(previous)); // keep the one already there; drop this one
            }
        });
    }

    fn slot_mut(&mut self, index: u32) -> &mut Option<Waker> {
        let index = index as usize;
        match index.checked_sub(SPILL_FIRST) {
            None => &mut self.first[index],
            Some(i) => &mut self.more[i],
        }
    }

    /// Store `waker` in slot `index`, which is new: `index` is the number of slots handed out.
    fn push_new(&mut self, index: u32, waker: Waker) {
        let index = index as usize;
        match index.checked_sub(SPILL_FIRST) {
            None => self.first[index] = Some(waker),
            Some(i) => {
                if i == self.more.len() {
                    self.grow_more();
                }
                self.more[i] = Some(waker);
            }
        }
    }

    /// Replace a full `more` block by one twice the size (the first holds 16 slots), moving
    /// the wakers over.
    #[cold]
    fn grow_more(&mut self) {
        let len = (self.more.len() * 2).max(SPILL_FIRST + 1);
        let mut grown = Vec::with_capacity(len);
        grown.extend(self.more.iter_mut().map(Option::take));
        grown.resize_with(len, || None);
        self.more = grown.into_boxed_slice();
    }

    fn slots(&self) -> impl Iterator<Item = &Option<Waker>> {
        self.first.iter().chain(&self.more)
    }

    /// The wakers in the first `len` slots (the slots handed out).
    fn take_wakers(&mut self, len: u32) -> impl Iterator<Item = Waker> + '_ {
        self.first
            .iter_mut()
            .chain(self.more.iter_mut())
            .take(len as usize)
            .filter_map(Option::take)
    }
}

/// [`Waiters::register`] needs a clone of the waker, which the caller makes outside the lock.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct NeedsClone;

impl Waiters {
    pub(crate) const fn new() -> Self {
        Self {
            inline: None,
            spill: None,
            spill_len: 0,
            spill_free: 0,
        }
    }

    /// Register `waker` under `key` without cloning it (cloning is executor code, kept out of
    /// the lock): `fresh` is a clone the caller made beforehand, if any. A registered key
    /// whose waker will wake the same task keeps it; otherwise `fresh` is stored (taking a
    /// free slot for a first registration and writing the key back), and the replaced waker
    /// is returned for the caller to drop after unlocking. `Err(NeedsClone)` when `fresh` is
    /// needed and the caller has none: nothing changed.
    pub(crate) fn register(
        &mut self,
        key: &mut WaiterKey,
        waker: &Waker,
        fresh: &mut Option<Waker>,
    ) -> Result<Option<Waker>, NeedsClone> {
        if !key.is_none() {
            let slot = self.slot_mut(*key);
            if slot
                .as_ref()
                .is_some_and(|existing| existing.will_wake(waker))
            {
                return Ok(None);
            }
            return fresh.take().map(|f| slot.replace(f)).ok_or(NeedsClone);
        }
        let fresh = fresh.take().ok_or(NeedsClone)?;
        self.insert(key, fresh);
        Ok(None)
    }

    /// Store `waker` for an awaiter that is not registered yet (`key` is `NONE`), and write
    /// its key back.
    pub(crate) fn insert(&mut self, key: &mut WaiterKey, waker: Waker) {
        debug_assert!(key.is_none(), "insert is for a first registration");
        if self.inline.is_none() {
            self.inline = Some(waker);
            *key = WaiterKey::INLINE;
            return;
        }
        let spill = self.spill.get_or_insert_with(Spill::new);
        let index = if self.spill_free > 0 {
            self.spill_free -= 1;
            let index = spill.free.pop().expect("spill_free counts the free list");
            *spill.slot_mut(index) = Some(waker);
            index
        } else {
            let index = self.spill_len;
            if index >= u32::MAX - 1 {
                // Called under the cell's lock bit: a panic would leave it held. Abort, as
                // `Arc` does on a refcount overflow.
                eprintln!("valuetask: more than 4 billion concurrent awaiters of one task");
                std::process::abort();
            }
            spill.push_new(index, waker);
            self.spill_len += 1;
            index
        };
        *key = WaiterKey(index + 1);
    }

    /// Free `key`'s slot (the awaiter went away before completion). Returns its waker, for
    /// the caller to drop after unlocking.
    #[must_use]
    pub(crate) fn remove(&mut self, key: WaiterKey) -> Option<Waker> {
        if key.is_none() {
            return None;
        }
        let waker = self.slot_mut(key).take();
        if key != WaiterKey::INLINE {
            self.spill_mut().free.push(key.0 - 1);
            self.spill_free += 1;
        }
        waker
    }

    /// True when no waker is registered.
    pub(crate) fn is_empty(&self) -> bool {
        self.inline.is_none() && self.spill_len == self.spill_free
    }

    /// Wake every registered waker, consuming the list. A panicking waker does not stop the
    /// others: every waker is woken, then the first panic resumes.
    pub(crate) fn wake_all(mut self) {
        let mut spill = self.spill.take();
        let spill_len = self.spill_len;
        let spilled = spill.iter_mut().flat_map(|s| s.take_wakers(spill_len));
        let mut first_panic = None;
        for w in self.inline.take().into_iter().chain(spilled) {
            if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| w.wake()))
            {
                match first_panic {
                    None => first_panic = Some(panic),
                    // Dropped so that a payload whose `Drop` panics cannot stop the loop.
                    Some(_) => crate::catch_panic::discard(panic),
                }
            }
        }
        if let Some(spill) = spill {
            spill.recycle();
        }
        if let Some(panic) = first_panic {
            std::panic::resume_unwind(panic);
        }
    }

    /// Number of registered wakers (tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        let spilled = self
            .spill
            .as_ref()
            .map_or(0, |s| s.slots().flatten().count());
        usize::from(self.inline.is_some()) + spilled
    }

    fn slot_mut(&mut self, key: WaiterKey) -> &mut Option<Waker> {
        if key == WaiterKey::INLINE {
            &mut self.inline
        } else {
            self.spill_mut().slot_mut(key.0 - 1)
        }
    }

    fn spill_mut(&mut self) -> &mut Spill {
        self.spill
            .as_mut()
            .expect("a spill key implies the spill exists")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn re_registering_one_key_keeps_one_slot_and_freed_slots_are_reused() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut w = Waiters::new();
        let (mut a, mut b, mut c) = (WaiterKey::NONE, WaiterKey::NONE, WaiterKey::NONE);
        let fresh = || Some(waker.clone());
        assert!(matches!(
            w.register(&mut a, &waker, &mut None),
            Err(NeedsClone)
        ));
        assert_eq!(a, WaiterKey::NONE, "nothing changed");
        assert!(w.register(&mut a, &waker, &mut fresh()).unwrap().is_none());
        assert!(
            w.register(&mut a, &waker, &mut None).unwrap().is_none(),
            "same waker: kept, no clone needed"
        );
        let other = Waker::from(Arc::new(Count(AtomicUsize::new(0))));
        assert!(matches!(
            w.register(&mut a, &other, &mut None),
            Err(NeedsClone)
        ));
        let replaced = w.register(&mut a, &other, &mut Some(other.clone()));
        assert!(
            replaced.unwrap().unwrap().will_wake(&waker),
            "the old one comes back"
        );
        assert!(w.register(&mut a, &waker, &mut fresh()).unwrap().is_some());
        assert!(w.register(&mut b, &waker, &mut fresh()).unwrap().is_none());
        assert_eq!(w.len(), 2);
        assert!(w.remove(b).is_some());
        assert!(w.register(&mut c, &waker, &mut fresh()).unwrap().is_none());
        assert_eq!(c, b, "a freed spill slot is reused");
        assert!(w.remove(a).is_some());
        assert!(!w.is_empty());
        assert_eq!(w.len(), 1);
        w.wake_all();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
    }

    /// Wakers that panic with a payload whose `Drop` panics too do not stop the others: every
    /// waker is woken, and the first panic comes out.
    #[test]
    fn panicking_wakers_with_panicking_payloads_do_not_stop_the_others() {
        struct PanicsOnDrop;
        impl Drop for PanicsOnDrop {
            fn drop(&mut self) {
                panic!("the payload's drop panics");
            }
        }
        struct Bomb;
        impl Wake for Bomb {
            fn wake(self: Arc<Self>) {
                std::panic::panic_any(PanicsOnDrop);
            }
        }
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let bomb = Waker::from(Arc::new(Bomb));
        let mut w = Waiters::new();
        for waker in [bomb.clone(), bomb, Waker::from(count.clone())] {
            let mut key = WaiterKey::NONE;
            w.insert(&mut key, waker);
        }
        let woke = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| w.wake_all()));
        let first = woke.unwrap_err();
        assert!(first.is::<PanicsOnDrop>(), "the first panic comes out");
        std::mem::forget(first);
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            1,
            "the last waker was woken"
        );
    }

    /// The counts kept beside the state word track the spill: emptiness after removals, and
    /// slots handed out again only once freed.
    #[test]
    fn spill_counts_follow_inserts_and_removals() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut w = Waiters::new();
        let mut keys = [WaiterKey::NONE; 3];
        for key in &mut keys {
            w.insert(key, waker.clone());
        }
        assert!(w.remove(keys[1]).is_some());
        assert!(w.remove(keys[2]).is_some());
        assert!(!w.is_empty(), "the inline waiter is left");
        assert!(w.remove(keys[0]).is_some());
        assert!(w.is_empty(), "every slot was freed");
        let mut again = [WaiterKey::NONE; 3];
        for key in &mut again {
            w.insert(key, waker.clone());
        }
        assert_eq!(again[0], keys[0]);
        assert_eq!(
            [again[1], again[2]],
            [keys[2], keys[1]],
            "freed spill slots first, newest first"
        );
        let mut fresh = WaiterKey::NONE;
        w.insert(&mut fresh, waker.clone());
        assert_eq!(fresh, WaiterKey(3), "then a new slot");
        assert!(!w.is_empty());
        w.wake_all();
        assert_eq!(count.0.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn many_awaiters_spill_past_the_first_block_and_all_are_woken() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut w = Waiters::new();
        let mut keys = vec![WaiterKey::NONE; 40];
        for key in &mut keys {
            w.insert(key, waker.clone());
        }
        assert_eq!(w.len(), 40);
        // Free one slot in the box and one past it; both are reused.
        assert!(w.remove(keys[3]).is_some());
        assert!(w.remove(keys[30]).is_some());
        let (mut x, mut y) = (WaiterKey::NONE, WaiterKey::NONE);
        w.insert(&mut x, waker.clone());
        w.insert(&mut y, waker.clone());
        assert_eq!(
            [x, y],
            [keys[30], keys[3]],
            "freed slots are reused, newest first"
        );
        assert_eq!(w.len(), 40);
        w.wake_all();
        assert_eq!(count.0.load(Ordering::SeqCst), 40);
    }
}
