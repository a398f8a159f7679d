// Mistake: `?Send` on the impl but not on its trait, and the reverse. The impl's methods then
// return `LocalValueTask` where the trait's return `ValueTask` (or the reverse).
// A good error points at the impl's method (its return type, or the `?Send` option) and says
// that `?Send` must be on both the trait and its impls, or on neither.
use valuetask::value_task;

#[value_task]
trait SendTrait {
    async fn get(&self) -> u8;
}

#[value_task(?Send)]
trait LocalTrait {
    async fn get(&self) -> u8;
}

struct S;

#[value_task(?Send)]
impl SendTrait for S {
    async fn get(&self) -> u8 {
        1
    }
}

#[value_task]
impl LocalTrait for S {
    async fn get(&self) -> u8 {
        2
    }
}

fn main() {}
