//! `#[value_task]` bodies that only await one call (`self.0.get(key).await`): the method
//! returns the call's value task when it is one of the method's output (no frame), and
//! otherwise keeps a frame that awaits it; either way a caller sees what the body says.

use crate::common;

use std::fmt::Display;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use common::{allocations_during, now, poll_once};
use futures::future::BoxFuture;
use valuetask::{value_task, LocalValueTask, Task, TaskCompletionSource, TaskError, ValueTask};

/// Sets its flag when dropped.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[value_task]
trait Lookup: Send + Sync {
    async fn get(&self, key: &u64) -> Result<u64, TaskError>;
    async fn keep(&self, key: &u64, guard: DropFlag) -> Result<u64, TaskError>;
    async fn boxed(&self, key: u64) -> u64;
    async fn shown(&self) -> Box<dyn Display + Send>;
}

/// The store: `get` forwards to a task's value task, `boxed` to a boxed future.
struct Store(Task<u64>);

#[value_task]
impl Lookup for Store {
    async fn get(&self, _key: &u64) -> Result<u64, TaskError> {
        ValueTask::from(self.0.clone()).await
    }
    async fn keep(&self, key: &u64, _guard: DropFlag) -> Result<u64, TaskError> {
        self.get(key).await
    }
    async fn boxed(&self, key: u64) -> u64 {
        self.future(key).await
    }
    async fn shown(&self) -> Box<dyn Display + Send> {
        Box::new(7u8)
    }
}

impl Store {
    fn future(&self, key: u64) -> BoxFuture<'static, u64> {
        let task = self.0.clone();
        Box::pin(async move { task.await.unwrap() + key })
    }
}

/// Forwards every method to the next layer.
struct Forward(Arc<dyn Lookup>);

#[value_task]
impl Lookup for Forward {
    async fn get(&self, key: &u64) -> Result<u64, TaskError> {
        self.0.get(key).await
    }
    // `guard` is moved into the call: the inner frame holds it.
    async fn keep(&self, key: &u64, guard: DropFlag) -> Result<u64, TaskError> {
        self.0.keep(key, guard).await
    }
    async fn boxed(&self, key: u64) -> u64 {
        self.0.boxed(key ^ 1).await
    }
    async fn shown(&self) -> Box<dyn Display + Send> {
        self.0.shown().await
    }
}

/// Forwards through a method's result, not a place: `Pin::as_ref` and an inherent `as_ref`
/// return a temporary the call borrows (as with `#[async_trait]`, the body's frame holds it).
struct Pinned(std::pin::Pin<Box<dyn Lookup>>);

/// A view made by an inherent `as_ref`, holding a reference: a temporary.
struct View<'a>(&'a (dyn Lookup + 'static));

impl std::ops::Deref for View<'_> {
    type Target = dyn Lookup;
    fn deref(&self) -> &(dyn Lookup + 'static) {
        self.0
    }
}

struct Viewed(Box<dyn Lookup>);

impl Viewed {
    fn as_ref(&self) -> View<'_> {
        View(&*self.0)
    }
}

#[value_task]
impl Lookup for Pinned {
    async fn get(&self, key: &u64) -> Result<u64, TaskError> {
        self.0.as_ref().get(key).await
    }
    async fn keep(&self, key: &u64, guard: DropFlag) -> Result<u64, TaskError> {
        self.0.as_ref().keep(key, guard).await
    }
    async fn boxed(&self, key: u64) -> u64 {
        self.0.as_ref().boxed(key).await
    }
    async fn shown(&self) -> Box<dyn Display + Send> {
        self.0.as_ref().shown().await
    }
}

#[value_task]
impl Lookup for Viewed {
    async fn get(&self, key: &u64) -> Result<u64, TaskError> {
        self.as_ref().get(key).await
    }
    async fn keep(&self, key: &u64, guard: DropFlag) -> Result<u64, TaskError> {
        self.as_ref().keep(key, guard).await
    }
    async fn boxed(&self, key: u64) -> u64 {
        self.as_ref().boxed(key).await
    }
    async fn shown(&self) -> Box<dyn Display + Send> {
        self.as_ref().shown().await
    }
}

#[test]
fn a_call_through_a_method_returning_a_temporary_compiles_and_answers() {
    let tcs = valuetask::TaskCompletionSource::new();
    let pinned = Pinned(Box::pin(Store(tcs.task())));
    let viewed = Viewed(Box::new(Store(tcs.task())));
    let (a, b) = (pinned.boxed(1), viewed.boxed(2));
    tcs.set_result(40);
    assert_eq!(a.get_result(), 41);
    assert_eq!(b.get_result(), 42);
    assert_eq!(pinned.get(&0).get_result(), Ok(40));
    assert_eq!(viewed.get(&0).get_result(), Ok(40));
}

fn stack(task: Task<u64>) -> Arc<dyn Lookup> {
    Arc::new(Forward(Arc::new(Forward(Arc::new(Store(task))))))
}

#[test]
fn two_forwarding_layers_return_the_innermost_value_task_itself() {
    // `'static`, for `into_task` (reachable at exit: no leak for valgrind).
    /// The completion source, its task, and the stack over it.
    type Fixture = (TaskCompletionSource<u64>, Task<u64>, Arc<dyn Lookup>);
    static STORE: OnceLock<Fixture> = OnceLock::new();
    let (tcs, task, store) = STORE.get_or_init(|| {
        let tcs = TaskCompletionSource::new();
        let task = tcs.task();
        let store = stack(task.clone());
        (tcs, task, store)
    });
    let vt = store.get(&1);
    assert!(!vt.is_completed());
    // A frame would be a future of its own, and `into_task` would make a new task for it.
    assert!(
        vt.into_task().ptr_eq(task),
        "no frame between the call and the task"
    );
    tcs.set_result(5);
    assert_eq!(now(store.get(&1)), Ok(5));
}

#[test]
fn an_argument_the_call_does_not_take_lives_until_the_call_completes() {
    let tcs = TaskCompletionSource::new();
    let store = stack(tcs.task());
    let dropped = Arc::new(AtomicBool::new(false));
    let mut vt = store.keep(&1, DropFlag(dropped.clone()));
    let waker = std::task::Waker::noop();
    assert!(poll_once(&mut vt, waker).is_pending());
    assert!(
        !dropped.load(Ordering::SeqCst),
        "held by the store's frame until its call completes"
    );
    tcs.set_result(2);
    assert_eq!(poll_once(&mut vt, waker), std::task::Poll::Ready(Ok(2)));
    assert!(dropped.load(Ordering::SeqCst));
}

#[test]
fn a_call_that_is_not_a_value_task_is_awaited_in_a_frame() {
    let tcs = TaskCompletionSource::new();
    let store = stack(tcs.task());
    let mut vt = store.boxed(10);
    assert!(poll_once(&mut vt, std::task::Waker::noop()).is_pending());
    tcs.set_result(100);
    // Two layers flip the key's low bit twice.
    assert_eq!(now(vt), 110);
}

#[test]
fn an_output_that_only_coerces_to_the_methods_is_awaited_in_a_frame() {
    let store = stack(Task::from_result(0));
    assert_eq!(now(store.shown()).to_string(), "7");
}

#[test]
fn forwarded_calls_allocate_nothing_once_the_pool_is_warm() {
    let tcs = TaskCompletionSource::new();
    let store = stack(tcs.task());
    // Warm this thread's pool: the value task of a task keeps a small pooled record, and a
    // suspending frame a pooled block.
    let mut pending = store.boxed(0);
    assert!(poll_once(&mut pending, std::task::Waker::noop()).is_pending());
    let mut pending_get = store.get(&0);
    assert!(poll_once(&mut pending_get, std::task::Waker::noop()).is_pending());
    tcs.set_result(3);
    assert_eq!(now(pending), 3);
    assert_eq!(now(pending_get), Ok(3));
    // (`boxed` is left out: its store boxes a future on every call, by its own code.)
    let (sum, allocs) =
        allocations_during(|| now(store.get(&0)).unwrap() + now(store.get(&1)).unwrap());
    assert_eq!(sum, 6);
    assert_eq!(allocs, 0);
}

#[value_task(?Send)]
trait LocalLookup {
    async fn get(&self) -> Result<u64, TaskError>;
}

struct LocalForward(Task<u64>);

#[value_task(?Send)]
impl LocalLookup for LocalForward {
    // A `Send` value task, forwarded as the method's `LocalValueTask`.
    async fn get(&self) -> Result<u64, TaskError> {
        ValueTask::from(self.0.clone()).await
    }
}

#[test]
fn a_local_method_forwards_a_send_value_task() {
    let tcs = TaskCompletionSource::new();
    let local = LocalForward(tcs.task());
    let vt: LocalValueTask<'_, Result<u64, TaskError>> = local.get();
    assert!(!vt.is_completed());
    tcs.set_result(4);
    assert_eq!(now(vt), Ok(4));
}

#[value_task]
trait Named: Send + Sync {
    async fn name(&self) -> &str;
}

#[value_task]
trait StaticNamed: Send + Sync {
    async fn name(&self) -> &'static str;
}

struct Fixed;

#[value_task]
impl StaticNamed for Fixed {
    async fn name(&self) -> &'static str {
        "fixed"
    }
}

struct Renamed(Box<dyn StaticNamed>);

#[value_task]
impl Named for Renamed {
    // The call's output, `&'static str`, differs from the method's, `&str`, in its lifetime
    // alone: it shortens in a frame, as in a plain `async fn`.
    async fn name(&self) -> &str {
        self.0.name().await
    }
}

#[test]
fn an_output_longer_lived_than_the_methods_is_returned_as_it_shortens() {
    let renamed = Renamed(Box::new(Fixed));
    assert_eq!(now(renamed.name()), "fixed");
}

/// Compares equal by its number; sets its flag when dropped.
struct Ticket(u32, Arc<AtomicBool>);

impl PartialEq for Ticket {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.1.store(true, Ordering::SeqCst);
    }
}

#[value_task]
trait Check: Send + Sync {
    async fn check(&self, same: bool) -> Result<bool, TaskError>;
    async fn same(&self, a: Ticket, b: Ticket) -> Result<bool, TaskError>;
    async fn either(&self, fast: bool, ticket: Ticket) -> Result<bool, TaskError>;
    async fn stamped(&self, stamp: Stamp) -> Result<bool, TaskError>;
    async fn stamped_by_default(&self) -> Result<bool, TaskError>;
}

impl From<Ticket> for bool {
    fn from(ticket: Ticket) -> bool {
        ticket.0 > 0
    }
}

/// Counted in `STAMPS_DROPPED` when dropped; a constant of it is a temporary at each use.
#[derive(Clone)]
struct Stamp;

static STAMPS_DROPPED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Drop for Stamp {
    fn drop(&mut self) {
        STAMPS_DROPPED.fetch_add(1, Ordering::SeqCst);
    }
}

const DEFAULT_STAMP: Stamp = Stamp;

struct Checker(Task<u64>);

#[value_task]
impl Check for Checker {
    async fn check(&self, same: bool) -> Result<bool, TaskError> {
        let answer = self.0.clone().await?;
        Ok(same && answer > 0)
    }
    // `a == b` borrows the tickets: they are not moved into the call, so this body keeps its
    // frame and holds them until the call completes, as `#[async_trait]` does.
    async fn same(&self, a: Ticket, b: Ticket) -> Result<bool, TaskError> {
        self.check(a == b).await
    }
    // `fast || ..` moves the ticket only when `fast` is false: when it is true the frame
    // holds the ticket until the call completes.
    async fn either(&self, fast: bool, ticket: Ticket) -> Result<bool, TaskError> {
        self.check(fast || ticket.into()).await
    }
    async fn stamped(&self, stamp: Stamp) -> Result<bool, TaskError> {
        let answer = self.0.clone().await?;
        drop(stamp);
        Ok(answer > 0)
    }
    // The constant's value is a temporary of the call's expression, which `clone` borrows:
    // the frame holds it across the `.await`.
    async fn stamped_by_default(&self) -> Result<bool, TaskError> {
        self.stamped(DEFAULT_STAMP.clone()).await
    }
}

#[test]
fn arguments_only_compared_in_the_call_live_until_it_completes() {
    let tcs = TaskCompletionSource::new();
    let checker = Checker(tcs.task());
    let (a_dropped, b_dropped) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let mut vt = checker.same(Ticket(1, a_dropped.clone()), Ticket(1, b_dropped.clone()));
    let waker = std::task::Waker::noop();
    assert!(poll_once(&mut vt, waker).is_pending());
    assert!(
        !a_dropped.load(Ordering::SeqCst) && !b_dropped.load(Ordering::SeqCst),
        "held by the frame until the call completes"
    );
    tcs.set_result(1);
    assert_eq!(poll_once(&mut vt, waker), std::task::Poll::Ready(Ok(true)));
    assert!(a_dropped.load(Ordering::SeqCst) && b_dropped.load(Ordering::SeqCst));
}

#[test]
fn an_argument_the_right_side_of_an_or_may_not_move_lives_until_the_call_completes() {
    let tcs = TaskCompletionSource::new();
    let checker = Checker(tcs.task());
    let dropped = Arc::new(AtomicBool::new(false));
    let mut vt = checker.either(true, Ticket(0, dropped.clone()));
    let waker = std::task::Waker::noop();
    assert!(poll_once(&mut vt, waker).is_pending());
    assert!(
        !dropped.load(Ordering::SeqCst),
        "held by the frame until the call completes"
    );
    tcs.set_result(1);
    assert_eq!(poll_once(&mut vt, waker), std::task::Poll::Ready(Ok(true)));
    assert!(dropped.load(Ordering::SeqCst));
}

#[test]
fn a_temporary_of_the_calls_expression_lives_until_the_call_completes() {
    let tcs = TaskCompletionSource::new();
    let checker = Checker(tcs.task());
    let before = STAMPS_DROPPED.load(Ordering::SeqCst);
    let mut vt = checker.stamped_by_default();
    let waker = std::task::Waker::noop();
    assert!(poll_once(&mut vt, waker).is_pending());
    assert_eq!(
        STAMPS_DROPPED.load(Ordering::SeqCst),
        before,
        "the constant's temporary and its clone live until the call completes"
    );
    tcs.set_result(1);
    assert_eq!(poll_once(&mut vt, waker), std::task::Poll::Ready(Ok(true)));
    assert_eq!(STAMPS_DROPPED.load(Ordering::SeqCst), before + 2);
}

/// A forwarding body whose call returns a value task that has not started (a lazy body,
/// `ValueTask::new`) awaits it in a frame: the call starts it, as the body would at the call.
mod unstarted_callees {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[value_task]
    pub trait Counter: Send + Sync {
        async fn count(&self) -> usize;
    }

    /// Counts the starts of its body: lazily, or through `ValueTask::new`.
    pub struct Inner(AtomicUsize);

    impl Inner {
        fn start(&self) -> usize {
            self.0.fetch_add(1, Ordering::SeqCst) + 1
        }

        fn by_new(&self) -> ValueTask<'_, usize> {
            ValueTask::new(async { self.start() })
        }

        fn starts(&self) -> usize {
            self.0.load(Ordering::SeqCst)
        }
    }

    #[value_task(lazy)]
    impl Counter for Inner {
        async fn count(&self) -> usize {
            self.start()
        }
    }

    pub struct Outer(Inner);

    #[value_task]
    impl Counter for Outer {
        async fn count(&self) -> usize {
            self.0.count().await
        }
    }

    impl Outer {
        #[value_task]
        async fn by_new(&self) -> usize {
            self.0.by_new().await
        }
    }

    mod local {
        use super::*;

        #[value_task(?Send)]
        pub trait LocalCounter {
            async fn count_here(&self) -> usize;
        }

        #[value_task(?Send, lazy)]
        impl LocalCounter for Inner {
            async fn count_here(&self) -> usize {
                self.start()
            }
        }

        #[value_task(?Send)]
        impl LocalCounter for Outer {
            async fn count_here(&self) -> usize {
                self.0.count_here().await
            }
        }

        impl Outer {
            #[value_task(?Send)]
            pub(super) async fn local_by_new(&self) -> usize {
                self.0.by_new().await
            }
        }
    }

    #[test]
    fn an_eager_body_forwarding_to_a_lazy_one_starts_it_at_the_call() {
        use local::LocalCounter;
        let outer = Outer(Inner(AtomicUsize::new(0)));
        let lazy = Counter::count(&outer.0);
        assert_eq!(outer.0.starts(), 0, "a lazy body starts at its first poll");
        assert_eq!(now(lazy), 1);
        let eager = Counter::count(&outer);
        assert_eq!(
            outer.0.starts(),
            2,
            "the call ran the body, which awaits the lazy one"
        );
        assert_eq!(now(eager), 2);
        let local = outer.count_here();
        assert_eq!(outer.0.starts(), 3, "so does a ?Send body");
        assert_eq!(now(local), 3);
        let by_new = outer.by_new();
        assert_eq!(outer.0.starts(), 4, "ValueTask::new's future too");
        assert_eq!(now(by_new), 4);
        let local_by_new = outer.local_by_new();
        assert_eq!(outer.0.starts(), 5, "into a ?Send body too");
        assert_eq!(now(local_by_new), 5);
    }
}

/// An output whose lifetime is hidden from the syntax (an associated type, `Self`): the
/// call's value task may have a longer-lived result than the method's, so the body awaits it
/// in a frame (the result shortened there), as `#[async_trait]`'s does.
mod hidden_lifetimes {
    use valuetask::{value_task, ValueTask};

    pub struct Table;

    impl Table {
        fn lookup(&self, _id: u32) -> ValueTask<'_, &'static str> {
            ValueTask::from_result("x")
        }
    }

    #[value_task]
    pub trait Names {
        type Name;
        async fn name(&self, id: u32) -> Self::Name;
    }

    pub struct Scoped<'a> {
        pub table: &'a Table,
    }

    #[value_task]
    impl<'a> Names for Scoped<'a> {
        type Name = &'a str;
        async fn name(&self, id: u32) -> Self::Name {
            self.table.lookup(id).await
        }
    }

    #[derive(Debug, PartialEq)]
    pub struct Doc<'a>(pub &'a str);

    impl Doc<'static> {
        fn load(id: u32) -> ValueTask<'static, Doc<'static>> {
            ValueTask::from_result(Doc(if id == 1 { "one" } else { "other" }))
        }
    }

    #[value_task]
    pub trait Reload {
        async fn reload(&self, id: u32) -> Self
        where
            Self: Sized;
    }

    #[value_task]
    impl<'a> Reload for Doc<'a> {
        async fn reload(&self, id: u32) -> Self {
            Doc::load(id).await
        }
    }

    pub trait Naming {
        type Name;
    }

    pub struct ByRef<'a>(std::marker::PhantomData<&'a ()>);

    impl<'a> Naming for ByRef<'a> {
        type Name = &'a str;
    }

    #[value_task]
    pub trait Lookup<N: Naming> {
        async fn look(&self, id: u32) -> N::Name;
    }

    #[value_task]
    impl<'a> Lookup<ByRef<'a>> for Scoped<'a> {
        async fn look(&self, id: u32) -> <ByRef<'a> as Naming>::Name {
            self.table.lookup(id).await
        }
    }

    pub struct Generic<'a, N>(pub &'a Table, pub std::marker::PhantomData<N>);

    #[value_task]
    impl<'a, N: Naming<Name = &'a str> + Send + Sync> Lookup<N> for Generic<'a, N> {
        async fn look(&self, id: u32) -> N::Name {
            self.0.lookup(id).await
        }
    }

    /// An alias of a projection: the syntax shows no lifetime.
    pub type NameOf<N> = <N as Naming>::Name;

    #[value_task]
    pub trait Aliased<N: Naming> {
        async fn aliased(&self, id: u32) -> NameOf<N>;
        async fn aliased_deferred(&self, id: u32) -> NameOf<N>;
    }

    #[value_task]
    impl<'a, N> Aliased<N> for Generic<'a, N>
    where
        N: Naming<Name = &'a str> + Send + Sync,
    {
        async fn aliased(&self, id: u32) -> NameOf<N> {
            self.0.lookup(id).await
        }
        // Rewritten after another attribute macro (deferred), which sees the impl's
        // parameters by name only: `N` may be bound with an associated type.
        #[cfg_attr(any(), tracing::instrument)]
        async fn aliased_deferred(&self, id: u32) -> NameOf<N> {
            self.0.lookup(id).await
        }
    }

    // A method annotated alone does not see its impl's `N`: `N::Name` may be a projection.
    impl<'a, N: Naming<Name = &'a str> + Send + Sync> Generic<'a, N> {
        #[value_task]
        pub async fn look_here(&self, id: u32) -> N::Name {
            self.0.lookup(id).await
        }
    }

    macro_rules! str_of {
        ($lifetime:lifetime) => { &$lifetime str };
    }

    #[value_task]
    pub trait Titled<'a> {
        async fn title(&self, id: u32) -> &'a str;
    }

    #[value_task]
    impl<'a> Titled<'a> for Scoped<'a> {
        async fn title(&self, id: u32) -> str_of!('a) {
            self.table.lookup(id).await
        }
    }

    #[value_task]
    pub trait Marked {
        async fn marked(&self, id: u32) -> u32;
    }

    impl Table {
        fn marked<'t>(
            &'t self,
            id: u32,
            _: std::marker::PhantomData<&'t ()>,
        ) -> ValueTask<'t, u32> {
            ValueTask::from_result(id + 1)
        }
    }

    #[value_task]
    impl Marked for Table {
        async fn marked(&self, id: u32) -> u32 {
            self.marked(id, std::marker::PhantomData::<&'async_trait ()>)
                .await
        }
    }
}

#[test]
fn outputs_with_hidden_lifetimes_keep_a_frame() {
    use hidden_lifetimes::*;
    let table = Table;
    let scoped = Scoped { table: &table };
    assert_eq!(scoped.name(1).get_result(), "x");
    let text = String::from("borrowed");
    let doc = Doc(&text);
    assert_eq!(doc.reload(1).get_result(), Doc("one"));
    assert_eq!(Lookup::<ByRef<'_>>::look(&scoped, 1).get_result(), "x");
    let generic = Generic::<ByRef<'_>>(&table, std::marker::PhantomData);
    assert_eq!(generic.look(1).get_result(), "x");
    assert_eq!(generic.aliased(1).get_result(), "x");
    assert_eq!(generic.aliased_deferred(1).get_result(), "x");
    assert_eq!(generic.look_here(1).get_result(), "x");
    assert_eq!(scoped.title(1).get_result(), "x");
    assert_eq!(Marked::marked(&table, 1).get_result(), 2);
}
