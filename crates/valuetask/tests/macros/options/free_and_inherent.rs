//! `#[value_task]` on free `async fn`s and inherent impls, argument patterns, `mut`
//! arguments, early `return` and `?`.

use crate::common;

use std::future::Future;

use common::{drive, yield_once};
use valuetask::{value_task, ValueTask};

#[value_task]
async fn add((a, b): (u32, u32), mut scale: u32) -> u32 {
    yield_once().await;
    scale += 1;
    (a + b) * scale
}

#[value_task]
async fn parse(text: &str) -> Result<u32, std::num::ParseIntError> {
    if text.is_empty() {
        return Ok(0);
    }
    let n: u32 = text.parse()?;
    Ok(n)
}

struct Greeter {
    name: String,
}

#[value_task]
impl Greeter {
    async fn greet(&self, greeting: &str) -> String {
        format!("{greeting}, {}", self.name)
    }
    fn not_async(&self) -> usize {
        self.name.len()
    }
}

#[test]
fn free_functions_and_inherent_methods_return_value_tasks() {
    let vt: ValueTask<'_, u32> = add((1, 2), 1);
    assert_eq!(drive(vt), 6);
    assert_eq!(drive(parse("")), Ok(0));
    assert_eq!(drive(parse("41")), Ok(41));
    assert!(drive(parse("x")).is_err());
    let g = Greeter { name: "Ada".into() };
    assert_eq!(drive(g.greet("Hello")), "Hello, Ada");
    assert_eq!(g.not_async(), 3);
}

#[value_task]
async fn keeps_arguments_alive_until_the_end(guard: std::sync::Arc<()>) -> usize {
    yield_once().await;
    std::sync::Arc::strong_count(&guard)
}

#[test]
fn arguments_live_in_the_future_as_in_an_async_fn() {
    let guard = std::sync::Arc::new(());
    let vt = keeps_arguments_alive_until_the_end(guard.clone());
    assert_eq!(
        std::sync::Arc::strong_count(&guard),
        2,
        "captured, not dropped at call"
    );
    assert_eq!(drive(vt), 2);
    assert_eq!(std::sync::Arc::strong_count(&guard), 1);
}

#[value_task]
async fn records(log: &std::sync::Mutex<Vec<&'static str>>) {
    log.lock().unwrap().push("before the first await");
    yield_once().await;
    log.lock().unwrap().push("after");
}

#[test]
fn a_value_task_fn_starts_at_the_call_like_a_dotnet_async_method() {
    let log = std::sync::Mutex::new(Vec::new());
    let vt = records(&log);
    assert_eq!(*log.lock().unwrap(), ["before the first await"]);
    drive(vt);
    assert_eq!(*log.lock().unwrap(), ["before the first await", "after"]);
}

struct Text<'a>(&'a str);

impl<'a> Text<'a> {
    /// The attribute on one method of `impl<'a>`: it cannot see the impl's generics, so a
    /// lifetime the arguments use and the method does not declare is taken as the impl's.
    #[value_task]
    async fn count(s: &'a str) -> usize {
        yield_once().await;
        s.len()
    }

    /// A `for<'b>` binder's lifetime is the binder's own, not the impl's.
    #[value_task]
    async fn apply(s: &'a str, f: impl for<'b> Fn(&'b str) -> &'b str + Send) -> usize {
        yield_once().await;
        f(s).len()
    }

    #[value_task]
    async fn with_self(&self, extra: &'a str) -> usize {
        yield_once().await;
        self.0.len() + extra.len()
    }
}

#[test]
fn one_method_of_a_generic_impl_captures_the_impl_lifetimes_its_arguments_use() {
    let owned = String::from("hello");
    assert_eq!(drive(Text::count(&owned)), 5);
    assert_eq!(drive(Text::apply(&owned, |s| &s[1..])), 4);
    assert_eq!(drive(Text(&owned).with_self("!")), 6);
}

/// A label inside an array length in an argument type is not a lifetime of the signature.
#[value_task]
async fn labelled_length(
    bytes: [u8; {
        'len: {
            break 'len 2;
        }
    }],
) -> usize {
    yield_once().await;
    bytes.len()
}

#[test]
fn labels_in_argument_types_are_not_taken_for_lifetimes() {
    assert_eq!(drive(labelled_length([1, 2])), 2);
}

/// An `impl Fn(&str)` argument has an elision scope of its own, so the output's elided
/// lifetime is the one other reference's, as in a plain `async fn`: the `+ 'value_task` the
/// attribute adds to `impl Trait` arguments is not an input lifetime.
#[valuetask::value_task]
async fn first_matching(items: &[String], accept: impl Fn(&str) -> bool) -> Option<&str> {
    items.iter().map(String::as_str).find(|s| accept(s))
}

#[valuetask::value_task]
async fn first_matching_later(
    items: &[String],
    accept: impl Fn(&str) -> bool + Send,
) -> Option<&str> {
    yield_once().await;
    items.iter().map(String::as_str).find(|s| accept(s))
}

#[test]
fn an_impl_fn_argument_leaves_the_output_elided_to_the_other_reference() {
    let items = vec!["a".to_string(), "bb".to_string()];
    assert_eq!(
        first_matching(&items, |s| s.len() == 2).get_result(),
        Some("bb")
    );
    assert_eq!(
        first_matching_later(&items, |s| s.len() == 1).get_result(),
        Some("a")
    );
}

/// One method annotated on its own sees only itself, not its impl: a by-value argument of
/// the impl's type parameter `T` needs `where T: 'value_task` (the attribute's lifetime, as
/// the impl-level attribute would add), or the attribute on the impl.
struct Holder<T>(T);

impl<T: Send> Holder<T> {
    #[valuetask::value_task]
    async fn size_later(t: T) -> usize
    where
        T: 'value_task,
    {
        yield_once().await;
        std::mem::size_of_val(&t)
    }

    #[valuetask::value_task(boxed)]
    async fn size_boxed(t: T) -> usize
    where
        T: 'value_task,
    {
        yield_once().await;
        std::mem::size_of_val(&t)
    }
}

#[test]
fn a_single_method_using_an_impl_type_parameter_names_the_bound() {
    assert_eq!(Holder::<u64>::size_later(1).get_result(), 8);
    assert_eq!(Holder::<u16>::size_boxed(1).get_result(), 2);
    assert_eq!(Holder(0u8).0, 0);
}

/// `-> !` (a loop that only ends by leaving the process or the task): the value task's output
/// is `Infallible`, as uninhabited as `!`, which stable Rust does not allow as a type argument.
#[valuetask::value_task]
trait Server: Send + Sync {
    async fn serve(&self) -> !;
    async fn fail_fast(&self) -> ! {
        panic!("a default body that diverges")
    }
}

struct Looping;

#[valuetask::value_task]
impl Server for Looping {
    async fn serve(&self) -> ! {
        loop {
            yield_once().await;
        }
    }
}

#[valuetask::value_task]
async fn never_returns() -> ! {
    yield_once().await;
    panic!("the free fn diverges after a suspension")
}

/// `!` reaching the attribute as a `macro_rules!` `$t:ty` fragment (an invisible group), and
/// in parentheses: the same `Infallible` value task.
macro_rules! diverging_fns {
    ($never:ty) => {
        #[valuetask::value_task]
        async fn halts_through_a_fragment() -> $never {
            panic!("diverges through a fragment")
        }
    };
}
diverging_fns!(!);

#[valuetask::value_task]
async fn halts_in_parentheses() -> (!) {
    yield_once().await;
    panic!("diverges in parentheses")
}

#[test]
fn never_returning_methods_become_infallible_value_tasks() {
    let _: fn() -> valuetask::ValueTask<'static, std::convert::Infallible> =
        halts_through_a_fragment;
    let _: fn() -> valuetask::ValueTask<'static, std::convert::Infallible> = halts_in_parentheses;
    let server: &dyn Server = &Looping;
    let mut serving = server.serve();
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    for _ in 0..3 {
        assert!(std::pin::Pin::new(&mut serving).poll(&mut cx).is_pending());
    }
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _: std::convert::Infallible = server.fail_fast().get_result();
    }));
    assert!(panicked.is_err());
    let panicked = std::panic::catch_unwind(|| never_returns().get_result());
    assert!(panicked.is_err());
}

/// Free functions with one lifetime keep it late-bound, as a hand-written
/// `fn f<'a>(s: &'a str) -> ValueTask<'a, usize>` does: they coerce to a higher-ranked
/// function pointer (a handler table) and satisfy a higher-ranked `Fn` bound, which a plain
/// `async fn` cannot (its future type is not nameable).
mod handlers {
    use super::*;

    #[value_task]
    pub async fn byte_len(s: &str) -> usize {
        s.len()
    }

    #[value_task]
    pub async fn char_count<'a>(s: &'a str) -> usize {
        yield_once().await;
        s.chars().count()
    }

    #[value_task]
    pub async fn first_word(s: &str) -> &str {
        yield_once().await;
        s.split(' ').next().unwrap_or_default()
    }

    /// A `'_` bound inside an argument's `fn` type does not count as a second lifetime.
    #[value_task]
    pub async fn formatted_len(
        s: &str,
        _format: fn(&mut std::fmt::Formatter<'_>) -> std::fmt::Result,
    ) -> usize {
        s.len()
    }

    #[value_task]
    pub async fn fixed<const N: usize>(bytes: &[u8; N]) -> usize {
        bytes.iter().filter(|b| **b != 0).count()
    }

    /// An argument under `#[cfg]` that borrows nothing leaves the form higher-ranked.
    #[value_task]
    pub async fn tagged(text: &str, #[cfg(any())] id: u64) -> usize {
        text.len()
    }

    /// An argument under `#[cfg]` that borrows (compiled out here): the general form, whose
    /// output has a lifetime of its own (elided from the one left, it had none: E0106).
    #[value_task]
    pub async fn gated(#[cfg(any())] tag: &str, count: usize) -> usize {
        count
    }

    macro_rules! bytes {
        () => {
            &[u8]
        };
    }

    /// A macro's type may borrow, unseen: the general form (elided, `'_` would be ambiguous
    /// between two inputs: E0106).
    #[value_task]
    pub async fn with_needle(hay: &str, needle: bytes!()) -> usize {
        hay.len() + needle.len()
    }

    /// A constant expression in an argument's type keeps its own elision (named after the
    /// function's, it could not use them: E0106 before).
    #[value_task]
    pub async fn sized(bytes: [u8; std::mem::size_of::<&u8>()]) -> usize {
        bytes.len()
    }
}

#[test]
fn cfg_arguments_macro_types_and_constants_in_types_compile() {
    let tagged: for<'a> fn(&'a str) -> ValueTask<'a, usize> = handlers::tagged;
    assert_eq!(drive(tagged("abc")), 3);
    assert_eq!(drive(handlers::gated(4)), 4);
    assert_eq!(drive(handlers::with_needle("ab", b"c")), 3);
    assert_eq!(drive(handlers::sized([0; 8])), 8);
}

/// A free function with two lifetimes is not higher-ranked (each is bounded by the value
/// task's): an async closure that calls it is.
#[value_task]
async fn has_prefix(text: &str, prefix: &str) -> bool {
    text.starts_with(prefix)
}

async fn serve(handler: impl AsyncFn(&str, &str) -> bool) -> bool {
    let owned = String::from("abc");
    handler(&owned, "ab").await
}

#[test]
fn a_two_lifetime_function_is_passed_as_an_async_closure() {
    assert!(drive(serve(async |text: &str, prefix: &str| {
        has_prefix(text, prefix).await
    })));
}

type Handler = for<'a> fn(&'a str) -> ValueTask<'a, usize>;

fn call_with_a_local_string<F>(f: F) -> usize
where
    F: for<'a> Fn(&'a str) -> ValueTask<'a, usize>,
{
    let owned = String::from("héllo world");
    drive(f(&owned))
}

#[test]
fn free_functions_with_one_lifetime_are_higher_ranked_callbacks() {
    let table: [Handler; 2] = [handlers::byte_len, handlers::char_count];
    let input = String::from("héllo");
    let lengths: Vec<usize> = table.iter().map(|h| drive(h(&input))).collect();
    assert_eq!(lengths, [6, 5]);
    assert_eq!(call_with_a_local_string(handlers::byte_len), 12);
    assert_eq!(call_with_a_local_string(handlers::char_count), 11);
    let words: for<'a> fn(&'a str) -> ValueTask<'a, &'a str> = handlers::first_word;
    assert_eq!(drive(words("one two")), "one");
    let fixed: for<'a> fn(&'a [u8; 3]) -> ValueTask<'a, usize> = handlers::fixed::<3>;
    assert_eq!(drive(fixed(&[1, 0, 2])), 2);
    type Formatting = fn(&mut std::fmt::Formatter<'_>) -> std::fmt::Result;
    let formatted: for<'a> fn(&'a str, Formatting) -> ValueTask<'a, usize> =
        handlers::formatted_len;
    assert_eq!(drive(formatted("abc", |f| f.write_str("x"))), 3);
}

/// The output elision counts only the lifetimes the caller can name: one bound by a `for<..>`
/// binder in an argument does not stop `-> &str` from borrowing the one input lifetime, as in
/// an `async fn`.
#[value_task]
async fn first_match(hay: &str, pred: impl for<'b> Fn(&'b str) -> bool + Send) -> &str {
    yield_once().await;
    hay.split(' ').find(|w| pred(w)).unwrap_or_default()
}

/// Nor does a `'_` inside an argument's `Fn(..)` or `fn(..)` type, bound there.
#[value_task]
async fn pick(x: &str, _inspect: impl Fn(&'_ u8) + Send, _call: fn(&'_ u8)) -> &str {
    yield_once().await;
    x
}

#[test]
fn a_for_binder_lifetime_in_an_argument_does_not_block_output_elision() {
    assert_eq!(drive(first_match("ab cd", |w| w.starts_with('c'))), "cd");
    assert_eq!(drive(pick("a", |_| {}, |_| {})), "a");
}

/// The expansion's own bindings do not resolve to the user's items of the same name.
mod hygiene {
    use super::*;

    #[allow(non_upper_case_globals, dead_code)]
    const __ret: u32 = 0;
    #[allow(non_upper_case_globals, dead_code)]
    const __arg0: (u32, u32) = (0, 0);

    #[value_task]
    pub async fn ready(x: u32) -> u32 {
        x + 1
    }

    #[value_task]
    pub async fn suspending((x, _): (u32, u32)) -> u32 {
        yield_once().await;
        x + 2
    }
}

#[test]
fn expansion_bindings_do_not_clash_with_user_items() {
    assert_eq!(drive(hygiene::ready(1)), 2);
    assert_eq!(drive(hygiene::suspending((1, 0))), 3);
}

struct Pair<'a, 'b>(&'a str, &'b str);

impl<'a, 'b> Pair<'a, 'b> {
    /// The attribute on one method of `impl<'a, 'b>`, whose arguments use both impl lifetimes:
    /// the future captures both, so both bound the value task.
    #[value_task]
    async fn joined(left: &'a str, right: &'b str) -> String {
        yield_once().await;
        format!("{left}{right}")
    }
}

#[test]
fn a_method_annotated_alone_captures_every_impl_lifetime_its_arguments_use() {
    let (left, right) = (String::from("a"), String::from("b"));
    let pair = Pair(&left, &right);
    assert_eq!(Pair::joined(pair.0, pair.1).get_result(), "ab");
}
