//! The small records in pooled storage that back a value task made from a
//! `ValueTaskSource` and its token ([`SourceRecord`], the source borrowed or counted) or from a
//! `Task` ([`TaskRecord`]); and [`CoreRecord`], a borrowed `ManualResetValueTaskSourceCore`
//! and its token, which polls the core without a `dyn` call.

use std::ptr::NonNull;
use std::sync::Arc;
use std::task::Context;

use crate::backing::{deliver, BackingVTable, Header, Kind, SourceStatus};
use crate::forwarding::write_in_words;
use crate::source::{Consumer, CoreView, ValueTaskSource};
use crate::task::cell::RawTask;
use crate::task::waiters::WaiterKey;
use crate::task::{Task, TaskOutput};

/// A `ValueTaskSource` as a value task sees it: borrowed or counted.
pub(crate) trait SourceRef<T> {
    /// The backing's name in `Debug`.
    const NAME: &'static str;
    fn get(&self) -> &dyn ValueTaskSource<T>;
}

impl<T> SourceRef<T> for &dyn ValueTaskSource<T> {
    const NAME: &'static str = "BorrowedSource";
    #[inline]
    fn get(&self) -> &dyn ValueTaskSource<T> {
        *self
    }
}

impl<T> SourceRef<T> for Arc<dyn ValueTaskSource<T> + '_> {
    const NAME: &'static str = "SharedSource";
    #[inline]
    fn get(&self) -> &dyn ValueTaskSource<T> {
        &**self
    }
}

/// A source and the token of the operation a value task awaits, in pooled storage.
#[repr(C)]
pub(crate) struct SourceRecord<T, S> {
    header: Header<T>,
    token: u32,
    source: S,
}

impl<T, S: SourceRef<T>> SourceRecord<T, S> {
    const VTABLE: BackingVTable<T> = BackingVTable {
        poll: crate::backing::poll_fn_of_slot!(Self::poll),
        status: Self::status,
        release: Self::release,
        kind: Kind::Source,
        name: S::NAME,
        token: Some(Self::token),
    };

    /// The block for `source` and `token`. No allocation once this thread's pool is warm.
    pub(crate) fn store(source: S, token: u32) -> NonNull<Header<T>> {
        crate::pool::store_small(|| SourceRecord {
            // SAFETY: `&Self::VTABLE` is a promoted constant.
            header: unsafe { Header::from_raw(&Self::VTABLE) },
            token,
            source,
        })
        .cast()
    }

    /// # Safety
    /// `header` starts a live `SourceRecord<T, S>`.
    unsafe fn record<'r>(header: NonNull<Header<T>>) -> &'r Self {
        // SAFETY: per the caller; the header is the record's first field.
        unsafe { header.cast::<Self>().as_ref() }
    }

    unsafe fn poll(header: NonNull<Header<T>>, cx: &mut Context<'_>, out: NonNull<T>) -> bool {
        // SAFETY: the vtable is this type's.
        let record = unsafe { Self::record(header) };
        // The record's address names this value task to the source (one consumer per
        // generation): it stays put while the value task moves.
        let polled = Consumer::polling(header.as_ptr() as usize, || {
            record.source.get().poll_result(record.token, cx)
        });
        // SAFETY: `out` is the caller's slot (the `PollFn` contract).
        unsafe { deliver(polled, out) }
    }

    unsafe fn status(header: NonNull<Header<T>>) -> SourceStatus {
        // SAFETY: the vtable is this type's.
        let record = unsafe { Self::record(header) };
        record.source.get().status(record.token)
    }

    unsafe fn token(header: NonNull<Header<T>>) -> u32 {
        // SAFETY: the vtable is this type's.
        unsafe { Self::record(header) }.token
    }

    unsafe fn release(header: NonNull<Header<T>>) {
        // SAFETY: the vtable is this type's, and this is the record's one release: the
        // record is freed when this returns or unwinds (a `withdraw` that panics).
        let _free = unsafe { crate::pool::FreeSmall::new(header.cast::<Self>()) };
        // SAFETY: the vtable is this type's.
        let record = unsafe { Self::record(header) };
        // A value task dropped while it waits withdraws from its source (under the id its
        // polls gave it), which may then let another one await the operation.
        Consumer::polling(header.as_ptr() as usize, || {
            record.source.get().withdraw(record.token);
        });
    }
}

/// A `Task<U>` seen as a source of `T = Result<U, TaskError>`, in pooled storage.
#[repr(C)]
pub(crate) struct TaskRecord<T> {
    header: Header<T>,
    key: WaiterKey,
    raw: RawTask<T>,
    clone_output: fn(&T) -> T,
}

impl<U: Clone + Send + Sync + 'static> TaskRecord<TaskOutput<U>> {
    const VTABLE: BackingVTable<TaskOutput<U>> = BackingVTable {
        poll: crate::backing::poll_fn_of_slot!(Self::poll),
        status: Self::status,
        release: Self::release,
        kind: Kind::Task,
        name: "Task",
        token: None,
    };

    /// The block for `task`. No allocation once this thread's pool is warm.
    pub(crate) fn store(task: Task<U>) -> NonNull<Header<TaskOutput<U>>> {
        // Before the block is taken: `into_raw` drops a waker, which may panic.
        let raw = task.into_raw();
        crate::pool::store_small(|| TaskRecord {
            header: Header::new(&Self::VTABLE),
            key: WaiterKey::NONE,
            raw,
            clone_output: <TaskOutput<U> as Clone>::clone,
        })
        .cast()
    }

    /// The task a `Kind::Task` block holds, its awaiter withdrawn; the block is given back.
    ///
    /// # Safety
    /// `header` starts a live `TaskRecord<TaskOutput<U>>` whose consumer gives it up here and
    /// never uses it again.
    pub(crate) unsafe fn into_task(header: NonNull<Header<TaskOutput<U>>>) -> Task<U> {
        // SAFETY: per the caller.
        let mut record = unsafe { crate::pool::take_small(header.cast::<Self>()) };
        record.raw.remove_waiter(&mut record.key);
        Task::from_raw(record.raw)
    }

    unsafe fn poll(
        header: NonNull<Header<TaskOutput<U>>>,
        cx: &mut Context<'_>,
        out: NonNull<TaskOutput<U>>,
    ) -> bool {
        // SAFETY: the vtable is this type's, and we are the record's only user.
        let record = unsafe { header.cast::<Self>().as_mut() };
        let clone_output = record.clone_output;
        let polled = record
            .raw
            .poll(&mut record.key, cx.waker())
            .map(clone_output);
        // SAFETY: `out` is the caller's slot (the `PollFn` contract).
        unsafe { deliver(polled, out) }
    }

    unsafe fn status(header: NonNull<Header<TaskOutput<U>>>) -> SourceStatus {
        // SAFETY: the vtable is this type's.
        let record = unsafe { header.cast::<Self>().as_ref() };
        if record.raw.snapshot().is_complete() {
            SourceStatus::Succeeded
        } else {
            SourceStatus::Pending
        }
    }

    unsafe fn release(header: NonNull<Header<TaskOutput<U>>>) {
        // SAFETY: the vtable is this type's, and this is the record's one release.
        let mut record = unsafe { crate::pool::take_small(header.cast::<Self>()) };
        record.raw.remove_waiter(&mut record.key);
    }
}

/// A borrowed core and a token in pooled storage (`core.value_task()`): a `SourceRecord` of
/// the core as a `dyn ValueTaskSource`, without the `dyn`, and with the ready case first.
/// A complete result is taken at once ([`CoreView::take_completed`]); only a poll that may
/// wait names this value task to the core as its consumer, by the record's address.
///
/// Why not keep the core's pointer and token in the value task itself, with no record: the
/// token does not fit beside the tag of every `ValueTask<'_, T>` (it made a value task of
/// `io::Result<usize>` 24 bytes instead of 16), and a waiting value task needs a name that
/// stays put while it moves.
#[repr(C)]
pub(crate) struct CoreRecord<O> {
    header: Header<O>,
    token: u32,
    core: NonNull<CoreView<O>>,
}

impl<O> CoreRecord<O> {
    /// The block for generation `token` of `core`. No allocation once this thread's pool is
    /// warm.
    pub(crate) fn store(core: &CoreView<O>, token: u32) -> NonNull<Header<O>> {
        crate::pool::store_small(|| CoreRecord {
            // SAFETY: `&Self::VTABLE` is a promoted constant.
            header: unsafe { Header::from_raw(&Self::VTABLE) },
            token,
            core: NonNull::from(core),
        })
        .cast()
    }

    const VTABLE: BackingVTable<O> = BackingVTable {
        poll: crate::backing::poll_fn_of_slot!(Self::poll),
        status: Self::status,
        release: Self::release,
        kind: Kind::Source,
        name: "BorrowedSource",
        token: Some(Self::token),
    };
    /// [`VTABLE`](Self::VTABLE) once a poll returned `Pending` (the value task registered
    /// with the core): its release withdraws that registration.
    const WAITED: BackingVTable<O> = BackingVTable {
        release: Self::release_waited,
        ..Self::VTABLE
    };

    /// # Safety
    /// `header` starts a live `CoreRecord<O>`.
    unsafe fn record<'r>(header: NonNull<Header<O>>) -> &'r Self {
        // SAFETY: per the caller; the header is the record's first field.
        unsafe { header.cast::<Self>().as_ref() }
    }

    unsafe fn poll(header: NonNull<Header<O>>, cx: &mut Context<'_>, out: NonNull<O>) -> bool {
        // SAFETY: the vtable is this type's.
        let record = unsafe { Self::record(header) };
        // SAFETY: the record borrows the core for as long as it lives.
        let core = unsafe { record.core.as_ref() };
        if let Some(value) = core.take_completed(record.token) {
            // SAFETY: `out` is the caller's slot (the `PollFn` contract).
            unsafe { write_in_words(out.as_ptr(), value) };
            return true;
        }
        // SAFETY: as for this function.
        unsafe { Self::poll_registering(header, cx, out) }
    }

    /// The rest of [`poll`](Self::poll), which may register: out of line, so that the ready
    /// path keeps no register for what follows the core's poll.
    ///
    /// # Safety
    /// As for `poll`.
    #[inline(never)]
    unsafe fn poll_registering(
        header: NonNull<Header<O>>,
        cx: &mut Context<'_>,
        out: NonNull<O>,
    ) -> bool {
        // SAFETY: the vtable is this type's.
        let record = unsafe { Self::record(header) };
        // SAFETY: the record borrows the core for as long as it lives.
        let core = unsafe { record.core.as_ref() };
        /// Marks the record `WAITED` if the core's poll unwinds: a replaced waker's `Drop`
        /// that panics does so after the registration naming this record was published, and
        /// the release must withdraw it (the block, and with it the name, is reused).
        struct WaitedOnUnwind<'v, O>(NonNull<Header<O>>, &'v BackingVTable<O>);
        impl<O> Drop for WaitedOnUnwind<'_, O> {
            fn drop(&mut self) {
                // SAFETY: as the write below; a release that finds no registration of this
                // record withdraws nothing.
                unsafe { self.0.as_ptr().write(Header::from_raw(self.1)) };
            }
        }
        let on_unwind = WaitedOnUnwind(header, &Self::WAITED);
        // The record's address names this value task to the core (one consumer per
        // generation): it stays put while the value task moves.
        let polled = Consumer::polling(header.as_ptr() as usize, || {
            core.poll_result(record.token, cx)
        });
        std::mem::forget(on_unwind);
        if polled.is_pending() {
            // SAFETY: the record is this value task's alone; `&WAITED` is a promoted constant
            // of this type. A vtable changes only in a poll that returns `Pending`, as the
            // value task's poll expects (`backing.rs`).
            unsafe { header.as_ptr().write(Header::from_raw(&Self::WAITED)) };
        }
        // SAFETY: `out` is the caller's slot (the `PollFn` contract).
        unsafe { deliver(polled, out) }
    }

    unsafe fn status(header: NonNull<Header<O>>) -> SourceStatus {
        // SAFETY: the vtable is this type's.
        let record = unsafe { Self::record(header) };
        // SAFETY: the record borrows the core for as long as it lives.
        unsafe { record.core.as_ref() }.status(record.token)
    }

    unsafe fn token(header: NonNull<Header<O>>) -> u32 {
        // SAFETY: the vtable is this type's.
        unsafe { Self::record(header) }.token
    }

    unsafe fn release(header: NonNull<Header<O>>) {
        // SAFETY: the vtable is this type's, and this is the record's one release.
        unsafe { crate::pool::free_small(header.cast::<Self>()) }
    }

    /// Release a value task that waited: dropped while it waits (cancelled), it withdraws its
    /// registration, so another value task may await the generation (one load when it has
    /// none left: its generation completed since).
    unsafe fn release_waited(header: NonNull<Header<O>>) {
        // SAFETY: as for `release`: the record is freed when this returns or unwinds (the
        // withdrawn waker's drop panics).
        let _free = unsafe { crate::pool::FreeSmall::new(header.cast::<Self>()) };
        // SAFETY: the vtable is this type's.
        let record = unsafe { Self::record(header) };
        // SAFETY: the record borrows the core for as long as it lives.
        unsafe { record.core.as_ref() }.withdraw(record.token, header.as_ptr() as usize);
    }
}
