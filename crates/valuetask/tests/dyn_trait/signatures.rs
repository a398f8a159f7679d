//! Signatures whose expansion must take care: a `where` clause as rustfmt writes it (a
//! trailing comma) beside predicates the expansion adds, a `Send` future whose output names
//! the trait's own lifetime, `Self: Sized` methods returning `impl Trait` with no body, an
//! `impl Trait` argument of a `Send` future, futures bounded by a lifetime (`'static`, a
//! method's, `'_`), an owning receiver in a trait with a lifetime, and outputs holding function
//! types.

// The trait shapes as written: `impl Future` returns, function types in outputs.
#![allow(clippy::manual_async_fn, clippy::type_complexity)]

use std::fmt::Display;
use std::future::Future;

use super::common::{drive, yield_once};
use valuetask::dyn_trait;

/// A multi-line `where` clause ends with a comma; a bounded associated type and a `Send`
/// future add predicates after it.
mod trailing_comma_in_where {
    use super::*;

    #[dyn_trait(DynRepo = dyn Repo)]
    trait Repo<K>
    where
        K: Eq + Send + 'static,
    {
        type Error: std::fmt::Debug;
        async fn get(&self, key: K) -> Result<u8, Self::Error>;
        fn put(&self, key: K) -> impl Future<Output = bool> + Send;
    }

    struct One;

    impl Repo<u8> for One {
        type Error = ();
        async fn get(&self, key: u8) -> Result<u8, ()> {
            yield_once().await;
            if key == 1 {
                Ok(1)
            } else {
                Err(())
            }
        }
        fn put(&self, key: u8) -> impl Future<Output = bool> + Send {
            async move { key == 1 }
        }
    }

    #[test]
    fn the_dyn_form_calls_through() {
        let repo = DynRepo::new_box(One);
        assert_eq!(drive(repo.get(1)), Ok(1));
        assert_eq!(drive(repo.get(2)), Err(()));
        assert!(drive(repo.put(1)));
    }

    /// `K: 'static` bounds the key, not the form: a form borrowing a local compiles.
    #[test]
    fn a_bound_on_a_parameter_leaves_the_forms_lifetime_free() {
        fn borrowed<'a>(one: &'a One) -> &'a DynRepo<'a, u8, ()> {
            DynRepo::from_ref(one)
        }
        let one = One;
        assert_eq!(drive(borrowed(&one).get(1)), Ok(1));
    }
}

/// A `Send` future whose output borrows for the trait's lifetime `'k`.
mod send_output_naming_the_traits_lifetime {
    use super::*;

    #[dyn_trait(DynNames = dyn Names)]
    trait Names<'k> {
        fn find(&self, id: u32) -> impl Future<Output = Option<&'k str>> + Send;
        async fn first(&self) -> &'k str;
    }

    struct List<'k>(Vec<&'k str>);

    impl<'k> Names<'k> for List<'k> {
        fn find(&self, id: u32) -> impl Future<Output = Option<&'k str>> + Send {
            let found = self.0.get(id as usize).copied();
            async move { found }
        }
        async fn first(&self) -> &'k str {
            self.0[0]
        }
    }

    #[test]
    fn the_dyn_form_returns_the_borrow() {
        let words = ["a".to_string(), "b".to_string()];
        let list = List(words.iter().map(String::as_str).collect());
        let names = DynNames::from_ref(&list);
        assert_eq!(drive(names.find(1)), Some("b"));
        assert_eq!(drive(names.find(2)), None);
        assert_eq!(drive(names.first()), "a");
    }
}

/// Methods outside the `dyn` form (`where Self: Sized`) returning `impl Trait`: a future
/// with no default body (the `dyn` form's impl gives one of that type), one whose bounds `()`
/// meets with none (`unreachable!()` stands for it), another with one.
mod sized_methods_returning_impl_trait {
    use super::*;

    #[dyn_trait(DynSource = dyn Source)]
    trait Source {
        async fn get(&self) -> u8;
        fn later(&self) -> impl Future<Output = u8>
        where
            Self: Sized;
        fn all(&self) -> impl Iterator<Item = u8>
        where
            Self: Sized,
        {
            [3].into_iter()
        }
        fn snapshot(&self) -> impl std::fmt::Debug
        where
            Self: Sized;
        // Rust 1.87 lets the form's impl leave this out; before, it needs a default body.
        #[cfg(not(valuetask_msrv))]
        fn keys(&self) -> impl Iterator<Item = u8>
        where
            Self: Sized;
    }

    struct Three;

    impl Source for Three {
        async fn get(&self) -> u8 {
            3
        }
        fn later(&self) -> impl Future<Output = u8> {
            async { 3 }
        }
        fn snapshot(&self) -> impl std::fmt::Debug {
            "three"
        }
        #[cfg(not(valuetask_msrv))]
        fn keys(&self) -> impl Iterator<Item = u8> {
            [1, 2].into_iter()
        }
    }

    #[test]
    fn the_dyn_form_has_the_others() {
        let source = DynSource::new_box(Three);
        assert_eq!(drive(source.get()), 3);
        assert_eq!(drive(Three.later()), 3);
        assert_eq!(Three.all().sum::<u8>(), 3);
        assert_eq!(format!("{:?}", Three.snapshot()), "\"three\"");
        #[cfg(not(valuetask_msrv))]
        assert_eq!(Three.keys().sum::<u8>(), 3);
    }
}

/// `impl Trait` arguments of a method whose future is `Send` (dynosaur boxes the argument;
/// so does the `dyn` form): one `Send`, one not, which the trait's `Send` future then cannot
/// hold (the box's `dyn Display` is such an argument: the trait's bound covers it).
mod impl_trait_argument_of_a_send_future {
    use super::*;

    #[dyn_trait(DynShow = dyn Show)]
    trait Show {
        fn show(&self, value: impl Display + Send) -> impl Future<Output = String> + Send;
        fn label(&self, value: impl Display) -> impl Future<Output = String> + Send;
    }

    struct Brackets;

    impl Show for Brackets {
        fn show(&self, value: impl Display + Send) -> impl Future<Output = String> + Send {
            async move {
                yield_once().await;
                format!("[{value}]")
            }
        }
        fn label(&self, value: impl Display) -> impl Future<Output = String> + Send {
            let text = format!("<{value}>");
            async move {
                yield_once().await;
                text
            }
        }
    }

    #[test]
    fn the_argument_reaches_the_body() {
        let show = DynShow::new_box(Brackets);
        assert_eq!(drive(show.show(5)), "[5]");
        assert_eq!(drive(show.label(std::rc::Rc::new(6))), "<6>");
    }
}

/// A `'static` future (a spawnable one) from a method that borrows `self` once.
mod static_send_future {
    use super::*;

    #[dyn_trait(DynCall = dyn Call)]
    trait Call {
        fn call(&self, request: u32) -> impl Future<Output = u32> + Send + 'static;
    }

    struct Double;

    impl Call for Double {
        fn call(&self, request: u32) -> impl Future<Output = u32> + Send + 'static {
            async move {
                yield_once().await;
                request * 2
            }
        }
    }

    #[test]
    fn the_future_outlives_the_borrow() {
        let call = DynCall::new_box(Double);
        let future = call.call(4);
        drop(call);
        assert_eq!(drive(future), 8);
    }
}

/// An owning receiver in a trait with a lifetime, borrowing nothing else.
mod owning_receiver_in_a_trait_with_a_lifetime {
    use super::*;

    #[dyn_trait(DynTake = dyn Take)]
    trait Take<'k> {
        async fn take(self: Box<Self>) -> &'k str;
    }

    struct Word<'k>(&'k str);

    impl<'k> Take<'k> for Word<'k> {
        async fn take(self: Box<Self>) -> &'k str {
            yield_once().await;
            self.0
        }
    }

    #[test]
    fn the_box_is_taken() {
        let word = String::from("kept");
        let take: Box<DynTake<'_, '_>> = DynTake::new_box(Word(&word));
        assert_eq!(drive(take.take()), "kept");
    }
}

/// Futures bounded by a lifetime: a method's own (`+ 'a`), `'static` with two borrows (the
/// value task's lifetime unnamed through the `dyn` form), and `'_` with an owning receiver
/// and an `impl Trait` argument (elision picks `key`'s lifetime).
mod futures_bounded_by_a_lifetime {
    use super::*;

    #[dyn_trait(DynBounded = dyn Bounded)]
    trait Bounded {
        fn first<'a>(&'a self, key: &str) -> impl Future<Output = usize> + Send + 'a;
        fn spawnable(&self, key: &str) -> impl Future<Output = usize> + Send + 'static;
        fn owned(
            self: Box<Self>,
            key: &str,
            f: impl Fn() -> usize + Send,
        ) -> impl Future<Output = usize> + Send + '_;
    }

    struct Base(usize);

    impl Bounded for Base {
        fn first<'a>(&'a self, key: &str) -> impl Future<Output = usize> + Send + 'a {
            let len = key.len();
            async move {
                yield_once().await;
                self.0 + len
            }
        }
        fn spawnable(&self, key: &str) -> impl Future<Output = usize> + Send + 'static {
            let sum = self.0 + key.len();
            async move {
                yield_once().await;
                sum
            }
        }
        fn owned(
            self: Box<Self>,
            key: &str,
            f: impl Fn() -> usize + Send,
        ) -> impl Future<Output = usize> + Send + '_ {
            let extra = f();
            async move {
                yield_once().await;
                self.0 + key.len() + extra
            }
        }
    }

    #[test]
    fn each_keeps_what_its_bound_says() {
        let bounded = DynBounded::new_box(Base(1));
        assert_eq!(drive(bounded.first("ab")), 3);
        let key = String::from("abc");
        let spawnable = bounded.spawnable(&key);
        drop(key);
        assert_eq!(drive(spawnable), 4);
        assert_eq!(drive(bounded.owned("abcd", || 10)), 15);
    }
}

/// Outputs holding function types: a method's lifetime named only inside one (still declared
/// for the `Send` check) and one's own elided or `for<..>` lifetimes (left to it).
mod outputs_holding_function_types {
    use super::*;

    fn starts_with_a(s: &str) -> bool {
        s.starts_with('a')
    }

    #[dyn_trait(DynPicker = dyn Picker)]
    trait Picker {
        fn pick<'a>(&'a self) -> impl Future<Output = Option<fn(&'a str) -> bool>> + Send;
        fn any(&self) -> impl Future<Output = fn(&str) -> bool> + Send;
        fn ranked(
            &self,
        ) -> impl Future<Output = Box<dyn for<'r> Fn(&'r [u8]) -> usize + Send>> + Send;
    }

    struct A;

    // rustc calls these signatures, the trait's own, refinements of it (with or without the
    // attribute).
    #[allow(refining_impl_trait)]
    impl Picker for A {
        fn pick<'a>(&'a self) -> impl Future<Output = Option<fn(&'a str) -> bool>> + Send {
            async { Some(starts_with_a as fn(&'a str) -> bool) }
        }
        fn any(&self) -> impl Future<Output = fn(&str) -> bool> + Send {
            async { starts_with_a as fn(&str) -> bool }
        }
        fn ranked(
            &self,
        ) -> impl Future<Output = Box<dyn for<'r> Fn(&'r [u8]) -> usize + Send>> + Send {
            async {
                Box::new(|bytes: &[u8]| bytes.len())
                    as Box<dyn for<'r> Fn(&'r [u8]) -> usize + Send>
            }
        }
    }

    #[test]
    fn the_functions_come_back() {
        let picker = DynPicker::new_box(A);
        assert!(drive(picker.pick()).expect("one")("apple"));
        assert!(!drive(picker.any())("pear"));
        assert_eq!(drive(picker.ranked())(b"four"), 4);
    }
}

/// A trait with a lifetime whose owning method returns a plain value: its `dyn` form keeps
/// a `'static` lifetime beside the trait's (the trait's lifetime need not outlive it).
mod owning_plain_method_in_a_trait_with_a_lifetime {
    use super::*;

    #[dyn_trait(DynNamed = dyn Named)]
    trait Named<'k> {
        async fn get(&self) -> u8;
        fn name(self: Box<Self>, prefix: &'k str) -> String;
    }

    struct Any;

    impl<'k> Named<'k> for Any {
        async fn get(&self) -> u8 {
            1
        }
        fn name(self: Box<Self>, prefix: &'k str) -> String {
            format!("{prefix}any")
        }
    }

    fn call<'k>(named: Box<DynNamed<'static, 'k>>, prefix: &'k str) -> (u8, String) {
        (drive(named.get()), named.name(prefix))
    }

    #[test]
    fn a_static_dyn_form_takes_a_shorter_lifetime() {
        let prefix = String::from("an ");
        assert_eq!(
            call(DynNamed::new_box(Any), &prefix),
            (1, "an any".to_string())
        );
    }
}

/// A parameter under `#[cfg]`: compiled out, the generated copies neither take nor pass it
/// (they passed it anyway: "cannot find value"); compiled in, they pass it on. Through every
/// generated copy: the `dyn` form, its blanket impl, the bridges, and a boxed `impl Trait`
/// argument.
mod cfg_on_a_parameter {
    use super::*;

    #[dyn_trait(DynScale = dyn(box) Scale)]
    trait Scale {
        async fn scale(
            &self,
            n: u32,
            #[cfg(target_pointer_width = "16")] absent: u32,
            #[cfg(target_pointer_width = "64")] factor: u32,
            #[cfg(target_pointer_width = "16")] absent_too: impl Display + Send,
        ) -> u32;
        fn shown(
            &self,
            #[cfg(target_pointer_width = "64")] prefix: impl Display + Send,
            #[cfg(target_pointer_width = "16")] absent: u32,
        ) -> impl Future<Output = String> + Send;
    }

    struct Times;

    impl Scale for Times {
        async fn scale(
            &self,
            n: u32,
            #[cfg(target_pointer_width = "16")] absent: u32,
            #[cfg(target_pointer_width = "64")] factor: u32,
            #[cfg(target_pointer_width = "16")] absent_too: impl Display + Send,
        ) -> u32 {
            yield_once().await;
            n * factor
        }
        fn shown(
            &self,
            #[cfg(target_pointer_width = "64")] prefix: impl Display + Send,
            #[cfg(target_pointer_width = "16")] absent: u32,
        ) -> impl Future<Output = String> + Send {
            let prefix = prefix.to_string();
            async move { format!("{prefix}!") }
        }
    }

    #[test]
    fn compiled_out_parameters_are_neither_taken_nor_passed() {
        let scale = DynScale::new_box(Times);
        assert_eq!(drive(scale.scale(3, 4)), 12);
        assert_eq!(drive(scale.shown("hi")), "hi!");
        let by_ref: &DynScale<'_> = DynScale::from_ref(&Times);
        assert_eq!(drive(by_ref.scale(2, 5)), 10);
        // The bridge: `&Times` implements the trait by forwarding.
        assert_eq!(drive(Scale::scale(&&Times, 6, 7)), 42);
        assert_eq!(drive(Scale::shown(&&Times, 1)), "1!");
    }
}

/// Outputs bounded by one lifetime, with arguments borrowing for two: the erased trait's
/// output carries the bound (any impl of it must keep the promise the `dyn` form's
/// `impl Trait` makes), so the `dyn` form returns it as it is, with no `unsafe` (this module
/// forbids it). A boxed `impl Trait` of one borrow with `+ 'static` compiles too (the box
/// was of the call's lifetime).
mod one_lifetime_bound_is_safe_code {
    #![forbid(unsafe_code)]

    use super::*;

    #[dyn_trait(DynLabels = dyn(box) Labels)]
    trait Labels {
        fn owned(&self, key: &str) -> impl Display + 'static;
        fn of_self(&self, key: &str) -> impl Display + '_;
        fn fixed(&self) -> impl Display + Send + 'static;
        fn len_later(&self, key: &str) -> impl Future<Output = usize> + Send + '_;
    }

    struct Prefix(String);

    impl Labels for Prefix {
        fn owned(&self, key: &str) -> impl Display + 'static {
            format!("{}{key}", self.0)
        }
        fn of_self(&self, key: &str) -> impl Display + '_ {
            let _ = key;
            &self.0
        }
        fn fixed(&self) -> impl Display + Send + 'static {
            7
        }
        fn len_later(&self, key: &str) -> impl Future<Output = usize> + Send + '_ {
            let len = key.len();
            async move {
                yield_once().await;
                self.0.len() + len
            }
        }
    }

    #[test]
    fn each_keeps_its_bound_without_unsafe() {
        let labels = DynLabels::new_box(Prefix("p-".to_string()));
        let owned = {
            let key = String::from("key");
            labels.owned(&key)
        };
        assert_eq!(owned.to_string(), "p-key");
        let of_self = {
            let key = String::from("gone");
            labels.of_self(&key)
        };
        assert_eq!(of_self.to_string(), "p-");
        assert_eq!(labels.fixed().to_string(), "7");
        let later = {
            let key = String::from("abc");
            labels.len_later(&key)
        };
        assert_eq!(drive(later), 5);
    }
}

/// A `'static` future whose output is an associated type or a trait parameter (a service
/// that gets spawned): the `dyn` form's impl holds where the output outlives the bound.
mod static_future_of_an_associated_output {
    use super::*;

    #[dyn_trait(DynService = dyn Service)]
    trait Service<Req> {
        type Response;
        fn call(&self, req: Req) -> impl Future<Output = Self::Response> + Send + 'static;
        fn echo(&self, req: Req) -> impl Future<Output = Req> + Send + 'static;
    }

    struct Length;

    impl Service<String> for Length {
        type Response = usize;
        fn call(&self, req: String) -> impl Future<Output = usize> + Send + 'static {
            async move {
                yield_once().await;
                req.len()
            }
        }
        fn echo(&self, req: String) -> impl Future<Output = String> + Send + 'static {
            async move { req }
        }
    }

    #[test]
    fn the_future_outlives_the_service() {
        let service = DynService::new_box(Length);
        let future = service.call(String::from("four"));
        let echoed = service.echo(String::from("back"));
        drop(service);
        assert_eq!(drive(future), 4);
        assert_eq!(drive(echoed), "back");
    }
}

/// An associated type declared `?Sized`, used behind a reference: the constructors keep the
/// relaxation (dynosaur's do).
mod unsized_associated_type {
    use super::*;

    #[dyn_trait(DynCache = dyn Cache)]
    trait Cache {
        type Key: ?Sized;
        async fn get(&self, key: &Self::Key) -> Option<usize>;
    }

    struct Lengths;

    impl Cache for Lengths {
        type Key = str;
        async fn get(&self, key: &str) -> Option<usize> {
            yield_once().await;
            Some(key.len())
        }
    }

    #[test]
    fn constructors_take_an_unsized_key() {
        let boxed = DynCache::new_box(Lengths);
        assert_eq!(drive(boxed.get("abc")), Some(3));
        let lengths = Lengths;
        let borrowed = DynCache::from_ref(&lengths);
        assert_eq!(drive(borrowed.get("ab")), Some(2));
    }
}

/// `mut self` receivers (typed) in default bodies: the `dyn` form's declarations and impls
/// carry no `mut` (a pattern in a declaration is denied).
mod mut_receivers {
    use super::*;
    use std::pin::Pin;

    #[dyn_trait(DynCounter = dyn(box) Counter)]
    trait Counter {
        fn bump(&mut self) -> u8;
        async fn bumped_twice(mut self: Box<Self>) -> u8 {
            self.bump();
            yield_once().await;
            self.bump()
        }
        async fn pinned(mut self: Pin<&mut Self>) -> u8 {
            let _again = self.as_mut();
            yield_once().await;
            7
        }
    }

    struct Count(u8);

    impl Counter for Count {
        fn bump(&mut self) -> u8 {
            self.0 += 1;
            self.0
        }
    }

    #[test]
    fn mut_receivers_pass_through_the_dyn_form() {
        assert_eq!(drive(Box::new(Count(0)).bumped_twice()), 2);
        assert_eq!(drive(DynCounter::new_box(Count(5)).bumped_twice()), 7);
        let pinned = Box::into_pin(DynCounter::new_box(Count(0)));
        let mut pinned = pinned;
        assert_eq!(drive(pinned.as_mut().pinned()), 7);
    }
}

/// A future the trait declares `Sync`: the `dyn` form's is too (a value task is not), with
/// one borrow and with two, `Send` or not.
mod sync_futures {
    use super::*;
    use std::rc::Rc;

    #[dyn_trait(DynStore = dyn Store)]
    trait Store {
        fn get(&self) -> impl Future<Output = u8> + Send + Sync;
        fn len(&self, key: &str) -> impl Future<Output = usize> + Send + Sync;
        fn local(&self) -> impl Future<Output = Rc<u8>> + Sync;
    }

    struct Memory(u8);

    impl Store for Memory {
        async fn get(&self) -> u8 {
            yield_once().await;
            self.0
        }
        async fn len(&self, key: &str) -> usize {
            yield_once().await;
            key.len() + usize::from(self.0)
        }
        async fn local(&self) -> Rc<u8> {
            Rc::new(self.0)
        }
    }

    fn send_and_sync<F: Future + Send + Sync>(future: F) -> F {
        future
    }

    fn sync<F: Future + Sync>(future: F) -> F {
        future
    }

    #[test]
    fn the_dyn_form_returns_sync_futures() {
        let store: &DynStore<'_> = DynStore::from_ref(&Memory(2));
        assert_eq!(drive(send_and_sync(store.get())), 2);
        let key = String::from("abc");
        assert_eq!(drive(send_and_sync(store.len(&key))), 5);
        assert_eq!(*drive(sync(store.local())), 2);
        // Shared across threads while pending: a reference reaches nothing.
        let pending = send_and_sync(store.get());
        let shared = &pending;
        let seen =
            std::thread::scope(|s| s.spawn(move || std::ptr::from_ref(shared) as usize).join());
        assert_eq!(seen.unwrap(), std::ptr::from_ref(&pending) as usize);
        assert_eq!(drive(pending), 2);
    }
}

/// A `dyn` form with a pinned receiver is `Unpin` exactly when its trait object is: here,
/// through the trait's `Unpin` supertrait (the attribute writes the impl, as the auto trait's,
/// so that a user's own conflicts: `tests/ui/dyn_trait_pinned_form_is_never_unpin_nor_drop`).
mod pinned_form_unpin_with_its_object {
    use super::*;
    use std::pin::Pin;

    #[dyn_trait(DynTicker = dyn Ticker)]
    trait Ticker: Unpin {
        async fn tick(self: Pin<&mut Self>) -> u8;
    }

    struct Count(u8);

    impl Ticker for Count {
        async fn tick(mut self: Pin<&mut Self>) -> u8 {
            self.0 += 1;
            self.0
        }
    }

    fn unpin<T: Unpin + ?Sized>(value: &mut T) -> Pin<&mut T> {
        Pin::new(value)
    }

    #[test]
    fn an_unpin_object_makes_an_unpin_form() {
        let mut count = Count(1);
        let form = DynTicker::from_mut(&mut count);
        assert_eq!(drive(unpin(form).tick()), 2);
    }
}

/// The `dyn` form states none of its trait's bounds (as a trait object does not): a type
/// generic over the trait's parameter names it without repeating them. A supertrait that
/// asks `'static` (`Any`) bounds the form's lifetime.
mod bounds_left_to_the_impls {
    use super::*;
    use std::any::Any;

    #[dyn_trait(DynRepo = dyn Repo)]
    trait Repo<K>
    where
        K: Eq + Send + 'static,
    {
        async fn get(&self, key: K) -> u8;
    }

    struct Holder<K> {
        repo: Box<DynRepo<'static, K>>,
    }

    struct Ones;

    impl Repo<u32> for Ones {
        async fn get(&self, key: u32) -> u8 {
            u8::from(key == 1)
        }
    }

    #[dyn_trait(DynPlugin = dyn Plugin)]
    trait Plugin: Any {
        async fn run(&self) -> u32;
    }

    impl Plugin for Ones {
        async fn run(&self) -> u32 {
            1
        }
    }

    #[test]
    fn a_generic_holder_and_an_any_supertrait() {
        let holder = Holder {
            repo: DynRepo::new_box(Ones),
        };
        assert_eq!(drive(holder.repo.get(1)), 1);
        let plugin: Box<DynPlugin<'static>> = DynPlugin::new_box(Ones);
        assert_eq!(drive(plugin.run()), 1);
    }
}

/// A trait type parameter declared `?Sized` (in its list, or in the `where` clause), with a
/// pinned receiver (the form's `Unpin` guard declares the parameters too): the `dyn` form
/// keeps it unsized.
///
/// Before: the struct declared the parameter by name, so `Sized`, and neither trait compiled.
mod unsized_trait_parameter {
    use super::*;
    use std::pin::Pin;

    #[dyn_trait(DynHandler = dyn(box) Handler)]
    trait Handler<T: ?Sized> {
        async fn handle(&self, item: &T) -> usize;
        async fn handle_pinned(self: Pin<&mut Self>, item: &T) -> usize;
    }

    #[dyn_trait(DynSink = dyn(box) Sink)]
    trait Sink<T>
    where
        T: ?Sized + std::fmt::Debug,
    {
        async fn put(&mut self, item: &T) -> String;
    }

    struct Len;

    impl Handler<str> for Len {
        async fn handle(&self, item: &str) -> usize {
            yield_once().await;
            item.len()
        }
        async fn handle_pinned(self: Pin<&mut Self>, item: &str) -> usize {
            item.len() * 2
        }
    }

    impl Handler<[u8]> for Len {
        async fn handle(&self, item: &[u8]) -> usize {
            item.len() + 1
        }
        async fn handle_pinned(self: Pin<&mut Self>, item: &[u8]) -> usize {
            item.len() + 2
        }
    }

    impl Sink<str> for Len {
        async fn put(&mut self, item: &str) -> String {
            yield_once().await;
            format!("{item:?}")
        }
    }

    #[test]
    fn the_dyn_form_takes_unsized_arguments() {
        let text: Box<DynHandler<'_, str>> = DynHandler::new_box(Len);
        assert_eq!(drive(text.handle("abc")), 3);
        let bytes: Box<DynHandler<'_, [u8]>> = DynHandler::new_box(Len);
        assert_eq!(drive(bytes.handle(&[1, 2][..])), 3);
        let mut pinned: Pin<Box<DynHandler<'_, str>>> = Pin::from(DynHandler::new_box(Len));
        assert_eq!(drive(pinned.as_mut().handle_pinned("ab")), 4);
        let mut sink = DynSink::<str>::new_box(Len);
        assert_eq!(drive(sink.put("x")), "\"x\"");
    }
}

/// Bounds on `Self` in the trait's `where` clause, which are supertraits: `Self: 'static`
/// and `Self: Any` (the `dyn` form's lifetime must then be `'static`, as for
/// `trait Plugin: Send + 'static`), and a bound on an associated type (`Self::Item: Debug`),
/// which names the form's parameter in its impls, and the implementor's type in the
/// blanket impls (where `Self` has the hidden trait's `Item` too, or none).
///
/// Before: the form's struct did not bound its lifetime (E0478), and `Self::Item` was
/// copied as written into impls where it is ambiguous or another type's (E0223, E0275).
mod self_bounds_in_the_where_clause {
    use super::*;
    use std::any::Any;
    use std::fmt::Debug;

    #[dyn_trait(DynHandler = dyn(box) Handler)]
    trait Handler
    where
        Self: Send + 'static,
    {
        async fn handle(&self) -> u32;
    }

    #[dyn_trait(DynPlugin = dyn(box) Plugin)]
    trait Plugin
    where
        Self: Any,
    {
        async fn run(&self) -> u32;
    }

    #[dyn_trait(DynNext = dyn(box) Next)]
    trait Next
    where
        Self::Item: Debug,
    {
        type Item;
        async fn next(&mut self) -> Option<Self::Item>;
        async fn describe(&mut self) -> String {
            format!("{:?}", self.next().await)
        }
    }

    /// `<Self as Trait>::Assoc`: the same, written out (and the hidden trait's own there).
    #[dyn_trait(DynQualified = dyn(box) Qualified)]
    trait Qualified
    where
        <Self as Qualified>::Item: Debug,
    {
        type Item;
        async fn item(&self) -> Self::Item;
    }

    impl Qualified for Countdown {
        type Item = u8;
        async fn item(&self) -> u8 {
            self.0
        }
    }

    struct One;

    impl Handler for One {
        async fn handle(&self) -> u32 {
            yield_once().await;
            1
        }
    }

    impl Plugin for One {
        async fn run(&self) -> u32 {
            2
        }
    }

    struct Countdown(u8);

    impl Next for Countdown {
        type Item = u8;
        async fn next(&mut self) -> Option<u8> {
            yield_once().await;
            self.0 = self.0.checked_sub(1)?;
            Some(self.0)
        }
    }

    /// Supertraits without a lifetime (`Send + Sync`) leave the form's lifetime free.
    #[dyn_trait(DynShared = dyn(box) Shared)]
    trait Shared: Send + Sync
    where
        Self: Send,
    {
        async fn get(&self) -> u32;
    }

    /// Borrows: a form of it lives for that borrow, not `'static`.
    struct Borrowing<'a>(&'a u32);

    impl Shared for Borrowing<'_> {
        async fn get(&self) -> u32 {
            *self.0
        }
    }

    /// A bound through another type's associated type (`<K as Keyed>::Key`, named like this
    /// trait's own `Key`) is not this trait's: kept as written.
    trait Keyed {
        type Key;
    }

    impl Keyed for u8 {
        type Key = u16;
    }

    #[dyn_trait(DynLookup = dyn(box) Lookup)]
    trait Lookup<K: Keyed>
    where
        <K as Keyed>::Key: Debug,
    {
        type Key;
        async fn find(&self, key: K) -> Option<Self::Key>;
    }

    /// Not `Debug`: only `<K as Keyed>::Key` must be.
    struct Opaque(u8);

    impl Lookup<u8> for One {
        type Key = Opaque;
        async fn find(&self, key: u8) -> Option<Opaque> {
            Some(Opaque(key))
        }
    }

    struct Server {
        handler: Box<DynHandler<'static>>,
        plugin: Box<DynPlugin<'static>>,
    }

    async fn describe_static(mut next: impl Next) -> String {
        next.describe().await
    }

    #[test]
    fn the_dyn_forms_and_the_bridges_have_the_bounds() {
        let server = Server {
            handler: DynHandler::new_box(One),
            plugin: DynPlugin::new_box(One),
        };
        assert_eq!(drive(server.handler.handle()), 1);
        assert_eq!(drive(server.plugin.run()), 2);
        let mut countdown = DynNext::new_box(Countdown(2));
        assert_eq!(drive(countdown.describe()), "Some(1)");
        assert_eq!(drive(countdown.next()), Some(0));
        assert_eq!(drive(countdown.describe()), "None");
        fn shared<'a>(borrowing: &'a Borrowing<'a>) -> &'a DynShared<'a> {
            DynShared::from_ref(borrowing)
        }
        let three = 3;
        assert_eq!(drive(shared(&Borrowing(&three)).get()), 3);
        let lookup = DynLookup::<u8, Opaque>::new_box(One);
        assert_eq!(drive(lookup.find(4)).map(|key| key.0), Some(4));
        let qualified = DynQualified::new_box(Countdown(5));
        assert_eq!(format!("{:?}", drive(qualified.item())), "5");
        let mut two = Countdown(2);
        assert_eq!(drive(describe_static(&mut two)), "Some(1)");
        assert_eq!(
            drive(describe_static(DynNext::from_mut(&mut two))),
            "Some(0)"
        );
    }
}

/// A method under a `#[cfg]` that is off, returning a `Send` future of a type that does
/// not exist then (a feature's crate), beside one under a `#[cfg]` that is on.
///
/// Before: the `dyn` form's impl stated the absent method's output `Send`, naming the type.
mod cfg_off_method_naming_an_absent_type {
    use super::*;

    #[dyn_trait(DynStore = dyn Store)]
    trait Store {
        /// Not bounded `Send`: the `dyn` form's impl states it for the `Send` future below.
        type Item;
        async fn get(&self) -> u32;
        #[cfg(any())]
        fn export(&self) -> impl Future<Output = not_a_crate::Value> + Send;
        #[cfg(test)]
        fn count(&self) -> impl Future<Output = String> + Send;
        #[cfg(test)]
        fn item(&self) -> impl Future<Output = (Self::Item, u8)> + Send;
    }

    struct Three;

    impl Store for Three {
        type Item = u8;
        fn item(&self) -> impl Future<Output = (u8, u8)> + Send {
            async { (3, 4) }
        }
        async fn get(&self) -> u32 {
            3
        }
        fn count(&self) -> impl Future<Output = String> + Send {
            async {
                yield_once().await;
                "three".to_owned()
            }
        }
    }

    #[test]
    fn the_present_methods_work() {
        let store = DynStore::new_box(Three);
        assert_eq!(drive(store.get()), 3);
        assert_eq!(drive(store.count()), "three");
        assert_eq!(drive(store.item()), (3, 4));
    }
}

/// `impl Trait` arguments bounded by a lifetime, as a spawner's are: `'static` (the
/// implementor keeps the job past the call) and a method's own. The box keeps the bound.
///
/// Before: the box was bounded by the value task's lifetime (or `'_`) instead, which the
/// implementor's method, asking for `'static`, refused (E0521).
mod impl_trait_arguments_bounded_by_a_lifetime {
    use super::*;
    use std::sync::Mutex;

    type Job = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

    #[dyn_trait(DynSpawner = dyn Spawner)]
    trait Spawner {
        fn spawn(&self, job: impl Future<Output = ()> + Send + 'static);
        async fn run(&self, job: impl FnOnce() -> u8 + Send + 'static) -> u8;
        async fn show<'a>(&'a self, item: impl Display + 'a) -> String;
    }

    #[derive(Default)]
    struct Queue(Mutex<Vec<Job>>);

    impl Spawner for Queue {
        fn spawn(&self, job: impl Future<Output = ()> + Send + 'static) {
            self.0.lock().unwrap().push(Box::pin(job));
        }
        async fn run(&self, job: impl FnOnce() -> u8 + Send + 'static) -> u8 {
            let handle = std::thread::spawn(job);
            yield_once().await;
            handle.join().unwrap()
        }
        async fn show<'a>(&'a self, item: impl Display + 'a) -> String {
            yield_once().await;
            format!("{item}")
        }
    }

    #[test]
    fn the_dyn_form_passes_them_on() {
        let queue = DynSpawner::new_box(Queue::default());
        queue.spawn(async {});
        assert_eq!(drive(queue.run(|| 7)), 7);
        let text = String::from("borrowed");
        assert_eq!(drive(queue.show(&text)), "borrowed");
    }
}

/// A method lifetime that only the output names (`fn name<'a>(&self) -> &'a str`): the value
/// task lives within it and within the receiver's borrow.
///
/// Before: only the arguments' lifetimes were counted, so the value task was returned as the
/// `impl Future`'s hidden type with a lifetime that type cannot name (E0700).
mod method_lifetime_only_in_the_output {
    use super::*;

    #[dyn_trait(DynNamer = dyn Namer)]
    trait Namer {
        async fn name<'a>(&self) -> &'a str;
    }

    struct Fixed;

    impl Namer for Fixed {
        async fn name<'a>(&self) -> &'a str {
            yield_once().await;
            "fixed"
        }
    }

    #[test]
    fn the_dyn_form_names_it() {
        let namer = DynNamer::new_box(Fixed);
        assert_eq!(drive(namer.name()), "fixed");
    }
}

/// A plain method with an owning receiver, an `impl Trait` argument and an output borrowing
/// by elision from its other argument: the erased method names that lifetime, since the
/// argument's box is a lifetime position of its own.
///
/// Before: the erased declaration's elision had two lifetimes to choose from (E0106). (And,
/// in the first version of the fix, a receiver that lends through a type, `Pin<&mut Self>`,
/// was not seen lending: the output was named for the arguments.)
// The receivers and lifetimes as users write them (`self: &Self`, a named `'p` used once, an
// output elided to a named lifetime, which Rust 1.89 lints as `mismatched_lifetime_syntaxes`
// and Rust 1.83 to 1.88 as `elided_named_lifetimes`).
#[allow(
    clippy::needless_arbitrary_self_type,
    clippy::needless_lifetimes,
    unknown_lints,
    renamed_and_removed_lints,
    mismatched_lifetime_syntaxes,
    elided_named_lifetimes
)]
mod owning_receiver_impl_trait_argument_and_elided_output {
    use super::*;

    use std::borrow::Cow;
    use std::pin::Pin;

    #[dyn_trait(DynLabel = dyn Label)]
    trait Label {
        fn label(self: Box<Self>, prefix: &str, tag: impl Display) -> &str;
        // `'_` written: named too.
        fn key(self: Box<Self>, key: Cow<'_, str>, tag: impl Display) -> Cow<'_, str>;
        // A receiver that lends: elision prefers it, so nothing is named.
        fn name(self: Pin<&mut Self>, tag: impl Display) -> &str;
        fn first<'p>(self: &Self, prefix: &'p str, tag: impl Display) -> &str;
        // Named already: the output's elision goes to it.
        fn named<'p>(self: Box<Self>, prefix: &'p str, tag: impl Display) -> &str;
        async fn size(&self) -> usize;
    }

    struct Tagged(String);

    impl Label for Tagged {
        fn label(self: Box<Self>, prefix: &str, tag: impl Display) -> &str {
            let tag = tag.to_string();
            prefix.strip_suffix(tag.as_str()).unwrap_or(prefix)
        }
        fn key(self: Box<Self>, key: Cow<'_, str>, tag: impl Display) -> Cow<'_, str> {
            Cow::Owned(format!("{key}{tag}"))
        }
        fn name(self: Pin<&mut Self>, tag: impl Display) -> &str {
            let tag = tag.to_string();
            let name = &self.get_mut().0;
            name.strip_suffix(tag.as_str()).unwrap_or(name)
        }
        fn first<'p>(self: &Self, prefix: &'p str, tag: impl Display) -> &str {
            let _ = (prefix, tag);
            &self.0
        }
        fn named<'p>(self: Box<Self>, prefix: &'p str, tag: impl Display) -> &str {
            let _ = tag;
            prefix
        }
        async fn size(&self) -> usize {
            1
        }
    }

    #[test]
    fn the_dyn_form_returns_the_argument_borrow() {
        let prefix = String::from("kept");
        assert_eq!(
            DynLabel::new_box(Tagged(String::new())).named(&prefix, 0),
            "kept"
        );
        let label = DynLabel::new_box(Tagged("own-1".into()));
        assert_eq!(drive(label.size()), 1);
        assert_eq!(label.first("x", 0), "own-1");
        let prefix = String::from("name-7");
        assert_eq!(label.label(&prefix, "-7"), "name");
        let label = DynLabel::new_box(Tagged(String::new()));
        assert_eq!(label.key(Cow::Borrowed(&prefix), 8), "name-78");
        let mut label = Box::into_pin(DynLabel::new_box(Tagged("own-1".into())));
        assert_eq!(label.as_mut().name("-1"), "own");
    }
}

/// Outputs with precise capturing (`+ use<..>`, in traits since Rust 1.87): the `dyn` form's
/// impl and the erased trait leave it out (an impl's `impl Trait` captures its parameters,
/// which a `use<..>` would have to list).
///
/// Before: the macro panicked parsing a box of `dyn Iterator + use<..>`.
#[cfg(not(valuetask_msrv))]
mod precise_capturing_outputs {
    use super::*;

    #[dyn_trait(DynItems = dyn(box) Items)]
    trait Items {
        fn items(&self) -> impl Iterator<Item = u8> + use<'_, Self>;
        fn first(&self) -> impl Future<Output = u8> + Send + use<'_, Self>;
        // Every argument's lifetime listed: named, or `'_` for the elided ones.
        fn at<'a>(&'a self, key: &'a str) -> impl Future<Output = u8> + use<'a, Self>;
        fn fixed(&self, key: &'static str) -> impl Future<Output = u8> + use<'_, Self>;
    }

    #[dyn_trait(DynOwned = dyn(box) Owned)]
    trait Owned {
        fn first(&self) -> u8;
        // Left out of the `dyn` form: its capture list is the trait's business alone.
        fn owned(&self) -> impl Future<Output = u8> + use<Self>
        where
            Self: Sized;
    }

    impl Owned for Bytes {
        fn first(&self) -> u8 {
            self.0[0]
        }
        fn owned(&self) -> impl Future<Output = u8> + use<> {
            let first = self.0[0];
            async move { first }
        }
    }

    struct Bytes(Vec<u8>);

    impl Items for Bytes {
        fn items(&self) -> impl Iterator<Item = u8> + use<'_> {
            self.0.iter().copied()
        }
        fn first(&self) -> impl Future<Output = u8> + Send + use<'_> {
            async {
                yield_once().await;
                self.0[0]
            }
        }
        fn at<'a>(&'a self, key: &'a str) -> impl Future<Output = u8> + use<'a> {
            async move { self.0[key.len()] }
        }
        fn fixed(&self, key: &'static str) -> impl Future<Output = u8> + use<'_> {
            async move { self.0[key.len() - 1] }
        }
    }

    #[test]
    fn the_dyn_form_and_the_bridges_return_them() {
        let bytes = DynItems::new_box(Bytes(vec![4, 5]));
        assert_eq!(bytes.items().sum::<u8>(), 9);
        assert_eq!(drive(bytes.first()), 4);
        assert_eq!(drive(bytes.at("a")), 5);
        assert_eq!(drive(bytes.fixed("a")), 4);
        assert_eq!(drive(Bytes(vec![3]).owned()), 3);
        assert_eq!(DynOwned::new_box(Bytes(vec![2])).first(), 2);
        let plain = Bytes(vec![6]);
        assert_eq!(drive(<&Bytes as Items>::first(&&plain)), 6);
    }
}

/// A lifetime in a path written out (`Cow<'_, str>`), as the docs ask: the attribute sees it
/// (hidden, `Cow<str>`, it does not).
mod lifetime_written_in_a_path {
    use super::*;
    use std::borrow::Cow;

    #[dyn_trait(DynKeys = dyn Keys)]
    trait Keys {
        async fn len(&self, key: Cow<'_, str>) -> usize;
    }

    struct Counter;

    impl Keys for Counter {
        async fn len(&self, key: Cow<'_, str>) -> usize {
            yield_once().await;
            key.len()
        }
    }

    #[test]
    fn the_dyn_form_borrows_for_it() {
        let keys = DynKeys::new_box(Counter);
        let owned = String::from("four");
        assert_eq!(drive(keys.len(Cow::Borrowed(&owned))), 4);
    }
}
