// Traits and arguments `#[dyn_trait]` cannot take: each error names what was wrong.
use valuetask::dyn_trait;

#[dyn_trait(DynGat = dyn Gat)]
trait Gat {
    type Item<'a>;
    async fn get(&self) -> u8;
}

#[dyn_trait(DynConst = dyn Const)]
trait Const {
    const LIMIT: usize;
    async fn get(&self) -> u8;
}

#[dyn_trait(DynUnsafe = dyn Unsafe)]
unsafe trait Unsafe {
    async fn get(&self) -> u8;
}

#[dyn_trait(DynStrategy = dyn(inline) Strategy)]
trait Strategy {
    async fn get(&self) -> u8;
}

#[dyn_trait(DynBridge = dyn Bridge, bridge(all))]
trait Bridge {
    async fn get(&self) -> u8;
}

#[dyn_trait(DynOption = dyn Option2, fast)]
trait Option2 {
    async fn get(&self) -> u8;
}

#[dyn_trait(DynBlanket = dyn Blanket, blanket = dyn)]
trait Blanket {
    async fn get(&self) -> u8;
}

#[dyn_trait(DynBoth = dyn Both, lazy, boxed)]
trait Both {
    async fn get(&self) -> u8;
}

#[dyn_trait(DynGenericName = dyn GenericName<u8>)]
trait GenericName<T> {
    async fn get(&self) -> T;
}

#[dyn_trait]
trait Unnamed {
    async fn get(&self) -> u8;
}

#[dyn_trait(DynStruct = dyn Struct)]
struct Struct;

fn main() {}
