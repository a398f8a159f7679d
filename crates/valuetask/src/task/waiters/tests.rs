//! The overflow's shards, its spares and its waking.

use super::*;
use crate::task::slab::Reservation;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::task::Wake;

/// A waker that counts its wake-ups (also used by `slab.rs`'s tests).
pub(in crate::task) struct Count(pub(in crate::task) AtomicUsize);
impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting() -> (Arc<Count>, Waker) {
    let count = Arc::new(Count(AtomicUsize::new(0)));
    (count.clone(), Waker::from(count))
}

/// A thread keeps at most one emptied overflow, and none whose shards grew past
/// `SPARE_MAX_SLOTS` (its memory bound).
#[test]
#[cfg(not(valuetask_loom))]
fn a_thread_keeps_one_spare_overflow_and_none_that_grew_large() {
    let with_capacity = |wakers: usize, free: usize| {
        let overflow = Overflow::new();
        overflow.shards[1].slots.with_mut(|s| {
            // SAFETY: the overflow is ours alone.
            let s = unsafe { &mut *s };
            s.wakers.reserve_exact(wakers);
            s.free.reserve_exact(free);
        });
        overflow
    };
    let kept = || {
        SPARES.with(|spares| {
            let kept = spares.overflow.take().map(ManuallyDrop::into_inner);
            kept.is_some()
        })
    };
    let _ = kept(); // start with no spare
    for (wakers, free, keeps) in [
        (SPARE_MAX_SLOTS, SPARE_MAX_SLOTS, true),
        (SPARE_MAX_SLOTS + 1, 0, false),
        (0, SPARE_MAX_SLOTS + 1, false),
    ] {
        with_capacity(wakers, free).recycle(true);
        assert_eq!(kept(), keeps, "wakers {wakers}, free {free}");
    }
    Overflow::new().recycle(true);
    let second = Overflow::new(); // the spare, taken back
    Overflow::new().recycle(true);
    second.recycle(true); // one is kept already: this one is freed
    assert!(kept());
    assert!(!kept(), "only one");
}

/// A thread keeps at most `SPARE_LISTS` emptied waker lists, none larger than
/// `SPARE_MAX_SLOTS` and none without capacity.
#[test]
#[cfg(not(valuetask_loom))]
fn a_thread_keeps_a_bounded_number_of_spare_waker_lists() {
    let kept = || {
        SPARES.with(|spares| {
            let lists = ManuallyDrop::into_inner(spares.lists.take());
            let capacities: Vec<usize> = lists.iter().map(Vec::capacity).collect();
            capacities
        })
    };
    let _ = kept();
    let lists = |capacity: usize| Taken(std::array::from_fn(|_| Vec::with_capacity(capacity)));
    lists(SPARE_MAX_SLOTS + 1).recycle();
    lists(0).recycle();
    assert_eq!(kept(), Vec::<usize>::new());
    lists(SPARE_MAX_SLOTS).recycle();
    assert_eq!(kept().len(), SHARDS);
    for _ in 0..3 {
        lists(1).recycle();
    }
    let capacities = kept();
    assert_eq!(capacities.len(), SPARE_LISTS);
    assert!(capacities
        .iter()
        .all(|&c| (1..=SPARE_MAX_SLOTS).contains(&c)));
}

#[test]
// Miri gives each use of a vtable its own address, so `will_wake` of a clone is false
// there (it is best-effort by contract); the swap path then runs, which is also correct.
#[cfg_attr(
    miri,
    ignore = "will_wake compares vtable addresses, which Miri duplicates"
)]
fn re_registering_keeps_a_waker_for_the_same_task_and_swaps_another() {
    let (_, waker) = counting();
    let (_, other) = counting();
    let mut slot = None;
    assert!(
        store(&mut slot, &waker, &mut None).is_err(),
        "empty: needs a clone"
    );
    assert!(store(&mut slot, &waker, &mut Some(waker.clone()))
        .unwrap()
        .is_none());
    assert!(
        store(&mut slot, &waker, &mut None).unwrap().is_none(),
        "same: kept"
    );
    assert!(matches!(
        store(&mut slot, &other, &mut None),
        Err(NeedsClone)
    ));
    let replaced = store(&mut slot, &other, &mut Some(other.clone())).unwrap();
    assert!(
        replaced.unwrap().will_wake(&waker),
        "the old one comes back"
    );
    assert!(slot.unwrap().will_wake(&other));
}

#[test]
fn the_overflow_registers_re_registers_removes_and_refuses_once_complete() {
    let (count, waker) = counting();
    let overflow = Overflow::new();
    let not_complete = || false;
    let mut keys = [WaiterKey::NONE; 40];
    for key in &mut keys {
        assert!(overflow.insert(key, waker.clone(), not_complete).is_ok());
        assert!(key.is_overflow());
    }
    assert_eq!(overflow.len(), 40);
    let (_, other) = counting();
    assert_eq!(
        overflow
            .register(keys[0], &other, &mut None, not_complete)
            .unwrap_err(),
        NeedsClone
    );
    let swapped = overflow.register(keys[0], &other, &mut Some(other.clone()), not_complete);
    assert!(matches!(swapped, Ok(Registered::Pending(Some(_)))));
    assert!(overflow.remove(keys[7], not_complete).is_some());
    let mut reused = WaiterKey::NONE;
    assert!(overflow
        .insert(&mut reused, waker.clone(), not_complete)
        .is_ok());
    assert_eq!(reused, keys[7], "a freed slot is reused");
    // (Whether the same waker is kept or replaced depends on `will_wake`, which differs
    // under Miri.)
    assert!(matches!(
        overflow.register(reused, &waker, &mut Some(waker.clone()), not_complete),
        Ok(Registered::Pending(_))
    ));
    let complete = || true;
    let mut late = WaiterKey::NONE;
    assert!(overflow.insert(&mut late, waker.clone(), complete).is_err());
    assert!(late.is_none());
    assert!(matches!(
        overflow.register(keys[9], &waker, &mut None, complete),
        Ok(Registered::Complete)
    ));
    assert!(
        overflow.remove(keys[8], complete).is_none(),
        "the completer owns it"
    );
    let mut taken = overflow.take_all();
    let mut panic = None;
    taken.wake_all(&mut panic);
    assert!(panic.is_none());
    taken.recycle();
    assert_eq!(
        count.0.load(Ordering::SeqCst),
        39,
        "all but the swapped one"
    );
    assert_eq!(overflow.len(), 0);
    overflow.recycle(true);
}

/// The padding keeps each shard's hot fields off every other shard's cache lines.
#[test]
fn a_shard_is_two_cache_lines_with_its_hot_fields_first() {
    assert_eq!(std::mem::size_of::<Shard>(), 128);
    assert!(std::mem::offset_of!(Shard, slots) + std::mem::size_of::<Slots>() <= 64);
}

#[test]
fn keys_round_trip_through_shards_and_indexes() {
    for shard in 0..SHARDS {
        for index in [0, 1, 1000, (1 << 29) - 2] {
            let key = WaiterKey::overflowed(shard, index);
            assert!(key.is_overflow() && !key.is_none());
            assert_eq!(key.shard_and_index(), (shard, index as usize));
        }
    }
}

/// Wakers that panic with a payload whose `Drop` panics too do not stop the others, in
/// the inline slot, the slab or the overflow: every waker is woken, and the first panic
/// comes out.
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
    let (count, counted) = counting();
    let bomb = Waker::from(Arc::new(Bomb));
    let slab = Slab::new(1);
    for waker in [bomb.clone(), counted.clone()] {
        // SAFETY: a fresh block for the tag 1, this test's alone.
        let reserved = unsafe { Slab::reserve(slab, 1, false) };
        let Reservation::Slot(i) = reserved else {
            panic!("a fresh block has room: {reserved:?}");
        };
        // SAFETY: reserved just now.
        unsafe { Slab::fill(slab, i, waker) };
    }
    let overflow = Overflow::new();
    for waker in [bomb.clone(), counted] {
        let mut key = WaiterKey::NONE;
        assert!(overflow.insert(&mut key, waker, || false).is_ok());
    }
    let mut taken = overflow.take_all();
    // SAFETY: the two reserved slots are filled; the block is closed once, here, and
    // not used again.
    let first = unsafe { wake_all(Some(bomb), Some((slab, false)), Some(&mut taken)) };
    // SAFETY: both reserved wakers were taken.
    unsafe { Slab::give_back(slab) };
    let first = first.expect("a panic");
    assert!(first.is::<PanicsOnDrop>(), "the first panic comes out");
    std::mem::forget(first);
    assert_eq!(
        count.0.load(Ordering::SeqCst),
        2,
        "both counting wakers were woken"
    );
}
