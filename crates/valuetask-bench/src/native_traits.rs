//! Rows (u), (v), (w): a trait written with native `async fn`, called through its `dyn`
//! form, made by dynosaur (`Box<dyn Future>` per call) and by `#[valuetask::dyn_trait]`
//! (value tasks in pooled storage), and called statically with and without the attribute.
//! The same bodies as `dyn_traits`'s service, written once:
//!
//! - `cache_hit` has an `.await` on a path the benchmarks never take: through a `dyn` form its
//!   future is made and completes in its first poll (neither attribute sees the body, so
//!   neither can run it as a closure, as `#[value_task]`'s (h) does);
//! - `suspending` suspends once.
//!
//! Row (u) has a floor: the same body's future made and polled once in a place of the
//! thread's own, outside the call's frame (`PlacedService`). A `dyn` form whose calls may
//! suspend must put the future there before its first poll, since a polled future cannot
//! move; the floor pays that and nothing else: no place is claimed or given back (so it cannot
//! suspend, nor nest), and its waker records nothing.

use std::cell::UnsafeCell;
use std::future::Future;
use std::hint::black_box;
use std::mem::{align_of, size_of, MaybeUninit};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use valuetask::ValueTask;

use crate::dyn_traits::Backend;
use crate::executor::{poll_to_completion, run_ready, yield_once};
use crate::harness::Implementation;
use crate::scenarios::{Scenario, Target};

/// The key `cache_hit` misses on (the benchmarks never pass it).
const MISS: u64 = u64::MAX;

/// The peer's name in the rows.
pub const DYNOSAUR: &str = "dynosaur";
/// Ours.
pub const DYN_TRAIT: &str = "#[dyn_trait]";

/// dynosaur's `dyn` form.
#[dynosaur::dynosaur(pub DynDinoService = dyn(box) DinoService)]
pub trait DinoService {
    async fn cache_hit(&self, key: u64) -> u64;
    async fn suspending(&self, key: u64) -> u64;
}

/// `#[dyn_trait]`'s `dyn` form.
#[valuetask::dyn_trait(pub DynNativeService = dyn(box) NativeService)]
pub trait NativeService {
    async fn cache_hit(&self, key: u64) -> u64;
    async fn suspending(&self, key: u64) -> u64;
}

/// The same trait with no attribute: the static floor of (w).
pub trait PlainNativeService {
    async fn cache_hit(&self, key: u64) -> u64;
    #[allow(dead_code)] // Its body is written once for the three traits; only tests call it.
    async fn suspending(&self, key: u64) -> u64;
}

/// The trait of (u)'s floor: its own copy of the bodies, so that the floor's row adds no
/// caller to the functions (u)'s row calls.
pub trait FloorNativeService {
    async fn cache_hit(&self, key: u64) -> u64;
    #[allow(dead_code)] // Its body is written once for the four traits; only tests call it.
    async fn suspending(&self, key: u64) -> u64;
}

/// The bodies, written once for the four traits.
macro_rules! native_impl {
    ($service:ident) => {
        impl $service for Backend {
            async fn cache_hit(&self, key: u64) -> u64 {
                if key == MISS {
                    yield_once().await;
                }
                key + black_box(self.offset)
            }
            async fn suspending(&self, key: u64) -> u64 {
                yield_once().await;
                key + black_box(self.offset)
            }
        }
    };
}

native_impl!(DinoService);
native_impl!(NativeService);
native_impl!(PlainNativeService);
native_impl!(FloorNativeService);

/// (u)'s floor as a `dyn` method: the body's future made and polled in the thread's place,
/// its output returned as a ready value task, which the caller awaits as it awaits (u)'s.
pub trait PlacedService {
    fn cache_hit_placed(&self, key: u64) -> ValueTask<'_, u64>;
}

impl PlacedService for Backend {
    fn cache_hit_placed(&self, key: u64) -> ValueTask<'_, u64> {
        ValueTask::from_result(poll_in_place(|| FloorNativeService::cache_hit(self, key)))
    }
}

/// The thread's place for the floor's future: a cache line, 64-aligned as a pooled block.
#[repr(C, align(64))]
struct Place(UnsafeCell<MaybeUninit<[u8; 64]>>);

thread_local! {
    static PLACE: Place = const { Place(UnsafeCell::new(MaybeUninit::uninit())) };
}

/// Write the future `make` returns into the thread's place, poll it there once with a waker
/// that records nothing, and drop it there.
///
/// # Panics
/// If the future returns `Pending` (a floor of the ready path only).
#[inline(always)]
fn poll_in_place<F: Future>(make: impl FnOnce() -> F) -> F::Output {
    const {
        assert!(
            size_of::<F>() <= 64 && align_of::<F>() <= 64,
            "the floor's future fits its place"
        );
    }
    let slot = PLACE.with(|place| place.0.get().cast::<F>());
    // SAFETY: the place fits and aligns `F` (checked above), lives as long as this thread and
    // is this thread's alone; nothing else is in it (every call drops its future before it
    // returns, and a call whose future is pending panics without returning). The future is
    // pinned there from the write to its drop.
    unsafe {
        slot.write(make());
        match Pin::new_unchecked(&mut *slot).poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(output) => {
                slot.drop_in_place();
                output
            }
            Poll::Pending => panic!("the floor's body completes in its first poll"),
        }
    }
}

/// The two `dyn` forms over one backend each, through `black_box` once (every call stays
/// dynamic).
fn dyn_forms() -> (Box<DynDinoService<'static>>, Box<DynNativeService<'static>>) {
    (
        black_box(DynDinoService::new_box(Backend { offset: 1 })),
        black_box(DynNativeService::new_box(Backend { offset: 1 })),
    )
}

/// The floor's row name.
pub const PLACED_FLOOR: &str = "floor: the future in the thread's place";

/// (u) A call through the `dyn` form whose body completes in its first poll. Target: at most
/// 0.25× of dynosaur's.
pub fn dyn_form_ready() -> Scenario {
    let (dino, native) = dyn_forms();
    let placed: Box<dyn PlacedService> = black_box(Box::new(Backend { offset: 1 }));
    // The place's address escapes, as a pooled block's does, so that no build (one codegen
    // unit and LTO: its only reader is the inlined poll) leaves out its writes.
    black_box(PLACE.with(|place| place.0.get()));
    Scenario::new(
        "u",
        "native async fn trait, dyn call completing synchronously",
        vec![
            Implementation::new(DYNOSAUR, move |k| {
                run_ready(async { dino.cache_hit(k).await })
            }),
            Implementation::new(DYN_TRAIT, move |k| {
                run_ready(async { native.cache_hit(k).await })
            }),
            Implementation::new(PLACED_FLOOR, move |k| {
                run_ready(async { placed.cache_hit_placed(k).await })
            }),
        ],
        Some(Target::peer(DYN_TRAIT, 0.25)),
    )
}

/// (v) A call through the `dyn` form whose body suspends once. Target: at most 0.60× of
/// dynosaur's.
pub fn dyn_form_suspending() -> Scenario {
    let (dino, native) = dyn_forms();
    Scenario::new(
        "v",
        "native async fn trait, dyn call suspending once (a yield)",
        vec![
            Implementation::new(DYNOSAUR, move |k| {
                poll_to_completion(async { dino.suspending(k).await })
            }),
            Implementation::new(DYN_TRAIT, move |k| {
                poll_to_completion(async { native.suspending(k).await })
            }),
        ],
        Some(Target::peer(DYN_TRAIT, 0.60)),
    )
}

/// (w) A static call of the trait under `#[dyn_trait]` against the same trait without it: the
/// attribute leaves the trait as written, so the two are the compiler's same future. Target:
/// at most 1.0× of the plain trait's.
pub fn static_call() -> Scenario {
    let backend = black_box(Backend { offset: 1 });
    let plain = black_box(Backend { offset: 1 });
    Scenario::new(
        "w",
        "native async fn trait, static call completing synchronously",
        vec![
            Implementation::new("no attribute", move |k| {
                run_ready(async { PlainNativeService::cache_hit(&plain, k).await })
            }),
            Implementation::new(DYN_TRAIT, move |k| {
                run_ready(async { NativeService::cache_hit(&backend, k).await })
            }),
        ],
        Some(Target::peer(DYN_TRAIT, 1.0)),
    )
}

/// The three rows.
pub fn all() -> Vec<Scenario> {
    vec![dyn_form_ready(), dyn_form_suspending(), static_call()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_dyn_forms_and_the_static_calls_give_the_same_values() {
        let (dino, native) = dyn_forms();
        assert_eq!(run_ready(dino.cache_hit(1)), 2);
        assert_eq!(run_ready(native.cache_hit(1)), 2);
        let placed: Box<dyn PlacedService> = Box::new(Backend { offset: 1 });
        assert_eq!(run_ready(placed.cache_hit_placed(1)), 2);
        assert_eq!(poll_to_completion(dino.suspending(2)), 3);
        assert_eq!(poll_to_completion(native.suspending(2)), 3);
        let backend = Backend { offset: 1 };
        assert_eq!(run_ready(NativeService::cache_hit(&backend, 3)), 4);
        assert_eq!(run_ready(PlainNativeService::cache_hit(&backend, 3)), 4);
        assert_eq!(
            poll_to_completion(PlainNativeService::suspending(&backend, 3)),
            4
        );
    }
}
