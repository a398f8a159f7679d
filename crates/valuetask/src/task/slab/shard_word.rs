//! A shard word: its reservation bits, `CLOSED`, and the cell's tag above them; and the order
//! in which a thread tries the shards (its own first).

use super::*;

/// The shard word's bit the completer sets.
pub(super) const CLOSED: u64 = 1 << SHARD_SLOTS;
/// Every slot's reservation bit in a shard word.
pub(super) const SHARD_FULL: u64 = (1 << SHARD_SLOTS) - 1;
/// Where the tag starts in a shard word.
pub(super) const TAG_SHIFT: u32 = SHARD_SLOTS as u32 + 1;
const _: () = assert!(SHARD_SLOTS <= 16 && SLAB <= SlotMask::BITS as usize);
/// Cells at or above this address do not use a slab: their tag would not fit.
pub(super) const TAGGED_BELOW: u64 = match 1u64.checked_shl(64 - TAG_SHIFT + 4) {
    Some(bound) => bound,
    None => u64::MAX, // one-slot shards (loom's): every address
};

/// The tag of the cell at `cell`: its address over 16, if that fits the bits a shard word
/// has above its flags (an address below 2^51: every address a process gets on today's
/// 64-bit hosts, which hand out 47 or 48 bits unless asked for more; not on aarch64 Android,
/// whose allocator tags the top byte of heap pointers: there every cell is above, and a
/// task's awaiters past the inline one go to the overflow, correct but slower). Two live cells are
/// more than 16 bytes apart (a cell is larger than that), so they have different tags.
#[inline]
pub(crate) fn tag_if_fits(cell: *const ()) -> Option<u64> {
    let address = cell as usize as u64;
    (address < TAGGED_BELOW).then(|| tag_known_to_fit(cell))
}

/// [`tag_if_fits`] for a cell known to have a tag (one that `tag_if_fits` gave a tag before).
#[inline]
pub(crate) fn tag_known_to_fit(cell: *const ()) -> u64 {
    cell as usize as u64 >> 4
}

/// Narrow shards a thread counts as its own: with two threads, half of the narrow half each.
pub(super) const NARROW_SHARDS_PER_THREAD: usize = if NARROW_SHARDS > 1 {
    NARROW_SHARDS / 2
} else {
    1
};

/// `k` with its bits reversed over the bits of a narrow shard index: threads of neighbouring
/// numbers, XORed with it, own disjoint halves (quarters, ...) of the narrow half before
/// either reaches the other's (with two threads, thread 0 owns narrow shards 0 and 2, thread 1
/// shards 1 and 3).
pub(super) const fn reversed(k: usize) -> usize {
    let bits = NARROW_SHARDS.trailing_zeros();
    if bits == 0 {
        0
    } else {
        k.reverse_bits() >> (usize::BITS - bits)
    }
}

/// The shards a thread tries while the wide half is closed, each XORed with its first narrow
/// shard (`thread_number()` modulo `NARROW_SHARDS`): its own narrow shards, and no other
/// thread's. Past them a registrant opens the wide half ([`Reservation::NeedsWide`]).
pub(super) const NARROW_ORDER: [usize; NARROW_SHARDS_PER_THREAD] = {
    let mut order = [0; NARROW_SHARDS_PER_THREAD];
    let mut k = 0;
    while k < NARROW_SHARDS_PER_THREAD {
        order[k] = reversed(k);
        k += 1;
    }
    order
};

/// The shards a thread tries once the wide half is open, XORed as above: its own wide shards
/// (the twins of its own narrow ones, plus `NARROW_SHARDS`), its own narrow ones, then each
/// other thread's wide and narrow shards: 4, 6, 0, 2, 5, 7, 1, 3 from thread 0. Wide first,
/// so the thread that opened the half does not try its full narrow shards again at every
/// registration. Tables: reversing bits is about twenty instructions on x86-64, per shard
/// tried.
pub(super) const WIDE_ORDER: [usize; SLAB_SHARDS] = {
    let mut order = [0; SLAB_SHARDS];
    let (mut i, mut start) = (0, 0);
    while start < NARROW_SHARDS {
        let mut k = start;
        while k < start + NARROW_SHARDS_PER_THREAD {
            order[i] = reversed(k) + NARROW_SHARDS;
            order[i + NARROW_SHARDS_PER_THREAD] = reversed(k);
            i += 1;
            k += 1;
        }
        i += NARROW_SHARDS_PER_THREAD;
        start += NARROW_SHARDS_PER_THREAD;
    }
    order
};
const _: () = assert!(SLAB_SHARDS == 2 * NARROW_SHARDS);
// `register_own` tries the narrow order's shards, in the wide half once it is open: the
// first shards of the wide order.
const _: () = {
    let mut k = 0;
    while k < NARROW_SHARDS_PER_THREAD {
        assert!(WIDE_ORDER[k] == NARROW_ORDER[k] + NARROW_SHARDS);
        k += 1;
    }
};
const _: () = assert!(SLAB_SHARDS.is_power_of_two() && SHARD_SLOTS.is_power_of_two());
