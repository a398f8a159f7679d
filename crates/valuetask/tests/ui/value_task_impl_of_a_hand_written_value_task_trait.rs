// Mistake: the trait declares the method by hand as `fn -> ValueTask<'_, T>` (no attribute),
// and the impl writes it as a #[value_task] `async fn`. The two signatures differ in their
// (early-bound) lifetime parameters, so they can never match.
// A good error points at the impl's `async fn method` and says the trait must be declared
// with #[value_task] (`async fn method(&self) -> u8;`), or the impl must return
// `ValueTask` by hand; at least not at the `#[value_task]` line.
use valuetask::{value_task, ValueTask};

trait Trait {
    fn method(&self) -> ValueTask<'_, u8>;
}

struct S;

#[value_task]
impl Trait for S {
    async fn method(&self) -> u8 {
        1
    }
}

fn main() {}
