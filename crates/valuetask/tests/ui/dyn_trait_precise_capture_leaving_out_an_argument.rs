// A `-> impl Future + use<..>` (or another `impl Trait`) that leaves out a lifetime of the arguments (the receiver's,
// elided; or a named one not listed): what the `dyn` form returns borrows every argument, which
// the trait's capture list forbids. The error says what to write, at the return type (a
// trait that lists every one: `tests/dyn_trait/signatures.rs`).
use valuetask::dyn_trait;

#[dyn_trait(DynReceiver = dyn Receiver)]
trait Receiver {
    fn get(&self) -> impl std::future::Future<Output = u8> + use<Self>;
}

#[dyn_trait(DynItems = dyn Items)]
trait Items {
    // A boxed `impl Trait` borrows them too.
    fn items(&self) -> impl Iterator<Item = u8> + use<Self>;
}

#[dyn_trait(DynArgument = dyn Argument)]
trait Argument {
    // Leaves out `'b`.
    fn other<'a, 'b>(&'a self, key: &'b str) -> impl std::future::Future<Output = u8> + use<'a, Self>;
}

fn main() {}
