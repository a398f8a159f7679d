// A `dyn` form naming a trait that does not exist (a misspelling): the error is at that name,
// not only where the `dyn` form is used (the attribute leaves a trait of another name alone,
// for `trait_variant::make`'s other variant).
use valuetask::dyn_trait;

#[dyn_trait(DynStore = dyn Stor)]
trait Store {
    async fn get(&self) -> u8;
}

fn main() {}
