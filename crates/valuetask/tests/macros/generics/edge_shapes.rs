//! `#[value_task]` edge shapes: arguments the pattern does not bind live as long as the
//! future, trait-level lifetimes and type parameters in arguments, `return` with a coercion,
//! typed receivers in default bodies, `#[cfg]` on arguments, the attribute on one method, and
//! user lifetimes named like the ones the attribute makes up.

use crate::common;

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{drive, yield_once};
use valuetask::value_task;

struct Permit(Arc<AtomicUsize>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[value_task]
async fn holds_an_unbound_argument(
    _: Permit,
    (_, n): (Permit, u8),
    live: Arc<AtomicUsize>,
) -> usize {
    yield_once().await;
    // Both permits must still be held here, as with an `async fn`.
    live.load(Ordering::SeqCst) + usize::from(n)
}

#[test]
fn unbound_argument_parts_live_until_the_future_ends() {
    let live = Arc::new(AtomicUsize::new(2));
    let vt = holds_an_unbound_argument(
        Permit(live.clone()),
        (Permit(live.clone()), 0),
        live.clone(),
    );
    assert_eq!(
        live.load(Ordering::SeqCst),
        2,
        "started, suspended, still held"
    );
    assert_eq!(drive(vt), 2);
    assert_eq!(live.load(Ordering::SeqCst), 0);
}

#[value_task]
trait Parse<'de, Ctx: Send + Sync>: Send + Sync {
    async fn parse(&self, input: &'de str, ctx: Ctx) -> &'de str;
}

struct Trim;

#[value_task]
impl<'de, Ctx: Send + Sync> Parse<'de, Ctx> for Trim {
    async fn parse(&self, input: &'de str, _ctx: Ctx) -> &'de str {
        yield_once().await;
        input.trim()
    }
}

#[test]
fn trait_lifetimes_and_type_parameters_in_arguments() {
    let text = String::from("  x  ");
    let p: &dyn Parse<'_, u8> = &Trim;
    assert_eq!(drive(p.parse(&text, 1)), "x");
}

#[derive(Debug)]
struct MyError;

impl std::fmt::Display for MyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("my error")
    }
}

impl std::error::Error for MyError {}

#[value_task]
async fn early_return_coerces(fail: bool) -> Result<u8, Box<dyn std::error::Error + Send + Sync>> {
    if fail {
        return Err(Box::new(MyError));
    }
    Ok(1)
}

#[test]
fn return_with_a_coercion_compiles_as_in_an_async_fn() {
    assert_eq!(drive(early_return_coerces(false)).unwrap(), 1);
    assert_eq!(
        drive(early_return_coerces(true)).unwrap_err().to_string(),
        "my error"
    );
}

#[value_task]
trait Receivers: Send + Sync {
    async fn by_arc(self: Arc<Self>) -> usize {
        Arc::strong_count(&self)
    }
    async fn by_pin(self: Pin<&mut Self>) -> u8 {
        yield_once().await;
        7
    }
    // Written out on purpose: the typed form must get the same `Self: Sync` bound as `&self`.
    #[allow(clippy::needless_arbitrary_self_type)]
    async fn by_typed_ref(self: &Self) -> u8 {
        8
    }
}

struct R;
impl Receivers for R {}

#[test]
fn typed_receivers_in_default_bodies() {
    let r = Arc::new(R);
    assert_eq!(drive(r.clone().by_arc()), 2);
    let mut local = R;
    assert_eq!(drive(Pin::new(&mut local).by_pin()), 7);
    assert_eq!(drive(local.by_typed_ref()), 8);
}

#[value_task]
async fn with_cfg_argument(#[cfg(any())] removed: u8, kept: u8) -> u8 {
    kept
}

struct Single(u8);

impl Single {
    #[value_task]
    async fn get(&self) -> u8 {
        yield_once().await;
        self.0
    }
}

#[test]
fn cfg_on_arguments_and_the_attribute_on_one_method() {
    assert_eq!(drive(with_cfg_argument(3)), 3);
    assert_eq!(drive(Single(4).get()), 4);
}

#[value_task]
trait Named: Send + Sync {
    /// An elided output lifetime: the receiver's, as elision gives it.
    async fn name(&self) -> &str;
    /// One input lifetime besides none on the receiver side.
    async fn first<'a>(&self, words: &'a [String]) -> &'a str;
}

struct Person(String);

#[value_task]
impl Named for Person {
    async fn name(&self) -> &str {
        yield_once().await;
        &self.0
    }
    async fn first<'a>(&self, words: &'a [String]) -> &'a str {
        yield_once().await;
        words.first().map_or("", String::as_str)
    }
}

#[value_task]
async fn longest_line(text: &str) -> &str {
    yield_once().await;
    text.lines().max_by_key(|l| l.len()).unwrap_or("")
}

#[test]
fn elided_output_lifetimes_follow_the_elision_rules() {
    let person: Box<dyn Named> = Box::new(Person("Ada".into()));
    assert_eq!(drive(person.name()), "Ada");
    let words = vec!["x".to_string()];
    assert_eq!(drive(person.first(&words)), "x");
    assert_eq!(drive(longest_line("a\nbcd\nef")), "bcd");
}

// --- shapes from a review against async-trait and plain `async fn` ---

/// `&impl Trait` and `&mut impl Trait` arguments (`?Send`: the bounds do not promise `Sync`).
#[value_task(?Send)]
async fn show(value: &impl std::fmt::Display, out: &mut impl std::fmt::Write) -> usize {
    yield_once().await;
    write!(out, "{value}").unwrap();
    value.to_string().len()
}

/// `-> impl Trait` on a body that suspends.
#[value_task]
async fn evens(limit: u32) -> impl Iterator<Item = u32> {
    yield_once().await;
    (0..limit).filter(|x| x % 2 == 0)
}

/// `Fn(&T)` arguments keep their own (higher-ranked) elision.
#[value_task(?Send)]
async fn each(f: impl Fn(&u8) -> u8, g: fn(&u8) -> &u8) -> u8 {
    yield_once().await;
    let local = 3;
    f(&local) + *g(&local)
}

#[test]
fn reference_impl_trait_arguments_impl_trait_outputs_and_fn_arguments() {
    let mut out = String::new();
    assert_eq!(drive(show(&42, &mut out)), 2);
    assert_eq!(out, "42");
    assert_eq!(drive(evens(7)).collect::<Vec<_>>(), [0, 2, 4, 6]);
    assert_eq!(drive(each(|x| x + 1, |x| x)), 7);
}

/// A default body without a receiver that holds `Self` across an `.await`.
#[value_task]
trait Factory: Sized {
    async fn build(n: u8) -> Self;
    async fn pair(n: u8) -> (Self, Self) {
        let a = Self::build(n).await;
        (a, Self::build(n + 1).await)
    }
}

/// A static method that does not use `Self`: its value task does not borrow `Self`.
#[value_task]
trait Job {
    async fn run(n: u8) -> u8;
}

#[derive(Debug, PartialEq)]
struct Made(u8);

#[value_task]
impl Factory for Made {
    async fn build(n: u8) -> Self {
        yield_once().await;
        Made(n)
    }
}

struct Borrowing<'a>(std::marker::PhantomData<&'a u8>);

#[value_task]
impl Job for Borrowing<'_> {
    async fn run(n: u8) -> u8 {
        yield_once().await;
        n * 2
    }
}

/// No `J: 'static` needed: `run` does not use `Self`, so its value task does not borrow it.
fn static_value_task<J: Job>() -> valuetask::ValueTask<'static, u8> {
    J::run(4)
}

#[test]
fn receiverless_default_bodies_and_static_methods_that_do_not_use_self() {
    assert_eq!(drive(Made::pair(1)), (Made(1), Made(2)));
    assert_eq!(drive(static_value_task::<Borrowing<'_>>()), 8);
}

/// The attribute on one associated fn of a generic impl: `Self` carries the impl's parameter.
struct Wrap<T>(T);

impl<T: Send> Wrap<T> {
    #[value_task]
    async fn new(t: T) -> Self {
        yield_once().await;
        Wrap(t)
    }
}

#[test]
fn the_attribute_on_one_associated_fn_of_a_generic_impl() {
    assert_eq!(drive(Wrap::new(5u8)).0, 5);
}

/// `self` as a path keyword, and items with their own `Self`, inside a free fn's body.
#[value_task]
async fn formats(n: u8) -> String {
    use std::fmt::{self, Write};
    struct Local;
    impl Local {
        fn new() -> Self {
            Local
        }
    }
    let _ = Local::new();
    yield_once().await;
    let mut out = String::new();
    let _: fmt::Result = write!(out, "{n}");
    out
}

/// A blanket impl whose body uses `Self` where the trait's signature does not: the impl must
/// not demand more of `Self` than the trait.
#[value_task]
trait Describe {
    async fn describe() -> String;
}

trait HasName {
    fn name() -> &'static str;
}

#[value_task]
impl<T: HasName> Describe for T {
    async fn describe() -> String {
        yield_once().await;
        Self::name().to_owned()
    }
}

struct Thing;

impl HasName for Thing {
    fn name() -> &'static str {
        "thing"
    }
}

#[test]
fn self_keywords_and_nested_items_in_bodies_and_blanket_impls_using_self() {
    assert_eq!(drive(formats(7)), "7");
    assert_eq!(drive(Thing::describe()), "thing");
}

/// A self-less method annotated on its own inside an impl with a lifetime of its own looks
/// like a free function to the attribute; the impl's lifetime in its arguments keeps it on
/// the general form (that lifetime bounded by the output's), so it compiles.
struct Text<'a>(&'a str);

impl<'a> Text<'a> {
    #[value_task]
    async fn longer(s: &'a str, other: &str) -> usize {
        yield_once().await;
        s.len().max(other.len())
    }
}

#[test]
fn a_self_less_method_using_its_impls_lifetime_compiles() {
    let text = Text("abc");
    assert_eq!(drive(Text::longer(text.0, "de")), 3);
}

/// A user's own `'life0` and `'value_task` next to elided lifetimes: the names the attribute
/// gives the elided ones (and the value task's own) skip names already in use, so nothing
/// is declared twice. (`#[async_trait]` rejects this shape: its `'life0` collides.)
#[value_task]
trait Labels<'value_task> {
    async fn pick<'life0>(&self, first: &'life0 str, second: &str) -> &'life0 str;
    async fn tag(&self, label: &'value_task str) -> usize;
}

struct Picker;

#[value_task]
impl<'value_task> Labels<'value_task> for Picker {
    async fn pick<'life0>(&self, first: &'life0 str, second: &str) -> &'life0 str {
        yield_once().await;
        if second.is_empty() {
            ""
        } else {
            first
        }
    }

    async fn tag(&self, label: &'value_task str) -> usize {
        yield_once().await;
        label.len()
    }
}

#[value_task]
async fn free_with_a_user_life0<'life0>(a: &'life0 str, b: &str) -> (&'life0 str, usize) {
    yield_once().await;
    (a, b.len())
}

#[test]
fn user_lifetimes_named_like_the_generated_ones_do_not_collide() {
    let picker: &dyn Labels<'_> = &Picker;
    let second = String::from("x");
    assert_eq!(drive(picker.pick("first", &second)), "first");
    assert_eq!(drive(picker.tag("four")), 4);
    assert_eq!(drive(free_with_a_user_life0("a", "bc")), ("a", 2));
}

/// A `for<'value_task>` binder in the impl's bounds is not in scope in its methods, so the
/// method's undeclared `'value_task` still names the attribute's lifetime; a `for<'life0>`
/// binder in a body is in scope there, so the elided lifetimes' names skip it.
#[value_task]
trait Apply {
    async fn apply(&self, x: &u8) -> u8;
    async fn size<T>(&self, t: T) -> usize
    where
        T: Send + 'value_task,
        Self: Sized;
}

struct Applies<F>(F);

#[value_task]
impl<F> Apply for Applies<F>
where
    F: for<'value_task> Fn(&'value_task u8) -> u8 + Send + Sync,
{
    async fn apply(&self, x: &u8) -> u8 {
        let same: for<'life0> fn(&'life0 u8) -> &'life0 u8 = |x| x;
        yield_once().await;
        (self.0)(same(x))
    }

    async fn size<T>(&self, t: T) -> usize
    where
        T: Send + 'value_task,
        Self: Sized,
    {
        yield_once().await;
        std::mem::size_of_val(&t)
    }
}

#[test]
fn binders_in_the_impls_bounds_and_in_bodies_do_not_collide() {
    let applies = Applies(|x: &u8| x + 1);
    let dyn_apply: &dyn Apply = &applies;
    assert_eq!(drive(dyn_apply.apply(&41)), 42);
    assert_eq!(drive(applies.size(7u64)), 8);
}
