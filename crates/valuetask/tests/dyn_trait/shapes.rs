//! `#[dyn_trait]`: a native `async fn` trait's `dyn` form (dynosaur's job, without a box).

use std::fmt::Display;
use std::future::Future;

use valuetask::dyn_trait;

#[dyn_trait(DynNext = dyn(box) Next)]
trait Next {
    type Item;
    async fn next(&mut self) -> Option<Self::Item>;
    fn peek(&self, n: u32) -> impl Future<Output = u32> + Send;
    fn plain(&self) -> u8 {
        1
    }
    fn label(&self) -> impl Display;
    fn sized_only(self) -> u8
    where
        Self: Sized,
    {
        2
    }
}

struct Counter(u32);

impl Next for Counter {
    type Item = u32;
    async fn next(&mut self) -> Option<u32> {
        self.0 += 1;
        Some(self.0)
    }
    async fn peek(&self, n: u32) -> u32 {
        self.0 + n
    }
    fn label(&self) -> impl Display {
        format!("counter at {}", self.0)
    }
}

async fn static_next(mut n: impl Next<Item = u32>) -> Option<u32> {
    n.next().await
}

#[test]
fn calls_through_the_dyn_form_reach_the_implementor() {
    futures::executor::block_on(async {
        let mut boxed = DynNext::new_box(Counter(0));
        assert_eq!(boxed.next().await, Some(1));
        assert_eq!(boxed.peek(2).await, 3);
        assert_eq!(boxed.plain(), 1);
        assert_eq!(boxed.label().to_string(), "counter at 1");
        let mut counter = Counter(5);
        assert_eq!(DynNext::from_mut(&mut counter).next().await, Some(6));
        assert_eq!(static_next(DynNext::from_mut(&mut counter)).await, Some(7));
        assert_eq!(static_next(DynNext::new_box(Counter(9))).await, Some(10));
        assert_eq!(static_next(boxed).await, Some(2));
        assert_eq!(counter.sized_only(), 2);
    });
}
