//! A value task's representation (`Repr`): what it holds, how it is polled, how it is written
//! for a caller that moves it, and how it is dropped.
//!
//! # Invariants
//!
//! - `Repr` is a ready value, a `CompletionPool` slot (`Repr::Slot`: it recycles itself in
//!   the poll that returns `Ready`), any other backing (`Repr::Backed`: one thin pointer to a
//!   block that starts with its vtable, see `backing.rs`), or `Done`. A block is released
//!   exactly once (`backing.rs` invariants).
//! - `ValueTask<'_, u64>`, `ValueTask<'_, ()>` and `ValueTask<'_, io::Result<usize>>` are 16
//!   bytes, returned in two registers (`tests/alloc_counts.rs` asserts it). Never add a field
//!   to a `Repr` variant: at 24 bytes a value task is returned through memory, and a caller
//!   that copies it into an awaiting generator stalls on store forwarding (rows h3, h4 and
//!   j2 show it).
//! - `poll` and `Drop` are inlined and never pass the value task's own address to an opaque
//!   call: `Drop` skips `Done` (and `Ready` of a `T` without drop glue) and drops anything
//!   else by value, as words in registers, in one out-of-line call (see `Drop`'s docs for why
//!   one call: the unwinding paths must inline it too). Otherwise the compiler
//!   keeps the value task in memory and reloads its tag after every poll (row (h)).
//!   Re-check rows (h), (h4), (j) and (j2) after touching `Drop`, `poll` or the `Repr` tags.
//!   (j2) also moves with whether LLVM inlines the body's first poll into
//!   `stored_future::start_with` (a cost just over its threshold for the bench's body): read
//!   the disassembly before crediting or blaming a change for it.
//! - A backed poll's output of up to three words is moved out of the poll's slot in words at
//!   once and held in registers across the release; a larger one stays in the slot
//!   (`backing::Delivered`) until the block is released, and is moved out last, straight
//!   into what `poll` returns (in words up to 64 bytes): one copy fewer, and no spill.
//! - A value task a method returns is written in the widths the caller's move reads it in
//!   (`Repr::in_copy_widths`, `Repr::pointer_in_one_store`; see `forwarding.rs`).

use std::mem::{self, ManuallyDrop};
use std::ptr;
use std::task::{Context, Poll};

use super::ValueTask;
use crate::backing::{self, Backed};

/// Everything but a ready value is one thin pointer to its block (`backing.rs`), so a
/// `ValueTask<'_, T>` is 16 bytes for a `T` of up to 8 bytes: returned in two registers.
pub(crate) enum Repr<'a, T> {
    Ready(T),
    /// A `CompletionPool` slot, which recycles itself in the poll that returns `Ready` (told
    /// apart by the tag, so polling it loads nothing to learn that).
    Slot(Backed<'a, T>),
    /// Any other block, released by `ValueTask`'s `Drop` (which moves the `Backed` out, as
    /// words, and drops it), by the backing's `Drop` once taken out of the value task, or by
    /// `poll` once it is ready.
    Backed(Backed<'a, T>),
    /// Yielded its value already; polling again is a bug in the caller.
    Done,
}

impl<T> Repr<'_, T> {
    /// Whether a `Slot` or `Backed` has its tag and pointer in its first 16 bytes, and
    /// nothing else: always when the whole representation is 16 bytes; otherwise when it has
    /// a tag of its own (it is larger than `T`, so the tag did not go into a niche of `T`,
    /// which may lie anywhere in it), which rustc places first, followed by the variant's one
    /// field, an 8-aligned pointer, at offset 8.
    const POINTER_IN_HEAD: bool =
        mem::size_of::<Self>() == 16 || mem::size_of::<Self>() > mem::size_of::<T>();

    /// A `Ready` value task as a caller that copies it at once reads it: see
    /// [`forwarding::in_copy_widths`](crate::forwarding::in_copy_widths), and, for a 16-byte
    /// one, [`forwarding::head_in_one_store`](crate::forwarding::head_in_one_store).
    #[inline(always)]
    pub(super) fn in_copy_widths(self) -> ManuallyDrop<Self> {
        if mem::size_of::<Self>() == 16 {
            // SAFETY: 16 bytes: all of them are in the head.
            unsafe { crate::forwarding::head_in_one_store(self) }
        } else {
            crate::forwarding::in_copy_widths(self)
        }
    }

    /// A `Slot` or `Backed`, its head written as one store where that is safe
    /// ([`forwarding::head_in_one_store`](crate::forwarding::head_in_one_store)): the caller
    /// copies the value task it gets with vector loads, and the first would otherwise
    /// straddle the tag's store and the pointer's.
    #[inline(always)]
    pub(super) fn pointer_in_one_store(self) -> ManuallyDrop<Self> {
        debug_assert!(matches!(self, Repr::Slot(_) | Repr::Backed(_)));
        if Self::POINTER_IN_HEAD {
            // SAFETY: at least 16 bytes (a tag and a pointer); the tag and the pointer are
            // all a `Slot` or `Backed` holds, and they lie in the first 16 (`POINTER_IN_HEAD`;
            // the tests check the pointer's place for every layout rule it relies on).
            unsafe { crate::forwarding::head_in_one_store(self) }
        } else {
            ManuallyDrop::new(self)
        }
    }

    /// Poll whatever backs the value; `Done` once it has yielded. The ready case is inlined
    /// into the caller so that awaiting a ready value task folds away like awaiting a ready
    /// `async fn`.
    #[inline(always)]
    pub(super) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<T> {
        if let Repr::Ready(value) = self {
            // SAFETY: the value is moved out exactly once: `self` is overwritten with `Done`
            // (a tag-only write, no drop of the old contents) before anything can observe it.
            // Field-wise, not `mem::replace`, so the ready path copies no more than `T`.
            let value = unsafe { ptr::read(value) };
            // SAFETY: `self` is valid for writes; its old contents were moved out above.
            unsafe { ptr::write(self, Repr::Done) };
            return Poll::Ready(value);
        }
        // An `if` chain, not a `match`: the ready case above stays a compare and a branch
        // instead of an indirect jump through a table.
        if let Repr::Backed(backed) = self {
            // The vtable is loaded once, for the poll and the release.
            let (header, poll, release) = backed.parts();
            if const { crate::forwarding::in_words::<T>() && mem::size_of::<T>() <= 24 } {
                // SAFETY: the block is live, of the vtable's type, and ours to poll.
                let polled = unsafe { backing::call_poll(poll, header, cx) };
                if polled.is_ready() {
                    // An output of up to three words is moved out first, in words, and
                    // held in registers across the release (more would be spilled to the
                    // stack around that call: those stay in the slot, below); `Done` is
                    // written first, as below.
                    // SAFETY: `self` is valid for writes; the backing is forgotten (written
                    // over without a drop) and released just below instead.
                    unsafe { ptr::write(self, Repr::Done) };
                    // SAFETY: still live (only slots release themselves when ready, and they
                    // are `Repr::Slot`); its one release.
                    unsafe { release(header) };
                }
                return polled;
            }
            let mut out = backing::Delivered::<T>::new();
            // SAFETY: the block is live, of the vtable's type, and ours to poll.
            if unsafe { out.poll(poll, header, cx) } {
                // The block is released after `self` already says `Done`: a panicking drop
                // (of a finished future) cannot cause a second one.
                // SAFETY: `self` is valid for writes; the backing is forgotten (written over
                // without a drop) and released just below instead.
                unsafe { ptr::write(self, Repr::Done) };
                // SAFETY: still live (only slots release themselves when ready, and they are
                // `Repr::Slot`); its one release. The output stays in `out` meanwhile (and
                // is dropped there if the release panics), so that it is moved once, straight
                // into what this returns.
                unsafe { release(header) };
                return Poll::Ready(out.take());
            }
            return Poll::Pending;
        }
        if let Repr::Slot(slot) = self {
            // SAFETY: a `Repr::Slot` is a rented `CompletionPool` slot whose output is `T`
            // (only `CompletionPool::rent` makes one), and we are its consumer.
            if let Some(value) = unsafe { crate::source::pool::take_completed(slot.header()) } {
                // The slot recycled itself: forget the backing.
                // SAFETY: `self` is valid for writes; the backing owns nothing else.
                unsafe { ptr::write(self, Repr::Done) };
                return Poll::Ready(value);
            }
            let polled = slot.poll(cx);
            if polled.is_ready() {
                // The slot recycled itself: forget the backing.
                // SAFETY: `self` is valid for writes; the backing owns nothing else.
                unsafe { ptr::write(self, Repr::Done) };
            }
            return polled;
        }
        used_after_yield("ValueTask::poll")
    }

    pub(super) fn is_completed(&self) -> bool {
        match self {
            Repr::Ready(_) | Repr::Done => true,
            Repr::Slot(backed) | Repr::Backed(backed) => backed.status().is_completed(),
        }
    }

    pub(super) fn kind(&self) -> &'static str {
        match self {
            Repr::Ready(_) => "Ready",
            Repr::Slot(backed) | Repr::Backed(backed) => backed.name(),
            Repr::Done => "Done",
        }
    }
}

/// Misuse: a value task polled to completion (it is `Unpin`, so `Pin::new(&mut vt)` can poll
/// it and keep it) used again.
#[cold]
#[track_caller]
pub(super) fn used_after_yield(method: &str) -> ! {
    panic!("{method} on a value task that already yielded its value (it was polled to completion)")
}

impl<T> Drop for ValueTask<'_, T> {
    /// Inlined: a consumed value task (the common case after `.await`) drops nothing, nor does
    /// a ready value whose type has no drop glue. Anything else (a live backing, a ready value
    /// with drop glue) is moved out as up to three words and dropped out of line, passed in
    /// registers.
    ///
    /// Three choices here shape what the compiler makes of an `.await` on a value task:
    ///
    /// - Skipping `Ready` for types without drop glue leaves one check of the tag where there
    ///   were two, and lets the value task a call returns be written straight into the
    ///   awaiting generator's state instead of into a temporary copied there with wide loads,
    ///   which stalled on store forwarding (rows (h) and (j)).
    /// - Nothing here passes the value task's own address to an opaque call: the compiler may
    ///   then keep an awaited value task in registers instead of reloading, after the poll, the
    ///   `Done` tag it just stored (row (h)).
    /// - One out-of-line call with the words, not one per case: small enough for the compiler
    ///   to inline this drop where unwinding drops a value task (a landing pad is a cold call
    ///   site, with a small inlining budget). Not inlined there, the drop takes the value
    ///   task's address, so a value task held across a call that may unwind (a `Completer`'s
    ///   `set_result`, which wakes) must live in memory; moved into the awaiting future, it
    ///   was then copied with a 16-byte load of two 8-byte stores, which stalls on store
    ///   forwarding (rows (e) and (f); with two calls, a header or a ready value in words,
    ///   (f) keeps the stall).
    #[inline(always)]
    fn drop(&mut self) {
        // Tests, not a `match`: see `Repr::poll`.
        let live = matches!(*self.0, Repr::Slot(_) | Repr::Backed(_))
            || (mem::needs_drop::<T>() && matches!(*self.0, Repr::Ready(_)));
        if !live {
            return;
        }
        if ReprWords::<T>::FITS {
            // SAFETY: `self.0` is `ManuallyDrop` and never used again: its contents move
            // out exactly once, here.
            let words = unsafe { ReprWords::<T>::read(&*self.0) };
            drop_repr_in_words::<T>(words.0[0], words.0[1], words.0[2]);
        } else {
            // SAFETY: as above.
            drop_repr_out_of_line(unsafe { ptr::read(&*self.0) });
        }
    }
}

/// A representation of at most three words, as three words (the tail uninitialized).
struct ReprWords<T>([mem::MaybeUninit<u64>; 3], std::marker::PhantomData<T>);

impl<T> ReprWords<T> {
    const FITS: bool = mem::size_of::<Repr<'_, T>>() <= 24 && mem::align_of::<Repr<'_, T>>() <= 8;

    /// # Safety
    /// `repr` is moved out: the caller never uses or drops it again.
    #[inline(always)]
    unsafe fn read(repr: &Repr<'_, T>) -> Self {
        let mut words = [mem::MaybeUninit::<u64>::uninit(); 3];
        // SAFETY: `FITS`: the representation fits in the three words.
        unsafe {
            ptr::copy_nonoverlapping(
                (repr as *const Repr<'_, T>).cast::<u8>(),
                words.as_mut_ptr().cast::<u8>(),
                mem::size_of::<Repr<'_, T>>(),
            )
        };
        ReprWords(words, std::marker::PhantomData)
    }
}

/// The out-of-line part of a value task's `drop` (a live backing, or a ready value with drop
/// glue), given the representation as three words in registers rather than by address.
#[inline(never)]
fn drop_repr_in_words<T>(
    a: mem::MaybeUninit<u64>,
    b: mem::MaybeUninit<u64>,
    c: mem::MaybeUninit<u64>,
) {
    let words = [a, b, c];
    let mut repr = mem::MaybeUninit::<Repr<'_, T>>::uninit();
    // SAFETY: the words are a representation moved out by `ReprWords::read`, which fits.
    unsafe {
        ptr::copy_nonoverlapping(
            words.as_ptr().cast::<u8>(),
            repr.as_mut_ptr().cast::<u8>(),
            mem::size_of::<Repr<'_, T>>(),
        );
        drop(repr.assume_init());
    }
}

/// The out-of-line drop of a representation too large for three words.
#[inline(never)]
fn drop_repr_out_of_line<T>(repr: Repr<'_, T>) {
    drop(repr);
}
