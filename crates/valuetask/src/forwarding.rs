//! Moving a value right after it was written, without a store-forwarding stall.
//!
//! A completion writes its result into a cell (a source core, a pooled slot, a body's block)
//! and the consumer moves it out moments later, often on the same thread, while the writes are
//! still in the core's store buffer. A load is served from the store buffer when one store
//! covers it whole, at any offset inside that store (an 8-byte load of either half of a
//! 16-byte store is forwarded as fast as a load of the whole); a load that spans two stores
//! waits until both reach the cache, about 25 cycles on the x86-64 cores measured, which can
//! be most of a pooled completion's cycle (row (f)) or of a `dyn` call that completes at once.
//! The compiler picks the widths of both sides on its own, so where this crate writes or reads
//! a value that code it does not see reads or wrote moments apart, it picks them itself:
//! **its loads are narrow and its stores wide.**
//!
//! - [`read_in_words`] loads an 8-aligned value of up to eight words with 8-byte loads, each
//!   forwarded from whatever store of 8 bytes or more covers it: a result a body's code just
//!   wrote, in any mix of 8- and 16-byte stores. [`write_in_words`] stores in the same 8-byte
//!   words, for values this crate reads back that way (cores, slots, held results).
//!   [`read_in_chunks`] loads a larger one (whole 16-byte chunks) with 16-byte loads: a held
//!   result the body's code or a copy wrote in stores of 16 bytes or more, moved straight
//!   into the poller's place (`held::take_pooled`) with no call to `memcpy`, whose 32-byte
//!   loads would straddle those stores.
//! - [`head_in_one_store`]: a value task a call returns is moved by its caller at once (an
//!   `.await` copies it into the awaiting future's state) with one 16-byte load; it is built
//!   so that the compiler writes its head with one 16-byte store.
//! - [`write_head_wide`]: a future's first poll starts by moving its captured arguments into
//!   its own state, which the compiler does 16 bytes at a time; its block is written with
//!   16-byte stores at its head, so those loads are forwarded where the poll is not inlined
//!   at the write (with one codegen unit, or a body too large to inline).
//!
//! # Invariants
//! `write_in_words` and `read_in_words` have `ptr::write`'s and `ptr::read`'s contracts and
//! do what they do, one word at a time (`read_in_chunks`: `ptr::read`'s, 16 bytes at a
//! time); the words are `MaybeUninit<u64>`, so padding and
//! pointers' provenance are copied as they are. `write_head_wide` has `ptr::write`'s contract
//! and a 16-aligned destination; it writes the value's first bytes twice, the same bytes each
//! time, as `MaybeUninit` chunks, before anything reads them. `head_in_one_store` returns its
//! argument with every byte past its first 16 uninitialized, which its callers guarantee hold
//! none of the value's initialized bytes.

use std::mem::{align_of, size_of, ManuallyDrop, MaybeUninit};
use std::ptr;

/// Values up to this size are read word by word; larger ones are rare as results and are
/// read as the compiler chooses.
const MAX_WORDS: usize = 8;

/// Whether `T` is moved word by word.
pub(crate) const fn in_words<T>() -> bool {
    align_of::<T>() >= 8 && size_of::<T>() % 8 == 0 && size_of::<T>() <= 8 * MAX_WORDS
}

/// 16 bytes of a value, moved as one (`movups` on x86-64), at any 8-aligned address.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
#[repr(C, packed(8))]
struct Chunk(MaybeUninit<std::arch::x86_64::__m128i>);

/// Whether [`read_in_chunks`] reads `T` in 16-byte chunks: larger than [`MAX_WORDS`] words,
/// whole chunks, 8-aligned, on x86-64.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const fn in_chunks<T>() -> bool {
    cfg!(target_arch = "x86_64")
        && align_of::<T>() >= 8
        && size_of::<T>() % 16 == 0
        && size_of::<T>() > 8 * MAX_WORDS
}

/// Move `value` into `dst` (as `ptr::write`) with 8-byte stores when `T` is 8-aligned and a
/// whole number of words of at most 64 bytes, for [`read_in_words`] to read back.
///
/// # Safety
/// As for [`ptr::write`]: `dst` is valid for writes and aligned; what it held is overwritten
/// without being dropped.
#[cfg_attr(not(debug_assertions), inline(always))]
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
#[cfg_attr(not(debug_assertions), inline(always))]
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

/// Read a value in 16-byte loads (x86-64, a `T` of whole 16-byte chunks larger than
/// [`MAX_WORDS`] words; otherwise as [`read_in_words`]): a large held result, read where the
/// compiler would call `memcpy`.
///
/// # Safety
/// As for [`ptr::read`].
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) unsafe fn read_in_chunks<T>(src: *const T) -> T {
    #[cfg(target_arch = "x86_64")]
    if const { in_chunks::<T>() } {
        let mut out = MaybeUninit::<T>::uninit();
        let from = src.cast::<Chunk>();
        let to = out.as_mut_ptr().cast::<Chunk>();
        for i in 0..size_of::<T>() / 16 {
            // SAFETY: chunk `i` lies inside `T`, in `src` (valid for reads, per the caller)
            // and in `out`; a `Chunk` is 8-aligned. Volatile keeps each load 16 bytes wide.
            unsafe { to.add(i).write(ptr::read_volatile(from.add(i))) };
        }
        // SAFETY: every byte of `T` was copied.
        return unsafe { out.assume_init() };
    }
    // SAFETY: per the caller.
    unsafe { read_in_words(src) }
}

/// How many bytes at the start of a value [`write_head_wide`] writes in 16-byte stores: the
/// captured arguments of most `async fn` bodies (a receiver, a few references and words).
const WIDE_HEAD: usize = 64;

/// Move `value` into `dst` (as `ptr::write`), with its first bytes, up to [`WIDE_HEAD`] and
/// in whole 16-byte chunks, written by 16-byte stores (on x86-64; elsewhere as `ptr::write`).
///
/// For a future written into the block it is polled in: the first poll loads its captured
/// arguments 16 bytes at a time, and they arrive here in registers, which the compiler
/// would store 8 bytes at a time (module docs). Where that poll is inlined here the
/// arguments stay in registers and the cost is the stores: a pair of words moved into a
/// vector register and stored, about two instructions per chunk more than two scalar stores.
///
/// # Safety
/// As for [`ptr::write`], and `dst` is 16-aligned.
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) unsafe fn write_head_wide<T>(dst: *mut T, value: T) {
    #[cfg(target_arch = "x86_64")]
    if const { size_of::<T>() >= 16 } {
        use std::arch::x86_64::__m128i;
        let value = ManuallyDrop::new(value);
        // SAFETY: per the caller; `value` is forgotten, so this moves it.
        unsafe { ptr::write(dst, ptr::read(&*value)) };
        let from = (&*value as *const T).cast::<MaybeUninit<__m128i>>();
        let to = dst.cast::<MaybeUninit<__m128i>>();
        let chunks = const {
            if size_of::<T>() < WIDE_HEAD {
                size_of::<T>() / 16
            } else {
                WIDE_HEAD / 16
            }
        };
        for i in 0..chunks {
            // SAFETY: chunk `i` lies inside `T`, in `value` (read unaligned) and in `dst`
            // (16-aligned, per the caller, and just written): the same bytes again, any
            // uninitialized ones as `MaybeUninit`. Volatile keeps each store 16 bytes wide:
            // the compiler would otherwise split it back into the 8-byte stores it replaces.
            unsafe { ptr::write_volatile(to.add(i), ptr::read_unaligned(from.add(i))) };
        }
        return;
    }
    // SAFETY: per the caller.
    unsafe { ptr::write(dst, value) }
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
#[cfg_attr(not(debug_assertions), inline(always))]
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
        #[cfg_attr(not(debug_assertions), inline(always))]
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

    #[test]
    fn reads_in_chunks_what_ptr_read_reads_at_any_8_aligned_address() {
        /// 8 bytes, then the value: 8-aligned, and not 16-aligned when the struct is.
        #[repr(C, align(16))]
        struct Offset<T>(u64, ManuallyDrop<T>);

        fn round_trip<T: Clone + PartialEq + std::fmt::Debug>(value: T) {
            let kept = Offset(0, ManuallyDrop::new(value.clone()));
            // SAFETY: `kept.1` is never dropped: its ownership moves to `read`.
            let read = unsafe { read_in_chunks(&*kept.1) };
            assert_eq!(read, value);
        }
        let shared: std::sync::Arc<str> = "chunked".into();
        let arcs: [(std::sync::Arc<str>, u64); 5] =
            std::array::from_fn(|i| (shared.clone(), i as u64));
        round_trip(arcs); // 80 bytes: five chunks
        let padded: [(u64, u8); 8] = std::array::from_fn(|i| (i as u64, i as u8));
        round_trip(padded); // 128 bytes, padding copied as it is
        round_trip([5u64; 32]); // 256 bytes
        round_trip([1u64; 9]); // 72 bytes: not whole chunks, read whole
        round_trip([2u64; 4]); // in words
        assert_eq!(
            std::sync::Arc::strong_count(&shared),
            1,
            "every clone dropped once"
        );
    }

    #[test]
    fn writes_the_head_wide_and_moves_the_value_once() {
        #[repr(align(16))]
        struct Aligned<T>(MaybeUninit<T>);

        fn round_trip<T: Clone + PartialEq + std::fmt::Debug>(value: T) {
            let mut slot = Aligned(MaybeUninit::<T>::uninit());
            // SAFETY: `slot` is 16-aligned and valid for writes; read back once below.
            unsafe { write_head_wide(slot.0.as_mut_ptr(), value.clone()) };
            // SAFETY: written just above.
            assert_eq!(unsafe { slot.0.assume_init() }, value);
        }
        let shared: std::sync::Arc<str> = "held".into();
        round_trip((shared.clone(), 1u64)); // 24 bytes: one chunk, then the rest as written
        let padded: [(std::sync::Arc<str>, u8); 3] =
            std::array::from_fn(|i| (shared.clone(), i as u8));
        round_trip(padded); // padding inside the head
        let five: [std::sync::Arc<str>; 5] = std::array::from_fn(|_| shared.clone());
        round_trip(five); // 80 bytes: four chunks, then the rest as written
        round_trip([9u64; 40]); // past WIDE_HEAD
        round_trip(7u8); // smaller than a chunk: as `ptr::write`
        assert_eq!(
            std::sync::Arc::strong_count(&shared),
            1,
            "every clone dropped once"
        );
    }
}
