//! What backs a value task that is not a ready value: one pointer to a block that starts with
//! a [`Header`], whose vtable knows what the block holds.
//!
//! The blocks: a future in pooled storage (`pool.rs`) or in a box, a `CompletionPool` slot
//! (`source/pool.rs`), small records in pooled storage for a `ValueTaskSource` and its token
//! (borrowed or counted) and for a `Task`, a result held in a pooled block (`held.rs`), and
//! the panic of a body that panicked at the call, in a box (`value_task/panicked.rs`).
//! Keeping everything but a ready value that fits the words behind one thin pointer keeps
//! every `ValueTask<'_, T>` at two words: a caller gets it back from a call in two registers
//! instead of through memory, where copying it after the call stalled on store forwarding.
//!
//! # Invariants
//!
//! - Every block a [`Backed`] points at starts with a `Header<T>` (the first field of a
//!   `#[repr(C)]` struct) whose vtable is a promoted constant (static memory) written for the
//!   block's own type.
//! - A `Backed` is its block's only consumer, and the block is released exactly once: by the
//!   `Backed`'s own `Drop` (a `ValueTask`'s `Drop` moves its representation out, as words,
//!   and drops that); or, once a poll returned `Ready`, by the value task's `poll`, which
//!   first says `Done` and forgets the `Backed`; or by `TaskRecord::into_task`, which takes
//!   the task out of a forgotten `Backed`. A [`Kind::PoolSlot`] (kept as `Repr::Slot`)
//!   releases itself in the poll that returns `Ready`: it is recycled, or freed if its pool
//!   is closed, and the `Backed` is forgotten. Nothing reads a block after its release.
//! - A block may borrow for `'a` (a borrowed source, a future holding references); it never
//!   outlives its `Backed<'a, T>`.
//! - A block's vtable changes only in a poll that returns `Pending` or unwinds (a stored
//!   future keeping its output, a record marking itself waited): the value task's `poll`
//!   reads the release before polling and uses it after a `Ready`, so a block that changed
//!   its vtable and returned `Ready` in one poll would be released as its old type.

use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ptr::NonNull;
use std::task::{Context, Poll};

use crate::forwarding::{in_words, read_in_words, write_in_words};

/// The first field of every block behind a value task.
#[repr(C)]
pub(crate) struct Header<T> {
    /// The vtable's `poll`, kept here too: polling loads it straight from the block, one
    /// dependent load fewer on the way to the call. A started future's block holds another
    /// poll here until its first real poll (`stored_future.rs`), which then restores the
    /// vtable's ([`Header::restore_poll`]).
    poll: PollFn<T>,
    /// A raw pointer (not `&'static`) so that blocks need no `T: 'static`.
    vtable: NonNull<BackingVTable<T>>,
}

impl<T> Header<T> {
    /// A header for a block of the type `vtable` was written for.
    pub(crate) fn new(vtable: &'static BackingVTable<T>) -> Self
    where
        T: 'static,
    {
        // SAFETY: a `'static` vtable outlives every block.
        unsafe { Self::from_raw(vtable) }
    }

    /// Like [`new`](Self::new), for a `T` that may borrow.
    ///
    /// # Safety
    /// `vtable` outlives every block with this header (it is a promoted constant).
    pub(crate) unsafe fn from_raw(vtable: &BackingVTable<T>) -> Self {
        Header {
            poll: vtable.poll,
            vtable: NonNull::from(vtable),
        }
    }

    /// Like [`from_raw`](Self::from_raw), polled by `first` until that restores the vtable's
    /// poll.
    ///
    /// # Safety
    /// As for `from_raw`; `first` may poll the block in the vtable's place.
    pub(crate) unsafe fn first_polled_by(vtable: &BackingVTable<T>, first: PollFn<T>) -> Self {
        Header {
            poll: first,
            vtable: NonNull::from(vtable),
        }
    }

    /// Poll the block with its vtable's poll from now on.
    ///
    /// # Safety
    /// `header` is a live block's, whose consumer the caller is (nothing else reads it now).
    pub(crate) unsafe fn restore_poll(header: NonNull<Self>) {
        // SAFETY: per the caller; the vtable is static memory.
        unsafe { (*header.as_ptr()).poll = (*header.as_ptr()).vtable.as_ref().poll };
    }
}

/// What a block holds, for the operations that differ by kind (`as_task`, `try_get`,
/// `into_task`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A future (pooled or boxed): its progress is learnt by polling, and `as_task` drives
    /// it on an executor.
    Future,
    /// A future stored lazily (`ValueTask::new`, a lazy body: it starts at its first poll,
    /// and the kind stays). As a `Future` everywhere, except that a `#[value_task]` body that
    /// only forwards a call does not hand such a value task on as its own: it awaits it in a
    /// frame, so that the call starts it as the body would (one polled already, by hand, is
    /// polled once more there: harmless).
    Lazy,
    /// A `CompletionPool` slot: recycles itself in the poll that returns `Ready` (a value
    /// task keeps it as `Repr::Slot`).
    PoolSlot,
    /// A `ValueTaskSource` and its token, borrowed or counted.
    Source,
    /// A `Task` (a [`TaskRecord`](crate::value_task::records::TaskRecord)).
    Task,
    /// A ready result too large for the value task's two words, in a block (`held.rs`: one
    /// of its own, or the pooled block of a body that completed at the call).
    Ready,
    /// A body that panicked at the call: its poll resumes the panic
    /// (`value_task/panicked.rs`).
    Panicked,
}

/// The operations on one type of block, monomorphized by whoever builds the block.
pub(crate) struct BackingVTable<T> {
    /// Poll the block. On `Ready`, a [`Kind::PoolSlot`] has released itself (recycled, or
    /// freed if its pool is closed: the pointer must not be used again); any other block is
    /// still in place, and the value task releases it after it says `Done` (so a panicking
    /// drop cannot run twice). A poll that returns `Ready` leaves the header's vtable as it
    /// found it (see the module's invariants).
    pub(crate) poll: PollFn<T>,
    /// Whether the result is in (futures say `Pending`: they must be polled to know).
    pub(crate) status: unsafe fn(NonNull<Header<T>>) -> SourceStatus,
    /// Drop what the block holds and give the block back.
    pub(crate) release: ReleaseFn<T>,
    pub(crate) kind: Kind,
    /// The backing's name in `Debug`.
    pub(crate) name: &'static str,
    /// A source's token, for `Debug` (which must not ask a source that may panic on a stale
    /// token).
    pub(crate) token: Option<TokenFn<T>>,
}

/// Reads a source record's token.
pub(crate) type TokenFn<T> = unsafe fn(NonNull<Header<T>>) -> u32;

/// The consumer of a block (see the module invariants).
pub(crate) struct Backed<'a, T> {
    header: NonNull<Header<T>>,
    /// What the enum of boxed futures and `dyn` sources this replaced said of `ValueTask`:
    /// it borrows for `'a`, covariantly, and implies `T: 'a` (`&'a T`); it is invariant in
    /// `T` (`fn(T) -> T`: a source or task of one type must not be seen as another's); it is
    /// neither `Sync` (`Cell`) nor unwind-safe (`&mut`), as a boxed future need not be; `Send`
    /// is below.
    #[allow(clippy::type_complexity)]
    _marker: PhantomData<(&'a T, &'a mut (), fn(T) -> T, std::cell::Cell<()>)>,
}

// SAFETY: the blocks are built for values of `T: Send` only: futures that are `Send`
// (`ValueTask::new`/`start`/`boxed`), `Send + Sync` sources, tasks of `Send + Sync` values,
// pool slots of `T: Send`, a body's kept panic (a `Send` payload, no `T`), and the `unsafe`
// local constructors, whose contract keeps their non-`Send` futures inside a `!Send`
// `LocalValueTask`.
unsafe impl<T: Send> Send for Backed<'_, T> {}

impl<T> Backed<'_, T> {
    /// # Safety
    /// `header` starts a live block of the type its vtable was written for, whose consumer
    /// this becomes, and which holds nothing that does not live for `'a`.
    #[inline]
    pub(crate) unsafe fn from_header(header: NonNull<Header<T>>) -> Self {
        Backed {
            header,
            _marker: PhantomData,
        }
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn vtable(&self) -> &BackingVTable<T> {
        // SAFETY: the block is live while its `Backed` is, and its vtable is static.
        unsafe { self.header.as_ref().vtable.as_ref() }
    }

    pub(crate) fn header(&self) -> NonNull<Header<T>> {
        self.header
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn kind(&self) -> Kind {
        self.vtable().kind
    }

    /// Whether the block holds a future, stored lazily or started.
    pub(crate) fn holds_future(&self) -> bool {
        matches!(self.kind(), Kind::Future | Kind::Lazy)
    }

    pub(crate) fn name(&self) -> &'static str {
        self.vtable().name
    }

    pub(crate) fn token(&self) -> Option<u32> {
        // SAFETY: the block is live and of the vtable's type.
        self.vtable()
            .token
            .map(|token| unsafe { token(self.header) })
    }

    pub(crate) fn status(&self) -> SourceStatus {
        // SAFETY: the block is live and of the vtable's type.
        unsafe { (self.vtable().status)(self.header) }
    }

    /// Poll the block; see [`BackingVTable::poll`] for what `Ready` means for its release.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<T> {
        // SAFETY: the block is live and its header's `poll` polls it (the vtable's, or a
        // first-poll step); we are its consumer.
        unsafe { self.header.as_ref().poll.call(self.header, cx) }
    }

    /// The block and its poll and release functions, loaded once, for a caller that polls and
    /// then releases without holding a borrow of the backing in between (see `Repr::poll`).
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn parts(&self) -> (NonNull<Header<T>>, PollFn<T>, ReleaseFn<T>) {
        // SAFETY: the block is live while its `Backed` is.
        let poll = unsafe { self.header.as_ref() }.poll;
        (self.header, poll, self.vtable().release)
    }
}

/// Polls a block, in the calling convention [`PollFn::BY_SLOT`] picks for `T`:
///
/// - returned ([`ReturnPollFn`]), for an output of more than three words, but for one of at
///   most 64 bytes that is not whole 8-byte words: the caller's value task passes the place
///   it returns into on as the poll's return place (`Repr::poll_returning`: nothing that may
///   unwind between the two, the block kept until the value task drops), so a body's output
///   is written once, where the awaiting code ends up reading it, as a boxed future's is;
/// - through the caller's slot ([`SlotPollFn`]), for any other output: on `Ready` the output
///   is moved into `out` ([`deliver`], in words) and `true` returned. Up to three whole
///   words (`forwarding::in_words`: 8-aligned, a multiple of 8 bytes), the caller reads it
///   back in words at once ([`call_poll`]): a `Poll<T>` of more than two
///   words is returned through memory, where the caller's 16-byte loads of it straddled a
///   body's 8-byte stores (see `forwarding`); held in registers, three words stay there
///   across the release. Not whole words (at most 64 bytes, however small), it stays in the caller's slot
///   until the block is released ([`Delivered`]) and is moved once, into what the caller
///   returns.
pub(crate) union PollFn<T> {
    slot: SlotPollFn<T>,
    ret: ReturnPollFn<T>,
}

/// [`PollFn`] through the caller's slot.
pub(crate) type SlotPollFn<T> = unsafe fn(NonNull<Header<T>>, &mut Context<'_>, NonNull<T>) -> bool;

/// [`PollFn`] returning its output.
pub(crate) type ReturnPollFn<T> = unsafe fn(NonNull<Header<T>>, &mut Context<'_>) -> Poll<T>;

impl<T> Clone for PollFn<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for PollFn<T> {}

/// Whether a value task of `T` holds a ready `T` in its two words: when a representation of
/// `Repr`'s shape (variant for variant: a `T`, two thin pointers, a thin pointer with an
/// uninhabited field, which still takes a tag value, and an empty variant) is at most 16
/// bytes and 8-aligned. `Repr::INLINE` is this (a test checks that it is `Repr`'s own size).
pub(crate) const fn fits_words<T>() -> bool {
    enum Void {}
    #[allow(dead_code)]
    enum Shape<T> {
        Ready(T),
        Slot(NonNull<u8>),
        Backed(NonNull<u8>),
        Held(NonNull<u8>, Void),
        Yielded(NonNull<u8>, Void),
        Done,
    }
    std::mem::size_of::<Shape<T>>() <= 16 && std::mem::align_of::<Shape<T>>() <= 8
}

impl<T> PollFn<T> {
    /// Whether a poll of an output `T` delivers it through the caller's slot (see above).
    pub(crate) const BY_SLOT: bool =
        fits_words::<T>() || size_of::<T>() <= 3 * 8 || (!in_words::<T>() && size_of::<T>() <= 64);

    /// A block's poll in both conventions; the one [`BY_SLOT`](Self::BY_SLOT) picks is kept.
    pub(crate) const fn new(slot: SlotPollFn<T>, ret: ReturnPollFn<T>) -> Self {
        if Self::BY_SLOT {
            PollFn { slot }
        } else {
            PollFn { ret }
        }
    }

    /// The poll in the slot convention. Only if [`BY_SLOT`](Self::BY_SLOT).
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn by_slot(self) -> SlotPollFn<T> {
        debug_assert!(Self::BY_SLOT);
        // SAFETY: `BY_SLOT`: `new` kept this field.
        unsafe { self.slot }
    }

    /// The poll in the returning convention. Only if not [`BY_SLOT`](Self::BY_SLOT).
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn returning(self) -> ReturnPollFn<T> {
        debug_assert!(!Self::BY_SLOT);
        // SAFETY: not `BY_SLOT`: `new` kept this field.
        unsafe { self.ret }
    }

    /// Poll the block and return what it polled, in either convention.
    ///
    /// # Safety
    /// As for calling the poll on `header`: the block is live, of this poll's type, and the
    /// caller is its consumer.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) unsafe fn call(self, header: NonNull<Header<T>>, cx: &mut Context<'_>) -> Poll<T> {
        if Self::BY_SLOT {
            // SAFETY: per the caller.
            unsafe { call_poll(self.by_slot(), header, cx) }
        } else {
            // SAFETY: per the caller.
            unsafe { (self.returning())(header, cx) }
        }
    }
}

/// The [`PollFn`] of a poll written in the slot convention ([`SlotPollFn`], the path of a
/// function); its returning convention moves the output through [`call_poll`].
macro_rules! poll_fn_of_slot {
    ($poll:path) => {
        $crate::backing::PollFn::new($poll, |header, cx| {
            // SAFETY: the returning convention of the poll, with its contract.
            unsafe { $crate::backing::call_poll($poll, header, cx) }
        })
    };
}
pub(crate) use poll_fn_of_slot;

/// Call a block's poll in the slot convention and return what it polled (also the returning
/// convention of [`poll_fn_of_slot`]).
///
/// # Safety
/// As for calling `poll` on `header`: the block is live, of `poll`'s type, and the caller is
/// its consumer.
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) unsafe fn call_poll<T>(
    poll: SlotPollFn<T>,
    header: NonNull<Header<T>>,
    cx: &mut Context<'_>,
) -> Poll<T> {
    let mut out = MaybeUninit::<T>::uninit();
    // SAFETY: per the caller; `out` is valid for writes of a `T`.
    if unsafe { poll(header, cx, NonNull::from(&mut out).cast()) } {
        // SAFETY: `true`: the poll function moved an output into `out`, in words.
        Poll::Ready(unsafe { read_in_words(out.as_ptr()) })
    } else {
        Poll::Pending
    }
}

/// The caller's slot of a [`PollFn`], for a caller that keeps a ready output there until it
/// released the block ([`call_poll`] moves it out at once): moved out last, a large output
/// goes straight into what the caller returns instead of through one more copy around the
/// release. Drops a delivered output not taken (a release that panicked).
pub(crate) struct Delivered<T> {
    out: MaybeUninit<T>,
    ready: bool,
}

impl<T> Delivered<T> {
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn new() -> Self {
        Delivered {
            out: MaybeUninit::uninit(),
            ready: false,
        }
    }

    /// Call `poll` on `header`; whether it delivered an output here.
    ///
    /// # Safety
    /// As for [`call_poll`]; called once.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) unsafe fn poll(
        &mut self,
        poll: SlotPollFn<T>,
        header: NonNull<Header<T>>,
        cx: &mut Context<'_>,
    ) -> bool {
        // SAFETY: per the caller; `out` is valid for writes of a `T`.
        self.ready = unsafe { poll(header, cx, NonNull::from(&mut self.out).cast()) };
        self.ready
    }

    /// The delivered output. Only after [`poll`](Self::poll) returned `true`.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn take(mut self) -> T {
        debug_assert!(self.ready);
        self.ready = false;
        // SAFETY: delivered in words by the poll function (`ready`), taken once.
        unsafe { read_in_words(self.out.as_ptr()) }
    }
}

impl<T> Drop for Delivered<T> {
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn drop(&mut self) {
        if self.ready {
            // SAFETY: delivered and not taken: dropped once, here.
            unsafe { self.out.assume_init_drop() };
        }
    }
}

/// The callee's half of [`call_poll`]: move a ready output into `out`.
///
/// # Safety
/// `out` is the slot `call_poll` passed: valid for writes of a `T`.
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) unsafe fn deliver<T>(polled: Poll<T>, out: NonNull<T>) -> bool {
    match polled {
        Poll::Ready(value) => {
            // SAFETY: per the caller.
            unsafe { write_in_words(out.as_ptr(), value) };
            true
        }
        Poll::Pending => false,
    }
}
/// Releases a block.
pub(crate) type ReleaseFn<T> = unsafe fn(NonNull<Header<T>>);

impl<T> Drop for Backed<'_, T> {
    fn drop(&mut self) {
        // SAFETY: the block is live (a slot that recycled itself is forgotten, not dropped);
        // this is its one release.
        unsafe { (self.vtable().release)(self.header) }
    }
}

/// What a [`ValueTaskSource`](crate::ValueTaskSource) says about the operation named by a token
/// (.NET `ValueTaskSourceStatus`).
///
/// ```
/// use valuetask::{ManualResetValueTaskSourceCore, SourceStatus};
///
/// let core = ManualResetValueTaskSourceCore::<u8>::new();
/// assert_eq!(core.status(0), SourceStatus::Pending);
/// core.set_result(1);
/// assert_eq!(core.status(0), SourceStatus::Succeeded);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SourceStatus {
    /// Not completed yet (`ValueTaskSourceStatus.Pending`).
    Pending,
    /// Completed with a value (`ValueTaskSourceStatus.Succeeded`).
    Succeeded,
    /// Completed with an error, for sources whose value is a `Result` with a `TaskError`
    /// (`ValueTaskSourceStatus.Faulted`).
    Faulted,
    /// Completed by cancellation (`ValueTaskSourceStatus.Canceled`).
    Canceled,
}

impl SourceStatus {
    /// True for every status but `Pending` (.NET: `status != ValueTaskSourceStatus.Pending`).
    ///
    /// ```
    /// use valuetask::SourceStatus;
    ///
    /// assert!(!SourceStatus::Pending.is_completed());
    /// assert!(SourceStatus::Succeeded.is_completed());
    /// assert!(SourceStatus::Canceled.is_completed());
    /// ```
    pub fn is_completed(self) -> bool {
        self != SourceStatus::Pending
    }
}
