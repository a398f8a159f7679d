// Mistake: the impl's output type differs from the trait's (`u64` for `u32`), both under
// #[value_task] (the most common trait/impl mismatch).
// A good error is rustc's E0053 "incompatible type for trait", pointing at `u64` in the
// impl's signature with "type in trait" at `u32`, not at the `#[value_task]` lines.
use valuetask::value_task;

#[value_task]
trait Counter {
    async fn count(&self) -> u32;
}

struct S;

#[value_task]
impl Counter for S {
    async fn count(&self) -> u64 {
        1
    }
}

fn main() {}
