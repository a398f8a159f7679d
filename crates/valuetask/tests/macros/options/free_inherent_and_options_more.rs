//! More `#[value_task]` shapes where async-trait offers no counterpart (free `async fn`s,
//! inherent impls, single methods) and option combinations, each run with `.get_result()`:
//! free fns generic over types, consts and lifetimes that only `where` clauses use, `impl
//! Trait` arguments behind references, results borrowing from one of several arguments,
//! `-> impl Trait` bodies that never suspend, `unsafe` and attributed fns, recursion (boxed
//! and mutual), argument patterns on both paths, loops left by `return` and panics on either
//! side of a suspension, `?` and early returns around a suspension; generic, lifetime and
//! const-generic inherent impls, `Box`/`Arc`/`Pin` receivers on inherent methods, `?Send` and
//! `boxed` on single methods and impls (`crate = path` with them is in `crate_path.rs`),
//! deferred (`#[tracing::instrument]`) free fns and single methods, and a `Send` free fn's
//! value task completed on another thread, and a bare `#[value_task]` repeated on methods of
//! an annotated trait and impl.

#![allow(dead_code, unused_mut, clippy::all)]

use crate::common;

use std::cell::{Cell, RefCell};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use common::yield_once;
use valuetask::{value_task, LocalValueTask, ValueTask};

// --- free functions --------------------------------------------------------------------

/// Type parameters bounded only in a `where` clause (the outlives bound joins each existing
/// predicate), next to a predicate on a projection (`I::IntoIter`), which it leaves alone.
#[value_task]
async fn sum_all<I, T>(items: I) -> T
where
    I: IntoIterator<Item = T> + Send,
    I::IntoIter: Send,
    T: std::iter::Sum<T> + Send,
{
    yield_once().await;
    items.into_iter().sum()
}

#[test]
fn free_fn_generic_over_types_bounded_in_a_where_clause() {
    let vt: ValueTask<'_, u32> = sum_all(vec![1u32, 2, 3]);
    assert_eq!(vt.get_result(), 6);
    let set = std::collections::BTreeSet::from([4u64, 5]);
    assert_eq!(sum_all(set).get_result(), 9);
}

/// A const parameter used only in the output (called with a turbofish, which must not have
/// to name the attribute's lifetimes) and one inferred from an argument (synchronous path).
#[value_task]
async fn filled<const N: usize>(byte: u8) -> [u8; N] {
    yield_once().await;
    [byte; N]
}

#[value_task]
async fn checksum<const N: usize>(bytes: [u8; N]) -> u32 {
    bytes.iter().map(|&b| u32::from(b)).sum()
}

#[test]
fn free_fn_with_const_generics_in_the_output_and_in_an_argument() {
    assert_eq!(filled::<3>(7).get_result(), [7, 7, 7]);
    let four: [u8; 4] = filled(1).get_result();
    assert_eq!(four, [1; 4]);
    assert_eq!(checksum([1, 2, 3]).get_result(), 6);
}

/// `'a` appears only in a `where` clause; `'b: 'a` already bounds `'b` in the `where` clause
/// (the attribute's bound goes there), `'a` gets its bound inline.
#[value_task]
async fn shown_len<'a, T>(value: T) -> usize
where
    T: std::fmt::Display + Send + 'a,
{
    yield_once().await;
    value.to_string().len()
}

#[value_task]
async fn longer<'a, 'b>(a: &'a str, b: &'b str) -> &'a str
where
    'b: 'a,
{
    yield_once().await;
    if b.len() > a.len() {
        b
    } else {
        a
    }
}

#[test]
fn free_fn_lifetimes_used_only_in_where_clauses() {
    let shown = String::from("hello");
    assert_eq!(shown_len(&shown).get_result(), 5);
    assert_eq!(shown_len(42u16).get_result(), 2);
    let long = String::from("longer");
    let short = String::from("ab");
    assert_eq!(longer(&short, &long).get_result(), "longer");
    assert_eq!(longer(&long, &short).get_result(), "longer");
}

/// `impl Trait` by value, behind `&` and behind `&mut`, with the parentheses written by the
/// user (the attribute adds its lifetime inside them, not a second pair).
#[value_task]
async fn labelled(
    value: impl std::fmt::Display + Send,
    unit: &(impl std::fmt::Display + Sync),
    out: &mut (impl Extend<String> + Send),
) -> usize {
    let text = format!("{value} {unit}");
    yield_once().await;
    let len = text.len();
    out.extend([text]);
    len
}

#[test]
fn free_fn_impl_trait_arguments_by_value_and_behind_references() {
    let mut lines: Vec<String> = Vec::new();
    assert_eq!(labelled(3, &"kg", &mut lines).get_result(), 4);
    assert_eq!(labelled("x", &1.5, &mut lines).get_result(), 5);
    assert_eq!(lines, ["3 kg", "x 1.5"]);
}

struct Record {
    name: String,
    city: String,
}

/// The result borrows from the argument its explicit lifetime names; the other two (one
/// named, one elided) are borrowed only by the value task, so the result outlives them.
#[value_task]
async fn field<'r, 'k>(record: &'r Record, key: &'k str, _scratch: &str) -> Option<&'r str> {
    yield_once().await;
    match key {
        "name" => Some(record.name.as_str()),
        "city" => Some(record.city.as_str()),
        _ => None,
    }
}

#[test]
fn free_fn_result_borrows_only_from_the_argument_its_lifetime_names() {
    let record = Record {
        name: "Ada".into(),
        city: "London".into(),
    };
    let found = {
        let key = String::from("city");
        let scratch = String::new();
        field(&record, &key, &scratch).get_result()
    };
    assert_eq!(found, Some("London"));
    assert_eq!(field(&record, "age", "").get_result(), None);
}

/// No `.await`, but an `impl Trait` output: the pooled path (a closure cannot name it),
/// which completes at the call.
#[value_task]
async fn squares(limit: u32) -> impl Iterator<Item = u32> + Send {
    (1..=limit).map(|n| n * n)
}

#[test]
fn free_fn_returning_impl_trait_without_suspending_is_ready_at_the_call() {
    let vt = squares(3);
    assert!(vt.is_completed());
    assert_eq!(vt.get_result().collect::<Vec<_>>(), [1, 4, 9]);
}

/// # Safety
/// `index < items.len()`.
#[value_task]
async unsafe fn nth_unchecked(items: &[u32], index: usize) -> u32 {
    yield_once().await;
    // SAFETY: the caller promises that `index` is in bounds.
    unsafe { *items.get_unchecked(index) }
}

/// A raw pointer argument is fine in a body that never suspends (no future to be `Send`).
///
/// # Safety
/// `ptr` must point to a live `u32`.
#[value_task]
async unsafe fn read_raw(ptr: *const u32) -> u32 {
    // SAFETY: the caller promises that `ptr` is valid for reads.
    unsafe { ptr.read() }
}

#[test]
fn unsafe_free_fns_stay_unsafe_to_call() {
    let items = [10, 20, 30];
    // SAFETY: 1 < 3.
    let vt = unsafe { nth_unchecked(&items, 1) };
    assert_eq!(vt.get_result(), 20);
    let value = 7u32;
    // SAFETY: `&value` points to a live `u32`.
    let vt = unsafe { read_raw(&value) };
    assert_eq!(vt.get_result(), 7);
}

/// Doubles `x` after a suspension. Visibility, doc comments, `#[must_use]`, `#[inline]`,
/// `#[doc(alias)]` and an inert `cfg_attr` are kept, and none of them defers the rewrite.
#[value_task]
#[must_use = "the value task holds the doubled value"]
#[inline]
#[doc(alias = "twice")]
#[cfg_attr(all(), allow(unused_variables))]
pub(crate) async fn doubled_later(x: u64, unused: u8) -> u64 {
    yield_once().await;
    x * 2
}

#[test]
fn visibility_and_inert_attributes_on_a_free_fn_are_kept() {
    assert_eq!(doubled_later(21, 0).get_result(), 42);
}

static DEPTH_ENTRIES: AtomicU32 = AtomicU32::new(0);

/// Recursion through a lazy call: each level runs when awaited.
#[value_task(lazy)]
async fn depth(n: u32) -> u32 {
    DEPTH_ENTRIES.fetch_add(1, Ordering::SeqCst);
    if n == 0 {
        yield_once().await;
        return 0;
    }
    depth(n - 1).await + 1
}

static BOXED_DEPTH_ENTRIES: AtomicU32 = AtomicU32::new(0);

/// The same through a boxed call: boxed changes storage, not timing: every level runs at the
/// call, down to the innermost one's suspension.
#[value_task(boxed)]
async fn boxed_depth(n: u32) -> u32 {
    BOXED_DEPTH_ENTRIES.fetch_add(1, Ordering::SeqCst);
    if n == 0 {
        yield_once().await;
        return 0;
    }
    boxed_depth(n - 1).await + 1
}

#[test]
fn lazy_recursion_runs_when_awaited_and_boxed_recursion_at_the_call() {
    let vt = depth(3);
    assert_eq!(DEPTH_ENTRIES.load(Ordering::SeqCst), 0, "lazy");
    assert_eq!(vt.get_result(), 3);
    assert_eq!(DEPTH_ENTRIES.load(Ordering::SeqCst), 4);

    let vt = boxed_depth(3);
    assert_eq!(
        BOXED_DEPTH_ENTRIES.load(Ordering::SeqCst),
        4,
        "boxed: eager"
    );
    // The innermost level yielded at its call; the yield reaches each level above (their
    // first poll of it hands the yield on instead of polling it again at once), so the chain
    // is still suspended at the outermost call, as the innermost body asked.
    assert!(!vt.is_completed());
    assert_eq!(vt.get_result(), 3);
}

/// A search that builds its next level's call before deciding whether to await it (it
/// stops at level 3 by not awaiting): lazy, as with `#[async_trait]`, the deeper calls that
/// are never awaited never run; eager, every call would run its next one, without end.
#[value_task(lazy)]
async fn speculative(level: u32) -> u32 {
    SPECULATIVE_ENTRIES.fetch_add(1, Ordering::SeqCst);
    let deeper = speculative(level + 1);
    if level == 3 {
        return level;
    }
    deeper.await
}

static SPECULATIVE_ENTRIES: AtomicU32 = AtomicU32::new(0);

#[test]
fn lazy_calls_built_and_never_awaited_never_run() {
    assert_eq!(speculative(0).get_result(), 3);
    assert_eq!(
        SPECULATIVE_ENTRIES.load(Ordering::SeqCst),
        4,
        "levels 0 to 3 only"
    );
}

/// Two pooled free fns awaiting each other (nested eager starts, suspending every fourth
/// level).
#[value_task]
async fn is_even(n: u32) -> bool {
    if n == 0 {
        return true;
    }
    if n % 4 == 0 {
        yield_once().await;
    }
    is_odd(n - 1).await
}

#[value_task]
async fn is_odd(n: u32) -> bool {
    if n == 0 {
        return false;
    }
    is_even(n - 1).await
}

#[test]
fn mutually_recursive_pooled_free_fns() {
    assert!(is_even(10).get_result());
    assert!(is_odd(7).get_result());
    assert!(!is_even(7).get_result());
    assert!(!is_odd(40).get_result());
}

struct Pair(u8, u8);

/// Slice, tuple-struct (with `mut`), reference-to-tuple, `ref` and `_` patterns and a `mut`
/// argument, on the pooled path and on the synchronous one.
#[value_task]
async fn patterns_later(
    [a, b]: [u8; 2],
    Pair(x, mut y): Pair,
    &(p, q): &(u8, u8),
    (ref label, count): (String, usize),
    _: String,
    mut total: u32,
) -> String {
    y += 1;
    yield_once().await;
    total += u32::from(a + b + x + y + p + q);
    format!("{label}:{count}:{total}")
}

#[value_task]
async fn patterns_now(
    [a, b]: [u8; 2],
    Pair(x, mut y): Pair,
    &(p, q): &(u8, u8),
    (ref label, count): (String, usize),
    _: String,
    mut total: u32,
) -> String {
    y += 1;
    total += u32::from(a + b + x + y + p + q);
    format!("{label}:{count}:{total}")
}

#[test]
fn argument_patterns_on_free_fns_on_both_paths() {
    let later = patterns_later(
        [1, 2],
        Pair(3, 4),
        &(5, 6),
        ("n".to_string(), 2),
        String::from("ignored"),
        10,
    );
    assert_eq!(later.get_result(), "n:2:32");
    let now = patterns_now(
        [1, 2],
        Pair(3, 4),
        &(5, 6),
        ("n".to_string(), 2),
        String::from("ignored"),
        10,
    );
    assert!(now.is_completed());
    assert_eq!(now.get_result(), "n:2:32");
}

/// A body that is a loop left only by `return` (type `!`), with a panicking branch reached
/// before or after a suspension; and a synchronous `loop` left by `break value`.
#[value_task]
async fn countdown_to(start: u32, target: u32) -> u32 {
    let mut n = start;
    loop {
        if n == target {
            return n * 10;
        }
        if n == 0 {
            panic!("missed the target");
        }
        yield_once().await;
        n -= 1;
    }
}

#[value_task]
async fn first_square_above(limit: u32) -> u32 {
    let mut n = 0;
    loop {
        n += 1;
        if n * n > limit {
            break n * n;
        }
    }
}

fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<&str>() {
        Ok(s) => (*s).to_string(),
        Err(payload) => payload
            .downcast::<String>()
            .map(|s| *s)
            .unwrap_or_else(|_| "<non-string panic>".to_string()),
    }
}

#[test]
fn loops_left_by_return_or_break_and_panics_on_either_side_of_a_suspension() {
    assert_eq!(countdown_to(3, 1).get_result(), 10);
    assert_eq!(first_square_above(10).get_result(), 16);

    // Before the first suspension: kept by the call, out of `get_result` (as .NET keeps an
    // exception thrown before the first `await` in the task).
    let vt = std::panic::catch_unwind(|| countdown_to(0, 1)).expect("the call returns");
    let at_call = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || vt.get_result()))
        .expect_err("panics when awaited");
    assert_eq!(panic_text(at_call), "missed the target");

    // After two suspensions: out of `get_result`.
    let vt = countdown_to(2, 5);
    let later = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || vt.get_result()))
        .expect_err("panics while driven");
    assert_eq!(panic_text(later), "missed the target");
}

#[derive(Debug)]
struct OutOfRange(&'static str);

impl std::fmt::Display for OutOfRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for OutOfRange {}

/// An early `return` before the suspension (ready at the call), then `?` on two error types
/// and a `return` that needs a coercion after it.
#[value_task]
async fn parse_small(text: &str) -> Result<u8, Box<dyn std::error::Error + Send + Sync>> {
    if text.is_empty() {
        return Ok(0);
    }
    yield_once().await;
    let n: i64 = text.trim().parse()?;
    if n < 0 {
        return Err(Box::new(OutOfRange("negative")));
    }
    let small = u8::try_from(n).map_err(|_| OutOfRange("too large"))?;
    Ok(small)
}

#[test]
fn question_mark_and_early_returns_on_both_sides_of_a_suspension() {
    let empty = parse_small("");
    assert!(empty.is_completed(), "returned before suspending");
    assert_eq!(empty.get_result().unwrap(), 0);
    assert_eq!(parse_small(" 7 ").get_result().unwrap(), 7);
    let err = |s| parse_small(s).get_result().unwrap_err().to_string();
    assert!(err("x").contains("invalid digit"));
    assert_eq!(err("-1"), "negative");
    assert_eq!(err("300"), "too large");
}

// --- inherent impls ----------------------------------------------------------------------

struct Stack<T>(Vec<T>);

/// A generic inherent impl: an associated fn without arguments returning `Self`, `&mut self`
/// with an argument of the impl's type, `&self`, `self`, and a plain method beside them.
#[value_task]
impl<T: Clone + Send + Sync> Stack<T> {
    async fn new() -> Self {
        Stack(Vec::new())
    }

    async fn push(&mut self, item: T) -> usize {
        yield_once().await;
        self.0.push(item);
        self.0.len()
    }

    async fn top(&self) -> Option<T> {
        yield_once().await;
        self.0.last().cloned()
    }

    async fn into_vec(self) -> Vec<T> {
        yield_once().await;
        self.0
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

#[test]
fn generic_inherent_impl_with_every_receiver_and_an_associated_constructor() {
    let mut stack = Stack::<String>::new().get_result();
    assert_eq!(stack.push("a".into()).get_result(), 1);
    assert_eq!(stack.push("b".into()).get_result(), 2);
    assert_eq!(stack.top().get_result().as_deref(), Some("b"));
    assert_eq!(stack.len(), 2);
    assert_eq!(stack.into_vec().get_result(), ["a", "b"]);
}

struct View<'a> {
    text: &'a str,
}

/// Methods of `impl<'a>` returning `&'a str`: the result borrows the text, not the view.
#[value_task]
impl<'a> View<'a> {
    async fn new(text: &'a str) -> Self {
        yield_once().await;
        View { text }
    }

    async fn head(&self, n: usize) -> &'a str {
        yield_once().await;
        &self.text[..n]
    }

    async fn rest(self, n: usize) -> &'a str {
        yield_once().await;
        &self.text[n..]
    }
}

#[test]
fn lifetime_inherent_impl_results_outlive_the_receiver() {
    let text = String::from("hello world");
    let (head, rest) = {
        let view = View::new(&text).get_result();
        let head = view.head(5).get_result();
        (head, view.rest(6).get_result())
    };
    assert_eq!((head, rest), ("hello", "world"));
}

struct Meter {
    reading: u32,
}

/// Typed receivers on inherent methods: `Box<Self>`, `Arc<Self>`, `mut self: Pin<&mut
/// Self>`, and `Pin<&Self>` with an elided output tied to it.
#[value_task]
impl Meter {
    async fn boxed_total(self: Box<Self>, add: u32) -> u32 {
        yield_once().await;
        self.reading + add
    }

    async fn shared_count(self: Arc<Self>) -> usize {
        yield_once().await;
        Arc::strong_count(&self)
    }

    async fn bump(mut self: Pin<&mut Self>) -> u32 {
        yield_once().await;
        self.reading += 1;
        self.reading
    }

    async fn peek(self: Pin<&Self>) -> &u32 {
        yield_once().await;
        &self.get_ref().reading
    }
}

#[test]
fn box_arc_and_pin_receivers_on_inherent_methods() {
    assert_eq!(
        Box::new(Meter { reading: 2 }).boxed_total(3).get_result(),
        5
    );
    let shared = Arc::new(Meter { reading: 0 });
    assert_eq!(Arc::clone(&shared).shared_count().get_result(), 2);
    assert_eq!(Arc::strong_count(&shared), 1, "the future released its Arc");
    let mut meter = Meter { reading: 7 };
    assert_eq!(Pin::new(&mut meter).bump().get_result(), 8);
    assert_eq!(*Pin::new(&meter).peek().get_result(), 8);
    assert_eq!(meter.reading, 8);
}

struct Tally {
    shared: Rc<Cell<u32>>,
}

/// No attribute on the impl: `?Send` and `?Send, boxed` on single methods of a type that is
/// not `Sync`, next to a plain method.
impl Tally {
    fn plain(&self) -> u32 {
        self.shared.get()
    }

    #[value_task(?Send)]
    async fn bump_later(&self, by: u32) -> u32 {
        let shared = Rc::clone(&self.shared);
        yield_once().await;
        shared.set(shared.get() + by);
        shared.get()
    }

    #[value_task(?Send, lazy)]
    async fn bump_lazily(&self) -> u32 {
        self.shared.set(self.shared.get() + 100);
        self.shared.get()
    }
}

struct Touch(AtomicU32);

impl Touch {
    #[value_task(lazy)]
    async fn touch(&self) -> u32 {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }

    #[value_task(boxed)]
    async fn touch_boxed(&self) -> u32 {
        self.0.fetch_add(10, Ordering::SeqCst) + 10
    }

    fn touched(&self) -> u32 {
        self.0.load(Ordering::SeqCst)
    }
}

#[test]
fn local_and_boxed_options_on_single_methods_next_to_plain_ones() {
    let tally = Tally {
        shared: Rc::new(Cell::new(0)),
    };
    let vt: LocalValueTask<'_, u32> = tally.bump_later(2);
    assert_eq!(tally.plain(), 0, "suspended before the update");
    assert_eq!(vt.get_result(), 2);
    let lazy: LocalValueTask<'_, u32> = tally.bump_lazily();
    assert_eq!(tally.plain(), 2, "lazy: nothing ran at the call");
    assert_eq!(lazy.get_result(), 102);

    let touch = Touch(AtomicU32::new(0));
    let vt: ValueTask<'_, u32> = touch.touch();
    assert_eq!(touch.touched(), 0, "lazy: nothing ran at the call");
    assert_eq!(vt.get_result(), 1);
    assert_eq!(touch.touched(), 1);
    let vt: ValueTask<'_, u32> = touch.touch_boxed();
    assert_eq!(touch.touched(), 11, "boxed: ran at the call");
    assert!(vt.is_completed());
    assert_eq!(vt.get_result(), 11);
}

struct Journal {
    entries: RefCell<Vec<String>>,
}

/// `?Send` on an inherent impl: an `Rc<Self>` receiver with a borrowed argument held across
/// a suspension, and a `lazy` method inside it.
#[value_task(?Send)]
impl Journal {
    async fn record(self: Rc<Self>, entry: &str) -> usize {
        yield_once().await;
        self.entries.borrow_mut().push(entry.to_owned());
        self.entries.borrow().len()
    }

    #[value_task(lazy)]
    async fn count_lazily(&self) -> usize {
        self.entries.borrow().len()
    }
}

#[test]
fn local_inherent_impl_with_an_rc_receiver_and_a_lazy_method() {
    let journal = Rc::new(Journal {
        entries: RefCell::new(Vec::new()),
    });
    let entry = String::from("a");
    let vt: LocalValueTask<'_, usize> = Rc::clone(&journal).record(&entry);
    assert_eq!(
        Rc::strong_count(&journal),
        2,
        "held by the suspended future"
    );
    assert_eq!(vt.get_result(), 1);
    assert_eq!(Rc::strong_count(&journal), 1);
    let lazy = journal.count_lazily();
    journal.entries.borrow_mut().push("b".into());
    assert_eq!(lazy.get_result(), 2, "counted when driven, not at the call");
}

// --- tracing helpers for the deferred path -----------------------------------------------

/// The span names seen before and after a suspension.
type Seen = (Option<&'static str>, Option<&'static str>);

fn current_span() -> Option<&'static str> {
    tracing::Span::current().metadata().map(|m| m.name())
}

async fn seen_across_a_suspension() -> Seen {
    let before = current_span();
    yield_once().await;
    (before, current_span())
}

fn in_a_subscriber<R>(f: impl FnOnce() -> R) -> R {
    tracing::subscriber::with_default(tracing_subscriber::registry(), f)
}

struct Ring<const N: usize> {
    items: [u8; N],
}

/// A const-generic inherent impl: a direct method using `N`, and a deferred one (the second
/// stage gets no names for const parameters).
#[value_task]
impl<const N: usize> Ring<N> {
    async fn capacity(&self) -> usize {
        yield_once().await;
        N
    }

    #[tracing::instrument(skip_all)]
    async fn traced_sum(&self, extra: u8) -> (Seen, u32) {
        let seen = seen_across_a_suspension().await;
        let sum: u32 = self.items.iter().map(|&b| u32::from(b)).sum();
        (seen, sum + u32::from(extra))
    }
}

#[test]
fn const_generic_inherent_impl_with_a_direct_and_a_deferred_method() {
    in_a_subscriber(|| {
        let ring = Ring { items: [1, 2, 3] };
        assert_eq!(ring.capacity().get_result(), 3);
        let (seen, sum) = ring.traced_sum(4).get_result();
        assert_eq!(seen, (Some("traced_sum"), Some("traced_sum")));
        assert_eq!(sum, 10);
    });
}

// --- options -------------------------------------------------------------------------------

/// `?Send` on a free fn holding an `Rc` across a suspension, with an `impl Trait` argument
/// that need not be `Send`.
#[value_task(?Send)]
async fn append_later(log: Rc<RefCell<Vec<String>>>, entry: impl std::fmt::Display) -> usize {
    let keep = Rc::clone(&log);
    yield_once().await;
    keep.borrow_mut().push(entry.to_string());
    Rc::strong_count(&log)
}

#[test]
fn local_free_fn_holds_an_rc_across_a_suspension_on_this_thread() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let vt: LocalValueTask<'_, usize> = append_later(Rc::clone(&log), Rc::<str>::from("x"));
    assert!(log.borrow().is_empty(), "suspended before the push");
    assert_eq!(Rc::strong_count(&log), 3);
    assert_eq!(vt.get_result(), 3);
    assert_eq!(Rc::strong_count(&log), 1);
    assert_eq!(*log.borrow(), ["x"]);
}

/// `lazy` on a free fn whose body borrows its arguments and never suspends (`lazy` never
/// takes the synchronous path), and `boxed` on an inherent impl whose method uses `?` on an
/// `Option` and returns a borrow of an argument.
#[value_task(lazy)]
async fn count_matches(calls: &AtomicU32, haystack: &str, needle: &str) -> usize {
    calls.fetch_add(1, Ordering::SeqCst);
    haystack.matches(needle).count()
}

struct Finder {
    needle: String,
}

#[value_task(boxed)]
impl Finder {
    async fn find_in<'h>(&self, haystack: &'h str) -> Option<&'h str> {
        yield_once().await;
        let at = haystack.find(self.needle.as_str())?;
        Some(&haystack[at..])
    }
}

#[test]
fn lazy_and_boxed_bodies_borrowing_their_arguments() {
    let calls = AtomicU32::new(0);
    let haystack = String::from("a-b-a-b-a");
    let vt = count_matches(&calls, &haystack, "a");
    assert_eq!(calls.load(Ordering::SeqCst), 0, "lazy");
    assert_eq!(vt.get_result(), 3);
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    let finder = Finder {
        needle: "b-a".into(),
    };
    let tail = {
        let vt = finder.find_in(&haystack);
        vt.get_result()
    };
    assert_eq!(tail, Some("b-a-b-a"));
    let missing = Finder { needle: "z".into() };
    assert_eq!(missing.find_in(&haystack).get_result(), None);
}

// --- the deferred path on free fns and single methods --------------------------------------

/// Not `Debug`: `skip_all` must reach `instrument`, or this does not compile.
struct Opaque(u32);

#[value_task]
#[tracing::instrument(skip_all)]
async fn traced_opaque(value: Opaque, scale: u32) -> (Seen, u32) {
    let seen = seen_across_a_suspension().await;
    (seen, value.0 * scale)
}

#[value_task]
#[cfg_attr(all(), tracing::instrument(level = "debug"))]
async fn traced_debug(n: u8) -> (Seen, u8) {
    let seen = seen_across_a_suspension().await;
    (seen, n + 1)
}

#[test]
fn deferred_free_fns_with_skip_all_and_a_cfg_attr_instrument() {
    in_a_subscriber(|| {
        let (seen, v) = traced_opaque(Opaque(6), 7).get_result();
        assert_eq!(seen, (Some("traced_opaque"), Some("traced_opaque")));
        assert_eq!(v, 42);
        let (seen, v) = traced_debug(1).get_result();
        assert_eq!(seen, (Some("traced_debug"), Some("traced_debug")));
        assert_eq!(v, 2);
    });
}

struct Probe {
    base: u32,
}

/// The attribute on single methods of a plain impl, each deferred: one behind `cfg_attr`
/// with a level, one `?Send`.
impl Probe {
    fn plain(&self) -> u32 {
        self.base
    }

    #[value_task]
    #[cfg_attr(all(), tracing::instrument(level = "debug", skip(self)))]
    async fn probe(&self, add: u32) -> (Seen, u32) {
        let seen = seen_across_a_suspension().await;
        (seen, self.base + add)
    }

    #[value_task(?Send)]
    #[tracing::instrument(skip_all)]
    async fn probe_local(&self, shared: Rc<u32>) -> (Seen, u32) {
        let seen = seen_across_a_suspension().await;
        (seen, self.base + *shared)
    }
}

#[test]
fn deferred_single_methods_of_a_plain_impl() {
    in_a_subscriber(|| {
        let probe = Probe { base: 10 };
        let vt: ValueTask<'_, (Seen, u32)> = probe.probe(5);
        let (seen, v) = vt.get_result();
        assert_eq!(seen, (Some("probe"), Some("probe")));
        assert_eq!(v, 15);
        let vt: LocalValueTask<'_, (Seen, u32)> = probe.probe_local(Rc::new(1));
        let (seen, v) = vt.get_result();
        assert_eq!(seen, (Some("probe_local"), Some("probe_local")));
        assert_eq!(v, 11);
        assert_eq!(probe.plain(), 10);
    });
}

// --- Send-ness ------------------------------------------------------------------------------

#[value_task]
async fn weighted_sum(weights: &[u32], values: Vec<u32>) -> u32 {
    yield_once().await;
    weights.iter().zip(&values).map(|(w, v)| w * v).sum()
}

fn assert_send<T: Send>(_: &T) {}

#[test]
fn a_send_free_fn_value_task_is_send_and_completes_on_another_thread() {
    let weights = vec![1, 2, 3];
    let vt = weighted_sum(&weights, vec![4, 5, 6]);
    assert_send(&vt);
    assert!(
        !vt.is_completed(),
        "suspended: the pooled future moves with it"
    );
    let total = std::thread::scope(|s| s.spawn(move || vt.get_result()).join().unwrap());
    assert_eq!(total, 32);
}

/// A bare `#[value_task]` repeated on a method of an annotated trait or impl changes nothing
/// (only options there are checked: `boxed`, and the errors for `?Send` and `crate`).
#[value_task]
trait Repeated: Send + Sync {
    #[value_task]
    async fn declared(&self) -> u32;
    #[value_task]
    async fn provided(&self) -> u32 {
        yield_once().await;
        self.declared().await + 1
    }
}

struct RepeatedImpl;

#[value_task]
impl Repeated for RepeatedImpl {
    #[value_task]
    async fn declared(&self) -> u32 {
        40
    }
}

#[test]
fn a_bare_attribute_repeated_on_a_method_changes_nothing() {
    let service: &dyn Repeated = &RepeatedImpl;
    let declared: ValueTask<'_, u32> = service.declared();
    assert_eq!(declared.get_result(), 40);
    assert_eq!(service.provided().get_result(), 41);
}

/// One lifetime and a type parameter: the type is captured too, so the value task takes the
/// general form (bounded by both), not the single-lifetime one.
#[value_task]
async fn label_with_value<'a, T: std::fmt::Display + Send>(label: &'a str, value: T) -> String {
    yield_once().await;
    format!("{label}: {value}")
}

#[test]
fn a_free_fn_with_one_lifetime_and_a_type_parameter_captures_both() {
    let label = String::from("count");
    assert_eq!(label_with_value(&label, 3).get_result(), "count: 3");
    let borrowed = String::from("borrowed");
    assert_eq!(
        label_with_value("text", borrowed.as_str()).get_result(),
        "text: borrowed"
    );
}
