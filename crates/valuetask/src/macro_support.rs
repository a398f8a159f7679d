//! Items `#[value_task]`'s expansion refers to; not part of the API.
//!
//! [`receiver_is_send`] names a receiver that is not `Send` (and points to `?Send`) through
//! `#[diagnostic::on_unimplemented]`; [`completed`] runs a body that cannot suspend; without
//! the `stats` feature `count!` is defined here as its argument, no code (with it,
//! `stats.rs`), and it wraps every `#[value_task]` body but `lazy` ones. [`SyncFuture`] makes
//! a `#[dyn_trait]` method's value task the `Sync` future its trait declares.

/// The `stats` advisor's count of a call (the value task itself without the feature).
pub use crate::count;

/// A receiver a `Send` method future can hold.
#[diagnostic::on_unimplemented(
    message = "the receiver `{Self}` is not `Send`, so this #[value_task] method's future cannot be `Send`",
    label = "not `Send`",
    note = "use #[value_task(?Send)] on the trait or impl: its methods then return `LocalValueTask`, which need not be `Send`",
    note = "for a trait's default method, put #[value_task] on the trait (it bounds such a method `where Self: Sync`), or write that bound on the method"
)]
pub trait SendReceiver {}

impl<T: Send + ?Sized> SendReceiver for T {}

/// Fails to compile, with the message above, when a suspending `Send` method's receiver is not
/// `Send` (rustc's own error then names only the future).
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn receiver_is_send<T: SendReceiver + ?Sized>(_: &T) {}

/// Runs a synchronous method body and returns its output, ready: the closure owns its
/// captures (an `FnOnce` bound), as an async block does, so a `&mut self` method may return a
/// reborrow of `self`. The output is wrapped here, not at the call, so a unit body is not a
/// unit argument in the user's code (clippy's `unit_arg`). A panic of the body is kept in
/// the value task and resumes where it is awaited, as for a body that can suspend
/// (`ValueTask::start`).
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn completed<'a, T>(body: impl FnOnce() -> T) -> crate::ValueTask<'a, T> {
    match run_caught(body) {
        Ok(output) => crate::ValueTask::ready(output),
        Err(payload) => crate::ValueTask::panicked(payload),
    }
}

/// Run `body`, catching a panic. The catch is instantiated per output type, not per body: the
/// body goes to it as a function pointer and a pointer to the closure, which an optimized
/// build inlines back (its pointer is a constant there). A catch per body made each
/// synchronous `#[value_task]` method a second function for LLVM to compile and inline (see
/// `stored_future::keeping_a_panic` for the build times).
#[cfg_attr(not(debug_assertions), inline(always))]
fn run_caught<T, B: FnOnce() -> T>(body: B) -> Result<T, Box<dyn ::std::any::Any + Send>> {
    /// Takes the closure out of `body` and runs it.
    ///
    /// # Safety
    /// `body` points to a `ManuallyDrop<B>` not taken yet; it is taken here.
    unsafe fn run<T, B: FnOnce() -> T>(body: *mut u8) -> T {
        // SAFETY: per the caller.
        let body = unsafe {
            ::core::mem::ManuallyDrop::take(&mut *body.cast::<::core::mem::ManuallyDrop<B>>())
        };
        body()
    }
    let mut body = ::core::mem::ManuallyDrop::new(body);
    // SAFETY: `body` is taken once, by `run` (a panic of the closure drops its captures in
    // the unwinding, as any `FnOnce` call does).
    unsafe { catching::<T>(run::<T, B>, (&raw mut body).cast()) }
}

/// `run(data)` under a catch (see [`run_caught`]).
///
/// # Safety
/// As for calling `run` with `data`.
#[cfg_attr(not(debug_assertions), inline(always))]
unsafe fn catching<T>(
    run: unsafe fn(*mut u8) -> T,
    data: *mut u8,
) -> Result<T, Box<dyn ::std::any::Any + Send>> {
    // SAFETY: per the caller.
    ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(move || unsafe { run(data) }))
}

/// [`completed`] for `#[value_task(?Send)]` bodies.
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn completed_local<'a, T>(body: impl FnOnce() -> T) -> crate::LocalValueTask<'a, T> {
    match run_caught(body) {
        Ok(output) => crate::LocalValueTask::ready(output),
        Err(payload) => crate::LocalValueTask::panicked(payload),
    }
}

/// The condition of the `if` that holds a body (`let ret: T = if BODY_RUNS { body } else
/// { body_skipped() }; ret`): always true, a constant, so the branch is gone before the body's
/// future is laid out. A body that diverges (`panic!`, a `return`) then makes only one branch
/// diverge, not the `if`, so the trailing `ret` is not unreachable code (an
/// `allow(unreachable_code)` on it would be an error where the user forbids the lint), and a
/// body that only diverges is not the whole value of the `let` (clippy's
/// `diverging_sub_expression` in the user's code).
pub const BODY_RUNS: bool = true;

/// The branch of that `if` never taken: a value of the body's type (not `!`, which would
/// make the `if` diverge with the body).
#[cold]
pub fn body_skipped<T>() -> T {
    unreachable!("`BODY_RUNS` is true")
}

/// What a suspending `#[value_task]` body returns: `make` (`move || async move { body }`)
/// builds the body's future in its pooled block, which is then started there (see
/// [`ValueTask::start`](crate::ValueTask::start)).
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn start<'a, T, F>(make: impl FnOnce() -> F) -> crate::ValueTask<'a, T>
where
    F: ::core::future::Future<Output = T> + Send + 'a,
{
    crate::ValueTask::start_with(make)
}

/// [`start`] for `#[value_task(?Send)]` bodies.
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn start_local<'a, T, F>(make: impl FnOnce() -> F) -> crate::LocalValueTask<'a, T>
where
    F: ::core::future::Future<Output = T> + 'a,
{
    crate::LocalValueTask::start_with(make)
}

/// Without the `stats` feature, [`count!`](crate::count) is its value task, unchanged: no
/// counting code is compiled (with the feature, see `valuetask::stats`). No .NET
/// counterpart: .NET has no `Task`-or-`ValueTask` advisor.
///
/// ```
/// let vt = valuetask::count!("answer", valuetask::ValueTask::from_result(42));
/// assert_eq!(vt.get_result(), 42);
/// ```
#[cfg(not(feature = "stats"))]
#[macro_export]
macro_rules! count {
    ($name:expr, $value_task:expr $(,)?) => {
        $value_task
    };
}

/// A `#[value_task]` body that only awaits one call (`self.inner.get(key).await`) expands to
/// `Forward::<Ret, _>::new(call).__value_task_forward(wrap)`: when the call returns a
/// `ValueTask` of the method's own output, the inherent method (probed before the trait's)
/// returns that value task itself, with no frame of its own; otherwise [`Wrap`]'s method
/// hands the call's future to `wrap`, which starts a frame that awaits it, as the body would.
/// `R` is the method's output: a call whose output only coerces to it takes the frame.
pub struct Forward<R, X>(X, ::core::marker::PhantomData<fn() -> R>);

impl<R, X> Forward<R, X> {
    /// The awaited call's value.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn new(call: X) -> Self {
        Forward(call, ::core::marker::PhantomData)
    }
}

impl<'a, R> Forward<R, crate::ValueTask<'a, R>> {
    /// The call's value task is the method's, unless it is a lazy one, which may not have
    /// started: then `wrap`'s frame awaits it, which starts it here, as the body would at the
    /// call.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn __value_task_forward<W>(self, wrap: W) -> crate::ValueTask<'a, R>
    where
        W: FnOnce(crate::ValueTask<'a, R>) -> crate::ValueTask<'a, R>,
    {
        if self.0.is_lazy() {
            in_frame(self.0, wrap)
        } else {
            self.0
        }
    }
}

/// [`Forward`] for `#[value_task(?Send)]` methods, which return `LocalValueTask`.
pub struct ForwardLocal<R, X>(X, ::core::marker::PhantomData<fn() -> R>);

impl<R, X> ForwardLocal<R, X> {
    /// The awaited call's value.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn new(call: X) -> Self {
        ForwardLocal(call, ::core::marker::PhantomData)
    }
}

impl<'a, R> ForwardLocal<R, crate::LocalValueTask<'a, R>> {
    /// The call's value task is the method's, unless it is a lazy one (as [`Forward`]).
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn __value_task_forward<W>(self, wrap: W) -> crate::LocalValueTask<'a, R>
    where
        W: FnOnce(crate::LocalValueTask<'a, R>) -> crate::LocalValueTask<'a, R>,
    {
        if self.0.is_lazy() {
            in_frame(self.0, wrap)
        } else {
            self.0
        }
    }
}

impl<'a, R> ForwardLocal<R, crate::ValueTask<'a, R>> {
    /// The call's value task, as the method's `LocalValueTask`, unless it is a lazy one (as
    /// [`Forward`]).
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn __value_task_forward<W>(self, wrap: W) -> crate::LocalValueTask<'a, R>
    where
        W: FnOnce(crate::ValueTask<'a, R>) -> crate::LocalValueTask<'a, R>,
    {
        if self.0.is_lazy() {
            in_frame(self.0, wrap)
        } else {
            crate::LocalValueTask::from(self.0)
        }
    }
}

/// A forwarded lazy value task, awaited in `wrap`'s frame: out of line, so
/// that the forwarding path keeps its size (lazy callees are rare).
#[cold]
#[inline(never)]
fn in_frame<X, O>(call: X, wrap: impl FnOnce(X) -> O) -> O {
    wrap(call)
}

/// The fallback of [`Forward`] and [`ForwardLocal`]: anything else that is awaited gets the
/// frame `wrap` makes.
pub trait Wrap<X> {
    /// Hand the awaited call's value to `wrap`.
    fn __value_task_forward<W: FnOnce(X) -> O, O>(self, wrap: W) -> O;
}

impl<R, X> Wrap<X> for Forward<R, X> {
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn __value_task_forward<W: FnOnce(X) -> O, O>(self, wrap: W) -> O {
        wrap(self.0)
    }
}

impl<R, X> Wrap<X> for ForwardLocal<R, X> {
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn __value_task_forward<W: FnOnce(X) -> O, O>(self, wrap: W) -> O {
        wrap(self.0)
    }
}

impl<R, X> ::core::fmt::Debug for Forward<R, X> {
    fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
        f.write_str("Forward")
    }
}

impl<R, X> ::core::fmt::Debug for ForwardLocal<R, X> {
    fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
        f.write_str("ForwardLocal")
    }
}

/// A `#[dyn_trait]` method's value task with its borrow's lifetime unnamed: for a method
/// whose arguments borrow for two or more lifetimes, the value task lives for their
/// intersection, which the method's `impl Future` output cannot name (its hidden type may only
/// use lifetimes it captures). dynosaur's `dyn` form does the same to its box (seen as
/// `'static`). A `ValueTask<'static, T>` would need `T: 'static`; this holds the value task's
/// two words and no lifetime at all, and gives them back as a value task of a lifetime local
/// to each poll and to its drop. Having no lifetime, it meets impls written for `'static`
/// types alone, so the expansion uses it only where the `impl Future` adds no trait but
/// `Send`, `Sync` (met by [`SyncFuture`]) and `Unpin`, checked to be the standard library's
/// and not only so named (foreign traits of a foreign type: no user impl can keep it; the
/// macro's `dyn_body` refuses the rest).
///
/// The auto traits and the variance are the value task's: `Send` when `T` is, never `Sync`,
/// `Unpin`, not `UnwindSafe`, invariant in `T`.
pub struct Unbound<T> {
    words: ::core::mem::MaybeUninit<[u64; 2]>,
    /// A `T` is what it yields and may hold (`Send`, drop check); as a value task, not `Sync`
    /// (`Cell`), invariant in `T` (`fn(T) -> T`) and not `UnwindSafe` (`&mut`).
    #[allow(clippy::type_complexity)]
    _task: ::core::marker::PhantomData<(T, fn(T) -> T, ::core::cell::Cell<()>, &'static mut ())>,
}

/// [`Unbound`] for a `LocalValueTask`: neither `Send` nor `Sync`.
pub struct UnboundLocal<T> {
    inner: Unbound<T>,
    _local: ::core::marker::PhantomData<*const ()>,
}

impl<T> Unbound<T> {
    /// # Safety
    ///
    /// The result is returned at once as the hidden type of an `impl Future` that captures
    /// every lifetime `task` borrows for, so that nothing can use it past any of them (drop
    /// check included: an opaque type may use all its captures when dropped).
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub unsafe fn new(task: crate::ValueTask<'_, T>) -> Self {
        const {
            assert!(::core::mem::size_of::<crate::ValueTask<'static, ()>>() == 16);
            assert!(::core::mem::align_of::<crate::ValueTask<'static, ()>>() <= 8);
        }
        let task = ::core::mem::ManuallyDrop::new(task);
        // SAFETY: a value task is 16 bytes aligned to at most 8 for every `T` (its
        // representation is two words whatever `T`: `value_task/repr.rs`, checked above for
        // `()`); its bytes move here and `task` is not dropped.
        let words = unsafe {
            ::core::ptr::read((&raw const *task).cast::<::core::mem::MaybeUninit<[u64; 2]>>())
        };
        Unbound {
            words,
            _task: ::core::marker::PhantomData,
        }
    }

    /// The value task, borrowing for as long as `self` is borrowed.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn task(&mut self) -> &mut crate::ValueTask<'_, T> {
        // SAFETY: the words are a live value task's (`new`), valid for the lifetimes the
        // enclosing `impl Future` captures, which outlive this borrow of it.
        unsafe { &mut *self.words.as_mut_ptr().cast::<crate::ValueTask<'_, T>>() }
    }
}

impl<T> UnboundLocal<T> {
    /// # Safety
    ///
    /// As for [`Unbound::new`].
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub unsafe fn new(task: crate::LocalValueTask<'_, T>) -> Self {
        UnboundLocal {
            // SAFETY: per the caller; kept inside this `!Send` wrapper.
            inner: unsafe { Unbound::new(task.into_value_task()) },
            _local: ::core::marker::PhantomData,
        }
    }
}

impl<T> ::core::future::Future for Unbound<T> {
    type Output = T;

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn poll(
        self: ::core::pin::Pin<&mut Self>,
        cx: &mut ::core::task::Context<'_>,
    ) -> ::core::task::Poll<T> {
        ::core::pin::Pin::new(self.get_mut().task()).poll(cx)
    }
}

impl<T> ::core::future::Future for UnboundLocal<T> {
    type Output = T;

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn poll(
        mut self: ::core::pin::Pin<&mut Self>,
        cx: &mut ::core::task::Context<'_>,
    ) -> ::core::task::Poll<T> {
        ::core::pin::Pin::new(&mut self.inner).poll(cx)
    }
}

impl<T> Drop for Unbound<T> {
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn drop(&mut self) {
        // SAFETY: the words are a live value task's (`new`), dropped once, here.
        unsafe { ::core::ptr::drop_in_place(self.task()) }
    }
}

// A value task is `Unpin` whatever `T` (it never pins its result); so is its words' holder.
impl<T> Unpin for Unbound<T> {}

impl<T> ::core::fmt::Debug for Unbound<T> {
    fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
        f.write_str("Unbound")
    }
}

impl<T> ::core::fmt::Debug for UnboundLocal<T> {
    fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
        f.write_str("UnboundLocal")
    }
}

/// The `dyn` form's future for a `#[dyn_trait]` method whose future the trait declares `Sync`
/// (`-> impl Future<Output = T> + Send + Sync`): its value task, `Sync` whatever it holds.
/// Nothing reads it through `&self` (no method takes one; `Debug` prints only its name), and a
/// future is polled and dropped through `&mut`, so a shared reference to it, on any thread,
/// reaches nothing (what the standard library's unstable `Exclusive` is for).
pub struct SyncFuture<F>(F);

impl<F> SyncFuture<F> {
    /// `future`, to be returned as the `dyn` form's `impl Future + Sync`.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn new(future: F) -> Self {
        SyncFuture(future)
    }
}

// SAFETY: no access to the `F` goes through `&SyncFuture<F>` (the type's docs), so sharing
// one between threads shares no access to anything.
unsafe impl<F> Sync for SyncFuture<F> {}

impl<F: ::core::future::Future + Unpin> ::core::future::Future for SyncFuture<F> {
    type Output = F::Output;

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn poll(
        self: ::core::pin::Pin<&mut Self>,
        cx: &mut ::core::task::Context<'_>,
    ) -> ::core::task::Poll<F::Output> {
        ::core::pin::Pin::new(&mut self.get_mut().0).poll(cx)
    }
}

impl<F> ::core::fmt::Debug for SyncFuture<F> {
    fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
        f.write_str("SyncFuture")
    }
}

/// How `#[dyn_trait]`'s trait object (`Self`, `dyn __ErasedStore + 'a`) is made of an
/// implementor `V`: each function is the compiler's unsizing coercion, written by the
/// expansion for every `V: Store + 'a`, called only by [`erase_box`], [`erase_arc`] and
/// [`erase_rc`].
pub trait Erase<V> {
    /// `value` as the trait object.
    fn erase_box(value: Box<V>) -> Box<Self>;
    /// `value` as the trait object.
    fn erase_arc(value: ::std::sync::Arc<V>) -> ::std::sync::Arc<Self>;
    /// `value` as the trait object.
    fn erase_rc(value: ::std::rc::Rc<V>) -> ::std::rc::Rc<Self>;
}

/// `value` as the trait object `O`, for the `dyn` form's constructors. Never inlined, so the
/// object's vtable, and the erased methods it points at (`#[inline]`: compiled where they are
/// referenced), are compiled in this generic function's codegen unit rather than in the
/// caller's: in the implementor's own unit, where its futures' `poll` is an exported function,
/// LLVM leaves that `poll` out of line, and a call through the `dyn` form runs a third more
/// instructions (row (u) of the main job, default profile: 59 against 80); elsewhere it gets
/// an internal copy, which it inlines. One codegen unit (`lto = "fat"`) is the same either way.
#[inline(never)]
pub fn erase_box<O: ?Sized + Erase<V>, V>(value: Box<V>) -> Box<O> {
    O::erase_box(value)
}

/// [`erase_box`] for an `Arc`.
#[inline(never)]
pub fn erase_arc<O: ?Sized + Erase<V>, V>(value: ::std::sync::Arc<V>) -> ::std::sync::Arc<O> {
    O::erase_arc(value)
}

/// [`erase_box`] for an `Rc`.
#[inline(never)]
pub fn erase_rc<O: ?Sized + Erase<V>, V>(value: ::std::rc::Rc<V>) -> ::std::rc::Rc<O> {
    O::erase_rc(value)
}

/// `Unpin` exactly when `T` is: the bound of the `Unpin` impl `#[dyn_trait]` writes for a
/// `dyn` form with pinned receivers (`self: Pin<&mut Self>`), which passes its pin on to the
/// trait object inside it. A user's own `impl Unpin` for the form then conflicts with that
/// impl (an `Unpin` form would let safe code pin an implementor that is not pinned). The
/// lifetime keeps the bound from being a trivial one, whose failure would be an error at the
/// impl.
pub struct PinGuard<'pin, T: ?Sized>(
    ::core::marker::PhantomData<&'pin ()>,
    ::core::marker::PhantomData<T>,
);

impl<T: ?Sized> ::core::fmt::Debug for PinGuard<'_, T> {
    fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
        f.write_str("PinGuard")
    }
}
