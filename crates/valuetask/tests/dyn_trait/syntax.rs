//! The attribute's forms: dynosaur 0.3's and 0.2's, `bridge(..)`, the `trait_variant::make`
//! pattern (through dynosaur and through ours), and `#[value_task]`'s options (`lazy`,
//! `boxed`, `?Send`) with the eager start they change.

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;

use super::common::{drive, now, poll_once, yield_once};
use valuetask::dyn_trait;

macro_rules! variants {
    ($($attr:tt)*) => {
        use super::*;

        // dynosaur's `trait_variant` example: a `Send` variant made by trait_variant, and a
        // `dyn` form for each, bridged to the `dyn` form only (trait_variant's blanket impl
        // already covers the rest).
        #[trait_variant::make(SendNext: Send)]
        #[$($attr)*(DynNext = dyn(box) Next, bridge(dyn))]
        #[$($attr)*(DynSendNext = dyn(box) SendNext, bridge(dyn))]
        pub trait Next {
            type Item;
            async fn next(&mut self) -> Option<Self::Item>;
        }

        pub struct Countdown(u32);

        impl SendNext for Countdown {
            type Item = u32;
            async fn next(&mut self) -> Option<u32> {
                yield_once().await;
                self.0 = self.0.checked_sub(1)?;
                Some(self.0)
            }
        }

        async fn drain_send(iter: &mut DynSendNext<'_, u32>) -> Vec<u32> {
            let mut out = Vec::new();
            while let Some(item) = iter.next().await {
                out.push(item);
            }
            out
        }

        async fn drain_local(iter: &mut DynNext<'_, u32>) -> Vec<u32> {
            let mut out = Vec::new();
            while let Some(item) = iter.next().await {
                out.push(item);
            }
            out
        }

        async fn drain_static(mut iter: impl Next<Item = u32>) -> Vec<u32> {
            let mut out = Vec::new();
            while let Some(item) = iter.next().await {
                out.push(item);
            }
            out
        }

        #[test]
        fn both_variants_and_their_dyn_forms() {
            fn assert_send<T: Send>(t: T) -> T {
                t
            }
            let mut sent = DynSendNext::new_box(Countdown(3));
            assert_eq!(drive(assert_send(async move { drain_send(&mut sent).await })), [2, 1, 0]);
            assert_eq!(drive(drain_local(DynNext::from_mut(&mut Countdown(2)))), [1, 0]);
            assert_eq!(drive(drain_static(Countdown(1))), [0]);
            assert_eq!(drive(drain_static(DynNext::new_box(Countdown(2)))), [1, 0]);
            assert_eq!(drive(drain_static(&mut *DynSendNext::new_box(Countdown(1)))), [0]);
        }
    };
}

mod variants_through_dynosaur {
    variants!(dynosaur::dynosaur);
}

mod variants_through_valuetask {
    variants!(valuetask::dyn_trait);
}

/// dynosaur 0.2's forms (the name alone, `= dyn Trait`, its `boxed` constructor) and 0.3's
/// `= dyn(box)` without the trait's name.
mod dynosaur_0_2 {
    use super::*;

    #[dyn_trait(DynAlone)]
    trait Alone {
        async fn get(&self) -> u8;
    }

    #[dyn_trait(DynNamed = dyn Named)]
    trait Named {
        async fn get(&self) -> u8;
    }

    // dynosaur 0.3's form without the trait's name.
    #[dyn_trait(DynUnnamed = dyn(box))]
    trait Unnamed {
        async fn get(&self) -> u8;
    }

    impl Unnamed for Seven {
        async fn get(&self) -> u8 {
            7
        }
    }

    struct Seven;

    impl Alone for Seven {
        async fn get(&self) -> u8 {
            7
        }
    }

    impl Named for Seven {
        async fn get(&self) -> u8 {
            7
        }
    }

    #[test]
    fn the_name_alone_and_the_boxed_constructor() {
        let alone: Box<DynAlone<'_>> = DynAlone::boxed(Seven);
        assert_eq!(now(Alone::get(&*alone)), 7);
        let named: Box<DynNamed<'_>> = DynNamed::boxed(Seven);
        assert_eq!(now(Named::get(&*named)), 7);
        assert_eq!(now(Unnamed::get(DynUnnamed::from_ref(&Seven))), 7);
    }
}

/// The bridges: for `&T`, `&mut T` and `Box<T>` by default after `dyn(box)`; none with
/// `bridge(none)` or in 0.2's forms, where a crate wrote its own (which must not overlap).
mod bridges {
    use super::*;

    #[dyn_trait(DynPlain = dyn(box) Plain)]
    trait Plain {
        async fn get(&self) -> u8;
    }

    #[dyn_trait(DynOwnBridge = dyn(box) OwnBridge, bridge(none))]
    trait OwnBridge {
        async fn get(&self) -> u8;
    }

    /// dynosaur 0.2's form: its users wrote the bridges they needed.
    #[dyn_trait(DynOldBridge = dyn OldBridge)]
    trait OldBridge {
        async fn get(&self) -> u8;
    }

    impl<T: OwnBridge + ?Sized> OwnBridge for Box<T> {
        async fn get(&self) -> u8 {
            (**self).get().await + 10
        }
    }

    impl<T: OldBridge + ?Sized> OldBridge for Box<T> {
        async fn get(&self) -> u8 {
            (**self).get().await + 20
        }
    }

    impl OwnBridge for One {
        async fn get(&self) -> u8 {
            1
        }
    }

    impl OldBridge for One {
        async fn get(&self) -> u8 {
            1
        }
    }

    #[test]
    fn no_bridges_where_the_crate_writes_its_own() {
        fn own<P: OwnBridge>(p: P) -> u8 {
            now(p.get())
        }
        fn old<P: OldBridge>(p: P) -> u8 {
            now(p.get())
        }
        assert_eq!(own(Box::new(One)), 11);
        assert_eq!(own(DynOwnBridge::new_box(One)), 11);
        assert_eq!(old(DynOldBridge::boxed(One)), 21);
        assert_eq!(now(DynOldBridge::from_ref(&One).get()), 1);
    }

    struct One;

    impl Plain for One {
        async fn get(&self) -> u8 {
            1
        }
    }

    fn through<P: Plain>(p: P) -> u8 {
        now(p.get())
    }

    #[test]
    fn blanket_bridges_for_references_and_boxes() {
        assert_eq!(through(&One), 1);
        assert_eq!(through(&mut One), 1);
        assert_eq!(through(Box::new(One)), 1);
        assert_eq!(through(DynPlain::new_box(One)), 1);
        assert_eq!(through(DynPlain::from_ref(&One)), 1);
    }

    /// `bridge(blanket)` named: the bridges of 0.3's default, also in 0.2's form (which has
    /// none by default).
    #[dyn_trait(DynNamedBlanket = dyn NamedBlanket, bridge(blanket))]
    trait NamedBlanket {
        async fn get(&self) -> u8;
    }

    impl NamedBlanket for One {
        async fn get(&self) -> u8 {
            3
        }
    }

    #[test]
    fn bridge_blanket_named_in_a_0_2_form() {
        fn named<P: NamedBlanket>(p: P) -> u8 {
            now(p.get())
        }
        assert_eq!(named(&One), 3);
        assert_eq!(named(&mut One), 3);
        assert_eq!(named(Box::new(One)), 3);
        assert_eq!(named(DynNamedBlanket::boxed(One)), 3);
    }

    #[dyn_trait(DynSizedDefault = dyn(box) SizedDefault)]
    trait SizedDefault {
        async fn get(&self) -> u8;
        async fn doubled(&self) -> u8
        where
            Self: Sized,
        {
            0
        }
    }

    impl SizedDefault for One {
        async fn get(&self) -> u8 {
            1
        }
        async fn doubled(&self) -> u8 {
            2
        }
    }

    /// As documented (the crate docs of `dyn_trait`): a bridge forwards the `dyn` form's
    /// methods, and a `where Self: Sized` one runs the trait's default body on the pointer.
    #[test]
    fn a_bridge_runs_a_sized_only_methods_default_body() {
        fn both<P: SizedDefault>(p: P) -> (u8, u8) {
            (now(p.get()), now(p.doubled()))
        }
        assert_eq!(both(One), (1, 2));
        assert_eq!(both(&One), (1, 0));
        assert_eq!(both(Box::new(One)), (1, 0));
    }
}

/// A body runs at the call through the `dyn` form (eager, as `#[value_task]`), or at the first
/// poll with `lazy`; `boxed` changes where it is kept only; `?Send` is accepted and changes
/// nothing (an `async fn`'s value task is local already, a `Send` future's stays `Send`).
mod options {
    use super::*;

    #[dyn_trait(DynEager = dyn Eager)]
    trait Eager {
        async fn run(&self, ran: Rc<Cell<bool>>) -> u8;
    }

    #[dyn_trait(DynLazy = dyn Lazy, lazy)]
    trait Lazy {
        async fn run(&self, ran: Rc<Cell<bool>>) -> u8;
    }

    #[dyn_trait(DynBoxed = dyn Boxed, boxed)]
    trait Boxed {
        fn run(&self, ran: Rc<Cell<bool>>) -> impl Future<Output = u8>;
    }

    #[dyn_trait(DynLocal = dyn Local, ?Send)]
    trait Local {
        fn run(&self) -> impl Future<Output = u8> + Send;
    }

    struct Body;

    async fn body(ran: Rc<Cell<bool>>) -> u8 {
        ran.set(true);
        yield_once().await;
        5
    }

    impl Eager for Body {
        async fn run(&self, ran: Rc<Cell<bool>>) -> u8 {
            body(ran).await
        }
    }

    impl Lazy for Body {
        async fn run(&self, ran: Rc<Cell<bool>>) -> u8 {
            body(ran).await
        }
    }

    impl Boxed for Body {
        async fn run(&self, ran: Rc<Cell<bool>>) -> u8 {
            body(ran).await
        }
    }

    impl Local for Body {
        async fn run(&self) -> u8 {
            6
        }
    }

    #[test]
    fn eager_by_default_lazy_when_asked() {
        let ran = Rc::new(Cell::new(false));
        let eager = DynEager::from_ref(&Body).run(Rc::clone(&ran));
        assert!(
            ran.replace(false),
            "the dyn form starts the body at the call"
        );
        assert_eq!(drive(eager), 5);

        let lazy = DynLazy::from_ref(&Body).run(Rc::clone(&ran));
        assert!(!ran.get(), "lazy: nothing runs until the first poll");
        assert_eq!(drive(lazy), 5);
        assert!(ran.replace(false));

        let boxed = DynBoxed::from_ref(&Body).run(Rc::clone(&ran));
        assert!(ran.replace(false), "boxed: started at the call too");
        assert_eq!(drive(boxed), 5);

        // The static call is the trait's own future: it runs at its first poll.
        let mut static_call = Box::pin(Eager::run(&Body, Rc::clone(&ran)));
        assert!(!ran.get());
        let waker = std::task::Waker::noop();
        assert!(poll_once(&mut static_call, waker).is_pending());
        assert!(ran.get());
    }

    /// A crate that re-exports valuetask names it with `crate = path` (or `crate = "path"`,
    /// as for `#[value_task]`).
    mod reexported {
        pub use valuetask as framework;
    }

    #[dyn_trait(DynRenamed = dyn(box) Renamed, crate = reexported::framework)]
    trait Renamed {
        async fn get(&self) -> u8;
    }

    impl Renamed for Body {
        async fn get(&self) -> u8 {
            9
        }
    }

    #[dyn_trait(DynQuoted = dyn(box) Quoted, crate = "reexported::framework")]
    trait Quoted {
        async fn get(&self) -> u8;
    }

    impl Quoted for Body {
        async fn get(&self) -> u8 {
            10
        }
    }

    #[test]
    fn the_crate_option_names_valuetask_by_its_path() {
        let renamed: &DynRenamed<'_> = DynRenamed::from_ref(&Body);
        assert_eq!(now(renamed.get()), 9);
        let quoted: &DynQuoted<'_> = DynQuoted::from_ref(&Body);
        assert_eq!(now(quoted.get()), 10);
    }

    #[test]
    fn question_send_keeps_a_send_future_send() {
        // `?Send` cannot make a future the trait asks to be `Send` local: its value task
        // stays a `Send` one.
        fn send<T: Send>(value: T) -> T {
            value
        }
        let run = send(DynLocal::from_ref(&Body).run());
        assert_eq!(now(run), 6);
    }
}

/// Every constructor of the `dyn` form keeps the one value it is given, and drops it once,
/// with the pointer it came in.
mod constructors {
    use super::*;
    use std::cell::Cell;
    use std::sync::Arc;

    #[dyn_trait(DynCounted = dyn(box) Counted)]
    trait Counted {
        async fn id(&self) -> u32;
    }

    struct Tracked<'d>(u32, &'d Cell<u32>);

    impl Drop for Tracked<'_> {
        fn drop(&mut self) {
            self.1.set(self.1.get() + 1);
        }
    }

    impl Counted for Tracked<'_> {
        async fn id(&self) -> u32 {
            self.0
        }
    }

    #[test]
    fn each_constructor_keeps_its_value_and_drops_it_once() {
        let drops = Cell::new(0);
        {
            let boxed = DynCounted::from_box(Box::new(Tracked(1, &drops)));
            let counted = DynCounted::from_rc(Rc::new(Tracked(2, &drops)));
            let fresh_box = DynCounted::new_box(Tracked(3, &drops));
            let fresh_rc = DynCounted::new_rc(Tracked(4, &drops));
            let old_boxed = DynCounted::boxed(Tracked(5, &drops));
            let shared = Rc::clone(&counted);
            assert_eq!(
                [
                    &*boxed,
                    &*counted,
                    &*fresh_box,
                    &*fresh_rc,
                    &*old_boxed,
                    &*shared
                ]
                .map(|d| now(d.id())),
                [1, 2, 3, 4, 5, 2]
            );
            drop(shared);
            assert_eq!(drops.get(), 0, "the Rc still has a count");
        }
        assert_eq!(drops.get(), 5);
        let mut owned = Tracked(6, &drops);
        assert_eq!(now(DynCounted::from_mut(&mut owned).id()), 6);
        assert_eq!(now(DynCounted::from_ref(&owned).id()), 6);
        drop(owned);
        assert_eq!(drops.get(), 6);
    }

    #[dyn_trait(DynShared = dyn(box) SharedCount)]
    trait SharedCount: Send + Sync {
        fn id(&self) -> impl Future<Output = u32> + Send;
    }

    struct Plain(u32);

    impl SharedCount for Plain {
        async fn id(&self) -> u32 {
            self.0
        }
    }

    #[test]
    fn arcs_cross_threads() {
        let shared: Arc<DynShared<'static>> = DynShared::from_arc(Arc::new(Plain(7)));
        let other = DynShared::new_arc(Plain(8));
        let handle = std::thread::spawn(move || (now(shared.id()), now(other.id())));
        assert_eq!(handle.join().unwrap(), (7, 8));
    }
}

/// The `dyn` form is a type of the user's crate, as dynosaur's is: it takes inherent impls and
/// impls of foreign traits (`Debug`, `Display`), and `from_ref` is a `const fn`.
mod the_dyn_form_is_the_users_type {
    use super::*;
    use std::fmt;

    #[dyn_trait(pub DynNamed = dyn(box) Named)]
    pub trait Named: Sync {
        async fn name(&self) -> String;
        fn id(&self) -> u32;
    }

    // A constant of the `dyn` form (a `static` needs the form `Sync`: the trait's supertrait).
    const FIXED: &DynNamed<'static> = DynNamed::from_ref(&Fixed);

    struct Fixed;

    impl Named for Fixed {
        async fn name(&self) -> String {
            String::from("fixed")
        }
        fn id(&self) -> u32 {
            4
        }
    }

    impl DynNamed<'_> {
        fn doubled_id(&self) -> u32 {
            self.id() * 2
        }
    }

    impl fmt::Debug for DynNamed<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "DynNamed#{}", self.id())
        }
    }

    impl fmt::Display for DynNamed<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "named {}", self.id())
        }
    }

    #[derive(Debug)]
    struct Service {
        named: Box<DynNamed<'static>>,
    }

    #[test]
    fn inherent_and_foreign_trait_impls_and_a_const_constructor() {
        assert_eq!(FIXED.doubled_id(), 8);
        assert_eq!(now(FIXED.name()), "fixed");
        assert_eq!(FIXED.to_string(), "named 4");
        let service = Service {
            named: DynNamed::new_box(Fixed),
        };
        assert_eq!(format!("{service:?}"), "Service { named: DynNamed#4 }");
        assert_eq!(now(service.named.name()), "fixed");
    }
}

/// The hidden erased trait's name does not take a name a crate may already use: a type
/// `ErasedStore` beside `trait Store` (a hand-written erasure kept while switching to the
/// attribute) compiles, as it does beside dynosaur's expansion.
mod erased_names_stay_the_users {
    use super::*;

    #[dyn_trait(DynStore = dyn(box) Store)]
    pub trait Store {
        async fn get(&self, key: u32) -> u32;
    }

    /// The crate's own erasure, by the name the attribute's trait would take.
    pub struct ErasedStore(Box<DynStore<'static>>);

    struct Doubles;

    impl Store for Doubles {
        async fn get(&self, key: u32) -> u32 {
            key * 2
        }
    }

    #[test]
    fn a_type_named_like_the_erased_trait_compiles() {
        let store = ErasedStore(DynStore::new_box(Doubles));
        assert_eq!(now(store.0.get(4)), 8);
    }
}

/// An `unsafe fn` method: its `dyn` form and bridges are `unsafe fn`s forwarding the same
/// contract.
mod unsafe_methods {
    use super::*;

    #[dyn_trait(DynRaw = dyn(box) Raw)]
    trait Raw {
        /// # Safety
        /// `ptr` points at a live `u8`.
        unsafe fn read(&self, ptr: *const u8) -> u8;
        /// # Safety
        /// `ptr` points at a live `u8`.
        async unsafe fn read_later(&self, ptr: *const u8) -> u8;
    }

    struct Reader;

    impl Raw for Reader {
        unsafe fn read(&self, ptr: *const u8) -> u8 {
            // SAFETY: per the caller.
            unsafe { *ptr }
        }
        async unsafe fn read_later(&self, ptr: *const u8) -> u8 {
            // SAFETY: per the caller.
            unsafe { *ptr }
        }
    }

    #[test]
    fn unsafe_methods_through_the_dyn_form_and_a_bridge() {
        let byte = 42u8;
        let raw = DynRaw::new_box(Reader);
        // SAFETY: `byte` is live for both calls.
        unsafe {
            assert_eq!(raw.read(&byte), 42);
            assert_eq!(now(raw.read_later(&byte)), 42);
            assert_eq!(Raw::read(&&Reader, &byte), 42);
        }
    }
}

/// A trait with a `where` clause and a supertrait: the erased trait, the `dyn` form's impl
/// and the bridges all carry them (dynosaur's bridges do not parse a trait's `where` clause).
mod where_clauses {
    use super::*;

    #[dyn_trait(DynBounded = dyn(box) Bounded)]
    trait Bounded<T>: Send
    where
        T: Clone + Send + 'static,
    {
        async fn echo(&self, value: T) -> T;
        fn count(&self) -> usize;
    }

    struct Echo;

    impl<T: Clone + Send + 'static> Bounded<T> for Echo {
        async fn echo(&self, value: T) -> T {
            yield_once().await;
            value.clone()
        }
        fn count(&self) -> usize {
            1
        }
    }

    fn through<B: Bounded<String>>(bounded: B) -> String {
        drive(bounded.echo("via bridge".to_string()))
    }

    #[test]
    fn a_where_clause_reaches_every_impl() {
        let bounded: Box<DynBounded<'_, String>> = DynBounded::new_box(Echo);
        assert_eq!(drive(bounded.echo("hi".to_string())), "hi");
        assert_eq!(Bounded::<String>::count(&*bounded), 1);
        assert_eq!(through(&Echo), "via bridge");
        assert_eq!(through(bounded), "via bridge");
    }
}

/// Receivers that own `Self` (`Box<Self>`, `Arc<Self>`, `Rc<Self>`) with a borrowed argument,
/// and a trait generic over a constant.
mod owning_receivers_and_const_generics {
    use super::*;
    use std::rc::Rc;
    use std::sync::Arc;

    #[dyn_trait(DynOwned = dyn Owned)]
    trait Owned {
        async fn take(self: Box<Self>, key: &str) -> usize;
        async fn share(self: Arc<Self>, key: &str) -> usize;
        async fn local(self: Rc<Self>, key: &str) -> usize;
    }

    struct Base(usize);

    impl Owned for Base {
        async fn take(self: Box<Self>, key: &str) -> usize {
            yield_once().await;
            self.0 + key.len()
        }
        async fn share(self: Arc<Self>, key: &str) -> usize {
            self.0 + key.len()
        }
        async fn local(self: Rc<Self>, key: &str) -> usize {
            yield_once().await;
            self.0 * key.len()
        }
    }

    #[test]
    fn an_owning_receiver_with_a_borrowed_argument() {
        let key = String::from("four");
        assert_eq!(drive(DynOwned::new_box(Base(1)).take(&key)), 5);
        assert_eq!(drive(DynOwned::new_arc(Base(2)).share(&key)), 6);
        assert_eq!(drive(DynOwned::new_rc(Base(3)).local(&key)), 12);
    }

    #[dyn_trait(DynFixed = dyn Fixed)]
    trait Fixed<const N: usize> {
        async fn get(&self) -> [u8; N];
    }

    struct Filler(u8);

    impl<const N: usize> Fixed<N> for Filler {
        async fn get(&self) -> [u8; N] {
            yield_once().await;
            [self.0; N]
        }
    }

    #[test]
    fn a_trait_generic_over_a_constant() {
        let fixed: Box<DynFixed<'_, 3>> = DynFixed::new_box(Filler(7));
        assert_eq!(drive(fixed.get()), [7; 3]);
    }
}

/// Supertraits beyond the auto traits: `'static` (the usual bound of an `Arc<dyn Handler>`
/// service) and a trait of the user's, which the user implements for the `dyn` form (the
/// erased trait has it as a supertrait too, so the `dyn` form's impl can call through it).
mod supertraits {
    use super::*;

    trait Named {
        fn name(&self) -> &'static str;
    }

    #[dyn_trait(DynHandler = dyn Handler)]
    trait Handler: Send + Sync + 'static {
        async fn handle(&self, request: u32) -> u32;
    }

    #[dyn_trait(DynStore = dyn Store)]
    trait Store: Named {
        async fn get(&self) -> u32;
    }

    struct Doubler;

    impl Handler for Doubler {
        async fn handle(&self, request: u32) -> u32 {
            yield_once().await;
            request * 2
        }
    }

    impl Named for Doubler {
        fn name(&self) -> &'static str {
            "doubler"
        }
    }

    impl Store for Doubler {
        async fn get(&self) -> u32 {
            7
        }
    }

    impl Named for DynStore<'_> {
        fn name(&self) -> &'static str {
            "dyn store"
        }
    }

    fn serve<H: Handler + ?Sized>(handler: &H, request: u32) -> u32 {
        drive(handler.handle(request))
    }

    fn read<S: Store + ?Sized>(store: &S) -> (&'static str, u32) {
        (store.name(), drive(store.get()))
    }

    #[test]
    fn the_dyn_form_implements_the_trait_where_it_meets_the_supertraits() {
        let handler: std::sync::Arc<DynHandler<'static>> = DynHandler::new_arc(Doubler);
        assert_eq!(drive(handler.handle(4)), 8);
        assert_eq!(serve(&*handler, 5), 10);
        let store = DynStore::new_box(Doubler);
        assert_eq!(read(&*store), ("dyn store", 7));
        assert_eq!(read(&Doubler), ("doubler", 7));
    }
}

/// A trait's parameter defaults reach its `dyn` form's alias (`DynKeyed<'_>` is
/// `DynKeyed<'_, String>`), where no associated type follows them.
mod parameter_defaults {
    use super::*;

    #[dyn_trait(DynKeyed = dyn Keyed)]
    trait Keyed<K = String, const N: usize = 2> {
        async fn width(&self, key: K) -> usize;
    }

    struct Widths;

    impl<const N: usize> Keyed<String, N> for Widths {
        async fn width(&self, key: String) -> usize {
            yield_once().await;
            key.len() * N
        }
    }

    #[test]
    fn the_alias_takes_the_traits_defaults() {
        let keyed: Box<DynKeyed<'_>> = DynKeyed::new_box(Widths);
        assert_eq!(drive(keyed.width("abc".to_string())), 6);
        let explicit: Box<DynKeyed<'_, String, 3>> = DynKeyed::new_box(Widths);
        assert_eq!(drive(explicit.width("ab".to_string())), 6);
    }
}
