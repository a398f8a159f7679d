//! The trait shapes dynosaur accepts (its `tests/pass` and examples), each written once and
//! expanded under `#[dynosaur::dynosaur]` and under `#[valuetask::dyn_trait]` (the same
//! attribute arguments), with the same behaviour tests run through both.

use std::fmt::Display;
use std::future::Future;

use super::common::yield_once;

/// Block on `fut` (tokio's current-thread runtime: dynosaur's futures are not `Send`).
fn block_on<F: Future>(fut: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
        .block_on(fut)
}

macro_rules! shapes {
    ($($attr:tt)*) => {
        use super::*;

        // dynosaur's README: an iterator whose `next` is `async`, with an associated type.
        #[$($attr)*(DynNext = dyn(box) Next)]
        pub trait Next {
            type Item;
            async fn next(&mut self) -> Option<Self::Item>;
        }

        pub struct ForArray<T: Copy, const N: usize> {
            v: [T; N],
            i: usize,
        }

        impl<T: Copy, const N: usize> Next for ForArray<T, N> {
            type Item = T;
            async fn next(&mut self) -> Option<T> {
                if self.i >= self.v.len() {
                    return None;
                }
                yield_once().await;
                let item = self.v[self.i];
                self.i += 1;
                Some(item)
            }
        }

        async fn collect_dyn(iter: &mut DynNext<'_, i32>) -> Vec<i32> {
            let mut out = Vec::new();
            while let Some(item) = iter.next().await {
                out.push(item);
            }
            out
        }

        async fn collect_static(mut iter: impl Next<Item = i32>) -> Vec<i32> {
            let mut out = Vec::new();
            while let Some(item) = iter.next().await {
                out.push(item);
            }
            out
        }

        #[test]
        fn next_through_every_constructor_and_bridge() {
            let v = [1, 2, 3];
            block_on(async {
                let it = || ForArray { v, i: 0 };
                assert_eq!(collect_dyn(&mut DynNext::new_box(it())).await, v);
                assert_eq!(collect_dyn(&mut DynNext::from_box(Box::new(it()))).await, v);
                assert_eq!(collect_dyn(DynNext::from_mut(&mut it())).await, v);
                assert_eq!(collect_static(it()).await, v);
                assert_eq!(collect_static(DynNext::new_box(it())).await, v);
                assert_eq!(collect_static(DynNext::from_mut(&mut it())).await, v);
                let mut boxed: Box<DynNext<'static, i32>> = DynNext::new_box(it());
                assert_eq!(collect_static(&mut boxed).await, v);
            });
        }

        // dynosaur's `default_trait` example: a default body returning `impl Display`.
        #[$($attr)*(DynFoo = dyn(box) Foo)]
        pub trait Foo {
            fn foo(&self) -> impl Display {
                1
            }
        }

        impl Foo for i32 {}

        pub struct Named;

        impl Foo for Named {
            fn foo(&self) -> impl Display {
                "named"
            }
        }

        #[test]
        fn impl_display_through_the_dyn_form() {
            let show = |f: &DynFoo<'_>| f.foo().to_string();
            assert_eq!(show(&*DynFoo::new_box(1)), "1");
            assert_eq!(show(DynFoo::from_ref(&Named)), "named");
            let shared = DynFoo::new_arc(Named);
            assert_eq!(show(&shared), "named");
            let local = DynFoo::new_rc(7);
            assert_eq!(show(&local), "1");
            fn static_foo(f: impl Foo) -> String {
                f.foo().to_string()
            }
            assert_eq!(static_foo(&Named), "named");
            assert_eq!(static_foo(DynFoo::new_box(Named)), "named");
        }

        // A generic trait with a `Send` future, a synchronous method, and arguments
        // borrowing for two lifetimes.
        #[$($attr)*(pub DynStore = dyn(box) Store)]
        pub trait Store<K>: Send + Sync {
            fn get(&self, key: &K) -> impl Future<Output = Option<String>> + Send;
            async fn put(&mut self, key: &K, value: String) -> bool;
            fn len(&self) -> usize;
        }

        #[derive(Default)]
        pub struct Memory(Vec<(String, String)>);

        impl<K: Display + Sync> Store<K> for Memory {
            async fn get(&self, key: &K) -> Option<String> {
                let key = key.to_string();
                yield_once().await;
                self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone())
            }
            async fn put(&mut self, key: &K, value: String) -> bool {
                let key = key.to_string();
                let fresh = !self.0.iter().any(|(k, _)| *k == key);
                self.0.push((key, value));
                fresh
            }
            fn len(&self) -> usize {
                self.0.len()
            }
        }

        #[test]
        fn a_generic_store_through_the_dyn_form() {
            block_on(async {
                let mut store: Box<DynStore<'static, String>> =
                    DynStore::new_box(Memory::default());
                assert!(store.put(&"a".into(), "1".into()).await);
                assert!(!store.put(&"a".into(), "2".into()).await);
                assert_eq!(store.get(&"a".into()).await.as_deref(), Some("1"));
                assert_eq!(store.get(&"b".into()).await, None);
                assert_eq!(store.len(), 2);
                let mut numbers = Memory::default();
                let dyn_numbers: &mut DynStore<'_, u32> = DynStore::from_mut(&mut numbers);
                assert!(dyn_numbers.put(&7, "seven".into()).await);
                assert_eq!(dyn_numbers.get(&7).await.as_deref(), Some("seven"));
                assert_eq!(Store::<u32>::len(&numbers), 1);
            });
        }

        #[test]
        fn a_send_method_of_the_dyn_form_is_send() {
            fn assert_send<T: Send>(t: T) -> T {
                t
            }
            let store: Box<DynStore<'static, String>> = DynStore::new_box(Memory::default());
            let missing =
                block_on(assert_send(async move { store.get(&"x".into()).await.is_none() }));
            assert!(missing);
        }

        // dynosaur's argument-position `impl Trait`: by value, boxed through the `dyn` form,
        // where `Box<dyn Shape>` implements `Shape`.
        pub trait Shape {
            fn area(&self) -> u32;
        }

        impl Shape for u32 {
            fn area(&self) -> u32 {
                *self * *self
            }
        }

        impl Shape for Box<dyn Shape + '_> {
            fn area(&self) -> u32 {
                (**self).area()
            }
        }

        #[$($attr)*(DynMeasure = dyn(box) Measure)]
        pub trait Measure {
            fn measure(&self, shape: impl Shape) -> u32;
            async fn measure_later(&self, shape: impl Shape) -> u32;
        }

        // basic-apit's third method: a future argument, pinned in its box.
        #[$($attr)*(DynTakesFuture = dyn(box) TakesFuture)]
        pub trait TakesFuture {
            fn baz(&self, fut: impl Future<Output = i32>) -> i32;
        }

        impl TakesFuture for Doubler {
            fn baz(&self, fut: impl Future<Output = i32>) -> i32 {
                2 * futures::executor::block_on(fut)
            }
        }

        pub struct Doubler;

        impl Measure for Doubler {
            fn measure(&self, shape: impl Shape) -> u32 {
                2 * shape.area()
            }
            async fn measure_later(&self, shape: impl Shape) -> u32 {
                yield_once().await;
                2 * shape.area()
            }
        }

        // dynosaur's tests/pass, one trait each: wildcard arguments, no output, `-> impl
        // Send`, a generic service with associated types, lifetimes of the trait and of the
        // method with a `where` clause, an iterator borrowing `self`, a `Send` supertrait.
        #[$($attr)*(DynAnonymous = dyn(box) Anonymous)]
        pub trait Anonymous {
            async fn f(&self, _: &u8, _: &u8) -> u8;
            async fn no_output(&self);
            fn opaque(&self) -> impl Send;
        }

        #[$($attr)*(DynService = dyn(box) Service)]
        pub trait Service<Request> {
            type Response;
            type Error;
            fn call(&self, req: Request) -> impl Future<Output = Result<Self::Response, Self::Error>>;
        }

        #[$($attr)*(DynLifetimes = dyn(box) Lifetimes)]
        pub trait Lifetimes<'a, 'b> {
            async fn lotsa_lifetimes<'d, 'e, 'f>(&self, a: &'d u32, b: &'e u32, c: &'f u32) -> &'a u32
            where
                'b: 'a;
        }

        #[$($attr)*(DynIterate = dyn(box) Iterate)]
        pub trait Iterate {
            fn get_iter(&mut self) -> impl Iterator<Item = u8> + '_;
        }

        #[$($attr)*(DynSendFoo = dyn(box) SendFoo)]
        pub trait SendFoo: Send {
            fn foo(&self) -> impl Future<Output = i32> + Send;
        }

        pub struct Many(u32, Vec<u8>);

        impl Anonymous for Many {
            async fn f(&self, a: &u8, b: &u8) -> u8 {
                a + b
            }
            async fn no_output(&self) {}
            fn opaque(&self) -> impl Send {
                self.0
            }
        }

        impl Service<u32> for Many {
            type Response = u32;
            type Error = String;
            async fn call(&self, req: u32) -> Result<u32, String> {
                yield_once().await;
                req.checked_sub(self.0).ok_or_else(|| "too small".to_string())
            }
        }

        impl<'a, 'b> Lifetimes<'a, 'b> for &'a Many {
            async fn lotsa_lifetimes<'d, 'e, 'f>(&self, a: &'d u32, b: &'e u32, c: &'f u32) -> &'a u32
            where
                'b: 'a,
            {
                let _ = (a, b, c);
                &self.0
            }
        }

        impl Iterate for Many {
            fn get_iter(&mut self) -> impl Iterator<Item = u8> + '_ {
                self.1.iter().copied()
            }
        }

        impl SendFoo for Many {
            async fn foo(&self) -> i32 {
                7
            }
        }

        #[test]
        fn dynosaurs_pass_shapes_through_the_dyn_form() {
            let mut many = Many(3, vec![1, 2]);
            block_on(async {
                let anonymous = DynAnonymous::from_ref(&many);
                assert_eq!(anonymous.f(&1, &2).await, 3);
                anonymous.no_output().await;
                let _opaque = anonymous.opaque();
                let service: &DynService<'_, u32, u32, String> = DynService::from_ref(&many);
                assert_eq!(service.call(5).await, Ok(2));
                assert_eq!(service.call(1).await, Err("too small".to_string()));
                let by_ref = &many;
                let lifetimes: &DynLifetimes<'_, '_, '_> = DynLifetimes::from_ref(&by_ref);
                assert_eq!(*lifetimes.lotsa_lifetimes(&1, &2, &3).await, 3);
                let send_foo = DynSendFoo::new_box(Many(0, Vec::new()));
                assert_eq!(send_foo.foo().await, 7);
            });
            let iterate = DynIterate::from_mut(&mut many);
            assert_eq!(iterate.get_iter().collect::<Vec<_>>(), [1, 2]);
        }

        #[test]
        fn impl_trait_arguments_through_the_dyn_form() {
            let measure = DynMeasure::new_box(Doubler);
            assert_eq!(measure.measure(3), 18);
            assert_eq!(block_on(measure.measure_later(2)), 8);
            assert_eq!(DynTakesFuture::from_ref(&Doubler).baz(async { 4 }), 8);
        }
    };
}

mod through_dynosaur {
    shapes!(dynosaur::dynosaur);
}

mod through_valuetask {
    shapes!(valuetask::dyn_trait);
}
