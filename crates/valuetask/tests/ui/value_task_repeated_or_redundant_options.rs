// Mistake: an option given twice, or again on a method where the item already gives it
// (`crate` given twice is an error; these are not). The last one is the mistake the
// attribute already rejects when the trait is not `boxed`: `boxed` on a declaration, which
// has no body to box.
// The errors: "`boxed` given twice" / "`?Send` given twice" at the second option, and
// "`boxed` (or `?Send`) is already on the whole trait or impl" at a method's attribute.
#![allow(dead_code)]

use valuetask::value_task;

#[value_task(boxed, boxed)]
async fn boxed_twice() -> u8 {
    1
}

#[value_task(?Send, ?Send)]
async fn local_twice() -> u8 {
    1
}

struct S;

#[value_task(boxed)]
impl S {
    #[value_task(boxed)]
    async fn boxed_again(&self) -> u8 {
        1
    }
}

#[value_task(?Send)]
impl S {
    #[value_task(?Send)]
    async fn local_again(&self) -> u8 {
        1
    }
}

#[value_task(boxed)]
trait T {
    #[value_task(boxed)]
    async fn declared(&self) -> u8;

    async fn provided(&self) -> u8 {
        1
    }
}

fn main() {}
