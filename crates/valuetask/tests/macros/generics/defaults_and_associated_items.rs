//! `#[value_task]` trait shape: default method bodies, `Self: Sized` methods, associated
//! types and consts, and synchronous methods next to async ones.

use crate::common;

use common::{drive, yield_once};
use valuetask::value_task;

#[value_task]
trait Repository: Send + Sync {
    type Id: Copy + Send + Sync + 'static;

    fn describe(&self) -> String {
        "repository".to_string()
    }
    async fn load(&self, id: Self::Id) -> Option<String>;
    async fn load_or(&self, id: Self::Id, fallback: &str) -> String {
        yield_once().await;
        self.load(id).await.unwrap_or_else(|| fallback.to_string())
    }
    async fn load_many(&mut self, ids: Vec<Self::Id>) -> usize {
        let mut n = 0;
        for id in ids {
            n += usize::from(self.load(id).await.is_some());
        }
        n
    }
    async fn consume(self) -> usize
    where
        Self: Sized,
    {
        0
    }
}

struct Memory;

#[value_task]
impl Repository for Memory {
    type Id = u32;

    async fn load(&self, id: u32) -> Option<String> {
        (id == 1).then(|| "one".to_string())
    }
}

/// Associated consts make a trait non-dyn-compatible (in Rust, not because of the macro):
/// this one is used statically.
#[value_task]
trait Named {
    const NAME: &'static str;
    async fn name(&self) -> &'static str {
        Self::NAME
    }
}

#[value_task]
impl Named for Memory {
    const NAME: &'static str = "memory";
}

#[test]
fn default_bodies_and_associated_types_work_through_dyn() {
    let repo: &dyn Repository<Id = u32> = &Memory;
    assert_eq!(repo.describe(), "repository");
    assert_eq!(drive(repo.load(1)).as_deref(), Some("one"));
    assert_eq!(drive(repo.load_or(2, "none")), "none");
    let mut boxed: Box<dyn Repository<Id = u32>> = Box::new(Memory);
    assert_eq!(drive(boxed.load_many(vec![1, 2, 1])), 2);
    assert_eq!(drive(Memory.consume()), 0);
}

#[test]
fn associated_consts_and_default_bodies_work_statically() {
    assert_eq!(drive(Memory.name()), "memory");
}

/// Default bodies of methods without a receiver: whether the future holds `Self` is read from
/// the body too, macro arguments included (`Self` only inside `vec![..]`, nested in
/// parentheses): then it gets `Self: Send` and `Self: 'value_task`, as async-trait gives;
/// otherwise nothing of `Self` is required, so a `!Send` implementor can use the default.
#[value_task]
trait Built: Sized {
    fn build() -> Self;

    async fn build_two() -> usize {
        // `Self` only inside a macro's arguments is the point of this body.
        #[allow(clippy::useless_vec)]
        let built = vec![(Self::build()), (Self::build())];
        yield_once().await;
        built.len()
    }

    async fn label() -> String {
        let number = 7;
        yield_once().await;
        format!("label {}", number)
    }
}

#[derive(Debug)]
struct Part;

impl Built for Part {
    fn build() -> Self {
        Part
    }
}

/// Not `Send`: only defaults that hold no `Self` apply to it.
impl Built for std::rc::Rc<u8> {
    fn build() -> Self {
        std::rc::Rc::new(0)
    }
}

#[test]
fn default_bodies_without_a_receiver_bound_self_only_when_they_hold_it() {
    fn send<T: Send>(value: T) -> T {
        value
    }
    // `build_two` holds `Vec<Self>` across its suspension: its value task is `Send` only
    // because the expansion required `Self: Send`.
    assert_eq!(drive(send(<Part as Built>::build_two())), 2);
    assert_eq!(drive(<std::rc::Rc<u8> as Built>::label()), "label 7");
    assert_eq!(drive(<Part as Built>::label()), "label 7");
}
