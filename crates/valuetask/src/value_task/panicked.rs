//! A value task whose body panicked in the part that runs at the call ([`ValueTask::start`],
//! a `#[value_task]` body, synchronous ones included, the future of a `#[dyn_trait]` call):
//! the panic is kept in a block of [`Kind::Panicked`] and resumes where the value task is
//! polled (an `.await`, `get_result`), as .NET keeps an exception thrown before an `async`
//! method's first `await` in the task it returns and throws it at the `await`. A box's lazy future panics at its
//! first poll too: code that catches a call's panics around the future
//! (`catch_unwind(AssertUnwindSafe(call))`, a spawned task's `JoinError`) sees them there.
//!
//! # Invariants
//!
//! - The block is a `Box<PanickedBlock<T>>`, its [`Header`] first: a panic is rare, so it
//!   takes no pooled block (whose class would depend on the future's size).
//! - The payload is taken at most once, by the poll that resumes it; the block stays the
//!   value task's, released by its `Drop` (a poll that unwinds leaves its block in place, as
//!   a future's does). A payload still there at the release is dropped with
//!   [`discard`](crate::catch_panic::discard): a payload whose `Drop` panics cannot escape.
//! - Dropped unawaited, the panic is not reported again: the panic hook reported it when it
//!   happened (the default hook prints it).

use std::any::Any;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::task::{Context, Poll};

use crate::backing::{BackingVTable, Header, Kind, PollFn, SourceStatus};

use super::ValueTask;

/// The block: the header, then the payload until a poll takes it.
#[repr(C)]
struct PanickedBlock<T> {
    header: Header<T>,
    payload: Option<Box<dyn Any + Send>>,
}

/// The vtable of a panicked block of `T`.
struct Panicked<T>(PhantomData<T>);

impl<T> Panicked<T> {
    /// Promoted to static memory when borrowed: a header's pointer stays valid forever.
    const VTABLE: BackingVTable<T> = BackingVTable {
        poll: PollFn::new(Self::poll_slot, Self::poll_returning),
        status: Self::status,
        release: Self::release,
        kind: Kind::Panicked,
        name: "Panicked",
        token: None,
    };

    /// Resume the kept panic.
    ///
    /// # Safety
    /// `header` starts a live block of this type, whose consumer the caller is.
    unsafe fn resume(header: NonNull<Header<T>>) -> ! {
        let block = header.cast::<PanickedBlock<T>>().as_ptr();
        // SAFETY: per the caller; nothing else reads the block while its consumer polls.
        let payload = unsafe { (*block).payload.take() };
        match payload {
            Some(payload) => std::panic::resume_unwind(payload),
            // A value task polls no further after a poll that unwound unless it is polled
            // again by hand, through `&mut`, after catching that unwind.
            None => panic!(
                "a value task whose body panicked at the call was polled again after its panic \
                 resumed"
            ),
        }
    }

    /// # Safety
    /// As for [`resume`](Self::resume).
    unsafe fn poll_slot(
        header: NonNull<Header<T>>,
        _cx: &mut Context<'_>,
        _out: NonNull<T>,
    ) -> bool {
        // SAFETY: per the caller.
        unsafe { Self::resume(header) }
    }

    /// # Safety
    /// As for [`resume`](Self::resume).
    unsafe fn poll_returning(header: NonNull<Header<T>>, _cx: &mut Context<'_>) -> Poll<T> {
        // SAFETY: per the caller.
        unsafe { Self::resume(header) }
    }

    /// Completed, by a panic: .NET's `Faulted`.
    ///
    /// # Safety
    /// None needed (it reads nothing); `unsafe` for the vtable's type.
    unsafe fn status(_header: NonNull<Header<T>>) -> SourceStatus {
        SourceStatus::Faulted
    }

    /// Drop a payload no poll took, and free the block.
    ///
    /// # Safety
    /// `header` starts a live block of this type; it is not used again.
    unsafe fn release(header: NonNull<Header<T>>) {
        // SAFETY: per the caller: the box `panicked` made, released once.
        let block = unsafe { Box::from_raw(header.cast::<PanickedBlock<T>>().as_ptr()) };
        if let Some(payload) = block.payload {
            crate::catch_panic::discard(payload);
        }
    }
}

impl<'a, T> ValueTask<'a, T> {
    /// A value task that resumes `payload`'s panic where it is polled (module docs).
    #[cold]
    #[inline(never)]
    pub(crate) fn panicked(payload: Box<dyn Any + Send>) -> Self {
        let block = Box::new(PanickedBlock {
            // SAFETY: the vtable is a promoted constant.
            header: unsafe { Header::from_raw(&Panicked::<T>::VTABLE) },
            payload: Some(payload),
        });
        // SAFETY: `Box::into_raw` is never null.
        let header = unsafe { NonNull::new_unchecked(Box::into_raw(block)) }.cast::<Header<T>>();
        // SAFETY: a fresh block of its vtable's type, holding nothing that borrows; a payload
        // is `Send`.
        unsafe { ValueTask::from_header(header) }
    }
}
