// Mistake: #[value_task] on the impl, but not on the trait (a native `async fn` in a trait).
// The impl's methods become `fn -> ValueTask<'value_task, T>` with early-bound lifetimes,
// which cannot match the trait's `async fn`.
// A good error points at the impl's `async fn method` and says the trait `Trait` must carry
// #[value_task] too (or the impl must drop it); at least not at the `#[value_task]` line.
use valuetask::value_task;

trait Trait {
    async fn method(&self) -> u8;
}

struct S;

#[value_task]
impl Trait for S {
    async fn method(&self) -> u8 {
        1
    }
}

fn main() {}
