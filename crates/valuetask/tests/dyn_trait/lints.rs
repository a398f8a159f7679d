//! The expansion of `#[dyn_trait]` is lint-clean: these shapes compile where rustc's warnings
//! and clippy's default and pedantic groups are denied (CI runs clippy with `-D warnings`
//! over the tests), and under `forbid(unsafe_code)`: an expansion's `unsafe` blocks (the
//! casts of the `dyn` form, and `borrowing` below) are the macro's, which the lint does not
//! look into.

#![deny(
    warnings,
    rust_2018_idioms,
    unused_qualifications,
    clippy::all,
    clippy::pedantic
)]

/// A trait whose methods borrow for one lifetime at most, every receiver. Public, from the
/// crate's root down, under `missing_docs` (dynosaur 0.3.1 fixed its expansion for it): the
/// hidden trait is `doc(hidden)`, which covers its items, and the rest is documented.
pub mod safe {
    #![forbid(unsafe_code)]
    #![deny(missing_docs)]
    // Advice to the traits' author, given now that they are public (their `async fn`s, a
    // `len` without `is_empty`), not about the expansion.
    #![allow(async_fn_in_trait, clippy::len_without_is_empty)]

    use std::fmt::Display;
    use std::future::Future;
    use std::pin::Pin;
    use std::rc::Rc;
    use std::sync::Arc;

    use valuetask::dyn_trait;

    /// A store of values.
    #[dyn_trait(pub DynStore = dyn(box) Store)]
    pub trait Store: Send + Sync {
        /// A value.
        type Value: Clone;
        /// By key.
        async fn get(&self, key: u32) -> Option<Self::Value>;
        /// A `Send` future.
        fn get_send(&self, key: u32) -> impl Future<Output = Option<Self::Value>> + Send;
        /// Stores one.
        async fn put(&mut self, key: u32, value: Self::Value);
        /// Its size, now.
        fn len(&self) -> usize;
        /// A description.
        fn describe(&self) -> impl Display;
        /// Consumes a box of it.
        async fn into_values(self: Box<Self>) -> Vec<Self::Value>;
        /// A pinned receiver.
        async fn pinned(self: Pin<&mut Self>) -> usize;
        /// Counted receivers.
        async fn shared(self: Arc<Self>) -> usize;
        /// Counted receivers.
        async fn local(self: Rc<Self>) -> usize;
        /// A default body.
        async fn get_or(&self, key: u32, default: Self::Value) -> Self::Value {
            self.get(key).await.unwrap_or(default)
        }
        /// Left out of the `dyn` form.
        fn into_inner(self) -> Vec<Self::Value>
        where
            Self: Sized;
    }

    /// Generic over a constant.
    #[dyn_trait(pub DynFixed = dyn Fixed)]
    pub trait Fixed<const N: usize> {
        /// `N` bytes.
        async fn bytes(&self) -> [u8; N];
    }

    /// Generic over its key, with a lifetime.
    #[dyn_trait(pub DynKeyed = dyn Keyed, bridge(dyn))]
    pub trait Keyed<'k, K: 'k> {
        /// By key.
        async fn find(&self, key: K) -> Option<&'k str>;
    }

    #[derive(Default)]
    struct Memory(Vec<(u32, String)>);

    impl Store for Memory {
        type Value = String;
        async fn get(&self, key: u32) -> Option<String> {
            self.0
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.clone())
        }
        async fn get_send(&self, key: u32) -> Option<String> {
            self.get(key).await
        }
        async fn put(&mut self, key: u32, value: String) {
            self.0.push((key, value));
        }
        fn len(&self) -> usize {
            self.0.len()
        }
        fn describe(&self) -> impl Display {
            format!("{} values", self.0.len())
        }
        async fn into_values(self: Box<Self>) -> Vec<String> {
            self.0.into_iter().map(|(_, v)| v).collect()
        }
        async fn pinned(self: Pin<&mut Self>) -> usize {
            self.0.len() + 1
        }
        async fn shared(self: Arc<Self>) -> usize {
            self.0.len() + 2
        }
        async fn local(self: Rc<Self>) -> usize {
            self.0.len() + 3
        }
        fn into_inner(self) -> Vec<String> {
            self.into_values_now()
        }
    }

    impl Memory {
        fn into_values_now(self) -> Vec<String> {
            self.0.into_iter().map(|(_, v)| v).collect()
        }
    }

    struct Names(&'static [&'static str]);

    impl<const N: usize> Fixed<N> for Names {
        async fn bytes(&self) -> [u8; N] {
            [u8::try_from(self.0.len()).unwrap_or(u8::MAX); N]
        }
    }

    impl Keyed<'static, usize> for Names {
        async fn find(&self, key: usize) -> Option<&'static str> {
            self.0.get(key).copied()
        }
    }

    #[test]
    fn every_receiver_through_the_dyn_form() {
        futures::executor::block_on(async {
            let mut store: Box<DynStore<'_, String>> = DynStore::new_box(Memory::default());
            store.put(1, "one".to_owned()).await;
            assert_eq!(store.get(1).await.as_deref(), Some("one"));
            assert_eq!(store.get_send(2).await, None);
            assert_eq!(store.get_or(2, "none".to_owned()).await, "none");
            assert_eq!(
                (store.len(), store.describe().to_string()),
                (1, "1 values".to_owned())
            );
            let mut pinned = Box::into_pin(store);
            assert_eq!(pinned.as_mut().pinned().await, 2);
            // The pinned box cannot be unpinned (a `dyn` form is not `Unpin`): a new one.
            let mut store: Box<DynStore<'_, String>> = DynStore::new_box(Memory::default());
            store.put(1, "one".to_owned()).await;
            assert_eq!(store.into_values().await, ["one"]);
            assert_eq!(DynStore::new_arc(Memory::default()).shared().await, 2);
            assert_eq!(DynStore::new_rc(Memory::default()).local().await, 3);
            assert_eq!(Memory::default().into_inner(), Vec::<String>::new());
            let names = Names(&["zero", "one"]);
            let keyed: &DynKeyed<'_, 'static, usize> = DynKeyed::from_ref(&names);
            assert_eq!(keyed.find(1).await, Some("one"));
            let fixed: &DynFixed<'_, 2> = DynFixed::from_ref(&names);
            assert_eq!(fixed.bytes().await, [2, 2]);
        });
    }
}

/// A trait whose methods borrow for two lifetimes (an `impl Trait` argument counts as one):
/// the expansion's `unsafe` block of the unnamed lifetime, under `forbid(unsafe_code)` (an `allow` of the lint
/// there would be an error).
mod borrowing {
    #![forbid(unsafe_code)]

    use std::fmt::Display;
    use std::future::Future;

    use valuetask::dyn_trait;

    /// Looks values up.
    #[dyn_trait(DynLookup = dyn Lookup)]
    pub trait Lookup {
        /// By name.
        async fn lookup(&self, name: &str) -> Option<u64>;
        /// By two names.
        async fn lookup_pair<'a>(&self, first: &'a str, second: &str) -> (&'a str, u64);
        /// A `Send` argument in a `Send` future, boxed through the `dyn` form.
        fn label(&self, prefix: impl Display + Send) -> impl Future<Output = String> + Send;
        /// A receiver that owns the `dyn` form, with a borrowed argument.
        async fn consume(self: Box<Self>, name: &str) -> u64;
    }

    struct Lengths;

    impl Lookup for Lengths {
        async fn lookup(&self, name: &str) -> Option<u64> {
            u64::try_from(name.len()).ok()
        }
        async fn lookup_pair<'a>(&self, first: &'a str, second: &str) -> (&'a str, u64) {
            let total = first.len() + second.len();
            (first, u64::try_from(total).unwrap_or(u64::MAX))
        }
        async fn label(&self, prefix: impl Display + Send) -> String {
            format!("{prefix}!")
        }
        async fn consume(self: Box<Self>, name: &str) -> u64 {
            u64::try_from(name.len()).unwrap_or(u64::MAX)
        }
    }

    #[test]
    fn borrowing_methods_through_the_dyn_form() {
        let lookup = DynLookup::from_ref(&Lengths);
        let second = String::from("cd");
        futures::executor::block_on(async {
            assert_eq!(lookup.lookup("abc").await, Some(3));
            assert_eq!(lookup.lookup_pair("ab", &second).await, ("ab", 4));
            assert_eq!(lookup.label("hi").await, "hi!");
            assert_eq!(DynLookup::new_box(Lengths).consume(&second).await, 2);
        });
    }
}

/// The shapes whose expansion names lifetimes or bounds the user did not write: an
/// `impl Trait` argument bounded by `'static` (its box keeps it), a method lifetime only the
/// output names, a plain method whose elided output the erased method names, and a bound on
/// an associated type in the trait's `where` clause.
mod named_for_the_user {
    #![forbid(unsafe_code)]

    use std::fmt::{Debug, Display};

    use valuetask::dyn_trait;

    /// Runs jobs.
    #[dyn_trait(DynRunner = dyn(box) Runner)]
    pub trait Runner
    where
        Self::Output: Debug,
    {
        /// What a job gives.
        type Output;
        /// A job kept past the call.
        async fn run(&self, job: impl FnOnce() -> u8 + Send + 'static) -> u8;
        /// The last output.
        async fn last(&self) -> Self::Output;
        /// A name of any lifetime.
        async fn name<'a>(&self) -> &'a str;
        /// `prefix` without `tag`.
        fn strip(self: Box<Self>, prefix: &str, tag: impl Display) -> &str;
    }

    struct Inline;

    impl Runner for Inline {
        type Output = u8;
        async fn run(&self, job: impl FnOnce() -> u8 + Send + 'static) -> u8 {
            job()
        }
        async fn last(&self) -> u8 {
            1
        }
        async fn name<'a>(&self) -> &'a str {
            "inline"
        }
        fn strip(self: Box<Self>, prefix: &str, tag: impl Display) -> &str {
            prefix
                .strip_suffix(tag.to_string().as_str())
                .unwrap_or(prefix)
        }
    }

    #[test]
    fn the_dyn_form_runs_them() {
        let runner = DynRunner::new_box(Inline);
        futures::executor::block_on(async {
            assert_eq!(runner.run(|| 3).await, 3);
            assert_eq!(format!("{:?}", runner.last().await), "1");
            assert_eq!(runner.name().await, "inline");
        });
        assert_eq!(runner.strip("a-b", "-b"), "a");
    }
}

/// A trait ported from C#: a method named in `PascalCase` with its lint allowed, and a
/// deprecated one. The generated copies of each method keep the allowance, and the generated
/// calls of a deprecated method do not warn (only the user's own calls do).
mod ported {
    #![forbid(unsafe_code)]

    use valuetask::dyn_trait;

    /// A repository ported from C#.
    #[dyn_trait(pub DynRepository = dyn Repository)]
    pub trait Repository {
        /// The object with `id`.
        #[allow(non_snake_case)]
        async fn GetObject(&self, id: u32) -> u32;
        /// The object with `id`, by its old name.
        #[deprecated(note = "use `GetObject`")]
        async fn get(&self, id: u32) -> u32;
        /// How many objects there are.
        #[expect(non_snake_case)]
        fn Count(&self) -> usize;
        /// Whether the repository is empty.
        #[cfg_attr(all(), allow(non_snake_case))]
        async fn IsEmpty(&self) -> bool;
    }

    struct Memory;

    impl Repository for Memory {
        async fn GetObject(&self, id: u32) -> u32 {
            id + 1
        }
        async fn get(&self, id: u32) -> u32 {
            id
        }
        fn Count(&self) -> usize {
            1
        }
        async fn IsEmpty(&self) -> bool {
            false
        }
    }

    #[test]
    fn allowances_reach_the_generated_copies() {
        let repository = DynRepository::new_box(Memory);
        assert_eq!(futures::executor::block_on(repository.GetObject(1)), 2);
        #[allow(deprecated)]
        let old = futures::executor::block_on(repository.get(3));
        assert_eq!(old, 3);
        assert_eq!(repository.Count(), 1);
        assert!(!futures::executor::block_on(repository.IsEmpty()));
    }
}

/// The trait's own lint attributes reach every generated item: a trait-wide allowance (or
/// expectation, fulfilled by the trait) of the methods' names, and a deprecated trait (the
/// generated impls name it and do not warn; the user's own impl does, and allows it). (A
/// `cfg` on the trait needs nothing: rustc applies it before any attribute macro runs,
/// wherever it is written.)
mod trait_attributes {
    #![forbid(unsafe_code)]

    use valuetask::dyn_trait;

    /// A trait ported from C#, its names allowed trait-wide.
    #[dyn_trait(pub DynCatalog = dyn(box) Catalog)]
    #[allow(non_snake_case)]
    pub trait Catalog {
        /// The item with `id`.
        async fn GetItem(&self, id: u32) -> u32;
    }

    /// The same, with an expectation.
    #[dyn_trait(pub DynIndex = dyn(box) Index)]
    #[expect(non_snake_case)]
    pub trait Index {
        /// The position of `id`.
        async fn Find(&self, id: u32) -> u32;
    }

    /// A deprecated trait.
    #[deprecated(note = "use `Catalog`")]
    #[dyn_trait(pub DynOld = dyn(box) Old)]
    pub trait Old {
        /// The item with `id`.
        async fn get(&self, id: u32) -> u32;
    }

    struct Memory;

    impl Catalog for Memory {
        async fn GetItem(&self, id: u32) -> u32 {
            id + 1
        }
    }

    impl Index for Memory {
        async fn Find(&self, id: u32) -> u32 {
            id * 2
        }
    }

    #[allow(deprecated)]
    impl Old for Memory {
        async fn get(&self, id: u32) -> u32 {
            id
        }
    }

    #[test]
    fn the_traits_attributes_reach_the_generated_items() {
        let catalog = DynCatalog::new_box(Memory);
        assert_eq!(futures::executor::block_on(catalog.GetItem(1)), 2);
        let index = DynIndex::new_box(Memory);
        assert_eq!(futures::executor::block_on(index.Find(2)), 4);
        #[allow(deprecated)]
        let old = futures::executor::block_on(DynOld::new_box(Memory).get(3));
        assert_eq!(old, 3);
    }
}
