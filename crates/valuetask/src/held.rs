//! A result held in a pooled block until a poll takes it: a started body's output that
//! completed in the poll that handed its yield to the caller (`stored_future.rs`: Held), a
//! body's output given at the call, too large for the value task's two words (Held of
//! [`Kind::Ready`]), and a ready result of such a size (`ValueTask::from_result`,
//! [`store_ready`]).
//!
//! # Invariants
//!
//! - A pooled block holding a result has the backing's header, then at [`BODY_OFFSET`] a
//!   [`Held`]: the result, whether a poll took it, and the block's size class. So reading the
//!   result and giving the block back need nothing of what the block held before: a value
//!   task of a result too large for its words takes a [`Kind::Ready`] one inline
//!   ([`take_pooled`], `Repr::Held`), without calls through the vtable.
//! - The result is written once, before the header says Held, and moved out at most once:
//!   by [`take_pooled`], which gives the block back at once, or by the vtable's poll, which
//!   marks it `taken`. The release drops a result not taken, and gives the block back even
//!   if that drop panics.
//! - The result is read out narrow (`forwarding`): in 8-byte words when it is whole words
//!   of at most 64 bytes (`read_in_words`, the vtable's poll), in 16-byte chunks when larger
//!   and made of whole chunks (`read_in_chunks`, [`take_pooled`]), else by `ptr::read`. The
//!   body's code wrote it moments before, in stores of its own choosing, and a wider load
//!   spanning two of them would wait for the cache.
//! - A ready result too large or too aligned for the pool goes to a box of its own
//!   ([`store_ready`]), released through its vtable; a body's output, when its future is in
//!   a box (`ValueTask::boxed`, or too large for the pool), stays in that box
//!   (`stored_future.rs`). Neither is ever `Repr::Held`.

use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::task::{Context, Poll};

use crate::backing::{deliver, poll_fn_of_slot, BackingVTable, Header, Kind, SourceStatus};
use crate::forwarding::{read_in_chunks, read_in_words};
use crate::pool::{return_block, take_block, ClassOf, GiveBack};

/// Where a pooled block's body starts: its header is 16 bytes, and a pooled block is aligned
/// to 16, at most, what it holds.
pub(crate) const BODY_OFFSET: usize = 16;

/// A result kept for a later poll.
pub(crate) struct Held<T> {
    pub(crate) output: ManuallyDrop<T>,
    /// A poll moved `output` out: the release drops nothing.
    pub(crate) taken: bool,
    /// A pooled block's size class; unused in a box.
    pub(crate) class: usize,
}

impl<T> Held<T> {
    /// Move the result out and mark it taken, so that the release drops nothing.
    ///
    /// # Safety
    /// `held` is a live block's `Held`, not taken yet, whose consumer the caller is.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) unsafe fn take(held: *mut Self) -> T {
        // SAFETY: per the caller: moved out once, then marked taken.
        unsafe {
            let output = read_in_words((&raw const (*held).output).cast::<T>());
            (*held).taken = true;
            output
        }
    }

    /// The slot convention's poll of a `Held` (`backing::PollFn`): the result, delivered.
    ///
    /// # Safety
    /// As for [`take`](Self::take); `out` is the caller's slot.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) unsafe fn deliver(held: *mut Self, out: NonNull<T>) -> bool {
        // SAFETY: per the caller.
        unsafe { deliver(Poll::Ready(Self::take(held)), out) }
    }
}

/// A pooled block's Held result, whatever the block held before (module invariants).
pub(crate) struct HeldPooled<T>(PhantomData<T>);

impl<T> HeldPooled<T> {
    /// Promoted to static memory when borrowed: a header's pointer stays valid forever.
    pub(crate) const HELD: BackingVTable<T> = BackingVTable {
        poll: poll_fn_of_slot!(Self::poll),
        status: status_succeeded::<T>,
        release: Self::release,
        kind: Kind::Future,
        name: "Pooled",
        token: None,
    };
    /// [`HELD`](Self::HELD) for a value task that is ready: a result too large for its words.
    pub(crate) const READY: BackingVTable<T> = BackingVTable {
        kind: Kind::Ready,
        name: "Ready",
        ..Self::HELD
    };

    fn held(header: NonNull<Header<T>>) -> *mut Held<T> {
        // SAFETY: inside the block (module invariants: the body starts 16 bytes in).
        unsafe {
            header
                .cast::<u8>()
                .as_ptr()
                .add(BODY_OFFSET)
                .cast::<Held<T>>()
        }
    }

    /// # Safety
    /// `header` starts a live Held block not taken yet, whose consumer the caller is (the
    /// `PollFn` contract).
    unsafe fn poll(header: NonNull<Header<T>>, _cx: &mut Context<'_>, out: NonNull<T>) -> bool {
        // SAFETY: Held and not taken (per the caller).
        unsafe { Held::deliver(Self::held(header), out) }
    }

    /// # Safety
    /// `header` starts a live Held pooled block; it is not used again.
    unsafe fn release(header: NonNull<Header<T>>) {
        let held = Self::held(header);
        // SAFETY: the block's class was kept with the output; given back after the drop,
        // also if it panics.
        let class = unsafe { (*held).class };
        let _give_back = GiveBack(class, header.cast());
        // SAFETY: an output not taken is dropped once, here.
        unsafe {
            if !(*held).taken {
                ManuallyDrop::drop(&mut (*held).output);
            }
        }
    }
}

/// Move the result out of a pooled Held block and give the block back: a value task's
/// `Repr::Held`, polled. Inlined there, so the result is read straight into what the poll
/// returns: the `Poll` is built before the block goes back, and giving it back does not
/// unwind (`pool::return_block`), so nothing keeps the result in a temporary meanwhile. A
/// result larger than eight words is read in 16-byte chunks (`forwarding::read_in_chunks`).
///
/// # Safety
/// `header` starts a live pooled Held block not taken yet, whose consumer the caller is; it
/// is not used again.
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) unsafe fn take_pooled<T>(header: NonNull<Header<T>>) -> Poll<T> {
    let held = HeldPooled::<T>::held(header);
    // SAFETY: per the caller: moved out once; the block is given back with its class and
    // nothing left to drop.
    unsafe {
        let polled = Poll::Ready(read_in_chunks((&raw const (*held).output).cast::<T>()));
        return_block((*held).class, header.cast());
        polled
    }
}

/// A result's status: it is there.
pub(crate) unsafe fn status_succeeded<T>(_header: NonNull<Header<T>>) -> SourceStatus {
    SourceStatus::Succeeded
}

/// A pooled block holding a result: the header, then the `Held` at `BODY_OFFSET`.
#[repr(C)]
struct PooledBlock<T> {
    header: Header<T>,
    held: Held<T>,
}

/// A boxed block holding a result: for results too large or too aligned for the pool.
#[repr(C)]
struct BoxedBlock<T> {
    header: Header<T>,
    held: Held<T>,
}

impl<T> BoxedBlock<T> {
    const READY: BackingVTable<T> = BackingVTable {
        poll: poll_fn_of_slot!(Self::poll),
        status: status_succeeded::<T>,
        release: Self::release,
        kind: Kind::Ready,
        name: "Ready",
        token: None,
    };

    /// # Safety
    /// As for `HeldPooled::poll`, for a block of this type.
    unsafe fn poll(header: NonNull<Header<T>>, _cx: &mut Context<'_>, out: NonNull<T>) -> bool {
        let block = header.cast::<Self>().as_ptr();
        // SAFETY: per the caller: Held and not taken.
        unsafe { Held::deliver(&raw mut (*block).held, out) }
    }

    /// # Safety
    /// `header` starts a live block of this type; it is not used again.
    unsafe fn release(header: NonNull<Header<T>>) {
        // SAFETY: per the caller: the box `store_ready` leaked, freed once, here. Its result
        // is dropped in place unless taken (the box then frees the memory, also if that drop
        // panics: `Held`'s output is `ManuallyDrop`, so the box drops nothing of it).
        let mut block = unsafe { Box::from_raw(header.cast::<Self>().as_ptr()) };
        if !block.held.taken {
            // SAFETY: not taken: dropped once, here.
            unsafe { ManuallyDrop::drop(&mut block.held.output) };
        }
    }
}

/// A block holding `value`, ready: the backing of a ready value task whose result does not
/// fit its two words. The second value says whether it is pooled (a `Repr::Held` may take
/// it inline).
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn store_ready<T>(value: T) -> (NonNull<Header<T>>, bool) {
    let class = ClassOf::<PooledBlock<T>>::CLASS;
    if class == usize::MAX {
        let block = Box::new(BoxedBlock {
            // SAFETY: `&READY` is a promoted constant, which outlives every block.
            header: unsafe { Header::from_raw(&BoxedBlock::<T>::READY) },
            held: Held {
                output: ManuallyDrop::new(value),
                taken: false,
                class,
            },
        });
        // SAFETY: `Box::into_raw` is never null.
        return (
            unsafe { NonNull::new_unchecked(Box::into_raw(block)) }.cast(),
            false,
        );
    }
    const {
        assert!(
            std::mem::offset_of!(PooledBlock<T>, held) == BODY_OFFSET
                || ClassOf::<PooledBlock<T>>::CLASS == usize::MAX
        );
    }
    let block = take_block(class).cast::<PooledBlock<T>>();
    // SAFETY: the block is of the class of `PooledBlock<T>` (at least its size, aligned to
    // 16 ≥ its alignment) and ours; `&READY` is a promoted constant.
    unsafe {
        block.as_ptr().write(PooledBlock {
            header: Header::from_raw(&HeldPooled::<T>::READY),
            held: Held {
                output: ManuallyDrop::new(value),
                taken: false,
                class,
            },
        })
    };
    (block.cast(), true)
}
