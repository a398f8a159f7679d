// Mistake: `crate = framework` where `framework` re-exports some of valuetask's items (the
// attribute and the value task types) but not the whole crate, so the hidden
// `framework::macro_support` the expansion needs does not exist.
// A good error points at `crate = framework` in each attribute and says the path must lead
// to the whole valuetask crate (`pub use valuetask;` in `framework`, then
// `crate = framework::valuetask`); not at the function body or at `&self`, and without
// having to know about `macro_support`.
mod framework {
    pub use valuetask::{value_task, yield_now, LocalValueTask, ValueTask};
}

#[framework::value_task(crate = framework)]
async fn answer() -> u8 {
    42
}

struct Counter;

#[framework::value_task(crate = framework)]
impl Counter {
    async fn next(&self) -> u8 {
        framework::yield_now().await;
        1
    }
}

fn main() {
    let _ = answer;
    let _ = Counter::next;
}
