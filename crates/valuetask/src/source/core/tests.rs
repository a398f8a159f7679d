//! The core's layout against its view, and its misuse messages.

use super::*;

fn panic_message(f: impl FnOnce()) -> String {
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_err();
    panic.downcast_ref::<String>().cloned().unwrap_or_default()
}

/// A pooled slot's fast path reads a core as a `CoreView` of its output type: the same
/// offsets and size, whatever `T`.
#[test]
fn a_core_and_its_view_have_one_layout() {
    fn check<T>() {
        use std::mem::{align_of, offset_of, size_of};
        type View<T> = CoreView<TaskOutput<T>>;
        type Core<T> = ManualResetValueTaskSourceCore<T>;
        assert_eq!(offset_of!(Core<T>, waker), offset_of!(View<T>, waker));
        assert_eq!(offset_of!(Core<T>, head), offset_of!(View<T>, head));
        assert_eq!(offset_of!(Core<T>, consumer), offset_of!(View<T>, consumer));
        assert_eq!(size_of::<Core<T>>(), size_of::<View<T>>());
        assert_eq!(align_of::<Core<T>>(), align_of::<View<T>>());
    }
    check::<()>();
    check::<u8>();
    check::<String>();
    check::<[u128; 3]>();
    #[repr(align(64))]
    struct Aligned(#[allow(dead_code)] u8);
    check::<Aligned>();
}

/// Past `u32::MAX` the version wraps to 0: the previous token is still called stale, and
/// the next one still from the future.
#[test]
fn tokens_are_told_stale_or_future_across_the_version_wrap() {
    let core = ManualResetValueTaskSourceCore::<u8>::new();
    core.head
        .state
        .store(with_version(u32::MAX, 0), Ordering::Release);
    core.reset();
    assert_eq!(core.version(), 0);
    let stale = panic_message(|| {
        let _ = core.status(u32::MAX);
    });
    assert!(stale.contains("is stale"), "{stale}");
    let future = panic_message(|| {
        let _ = core.status(1);
    });
    assert!(future.contains("from the future"), "{future}");
}
