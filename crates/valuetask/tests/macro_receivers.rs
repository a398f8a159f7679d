//! `#[value_task]` trait shape: `&self`, `&mut self`, `self: Box<Self>`, and associated
//! functions without a receiver; called through `dyn` where object safe.

mod common;

use common::{drive, yield_once};
use valuetask::value_task;

#[value_task]
trait Counter: Send + Sync {
    async fn get(&self) -> u64;
    async fn add(&mut self, n: u64) -> u64;
    async fn into_total(self: Box<Self>) -> u64;
    async fn make() -> Self
    where
        Self: Sized;
}

struct Simple(u64);

#[value_task]
impl Counter for Simple {
    async fn get(&self) -> u64 {
        self.0
    }
    async fn add(&mut self, n: u64) -> u64 {
        yield_once().await;
        self.0 += n;
        self.0
    }
    async fn into_total(self: Box<Self>) -> u64 {
        self.0 * 10
    }
    async fn make() -> Self {
        Simple(1)
    }
}

#[test]
fn every_receiver_works_statically_and_through_dyn() {
    let mut c = drive(Simple::make());
    assert_eq!(drive(c.get()), 1);
    assert_eq!(drive(c.add(2)), 3);
    let mut boxed: Box<dyn Counter> = Box::new(c);
    assert_eq!(drive(boxed.add(1)), 4);
    assert_eq!(drive(boxed.get()), 4);
    assert_eq!(drive(boxed.into_total()), 40);
}
