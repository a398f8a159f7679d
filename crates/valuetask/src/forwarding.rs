//! Moving a result out of a cell right after it was written, without a store-forwarding stall.
//!
//! A completion writes its result into a cell (a source core, a pooled slot) and the consumer
//! moves it out moments later, often on the same thread, while the writes are still in the
//! core's store buffer. A load is served from the store buffer only when one store covers it
//! whole. The compiler picks the widths of both sides on its own: a result written as a 16-byte
//! store and an 8-byte one and read as an 8-byte load and a 16-byte one that straddles the
//! two cannot be forwarded, and the load waits until both stores reach the cache. That wait
//! can be most of a pooled completion's cycle (row (f)), whose only other cost is one atomic
//! read-modify-write.
//!
//! [`write_in_words`] and [`read_in_words`] move an 8-aligned value with 8-byte stores and
//! loads, so each load matches one store exactly (a narrower load inside a wider store is not
//! forwarded on every core either: reading the upper half of a 16-byte store in 8-byte loads
//! measured slower than the straddling load).
//!
//! The other direction: a value task a call returns is moved by its caller at once (an
//! `.await` copies it into the awaiting future's state), with one 16-byte load when the
//! compiler copies it inline. A pending value task is a tag and a pointer, which the compiler writes as two 8-byte
//! stores: the first load straddles both. [`head_in_one_store`] builds such a value so that
//! its head is written by one store of that load's width, which the load is forwarded from. A
//! caller that reads the fields one by one instead reads the pointer from the upper half of
//! the head's store, which (above) is not forwarded on every core: these pay where a value
//! task is copied whole, which is what an `.await` does with it.
//!
//! # Invariants
//! `write_in_words` and `read_in_words` have `ptr::write`'s and `ptr::read`'s contracts and
//! do what they do, one word at a time; the words are `MaybeUninit<u64>`, so padding and
//! pointers' provenance are copied as they are. `head_in_one_store` returns its argument
//! with every byte past its first 16 uninitialized, which its callers guarantee hold none of
//! the value's initialized bytes.

use std::mem::{align_of, size_of, ManuallyDrop, MaybeUninit};
use std::ptr;

/// Values up to this size are read word by word; larger ones are rare as results and are
/// read as the compiler chooses.
const MAX_WORDS: usize = 8;

/// Whether `T` is moved word by word.
pub(crate) const fn in_words<T>() -> bool {
    align_of::<T>() >= 8 && size_of::<T>() % 8 == 0 && size_of::<T>() <= 8 * MAX_WORDS
}

/// Move `value` into `dst` (as `ptr::write`) with 8-byte stores when `T` is 8-aligned and a
/// whole number of words of at most 64 bytes, for [`read_in_words`] to read back.
///
/// # Safety
/// As for [`ptr::write`]: `dst` is valid for writes and aligned; what it held is overwritten
/// without being dropped.
#[inline(always)]
pub(crate) unsafe fn write_in_words<T>(dst: *mut T, value: T) {
    if !in_words::<T>() {
        // SAFETY: per the caller.
        return unsafe { ptr::write(dst, value) };
    }
    let value = MaybeUninit::new(value);
    let from = value.as_ptr().cast::<MaybeUninit<u64>>();
    let to = dst.cast::<MaybeUninit<u64>>();
    for i in 0..size_of::<T>() / 8 {
        // SAFETY: `T` is 8-aligned and `i` words are inside it, for `value` and for `dst`
        // (valid for writes, per the caller). Volatile keeps each store 8 bytes wide. The
        // value's ownership moves to `dst` (`MaybeUninit` does not drop it here).
        unsafe { ptr::write_volatile(to.add(i), from.add(i).read()) };
    }
}

/// Move the value out of `src` (as `ptr::read`) with 8-byte loads when `T` is 8-aligned and a
/// whole number of words of at most 64 bytes, so that a value just written by a store of any
/// of the usual widths is forwarded to the loads instead of waiting for the cache.
///
/// # Safety
/// As for [`ptr::read`]: `src` is valid for reads, aligned, and holds an initialized `T`
/// whose ownership the caller takes.
#[inline(always)]
pub(crate) unsafe fn read_in_words<T>(src: *const T) -> T {
    if !in_words::<T>() {
        // SAFETY: per the caller.
        return unsafe { ptr::read(src) };
    }
    let mut out = MaybeUninit::<T>::uninit();
    let from = src.cast::<MaybeUninit<u64>>();
    let to = out.as_mut_ptr().cast::<MaybeUninit<u64>>();
    for i in 0..size_of::<T>() / 8 {
        // SAFETY: `T` is 8-aligned and `i` words are inside it, for `src` (valid for reads,
        // per the caller) and for `out`. Volatile keeps each load 8 bytes wide: the compiler
        // may not merge them back into the wide loads this function exists to avoid.
        unsafe { to.add(i).write(ptr::read_volatile(from.add(i))) };
    }
    // SAFETY: every byte of `out` was copied from the initialized `T` at `src`.
    unsafe { out.assume_init() }
}

/// `value` (a value task's two words), built so that its 16 bytes are written with one
/// store, as the compiler's 16-byte move of it reads them (on x86-64; elsewhere it is
/// returned as it is). Inlined, so that the store goes straight to where the caller puts the
/// value (a call's return slot).
///
/// # Safety
/// `value` is at least 16 bytes, and every initialized byte of its representation lies in
/// its first 16 (the rest is padding, or the room of an enum's inactive variants): the value
/// returned keeps those and no others.
#[inline(always)]
pub(crate) unsafe fn head_in_one_store<V>(value: V) -> ManuallyDrop<V> {
    #[cfg(target_arch = "x86_64")]
    {
        /// The value, or just its head of `H`.
        #[repr(C)]
        union Head<V, H: Copy> {
            value: ManuallyDrop<V>,
            head: MaybeUninit<H>,
        }

        /// `value` rebuilt from its first `size_of::<H>()` bytes.
        ///
        /// # Safety
        /// As for `head_in_one_store`, and `V` is at least as large as `H`.
        #[inline(always)]
        unsafe fn rebuilt<V, H: Copy>(value: V) -> ManuallyDrop<V> {
            let value = ManuallyDrop::new(value);
            // SAFETY: `V` is at least as large as `H` (per the caller); any bytes may be read
            // as `MaybeUninit`. A vector, so that the compiler writes it as one store.
            let head = unsafe { ptr::read_unaligned((&*value as *const V).cast()) };
            let whole = Head::<V, H> { head };
            // SAFETY: the head holds every initialized byte of `value` (per the caller), so
            // this is `value` again; `value` is forgotten, so it is moved, not duplicated.
            unsafe { whole.value }
        }

        debug_assert!(size_of::<V>() >= 16);
        // SAFETY: per the caller; the head is no larger than `V`.
        unsafe { rebuilt::<V, std::arch::x86_64::__m128i>(value) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    ManuallyDrop::new(value)
}

#[cfg(all(test, not(valuetask_loom)))]
mod tests {
    use super::*;

    #[test]
    fn writes_what_ptr_write_writes() {
        let mut slot = MaybeUninit::<Result<u64, std::sync::Arc<str>>>::uninit();
        let value: Result<u64, std::sync::Arc<str>> = Err("moved".into());
        // SAFETY: `slot` is valid for writes; it is read back and dropped once below.
        unsafe { write_in_words(slot.as_mut_ptr(), value.clone()) };
        // SAFETY: written just above.
        let back = unsafe { read_in_words(slot.as_ptr()) };
        assert_eq!(back, value);
        drop(back);
        assert_eq!(std::sync::Arc::strong_count(value.as_ref().unwrap_err()), 1);
    }

    #[test]
    fn reads_what_ptr_read_reads_for_every_shape() {
        let value: Result<u64, std::sync::Arc<str>> = Err("shared".into());
        let copy = std::mem::ManuallyDrop::new(value.clone());
        // SAFETY: `copy` is never dropped: its ownership moves to `read`.
        let read = unsafe { read_in_words(&*copy) };
        assert_eq!(read, value);
        assert_eq!(std::sync::Arc::strong_count(value.as_ref().unwrap_err()), 2);

        let small = (1u8, 2u16); // 4-aligned: read whole
                                 // SAFETY: `Copy` data.
        assert_eq!(unsafe { read_in_words(&small) }, small);
        let big = [7u64; 9]; // past `MAX_WORDS`: read whole
                             // SAFETY: `Copy` data.
        assert_eq!(unsafe { read_in_words(&big) }, big);
        let padded: Option<(u64, u8)> = Some((3, 4)); // padding bytes copied as they are
                                                      // SAFETY: `Copy` data.
        assert_eq!(unsafe { read_in_words(&padded) }, padded);
    }
}
