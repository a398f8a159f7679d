//! A ready result too large for a value task's two words, kept in a block of its own:
//! `ValueTask::from_result` (and a synchronous `#[value_task]` body) of such a `T`. The block
//! comes from the pool (`store_block`: a box past the pool's largest class) and holds the
//! backing's header, the result and whether a poll took it.
//!
//! # Invariants
//!
//! - The result is written once, when the block is made, and moved out at most once, by the
//!   poll that returns it, which then marks it `taken`; the release drops it unless it was
//!   taken, and gives the block back even if that drop panics.
//! - The block is a value task's backing like any other (`backing.rs`): one consumer, one
//!   release.

use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::task::{Context, Poll};

use crate::backing::{deliver, BackingVTable, Header, Kind, SourceStatus};
use crate::pool::{free_block, store_block};

/// The block: the header first (a backing's layout), then the result.
#[repr(C)]
struct ReadyBlock<T> {
    header: Header<T>,
    output: ManuallyDrop<T>,
    /// A poll moved `output` out: the release drops nothing.
    taken: bool,
}

impl<T> ReadyBlock<T> {
    /// Promoted to static memory when borrowed: a header's pointer stays valid forever.
    const VTABLE: BackingVTable<T> = BackingVTable {
        poll: Self::poll,
        status: Self::status,
        release: Self::release,
        kind: Kind::Ready,
        name: "Ready",
        token: None,
    };

    /// # Safety
    /// `header` starts a live block of this type whose result was not taken; the caller is
    /// its consumer (the `PollFn` contract).
    unsafe fn poll(header: NonNull<Header<T>>, _cx: &mut Context<'_>, out: NonNull<T>) -> bool {
        let block = header.cast::<Self>().as_ptr();
        // SAFETY: per the caller: moved out once, then marked taken so the release drops
        // nothing.
        unsafe {
            let output = ManuallyDrop::take(&mut (*block).output);
            (*block).taken = true;
            deliver(Poll::Ready(output), out)
        }
    }

    unsafe fn status(_header: NonNull<Header<T>>) -> SourceStatus {
        SourceStatus::Succeeded
    }

    /// # Safety
    /// `header` starts a live block of this type; it is not used again.
    unsafe fn release(header: NonNull<Header<T>>) {
        let block = header.cast::<Self>();
        /// Gives the block back when dropped: after the result's drop, or during its
        /// unwinding.
        struct Free<T>(NonNull<ReadyBlock<T>>);
        impl<T> Drop for Free<T> {
            fn drop(&mut self) {
                // SAFETY: the block came from `store_block`; what it holds needs no drop (the
                // result is `ManuallyDrop`, dropped or taken before this runs).
                unsafe { free_block(self.0) }
            }
        }
        let _free = Free(block);
        // SAFETY: per the caller; a result not taken is dropped once, here.
        unsafe {
            let block = block.as_ptr();
            if !(*block).taken {
                ManuallyDrop::drop(&mut (*block).output);
            }
        }
    }
}

/// A block holding `value`, ready: the backing of a ready value task whose result does not
/// fit its two words.
#[inline(always)]
pub(crate) fn store_ready<T>(value: T) -> NonNull<Header<T>> {
    store_block(|| ReadyBlock {
        // SAFETY: `&VTABLE` is a promoted constant, which outlives every block.
        header: unsafe { Header::from_raw(&ReadyBlock::<T>::VTABLE) },
        output: ManuallyDrop::new(value),
        taken: false,
    })
    .cast()
}
