//! The value task's representation, its drop and its conversions.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

/// Counts its drops; `PAD` sets its size.
struct Counted<'a, const PAD: usize>(&'a AtomicUsize, [u8; PAD]);

impl<const PAD: usize> Drop for Counted<'_, PAD> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[repr(align(32))]
struct OverAligned<'a>(&'a AtomicUsize);

impl Drop for OverAligned<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// Drop a value task ready with what `make` builds around a counter, and check that it
/// was dropped once.
macro_rules! drops_once {
    (|$d:ident| $make:expr) => {{
        let drops = AtomicUsize::new(0);
        let $d = &drops;
        drop(ValueTask::from_result($make));
        assert_eq!(drops.load(Ordering::Relaxed), 1, "{}", stringify!($make));
    }};
}

/// `Drop` moves a ready value with drop glue out in words (up to three) or by value (past
/// that, or over-aligned): each is dropped exactly once, padding and all.
#[test]
fn a_ready_value_with_drop_glue_is_dropped_once_at_every_size() {
    drops_once!(|d| Counted::<0>(d, []));
    drops_once!(|d| Counted::<1>(d, [1]));
    drops_once!(|d| Counted::<7>(d, [7; 7]));
    drops_once!(|d| Counted::<8>(d, [8; 8]));
    drops_once!(|d| Counted::<15>(d, [15; 15]));
    drops_once!(|d| Counted::<16>(d, [16; 16]));
    drops_once!(|d| Counted::<40>(d, [40; 40]));
    drops_once!(|d| OverAligned(d));
    drops_once!(|d| (Counted::<3>(d, [3; 3]), 5u8));
    drops_once!(|d| Ok::<_, TaskError>(Counted::<0>(d, [])));
}

/// A live backing dropped through the words path is released exactly once: a pooled
/// future's state is dropped, a `Task` record gives back its handle.
#[test]
fn a_live_backing_is_released_once() {
    let drops = AtomicUsize::new(0);
    let held = Counted::<0>(&drops, []);
    drop(ValueTask::new(async move {
        let _held = held;
        1u8
    }));
    assert_eq!(drops.load(Ordering::Relaxed), 1);

    let tcs = crate::TaskCompletionSource::<u8>::new();
    let task = tcs.task();
    let before = task.raw.ref_count();
    let vt = ValueTask::from(task.clone());
    assert_eq!(task.raw.ref_count(), before + 1);
    drop(vt);
    assert_eq!(task.raw.ref_count(), before);
}
