// A method borrowing for two lifetimes with no bound on its output: its `dyn` form returns
// it with the borrows' lifetime unnamed, a type an impl written for `'static` types alone
// would meet (and whose method could keep it past the borrows: a use after free). So a
// future may add only `Send` and `Unpin`, and another `impl Trait` needs a bound.
use std::future::Future;
use valuetask::dyn_trait;

pub trait Items: Iterator<Item = u8> {}
// A boxed `impl Trait` goes through the `dyn` form as a box, which must implement it.
impl<I: Items + ?Sized> Items for Box<I> {}
pub trait Escape {}

#[dyn_trait(DynSource = dyn Source)]
trait Source {
    fn items(&self, key: &str) -> impl Items;
}

#[dyn_trait(DynStore = dyn Store)]
trait Store {
    fn get(&self, key: &str) -> impl Future<Output = u8> + Escape;
}

// Accepted: a bound every borrow outlives, and a future with only `Send`.
#[dyn_trait(DynBounded = dyn Bounded)]
trait Bounded {
    fn items<'a>(&'a self, key: &'a str) -> impl Items + 'a;
    fn get(&self, key: &str) -> impl Future<Output = u8> + Send;
}

fn main() {}
