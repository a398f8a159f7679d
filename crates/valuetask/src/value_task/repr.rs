//! A value task's representation (`Repr`): what it holds, how it is polled, how it is written
//! for a caller that moves it, and how it is dropped.
//!
//! # Invariants
//!
//! - A `ValueTask<'_, T>` is two words ([`Words`]) for every `T`: 16 bytes, returned in two
//!   registers, moved as two words. A caller that copies a value task (an `.await` moving it
//!   into the awaiting future's state) copies 16 bytes whatever the result; returned through
//!   memory (24 bytes already), a value task costs a call what a box costs and more (the
//!   callee's stores, the caller's wider loads stalled on them).
//! - The words hold the bytes of a `Repr<'_, T, R>` of at most 16 bytes: `R` is [`Inline`]
//!   when `Repr<'_, T>` itself fits ([`Repr::INLINE`]: `()`, a word, a pointer, or a `T`
//!   whose niches hold the tag, as `io::Result<usize>`'s do); otherwise [`Far`], whose ready
//!   variant cannot be made: a ready result is kept in a block (`held.rs`: its own, or the
//!   body's pooled block when it completed at the call) and is moved once, out of the
//!   block, when the value task is polled (`Repr::Held`, inline). Which of the two is chosen per
//!   `T` at compile time; nothing else reads or writes the words.
//! - `Repr` is a ready value, a `CompletionPool` slot (`Repr::Slot`: it recycles itself in
//!   the poll that returns `Ready`), any other backing (`Repr::Backed`: one thin pointer to a
//!   block that starts with its vtable, see `backing.rs`), a ready result in a pooled block
//!   (`Repr::Held`), a block polled to completion and not released yet (`Repr::Yielded`), or
//!   `Done`. A block is released
//!   exactly once (`backing.rs` invariants).
//! - `poll` and `Drop` are inlined and never pass the value task's own address to an opaque
//!   call: `Drop` skips `Done` (and `Ready` of a `T` without drop glue) and drops anything
//!   else by value, as its two words in registers, in one out-of-line call (see `Drop`'s
//!   docs for why one call: the unwinding paths must inline it too). Otherwise the compiler
//!   keeps the value task in memory and reloads its tag after every poll (row (h)).
//!   Re-check rows (h), (h4), (j) and (j2) after touching `Drop`, `poll` or the `Repr` tags.
//! - A backed poll's output of up to three whole words (8-aligned, a multiple of 8 bytes) is
//!   moved out of the poll's slot in words at once and held in registers across the release.
//!   A larger one is returned by the block's poll (`backing::PollFn`) straight into the place
//!   `poll` returns into: between that call and `poll`'s return nothing may unwind, so a ready block is not released there but kept
//!   (`Repr::Yielded`) until `Drop` (a slot released itself); one not of whole words (at most
//!   64 bytes) stays in the poll's slot (`backing::Delivered`) until the block is released
//!   and is moved out last, straight into what `poll` returns.
//! - `Yielded` is `Done` to everything but `Drop`: it has yielded its value, and still owns its
//!   block, released exactly once, by `Drop` or by `into_repr`.
//! - A value task a method returns has its two words written as one 16-byte store
//!   (`forwarding::head_in_one_store`): the caller's copy of it loads them as one.

use std::marker::PhantomData;
use std::mem::{self, ManuallyDrop, MaybeUninit};
use std::ptr;
use std::task::{Context, Poll};

use super::ValueTask;
#[cfg(feature = "stats")]
use crate::backing::Kind;
use crate::backing::{self, Backed, PollFn};

// The two words are 64-bit, and a pointer with its tag must fill them exactly (`completed`'s
// assertion, `fits_words`' alignment): say so, rather than fail inside a constant.
#[cfg(not(target_pointer_width = "64"))]
compile_error!(
    "valuetask needs a 64-bit target: a value task is two 64-bit words, a tag and a pointer \
     or an inline result (see `value_task/repr.rs`)"
);

/// The two words of every value task.
#[derive(Clone, Copy)]
#[repr(C)]
pub(crate) struct Words(MaybeUninit<u64>, MaybeUninit<u64>);

/// Where a representation keeps a ready value: the `Ready` variant's field is `Value`; a
/// `Held` variant (a ready value in a pooled block) is made only where `Far` is `()`.
pub(crate) trait Room<T> {
    /// What `Repr::Ready` holds.
    type Value;
    /// The value a `Ready` variant holds.
    fn into_value(value: Self::Value) -> T;
    /// `()` for [`Far`], [`Never`] for [`Inline`]: `Repr::Held`'s second field.
    type Far;
    /// Whether `Repr::Held` can be made ([`Far`]): `poll` tests for it only then.
    const FAR: bool;
    /// The second field of `Repr::Held` and `Repr::Yielded`, where they can be made.
    const KEEP: Option<Self::Far>;
}

/// A representation that holds a ready value itself.
pub(crate) struct Inline;

impl<T> Room<T> for Inline {
    type Value = T;
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn into_value(value: T) -> T {
        value
    }
    type Far = Never;
    const FAR: bool = false;
    const KEEP: Option<Never> = None;
}

/// A representation whose ready values live in a block: its `Ready` variant cannot be made.
pub(crate) struct Far;

/// No value: the `Ready` variant of a [`Far`] representation.
pub(crate) enum Never {}

impl<T> Room<T> for Far {
    type Value = Never;
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn into_value(value: Never) -> T {
        match value {}
    }
    type Far = ();
    const FAR: bool = true;
    const KEEP: Option<()> = Some(());
}

/// What a value task holds. Everything but a ready value is one thin pointer to its block
/// (`backing.rs`).
pub(crate) enum Repr<'a, T, R: Room<T> = Inline> {
    Ready(R::Value),
    /// A `CompletionPool` slot, which recycles itself in the poll that returns `Ready` (told
    /// apart by the tag, so polling it loads nothing to learn that).
    Slot(Backed<'a, T>),
    /// Any other block, released by `ValueTask`'s `Drop` (which moves the words out and drops
    /// them), by the backing's `Drop` once taken out of the value task, or by `poll` once it
    /// is ready.
    Backed(Backed<'a, T>),
    /// A ready value too large for the words, in a pooled block (`held.rs`): polled, it is
    /// moved out and the block given back inline, with no call through the vtable; dropped,
    /// the vtable releases it as any other `Backed`.
    Held(Backed<'a, T>, R::Far),
    /// Yielded its value already, like `Done`, and still holds the block it polled to
    /// completion, which `Drop` releases: a far value task whose block's poll returns its
    /// output (`backing::PollFn`). Released between that poll and the return, an unwinding
    /// call would sit between the output's write and its move into the caller's place, and
    /// the compiler could not write it there directly.
    Yielded(Backed<'a, T>, R::Far),
    /// Yielded its value already; polling again is a bug in the caller.
    Done,
}

impl<T> Repr<'_, T> {
    /// Whether a value task of `T` holds a ready `T` in its two words: when this
    /// representation fits them.
    pub(crate) const INLINE: bool = backing::fits_words::<T>();
}

impl<'a, T, R: Room<T>> Repr<'a, T, R> {
    /// The words of this representation, its two words written as one store where that is
    /// safe ([`forwarding::head_in_one_store`](crate::forwarding::head_in_one_store)): the
    /// caller copies the value task it gets with a 16-byte load, which would otherwise
    /// straddle the tag's store and the pointer's.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn into_words(self) -> Words {
        // Folded at compile time; instantiated only for the representation `T` has (the
        // callers choose by `INLINE`), which always fits. Not a `const` assertion: the other
        // form's branch is still instantiated, and must compile.
        assert!(
            mem::size_of::<Self>() <= mem::size_of::<Words>()
                && mem::align_of::<Self>() <= mem::align_of::<Words>(),
            "a value task's representation fits its two words"
        );
        let this = if mem::size_of::<Self>() == 16 {
            // SAFETY: 16 bytes: all of them are in the head.
            unsafe { crate::forwarding::head_in_one_store(self) }
        } else {
            ManuallyDrop::new(self)
        };
        let mut words = MaybeUninit::<Words>::uninit();
        // SAFETY: the representation fits the words (checked above); its bytes move there,
        // the rest stays uninitialized, which `Words` allows.
        unsafe {
            words.as_mut_ptr().cast::<ManuallyDrop<Self>>().write(this);
            words.assume_init()
        }
    }

    /// # Safety
    /// `words` hold a representation of this type, whose ownership moves to the caller.
    #[cfg_attr(not(debug_assertions), inline(always))]
    unsafe fn from_words(words: Words) -> Self {
        // SAFETY: per the caller.
        unsafe { ptr::read((&raw const words).cast::<Self>()) }
    }

    /// Poll whatever backs the value; `Done` once it has yielded. The ready case is inlined
    /// into the caller so that awaiting a ready value task folds away like awaiting a ready
    /// `async fn`.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<T> {
        if let Repr::Ready(value) = self {
            // SAFETY: the value is moved out exactly once: `self` is overwritten with `Done`
            // (a tag-only write, no drop of the old contents) before anything can observe it.
            // Field-wise, not `mem::replace`, so the ready path copies no more than `T`.
            let value = unsafe { ptr::read(value) };
            // SAFETY: `self` is valid for writes; its old contents were moved out above.
            unsafe { ptr::write(self, Repr::Done) };
            return Poll::Ready(R::into_value(value));
        }
        // An `if` chain, not a `match`: the ready case above stays a compare and a branch
        // instead of an indirect jump through a table.
        if !R::FAR {
            // No `Held` here: no test for it.
        } else if let Repr::Held(backed, _) = self {
            let header = backed.header();
            // SAFETY: `self` is valid for writes; the backing is forgotten (written over
            // without a drop), its block given back just below instead.
            unsafe { ptr::write(self, Repr::Done) };
            // SAFETY: a `Held` is a live pooled Held block of `T`, not taken, ours; this is
            // its one release.
            return unsafe { crate::held::take_pooled(header) };
        }
        if !PollFn::<T>::BY_SLOT && matches!(self, Repr::Slot(_) | Repr::Backed(_)) {
            return self.poll_returning(cx);
        }
        if let Repr::Backed(backed) = self {
            // The vtable is loaded once, for the poll and the release.
            let (header, poll, release) = backed.parts();
            let poll = poll.by_slot();
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

    /// A `Slot`'s or `Backed`'s poll where the block's poll returns its output
    /// (`backing::PollFn::BY_SLOT` is false: an output of more than three words, but an
    /// odd-sized one of at most 64 bytes): one path from that call to this function's return, with no call
    /// that may unwind between them, so that the compiler passes the place this returns into
    /// (an `.await`'s, and up the chain the awaiting future's own return place) as the block's
    /// poll's return place, and the output is written once, where it ends up. So a ready
    /// `Backed` is kept as `Yielded` (released by `Drop`, after the output has moved on); a
    /// slot released itself. In an inline representation of such a `T` (`into_repr`'s, which
    /// cannot say `Yielded`) the block is released at once, after `Done`.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn poll_returning(&mut self, cx: &mut Context<'_>) -> Poll<T> {
        let slot = matches!(self, Repr::Slot(_));
        let (Repr::Slot(backed) | Repr::Backed(backed)) = self else {
            unreachable!("poll_returning is called for a Slot or a Backed")
        };
        let header = backed.header();
        if let Some(keep) = R::KEEP {
            // The same `polled` on both paths, and nothing between the poll and the return
            // but the tag's store: see above.
            let polled = backed.poll(cx);
            if polled.is_ready() {
                let next = if slot {
                    Repr::Done
                } else {
                    // SAFETY: the same block moves from `Backed` to `Yielded`, still this
                    // value task's alone (the old `Backed` is written over without a drop).
                    Repr::Yielded(unsafe { Backed::from_header(header) }, keep)
                };
                // SAFETY: `self` is valid for writes; a slot that recycled itself is
                // forgotten, any other backing is now `next`'s.
                unsafe { ptr::write(self, next) };
            }
            return polled;
        }
        let release = backed.parts().2;
        let polled = backed.poll(cx);
        if polled.is_ready() {
            // SAFETY: `self` is valid for writes; the backing is forgotten (written over
            // without a drop) and, unless a slot recycled itself, released just below.
            unsafe { ptr::write(self, Repr::Done) };
            if !slot {
                // SAFETY: still live (only slots release themselves when ready); its one
                // release.
                unsafe { release(header) };
            }
        }
        polled
    }

    /// The backing of a `Slot` or `Backed`.
    pub(super) fn backed(&self) -> Option<&Backed<'a, T>> {
        match self {
            Repr::Slot(backed) | Repr::Backed(backed) | Repr::Held(backed, _) => Some(backed),
            Repr::Ready(_) | Repr::Yielded(..) | Repr::Done => None,
        }
    }

    pub(super) fn is_completed(&self) -> bool {
        match self {
            Repr::Ready(_) | Repr::Held(..) | Repr::Yielded(..) | Repr::Done => true,
            Repr::Slot(backed) | Repr::Backed(backed) => backed.status().is_completed(),
        }
    }

    pub(super) fn kind(&self) -> &'static str {
        match self {
            Repr::Ready(_) | Repr::Held(..) => "Ready",
            Repr::Slot(backed) | Repr::Backed(backed) => backed.name(),
            Repr::Yielded(..) | Repr::Done => "Done",
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

/// The representation's two forms behind the one type, and the conversions between a value
/// task and a representation that may be larger than its words (`into_repr`, `from_repr`:
/// for the paths that take a value task apart, never for a call's or an `.await`'s).
impl<'a, T> ValueTask<'a, T> {
    /// Whether this value task's words hold an inline representation (see [`Repr::INLINE`]).
    pub(super) const INLINE: bool = Repr::<'a, T>::INLINE;

    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn from_words(words: Words) -> Self {
        ValueTask {
            words,
            _repr: PhantomData,
        }
    }

    /// A value task of an inline representation. Only if [`INLINE`](Self::INLINE).
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn from_inline(repr: Repr<'a, T>) -> Self {
        debug_assert!(Self::INLINE);
        ValueTask::from_words(repr.into_words())
    }

    /// A value task of a far representation. Only if not [`INLINE`](Self::INLINE).
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn from_far(repr: Repr<'a, T, Far>) -> Self {
        debug_assert!(!Self::INLINE);
        ValueTask::from_words(repr.into_words())
    }

    /// The inline representation. Only if [`INLINE`](Self::INLINE).
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn inline(&self) -> &Repr<'a, T> {
        debug_assert!(Self::INLINE);
        // SAFETY: `INLINE`: the words hold an inline representation (module invariants),
        // and are aligned for it (`into_words` checks it).
        unsafe { &*(&raw const self.words).cast() }
    }

    /// See [`inline`](Self::inline).
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn inline_mut(&mut self) -> &mut Repr<'a, T> {
        debug_assert!(Self::INLINE);
        // SAFETY: as for `inline`.
        unsafe { &mut *(&raw mut self.words).cast() }
    }

    /// The far representation. Only if not [`INLINE`](Self::INLINE).
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn far(&self) -> &Repr<'a, T, Far> {
        debug_assert!(!Self::INLINE);
        // SAFETY: not `INLINE`: the words hold a far representation (module invariants),
        // and are aligned for it.
        unsafe { &*(&raw const self.words).cast() }
    }

    /// See [`far`](Self::far).
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn far_mut(&mut self) -> &mut Repr<'a, T, Far> {
        debug_assert!(!Self::INLINE);
        // SAFETY: as for `far`.
        unsafe { &mut *(&raw mut self.words).cast() }
    }

    /// Poll the representation (see [`Repr::poll`]).
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn poll_repr(&mut self, cx: &mut Context<'_>) -> Poll<T> {
        if Self::INLINE {
            self.inline_mut().poll(cx)
        } else {
            self.far_mut().poll(cx)
        }
    }

    /// The backing of a `Slot` or `Backed`.
    pub(super) fn backed(&self) -> Option<&Backed<'a, T>> {
        if Self::INLINE {
            self.inline().backed()
        } else {
            self.far().backed()
        }
    }

    /// Whether this value task yielded its value already.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn is_done(&self) -> bool {
        if Self::INLINE {
            matches!(self.inline(), Repr::Done)
        } else {
            matches!(self.far(), Repr::Done | Repr::Yielded(..))
        }
    }

    /// Whether this value task holds its value: in its words, or (a result too large for
    /// them) in a block of [`Kind::Ready`].
    #[cfg(feature = "stats")]
    pub(super) fn holds_value(&self) -> bool {
        if Self::INLINE {
            matches!(self.inline(), Repr::Ready(_))
        } else {
            match self.far() {
                Repr::Held(..) => true,
                Repr::Backed(backed) => backed.kind() == Kind::Ready,
                _ => false,
            }
        }
    }

    pub(super) fn repr_is_completed(&self) -> bool {
        if Self::INLINE {
            self.inline().is_completed()
        } else {
            self.far().is_completed()
        }
    }

    pub(super) fn repr_kind(&self) -> &'static str {
        if Self::INLINE {
            self.inline().kind()
        } else {
            self.far().kind()
        }
    }

    /// Take the representation out, leaving nothing to drop: an inline one as it is, a far
    /// one as the same variant of an inline `Repr` (which may be larger than the words).
    pub(super) fn into_repr(self) -> Repr<'a, T> {
        let this = ManuallyDrop::new(self);
        if Self::INLINE {
            // SAFETY: `INLINE`; `this` is never dropped, so the representation moves out
            // exactly once.
            unsafe { Repr::from_words(this.words) }
        } else {
            // SAFETY: not `INLINE`; moved out once, as above.
            match unsafe { Repr::<'a, T, Far>::from_words(this.words) } {
                Repr::Ready(never) => match never {},
                Repr::Slot(backed) => Repr::Slot(backed),
                // A held value's block polls it through its vtable as well.
                Repr::Backed(backed) | Repr::Held(backed, ()) => Repr::Backed(backed),
                Repr::Yielded(backed, ()) => {
                    drop(backed);
                    Repr::Done
                }
                Repr::Done => Repr::Done,
            }
        }
    }

    /// A value task of `repr`: a ready value too large for the words goes to a block of its
    /// own (`held.rs`).
    pub(super) fn from_repr(repr: Repr<'a, T>) -> Self {
        if Self::INLINE {
            return ValueTask::from_inline(repr);
        }
        match repr {
            Repr::Ready(value) => ValueTask::ready(value),
            Repr::Slot(backed) => ValueTask::from_far(Repr::Slot(backed)),
            Repr::Backed(backed) => ValueTask::from_far(Repr::Backed(backed)),
            Repr::Held(_, never) | Repr::Yielded(_, never) => match never {},
            Repr::Done => ValueTask::from_far(Repr::Done),
        }
    }
}

impl<T> Drop for ValueTask<'_, T> {
    /// Inlined: a consumed value task (the common case after `.await`) drops nothing, nor does
    /// a ready value whose type has no drop glue. Anything else (a live backing, a ready value
    /// with drop glue) is dropped out of line, its two words passed in registers.
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
    ///   forwarding (rows (e) and (f)).
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn drop(&mut self) {
        // Tests, not a `match`: see `Repr::poll`.
        let live = if Self::INLINE {
            matches!(self.inline(), Repr::Slot(_) | Repr::Backed(_))
                || (mem::needs_drop::<T>() && matches!(self.inline(), Repr::Ready(_)))
        } else {
            !matches!(self.far(), Repr::Done)
        };
        if live {
            drop_words::<T>(self.words.0, self.words.1);
        }
    }
}

/// The out-of-line part of a value task's `drop` (a live backing, or a ready value with drop
/// glue), given its words in registers rather than by address.
#[inline(never)]
fn drop_words<T>(a: MaybeUninit<u64>, b: MaybeUninit<u64>) {
    let words = Words(a, b);
    if Repr::<'_, T>::INLINE {
        // SAFETY: the words of a value task being dropped, moved out once, here.
        drop(unsafe { Repr::<'_, T>::from_words(words) });
    } else {
        // SAFETY: as above.
        drop(unsafe { Repr::<'_, T, Far>::from_words(words) });
    }
}
