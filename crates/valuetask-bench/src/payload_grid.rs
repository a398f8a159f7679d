//! The payload grid: `dyn` trait calls shaped like users' traits, `#[value_task]` against
//! `#[async_trait]`, over
//!
//! - the leaf body's future: about 64 bytes, 512 and 2 KiB (a scratch buffer the body keeps
//!   across its `.await`; [`future_bytes`] gives each one's exact size, measured from the
//!   boxed future);
//! - the result: 8 bytes, 64 and 256 (`Payload<W>`, `W` words);
//! - the `dyn` layers a call crosses: 1 (the store), 2 (a forwarding impl,
//!   `async fn get(&self, key, opts) -> T { self.0.get(key, opts).await }`), 3 (a wrapper
//!   that rewrites the key into a local and awaits the forwarder with a reference to it: a
//!   body that needs a frame of its own);
//! - whether the leaf completes at once (an `.await` on a path it does not take, as a cache
//!   hit) or suspends once: it awaits a [`Gate`] that the driver opens between its first and
//!   second poll ([`poll_around`]), so every implementation returns `Pending` to the driver
//!   once, whatever its layers poll at the call.
//!
//! The first layer's call is awaited in an `async` block, as callers await (and as rows
//! (h)–(k) do): the caller's future holds the value task, or `#[async_trait]`'s box, across
//! its `.await`.
//!
//! Every method takes a reference and an options struct by value, as real ones do. Each cell
//! is a scenario of its own, `p<future>.<result>.<layers><r|s>` (`p512.256.3s`), with the
//! target that `#[value_task]` take at most the time `#[async_trait]` takes; the report
//! shows them as one grid (`report::grid`).

use std::hint::black_box;
use std::sync::Arc;

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::executor::{poll_around, run_ready, yield_once};
use crate::harness::Implementation;
use crate::scenarios::{Scenario, Target, ASYNC_TRAIT, VALUE_TASK_ATTR};

/// A call's key, passed by reference.
#[derive(Debug)]
pub struct Key(pub u64);

/// Options passed by value (no drop glue, not `Copy`), as a storage API's options are.
#[derive(Debug)]
pub struct Opts {
    /// Mixed into the result.
    pub salt: u64,
    /// Mixed into the scratch buffer.
    pub flags: u64,
}

/// A result of `W` words.
#[derive(Debug)]
pub struct Payload<const W: usize>(pub [u64; W]);

impl<const W: usize> Payload<W> {
    /// Every word depends on the inputs and on the body's scratch buffer.
    #[inline(always)]
    fn new(key: u64, opts: &Opts, scratch: &[u64]) -> Self {
        let seed = key ^ opts.salt ^ scratch[scratch.len() - 1];
        let mut words = [0u64; W];
        for (i, word) in words.iter_mut().enumerate() {
            *word = seed.wrapping_add(i as u64);
        }
        Payload(words)
    }

    /// One number that depends on the first and last words, of the payload as a whole in
    /// the caller's memory: `black_box` may read every word, so every word is moved there,
    /// as code the compiler cannot see would need it (without it, an inlined copy out of a
    /// block moved only the two words read here, where an opaque `dyn` poll writes all).
    #[inline(always)]
    pub fn digest(&self) -> u64 {
        let whole = std::hint::black_box(self);
        whole.0[0] ^ whole.0[W - 1]
    }
}

thread_local! {
    /// Whether the [`Gate`]s of this thread are open.
    static OPEN: Cell<bool> = const { Cell::new(false) };
}

/// Pending until the driver opens this thread's gates (see [`poll_around`]'s `meanwhile`);
/// re-registers nothing, since the driver polls again itself.
#[derive(Debug)]
pub struct Gate;

impl Future for Gate {
    type Output = ();
    #[inline]
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if OPEN.with(Cell::get) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// Drive a suspending call: the gates are shut while it is made (they are shut between
/// calls) and for its first poll, and opened before its second, so it suspends exactly once.
#[inline(always)]
fn through_gate<F: std::future::IntoFuture>(call: F) -> F::Output {
    let output = poll_around(call, || OPEN.with(|open| open.set(true)));
    OPEN.with(|open| open.set(false));
    output
}

/// The key a leaf's ready path misses on (never passed).
const MISS: u64 = u64::MAX;

/// The future sizes (scratch words) and result sizes (payload words) of the grid, as the
/// names of the cells give them in bytes.
pub const FUTURES: [usize; 3] = [64, 512, 2048];
/// See [`FUTURES`].
pub const RESULTS: [usize; 3] = [8, 64, 256];

/// One module per (future, result) pair: the two traits, the leaf store, the forwarder and
/// the key-rewriting wrapper, with the same bodies under each attribute.
macro_rules! cell_types {
    ($name:ident, scratch = $scratch:expr, words = $words:expr) => {
        pub mod $name {
            use super::*;

            /// The leaf's scratch buffer, in words.
            pub const SCRATCH: usize = $scratch;
            /// The result.
            pub type Out = Payload<{ $words }>;

            /// `#[async_trait]`: a box per call and per layer.
            #[async_trait::async_trait]
            pub trait BoxedStore: Send + Sync {
                async fn get(&self, key: &Key, opts: Opts) -> Out;
                async fn fetch(&self, key: &Key, opts: Opts) -> Out;
            }

            /// `#[value_task]`: the same trait.
            #[valuetask::value_task]
            pub trait PooledStore: Send + Sync {
                async fn get(&self, key: &Key, opts: Opts) -> Out;
                async fn fetch(&self, key: &Key, opts: Opts) -> Out;
            }

            /// The store: `get` completes at once, `fetch` suspends once; both keep the
            /// scratch buffer across their `.await`.
            #[derive(Debug)]
            pub struct Leaf;

            /// Awaits the next layer with the same arguments.
            pub struct Forward<S: ?Sized>(pub Arc<S>);

            /// Rewrites the key into a local and awaits the next layer with a reference to
            /// it (so its body needs a frame).
            pub struct Rewrite<S: ?Sized> {
                pub prefix: u64,
                pub inner: Arc<S>,
            }

            macro_rules! impls {
                ($attr:meta, $store:ident) => {
                    #[$attr]
                    impl $store for Leaf {
                        async fn get(&self, key: &Key, opts: Opts) -> Out {
                            let mut scratch = [0u64; SCRATCH];
                            scratch[SCRATCH - 1] = key.0 ^ opts.flags;
                            black_box(&mut scratch);
                            if key.0 == MISS {
                                yield_once().await;
                            }
                            Payload::new(key.0, &opts, black_box(&scratch))
                        }
                        async fn fetch(&self, key: &Key, opts: Opts) -> Out {
                            let mut scratch = [0u64; SCRATCH];
                            scratch[SCRATCH - 1] = key.0 ^ opts.flags;
                            black_box(&mut scratch);
                            Gate.await;
                            Payload::new(key.0, &opts, black_box(&scratch))
                        }
                    }

                    #[$attr]
                    impl $store for Forward<dyn $store> {
                        async fn get(&self, key: &Key, opts: Opts) -> Out {
                            self.0.get(key, opts).await
                        }
                        async fn fetch(&self, key: &Key, opts: Opts) -> Out {
                            self.0.fetch(key, opts).await
                        }
                    }

                    #[$attr]
                    impl $store for Rewrite<dyn $store> {
                        async fn get(&self, key: &Key, opts: Opts) -> Out {
                            let key = Key(key.0 ^ self.prefix);
                            self.inner.get(&key, opts).await
                        }
                        async fn fetch(&self, key: &Key, opts: Opts) -> Out {
                            let key = Key(key.0 ^ self.prefix);
                            self.inner.fetch(&key, opts).await
                        }
                    }
                };
            }
            impls!(async_trait::async_trait, BoxedStore);
            impls!(valuetask::value_task, PooledStore);

            /// The stacks of 1, 2 and 3 layers under each attribute.
            pub fn stacks() -> ([Arc<dyn BoxedStore>; 3], [Arc<dyn PooledStore>; 3]) {
                let boxed: Arc<dyn BoxedStore> = Arc::new(Leaf);
                let boxed2: Arc<dyn BoxedStore> = Arc::new(Forward(boxed.clone()));
                let boxed3: Arc<dyn BoxedStore> = Arc::new(Rewrite {
                    prefix: 0,
                    inner: boxed2.clone(),
                });
                let pooled: Arc<dyn PooledStore> = Arc::new(Leaf);
                let pooled2: Arc<dyn PooledStore> = Arc::new(Forward(pooled.clone()));
                let pooled3: Arc<dyn PooledStore> = Arc::new(Rewrite {
                    prefix: 0,
                    inner: pooled2.clone(),
                });
                ([boxed, boxed2, boxed3], [pooled, pooled2, pooled3])
            }

            /// The leaf's future size in bytes (as `#[async_trait]` boxes it).
            pub fn future_bytes() -> usize {
                let future = BoxedStore::get(&Leaf, &Key(0), Opts { salt: 0, flags: 0 });
                std::mem::size_of_val(&*future)
            }

            /// The grid's scenarios for this pair.
            pub fn scenarios(future: usize, result: usize) -> Vec<Scenario> {
                let mut out = Vec::new();
                for layers in 1..=3 {
                    for suspends in [false, true] {
                        let (boxed, pooled) = stacks();
                        let boxed = boxed[layers - 1].clone();
                        let pooled = pooled[layers - 1].clone();
                        let id = cell_id(future, result, layers, suspends);
                        let implementations = if suspends {
                            vec![
                                Implementation::new(ASYNC_TRAIT, move |k| {
                                    through_gate(async { boxed.fetch(&Key(k), opts(k)).await })
                                        .digest()
                                }),
                                Implementation::new(VALUE_TASK_ATTR, move |k| {
                                    through_gate(async { pooled.fetch(&Key(k), opts(k)).await })
                                        .digest()
                                }),
                            ]
                        } else {
                            vec![
                                Implementation::new(ASYNC_TRAIT, move |k| {
                                    run_ready(async { boxed.get(&Key(k), opts(k)).await }).digest()
                                }),
                                Implementation::new(VALUE_TASK_ATTR, move |k| {
                                    run_ready(async { pooled.get(&Key(k), opts(k)).await }).digest()
                                }),
                            ]
                        };
                        out.push(Scenario::new(
                            id,
                            "dyn call with a real payload (see the grid)",
                            implementations,
                            Some(Target::peer(VALUE_TASK_ATTR, 1.0)),
                        ));
                    }
                }
                out
            }
        }
    };
}

cell_types!(f64_r8, scratch = 2, words = 1);
cell_types!(f64_r64, scratch = 2, words = 8);
cell_types!(f64_r256, scratch = 2, words = 32);
cell_types!(f512_r8, scratch = 58, words = 1);
cell_types!(f512_r64, scratch = 58, words = 8);
cell_types!(f512_r256, scratch = 58, words = 32);
cell_types!(f2048_r8, scratch = 250, words = 1);
cell_types!(f2048_r64, scratch = 250, words = 8);
cell_types!(f2048_r256, scratch = 250, words = 32);

/// A call's options for the input `k`.
#[inline(always)]
fn opts(k: u64) -> Opts {
    Opts {
        salt: k.rotate_left(7),
        flags: k >> 3,
    }
}

/// A cell's scenario id: `p<future>.<result>.<layers><r|s>`. Leaked once per cell, at start.
fn cell_id(future: usize, result: usize, layers: usize, suspends: bool) -> &'static str {
    let mode = if suspends { 's' } else { 'r' };
    Box::leak(format!("p{future}.{result}.{layers}{mode}").into_boxed_str())
}

/// Whether a scenario id is one of the grid's cells.
pub fn is_cell(id: &str) -> bool {
    id.starts_with('p') && id.contains('.')
}

/// Every cell's scenario, future size first, then result size, layers, ready before
/// suspending.
pub fn all() -> Vec<Scenario> {
    [
        f64_r8::scenarios(64, 8),
        f64_r64::scenarios(64, 64),
        f64_r256::scenarios(64, 256),
        f512_r8::scenarios(512, 8),
        f512_r64::scenarios(512, 64),
        f512_r256::scenarios(512, 256),
        f2048_r8::scenarios(2048, 8),
        f2048_r64::scenarios(2048, 64),
        f2048_r256::scenarios(2048, 256),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The leaf futures' exact sizes in bytes, by nominal future size (the result size changes
/// them little): `(nominal, [with an 8-, 64- and 256-byte result])`.
pub fn future_bytes() -> [(usize, [usize; 3]); 3] {
    [
        (
            64,
            [
                f64_r8::future_bytes(),
                f64_r64::future_bytes(),
                f64_r256::future_bytes(),
            ],
        ),
        (
            512,
            [
                f512_r8::future_bytes(),
                f512_r64::future_bytes(),
                f512_r256::future_bytes(),
            ],
        ),
        (
            2048,
            [
                f2048_r8::future_bytes(),
                f2048_r64::future_bytes(),
                f2048_r256::future_bytes(),
            ],
        ),
    ]
}
