//! Type-erased [`tower`](https://docs.rs/tower) services whose response futures are value
//! tasks: tower's `BoxService` family without a box per request (feature `tower`).
//!
//! tower's erased services (`tower::util::BoxService` and its kin) put every response future
//! in a `Pin<Box<dyn Future>>`: one allocation per request. These do the same job with the
//! same names, bounds and layers, but their `Future` is a [`ValueTask`] (a
//! [`LocalValueTask`] for the `!Send` one) whose inner future lives in a block of valuetask's
//! pooled storage ([`ValueTask::new`]; a future over 4,080 bytes or a response over 4,064, or one aligned to more than 16, goes to a box, as there), so a
//! request allocates nothing in steady state, whether the stack answers at once or
//! suspends. The cloneable ones keep the inner service in pooled storage too, so a server
//! adapter that clones the service for each request (hyper_util's `TowerToHyperService`)
//! allocates nothing for the clone either, where tower's boxes it: through such an adapter a
//! request costs tower's erasure two allocations and these none. (axum stores each route in
//! tower's own `BoxCloneService` and clones that per request, so a service of ours routed by
//! axum still pays axum's two boxes; what it saves is the erasure layers of its own.) Swapping tower's erasure for these is a change of import where the stack names
//! the type (`BoxCloneService::new(stack)`, `.layer(BoxCloneService::layer())`); tower's
//! shorthands `ServiceExt::boxed`/`boxed_clone` and `ServiceBuilder::boxed`/`boxed_clone`/
//! `boxed_clone_sync` build tower's own types, so such a stack is written with `new` or
//! `layer()` instead. A service of ours erased again (a route erased, then the whole
//! router; two `layer()`s with nothing between; a `Send` one erased as an
//! [`UnsyncBoxService`]) hands on its response as it is, where tower boxes it a second
//! time: one block per request however often it is erased. So does any service whose
//! response future is already a [`ValueTask`] (a `#[value_task]` method's).
//!
//! | valuetask | tower | bounds on the inner service | the erased service is |
//! |---|---|---|---|
//! | [`BoxService`] | `tower::util::BoxService` | `Send + 'static`, its future `Send + 'static` | `Send + Sync` |
//! | [`UnsyncBoxService`] | `tower::util::UnsyncBoxService` | `'static`, its future `'static` | neither |
//! | [`BoxCloneService`] | `tower::util::BoxCloneService` | `Clone + Send + 'static`, its future `Send + 'static` | `Clone + Send` |
//! | [`BoxCloneSyncService`] | `tower::util::BoxCloneSyncService` | `Clone + Send + Sync + 'static`, its future `Send + 'static` | `Clone + Send + Sync` |
//! | [`BoxLayer`] | `tower::util::BoxLayer` | as `BoxService` | `Clone + Send + Sync` |
//! | [`BoxCloneServiceLayer`] | `tower::util::BoxCloneServiceLayer` | as `BoxCloneService` | `Clone + Send + Sync` |
//! | [`BoxCloneSyncServiceLayer`] | `tower::util::BoxCloneSyncServiceLayer` | as `BoxCloneSyncService` | `Clone + Send + Sync` |
//!
//! Each service also has `layer()`, as tower's do, for a `ServiceBuilder` stack; `Debug`
//! prints what tower's does. Two things differ: the response and error types are `'static`
//! (a value task of them is), which every response and error a tower stack returns in
//! practice is, and the types say so (`U: 'static, E: 'static`), so a struct generic over
//! them that holds one restates those bounds (tower's types have none); and the response future of
//! the `Send` services is `Send` only when the response and error types are, since a value
//! task can hold its result (tower's box is `Send` whatever they are). An error type of
//! `Box<dyn Error>` without `+ Send + Sync` compiles with tower's erasure and gives a response
//! that cannot be sent to another task here: use tower's `BoxError` (`Box<dyn Error + Send +
//! Sync>`), as tower's own middleware does.
//!
//! # What a caller observes
//!
//! What tower's boxed services show: `poll_ready` and its back-pressure pass straight
//! through, and so do errors, from `poll_ready` and from the response; the inner future is
//! created in `call` and first polled when the response is, so a panic in the inner
//! service's `call` comes out of `call` and one in its future out of the response's poll;
//! dropping the response drops the inner future, polled or not. Two things differ. The
//! storage: a pooled block instead of a box. And when a completed inner future is dropped:
//! tower drops it with the response; here, for a response and error of at most three words
//! together with the `Result`'s tag (`Result<u64, BoxError>`), or of at most 64 bytes that
//! are not whole 8-byte words (a digest with an error aligned below 8:
//! `Result<[u8; 32], Infallible>`), it is dropped, and its
//! block given back, inside the poll that returns `Ready`, so what its drop releases (a
//! `ConcurrencyLimit` permit, a guard) is released at completion, and a panic in that drop
//! comes out of that poll; any other response's (`Result<http::Response<_>, _>`) stays, as
//! tower's, until the response is dropped. A response polled again after `Ready` panics
//! (a [`ValueTask`]'s rule), whatever the inner future would do.
//!
//! The response is not started at `call`, as `#[value_task]` bodies are
//! ([`ValueTask::start`]): with an erased stack the caller polls the response at once
//! anyway, and a response polled at `call` that suspends there must make its caller return
//! `Pending` once more before it is polled again (a yield at the call reaching the caller's
//! executor), a round trip a lazily started response does not pay.
//!
//! ```
//! use std::convert::Infallible;
//! use tower::{service_fn, Service, ServiceBuilder, ServiceExt};
//! use valuetask::tower::BoxCloneService;
//!
//! # fn main() {
//! let mut service: BoxCloneService<u32, String, Infallible> = ServiceBuilder::new()
//!     .layer(BoxCloneService::layer())
//!     .map_request(|n: u32| n * 2)
//!     .service(service_fn(|n: u32| async move { Ok::<_, Infallible>(n.to_string()) }));
//! let response = valuetask::ValueTask::new(async move {
//!     service.ready().await?.call(21).await
//! });
//! assert_eq!(response.get_result().as_deref(), Ok("42"));
//! # }
//! ```
//!
//! # Invariants
//!
//! - The erased service behind a [`BoxService`] is reached only through `&mut self` (its
//!   `Service` methods; `Debug` prints no field), which is why it is `Sync` while the inner
//!   service need not be, as tower's is.

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use tower_layer::{layer_fn, Layer, LayerFn};
use tower_service::Service;

use crate::pool::PooledBox;
use crate::{LocalValueTask, ValueTask};

/// A `Send` response future: what every erased service but the unsync one returns.
type Response<U, E> = ValueTask<'static, Result<U, E>>;

/// The inner service of every erased one: its response futures started as value tasks.
struct Started<S>(S);

impl<S, T> Service<T> for Started<S>
where
    S: Service<T>,
    S::Future: Send + 'static,
    S::Response: 'static,
    S::Error: 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Response<S::Response, S::Error>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    #[inline]
    fn call(&mut self, request: T) -> Self::Future {
        let mut response = Some(self.0.call(request));
        // An erased service's own response (one of ours erased again: a stack with two
        // `layer()`s) is passed on as it is, not put in a second block polled through it. The
        // type test folds to a constant.
        if let Some(ours) = (&mut response as &mut dyn Any).downcast_mut::<Option<Self::Future>>() {
            return ours.take().expect("filled above");
        }
        // In pooled storage, first polled with the response (module docs).
        ValueTask::new(response.expect("filled above"))
    }
}

/// [`Started`] for `!Send` futures.
struct StartedLocal<S>(S);

impl<S, T> Service<T> for StartedLocal<S>
where
    S: Service<T>,
    S::Future: 'static,
    S::Response: 'static,
    S::Error: 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = LocalValueTask<'static, Result<S::Response, S::Error>>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    #[inline]
    fn call(&mut self, request: T) -> Self::Future {
        let mut response = Some(self.0.call(request));
        // As in `Started`: an `UnsyncBoxService`'s own response is passed on, and so is a
        // value task (a `Send` erasure's response: a `LocalValueTask` of it is the same
        // words), not put in a second block.
        let any = &mut response as &mut dyn Any;
        if let Some(ours) = any.downcast_mut::<Option<Self::Future>>() {
            return ours.take().expect("filled above");
        }
        if let Some(sendable) = any.downcast_mut::<Option<Response<S::Response, S::Error>>>() {
            return sendable.take().expect("filled above").into();
        }
        LocalValueTask::new(response.expect("filled above"))
    }
}

/// A `Service` whose response futures are value tasks, erased (.NET has no counterpart:
/// tower's `BoxService`, with no box per request). `Send + Sync`, not `Clone`.
pub struct BoxService<T, U: 'static, E: 'static> {
    inner: Box<dyn Service<T, Response = U, Error = E, Future = Response<U, E>> + Send>,
}

// SAFETY: the boxed service is reached only through `&mut self` (module invariants): a
// `&BoxService` gives access to nothing, so sharing one between threads shares nothing.
unsafe impl<T, U: 'static, E: 'static> Sync for BoxService<T, U, E> {}

impl<T, U: 'static, E: 'static> BoxService<T, U, E> {
    /// Erase `inner`'s type.
    pub fn new<S>(inner: S) -> Self
    where
        S: Service<T, Response = U, Error = E> + Send + 'static,
        S::Future: Send + 'static,
    {
        Self {
            inner: Box::new(Started(inner)),
        }
    }

    /// A layer that erases the service it wraps (tower's `BoxService::layer`).
    pub fn layer<S>() -> LayerFn<fn(S) -> Self>
    where
        S: Service<T, Response = U, Error = E> + Send + 'static,
        S::Future: Send + 'static,
    {
        layer_fn(Self::new)
    }
}

impl<T, U: 'static, E: 'static> Service<T> for BoxService<T, U, E> {
    type Response = U;
    type Error = E;
    type Future = Response<U, E>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), E>> {
        self.inner.poll_ready(cx)
    }

    #[inline]
    fn call(&mut self, request: T) -> Response<U, E> {
        self.inner.call(request)
    }
}

impl<T, U: 'static, E: 'static> fmt::Debug for BoxService<T, U, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoxService").finish()
    }
}

/// [`BoxService`] for services and futures that are not `Send` (tower's
/// `UnsyncBoxService`): its responses are [`LocalValueTask`]s.
pub struct UnsyncBoxService<T, U: 'static, E: 'static> {
    #[allow(clippy::type_complexity)]
    inner: Box<
        dyn Service<T, Response = U, Error = E, Future = LocalValueTask<'static, Result<U, E>>>,
    >,
}

impl<T, U: 'static, E: 'static> UnsyncBoxService<T, U, E> {
    /// Erase `inner`'s type.
    pub fn new<S>(inner: S) -> Self
    where
        S: Service<T, Response = U, Error = E> + 'static,
        S::Future: 'static,
    {
        Self {
            inner: Box::new(StartedLocal(inner)),
        }
    }

    /// A layer that erases the service it wraps (tower's `UnsyncBoxService::layer`).
    pub fn layer<S>() -> LayerFn<fn(S) -> Self>
    where
        S: Service<T, Response = U, Error = E> + 'static,
        S::Future: 'static,
    {
        layer_fn(Self::new)
    }
}

impl<T, U: 'static, E: 'static> Service<T> for UnsyncBoxService<T, U, E> {
    type Response = U;
    type Error = E;
    type Future = LocalValueTask<'static, Result<U, E>>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), E>> {
        self.inner.poll_ready(cx)
    }

    #[inline]
    fn call(&mut self, request: T) -> Self::Future {
        self.inner.call(request)
    }
}

impl<T, U: 'static, E: 'static> fmt::Debug for UnsyncBoxService<T, U, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnsyncBoxService").finish()
    }
}

/// Declares a cloneable erased service: `$name` holds a `$clone_trait` object (an erased
/// service that clones itself) in a [`PooledBox`], `$object` being its auto traits and
/// `$bound` what the inner service must be. A clone goes in pooled storage: an adapter that
/// clones the service for each request (hyper_util's) allocates nothing for it in
/// steady state, where tower's boxes each clone.
macro_rules! erased_clone_service {
    (
        $(#[$doc:meta])*
        $name:ident, $clone_trait:ident, object: $($object:ident)&+, inner: $($bound:tt)+
    ) => {
        /// An erased service that clones itself into pooled storage.
        trait $clone_trait<T>: Service<T> {
            #[allow(clippy::type_complexity)]
            fn clone_box(
                &self,
            ) -> PooledBox<
                dyn $clone_trait<
                        T,
                        Response = Self::Response,
                        Error = Self::Error,
                        Future = Self::Future,
                    > $(+ $object)+,
            >;
        }

        impl<T, S> $clone_trait<T> for Started<S>
        where
            S: Service<T> + $($bound)+,
            S::Future: Send + 'static,
            S::Response: 'static,
            S::Error: 'static,
        {
            fn clone_box(
                &self,
            ) -> PooledBox<
                dyn $clone_trait<
                        T,
                        Response = Self::Response,
                        Error = Self::Error,
                        Future = Self::Future,
                    > $(+ $object)+,
            > {
                // SAFETY: `|p| p` is the unsizing coercion of the pointer.
                unsafe {
                    PooledBox::new(Started(self.0.clone())).map_unsize::<dyn $clone_trait<
                        T,
                        Response = Self::Response,
                        Error = Self::Error,
                        Future = Self::Future,
                    > $(+ $object)+>(|p| p)
                }
            }
        }

        $(#[$doc])*
        pub struct $name<T, U: 'static, E: 'static> {
            #[allow(clippy::type_complexity)]
            inner: PooledBox<
                dyn $clone_trait<T, Response = U, Error = E, Future = Response<U, E>>
                    $(+ $object)+,
            >,
        }

        impl<T, U: 'static, E: 'static> $name<T, U, E> {
            /// Erase `inner`'s type.
            pub fn new<S>(inner: S) -> Self
            where
                S: Service<T, Response = U, Error = E> + $($bound)+,
                S::Future: Send + 'static,
            {
                // SAFETY: `|p| p` is the unsizing coercion of the pointer.
                let inner = unsafe {
                    PooledBox::new(Started(inner)).map_unsize::<dyn $clone_trait<
                        T,
                        Response = U,
                        Error = E,
                        Future = Response<U, E>,
                    > $(+ $object)+>(|p| p)
                };
                Self { inner }
            }

            /// A layer that erases the service it wraps (tower's function of the same name).
            pub fn layer<S>() -> LayerFn<fn(S) -> Self>
            where
                S: Service<T, Response = U, Error = E> + $($bound)+,
                S::Future: Send + 'static,
            {
                layer_fn(Self::new)
            }
        }

        impl<T, U: 'static, E: 'static> Service<T> for $name<T, U, E> {
            type Response = U;
            type Error = E;
            type Future = Response<U, E>;

            #[inline]
            fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), E>> {
                self.inner.poll_ready(cx)
            }

            #[inline]
            fn call(&mut self, request: T) -> Response<U, E> {
                self.inner.call(request)
            }
        }

        impl<T, U: 'static, E: 'static> Clone for $name<T, U, E> {
            fn clone(&self) -> Self {
                Self {
                    inner: self.inner.clone_box(),
                }
            }
        }

        impl<T, U: 'static, E: 'static> fmt::Debug for $name<T, U, E> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).finish()
            }
        }
    };
}

erased_clone_service! {
    /// A cloneable [`BoxService`] (tower's `BoxCloneService`): `Clone + Send`; each clone is a
    /// clone of the inner service, in a pooled block of its own (a box over 4,096 bytes or
    /// aligned to more than 16).
    BoxCloneService, CloneService, object: Send, inner: Clone + Send + 'static
}

erased_clone_service! {
    /// A cloneable, `Sync` [`BoxService`] (tower's `BoxCloneSyncService`): `Clone + Send +
    /// Sync`.
    BoxCloneSyncService, CloneSyncService, object: Send & Sync, inner: Clone + Send + Sync + 'static
}

/// Declares an erased layer: a layer whose services come out erased as `$service`, itself
/// erased behind an `Arc` (so it is `Clone + Send + Sync` whatever the inner layer's type).
macro_rules! erased_layer {
    (
        $(#[$doc:meta])*
        $name:ident => $service:ident, bounds: $($bound:tt)+
    ) => {
        $(#[$doc])*
        pub struct $name<In, T, U: 'static, E: 'static> {
            #[allow(clippy::type_complexity)]
            boxed: Arc<dyn Layer<In, Service = $service<T, U, E>> + Send + Sync + 'static>,
        }

        impl<In, T, U: 'static, E: 'static> $name<In, T, U, E> {
            /// Erase `inner_layer`'s type, and the type of the services it makes.
            pub fn new<L>(inner_layer: L) -> Self
            where
                L: Layer<In> + Send + Sync + 'static,
                L::Service: Service<T, Response = U, Error = E> + $($bound)+,
                <L::Service as Service<T>>::Future: Send + 'static,
            {
                let layer = layer_fn(move |inner: In| $service::new(inner_layer.layer(inner)));
                Self {
                    boxed: Arc::new(layer),
                }
            }
        }

        impl<In, T, U: 'static, E: 'static> Layer<In> for $name<In, T, U, E> {
            type Service = $service<T, U, E>;

            fn layer(&self, inner: In) -> Self::Service {
                self.boxed.layer(inner)
            }
        }

        impl<In, T, U: 'static, E: 'static> Clone for $name<In, T, U, E> {
            fn clone(&self) -> Self {
                Self {
                    boxed: Arc::clone(&self.boxed),
                }
            }
        }

        impl<In, T, U: 'static, E: 'static> fmt::Debug for $name<In, T, U, E> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).finish()
            }
        }
    };
}

erased_layer! {
    /// A [`Layer`] erased, whose services come out as [`BoxService`]s (tower's `BoxLayer`).
    BoxLayer => BoxService, bounds: Send + 'static
}

erased_layer! {
    /// A [`Layer`] erased, whose services come out as [`BoxCloneService`]s (tower's
    /// `BoxCloneServiceLayer`).
    BoxCloneServiceLayer => BoxCloneService, bounds: Clone + Send + 'static
}

erased_layer! {
    /// A [`Layer`] erased, whose services come out as [`BoxCloneSyncService`]s (tower's
    /// `BoxCloneSyncServiceLayer`).
    BoxCloneSyncServiceLayer => BoxCloneSyncService, bounds: Clone + Send + Sync + 'static
}
