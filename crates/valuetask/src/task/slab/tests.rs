//! The slab's slots, its closing, its cache and its tags.

use super::*;
use crate::task::waiters::replace;
use crate::task::waiters::tests::Count;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

/// Every slot's bit in a mask.
const ALL_SLOTS: SlotMask = SlotMask::MAX >> (SlotMask::BITS as usize - SLAB);

/// A cell's tag, as `tag_if_fits` makes them.
const TAG: u64 = 0x7f00_1234_5670 >> 4;

fn counting() -> (Arc<Count>, Waker) {
    let count = Arc::new(Count(AtomicUsize::new(0)));
    (count.clone(), Waker::from(count))
}

/// A slab's slots are reserved once each (the calling thread's narrow shards first, then,
/// once the wide half is open, its wide ones, then the others), filled, replaced and
/// removed one by one; a freed slot is reserved again; the completer's close returns every
/// reserved slot and stops reservations; it takes them all at once: every waker once.
#[test]
fn slab_slots_are_reserved_filled_replaced_removed_and_taken_once_each() {
    let (count, waker) = counting();
    let slab = Slab::new(TAG);
    let mut reserved: SlotMask = 0;
    let first = thread_number() & (NARROW_SHARDS - 1);
    // The thread's own narrow shards, then the wide order without them (full by then).
    let order: Vec<usize> = NARROW_ORDER
        .iter()
        .chain(WIDE_ORDER.iter().filter(|s| !NARROW_ORDER.contains(s)))
        .copied()
        .collect();
    assert_eq!(order, [0, 2, 4, 6, 5, 7, 1, 3]);
    let mut wide = false;
    for n in 0..SLAB {
        let i = loop {
            // SAFETY: a live block, as published.
            match unsafe { Slab::reserve(slab, TAG, wide) } {
                Reservation::Slot(i) => break i,
                Reservation::NeedsWide if !wide => {
                    assert_eq!(n, SHARD_SLOTS * NARROW_SHARDS / 2, "own narrow shards full");
                    // As the cell does under `LOCKED`: a block from the store still has
                    // its last cell's words in the wide half.
                    // SAFETY: the block is this test's, and its wide half is not open.
                    unsafe { Slab::open_wide(slab, TAG) };
                    wide = true;
                }
                other => panic!("slot {n} of {SLAB}: {other:?}"),
            }
        };
        assert_eq!(
            i / SHARD_SLOTS,
            first ^ order[n / SHARD_SLOTS],
            "reservation {n}: in the thread's order"
        );
        assert_eq!(reserved & 1 << i, 0, "each slot once");
        reserved |= 1 << i;
        // SAFETY: reserved just now.
        unsafe { Slab::fill(slab, i, waker.clone()) };
    }
    assert_eq!(reserved, ALL_SLOTS);
    // SAFETY: as above.
    assert_eq!(unsafe { Slab::reserve(slab, TAG, true) }, Reservation::Full);
    let (other_count, other) = counting();
    // SAFETY: slot 0 is filled and nothing else touches the block.
    let replaced =
        unsafe { Slab::with_registered(slab, 0, |w| replace(w, &other, &mut Some(other.clone()))) };
    assert!(
        matches!(replaced, Ok(Some(_))),
        "another task's waker swaps"
    );
    drop(replaced);
    // SAFETY: as above.
    let removed = unsafe { Slab::remove(slab, SLAB - 1) };
    drop(removed);
    // SAFETY: as above.
    let again = unsafe { Slab::reserve(slab, TAG, true) };
    assert_eq!(
        again,
        Reservation::Slot(SLAB - 1),
        "a freed slot is reserved again"
    );
    // SAFETY: reserved just now.
    unsafe { Slab::fill(slab, SLAB - 1, waker.clone()) };
    // SAFETY: a snapshot; nothing else reserves in this test's block.
    assert_eq!(unsafe { Slab::reserved_now(slab, true) }, reserved);
    let mut panic = None;
    // SAFETY: the completer's, once.
    unsafe { Slab::close_and_wake(slab, true, &mut panic) };
    // SAFETY: as above.
    let after_close = unsafe { Slab::reserve(slab, TAG, true) };
    assert_eq!(after_close, Reservation::Closed);
    // SAFETY: every reserved waker was taken.
    unsafe { Slab::give_back(slab) };
    assert!(panic.is_none());
    assert_eq!(
        count.0.load(Ordering::SeqCst),
        SLAB - 1,
        "all but the replaced"
    );
    assert_eq!(other_count.0.load(Ordering::SeqCst), 1);
}

/// The slots a block's creator and its wide half's opener fill before publishing are
/// reserved like any other: the thread's next reservation takes the slot after, the
/// close returns them, and their wakers are woken once each.
#[test]
fn slots_placed_before_publishing_are_reserved_and_woken() {
    let (count, waker) = counting();
    let (slab, first) = Slab::new_with_first(TAG, waker.clone());
    let own = (thread_number() & (NARROW_SHARDS - 1)) ^ NARROW_ORDER[0];
    assert_eq!(
        first,
        own * SHARD_SLOTS,
        "slot 0 of the thread's first shard"
    );
    // SAFETY: a live block for `TAG`, as published.
    let next = unsafe { Slab::reserve(slab, TAG, false) };
    assert_eq!(next, Reservation::Slot(first + 1));
    // SAFETY: reserved just now.
    unsafe { Slab::fill(slab, first + 1, waker.clone()) };
    // SAFETY: the wide half is not open; the block is this test's.
    let wide_first = unsafe { Slab::open_wide_with_first(slab, TAG, waker.clone()) };
    assert_eq!(wide_first, (own + NARROW_SHARDS) * SHARD_SLOTS);
    // SAFETY: the wide half is open now.
    let wide_next = unsafe { Slab::reserve(slab, TAG, true) };
    assert_eq!(wide_next, Reservation::Slot(wide_first + 1));
    // SAFETY: reserved just now.
    unsafe { Slab::fill(slab, wide_first + 1, waker.clone()) };
    let expected = [first, first + 1, wide_first, wide_first + 1]
        .iter()
        .fold(0, |mask: SlotMask, &i| mask | 1 << i);
    let mut panic = None;
    // SAFETY: the completer's, once, with the wide half open; then given back.
    unsafe {
        assert_eq!(Slab::reserved_now(slab, true), expected);
        Slab::close_and_wake(slab, true, &mut panic);
        Slab::give_back(slab);
    }
    assert!(panic.is_none());
    assert_eq!(
        count.0.load(Ordering::SeqCst),
        4,
        "each placed or reserved slot woken once"
    );
    assert_eq!(Arc::strong_count(&count), 2);
}

/// Taken wakers that are dropped rather than woken are dropped once each.
#[test]
fn taken_slab_wakers_not_woken_are_dropped() {
    let (count, waker) = counting();
    let slab = Slab::new(TAG);
    for i in 0..SLAB {
        // SAFETY: a fresh block, each slot filled once.
        unsafe { Slab::fill(slab, i, waker.clone()) };
    }
    assert_eq!(Arc::strong_count(&count), SLAB + 2);
    // SAFETY: every slot is filled; the block is not used again.
    let mut taken = unsafe { Slab::take_all(slab, ALL_SLOTS) };
    // SAFETY: every reserved waker was taken.
    unsafe { Slab::give_back(slab) };
    assert!(!taken.is_empty());
    taken.next().unwrap().wake();
    drop(taken);
    assert_eq!(Arc::strong_count(&count), 2);
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
}

/// A block given back and handed to another cell refuses a reservation for the first
/// cell (a registrant that saw it pending and loaded its slab pointer before the
/// completer gave the block back), and leaves the new cell's slots alone. The first cell
/// fills one slot, or every slot with its wide half open: the new cell does not read
/// the first cell's closed wide half until it opens its own, which starts empty.
#[test]
fn a_block_serving_another_cell_refuses_the_first_cells_registrant() {
    let (_, waker) = counting();
    for wide in [false, true] {
        let slab = Slab::new(TAG);
        if wide {
            // SAFETY: a live block for `TAG`, its wide half not open.
            unsafe { Slab::open_wide(slab, TAG) };
        }
        for _ in 0..if wide { SLAB } else { 1 } {
            // SAFETY: a live block for `TAG`.
            let Reservation::Slot(i) = (unsafe { Slab::reserve(slab, TAG, wide) }) else {
                panic!("a free slot");
            };
            // SAFETY: reserved just now.
            unsafe { Slab::fill(slab, i, waker.clone()) };
        }
        // SAFETY: the completer's, once; the mask taken once; then given back.
        unsafe {
            let reserved = Slab::close(slab, wide);
            drop(Slab::take_all(slab, reserved));
            Slab::give_back(slab);
        }
        let other = Slab::new(TAG + 1);
        assert_eq!(other, slab, "this thread's cached block comes back");
        // SAFETY: type-stable: the stale registrant's access is to a live block.
        let stale = unsafe { Slab::reserve(other, TAG, wide) };
        assert_eq!(stale, Reservation::Closed);
        // SAFETY: the block serves `TAG + 1` now.
        let reserved = unsafe { Slab::reserved_now(other, false) };
        assert_eq!(reserved, 0, "nothing reserved for the stale one");
        // SAFETY: as above.
        let Reservation::Slot(j) = (unsafe { Slab::reserve(other, TAG + 1, false) }) else {
            panic!("the new cell reserves");
        };
        // SAFETY: reserved just now; the wide half opened by its cell under `LOCKED`;
        // then closed, taken and given back.
        unsafe {
            Slab::fill(other, j, waker.clone());
            Slab::open_wide(other, TAG + 1);
            assert_eq!(Slab::reserve(other, TAG, true), Reservation::Closed);
            assert_eq!(
                Slab::reserved_now(other, true),
                1 << j,
                "an empty wide half"
            );
            let reserved = Slab::close(other, true);
            assert_eq!(reserved, 1 << j);
            drop(Slab::take_all(other, reserved));
            Slab::give_back(other);
        }
    }
}

/// A thread's cache keeps up to `CACHED` blocks and passes `BATCH` at once to the shared
/// list past that; a thread with none cached takes up to `BATCH` at once from it.
#[test]
fn blocks_move_between_a_threads_cache_and_the_shared_list_in_batches() {
    std::thread::spawn(|| {
        assert_eq!(store::cached_here(), 0, "a new thread caches nothing");
        let blocks: Vec<_> = (0..=CACHED).map(|_| Slab::new(TAG)).collect();
        for (n, &block) in blocks.iter().enumerate() {
            // SAFETY: nothing was reserved in it; not used again.
            unsafe { Slab::give_back(block) };
            let expected = if n < CACHED {
                n + 1
            } else {
                CACHED + 1 - BATCH
            };
            assert_eq!(
                store::cached_here(),
                expected,
                "after giving back {}",
                n + 1
            );
        }
        let mut taken: Vec<_> = (0..CACHED + 1 - BATCH).map(|_| Slab::new(TAG)).collect();
        assert_eq!(store::cached_here(), 0);
        // The shared list holds at least the `BATCH` this thread gave it (other tests may
        // add and take some meanwhile, never more than `BATCH` at once).
        taken.push(Slab::new(TAG));
        let refilled = store::cached_here();
        assert!(refilled < BATCH, "took {} at once", refilled + 1);
        for block in taken {
            // SAFETY: as above.
            unsafe { Slab::give_back(block) };
        }
    })
    .join()
    .unwrap();
}

/// Distinct cells get distinct tags, which fit above a word's flags.
#[test]
fn tags_of_distinct_cells_differ_and_leave_the_flags_clear() {
    let cells = [0u128; 4];
    let tags: Vec<u64> = cells
        .iter()
        .map(|c| tag_if_fits((c as *const u128).cast()).expect("a heap or stack address has a tag"))
        .collect();
    for (i, a) in tags.iter().enumerate() {
        assert_eq!((a << TAG_SHIFT) & (SHARD_FULL | CLOSED), 0);
        assert!(tags[i + 1..].iter().all(|b| b != a));
    }
}

/// The size the module docs state, of a block of eight shards of sixteen slots.
#[test]
fn a_block_is_the_size_the_docs_state() {
    assert_eq!(std::mem::size_of::<Slab>(), 2624);
}
