//! A crate that forbids the lints the expansion could trip compiles these shapes: the
//! expansion writes no `allow` of them (under `forbid` an `allow` is error E0453) and trips
//! none of them itself. Bodies on one line (rustc's `unused_braces` looks at those only),
//! bodies that diverge after or without suspending (the output's binding after them must
//! not be unreachable code), and bodies that only await one call (whose helper trait import
//! goes unused when the call's value task is passed on).

#![forbid(unreachable_code, unused_braces, unused_imports)]

use valuetask::{value_task, ValueTask};

use crate::common::{drive, yield_once};

#[value_task]
pub trait Store {
    async fn get(&self, key: u32) -> u32;
    async fn put(&self, key: u32);
    #[rustfmt::skip]
    async fn stub(&self) -> u32 { panic!("a default body that only diverges") }
}

pub struct Memory;

#[value_task]
#[rustfmt::skip]
impl Store for Memory {
    async fn get(&self, key: u32) -> u32 { key + 1 }
    async fn put(&self, key: u32) { self.get(key).await; }
    async fn stub(&self) -> u32 { return 7; }
}

#[value_task]
#[rustfmt::skip]
pub async fn passed_on(store: &Memory, key: u32) -> u32 { store.get(key).await }

#[value_task]
#[rustfmt::skip]
pub async fn awaited_in_a_frame(key: u32) -> u32 { Memory.get(key).await }

#[value_task]
#[rustfmt::skip]
pub async fn a_plain_future(key: u32) -> u32 { plain(key).await }

#[rustfmt::skip]
async fn plain(key: u32) -> u32 { yield_once().await; key * 2 }

#[value_task]
#[rustfmt::skip]
pub async fn synchronous(key: u32) -> u32 { key }

#[value_task]
#[rustfmt::skip]
pub async fn returns_early(key: u32) -> u32 { yield_once().await; return key; }

#[value_task]
#[rustfmt::skip]
pub async fn panics_after_a_suspension(key: u32) -> u32 { yield_once().await; panic!("{key}") }

#[value_task(boxed)]
#[rustfmt::skip]
pub async fn boxed(key: u32) -> u32 { Memory.get(key).await }

#[value_task(lazy)]
#[rustfmt::skip]
pub async fn lazy(key: u32) -> u32 { Memory.get(key).await }

#[value_task(?Send)]
#[rustfmt::skip]
pub async fn local(key: u32) -> u32 { Memory.get(key).await }

#[test]
fn the_shapes_behave_as_written() {
    let store = Memory;
    assert_eq!(drive(store.get(1)), 2);
    drive(store.put(1));
    assert_eq!(drive(store.stub()), 7);
    assert_eq!(drive(passed_on(&store, 2)), 3);
    assert_eq!(drive(awaited_in_a_frame(3)), 4);
    assert_eq!(drive(a_plain_future(4)), 8);
    assert_eq!(drive(synchronous(5)), 5);
    assert_eq!(drive(returns_early(6)), 6);
    assert_eq!(drive(boxed(7)), 8);
    assert_eq!(drive(lazy(8)), 9);
    assert_eq!(drive(local(9)), 10);
    let panicked = std::panic::catch_unwind(|| drive(panics_after_a_suspension(10)));
    assert!(panicked.is_err(), "the body's panic reaches the caller");
    let ready: ValueTask<'static, u32> = synchronous(0);
    assert!(
        ready.is_completed(),
        "a synchronous body is ready at the call"
    );
}
