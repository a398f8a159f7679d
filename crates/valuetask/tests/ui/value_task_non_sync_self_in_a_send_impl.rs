use std::cell::Cell;

use valuetask::value_task;

struct Counter(Cell<u64>);

async fn yield_once() {}

// `&self` of a type that is not `Sync` is not `Send`: a suspending `Send` future cannot hold it.
#[value_task]
impl Counter {
    async fn next(&self) -> u64 {
        yield_once().await;
        self.0.replace(self.0.get() + 1)
    }
}

fn main() {}
