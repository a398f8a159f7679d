//! Signatures whose expansion must take care: a `where` clause as rustfmt writes it (a
//! trailing comma) beside predicates the expansion adds, a `Send` future whose output names
//! the trait's own lifetime, `Self: Sized` methods returning `impl Trait` with no body, an
//! `impl Trait` argument of a `Send` future, a `'static` future, and an owning receiver in a
//! trait with a lifetime.

#![allow(clippy::manual_async_fn)] // the trait shapes as written, `impl Future` included

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
/// with no default body (the `dyn` form's impl gives one of that type), another with one
/// (without, a compile error says to write one: `tests/ui`).
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
    }

    struct Three;

    impl Source for Three {
        async fn get(&self) -> u8 {
            3
        }
        fn later(&self) -> impl Future<Output = u8> {
            async { 3 }
        }
    }

    #[test]
    fn the_dyn_form_has_the_others() {
        let source = DynSource::new_box(Three);
        assert_eq!(drive(source.get()), 3);
        assert_eq!(drive(Three.later()), 3);
        assert_eq!(Three.all().sum::<u8>(), 3);
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
