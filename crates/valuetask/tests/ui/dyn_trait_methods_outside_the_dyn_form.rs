// Methods a `dyn` form cannot call: each error says what to write instead, at the method.
use valuetask::dyn_trait;

#[dyn_trait(DynGeneric = dyn Generic)]
trait Generic {
    async fn get<T: Default>(&self) -> T;
}

#[dyn_trait(DynByValue = dyn ByValue)]
trait ByValue {
    async fn consume(self) -> u8;
}

#[dyn_trait(DynNoSelf = dyn NoSelf)]
trait NoSelf {
    async fn make() -> u8;
}

#[dyn_trait(DynImplArg = dyn ImplArg)]
trait ImplArg {
    async fn show(&self, value: &impl std::fmt::Display) -> String;
}


#[dyn_trait(DynNested = dyn Nested)]
trait Nested {
    fn items(&self) -> Vec<impl std::fmt::Display>;
}

#[dyn_trait(DynYieldsImpl = dyn YieldsImpl)]
trait YieldsImpl {
    async fn items(&self) -> impl Iterator<Item = u8>;
}

#[dyn_trait(DynFutureOfImpl = dyn FutureOfImpl)]
trait FutureOfImpl {
    fn items(&self) -> impl std::future::Future<Output = impl Iterator<Item = u8>> + Send;
}

#[dyn_trait(DynReceiver = dyn Receiver)]
trait Receiver {
    async fn odd(self: std::rc::Rc<std::rc::Rc<Self>>) -> u8;
}

#[dyn_trait(DynForked = dyn Forked)]
trait Forked {
    async fn fork(&self) -> Self;
}

#[dyn_trait(DynMerged = dyn Merged)]
trait Merged {
    type Item;
    async fn merge(&mut self, other: &Self) -> Option<Self::Item>;
}

#[dyn_trait(DynProjected = dyn Projected)]
trait Projected {
    type Item;
    async fn first(&self) -> <Self as Projected>::Item;
}

fn main() {}
