//! Shapes that compile under `#[async_trait]` compile under `#[value_task]` with the attribute
//! swapped and behave the same: each module below defines its trait and impls once in a
//! `shape!` macro, expands it under both attributes, and compares the results.

#![allow(dead_code, unused_mut, clippy::all)]

use crate::common;

use common::yield_once;

use futures::executor::block_on;

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic>".to_string()
    }
}

/// recursion through `dyn` (the classic reason to box async trait methods): a tree
/// summed by a default body that recurses into `Box<dyn Node>` children, and a 300-deep
/// self-recursion that suspends at every third level and completes synchronously at the
/// others (nested `ValueTask::start` calls inside a pooled future's poll, pool reuse while
/// an outer block is live). Plus a value_task-only recursive free `async fn` (a native
/// `async fn` would need boxing; no async-trait counterpart).
mod recursion_through_dyn {
    use super::*;
    macro_rules! shape {
        ($attr:meta) => {
            #[allow(unused_imports)]
            use super::*;

            #[$attr]
            pub trait Node: Send + Sync {
                async fn value(&self) -> u64;
                fn children(&self) -> &[Box<dyn Node>];

                async fn sum(&self) -> u64 {
                    let mut total = self.value().await;
                    for child in self.children() {
                        total += child.sum().await;
                    }
                    total
                }

                async fn countdown(&self, n: u32) -> u32 {
                    if n == 0 {
                        yield_once().await;
                        return 0;
                    }
                    if n % 3 == 0 {
                        yield_once().await;
                    }
                    1 + self.countdown(n - 1).await
                }
            }

            pub struct Leaf {
                pub v: u64,
                pub suspend: bool,
            }

            pub struct Branch {
                pub v: u64,
                pub kids: Vec<Box<dyn Node>>,
            }

            #[$attr]
            impl Node for Leaf {
                async fn value(&self) -> u64 {
                    if self.suspend {
                        yield_once().await;
                    }
                    self.v
                }
                fn children(&self) -> &[Box<dyn Node>] {
                    &[]
                }
            }

            #[$attr]
            impl Node for Branch {
                async fn value(&self) -> u64 {
                    self.v
                }
                fn children(&self) -> &[Box<dyn Node>] {
                    &self.kids
                }
            }

            pub fn tree(depth: u32) -> Box<dyn Node> {
                if depth == 0 {
                    return Box::new(Leaf {
                        v: 1,
                        suspend: true,
                    });
                }
                Box::new(Branch {
                    v: u64::from(depth),
                    kids: vec![
                        tree(depth - 1),
                        Box::new(Leaf {
                            v: 10,
                            suspend: false,
                        }),
                        tree(depth - 1),
                    ],
                })
            }

            pub fn run() -> (u64, u32) {
                let t = tree(6);
                (block_on(t.sum()), block_on(t.countdown(300)))
            }
        };
    }

    under_both_attributes!();

    /// value_task only: a recursive free function (no boxing needed, the value task erases it).
    #[valuetask::value_task]
    async fn factorial(n: u64) -> u64 {
        if n == 0 {
            yield_once().await;
            return 1;
        }
        n * factorial(n - 1).await
    }

    #[test]
    fn recursion_through_dyn_agrees() {
        let a = with_async_trait::run();
        let v = with_value_task::run();
        assert_eq!(a, v);
        assert_eq!(a.1, 300);
    }

    #[test]
    fn recursive_free_function() {
        assert_eq!(block_on(factorial(10)), 3_628_800);
    }
}

/// unusual receivers, called through `dyn`: `self: Arc<Self>`, `mut self:
/// Pin<&mut Self>` (impl) for `self: Pin<&mut Self>` (trait), `self: Pin<Box<Self>>`,
/// `mut self: Box<Self>`, `self: Pin<&Self>` with an elided output tied to it, `self: &Self`
/// in the impl for `&self` in the trait, `&'static self`, an elided output tied to the only
/// non-self reference argument next to an `Arc<Self>` receiver, and default bodies with
/// `Box<Self>` / `Arc<Self>` receivers that await other methods.
mod receivers_through_dyn {
    use super::*;
    macro_rules! shape {
        ($attr:meta) => {
            #[allow(unused_imports)]
            use super::*;
            use std::pin::Pin;
            use std::sync::Arc;

            #[$attr]
            pub trait Resource: Send + Sync {
                async fn shared(self: Arc<Self>) -> usize;
                async fn bump(self: Pin<&mut Self>, add: u32) -> u32;
                async fn finish(self: Pin<Box<Self>>) -> u32;
                async fn consume(self: Box<Self>) -> u32;
                async fn peek(&self) -> u32;
                /// Elided output: the only input lifetime is `text`'s.
                async fn echo(self: Arc<Self>, text: &str) -> &str;
                /// Elided output: the pinned reference's lifetime.
                async fn label(self: Pin<&Self>) -> &str;
                async fn forever(&'static self) -> &'static str;

                async fn consume_after_peek(self: Box<Self>) -> u32 {
                    let seen = self.peek().await;
                    yield_once().await;
                    seen * 10
                }

                async fn peek_arc(self: Arc<Self>) -> u32 {
                    yield_once().await;
                    self.peek().await + 1
                }
            }

            pub struct Res {
                pub n: u32,
                pub name: String,
            }

            impl Res {
                pub fn new(n: u32, name: &str) -> Self {
                    Res {
                        n,
                        name: name.to_string(),
                    }
                }
            }

            #[$attr]
            impl Resource for Res {
                async fn shared(self: Arc<Self>) -> usize {
                    yield_once().await;
                    Arc::strong_count(&self)
                }
                async fn bump(mut self: Pin<&mut Self>, add: u32) -> u32 {
                    self.n += add;
                    yield_once().await;
                    self.n
                }
                async fn finish(self: Pin<Box<Self>>) -> u32 {
                    yield_once().await;
                    self.n + 1000
                }
                async fn consume(mut self: Box<Self>) -> u32 {
                    self.n += 1;
                    yield_once().await;
                    self.n
                }
                #[allow(clippy::needless_arbitrary_self_type)]
                async fn peek(self: &Self) -> u32 {
                    self.n
                }
                async fn echo(self: Arc<Self>, text: &str) -> &str {
                    yield_once().await;
                    text
                }
                async fn label(self: Pin<&Self>) -> &str {
                    yield_once().await;
                    &self.get_ref().name
                }
                async fn forever(&'static self) -> &'static str {
                    yield_once().await;
                    &self.name
                }
            }

            pub fn run() -> (usize, u32, String, u32, String, u32, u32, u32, String) {
                let arc: Arc<dyn Resource> = Arc::new(Res::new(1, "arc"));
                let shared = block_on(arc.clone().shared());
                let peek_arc = block_on(arc.clone().peek_arc());
                let text = String::from("echoed");
                let echoed = block_on(arc.clone().echo(&text)).to_owned();

                let mut pinned: Pin<Box<dyn Resource>> = Box::pin(Res::new(1, "pinned"));
                let bumped = block_on(pinned.as_mut().bump(2));
                let label = block_on(pinned.as_ref().label()).to_owned();
                let finished = block_on(pinned.finish());

                let boxed: Box<dyn Resource> = Box::new(Res::new(4, "boxed"));
                let consumed = block_on(boxed.consume());
                let boxed: Box<dyn Resource> = Box::new(Res::new(4, "boxed"));
                let after_peek = block_on(boxed.consume_after_peek());

                // A `'static` receiver without leaking (valgrind checks these binaries).
                static STATIC: std::sync::OnceLock<Res> = std::sync::OnceLock::new();
                let forever: &'static dyn Resource = STATIC.get_or_init(|| Res::new(0, "static"));
                let forever = block_on(forever.forever()).to_owned();

                (
                    shared, peek_arc, echoed, bumped, label, finished, consumed, after_peek,
                    forever,
                )
            }
        };
    }

    under_both_attributes!();

    #[test]
    fn unusual_receivers_through_dyn_agree() {
        let a = with_async_trait::run();
        let v = with_value_task::run();
        assert_eq!(a, v);
        assert_eq!(
            a,
            (
                2,
                2,
                "echoed".to_string(),
                3,
                "pinned".to_string(),
                1003,
                5,
                40,
                "static".to_string()
            )
        );
    }
}

/// forwarding (blanket) impls for smart pointers and references with `T: ?Sized`:
/// `impl<T: Store + ?Sized> Store for Box<T>`, `.. for Arc<T>` (overriding the default too),
/// `.. for &T` (elided lifetime in the impl header), bodies `(**self).get(key).await`; used
/// with `T = Box<dyn Store>` and through `&dyn Store` whose concrete type is
/// `&Arc<Box<dyn Store>>`.
mod forwarding_impls {
    use super::*;
    macro_rules! shape {
        ($attr:meta) => {
            #[allow(unused_imports)]
            use super::*;
            use std::sync::Arc;

            #[$attr]
            pub trait Store: Send + Sync {
                async fn get(&self, key: &str) -> Option<u32>;
                async fn get_or(&self, key: &str, fallback: u32) -> u32 {
                    self.get(key).await.unwrap_or(fallback)
                }
            }

            #[$attr]
            impl<T: Store + ?Sized> Store for Box<T> {
                async fn get(&self, key: &str) -> Option<u32> {
                    (**self).get(key).await
                }
            }

            #[$attr]
            impl<T: Store + ?Sized> Store for Arc<T> {
                async fn get(&self, key: &str) -> Option<u32> {
                    (**self).get(key).await
                }
                async fn get_or(&self, key: &str, fallback: u32) -> u32 {
                    (**self).get_or(key, fallback).await + 100
                }
            }

            #[$attr]
            impl<T: Store + ?Sized> Store for &T {
                async fn get(&self, key: &str) -> Option<u32> {
                    (**self).get(key).await
                }
            }

            pub struct Map;

            #[$attr]
            impl Store for Map {
                async fn get(&self, key: &str) -> Option<u32> {
                    yield_once().await;
                    (key == "a").then_some(1)
                }
            }

            pub fn run() -> Vec<u32> {
                let inner: Box<dyn Store> = Box::new(Map);
                let outer: Arc<Box<dyn Store>> = Arc::new(inner);
                let by_ref: &Arc<Box<dyn Store>> = &outer;
                let as_dyn: &dyn Store = &by_ref;
                vec![
                    block_on(outer.get_or("a", 0)),
                    block_on(by_ref.get_or("b", 5)),
                    block_on(as_dyn.get_or("a", 9)),
                    block_on(as_dyn.get("zzz")).unwrap_or(99),
                    block_on(Box::new(Map).get_or("q", 3)),
                ]
            }
        };
    }

    under_both_attributes!();

    #[test]
    fn forwarding_impls_agree() {
        let a = with_async_trait::run();
        assert_eq!(a, with_value_task::run());
        assert_eq!(a, [101, 105, 1, 99, 3]);
    }
}

/// argument patterns and attributes: `(a, mut b)`, `mut scale`, struct pattern with a
/// renamed `mut` field, tuple-struct pattern (on the synchronous path), `_`, `[first, .., last]`,
/// `ref name`, `&n: &u8`, `whole @ (p, q)`, `#[cfg(any())]` / `#[cfg(all())]` on arguments
/// (one of them a pattern), `#[allow(unused_mut)]` on an argument, and patterns in a default
/// body's signature; plus a value_task free function compared with a native `async fn`.
mod argument_patterns {
    use super::*;
    #[derive(Clone, Copy, Debug, PartialEq)]
    pub struct Point {
        pub x: i32,
        pub y: i32,
    }

    pub struct Meters(pub f64);

    macro_rules! shape {
        ($attr:meta) => {
            #[allow(unused_imports)]
            use super::*;

            #[$attr]
            pub trait Patterns: Send + Sync {
                async fn tuple(&self, pair: (u8, u8), scale: u8) -> u32;
                async fn point(&self, p: Point) -> i32;
                async fn meters(&self, m: Meters) -> f64;
                async fn ignored(&self, _: String, keep: u8) -> u8;
                async fn ends(&self, a: [u8; 4]) -> u8;
                async fn by_ref(&self, name: String) -> usize;
                async fn deref(&self, n: &u8) -> u8;
                async fn at(&self, pair: (u8, u8)) -> (u8, u8, u8);
                async fn cfgd(&self, #[cfg(any())] gone: u8, #[cfg(all())] pair: (u8, u8)) -> u8;
                async fn allowed(&self, x: u8) -> u8;

                async fn defaulted(&self, (a, b): (u8, u8), mut extra: Vec<u8>) -> usize {
                    extra.push(a);
                    yield_once().await;
                    extra.push(b);
                    extra.len()
                }
            }

            pub struct P;

            #[$attr]
            impl Patterns for P {
                async fn tuple(&self, (a, mut b): (u8, u8), mut scale: u8) -> u32 {
                    b += 1;
                    scale *= 2;
                    yield_once().await;
                    (u32::from(a) + u32::from(b)) * u32::from(scale)
                }
                async fn point(&self, Point { x, y: mut why }: Point) -> i32 {
                    why -= 1;
                    yield_once().await;
                    x * why
                }
                // No `.await`: value_task's synchronous (closure) path.
                async fn meters(&self, Meters(m): Meters) -> f64 {
                    m * 2.0
                }
                async fn ignored(&self, _: String, keep: u8) -> u8 {
                    yield_once().await;
                    keep
                }
                async fn ends(&self, [first, .., last]: [u8; 4]) -> u8 {
                    yield_once().await;
                    first + last
                }
                async fn by_ref(&self, ref name: String) -> usize {
                    yield_once().await;
                    name.len()
                }
                async fn deref(&self, &n: &u8) -> u8 {
                    yield_once().await;
                    n + 1
                }
                async fn at(&self, whole @ (p, q): (u8, u8)) -> (u8, u8, u8) {
                    yield_once().await;
                    (whole.0 + whole.1, p, q)
                }
                async fn cfgd(&self, #[cfg(any())] gone: u8, #[cfg(all())] (a, b): (u8, u8)) -> u8 {
                    yield_once().await;
                    a * b
                }
                async fn allowed(&self, #[allow(unused_mut)] mut x: u8) -> u8 {
                    yield_once().await;
                    x
                }
            }

            pub fn run() -> (
                u32,
                i32,
                f64,
                u8,
                u8,
                usize,
                u8,
                (u8, u8, u8),
                u8,
                u8,
                usize,
            ) {
                let d: &dyn Patterns = &P;
                (
                    block_on(d.tuple((1, 2), 3)),
                    block_on(d.point(Point { x: 4, y: 6 })),
                    block_on(d.meters(Meters(1.5))),
                    block_on(d.ignored("dropped".to_string(), 9)),
                    block_on(d.ends([1, 2, 3, 4])),
                    block_on(d.by_ref("name".to_string())),
                    block_on(d.deref(&41)),
                    block_on(d.at((2, 3))),
                    block_on(d.cfgd((6, 7))),
                    block_on(d.allowed(8)),
                    block_on(d.defaulted((1, 2), vec![0])),
                )
            }
        };
    }

    under_both_attributes!();

    #[valuetask::value_task]
    async fn free_patterns((a, b): (u8, u8), Point { x, .. }: Point, _: String, mut n: i32) -> i32 {
        n += 1;
        yield_once().await;
        i32::from(a) + i32::from(b) + x + n
    }

    async fn free_patterns_native(
        (a, b): (u8, u8),
        Point { x, .. }: Point,
        _: String,
        mut n: i32,
    ) -> i32 {
        n += 1;
        yield_once().await;
        i32::from(a) + i32::from(b) + x + n
    }

    #[test]
    fn argument_patterns_agree() {
        let a = with_async_trait::run();
        assert_eq!(a, with_value_task::run());
        assert_eq!(a, (24, 20, 3.0, 9, 5, 4, 42, (5, 2, 3), 42, 8, 3));
    }

    #[test]
    fn free_function_patterns_match_native() {
        let p = Point { x: 10, y: 0 };
        assert_eq!(
            block_on(free_patterns((1, 2), p, String::new(), 4)),
            block_on(free_patterns_native((1, 2), p, String::new(), 4))
        );
    }
}

/// lifetimes in `where` clauses and higher-ranked bounds: `where 'b: 'a`,
/// `where T: Sync + 'a`, `where for<'x> &'x T: IntoIterator<Item = &'x u8>`,
/// `where F: for<'s> Fn(&'s str) -> &'s str + Send + Sync`, a const generic output
/// `[u8; N]` (synchronous path, turbofish call), and a trait-level lifetime with
/// `where 'de: 'a` on a method whose receiver carries an explicit lifetime.
mod where_clauses_and_hrtb {
    use super::*;
    macro_rules! shape {
        ($attr:meta) => {
            #[allow(unused_imports)]
            use super::*;

            #[$attr]
            pub trait Query: Send + Sync {
                async fn pick<'a, 'b>(&self, long: &'a str, short: &'b str) -> &'a str
                where
                    'b: 'a;

                async fn first_of<'a, T>(&self, items: &'a [T]) -> Option<&'a T>
                where
                    T: Sync + 'a,
                    Self: Sized;

                async fn total<T>(&self, items: T) -> u32
                where
                    T: Send,
                    for<'x> &'x T: IntoIterator<Item = &'x u8>,
                    Self: Sized;

                async fn apply<F>(&self, f: F, input: &str) -> usize
                where
                    F: for<'s> Fn(&'s str) -> &'s str + Send + Sync,
                    Self: Sized;

                async fn fill<const N: usize>(&self, byte: u8) -> [u8; N]
                where
                    Self: Sized;
            }

            #[$attr]
            pub trait Scoped<'de>: Send + Sync {
                async fn narrow<'a>(&'a self, text: &'de str) -> &'a str
                where
                    'de: 'a;
                async fn keep(&self, text: &'de str) -> &'de str;
            }

            pub struct Q;

            #[$attr]
            impl Query for Q {
                async fn pick<'a, 'b>(&self, long: &'a str, short: &'b str) -> &'a str
                where
                    'b: 'a,
                {
                    yield_once().await;
                    if short.len() > long.len() {
                        short
                    } else {
                        long
                    }
                }

                async fn first_of<'a, T>(&self, items: &'a [T]) -> Option<&'a T>
                where
                    T: Sync + 'a,
                {
                    yield_once().await;
                    items.first()
                }

                async fn total<T>(&self, items: T) -> u32
                where
                    T: Send,
                    for<'x> &'x T: IntoIterator<Item = &'x u8>,
                {
                    let sum: u32 = (&items).into_iter().map(|b| u32::from(*b)).sum();
                    yield_once().await;
                    sum
                }

                async fn apply<F>(&self, f: F, input: &str) -> usize
                where
                    F: for<'s> Fn(&'s str) -> &'s str + Send + Sync,
                {
                    yield_once().await;
                    f(input).len()
                }

                async fn fill<const N: usize>(&self, byte: u8) -> [u8; N] {
                    [byte; N]
                }
            }

            pub struct S(pub String);

            #[$attr]
            impl<'de> Scoped<'de> for S {
                async fn narrow<'a>(&'a self, text: &'de str) -> &'a str
                where
                    'de: 'a,
                {
                    yield_once().await;
                    if text.len() < self.0.len() {
                        text
                    } else {
                        &self.0
                    }
                }

                async fn keep(&self, text: &'de str) -> &'de str {
                    yield_once().await;
                    text.trim()
                }
            }

            pub fn run() -> (String, Option<u8>, u32, usize, [u8; 3], String, String) {
                let q: &dyn Query = &Q;
                let long = String::from("longer");
                let picked = block_on(q.pick(&long, "s")).to_owned();
                let items = [7u8, 8];
                let first = block_on(Q.first_of(&items)).copied();
                let total = block_on(Q.total(vec![1u8, 2, 3]));
                let applied = block_on(Q.apply(|s| s.trim(), "  abc  "));
                let filled = block_on(Q.fill::<3>(9));
                let s = S("abcdef".to_string());
                let text = String::from(" xy ");
                let d: &dyn Scoped<'_> = &s;
                let narrowed = block_on(d.narrow(&text)).to_owned();
                let kept = block_on(d.keep(&text)).to_owned();
                (picked, first, total, applied, filled, narrowed, kept)
            }
        };
    }

    under_both_attributes!();

    #[test]
    fn where_clauses_and_higher_ranked_bounds_agree() {
        let a = with_async_trait::run();
        assert_eq!(a, with_value_task::run());
        assert_eq!(
            a,
            (
                "longer".to_string(),
                Some(7),
                6,
                3,
                [9, 9, 9],
                " xy ".to_string(),
                "xy".to_string()
            )
        );
    }
}

/// `impl Trait` in argument position nested in other types: `Vec<impl Into<u64> + Send>`,
/// `Option<&(impl Display + Sync)>`, `&[impl AsRef<str> + Sync]`,
/// `impl Iterator<Item = impl Display + Send> + Send`, `(impl Display + Send, u8)`,
/// `impl FnOnce() -> u8 + Send`, `impl for<'a> Fn(&'a str) -> &'a str + Send + Sync` next to an
/// elided `&str`, `&mut (impl Extend<u8> + Send)`, and an `impl Debug` argument in a default body.
mod impl_trait_args_nested {
    use super::*;
    macro_rules! shape {
        ($attr:meta) => {
            #[allow(unused_imports)]
            use super::*;
            use std::fmt::{Debug, Display};

            #[$attr]
            pub trait Render: Send + Sync {
                async fn sum_all(&self, items: Vec<impl Into<u64> + Send>) -> u64
                where
                    Self: Sized;
                async fn maybe(&self, value: Option<&(impl Display + Sync)>) -> String
                where
                    Self: Sized;
                async fn join(&self, parts: &[impl AsRef<str> + Sync]) -> String
                where
                    Self: Sized;
                async fn nested(
                    &self,
                    it: impl Iterator<Item = impl Display + Send> + Send,
                ) -> Vec<String>
                where
                    Self: Sized;
                async fn pair(&self, p: (impl Display + Send, u8)) -> String
                where
                    Self: Sized;
                async fn call_once(&self, f: impl FnOnce() -> u8 + Send) -> u8
                where
                    Self: Sized;
                async fn hr(
                    &self,
                    f: impl for<'a> Fn(&'a str) -> &'a str + Send + Sync,
                    s: &str,
                ) -> String
                where
                    Self: Sized;
                async fn sink(&self, out: &mut (impl Extend<u8> + Send)) -> usize
                where
                    Self: Sized;
                async fn defaulted(&self, v: impl Debug + Send) -> String
                where
                    Self: Sized,
                {
                    yield_once().await;
                    format!("{v:?}")
                }
            }

            pub struct R;

            #[$attr]
            impl Render for R {
                async fn sum_all(&self, items: Vec<impl Into<u64> + Send>) -> u64 {
                    yield_once().await;
                    items.into_iter().map(Into::<u64>::into).sum()
                }
                async fn maybe(&self, value: Option<&(impl Display + Sync)>) -> String {
                    yield_once().await;
                    value.map_or_else(|| "none".to_string(), |v| v.to_string())
                }
                async fn join(&self, parts: &[impl AsRef<str> + Sync]) -> String {
                    yield_once().await;
                    parts
                        .iter()
                        .map(|p| p.as_ref())
                        .collect::<Vec<&str>>()
                        .join(",")
                }
                async fn nested(
                    &self,
                    it: impl Iterator<Item = impl Display + Send> + Send,
                ) -> Vec<String> {
                    yield_once().await;
                    it.map(|x| x.to_string()).collect()
                }
                async fn pair(&self, p: (impl Display + Send, u8)) -> String {
                    yield_once().await;
                    format!("{}-{}", p.0, p.1)
                }
                async fn call_once(&self, f: impl FnOnce() -> u8 + Send) -> u8 {
                    yield_once().await;
                    f()
                }
                async fn hr(
                    &self,
                    f: impl for<'a> Fn(&'a str) -> &'a str + Send + Sync,
                    s: &str,
                ) -> String {
                    yield_once().await;
                    f(s).to_uppercase()
                }
                async fn sink(&self, out: &mut (impl Extend<u8> + Send)) -> usize {
                    out.extend([1u8, 2, 3]);
                    yield_once().await;
                    3
                }
            }

            pub fn run() -> Vec<String> {
                let owned = String::from("b");
                let one = owned.len() as u8;
                let mut out: Vec<u8> = Vec::new();
                let sunk = block_on(R.sink(&mut out));
                let results = vec![
                    block_on(R.sum_all(vec![1u8, 2, 3])).to_string(),
                    block_on(R.maybe(Some(&5))),
                    block_on(R.maybe(None::<&u8>)),
                    block_on(R.join(&["a", owned.as_str()])),
                    block_on(R.nested([1, 2].into_iter())).join("+"),
                    block_on(R.pair((7, 1))),
                    block_on(R.call_once(move || one)).to_string(),
                    block_on(R.hr(|s| s.trim(), "  hi ")),
                    format!("{sunk}:{out:?}"),
                    block_on(R.defaulted(vec![1])),
                ];
                results
            }
        };
    }

    under_both_attributes!();

    #[test]
    fn nested_impl_trait_arguments_agree() {
        let a = with_async_trait::run();
        assert_eq!(a, with_value_task::run());
        assert_eq!(
            a,
            [
                "6",
                "5",
                "none",
                "a,b",
                "1+2",
                "7-1",
                "1",
                "HI",
                "3:[1, 2, 3]",
                "[1]"
            ]
        );
    }
}

/// associated items in signatures: a generic associated type in the output
/// (`Option<Self::Row<'a>>`, `type Row<'a>: Send + Debug where Self: 'a`), a qualified
/// projection argument (`<Self as Repo>::Id`), an associated error type converted by `?` into
/// `Box<dyn Error + Send + Sync>` in a default body, an associated const used in a default
/// body, and a default body looping over awaited GAT values. Static dispatch (GATs and
/// consts make the trait non-dyn-compatible in Rust itself).
mod gat_and_associated_items {
    use super::*;
    macro_rules! shape {
        ($attr:meta) => {
            #[allow(unused_imports)]
            use super::*;

            #[$attr]
            pub trait Repo: Send + Sync {
                type Id: Copy + Send + Sync + std::fmt::Debug;
                type Row<'a>: Send + std::fmt::Debug
                where
                    Self: 'a;
                type Err: std::error::Error + Send + Sync + 'static;
                const PREFIX: &'static str;

                async fn row<'a>(&'a self, id: Self::Id) -> Option<Self::Row<'a>>;
                async fn raw(&self, id: <Self as Repo>::Id) -> Result<u32, Self::Err>;
                async fn ids(&self) -> Vec<Self::Id>;

                async fn label(
                    &self,
                    id: Self::Id,
                ) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
                    let n = self.raw(id).await?;
                    yield_once().await;
                    Ok(format!("{}{:?}={}", Self::PREFIX, id, n))
                }

                async fn all_rows(&self) -> Vec<String> {
                    let mut out = Vec::new();
                    for id in self.ids().await {
                        if let Some(row) = self.row(id).await {
                            out.push(format!("{row:?}"));
                        }
                    }
                    out
                }
            }

            pub struct Table(pub Vec<String>);

            #[$attr]
            impl Repo for Table {
                type Id = usize;
                type Row<'a> = &'a str;
                type Err = std::num::ParseIntError;
                const PREFIX: &'static str = "row";

                async fn row<'a>(&'a self, id: usize) -> Option<&'a str> {
                    yield_once().await;
                    self.0.get(id).map(String::as_str)
                }
                async fn raw(&self, id: usize) -> Result<u32, std::num::ParseIntError> {
                    yield_once().await;
                    self.0[id].parse()
                }
                async fn ids(&self) -> Vec<usize> {
                    (0..self.0.len()).collect()
                }
            }

            pub fn run() -> (String, bool, Vec<String>, Option<String>) {
                let t = Table(vec!["10".into(), "20".into(), "x".into()]);
                (
                    block_on(t.label(1)).unwrap(),
                    block_on(t.label(2)).is_err(),
                    block_on(t.all_rows()),
                    block_on(t.row(0)).map(str::to_owned),
                )
            }
        };
    }

    under_both_attributes!();

    #[test]
    fn associated_items_and_gats_agree() {
        let a = with_async_trait::run();
        assert_eq!(a, with_value_task::run());
        assert_eq!(a.0, "row1=20");
        assert_eq!(a.2, ["\"10\"", "\"20\"", "\"x\""]);
    }
}

/// `dyn Trait` with a supertrait that is itself a `#[value_task]` trait: the subtrait
/// has no direct `Send`/`Sync` bounds (they come through the supertrait), its default bodies
/// call the supertrait's async method and each other (`&self` and `self: Box<Self>`), used
/// through `&dyn`, `Box<dyn>`, a generic `N: Named + ?Sized`, and `Arc<dyn Named>` moved into
/// `tokio::spawn`.
mod dyn_supertraits_defaults {
    use super::*;
    macro_rules! shape {
        ($attr:meta) => {
            #[allow(unused_imports)]
            use super::*;
            use std::sync::Arc;

            #[$attr]
            pub trait Identified: Send + Sync {
                async fn id(&self) -> u32;
            }

            #[$attr]
            pub trait Named: Identified {
                async fn name(&self) -> String;

                async fn label(&self) -> String {
                    let name = self.name().await;
                    let id = self.id().await;
                    format!("{name}#{id}")
                }

                async fn label_boxed(self: Box<Self>) -> String {
                    yield_once().await;
                    self.label().await
                }
            }

            pub struct User(pub u32);

            #[$attr]
            impl Identified for User {
                async fn id(&self) -> u32 {
                    yield_once().await;
                    self.0
                }
            }

            #[$attr]
            impl Named for User {
                async fn name(&self) -> String {
                    "ada".to_string()
                }
            }

            pub async fn describe<N: Named + ?Sized>(n: &N) -> String {
                n.label().await
            }

            pub async fn run() -> Vec<String> {
                let user = User(7);
                let by_ref: &dyn Named = &user;
                let boxed: Box<dyn Named> = Box::new(User(8));
                let shared: Arc<dyn Named> = Arc::new(User(9));
                let spawned = tokio::spawn(async move { shared.label().await })
                    .await
                    .unwrap();
                let results = vec![
                    by_ref.label().await,
                    by_ref.id().await.to_string(),
                    describe(by_ref).await,
                    describe(&user).await,
                    boxed.label_boxed().await,
                    spawned,
                ];
                results
            }
        };
    }

    under_both_attributes!();

    #[tokio::test]
    async fn supertraits_through_dyn_agree() {
        let a = with_async_trait::run().await;
        assert_eq!(a, with_value_task::run().await);
        assert_eq!(a, ["ada#7", "7", "ada#7", "ada#7", "ada#8", "ada#9"]);
    }
}

/// macros and `return` forms in bodies, on both of value_task's paths (with and
/// without `.await`): `matches!` + early `return` (synchronous), `vec!`/`format!`/`write!`/
/// `assert!(.., "{}", format!(..))` across suspensions, a local `bail!` macro expanding to
/// `return Err(msg.into())` (unknown macro: forces the async path), `Err(e)?`,
/// `.ok_or("..")?` into `Box<dyn Error + Send + Sync>`, `let .. else { return None }`,
/// labeled block `break 'l value`, `loop { break v }`, `?` on `Option`, a closure with its own
/// `return`, `return;` in a unit method, `return` inside a nested `async` block, and early
/// `return Err(format!(..))` on the synchronous path.
mod body_macros_and_returns {
    use super::*;
    use std::sync::Mutex;

    macro_rules! bail {
        ($msg:expr) => {
            return Err($msg.into())
        };
    }

    macro_rules! shape {
        ($attr:meta) => {
            #[allow(unused_imports)]
            use super::*;

            type BoxError = Box<dyn std::error::Error + Send + Sync>;

            #[$attr]
            pub trait Calc: Send + Sync {
                async fn classify(&self, c: char) -> &'static str;
                async fn render(&self, xs: &[u32]) -> String;
                async fn parse_sum(&self, text: &str) -> Result<u32, BoxError>;
                async fn parse_sum_sync(&self, text: &str) -> Result<u32, BoxError>;
                async fn first_even(&self, xs: Vec<u32>) -> Option<u32>;
                async fn push_unless_zero(&self, log: &Mutex<Vec<u32>>, n: u32);
                async fn checked_sub(&self, a: u32, b: u32) -> Result<u32, String>;
                async fn nested_return(&self, early: bool) -> u32;
            }

            pub struct C;

            #[$attr]
            impl Calc for C {
                async fn classify(&self, c: char) -> &'static str {
                    if matches!(c, 'a'..='z' | 'A'..='Z') {
                        return "letter";
                    }
                    match c {
                        '0'..='9' => "digit",
                        _ => "other",
                    }
                }

                async fn render(&self, xs: &[u32]) -> String {
                    use std::fmt::Write as _;
                    let doubled = vec![xs.len(); 2];
                    let mut out = format!("{}:", doubled[0] + doubled[1]);
                    for x in xs {
                        yield_once().await;
                        write!(out, "{x},").unwrap();
                    }
                    assert!(!out.is_empty(), "{}", format!("empty render"));
                    out
                }

                async fn parse_sum(&self, text: &str) -> Result<u32, BoxError> {
                    if text.is_empty() {
                        bail!("empty input");
                    }
                    let mut sum = 0u32;
                    for part in text.split(',') {
                        yield_once().await;
                        if part == "stop" {
                            return Ok(sum);
                        }
                        let v: u32 = match part.trim().parse::<u32>() {
                            Ok(v) => v,
                            Err(e) => Err(e)?,
                        };
                        sum = sum.checked_add(v).ok_or("overflow")?;
                    }
                    Ok(sum)
                }

                async fn parse_sum_sync(&self, text: &str) -> Result<u32, BoxError> {
                    if text.is_empty() {
                        return Err("empty input".into());
                    }
                    let mut sum = 0u32;
                    for part in text.split(',') {
                        if part == "stop" {
                            return Ok(sum);
                        }
                        sum = sum.checked_add(part.trim().parse::<u32>()?).ok_or("overflow")?;
                    }
                    Ok(sum)
                }

                async fn first_even(&self, xs: Vec<u32>) -> Option<u32> {
                    let Some(&first) = xs.first() else {
                        return None;
                    };
                    let found = 'search: {
                        for &x in &xs {
                            if x % 2 == 0 {
                                break 'search Some(x);
                            }
                        }
                        None
                    };
                    yield_once().await;
                    let tries = loop {
                        break xs.len();
                    };
                    let clamp = |v: u32| -> u32 {
                        if v > 100 {
                            return 100;
                        }
                        v
                    };
                    Some(clamp(found? + first + tries as u32))
                }

                async fn push_unless_zero(&self, log: &Mutex<Vec<u32>>, n: u32) {
                    if n == 0 {
                        return;
                    }
                    yield_once().await;
                    log.lock().unwrap().push(n);
                }

                async fn checked_sub(&self, a: u32, b: u32) -> Result<u32, String> {
                    if b > a {
                        return Err(format!("{b} > {a}"));
                    }
                    if b == 0 {
                        return Ok(a);
                    }
                    Ok(a - b)
                }

                async fn nested_return(&self, early: bool) -> u32 {
                    let inner = async move {
                        if early {
                            return 5u32;
                        }
                        yield_once().await;
                        1
                    };
                    inner.await + 10
                }
            }

            pub fn run() -> Vec<String> {
                let d: &dyn Calc = &C;
                let log = Mutex::new(Vec::new());
                block_on(d.push_unless_zero(&log, 0));
                block_on(d.push_unless_zero(&log, 4));
                let show = |r: Result<u32, BoxError>| match r {
                    Ok(v) => format!("ok {v}"),
                    Err(e) => format!("err {e}"),
                };
                let logged = format!("{:?}", log.lock().unwrap());
                let out = vec![
                    block_on(d.classify('q')).to_string(),
                    block_on(d.classify('7')).to_string(),
                    block_on(d.classify('?')).to_string(),
                    block_on(d.render(&[1, 2])),
                    show(block_on(d.parse_sum(""))),
                    show(block_on(d.parse_sum("1, 2,stop,x"))),
                    show(block_on(d.parse_sum("1,x"))),
                    show(block_on(d.parse_sum("4294967295,1"))),
                    show(block_on(d.parse_sum_sync(""))),
                    show(block_on(d.parse_sum_sync("3,4"))),
                    show(block_on(d.parse_sum_sync("3,y"))),
                    format!("{:?}", block_on(d.first_even(vec![3, 8, 5]))),
                    format!("{:?}", block_on(d.first_even(vec![3, 5]))),
                    format!("{:?}", block_on(d.first_even(vec![]))),
                    logged,
                    format!("{:?}", block_on(d.checked_sub(1, 2))),
                    format!("{:?}", block_on(d.checked_sub(5, 0))),
                    format!("{:?}", block_on(d.checked_sub(5, 3))),
                    block_on(d.nested_return(true)).to_string(),
                    block_on(d.nested_return(false)).to_string(),
                ];
                out
            }
        };
    }

    under_both_attributes!();

    #[test]
    fn macros_and_returns_agree() {
        let a = with_async_trait::run();
        let v = with_value_task::run();
        assert_eq!(a, v);
        assert_eq!(a[0..3], ["letter", "digit", "other"]);
        assert_eq!(a[4], "err empty input");
        assert_eq!(a[5], "ok 3");
        assert_eq!(a[7], "err overflow");
        assert_eq!(a[11], "Some(14)");
    }
}

/// closures capturing arguments and `self`, and outputs borrowed from non-self
/// arguments: a `move` closure capturing an argument created before a suspension, a closure
/// capturing `self` in a default body with a `mut` argument, a boxed `FnOnce` argument called
/// after a suspension, a closure mutably capturing a `&mut` argument (dead before the
/// suspension), outputs `Option<&'a str>` / `&'a str` tied to argument lifetimes (not self's),
/// closures annotated with the method's lifetime; plus free functions (value_task vs native
/// `async fn`) returning `Option<&'a str>` from the second argument and `Cow<'_, str>`.
mod closures_and_argument_borrows {
    use super::*;
    use std::borrow::Cow;

    macro_rules! shape {
        ($attr:meta) => {
            #[allow(unused_imports)]
            use super::*;

            #[$attr]
            pub trait Transform: Send + Sync {
                fn weight(&self, x: u32) -> u32;
                async fn scale(&self, items: Vec<u32>, factor: u32) -> Vec<u32>;
                async fn sorted(&self, mut items: Vec<u32>) -> Vec<u32> {
                    items.sort_by_key(|x| self.weight(*x));
                    yield_once().await;
                    items
                }
                async fn later(&self, f: Box<dyn FnOnce(u32) -> u32 + Send>, x: u32) -> u32;
                async fn collect_into(&self, out: &mut Vec<u32>, n: u32) -> usize;
                async fn find<'a>(&self, names: &'a [String], prefix: &str) -> Option<&'a str>;
                async fn longest<'a>(&self, a: &'a str, b: &'a str) -> &'a str;
            }

            pub struct T1;

            #[$attr]
            impl Transform for T1 {
                fn weight(&self, x: u32) -> u32 {
                    x % 10
                }
                async fn scale(&self, items: Vec<u32>, factor: u32) -> Vec<u32> {
                    let f = move |x: u32| x * factor;
                    yield_once().await;
                    items.into_iter().map(f).collect()
                }
                async fn later(&self, f: Box<dyn FnOnce(u32) -> u32 + Send>, x: u32) -> u32 {
                    yield_once().await;
                    f(x)
                }
                async fn collect_into(&self, out: &mut Vec<u32>, n: u32) -> usize {
                    {
                        let mut push = |v: u32| out.push(v * self.weight(v));
                        for i in 0..n {
                            push(i);
                        }
                    }
                    yield_once().await;
                    out.len()
                }
                async fn find<'a>(&self, names: &'a [String], prefix: &str) -> Option<&'a str> {
                    let hit = names
                        .iter()
                        .find(|n| n.starts_with(prefix))
                        .map(String::as_str);
                    yield_once().await;
                    hit
                }
                async fn longest<'a>(&self, a: &'a str, b: &'a str) -> &'a str {
                    let pick = |x: &'a str, y: &'a str| if y.len() > x.len() { y } else { x };
                    yield_once().await;
                    pick(a, b)
                }
            }

            pub fn run() -> (Vec<u32>, Vec<u32>, u32, Vec<u32>, Option<String>, String) {
                let d: &dyn Transform = &T1;
                let scaled = block_on(d.scale(vec![1, 2, 3], 3));
                let sorted = block_on(d.sorted(vec![19, 21, 5]));
                let offset = 100u32;
                let later = block_on(d.later(Box::new(move |x: u32| x + offset), 1));
                let mut out = vec![7];
                let _ = block_on(d.collect_into(&mut out, 3));
                let names = vec!["alpha".to_string(), "beta".to_string()];
                let found = {
                    let prefix = String::from("be");
                    block_on(d.find(&names, &prefix)).map(str::to_owned)
                };
                let longest = block_on(d.longest("ab", "abc")).to_string();
                (scaled, sorted, later, out, found, longest)
            }
        };
    }

    under_both_attributes!();

    #[valuetask::value_task]
    async fn second_word<'a>(sep: char, text: &'a str) -> Option<&'a str> {
        yield_once().await;
        text.split(sep).nth(1)
    }

    async fn second_word_native<'a>(sep: char, text: &'a str) -> Option<&'a str> {
        yield_once().await;
        text.split(sep).nth(1)
    }

    #[valuetask::value_task]
    async fn normalize(input: Cow<'_, str>) -> Cow<'_, str> {
        yield_once().await;
        if input.contains(' ') {
            Cow::Owned(input.replace(' ', "_"))
        } else {
            input
        }
    }

    async fn normalize_native(input: Cow<'_, str>) -> Cow<'_, str> {
        yield_once().await;
        if input.contains(' ') {
            Cow::Owned(input.replace(' ', "_"))
        } else {
            input
        }
    }

    #[test]
    fn closures_and_argument_borrows_agree() {
        let a = with_async_trait::run();
        assert_eq!(a, with_value_task::run());
        assert_eq!(a.3, [7, 0, 1, 4]);
        assert_eq!(a.4.as_deref(), Some("beta"));
    }

    #[test]
    fn free_functions_borrowing_from_arguments_match_native() {
        let text = String::from("a b c");
        assert_eq!(
            block_on(second_word(' ', &text)),
            block_on(second_word_native(' ', &text))
        );
        let borrowed = String::from("x y");
        assert_eq!(
            block_on(normalize(Cow::Borrowed(&borrowed))),
            block_on(normalize_native(Cow::Borrowed(&borrowed)))
        );
    }
}

/// `Self` in argument types: `other: &Self` and `other: Self` (with
/// `where Self: Sized`), a receiver-less default `largest(items: Vec<Self>) -> Option<Self>`,
/// `other: &dyn Shape` (the trait's own object type) in a dyn-callable default,
/// `self: Box<Self>` with `Option<Box<Self>>`, all implemented by a generic `Rect<T>`
/// (so `Self` carries a type parameter the arguments never name).
mod self_in_argument_types {
    use super::*;
    macro_rules! shape {
        ($attr:meta) => {
            #[allow(unused_imports)]
            use super::*;
            use std::cmp::Ordering;

            #[$attr]
            pub trait Shape: Send + Sync {
                fn area(&self) -> u32;

                async fn same_area(&self, other: &Self) -> bool
                where
                    Self: Sized,
                {
                    yield_once().await;
                    self.area() == other.area()
                }

                async fn merge(&self, other: Self) -> Self
                where
                    Self: Sized;

                async fn largest(items: Vec<Self>) -> Option<Self>
                where
                    Self: Sized,
                {
                    yield_once().await;
                    items.into_iter().max_by_key(|s| s.area())
                }

                async fn versus(&self, other: &dyn Shape) -> Ordering {
                    yield_once().await;
                    self.area().cmp(&other.area())
                }

                async fn absorb(self: Box<Self>, other: Option<Box<Self>>) -> u32
                where
                    Self: Sized;
            }

            #[derive(Clone, Copy, Debug, PartialEq)]
            pub struct Rect<T>(pub T, pub T);

            #[$attr]
            impl<T: Copy + Into<u32> + Send + Sync> Shape for Rect<T> {
                fn area(&self) -> u32 {
                    let (w, h): (u32, u32) = (self.0.into(), self.1.into());
                    w * h
                }

                async fn merge(&self, other: Self) -> Self {
                    yield_once().await;
                    Rect(self.0, other.1)
                }

                async fn absorb(self: Box<Self>, other: Option<Box<Self>>) -> u32 {
                    yield_once().await;
                    self.area() + other.map_or(0, |o| o.area())
                }
            }

            pub fn run() -> (bool, Rect<u8>, Option<Rect<u8>>, Ordering, u32) {
                let a = Rect(2u8, 3u8);
                let b = Rect(3u8, 2u8);
                let as_dyn: &dyn Shape = &a;
                (
                    block_on(a.same_area(&b)),
                    block_on(a.merge(Rect(9, 9))),
                    block_on(<Rect<u8> as Shape>::largest(vec![a, Rect(4, 4), b])),
                    block_on(as_dyn.versus(&Rect(1u16, 1u16))),
                    block_on(Box::new(a).absorb(Some(Box::new(b)))),
                )
            }
        };
    }

    under_both_attributes!();

    #[test]
    fn self_in_arguments_agrees() {
        let a = with_async_trait::run();
        let v = with_value_task::run();
        assert_eq!(format!("{a:?}"), format!("{v:?}"));
        assert_eq!(
            format!("{a:?}"),
            "(true, Rect(2, 9), Some(Rect(4, 4)), Greater, 12)"
        );
    }
}

/// futures larger than the pool's biggest class (4 KiB): bodies holding a 6000-byte
/// buffer across a suspension, through `dyn`, in a default body that awaits another large
/// call, under `?Send` (`LocalValueTask`, boxed-then-pooled path), repeated so blocks are
/// reused, and moved across threads in `tokio::spawn` on a multi-thread runtime.
mod large_futures {
    use super::*;
    macro_rules! shape {
        ($attr:meta, $local:meta) => {
            #[allow(unused_imports)]
            use super::*;
            use std::cell::Cell;
            use std::rc::Rc;
            use std::sync::Arc;

            #[$attr]
            pub trait Heavy: Send + Sync {
                async fn crunch(&self, seed: u8) -> u32;

                async fn crunch_twice(&self, seed: u8) -> u32 {
                    let a = self.crunch(seed).await;
                    let buf = [seed; 5000];
                    yield_once().await;
                    a + buf.iter().map(|b| u32::from(*b)).sum::<u32>()
                }
            }

            #[$local]
            pub trait LocalHeavy {
                async fn crunch_local(&self, seed: u8) -> u32;
            }

            pub struct H;

            #[$attr]
            impl Heavy for H {
                async fn crunch(&self, seed: u8) -> u32 {
                    let buf = [seed; 6000];
                    yield_once().await;
                    buf.iter().map(|b| u32::from(*b)).sum()
                }
            }

            pub struct L(pub Rc<Cell<u32>>);

            #[$local]
            impl LocalHeavy for L {
                async fn crunch_local(&self, seed: u8) -> u32 {
                    let buf = [seed; 6000];
                    let rc = Rc::clone(&self.0);
                    yield_once().await;
                    rc.set(rc.get() + 1);
                    buf.iter().map(|b| u32::from(*b)).sum::<u32>() + rc.get()
                }
            }

            pub fn run() -> Vec<u32> {
                let h: &dyn Heavy = &H;
                let l: &dyn LocalHeavy = &L(Rc::new(Cell::new(0)));
                let mut out = Vec::new();
                for seed in 0..20u8 {
                    out.push(block_on(h.crunch(seed)));
                    out.push(block_on(h.crunch_twice(seed)));
                    out.push(block_on(l.crunch_local(seed)));
                }
                out
            }

            pub async fn spawned() -> u32 {
                let h: Arc<dyn Heavy> = Arc::new(H);
                let pending = {
                    let h = Arc::clone(&h);
                    tokio::spawn(async move { h.crunch_twice(2).await })
                };
                pending.await.unwrap()
            }
        };
    }

    mod with_async_trait {
        shape!(async_trait::async_trait, async_trait::async_trait(?Send));
    }

    mod with_value_task {
        shape!(valuetask::value_task, valuetask::value_task(?Send));
    }

    #[test]
    fn large_futures_agree() {
        let a = with_async_trait::run();
        assert_eq!(a, with_value_task::run());
        assert_eq!(a[3..6], [6000, 11000, 6002]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn large_futures_cross_threads() {
        assert_eq!(with_async_trait::spawned().await, 22000);
        assert_eq!(with_value_task::spawned().await, 22000);
    }
}
