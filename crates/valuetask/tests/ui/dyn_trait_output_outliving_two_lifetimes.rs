// A method whose `impl Trait` output outlives two lifetimes and whose arguments borrow for
// two: no one lifetime of the erased trait's output can state that bound, so its `dyn`
// form could not hold any impl of the erased trait to it. A good error names the method and
// says what to write instead.
use std::fmt::Display;
use valuetask::dyn_trait;

#[dyn_trait(DynPair = dyn Pair)]
trait Pair<'a, 'b> {
    fn both(&self, key: &str) -> impl Display + 'a + 'b;
}

fn main() {}
