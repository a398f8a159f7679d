// Mistake: `async` on only one side of a trait/impl pair, both under #[value_task]
// (async-trait's missing-async-in-trait and missing-async-in-impl).
// A good error names the method and says the trait declares it `async` and the impl does not
// (or the reverse), pointing at the impl's method (`method`, not the `#[value_task]` line),
// with a note at the trait's method.
use valuetask::value_task;

// The trait forgot `async`; the impl has it.
#[value_task]
trait PlainInTrait {
    fn method(&self) -> u8;
}

// The trait has `async`; the impl forgot it.
#[value_task]
trait AsyncInTrait {
    async fn method(&self) -> u8;
}

struct S;

#[value_task]
impl PlainInTrait for S {
    async fn method(&self) -> u8 {
        1
    }
}

#[value_task]
impl AsyncInTrait for S {
    fn method(&self) -> u8 {
        1
    }
}

fn main() {}
