//! The trait under `#[dyn_trait]` is the trait as written: a static call returns the
//! compiler's own future, of the same size as without the attribute, and allocates nothing.

use std::mem::size_of_val;

use super::common::{allocations_during, now};
use valuetask::dyn_trait;

#[dyn_trait(DynWith = dyn With)]
trait With {
    async fn get(&self, key: &str) -> Option<u64>;
    async fn put(&mut self, key: String, value: [u64; 8]) -> bool;
}

trait Without {
    async fn get(&self, key: &str) -> Option<u64>;
    async fn put(&mut self, key: String, value: [u64; 8]) -> bool;
}

struct Store(u64);

impl With for Store {
    async fn get(&self, key: &str) -> Option<u64> {
        (key == "hit").then_some(self.0)
    }
    async fn put(&mut self, key: String, value: [u64; 8]) -> bool {
        self.0 = value[0];
        key.is_empty()
    }
}

impl Without for Store {
    async fn get(&self, key: &str) -> Option<u64> {
        (key == "hit").then_some(self.0)
    }
    async fn put(&mut self, key: String, value: [u64; 8]) -> bool {
        self.0 = value[0];
        key.is_empty()
    }
}

#[test]
fn static_futures_are_the_same_size_with_and_without_the_attribute() {
    let mut store = Store(1);
    assert_eq!(
        size_of_val(&With::get(&store, "hit")),
        size_of_val(&Without::get(&store, "hit"))
    );
    let with = size_of_val(&With::put(&mut store, String::new(), [0; 8]));
    let without = size_of_val(&Without::put(&mut store, String::new(), [0; 8]));
    assert_eq!(with, without);
    assert!(
        with > 64,
        "the future holds its arguments (no value task): {with} bytes"
    );
}

#[test]
fn static_calls_allocate_nothing() {
    let mut store = Store(1);
    now(With::get(&store, "hit"));
    let (hits, allocs) = allocations_during(|| {
        (0..1_000)
            .filter(|_| now(With::get(&store, "hit")).is_some())
            .count()
    });
    assert_eq!((hits, allocs), (1_000, 0));
    let (_, allocs) = allocations_during(|| now(With::put(&mut store, String::new(), [2; 8])));
    assert_eq!(allocs, 0);
    assert_eq!(now(With::get(&store, "hit")), Some(2));
}
