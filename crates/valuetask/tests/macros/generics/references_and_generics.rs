//! `#[value_task]` trait shape: reference arguments (elided, `'_`, named), generic methods,
//! `where` clauses, `impl Trait` arguments, and lifetimes on the trait itself.

use crate::common;

use std::fmt::Display;

use common::{drive, yield_once};
use valuetask::value_task;

#[value_task]
trait Text: Send + Sync {
    async fn concat(&self, a: &str, b: &str) -> String;
    async fn first<'a>(&self, items: &'a [String]) -> Option<&'a String>;
    async fn elided_path(&self, it: std::slice::Iter<'_, u8>) -> usize;
    // Generic methods are not dyn-dispatchable (as with async-trait): `Self: Sized`.
    async fn show<T: Display + Send + Sync>(&self, value: &T) -> String
    where
        Self: Sized;
    async fn show_where<T>(&self, value: T) -> String
    where
        T: Display + Send,
        Self: Sized;
    async fn show_impl(&self, value: impl Display + Send) -> String
    where
        Self: Sized;
}

struct Joiner;

#[value_task]
impl Text for Joiner {
    async fn concat(&self, a: &str, b: &str) -> String {
        yield_once().await;
        format!("{a}{b}")
    }
    async fn first<'a>(&self, items: &'a [String]) -> Option<&'a String> {
        items.first()
    }
    async fn elided_path(&self, it: std::slice::Iter<'_, u8>) -> usize {
        it.count()
    }
    async fn show<T: Display + Send + Sync>(&self, value: &T) -> String {
        value.to_string()
    }
    async fn show_where<T>(&self, value: T) -> String
    where
        T: Display + Send,
    {
        yield_once().await;
        value.to_string()
    }
    async fn show_impl(&self, value: impl Display + Send) -> String {
        value.to_string()
    }
}

/// A trait with its own lifetime parameter.
#[value_task]
trait Borrower<'a>: Send + Sync {
    async fn borrowed(&self) -> &'a str;
}

struct Holder<'a>(&'a str);

#[value_task]
impl<'a> Borrower<'a> for Holder<'a> {
    async fn borrowed(&self) -> &'a str {
        self.0
    }
}

#[test]
fn reference_arguments_and_generics_work_through_dyn() {
    let j: &dyn Text = &Joiner;
    let owned = String::from("b");
    assert_eq!(drive(j.concat("a", &owned)), "ab");
    let items = vec!["x".to_string()];
    assert_eq!(drive(j.first(&items)), Some(&items[0]));
    assert_eq!(drive(j.elided_path([1u8, 2, 3].iter())), 3);
    assert_eq!(drive(Joiner.show(&5)), "5");
    assert_eq!(drive(Joiner.show_where(6)), "6");
    assert_eq!(drive(Joiner.show_impl(7)), "7");
    let text = String::from("held");
    let b: &dyn Borrower<'_> = &Holder(&text);
    assert_eq!(drive(b.borrowed()), "held");
}

/// A method of an annotated `impl<'a>` whose arguments do not use `'a` does not capture it: its
/// value task may outlive `'a` (here: be `'static` while `'a` is a caller's lifetime).
struct ImplLifetime<'a>(&'a str);

#[value_task]
impl<'a> ImplLifetime<'a> {
    async fn unrelated(n: u8) -> u8 {
        yield_once().await;
        n + 1
    }

    async fn first_byte(&self) -> u8 {
        self.0.as_bytes()[0]
    }
}

fn unrelated_outlives_the_holder<'a>(
    holder: &ImplLifetime<'a>,
) -> valuetask::ValueTask<'static, u8> {
    let _ = holder.0;
    ImplLifetime::<'a>::unrelated(1)
}

#[test]
fn an_impl_lifetime_the_arguments_do_not_use_is_not_captured() {
    let later = {
        let local = String::from("x");
        let holder = ImplLifetime(&local);
        assert_eq!(drive(holder.first_byte()), b'x');
        unrelated_outlives_the_holder(&holder)
    };
    // The holder and the string it borrowed are gone.
    assert_eq!(drive(later), 2);
}

/// `'async_trait` written in a signature (as traits written for async-trait do) means the value
/// task's lifetime, also next to a lifetime the method declares itself.
#[value_task]
trait Tagged: Send + Sync {
    async fn tag<'a, T>(&self, label: &'a str, value: T) -> String
    where
        T: Display + Send + 'async_trait;
}

struct Tagger;

#[value_task]
impl Tagged for Tagger {
    async fn tag<'a, T>(&self, label: &'a str, value: T) -> String
    where
        T: Display + Send + 'async_trait,
    {
        yield_once().await;
        format!("{label}={value}")
    }
}

#[test]
fn the_async_trait_lifetime_next_to_a_declared_one_is_the_value_tasks() {
    let label = String::from("n");
    assert_eq!(drive(Tagger.tag(&label, 4)), "n=4");
}
