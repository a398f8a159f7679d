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

/// A `Slot` or `Backed` keeps its variant and pointer through the value task's two words,
/// whatever layout rustc gave the representation: a tag of its own, a tag in a niche of `T`,
/// the far form of a `T` too large for the words.
#[test]
fn a_pointer_variant_keeps_its_variant_and_pointer_in_the_words() {
    fn check<T: 'static>() {
        let header = NonNull::<backing::Header<T>>::dangling();
        type Make<T> = fn(Backed<'static, T>) -> ValueTask<'static, T>;
        let variants: [(&str, Make<T>); 2] = [
            ("Backed", ValueTask::from_backed),
            ("Slot", ValueTask::from_slot),
        ];
        for (variant, make) in variants {
            // SAFETY: the backing is never polled, released or dropped: forgotten below.
            let backed = unsafe { Backed::<'static, T>::from_header(header) };
            let repr = make(backed).into_repr();
            let kept = match (&repr, variant) {
                (Repr::Backed(b), "Backed") | (Repr::Slot(b), "Slot") => b.header(),
                _ => panic!(
                    "{variant} of {} changed variant",
                    std::any::type_name::<T>()
                ),
            };
            assert_eq!(kept, header, "{variant} of {}", std::any::type_name::<T>());
            std::mem::forget(repr);
        }
    }
    /// A niche (the `bool`'s) past the first 16 bytes.
    #[repr(C)]
    struct LateNiche([u64; 4], bool);
    check::<LateNiche>();
    check::<()>();
    check::<u8>();
    check::<u64>();
    check::<[u64; 1]>();
    check::<(u8, u64, u16)>();
    check::<[u8; 100]>();
    check::<[u64; 8]>();
    check::<[u64; 40]>();
    check::<Result<[u64; 4], u8>>();
    check::<Option<Box<u8>>>();
    check::<String>();
    check::<std::io::Result<usize>>();
    check::<Result<String, TaskError>>();
    check::<OverAligned<'static>>();
}

/// One size for every value task: two words, whatever the result; inline exactly when the
/// representation fits them.
#[test]
fn every_value_task_is_two_words() {
    fn check<T>(inline: bool) {
        assert_eq!(
            std::mem::size_of::<ValueTask<'_, T>>(),
            16,
            "{}",
            std::any::type_name::<T>()
        );
        assert_eq!(
            ValueTask::<'_, T>::INLINE,
            inline,
            "{}",
            std::any::type_name::<T>()
        );
        let fits =
            std::mem::size_of::<Repr<'_, T>>() <= 16 && std::mem::align_of::<Repr<'_, T>>() <= 8;
        assert_eq!(
            fits,
            inline,
            "{}: Repr's own size",
            std::any::type_name::<T>()
        );
    }
    check::<()>(true);
    check::<u8>(true);
    check::<u64>(true);
    check::<Option<Box<u8>>>(true);
    check::<std::io::Result<usize>>(true);
    check::<[u64; 2]>(false);
    check::<[u8; 24]>(false);
    check::<[u64; 8]>(false);
    check::<[u64; 32]>(false);
    check::<[u8; 2048]>(false);
    check::<String>(false);
    check::<OverAligned<'static>>(false);
}

/// A ready value task is the value it was made from, at every size around the words'
/// boundary and past the pool's largest block, and its value is dropped once: taken by a
/// poll, or dropped with the value task.
#[test]
fn a_ready_value_is_the_value_and_drops_once_at_every_size() {
    fn check<const PAD: usize>() {
        let mut bytes = [0u8; PAD];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = i as u8 ^ 0x5a;
        }
        let drops = AtomicUsize::new(0);
        let mut vt = ValueTask::from_result(Counted::<PAD>(&drops, bytes));
        assert!(vt.is_completed(), "at {PAD}");
        let value = vt.try_take().expect("ready");
        assert_eq!(value.1, bytes, "at {PAD}");
        assert!(std::ptr::eq(value.0, &drops));
        drop(vt);
        assert_eq!(
            drops.load(Ordering::Relaxed),
            0,
            "at {PAD}: taken, not dropped"
        );
        drop(value);
        assert_eq!(drops.load(Ordering::Relaxed), 1, "at {PAD}");

        let drops = AtomicUsize::new(0);
        drop(ValueTask::from_result(Counted::<PAD>(&drops, bytes)));
        assert_eq!(
            drops.load(Ordering::Relaxed),
            1,
            "at {PAD}: dropped unpolled"
        );
    }
    check::<0>();
    check::<1>();
    check::<7>();
    check::<8>();
    check::<9>();
    check::<15>();
    check::<23>();
    check::<24>();
    check::<64>();
    check::<113>();
    check::<256>();
    check::<4090>();
    check::<5000>();
}
