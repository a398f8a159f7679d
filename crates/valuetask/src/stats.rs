//! The `stats` advisor (feature `stats`): per method, how many calls completed at once and how
//! many suspended, and what that says about returning a [`ValueTask`] or a [`Task`](crate::Task).
//! No .NET counterpart: .NET has no such advisor; the nearest is its rule of thumb, below, and
//! a profiler.
//!
//! .NET leaves the choice between `Task` and `ValueTask` to measurement, and the community to
//! a rule of thumb ("use `ValueTask` when 90–95% of calls complete synchronously"). That rule comes from .NET's costs: there a
//! `ValueTask` method that suspends pays for a boxed state machine *and* a larger return value,
//! so it only wins when suspensions are rare. Here the costs differ, and the bench measures
//! them (`cargo run --release -p valuetask-bench`, rows (h), (h2), (j), (k)): a `#[value_task]`
//! call whose body has no `.await` costs what a plain function call returning its value costs
//! (h); one whose body could suspend and completes at once builds its future in a pooled block,
//! polls it and gives the block back (h2), or keeps it for its result when that is larger than
//! the value task's two words, until it is awaited; one that suspends keeps its future in pooled
//! storage, so neither allocates in steady state,
//! where an `#[async_trait]` call allocates on every call (and a `Task` takes a shared,
//! reference-counted cell). Fewer allocations are not always less time, though: a result
//! too large for a value task's two words is written where it was produced and copied out
//! when awaited, where `#[async_trait]`'s poll writes it once, where it is awaited. The
//! bench's payload grid, (p), measures both over real payload sizes and `dyn` layers, each call awaited in an
//! `async` block: a body that only awaits another value-task call returns that call's value
//! task (no frame), so forwarding layers cost next to nothing and a value task is the faster
//! return through them. A value task is two words whatever its result; one too large for
//! them is kept where it was produced: a call that suspends returns it from its block's poll
//! straight into the awaiting code's place, as a box does; a call that completes at once keeps
//! it in its pooled block, and it is copied from there when awaited, where a box's poll writes
//! it in place. The payload grid (p) shows every call with a 64-byte result below the box's
//! time, in both profiles; with a 256-byte result, a call through one layer whose future is
//! small (up to 512 bytes) and that completes at once comes to about the box's time, and above it when the whole program is built as one
//! codegen unit. So a method whose
//! result is larger than [`LARGE_RESULT_BYTES`] and whose calls complete at once at least
//! half the time gets [`Advice::LargeResult`] (measure it, or return a `Box<T>`: one
//! allocation a call); for the others the advice is about allocations, sharing and
//! suspensions, by the share of synchronous calls (shown rounded down, as the bands are
//! closed below):
//!
//! | counts and result | [`Advice`] | why |
//! |---|---|---|
//! | fewer than [`MIN_CALLS`] calls | [`Advice::TooFewCalls`] | nothing to tell yet |
//! | a result over [`LARGE_RESULT_BYTES`], ≥ 50% | [`Advice::LargeResult`] | no allocation, and the value task is two words, but a call that completes at once copies the result out of its block, which a box does not: measure |
//! | ≥ 90% | [`Advice::KeepMostlySynchronous`] | the common call allocates nothing and keeps no future (it runs to its end at the call, in a pooled block given back at once, or when awaited for a result larger than two words); a `Task` would take a shared cell on every call |
//! | 50% to 90% | [`Advice::KeepPooled`] | most calls complete at once; those that suspend reuse pooled storage |
//! | < 50% | [`Advice::MostlySuspends`] | still no allocation in steady state: a call that suspends continues in pooled storage, where `#[async_trait]` boxes every call; but a body that waits for another party's answer is polled once more than a boxed one and takes about the box's time (bench row (o)), and when callers share the result (await it more than once, or from several tasks) a `Task` is what they need |
//!
//! Every `#[value_task]` method and free `async fn` is counted under its path,
//! `module_path!()` followed by `<Type as Trait>::method` (a trait impl's method: two traits'
//! methods of one name on one type are two rows, and so are two impls of one trait for
//! `Cache<u8>` and `Cache<u16>`: the type is named as written, with its arguments),
//! `Type::method` (an inherent one), `Trait::method` (a default body, and a call through a
//! `#[dyn_trait]`'s `dyn` form, one row for every implementor: the static calls of such a
//! trait are not counted) or the function's name. A method annotated on its own, not through
//! its impl, is counted under its bare name, as a function (the attribute does not see the
//! impl); so are two of one name in two impls of one module then one row, and the functions
//! of one name in two functions' bodies (`module_path!()` names no function). At most 16,384
//! call sites are counted; the next to register panics, naming the cap. A call counts as synchronous when the value task it
//! returns is ready at the call (its body ran to the end without suspending, or the source
//! or task a forwarding body returns has completed: a source's `status` is asked then, at the
//! call, so a stale token's panic comes there rather than at the await). `lazy` methods are not counted: their
//! bodies do not run at the call, so the call cannot tell. Your own call sites
//! ([`ValueTask::start`](crate::ValueTask::start), a source's value task) can be counted with
//! [`count!`](crate::count); a [`ValueTask::new`](crate::ValueTask::new) one (lazy: nothing
//! ran at the call) counts as suspended, as a pending `map` of a call does.
//!
//! Counting is per thread: each thread bumps its own counters with plain loads and stores
//! (no atomic read-modify-write, nothing shared on the hot path), and [`report`] adds them up.
//! Without the feature, the expansion contains no counting code at all.
//!
//! ```
//! use valuetask::{stats, value_task};
//!
//! #[value_task]
//! async fn cached(hit: bool) -> u32 {
//!     if !hit {
//!         valuetask::yield_now().await;
//!     }
//!     7
//! }
//!
//! stats::reset();
//! for i in 0..200 {
//!     assert_eq!(cached(i % 10 != 0).get_result(), 7);
//! }
//! let report = stats::report();
//! let row = report.method(concat!(module_path!(), "::cached")).unwrap();
//! assert_eq!((row.synchronous, row.suspended), (180, 20));
//! assert_eq!(row.advice(), stats::Advice::KeepMostlySynchronous);
//! println!("{report}");
//! ```
//!
//! # Invariants
//! - A thread's table is written by that thread alone (plain `load` + `store` of relaxed
//!   atomics, so a concurrent [`report`] reads whole values); pages, once published (a Release
//!   store of the page pointer), stay until the table is dropped.
//! - The registry lock guards the list of live tables, the totals of exited threads and the
//!   baseline; a thread's table is moved into the exited totals under that lock, so a report
//!   counts every call once.
//! - Counters only grow; [`reset`] records a baseline that [`report`] subtracts.
//! - A [`Site`] is a `static` per counted method, given its slot on first use. A thread
//!   reaches its table through a `const` thread-local without destructor; a separate guard
//!   folds the thread's counts into the registry at exit.

use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::sync::lock_std as lock;
use crate::{LocalValueTask, ValueTask};

/// Below this many calls a method gets [`Advice::TooFewCalls`].
pub const MIN_CALLS: u64 = 100;
/// At or above this share of synchronous calls: [`Advice::KeepMostlySynchronous`] (the low end
/// of the "90–95% synchronous" rule of thumb .NET developers use).
pub const MOSTLY_SYNCHRONOUS: f64 = 0.9;
/// At or above this share (and below [`MOSTLY_SYNCHRONOUS`]): [`Advice::KeepPooled`].
pub const MIXED: f64 = 0.5;
/// A result larger than this many bytes gets [`Advice::LargeResult`]: the largest result size
/// the bench's payload grid (p) measures below the box's time in every cell and profile; at
/// the next it measures (256 bytes) a call that completes at once can cost the box it saves
/// (see the [module docs](self)).
pub const LARGE_RESULT_BYTES: usize = 64;

/// Counters per page of a thread's table.
const PAGE: usize = 64;
/// Pages per table: up to 16,384 counted call sites.
const PAGES: usize = 256;

/// A counted call site: a method's or function's path and its slot in every thread's table.
/// Made by `#[value_task]`'s expansion (and [`count!`](crate::count)) as a `static`. No .NET
/// counterpart (see the [module docs](self)).
pub struct Site {
    name: &'static str,
    /// The slot plus one; 0 until the site's first call registers it.
    slot: AtomicUsize,
    /// The result size of the call that registered the site, or the largest over
    /// [`LARGE_RESULT_BYTES`] counted since: a generic method's instantiations share the site.
    result_bytes: AtomicUsize,
}

impl Site {
    /// A site named `name` (not registered until its first call).
    pub const fn new(name: &'static str) -> Self {
        Site {
            name,
            slot: AtomicUsize::new(0),
            result_bytes: AtomicUsize::new(0),
        }
    }

    /// The name this site is counted under.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Count one call that returned `value_task`: synchronous when it completed at the call
    /// ([`Counted::completed_at_call`]).
    #[inline]
    pub fn count<V: Counted>(&'static self, value_task: V) -> V {
        self.record(value_task.completed_at_call(), V::RESULT_BYTES);
        value_task
    }

    #[inline]
    fn record(&'static self, synchronous: bool, result_bytes: usize) {
        let slot = match self.slot.load(Ordering::Acquire) {
            0 => self.register(result_bytes),
            slot => slot - 1,
        };
        // Whichever instantiation of a generic method comes first, a result large enough for
        // `Advice::LargeResult` decides. `result_bytes` is a constant: for a result at most
        // that large the test folds away, and the call pays nothing for it.
        if result_bytes > LARGE_RESULT_BYTES
            && result_bytes > self.result_bytes.load(Ordering::Relaxed)
        {
            self.result_bytes.fetch_max(result_bytes, Ordering::Relaxed);
        }
        // A call during this thread's exit (a destructor calling a method) is not counted.
        let _ = LOCAL.try_with(|local| {
            if let Some(table) = local.table() {
                table.bump(slot, synchronous);
            }
        });
    }

    #[cold]
    fn register(&'static self, result_bytes: usize) -> usize {
        self.result_bytes.fetch_max(result_bytes, Ordering::Relaxed);
        let mut registry = lock(&REGISTRY);
        match self.slot.load(Ordering::Acquire) {
            0 => {
                let slot = registry.sites.len();
                assert!(
                    slot < PAGE * PAGES,
                    "valuetask::stats: more than {} counted call sites",
                    PAGE * PAGES
                );
                registry.sites.push(self);
                self.slot.store(slot + 1, Ordering::Release);
                slot
            }
            slot => slot - 1,
        }
    }
}

impl fmt::Debug for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Site").field("name", &self.name).finish()
    }
}

/// What [`Site::count`] accepts: the value task types, which can tell whether they were ready
/// at the call. No .NET counterpart: the nearest is `ValueTask.IsCompletedSuccessfully` read
/// at the call site.
pub trait Counted: private::Sealed {
    /// The size of the result, in bytes.
    const RESULT_BYTES: usize;
    /// Whether the call completed without suspending: the value task holds its value, or
    /// the source, task or pooled slot it stands for has completed. A lazy future
    /// ([`ValueTask::new`](crate::ValueTask::new), a pending `map`) has not completed.
    fn completed_at_call(&self) -> bool;
}

mod private {
    pub trait Sealed {}
    impl<T> Sealed for crate::ValueTask<'_, T> {}
    impl<T> Sealed for crate::LocalValueTask<'_, T> {}
}

impl<T> Counted for ValueTask<'_, T> {
    const RESULT_BYTES: usize = std::mem::size_of::<T>();
    #[inline]
    fn completed_at_call(&self) -> bool {
        ValueTask::completed_at_call(self)
    }
}

impl<T> Counted for LocalValueTask<'_, T> {
    const RESULT_BYTES: usize = std::mem::size_of::<T>();
    #[inline]
    fn completed_at_call(&self) -> bool {
        LocalValueTask::completed_at_call(self)
    }
}

/// Count a call site of your own: `count!("name", value_task)` returns the value task and
/// counts the call under `module_path!()::name`, as `#[value_task]` methods are. No .NET
/// counterpart: .NET has no such advisor (see the [module docs](crate::stats)).
///
/// ```
/// use valuetask::{stats, ValueTask};
///
/// fn lookup(hit: bool) -> ValueTask<'static, u8> {
///     let vt = if hit {
///         ValueTask::from_result(1)
///     } else {
///         ValueTask::start(async {
///             valuetask::yield_now().await;
///             1
///         })
///     };
///     valuetask::count!("lookup", vt)
/// }
///
/// stats::reset();
/// lookup(true).get_result();
/// lookup(false).get_result();
/// let report = stats::report();
/// let row = report.method(concat!(module_path!(), "::lookup")).unwrap();
/// assert_eq!((row.synchronous, row.suspended), (1, 1));
/// ```
#[macro_export]
macro_rules! count {
    ($name:expr, $value_task:expr $(,)?) => {{
        // The static in a block of its own: an item is not hidden by `macro_rules!` hygiene,
        // so in the block that holds `$value_task` (a method's body) it would stand for a
        // `SITE` of the user's, and refuse a `let SITE`. The local `site` is hidden.
        let site: &'static $crate::stats::Site = {
            static SITE: $crate::stats::Site =
                $crate::stats::Site::new(::core::concat!(::core::module_path!(), "::", $name));
            &SITE
        };
        site.count($value_task)
    }};
}

/// One thread's counters: `pages[i / PAGE][i % PAGE]` for slot `i`, pages allocated on first
/// use.
struct Table {
    pages: [AtomicPtr<Page>; PAGES],
}

/// Aligned to a cache line: counters of one page share lines only with each other.
#[repr(align(64))]
struct Page([Counts; PAGE]);

#[derive(Default)]
struct Counts {
    synchronous: AtomicU64,
    suspended: AtomicU64,
}

impl Table {
    fn new() -> Self {
        Table {
            pages: [const { AtomicPtr::new(std::ptr::null_mut()) }; PAGES],
        }
    }

    /// Bump slot `slot`. Only the owning thread calls this.
    #[inline]
    fn bump(&self, slot: usize, synchronous: bool) {
        let page = self.pages[slot / PAGE].load(Ordering::Relaxed);
        let page = if page.is_null() {
            self.new_page(slot / PAGE)
        } else {
            page
        };
        // SAFETY: a published page stays until the table drops, and the table is alive (we
        // hold it).
        let counts = unsafe { &(*page).0[slot % PAGE] };
        let counter = if synchronous {
            &counts.synchronous
        } else {
            &counts.suspended
        };
        // The owner is the only writer: a load and a store, no read-modify-write.
        counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }

    #[cold]
    fn new_page(&self, index: usize) -> *mut Page {
        let page = Box::into_raw(Box::new(Page(std::array::from_fn(|_| Counts::default()))));
        self.pages[index].store(page, Ordering::Release);
        page
    }

    /// Add this table's counts into `totals` (indexed by slot).
    fn add_to(&self, totals: &mut Vec<(u64, u64)>) {
        for (p, page) in self.pages.iter().enumerate() {
            let page = page.load(Ordering::Acquire);
            if page.is_null() {
                continue;
            }
            // SAFETY: published pages stay until the table drops; we hold it.
            let page = unsafe { &*page };
            for (i, counts) in page.0.iter().enumerate() {
                let (s, w) = (
                    counts.synchronous.load(Ordering::Relaxed),
                    counts.suspended.load(Ordering::Relaxed),
                );
                if s + w > 0 {
                    let slot = p * PAGE + i;
                    if totals.len() <= slot {
                        totals.resize(slot + 1, (0, 0));
                    }
                    totals[slot].0 += s;
                    totals[slot].1 += w;
                }
            }
        }
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        for page in &self.pages {
            let page = page.load(Ordering::Acquire);
            if !page.is_null() {
                // SAFETY: allocated by `new_page`, freed once, here.
                drop(unsafe { Box::from_raw(page) });
            }
        }
    }
}

/// This thread's table (null until its first count). `const`-initialized and without `Drop`,
/// so reaching it is a plain thread-local access; the move into the registry's totals at
/// thread exit lives in [`ExitGuard`], registered with the table.
struct Local {
    /// From `Arc::into_raw`: the thread's strong count on its table (the registry holds the
    /// other while the thread runs).
    table: Cell<*const Table>,
}

impl Local {
    /// The table, registered on first use; `None` while the thread exits (after its
    /// [`ExitGuard`] ran, or when it can no longer be registered): such calls are not counted.
    #[inline]
    fn table(&self) -> Option<&Table> {
        let table = self.table.get();
        if table.is_null() {
            return self.register();
        }
        // SAFETY: set by `register` from `Arc::into_raw`; the thread's count keeps it alive
        // until `ExitGuard` takes it back and clears this pointer.
        Some(unsafe { &*table })
    }

    #[cold]
    fn register(&self) -> Option<&Table> {
        // Touching the guard registers its destructor; it fails once the thread is exiting.
        EXIT_GUARD.try_with(|_| ()).ok()?;
        let table = Arc::new(Table::new());
        lock(&REGISTRY).live.push(Arc::clone(&table));
        self.table.set(Arc::into_raw(table));
        // SAFETY: just set, from `Arc::into_raw`.
        Some(unsafe { &*self.table.get() })
    }
}

/// Moves this thread's counts into the registry's totals of exited threads at thread exit.
struct ExitGuard;

impl Drop for ExitGuard {
    fn drop(&mut self) {
        let _ = LOCAL.try_with(|local| {
            let table = local.table.replace(std::ptr::null());
            if table.is_null() {
                return;
            }
            // SAFETY: the thread's count, from `Arc::into_raw` in `register`, taken back once.
            let table = unsafe { Arc::from_raw(table) };
            let mut registry = lock(&REGISTRY);
            let Registry { live, exited, .. } = &mut *registry;
            table.add_to(exited);
            live.retain(|t| !Arc::ptr_eq(t, &table));
        });
    }
}

thread_local! {
    static LOCAL: Local = const { Local { table: Cell::new(std::ptr::null()) } };
    static EXIT_GUARD: ExitGuard = const { ExitGuard };
}

struct Registry {
    /// Each slot's site.
    sites: Vec<&'static Site>,
    /// The tables of running threads.
    live: Vec<Arc<Table>>,
    /// The counts of threads that exited, by slot.
    exited: Vec<(u64, u64)>,
    /// The counts at the last [`reset`], by slot.
    baseline: Vec<(u64, u64)>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    sites: Vec::new(),
    live: Vec::new(),
    exited: Vec::new(),
    baseline: Vec::new(),
});

impl Registry {
    /// Every thread's counts so far, by slot.
    fn totals(&self) -> Vec<(u64, u64)> {
        let mut totals = self.exited.clone();
        for table in &self.live {
            table.add_to(&mut totals);
        }
        totals.resize(totals.len().max(self.sites.len()), (0, 0));
        totals
    }
}

/// Start a new measurement: calls made before are left out of the next [`report`]. No .NET
/// counterpart (the nearest: resetting a profiler's counters).
pub fn reset() {
    let mut registry = lock(&REGISTRY);
    registry.baseline = registry.totals();
}

/// The calls counted since the last [`reset`] (or since the start), on every thread, one row
/// per method, the most called first. No .NET counterpart (the nearest: a profiler's
/// per-method call counts).
pub fn report() -> Report {
    let registry = lock(&REGISTRY);
    let totals = registry.totals();
    let mut rows: Vec<MethodStats> = Vec::new();
    let mut row_of: std::collections::HashMap<&'static str, usize> =
        std::collections::HashMap::new();
    for (slot, site) in registry.sites.iter().enumerate() {
        let (name, result_bytes) = (site.name, site.result_bytes.load(Ordering::Relaxed));
        let (s, w) = totals[slot];
        let (bs, bw) = registry.baseline.get(slot).copied().unwrap_or((0, 0));
        let (synchronous, suspended) = (s.saturating_sub(bs), w.saturating_sub(bw));
        if synchronous + suspended == 0 {
            continue;
        }
        // Two sites with one name (say, one method in two expansions) make one row.
        match row_of.get(name) {
            Some(&row) => {
                let row = &mut rows[row];
                row.synchronous += synchronous;
                row.suspended += suspended;
                row.result_bytes = row.result_bytes.max(result_bytes);
            }
            None => {
                row_of.insert(name, rows.len());
                rows.push(MethodStats {
                    name,
                    synchronous,
                    suspended,
                    result_bytes,
                });
            }
        }
    }
    rows.sort_by(|a, b| b.calls().cmp(&a.calls()).then(a.name.cmp(b.name)));
    Report { rows }
}

/// What [`report`] returns: one [`MethodStats`] per counted method. `Display` prints it as a
/// table. No .NET counterpart.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    rows: Vec<MethodStats>,
}

impl Report {
    /// The rows, the most called method first.
    pub fn rows(&self) -> &[MethodStats] {
        &self.rows
    }

    /// The row of the method counted under `name` (`module::<Type as Trait>::method`,
    /// `module::Type::method`, `module::function`).
    pub fn method(&self, name: &str) -> Option<&MethodStats> {
        self.rows.iter().find(|row| row.name == name)
    }

    /// Whether no call was counted.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rows.is_empty() {
            return writeln!(f, "valuetask stats: no counted calls");
        }
        let width = self
            .rows
            .iter()
            .map(|r| r.name.len())
            .max()
            .unwrap_or(0)
            .max(6);
        writeln!(
            f,
            "{:width$}  {:>10}  {:>11}  {:>10}  advice",
            "method", "calls", "synchronous", "suspended"
        )?;
        for row in &self.rows {
            let permille = row.synchronous * 1000 / row.calls().max(1);
            writeln!(
                f,
                "{:width$}  {:>10}  {:>8}.{}%  {:>10}  {}",
                row.name,
                row.calls(),
                // Rounded down to a tenth, as the advice rounds down to a unit, in integers.
                permille / 10,
                permille % 10,
                row.suspended,
                row.advice().reason(row),
            )?;
        }
        Ok(())
    }
}

/// One method's counts. No .NET counterpart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodStats {
    /// The path it is counted under: `module::<Type as Trait>::method`, `module::Type::method`,
    /// `module::Trait::method` (a default body) or `module::function`.
    pub name: &'static str,
    /// Calls that completed without suspending.
    pub synchronous: u64,
    /// Calls that suspended.
    pub suspended: u64,
    /// The size of its result in bytes (what its value task moves, besides a tag); for a
    /// generic method, one site for every instantiation: the largest over
    /// [`LARGE_RESULT_BYTES`] counted, else the first counted call's.
    pub result_bytes: usize,
}

impl MethodStats {
    /// All calls.
    pub fn calls(&self) -> u64 {
        self.synchronous + self.suspended
    }

    /// The share of calls that completed synchronously, 0 to 1 (0 with no calls).
    pub fn synchronous_share(&self) -> f64 {
        match self.calls() {
            0 => 0.0,
            calls => self.synchronous as f64 / calls as f64,
        }
    }

    /// What the counts say (see the [module docs](self) for the thresholds and why).
    pub fn advice(&self) -> Advice {
        let share = self.synchronous_share();
        if self.calls() < MIN_CALLS {
            Advice::TooFewCalls
        } else if self.result_bytes > LARGE_RESULT_BYTES && share >= MIXED {
            Advice::LargeResult
        } else if share >= MOSTLY_SYNCHRONOUS {
            Advice::KeepMostlySynchronous
        } else if share >= MIXED {
            Advice::KeepPooled
        } else {
            Advice::MostlySuspends
        }
    }
}

/// The advisor's recommendation for one method; [`Advice::reason`] words it with the method's
/// numbers. No .NET counterpart: .NET's answer is a rule of thumb (the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Advice {
    /// Fewer than [`MIN_CALLS`] calls: nothing to tell yet.
    TooFewCalls,
    /// At least 90% of calls complete at once: keep `ValueTask`.
    KeepMostlySynchronous,
    /// 50% to 90%: keep `ValueTask`; the suspending calls use pooled storage.
    KeepPooled,
    /// Under 50%: a `ValueTask` still allocates nothing in steady state, but a body that
    /// waits for another party takes about a boxed call's time, and callers that share the
    /// result need a `Task`.
    MostlySuspends,
    /// A result over [`LARGE_RESULT_BYTES`], with at least half the calls complete at once:
    /// still no allocation, but a call that completes at once copies the result out of its
    /// block, which may take as much time as `#[async_trait]`'s call or more; measure, or
    /// return a `Box<T>`. (A call that suspends returns the result as a box does: a method
    /// that mostly suspends gets the advice of its share.)
    LargeResult,
}

impl Advice {
    /// The recommendation and its reason, with `row`'s numbers.
    pub fn reason(self, row: &MethodStats) -> String {
        // Rounded down, so that a share just under a band's edge never reads as the edge; in
        // integers (29 of 100 is 28.999.. as a float).
        let sync = row.synchronous * 100 / row.calls().max(1);
        let suspends = 100 - sync;
        match self {
            Advice::TooFewCalls => format!(
                "too few calls to tell ({} of the {MIN_CALLS} needed)",
                row.calls()
            ),
            Advice::KeepMostlySynchronous => format!(
                "keep ValueTask: {sync}% synchronous (no allocation, no future kept; a Task would take a shared cell on every call)"
            ),
            Advice::KeepPooled => format!(
                "keep ValueTask: {sync}% synchronous; the {suspends}% that suspend reuse pooled storage (no allocation in steady state)"
            ),
            Advice::MostlySuspends => format!(
                "suspends in {suspends}% of calls: still no allocation in steady state (a suspending call continues in pooled storage), but a body that waits for another party's answer is polled once more than a boxed one and takes about its time; if callers share the result, return a Task"
            ),
            Advice::LargeResult => format!(
                "measure: a {}-byte result of a call that completes at once is kept in a pooled block and copied out once when awaited; no allocation ({sync}% synchronous), but such a call may take as much time as #[async_trait]'s or more; a Box<T> result costs one allocation a call",
                row.result_bytes
            ),
        }
    }
}

impl fmt::Display for Advice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Advice::TooFewCalls => "too few calls",
            Advice::KeepMostlySynchronous => "keep ValueTask (mostly synchronous)",
            Advice::KeepPooled => "keep ValueTask (pooled)",
            Advice::MostlySuspends => "mostly suspends",
            Advice::LargeResult => "large result: measure",
        })
    }
}
