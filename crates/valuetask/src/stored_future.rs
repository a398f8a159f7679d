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
//! - **Started** (it suspended without waking, having cloned the waker: it registered it, or
//!   deferred the wake as tokio's `yield_now` does inside a runtime): poll the body with the
//!   real waker. If it completes there, keep its output in the block (**Held**), wake the
//!   real waker and return
//!   `Pending`; the next poll gives the output. So a body that suspended at the call suspends
//!   its caller at least once, as a lazily polled one would. Not as often: a clone of the
//!   first poll's waker wakes nothing, so a yield whose wake was deferred through one (the
//!   yield, not a registration) is not told apart, and that re-poll goes past it. A body
//!   that yields twice that way at the call returns `Pending` to its executor once where a
//!   lazily polled one does twice (`tests/eager_start_yields.rs`); the work between the two
//!   yields runs in the caller's first poll. Telling them apart takes clones that are handles
//!   into the block (issue 60's direction), not taken.
//!
//! - Otherwise (it neither woke nor kept the waker) it is **Plain** at once.
//!
//! After that first real poll the block is a plain one (**Plain**): each poll polls the future.
//! Woken and Started differ from Plain only in the header's `poll` (its vtable is Plain's);
//! a Held block has a vtable of its own.
//!
//! # Invariants
//!
//! - A block in use holds the future until it completed or was dropped; a Held block holds
//!   the output instead, until a poll moves it out (it is then taken: nothing to drop). The
//!   header's vtable says which: `PLAIN` (pooled or boxed) blocks hold the future, and so
//!   do `LAZY` ones (`PLAIN` but for the kind: a future stored without a first poll, by
//!   `store` or `boxed`); `HELD` ones (`HeldPooled::HELD` for a pooled block) the output and
//!   its `taken` flag.
//! - The future is polled only in its block (pinned there) and dropped in place, exactly
//!   once, before its block goes back (to the pool, or to the allocator for a box).
//! - During the first poll at the call nothing reads the header (the block is not a backing
//!   until that poll suspends): a pooled block's is not written yet, a box's (`start_boxed`)
//!   already says `LAZY`.
//!
//! # Build cost
//!
//! Every `#[value_task]` body that may suspend instantiates this module's generic code for
//! its future, which is most of what `#[value_task]` adds to a user's build (valuetask-bench's
//! `compile_time`). So: the boxed instantiation is compiled only for futures that need it
//! (`if const`); what depends only on the output is generic over the output alone
//! (`status_*`, `poll_woken`, `hold`, `HeldPooled`); guards are non-generic types
//! (`Deferred`, `GiveBack`), inlined where they run so that the release path loses nothing
//! at run time. And the crate's `inline(always)` holds only without `debug_assertions`:
//! LLVM honours it at `-O0`, where it put the value task's poll into every `.await` of a
//! debug build (twice `#[async_trait]`'s rebuild time; once it was lifted, 1.01×).

use std::any::Any;
use std::future::Future;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::{self, NonNull};
use std::task::{Context, Poll};

use crate::backing::{deliver, poll_fn_of_slot, BackingVTable, Header, Kind, PollFn, SourceStatus};
use crate::first_poll::FirstPoll;
use crate::forwarding::{write_head_wide, write_in_words};
use crate::held::{status_succeeded, Held, HeldPooled, BODY_OFFSET};
use crate::pool::{return_block, take_block, ClassOf, GiveBack};

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

/// Calls `run(data)` when dropped, also during unwinding: the guards here, one type for all
/// futures (a generic guard would add a drop function per future to the user's build).
struct Deferred(unsafe fn(*mut ()), *mut ());

impl Drop for Deferred {
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn drop(&mut self) {
        // SAFETY: whoever made the guard passes a function and data that fit (each use says).
        unsafe { (self.0)(self.1) }
    }
}

/// Releases a block when dropped (during an unwinding): generic over the output only. A
/// panic of the release (a future's or an output's `Drop`) would be a second panic during
/// the unwinding, which aborts the process: it is discarded, and the first panic goes on (to
/// the value task that keeps it: `keeping_a_panic`).
struct Release<T>(crate::backing::ReleaseFn<T>, NonNull<Header<T>>);

impl<T> Drop for Release<T> {
    fn drop(&mut self) {
        // SAFETY: whoever made the guard owns the block, makes it with the release of what
        // the block holds by the time the guard drops, and forgets the guard unless the
        // release is due (`first_poll`).
        unsafe { release_unwinding(self.0, self.1) }
    }
}

/// [`Release`]'s drop, out of line: only a landing pad calls it, and a catch written there
/// made the poll it guards spill registers on its normal path (rows (h2), (u): 3 more
/// instructions and 2 more writes).
///
/// # Safety
/// As for calling `release` on `header`.
#[cold]
#[inline(never)]
unsafe fn release_unwinding<T>(release: crate::backing::ReleaseFn<T>, header: NonNull<Header<T>>) {
    // SAFETY: per the caller. A release that panics has still given the block back (its own
    // guards).
    let released = catch_unwind(AssertUnwindSafe(|| unsafe { release(header) }));
    if let Err(again) = released {
        crate::catch_panic::discard(again);
    }
}

/// Where the block lives: a pooled block or a box (`BOXED`), for the vtables' release.
struct Stored<F, const BOXED: bool>(PhantomData<F>);

/// The size class of `F`'s pooled block; `usize::MAX` if none fits.
const fn class<F: Future>() -> usize {
    ClassOf::<StoredBlock<F>>::CLASS
}

impl<F: Future, const BOXED: bool> Stored<F, BOXED> {
    /// Borrowed as `&Self::PLAIN` and `&Self::HELD`, the constants are promoted to static
    /// memory: a header's pointer stays valid forever.
    const PLAIN: BackingVTable<F::Output> = BackingVTable {
        poll: PollFn::new(Self::poll_plain, Self::poll_plain_returned),
        status: status_pending::<F::Output>,
        release: Self::release_future,
        kind: Kind::Future,
        name: if BOXED { "Future" } else { "Pooled" },
        token: None,
    };
    const HELD: BackingVTable<F::Output> = BackingVTable {
        poll: poll_fn_of_slot!(Self::poll_held),
        status: status_succeeded::<F::Output>,
        release: Self::release_held,
        kind: Kind::Future,
        name: if BOXED { "Future" } else { "Pooled" },
        token: None,
    };
    /// [`PLAIN`](Self::PLAIN) for a future stored lazily (`store`, `boxed`), polled as
    /// Plain: only its kind differs ([`Kind::Lazy`]).
    const LAZY: BackingVTable<F::Output> = BackingVTable {
        kind: Kind::Lazy,
        ..Self::PLAIN
    };
    /// [`HELD`](Self::HELD) for an output the body gave at the call, too large for the value
    /// task's two words: the value task is ready.
    const READY: BackingVTable<F::Output> = BackingVTable {
        kind: Kind::Ready,
        name: "Ready",
        ..Self::HELD
    };

    /// Started's poll (module docs).
    const STARTED: PollFn<F::Output> = poll_fn_of_slot!(Self::poll_started);
    /// Woken's poll (module docs).
    const WOKEN: PollFn<F::Output> = poll_fn_of_slot!(poll_woken::<F::Output>);

    /// The future's place in the block (the union's fields start at its start).
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn future(header: NonNull<Header<F::Output>>) -> *mut F {
        let block = header.as_ptr().cast::<StoredBlock<F>>();
        // SAFETY: a place computation inside the block, which is live (the callers').
        unsafe { (&raw mut (*block).body).cast::<F>() }
    }

    /// # Safety
    /// `header` starts a live block whose future has not completed.
    #[cfg_attr(not(debug_assertions), inline(always))]
    unsafe fn poll_future(
        header: NonNull<Header<F::Output>>,
        cx: &mut Context<'_>,
    ) -> Poll<F::Output> {
        // SAFETY: the future lives in its block until dropped; it is never moved.
        // (On `Ready` the future stays in place: the value task releases it.)
        unsafe { Pin::new_unchecked(&mut *Self::future(header)) }.poll(cx)
    }

    /// Plain's poll: [`poll_future`](Self::poll_future), its output delivered to `out`.
    /// Never inlined (it is called through the vtable anyway): see `poll_started`.
    ///
    /// # Safety
    /// As for `poll_future`; `out` is the caller's slot (the `PollFn` contract).
    #[inline(never)]
    unsafe fn poll_plain(
        header: NonNull<Header<F::Output>>,
        cx: &mut Context<'_>,
        out: NonNull<F::Output>,
    ) -> bool {
        // SAFETY: per the caller.
        unsafe { deliver(Self::poll_future(header, cx), out) }
    }

    /// Plain's poll in the returning convention (`backing::PollFn`): `poll_future`, out of
    /// line as `poll_plain`.
    ///
    /// # Safety
    /// As for `poll_future`.
    #[inline(never)]
    unsafe fn poll_plain_returned(
        header: NonNull<Header<F::Output>>,
        cx: &mut Context<'_>,
    ) -> Poll<F::Output> {
        // SAFETY: per the caller.
        unsafe { Self::poll_future(header, cx) }
    }

    /// Started's poll, the first real one (module docs).
    ///
    /// # Safety
    /// As for `poll_plain`.
    unsafe fn poll_started(
        header: NonNull<Header<F::Output>>,
        cx: &mut Context<'_>,
        out: NonNull<F::Output>,
    ) -> bool {
        // Through Plain's poll, not inlined here: the body's poll is then inlined in one
        // place only (besides the first poll at the call), as when every poll was Plain's;
        // inlined in two, it ended up called out of line from both, which cost the
        // suspending path (the payload grid's cells) a call and a frame per poll.
        // SAFETY: per the caller.
        let ready = unsafe { Self::poll_plain(header, cx, out) };
        // SAFETY: the block is ours; from now on it is polled as Plain (or Held, below).
        unsafe { Header::restore_poll(header) };
        if ready {
            // SAFETY: Plain's poll moved the output into `out`, in words.
            let output = unsafe { crate::forwarding::read_in_words(out.as_ptr()) };
            // SAFETY: the future completed, and the block is ours.
            unsafe { Self::keep(header, output, false) };
            cx.waker().wake_by_ref();
        }
        false
    }

    /// Drop the completed future in place and keep its `output` in the block, which is then
    /// Held (`ready`: a Held block of [`Kind::Ready`], one that completed at the call).
    ///
    /// # Safety
    /// `header` starts a live block of this type whose future completed; the caller is its
    /// only user.
    #[cfg_attr(not(debug_assertions), inline(always))]
    unsafe fn keep(header: NonNull<Header<F::Output>>, output: F::Output, ready: bool) {
        let held: &BackingVTable<F::Output> = match (BOXED, ready) {
            (true, false) => &Stored::<F, BOXED>::HELD,
            (true, true) => &Stored::<F, BOXED>::READY,
            (false, false) => &HeldPooled::<F::Output>::HELD,
            (false, true) => &HeldPooled::<F::Output>::READY,
        };
        let mut keep = ManuallyDrop::new(Keep {
            header,
            output: ManuallyDrop::new(output),
            held,
            offset: std::mem::offset_of!(StoredBlock<F>, body),
            class: const { class::<F>() },
        });
        let hold = Deferred(hold::<F::Output>, (&raw mut keep).cast());
        // SAFETY: the future completed; dropped once, in place. Then `hold` runs.
        unsafe { ptr::drop_in_place(Self::future(header)) };
        drop(hold);
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
        let block = header.as_ptr().cast::<StoredBlock<F>>();
        // SAFETY: Held and not taken (a value task polls no further after `Ready`).
        unsafe { Held::deliver((&raw mut (*block).body).cast(), out) }
    }

    /// Give the block back: to its class's pool, or to the allocator.
    ///
    /// # Safety
    /// `block` is a block of this type whose contents were dropped or moved out; it is not
    /// used again.
    unsafe fn free(block: *mut ()) {
        if BOXED {
            // SAFETY: the box `boxed` leaked; the body is a union without drop glue and the
            // header has none: this frees the memory only.
            drop(unsafe { Box::from_raw(block.cast::<StoredBlock<F>>()) });
        } else {
            // SAFETY: a pooled block is never null.
            return_block(const { class::<F>() }, unsafe {
                NonNull::new_unchecked(block.cast())
            });
        }
    }

    /// Release a block that holds its future (Plain, Started, Woken): the future is dropped
    /// in place and the block given back, even if that drop panics.
    ///
    /// # Safety
    /// `header` starts a live block of this type holding its future; it is not used again.
    unsafe fn release_future(header: NonNull<Header<F::Output>>) {
        // The block goes back after the drop, or during its unwinding.
        if BOXED {
            let _free = Deferred(Self::free, header.as_ptr().cast());
            // SAFETY: per the caller; the future is dropped exactly once, in place (it was
            // pinned there).
            unsafe { ptr::drop_in_place(Self::future(header)) };
        } else {
            let _give_back = GiveBack(const { class::<F>() }, header.cast());
            // SAFETY: as above.
            unsafe { ptr::drop_in_place(Self::future(header)) };
        }
    }

    /// Release a Held block: its output is dropped unless a poll took it.
    ///
    /// # Safety
    /// `header` starts a live Held block of this type; it is not used again.
    unsafe fn release_held(header: NonNull<Header<F::Output>>) {
        let _free = Deferred(Self::free, header.as_ptr().cast());
        let block = header.as_ptr().cast::<StoredBlock<F>>();
        // SAFETY: per the caller; an output not taken is dropped once, here.
        unsafe {
            let held = (&raw mut (*block).body).cast::<Held<F::Output>>();
            if !(*held).taken {
                ManuallyDrop::drop(&mut (*held).output);
            }
        }
    }
}

/// What `hold` needs to put a finished body's output in its block: nothing of the future's
/// type, so `hold` is compiled once per output type.
struct Keep<'v, T> {
    header: NonNull<Header<T>>,
    output: ManuallyDrop<T>,
    /// The Held vtable of the block's kind (pooled, or this future's boxed one).
    held: &'v BackingVTable<T>,
    /// Where the body starts in the block.
    offset: usize,
    /// The block's size class (pooled blocks).
    class: usize,
}

/// Puts the output in the body's place and says Held: run once the finished future was
/// dropped, also if that drop panics (the header must stop saying the block holds a future,
/// or its release would drop it twice).
///
/// # Safety
/// `keep` points at a `Keep<T>` read once, here; its block's future is gone.
unsafe fn hold<T>(keep: *mut ()) {
    // SAFETY: per the caller.
    let keep = unsafe { keep.cast::<Keep<'_, T>>().read() };
    // SAFETY: the body's place, free for the output; the header then says Held (its vtable is
    // a promoted constant for this block). The output is moved in words: where the body's
    // poll is not inlined at the call, it wrote them moments ago into its return place.
    unsafe {
        let held = keep
            .header
            .cast::<u8>()
            .as_ptr()
            .add(keep.offset)
            .cast::<Held<T>>();
        write_in_words(
            (&raw mut (*held).output).cast::<T>(),
            ManuallyDrop::into_inner(keep.output),
        );
        (&raw mut (*held).taken).write(false);
        (&raw mut (*held).class).write(keep.class);
        keep.header.as_ptr().write(Header::from_raw(keep.held));
    }
}

/// A future's status: pending until polled to completion (futures must be polled to know).
unsafe fn status_pending<T>(_header: NonNull<Header<T>>) -> SourceStatus {
    SourceStatus::Pending
}

/// Woken's poll: hand the body's wake-up to the caller's executor, and poll the future from
/// the next poll on (module docs). Generic over the output only: shared by every future of it.
///
/// # Safety
/// `header` starts a live Woken block, whose consumer the caller is.
unsafe fn poll_woken<T>(
    header: NonNull<Header<T>>,
    cx: &mut Context<'_>,
    _out: NonNull<T>,
) -> bool {
    // SAFETY: per the caller.
    unsafe { Header::restore_poll(header) };
    cx.waker().wake_by_ref();
    false
}

/// `future` in a box with its header, not polled yet: for futures too large for the pool
/// given to `ValueTask::new`, and for the library's own bridges.
pub(crate) fn boxed<F: Future>(future: F) -> NonNull<Header<F::Output>> {
    let block = Box::new(StoredBlock {
        // SAFETY: `&LAZY` is a promoted constant.
        header: unsafe { Header::from_raw(&Stored::<F, true>::LAZY) },
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
    if const { class::<F>() == usize::MAX } {
        return Err(future);
    }
    let block = take_block(const { class::<F>() }).cast::<StoredBlock<F>>();
    // SAFETY: the block fits a `StoredBlock<F>` (its class), is aligned to 16 ≥ its
    // alignment, and ours. `&LAZY` is a promoted constant.
    unsafe {
        block.as_ptr().write(StoredBlock {
            header: Header::from_raw(&Stored::<F, false>::LAZY),
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
    /// Whether an output the future gives at its first poll stays in its block (a Held
    /// block of [`Kind::Ready`], given to [`pending`](Self::pending)) rather than going to
    /// [`ready`](Self::ready): for an output too large for the caller's value.
    const KEEP_READY: bool;
    /// It completed during the first poll; its storage is already given back.
    fn ready(output: F::Output) -> Self::Out;
    /// It completed during the first poll, and ([`KEEP_READY`](Self::KEEP_READY)) its output
    /// is Held in its pooled block, of [`Kind::Ready`] (`held.rs`).
    fn held(header: NonNull<Header<F::Output>>) -> Self::Out;
    /// It suspended; it stays in its block (the block's header, Started or Woken); or
    /// ([`KEEP_READY`](Self::KEEP_READY)) it completed and its output is Held in its box.
    fn pending(header: NonNull<Header<F::Output>>) -> Self::Out;
    /// Its first poll panicked with `payload`; its storage is already given back.
    fn panicked(payload: Box<dyn Any + Send>) -> Self::Out;
}

/// Store the future `make` returns in a pooled block (a box if it fits no class) and poll
/// it once, in place, with the first poll's waker (module docs); `S` makes the caller's
/// value of the outcome.
///
/// `make` runs after the block is taken, so a future it constructs (an `async` block over its
/// captures) is written where it will live instead of being built on the caller's stack and
/// copied there. A panic of `make` is not kept: the block is returned and the panic leaves
/// the call. `#[value_task]`'s closures only build an `async` block; `#[dyn_trait]`'s call the
/// implementor's method, whose own code before its future (a `fn -> impl Future` that does
/// work first) runs there, and panics out of the call as in a static call or dynosaur's.
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn start_with<F: Future, S: StartedInto<F>>(make: impl FnOnce() -> F) -> S::Out {
    if const { class::<F>() == usize::MAX } {
        return start_boxed::<F, S>(make());
    }
    /// Returns an empty block if `make` panics.
    struct Taken(NonNull<u8>, usize);
    impl Drop for Taken {
        fn drop(&mut self) {
            return_block(self.1, self.0);
        }
    }
    const {
        assert!(
            // (A future too aligned for a class went to a box above; the assertion is
            // evaluated for it all the same.)
            std::mem::offset_of!(StoredBlock<F>, body) == BODY_OFFSET || class::<F>() == usize::MAX,
            "a pooled block's body starts where HeldPooled reads it"
        );
    }
    let class = const { class::<F>() };
    let taken = Taken(take_block(class), class);
    let header = taken.0.cast::<Header<F::Output>>();
    // SAFETY: the block fits a `StoredBlock<F>` (its class), is aligned to 16 ≥ its
    // alignment, and ours; the future is written in its place (16-aligned: the body starts
    // 16 bytes in), where it stays pinned. Its head in 16-byte stores: the first poll's
    // loads of its captures are forwarded from them (`forwarding`).
    unsafe { write_head_wide(Stored::<F, false>::future(header), make()) };
    std::mem::forget(taken);
    // SAFETY: the block holds a future nobody else references.
    unsafe { keeping_a_panic::<F::Output, S::Out>(first_poll::<F, S, false>, header, S::panicked) }
}

/// [`start_with`] in a box: `ValueTask::boxed`, and futures too large or too aligned for the
/// pool.
pub(crate) fn start_boxed<F: Future, S: StartedInto<F>>(future: F) -> S::Out {
    let header = boxed(future);
    // SAFETY: a fresh box holding a future nobody else references.
    unsafe { keeping_a_panic::<F::Output, S::Out>(first_poll::<F, S, true>, header, S::panicked) }
}

/// Run a first poll, keeping a panic of it in the caller's value (`S::panicked`) instead of
/// letting it leave the call: .NET keeps an exception thrown before an `async` method's first
/// `await` in its task. The first poll's guard has dropped the future and given its block
/// back during the unwinding, as a plain function's locals are dropped.
///
/// The catch is around the whole first poll, not around the future's poll inside it: there,
/// with one codegen unit and fat LTO, LLVM stopped inlining the body's poll into the call and
/// into the block's later poll (row (j): 124 -> 140 instructions). And it is instantiated per
/// output type, not per future: the first poll comes as a function pointer, a constant that
/// an optimized build inlines back. A catch per future made every `#[value_task]` method one
/// more function for LLVM: `compile_time`'s release rebuild took 1.43x async-trait's with a
/// catch per body here and in `macro_support::completed`, 1.17x with both per output type
/// (1.06x before either).
///
/// # Safety
/// As for calling `first_poll` on `header`.
#[cfg_attr(not(debug_assertions), inline(always))]
unsafe fn keeping_a_panic<T, Out>(
    first_poll: unsafe fn(NonNull<Header<T>>) -> Out,
    header: NonNull<Header<T>>,
    panicked: fn(Box<dyn Any + Send>) -> Out,
) -> Out {
    // SAFETY: per the caller.
    match catch_unwind(AssertUnwindSafe(move || unsafe { first_poll(header) })) {
        Ok(out) => out,
        Err(payload) => panicked(payload),
    }
}

/// Poll the block's future once with the first poll's waker; give the block back if it
/// completed, else write the header the module docs say. A panic of that poll drops the future
/// and gives the block back (the caller keeps the panic: [`keeping_a_panic`]).
///
/// # Safety
/// `header` starts a block of this type (`BOXED`) holding a future not polled yet, nobody
/// else's; its header may be unwritten.
#[cfg_attr(not(debug_assertions), inline(always))]
unsafe fn first_poll<F: Future, S: StartedInto<F>, const BOXED: bool>(
    header: NonNull<Header<F::Output>>,
) -> S::Out {
    // Drops the future and gives the block back if the poll panics (`release_future` reads
    // no header).
    let guard = Release(Stored::<F, BOXED>::release_future, header);
    let first = FirstPoll::new();
    let waker = first.waker();
    // SAFETY: the block holds a pending `F`, ours alone (`poll_future` reads no header).
    let polled =
        unsafe { Stored::<F, BOXED>::poll_future(header, &mut Context::from_waker(&waker)) };
    std::mem::forget(guard);
    match polled {
        Poll::Ready(output) => {
            if S::KEEP_READY {
                // If the future's drop panics, `keep` still holds the output in the block
                // (Held, of `Kind::Ready`), which nobody then owns: this releases it (the
                // output dropped, the block given back).
                let held = Release(
                    if BOXED {
                        Stored::<F, BOXED>::READY.release
                    } else {
                        HeldPooled::<F::Output>::READY.release
                    },
                    header,
                );
                // SAFETY: completed, and nothing else knows the block.
                unsafe { Stored::<F, BOXED>::keep(header, output, true) };
                std::mem::forget(held);
                return if BOXED {
                    S::pending(header)
                } else {
                    S::held(header)
                };
            }
            // SAFETY: completed, and nothing else knows the block: the future is dropped in
            // place exactly once and the block given back, even if that drop panics.
            unsafe { Stored::<F, BOXED>::release_future(header) };
            S::ready(output)
        }
        Poll::Pending => {
            let first_poll = if first.woken() {
                Stored::<F, BOXED>::WOKEN
            } else if first.cloned() {
                Stored::<F, BOXED>::STARTED
            } else {
                // Neither woke nor kept the waker: nothing can wake it but a poll, which
                // Plain's is.
                Stored::<F, BOXED>::PLAIN.poll
            };
            // SAFETY: the block is ours; `&PLAIN` is a promoted constant of its type, and
            // both first polls poll a block that holds its future.
            unsafe {
                header.as_ptr().write(Header::first_polled_by(
                    &Stored::<F, BOXED>::PLAIN,
                    first_poll,
                ))
            };
            S::pending(header)
        }
    }
}

#[cfg(all(test, not(valuetask_loom)))]
mod tests {
    use super::class;
    use crate::pool::{return_block, take_block};
    use crate::ValueTask;

    /// `make` (`macro_support::start`'s closure) that panics: the block taken for its future
    /// goes back, the one this thread gave back last, so it is the next one taken.
    #[test]
    fn a_make_that_panics_gives_its_block_back() {
        type Made = std::future::Ready<u64>;
        let class = class::<Made>();
        let block = take_block(class);
        return_block(class, block);
        let caught = std::panic::catch_unwind(|| {
            ValueTask::<u64>::start_with(|| -> Made { panic!("make panicked") })
        });
        assert!(caught.is_err());
        let again = take_block(class);
        assert_eq!(again, block, "the block start_with took is back");
        return_block(class, again);
    }
}
