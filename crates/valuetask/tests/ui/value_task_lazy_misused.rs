// Mistake: `lazy` where it cannot apply, or together with `boxed`.
// The errors: "`lazy` given twice" at the second option; "`boxed` and `lazy` together" on an
// item that gives both, on a method that gives both (at the method's second option), and
// on a method whose item gives the other; "`lazy` is already on
// the whole trait or impl" at a method's attribute; "`lazy` on trait `T` applies to its
// default bodies, and it has none" at the trait's name.
#![allow(dead_code)]

use valuetask::value_task;

#[value_task(lazy, lazy)]
async fn lazy_twice() -> u8 {
    1
}

#[value_task(boxed, lazy)]
async fn both() -> u8 {
    1
}

struct S;

#[value_task(boxed)]
impl S {
    #[value_task(lazy)]
    async fn lazy_in_a_boxed_impl(&self) -> u8 {
        1
    }
}

struct M;

#[value_task]
impl M {
    #[value_task(boxed, lazy)]
    async fn both_on_the_method(&self) -> u8 {
        1
    }
}

struct L;

#[value_task(lazy)]
impl L {
    #[value_task(lazy)]
    async fn lazy_again(&self) -> u8 {
        1
    }
}

#[value_task(lazy)]
trait T {
    async fn declared(&self) -> u8;
}

fn main() {}
