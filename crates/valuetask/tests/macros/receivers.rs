//! `#[value_task]` trait shape: `&self`, `&mut self`, `self: Box<Self>`, and associated
//! functions without a receiver; called through `dyn` where object safe; `self: Rc<Self>`.

use crate::common;

use common::{drive, yield_once};
use valuetask::value_task;

#[value_task]
trait Counter: Send + Sync {
    async fn get(&self) -> u64;
    async fn add(&mut self, n: u64) -> u64;
    async fn into_total(self: Box<Self>) -> u64;
    async fn make() -> Self
    where
        Self: Sized;
}

struct Simple(u64);

#[value_task]
impl Counter for Simple {
    async fn get(&self) -> u64 {
        self.0
    }
    async fn add(&mut self, n: u64) -> u64 {
        yield_once().await;
        self.0 += n;
        self.0
    }
    async fn into_total(self: Box<Self>) -> u64 {
        self.0 * 10
    }
    async fn make() -> Self {
        Simple(1)
    }
}

#[test]
fn every_receiver_works_statically_and_through_dyn() {
    let mut c = drive(Simple::make());
    assert_eq!(drive(c.get()), 1);
    assert_eq!(drive(c.add(2)), 3);
    let mut boxed: Box<dyn Counter> = Box::new(c);
    assert_eq!(drive(boxed.add(1)), 4);
    assert_eq!(drive(boxed.get()), 4);
    assert_eq!(drive(boxed.into_total()), 40);
}

/// An `Rc` receiver: fine under `?Send` (a `LocalValueTask`), and fine in the default mode
/// when the body cannot suspend (it runs as a closure, no future holds the `Rc`).
#[value_task(?Send)]
trait LocalNode {
    async fn weight(self: std::rc::Rc<Self>) -> usize;
}

struct Node;

#[value_task(?Send)]
impl LocalNode for Node {
    async fn weight(self: std::rc::Rc<Self>) -> usize {
        yield_once().await;
        std::rc::Rc::strong_count(&self)
    }
}

#[value_task]
impl Node {
    async fn count(self: std::rc::Rc<Self>) -> usize {
        std::rc::Rc::strong_count(&self)
    }
}

#[test]
fn an_rc_receiver_works_under_question_send_and_in_a_body_that_cannot_suspend() {
    let node = std::rc::Rc::new(Node);
    assert_eq!(drive(std::rc::Rc::clone(&node).weight()), 2);
    assert_eq!(drive(std::rc::Rc::clone(&node).count()), 2);
}

/// Default bodies hold their receiver across a suspension, so what they need of `Self` (for a
/// `Send` future) follows the receiver, as in async-trait: `&self` and `Pin<&Self>` need
/// `Self: Sync` only, `Arc<Self>` needs `Send + Sync`. No supertraits here, so the bounds the
/// expansion adds are all there is.
#[value_task]
trait DefaultReceivers {
    fn value(&self) -> u64;

    async fn through_ref(&self) -> u64 {
        yield_once().await;
        self.value()
    }

    async fn through_pinned_ref(self: std::pin::Pin<&Self>) -> u64 {
        yield_once().await;
        self.value() + 1
    }

    async fn through_arc(self: std::sync::Arc<Self>) -> u64 {
        yield_once().await;
        self.value() + 2
    }
}

/// `Send` and `Sync`.
struct Anywhere(u64);

impl DefaultReceivers for Anywhere {
    fn value(&self) -> u64 {
        self.0
    }
}

/// `Sync` but not `Send` (a `MutexGuard` may not move to another thread).
struct SyncOnly(std::marker::PhantomData<std::sync::MutexGuard<'static, ()>>);

impl DefaultReceivers for SyncOnly {
    fn value(&self) -> u64 {
        10
    }
}

#[test]
fn default_bodies_require_of_self_what_their_receiver_needs_and_no_more() {
    fn send<T: Send>(value: T) -> T {
        value
    }
    let anywhere = std::sync::Arc::new(Anywhere(5));
    assert_eq!(drive(send(anywhere.through_ref())), 5);
    assert_eq!(
        drive(send(std::pin::Pin::new(&*anywhere).through_pinned_ref())),
        6
    );
    assert_eq!(drive(send(anywhere.clone().through_arc())), 7);
    let sync_only = SyncOnly(std::marker::PhantomData);
    assert_eq!(drive(send(sync_only.through_ref())), 10);
    assert_eq!(
        drive(send(std::pin::Pin::new(&sync_only).through_pinned_ref())),
        11
    );
}

/// An elided output borrows from a `Pin<&Self>` receiver, not from another reference
/// argument, as Rust's elision rules say for any receiver holding `&Self`.
#[value_task]
trait Picker: Send + Sync + Unpin {
    async fn pick(self: std::pin::Pin<&Self>, other: &str) -> &str;
}

struct Named(String);

#[value_task]
impl Picker for Named {
    async fn pick(self: std::pin::Pin<&Self>, other: &str) -> &str {
        yield_once().await;
        if other.is_empty() {
            ""
        } else {
            &self.get_ref().0
        }
    }
}

#[test]
fn an_elided_output_borrows_from_a_pinned_receiver() {
    let named = Named("from self".to_string());
    let picked = {
        let other = String::from("x");
        drive(std::pin::Pin::new(&named).pick(&other))
    };
    // `other` is gone: the result borrows only `named`.
    assert_eq!(picked, "from self");
    let service: &dyn Picker = &named;
    assert_eq!(drive(std::pin::Pin::new(service).pick("y")), "from self");
}

/// An impl a `macro_rules!` writes with the receiver as a parameter (`&$self`): the body's
/// `self` and the expansion's own use of it (the `Send` check of a suspending body) resolve
/// with the hygiene of the `self` the macro was given.
mod receiver_from_a_macro_parameter {
    use super::*;

    #[value_task]
    pub trait Store: Send + Sync {
        async fn get(&self) -> u64;
        async fn bump(&mut self) -> u64;
    }

    pub struct Cell(u64);

    macro_rules! store_impl {
        ($t:ty, $self:ident) => {
            #[value_task]
            impl Store for $t {
                async fn get(&$self) -> u64 {
                    yield_once().await;
                    $self.0
                }
                async fn bump(&mut $self) -> u64 {
                    yield_once().await;
                    $self.0 += 1;
                    $self.0
                }
            }
        };
    }

    store_impl!(Cell, self);

    #[test]
    fn a_suspending_body_with_the_receiver_from_a_macro_parameter_works() {
        let mut cell = Cell(4);
        assert_eq!(drive(cell.bump()), 5);
        let store: &dyn Store = &cell;
        assert_eq!(drive(store.get()), 5);
    }
}
