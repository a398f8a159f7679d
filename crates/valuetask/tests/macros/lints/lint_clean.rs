//! The expansion of `#[value_task]` is lint-clean: a crate that denies rustc's warnings and
//! clippy's default and pedantic groups compiles these shapes (CI runs clippy with
//! `-D warnings` over the tests), and one that forbids `unsafe` code: the expansion has none.
//! Only what the user wrote may warn.

#![forbid(unsafe_code)]
#![deny(
    warnings,
    rust_2018_idioms,
    unused_qualifications,
    clippy::all,
    clippy::pedantic
)]

use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use valuetask::value_task;

/// Suspends once (the shared test helper has `unsafe` code: the counting allocator).
async fn yield_once() {
    struct YieldOnce(bool);
    impl Future for YieldOnce {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if std::mem::replace(&mut self.0, true) {
                Poll::Ready(())
            } else {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }
    YieldOnce(false).await;
}

/// A store.
#[value_task]
pub trait Store: Send + Sync {
    async fn get(&self, key: u32) -> Option<String>;
    async fn get_ref<'a>(&'a self, key: &'a str) -> &'a str;
    async fn put(&mut self, key: u32, value: String);
    async fn pattern(&self, pair: (u32, u32)) -> u32;
    async fn with_impl(&self, shown: impl Display + Send) -> String
    where
        Self: Sized;
    async fn by_ref(&self, unused: &u8) -> u8;
    async fn provided(&self, key: u32) -> String {
        yield_once().await;
        self.get(key).await.unwrap_or_default()
    }
    async fn provided_sync(&self, key: u32) -> u32 {
        key + 1
    }
    async fn generic<T: Display + Send + Sync>(&self, value: &T) -> String
    where
        Self: Sized,
    {
        value.to_string()
    }
    async fn shown(&self) -> &(impl Display + Send + Sync)
    where
        Self: Sized;
}

#[derive(Debug, Default)]
pub struct Memory(Vec<(u32, String)>);

#[value_task]
impl Store for Memory {
    async fn get(&self, key: u32) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
    }
    async fn get_ref<'a>(&'a self, key: &'a str) -> &'a str {
        yield_once().await;
        key
    }
    async fn put(&mut self, key: u32, value: String) {
        yield_once().await;
        self.0.push((key, value));
    }
    async fn pattern(&self, (a, mut b): (u32, u32)) -> u32 {
        b += 1;
        yield_once().await;
        a + b
    }
    async fn with_impl(&self, shown: impl Display + Send) -> String
    where
        Self: Sized,
    {
        yield_once().await;
        shown.to_string()
    }
    async fn by_ref(&self, _unused: &u8) -> u8 {
        yield_once().await;
        7
    }
    async fn shown(&self) -> &(impl Display + Send + Sync)
    where
        Self: Sized,
    {
        yield_once().await;
        &self.0[0].1
    }
}

#[value_task(?Send)]
pub trait Local {
    async fn local(&self, n: u32) -> u32;
}

#[value_task(?Send)]
impl Local for std::rc::Rc<u32> {
    async fn local(&self, n: u32) -> u32 {
        yield_once().await;
        **self + n
    }
}

#[value_task(boxed)]
pub trait Boxed: Send + Sync {
    async fn boxed(&self) -> u8 {
        yield_once().await;
        1
    }
}

impl Boxed for Memory {}

/// A function that never returns.
///
/// # Panics
/// Always, with `reason`.
#[value_task]
pub async fn halt(reason: &'static str) -> ! {
    panic!("{reason}")
}

/// A free function and an inherent method.
#[value_task]
pub async fn free(text: &str, mut count: usize) -> usize {
    count += text.len();
    yield_once().await;
    count
}

/// Parameters the user bounds in a `where` clause get the output bound there too, not inline
/// (clippy's `multiple_bound_locations`).
#[value_task]
pub async fn bounded_in_where<'a, 'b, T>(value: &'a T, suffix: &'b str) -> String
where
    T: Display + Sync + ?Sized,
    'b: 'a,
{
    yield_once().await;
    format!("{value}{suffix}")
}

/// Each parameter's output bound goes into its own predicate, whatever their order.
#[value_task]
pub async fn two_in_where<T, U>(first: T, second: U) -> String
where
    U: Display + Send,
    T: Display + Send,
{
    yield_once().await;
    format!("{first}{second}")
}

impl Memory {
    #[value_task]
    pub async fn len_later(&self) -> usize {
        yield_once().await;
        self.0.len()
    }
}

#[test]
fn every_shape_runs() {
    assert_eq!(bounded_in_where("a", "b").get_result(), "ab");
    assert_eq!(two_in_where(1, 'x').get_result(), "1x");
    let mut memory = Memory::default();
    memory.put(1, "one".to_owned()).get_result();
    let store: &dyn Store = &memory;
    assert_eq!(store.get(1).get_result().as_deref(), Some("one"));
    assert_eq!(store.get_ref("k").get_result(), "k");
    assert_eq!(store.pattern((1, 2)).get_result(), 4);
    assert_eq!(memory.with_impl(5).get_result(), "5");
    assert_eq!(store.by_ref(&0).get_result(), 7);
    assert_eq!(store.provided(1).get_result(), "one");
    assert_eq!(store.provided_sync(1).get_result(), 2);
    assert_eq!(memory.generic(&3).get_result(), "3");
    assert_eq!(std::rc::Rc::new(1).local(2).get_result(), 3);
    assert_eq!(memory.boxed().get_result(), 1);
    assert_eq!(free("ab", 1).get_result(), 3);
    assert_eq!(memory.len_later().get_result(), 1);
    assert_eq!(memory.shown().get_result().to_string(), "one");
    assert!(std::panic::catch_unwind(|| halt("stop").get_result()).is_err());
}

/// Arguments with `#[expect(..)]` of the lints an argument raises: each expectation is
/// fulfilled once, where the argument's binding is (the expansion rebinds it in the body).
#[value_task]
pub trait Expecting: Send + Sync {
    async fn unused(&self, key: String, pair: (u32, u32)) -> u32;
    async fn unused_now(&self, key: String, buffer: Vec<u8>) -> usize;
    async fn unused_in_cfg_attr(&self, key: String) -> usize;
}

/// Implements [`Expecting`] with arguments it does not use.
pub struct Ignores;

#[value_task]
impl Expecting for Ignores {
    async fn unused(
        &self,
        #[expect(unused_variables)] key: String,
        #[expect(unused_variables)] (first, second): (u32, u32),
    ) -> u32 {
        yield_once().await;
        first
    }
    async fn unused_now(
        &self,
        #[expect(unused_variables)] key: String,
        #[expect(unused_mut)] mut buffer: Vec<u8>,
    ) -> usize {
        buffer.len()
    }
    async fn unused_in_cfg_attr(
        &self,
        #[cfg_attr(all(), expect(unused_variables))] key: String,
    ) -> usize {
        yield_once().await;
        2
    }
}

#[test]
fn expectations_on_arguments_are_met_where_the_bindings_are() {
    let ignores = Ignores;
    let unused = ignores.unused(String::new(), (1, 2));
    assert_eq!(futures::executor::block_on(unused), 1);
    assert_eq!(ignores.unused_now(String::new(), vec![1]).get_result(), 1);
    assert_eq!(ignores.unused_in_cfg_attr(String::new()).get_result(), 2);
}

/// An expectation of a lint about `async` itself (`clippy::unused_async`, written on a body
/// that awaits nothing), which can no longer fire once the rewrite removed the `async`: it
/// is an allowance now (unfulfilled, it failed the build under `-D warnings`), and the
/// expectations written beside it stay.
#[value_task]
#[expect(
    clippy::unused_async,
    reason = "an async API whose first version answers at once"
)]
pub async fn answers_at_once() -> u8 {
    1
}

/// The same beside another expectation, which stays one (and is met), and in a `cfg_attr`.
pub struct Answers;

#[value_task]
impl Answers {
    /// Beside an expectation that the body meets.
    #[expect(clippy::unused_async, unused_variables)]
    pub async fn at_once(&self) -> u8 {
        let unused = 0;
        2
    }

    /// In a `cfg_attr`.
    #[cfg_attr(all(), expect(clippy::unused_async))]
    pub async fn also_at_once() -> u8 {
        3
    }
}

/// On the impl or the trait, met by its methods: the same.
pub struct AnswersToo;

#[value_task]
#[expect(clippy::unused_async, reason = "met by the methods")]
impl AnswersToo {
    /// Awaits nothing.
    pub async fn at_once(&self) -> u8 {
        4
    }
}

/// A trait whose default body awaits nothing.
#[value_task]
#[expect(clippy::unused_async, reason = "met by the default body")]
pub trait AnswersByDefault {
    /// Awaits nothing.
    async fn by_default(&self) -> u8 {
        5
    }
}

impl AnswersByDefault for AnswersToo {}

/// Lints that read the output or the body, which the rewrite hides: the same.
pub struct Hidden;

#[value_task]
impl Hidden {
    /// A `Result` with no `# Errors` section.
    #[expect(clippy::missing_errors_doc, reason = "met natively")]
    pub async fn fails(&self, fail: bool) -> Result<u8, String> {
        yield_once().await;
        if fail {
            Err("asked to".into())
        } else {
            Ok(6)
        }
    }

    /// A panic with no `# Panics` section.
    #[expect(clippy::missing_panics_doc, reason = "met natively")]
    pub async fn panics(&self, value: Option<u8>) -> u8 {
        yield_once().await;
        value.expect("given")
    }
}

/// A future that is not `Send`.
#[value_task(?Send)]
#[expect(clippy::future_not_send, reason = "met natively")]
pub async fn not_send(value: std::rc::Rc<u8>) -> u8 {
    yield_once().await;
    *value
}

#[test]
fn expectations_of_async_only_lints_are_allowances() {
    assert_eq!(answers_at_once().get_result(), 1);
    assert_eq!(Answers.at_once().get_result(), 2);
    assert_eq!(Answers::also_at_once().get_result(), 3);
    assert_eq!(AnswersToo.at_once().get_result(), 4);
    assert_eq!(AnswersToo.by_default().get_result(), 5);
    assert_eq!(crate::common::drive(Hidden.fails(false)), Ok(6));
    assert_eq!(crate::common::drive(Hidden.panics(Some(7))), 7);
    assert_eq!(crate::common::drive(not_send(std::rc::Rc::new(8))), 8);
}

/// Shapes whose expansion a plain `async fn` does not lint, and ours must not either: an
/// unused `_name` argument the future holds (`used_underscore_binding`,
/// `no_effect_underscore_binding`), a suspending body whose output is a future
/// (`async_yields_async`), an output complex enough for `type_complexity` around a
/// `ValueTask` or in a `let`, and a trait that expects `async_fn_in_trait` (it has no
/// `async fn` after the rewrite).
#[value_task]
#[expect(async_fn_in_trait, reason = "met natively")]
pub trait Spawning {
    /// Spawns.
    async fn spawn(&self, request: String) -> Pin<Box<dyn Future<Output = usize> + Send>>;
    /// Lists.
    async fn rows(&self) -> Result<Vec<(String, Vec<u8>)>, Box<dyn std::error::Error + Send>>;
    /// Ignores its argument.
    async fn ignore(&self, ignored: String) -> u8;
}

/// Implements `Spawning`.
pub struct Spawner;

#[value_task]
impl Spawning for Spawner {
    async fn spawn(&self, request: String) -> Pin<Box<dyn Future<Output = usize> + Send>> {
        yield_once().await;
        Box::pin(async move { request.len() })
    }
    async fn rows(&self) -> Result<Vec<(String, Vec<u8>)>, Box<dyn std::error::Error + Send>> {
        yield_once().await;
        Ok(vec![("row".to_owned(), vec![1])])
    }
    async fn ignore(&self, _ignored: String) -> u8 {
        yield_once().await;
        9
    }
}

impl Spawner {
    /// A forwarding body whose output is a future, in a frame (`lazy`).
    #[value_task(lazy)]
    pub async fn spawn_later(
        &self,
        request: String,
    ) -> Pin<Box<dyn Future<Output = usize> + Send>> {
        self.spawn(request).await
    }
}

/// An argument under `#[cfg]` with the function's only lifetime (its value task's then).
#[value_task]
pub async fn gated(#[cfg(any())] tag: &str, count: u32) -> u32 {
    count + 1
}

#[test]
fn outputs_that_are_futures_or_complex_and_unused_arguments_run() {
    use crate::common::drive;
    let spawned = drive(Spawner.spawn("four".to_owned()));
    assert_eq!(drive(spawned), 4);
    let later = drive(Spawner.spawn_later("three".to_owned()));
    assert_eq!(drive(later), 5);
    let rows = drive(Spawner.rows()).map_err(|e| e.to_string());
    assert_eq!(rows, Ok(vec![("row".to_owned(), vec![1])]));
    assert_eq!(drive(Spawner.ignore(String::new())), 9);
    assert_eq!(gated(1).get_result(), 2);
}
