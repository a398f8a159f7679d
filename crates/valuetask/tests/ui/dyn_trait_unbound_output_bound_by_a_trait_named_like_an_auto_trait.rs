// Attack: a `dyn` form's method borrowing for two lifetimes returns its value task with no
// lifetime (`Unbound`), allowed only beside the standard library's `Future`, `Send`, `Sync`
// and `Unpin`. A trait of the user's named `Unpin`, implemented for that lifetime-less type,
// could keep the value past the borrowed key (a use after free, in safe code). The bound must
// be one every `Unpin` type meets, which this one is not.
use std::cell::RefCell;
use std::future::Future;
use valuetask::dyn_trait;
use valuetask::macro_support::UnboundLocal;

mod m {
    pub trait Unpin {
        fn stash(self);
    }
}

thread_local!(static STASH: RefCell<Vec<UnboundLocal<usize>>> = const { RefCell::new(Vec::new()) });

impl m::Unpin for UnboundLocal<usize> {
    fn stash(self) {
        STASH.with(|s| s.borrow_mut().push(self));
    }
}

#[dyn_trait(DynStore = dyn Store)]
trait Store {
    fn get(&self, key: &str) -> impl Future<Output = usize> + m::Unpin;
}

fn main() {
    let store: Box<DynStore<'static>> = unimplemented_store();
    {
        let key = String::from("freed");
        m::Unpin::stash(store.get(&key));
    }
}

fn unimplemented_store() -> Box<DynStore<'static>> {
    panic!("never called: the program does not compile")
}
