//! A future stored behind a value task: in a pooled block (`ValueTask::new`, `start` and
//! `#[value_task]` bodies), or in a box (`ValueTask::boxed`, and futures too large or too
//! aligned for the pool). The block starts with the backing's header, then the future.
//!
//! # Started futures and yields
//!
//! A started future ([`start_with`], [`start_boxed`]) is polled once at the call with the
//! waker of `first_poll.rs`, which wakes nothing. A body that suspends there must still make
//! its caller's task return `Pending` to its executor, as it would had the caller polled it
//! first (`tokio::task::yield_now()`, a spent cooperative budget: .NET's `await Task.Yield()`
//! in an `async ValueTask` method suspends its caller). So the block's header says how the
//! first real poll goes:
//!
//! - **Woken** (the body woke the first poll's waker: a yield): wake the real waker and
//!   return `Pending` without polling the body; the next poll polls it.
//! - **Started** (it suspended without waking: it registered the waker, or deferred the wake
//!   as tokio's `yield_now` does inside a runtime): poll the body with the real waker. If it
//!   completes there, keep its output in the block (**Held**), wake the real waker and return
//!   `Pending`; the next poll gives the output. So a body that suspended at the call suspends
//!   its caller at least once, as a lazily polled one would.
//!
//! After that first real poll the block is a plain one (**Plain**): each poll polls the future.
//!
//! # Invariants
//!
//! - A block in use holds the future until it completed or was dropped; a Held block holds
//!   the output instead, until a poll moves it out (it is then Taken: nothing to drop).
//!   Which one the body holds is the header's vtable's to know: Plain, Started and Woken
//!   blocks hold the future, Held ones the output (and its `taken` flag).
//! - The future is polled only in its block (pinned there) and dropped in place, exactly
//!   once, before its block goes back (to the pool, or to the allocator for a box).
//! - During the first poll at the call the header is not written yet (nothing reads it: the
//!   block is not a backing until that poll suspends).

use std::future::Future;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::ptr::{self, NonNull};
use std::task::{Context, Poll};

use crate::backing::{deliver, BackingVTable, Header, Kind, SourceStatus};
use crate::first_poll::FirstPoll;
use crate::pool::{return_block, take_block, ClassOf};

/// A future and the header that makes it a value task's backing: the layout of a pooled
/// block, and of a boxed future.
#[repr(C)]
struct StoredBlock<F: Future> {
    header: Header<F::Output>,
    body: Body<F>,
}

/// The future, or (Held) the output its completion in a yielding poll left for the next poll.
#[repr(C)]
union Body<F: Future> {
    future: ManuallyDrop<F>,
    held: ManuallyDrop<Held<F::Output>>,
}

/// An output kept for the poll after the one that reported the body's yield.
struct Held<T> {
    output: ManuallyDrop<T>,
    /// A poll moved `output` out: the release drops nothing.
    taken: bool,
}

/// Where the block lives: a pooled block or a box (`BOXED`), for the vtables' release.
struct Stored<F, const BOXED: bool>(PhantomData<F>);

/// The size class of `F`'s pooled block; `usize::MAX` if none fits.
const fn class<F: Future>() -> usize {
    ClassOf::<StoredBlock<F>>::CLASS
}

impl<F: Future, const BOXED: bool> Stored<F, BOXED> {
    /// Borrowed as `&Self::PLAIN` etc., the constants are promoted to static memory: a
    /// header's pointer stays valid forever.
    const PLAIN: BackingVTable<F::Output> = Self::vtable(Self::poll_plain, Self::release_future);
    const STARTED: BackingVTable<F::Output> =
        Self::vtable(Self::poll_started, Self::release_future);
    const WOKEN: BackingVTable<F::Output> = Self::vtable(Self::poll_woken, Self::release_future);
    const HELD: BackingVTable<F::Output> = BackingVTable {
        status: Self::status_held,
        ..Self::vtable(Self::poll_held, Self::release_held)
    };

    const fn vtable(
        poll: crate::backing::PollFn<F::Output>,
        release: crate::backing::ReleaseFn<F::Output>,
    ) -> BackingVTable<F::Output> {
        BackingVTable {
            poll,
            status: Self::status_future,
            release,
            kind: Kind::Future,
            name: if BOXED { "Future" } else { "Pooled" },
            token: None,
        }
    }

    fn block(header: NonNull<Header<F::Output>>) -> *mut StoredBlock<F> {
        header.cast::<StoredBlock<F>>().as_ptr()
    }

    /// The future's place in the block (the union's fields start at its start).
    fn future(header: NonNull<Header<F::Output>>) -> *mut F {
        // SAFETY: a place computation inside the block, which is live (the callers').
        unsafe { (&raw mut (*Self::block(header)).body).cast::<F>() }
    }

    fn held(header: NonNull<Header<F::Output>>) -> *mut Held<F::Output> {
        // SAFETY: as in `future`.
        unsafe { (&raw mut (*Self::block(header)).body).cast::<Held<F::Output>>() }
    }

    /// # Safety
    /// The block is ours; `vtable` is one of this type's (a promoted constant).
    unsafe fn set_header(header: NonNull<Header<F::Output>>, vtable: &BackingVTable<F::Output>) {
        // SAFETY: per the caller.
        unsafe { (&raw mut (*Self::block(header)).header).write(Header::from_raw(vtable)) };
    }

    /// # Safety
    /// `header` starts a live block whose future has not completed.
    #[inline(always)]
    unsafe fn poll_future(
        header: NonNull<Header<F::Output>>,
        cx: &mut Context<'_>,
    ) -> Poll<F::Output> {
        // SAFETY: the future lives in its block until dropped; it is never moved.
        // (On `Ready` the future stays in place: the value task releases it.)
        unsafe { Pin::new_unchecked(&mut *Self::future(header)) }.poll(cx)
    }

    /// Plain's poll: [`poll_future`](Self::poll_future), its output delivered to `out`.
    ///
    /// # Safety
    /// As for `poll_future`; `out` is the caller's slot (the `PollFn` contract).
    unsafe fn poll_plain(
        header: NonNull<Header<F::Output>>,
        cx: &mut Context<'_>,
        out: NonNull<F::Output>,
    ) -> bool {
        // SAFETY: per the caller.
        unsafe { deliver(Self::poll_future(header, cx), out) }
    }

    /// Started's poll, the first real one (module docs).
    ///
    /// # Safety
    /// As for `poll_plain`.
    unsafe fn poll_started(
        header: NonNull<Header<F::Output>>,
        cx: &mut Context<'_>,
        _out: NonNull<F::Output>,
    ) -> bool {
        // SAFETY: per the caller.
        match unsafe { Self::poll_future(header, cx) } {
            Poll::Pending => {
                // SAFETY: ours; a constant of this type.
                unsafe { Self::set_header(header, &Self::PLAIN) };
            }
            Poll::Ready(output) => {
                // The finished future is dropped before the output takes its place; `Keep`
                // then stores the output and says Held, also if that drop panics (the header
                // must stop saying the block holds a future, or the release would drop it
                // twice).
                struct Keep<F: Future, const BOXED: bool>(
                    NonNull<Header<F::Output>>,
                    ManuallyDrop<F::Output>,
                );
                impl<F: Future, const BOXED: bool> Drop for Keep<F, BOXED> {
                    fn drop(&mut self) {
                        let output = ManuallyDrop::new(
                            // SAFETY: moved out once, here, into the block.
                            unsafe { ManuallyDrop::take(&mut self.1) },
                        );
                        // SAFETY: the future was dropped (or its drop unwound): the body's
                        // place is free for the output; the header then says Held.
                        unsafe {
                            Stored::<F, BOXED>::held(self.0).write(Held {
                                output,
                                taken: false,
                            });
                            Stored::<F, BOXED>::set_header(self.0, &Stored::<F, BOXED>::HELD);
                        }
                    }
                }
                let keep = Keep::<F, BOXED>(header, ManuallyDrop::new(output));
                // SAFETY: the future completed; dropped once, in place.
                unsafe { ptr::drop_in_place(Self::future(header)) };
                drop(keep);
                cx.waker().wake_by_ref();
            }
        }
        false
    }

    /// Woken's poll: hand the body's wake-up to the caller's executor (module docs).
    ///
    /// # Safety
    /// As for `poll_plain`.
    unsafe fn poll_woken(
        header: NonNull<Header<F::Output>>,
        cx: &mut Context<'_>,
        _out: NonNull<F::Output>,
    ) -> bool {
        // SAFETY: ours; a constant of this type.
        unsafe { Self::set_header(header, &Self::PLAIN) };
        cx.waker().wake_by_ref();
        false
    }

    /// Held's poll: the output, moved out once.
    ///
    /// # Safety
    /// As for `poll_plain`, for a Held block not yet taken.
    unsafe fn poll_held(
        header: NonNull<Header<F::Output>>,
        _cx: &mut Context<'_>,
        out: NonNull<F::Output>,
    ) -> bool {
        let held = Self::held(header);
        // SAFETY: Held and not taken (a value task polls no further after `Ready`): moved
        // out once, then marked taken so the release drops nothing.
        unsafe {
            let output = ManuallyDrop::take(&mut (*held).output);
            (*held).taken = true;
            deliver(Poll::Ready(output), out)
        }
    }

    unsafe fn status_future(_header: NonNull<Header<F::Output>>) -> SourceStatus {
        SourceStatus::Pending
    }

    unsafe fn status_held(_header: NonNull<Header<F::Output>>) -> SourceStatus {
        SourceStatus::Succeeded
    }

    /// Give the block back: to its class's pool, or to the allocator.
    ///
    /// # Safety
    /// `header` starts a block of this type whose contents were dropped or moved out; it is
    /// not used again.
    unsafe fn free(header: NonNull<Header<F::Output>>) {
        if BOXED {
            // SAFETY: the box `start_boxed`/`boxed` leaked; the body is a union without drop
            // glue and the header has none: this frees the memory only.
            drop(unsafe { Box::from_raw(Self::block(header)) });
        } else {
            return_block(class::<F>(), header.cast());
        }
    }

    /// Release a block that holds its future (Plain, Started, Woken): the future is dropped
    /// in place and the block given back, even if that drop panics.
    ///
    /// # Safety
    /// `header` starts a live block of this type holding its future; it is not used again.
    unsafe fn release_future(header: NonNull<Header<F::Output>>) {
        /// Gives the block back even if dropping the future panics.
        struct Free<F: Future, const BOXED: bool>(NonNull<Header<F::Output>>);
        impl<F: Future, const BOXED: bool> Drop for Free<F, BOXED> {
            #[inline]
            fn drop(&mut self) {
                // SAFETY: the future was dropped (or its drop unwound); not used again.
                unsafe { Stored::<F, BOXED>::free(self.0) };
            }
        }
        let _free = Free::<F, BOXED>(header);
        // SAFETY: per the caller; the future is dropped exactly once, in place (it was
        // pinned there).
        unsafe { ptr::drop_in_place(Self::future(header)) };
    }

    /// Release a Held block: its output is dropped unless a poll took it.
    ///
    /// # Safety
    /// `header` starts a live Held block of this type; it is not used again.
    unsafe fn release_held(header: NonNull<Header<F::Output>>) {
        struct Free<F: Future, const BOXED: bool>(NonNull<Header<F::Output>>);
        impl<F: Future, const BOXED: bool> Drop for Free<F, BOXED> {
            fn drop(&mut self) {
                // SAFETY: the output was dropped or taken; not used again.
                unsafe { Stored::<F, BOXED>::free(self.0) };
            }
        }
        let _free = Free::<F, BOXED>(header);
        let held = Self::held(header);
        // SAFETY: per the caller; an output not taken is dropped once, here.
        unsafe {
            if !(*held).taken {
                ManuallyDrop::drop(&mut (*held).output);
            }
        }
    }
}

/// `future` in a box with its header, not polled yet: for futures too large for the pool
/// given to `ValueTask::new`, and for the library's own bridges.
pub(crate) fn boxed<F: Future>(future: F) -> NonNull<Header<F::Output>> {
    let block = Box::new(StoredBlock {
        // SAFETY: `&PLAIN` is a promoted constant.
        header: unsafe { Header::from_raw(&Stored::<F, true>::PLAIN) },
        body: Body {
            future: ManuallyDrop::new(future),
        },
    });
    // SAFETY: `Box::into_raw` is never null.
    unsafe { NonNull::new_unchecked(Box::into_raw(block)) }.cast()
}

/// Store `future` in a pooled block, not polled yet, or hand it back if it is too large or
/// too aligned.
pub(crate) fn store<F: Future>(future: F) -> Result<NonNull<Header<F::Output>>, F> {
    if class::<F>() == usize::MAX {
        return Err(future);
    }
    let block = take_block(class::<F>()).cast::<StoredBlock<F>>();
    // SAFETY: the block fits a `StoredBlock<F>` (its class), is aligned to 16 ≥ its
    // alignment, and ours. `&PLAIN` is a promoted constant.
    unsafe {
        block.as_ptr().write(StoredBlock {
            header: Header::from_raw(&Stored::<F, false>::PLAIN),
            body: Body {
                future: ManuallyDrop::new(future),
            },
        })
    };
    Ok(block.cast())
}

/// What [`start_with`] does with the future, each case given to its own continuation so that
/// a ready output moves straight into what the caller builds of it (no enum in between to
/// copy it through).
pub(crate) trait StartedInto<F: Future> {
    /// What the caller makes of the outcome.
    type Out;
    /// It completed during the first poll; its storage is already given back.
    fn ready(output: F::Output) -> Self::Out;
    /// It suspended; it stays in its block (the block's header, Started or Woken).
    fn pending(header: NonNull<Header<F::Output>>) -> Self::Out;
}

/// Store the future `make` returns in a pooled block (a box if it fits no class) and poll
/// it once, in place, with the first poll's waker (module docs); `S` makes the caller's
/// value of the outcome.
///
/// `make` runs after the block is taken, so a future it constructs (an `async` block over its
/// captures) is written where it will live instead of being built on the caller's stack and
/// copied there. `make` must not panic (the macro's closures only build an `async` block); if
/// it does, the block is returned and the panic propagates.
#[inline(always)]
pub(crate) fn start_with<F: Future, S: StartedInto<F>>(make: impl FnOnce() -> F) -> S::Out {
    if class::<F>() == usize::MAX {
        return start_boxed::<F, S>(make());
    }
    /// Returns an empty block if `make` panics.
    struct Taken(NonNull<u8>, usize);
    impl Drop for Taken {
        fn drop(&mut self) {
            return_block(self.1, self.0);
        }
    }
    let taken = Taken(take_block(class::<F>()), class::<F>());
    let header = taken.0.cast::<Header<F::Output>>();
    // SAFETY: the block fits a `StoredBlock<F>` (its class), is aligned to 16 ≥ its
    // alignment, and ours; the future is written in its place, where it stays pinned.
    unsafe { Stored::<F, false>::future(header).write(make()) };
    std::mem::forget(taken);
    // SAFETY: the block holds a future nobody else references.
    unsafe { first_poll::<F, S, false>(header) }
}

/// [`start_with`] in a box: `ValueTask::boxed`, and futures too large or too aligned for the
/// pool.
pub(crate) fn start_boxed<F: Future, S: StartedInto<F>>(future: F) -> S::Out {
    let header = boxed(future);
    // SAFETY: a fresh box holding a future nobody else references.
    unsafe { first_poll::<F, S, true>(header) }
}

/// Poll the block's future once with the first poll's waker; give the block back if it
/// completed, else write the header the module docs say.
///
/// # Safety
/// `header` starts a block of this type (`BOXED`) holding a future not polled yet, nobody
/// else's; its header may be unwritten.
#[inline(always)]
unsafe fn first_poll<F: Future, S: StartedInto<F>, const BOXED: bool>(
    header: NonNull<Header<F::Output>>,
) -> S::Out {
    /// Drops the future and gives the block back if the poll panics.
    struct Unwind<F: Future, const BOXED: bool>(NonNull<Header<F::Output>>);
    impl<F: Future, const BOXED: bool> Drop for Unwind<F, BOXED> {
        fn drop(&mut self) {
            // SAFETY: the block holds a live `F` that nobody else references
            // (`release_future` reads no header).
            unsafe { Stored::<F, BOXED>::release_future(self.0) };
        }
    }
    let guard = Unwind::<F, BOXED>(header);
    let first = FirstPoll::new();
    let waker = first.waker();
    // SAFETY: the block holds a pending `F`, ours alone (`poll_future` reads no header).
    let polled =
        unsafe { Stored::<F, BOXED>::poll_future(header, &mut Context::from_waker(&waker)) };
    std::mem::forget(guard);
    match polled {
        Poll::Ready(output) => {
            // SAFETY: completed, and nothing else knows the block: the future is dropped in
            // place exactly once and the block given back, even if that drop panics.
            unsafe { Stored::<F, BOXED>::release_future(header) };
            S::ready(output)
        }
        Poll::Pending => {
            let vtable = if first.woken() {
                &Stored::<F, BOXED>::WOKEN
            } else {
                &Stored::<F, BOXED>::STARTED
            };
            // SAFETY: the block is ours; the vtable is a promoted constant of its type.
            unsafe { Stored::<F, BOXED>::set_header(header, vtable) };
            S::pending(header)
        }
    }
}
