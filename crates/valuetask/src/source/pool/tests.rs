//! Slots, the thread cache and the completer.

use super::*;

/// `take_completed` reads a `Slot<T>` as a `SlotHead<TaskOutput<T>>`: the fields it reads
/// sit at the same offsets, whatever `T`'s size and alignment.
#[test]
fn a_slot_starts_with_its_head_for_every_output_layout() {
    fn check<T>() {
        use std::mem::{offset_of, size_of};
        assert_eq!(
            offset_of!(Slot<T>, header),
            offset_of!(SlotHead<TaskOutput<T>>, header)
        );
        assert_eq!(
            offset_of!(Slot<T>, pool),
            offset_of!(SlotHead<TaskOutput<T>>, pool)
        );
        assert_eq!(size_of::<PoolRef<T>>(), size_of::<NonNull<PoolHead>>());
        assert_eq!(
            offset_of!(Slot<T>, core),
            offset_of!(SlotHead<TaskOutput<T>>, core)
        );
        assert_eq!(offset_of!(PoolShared<T>, head), 0);
    }
    check::<()>();
    check::<u8>();
    check::<u64>();
    check::<u128>();
    check::<String>();
    check::<[u64; 8]>();
    #[repr(align(64))]
    struct Aligned(#[allow(dead_code)] u8);
    check::<Aligned>();
}

/// The thread cache names its pool by address; it must keep that pool alive, or a new
/// pool (of another `T`) allocated at the freed address would be taken for it, and its
/// slots handed back as slots of the old type.
#[test]
fn the_thread_cache_keeps_its_pool_alive_until_it_lets_go() {
    std::thread::spawn(|| {
        let old = CompletionPool::<u8>::new();
        let weak = Arc::downgrade(&old.handle.shared);
        let (vt, c) = old.rent();
        c.set_result(1);
        assert_eq!(vt.get_result(), Ok(1)); // the slot is cached
        let (vt, c) = old.rent(); // the cache is empty again, still naming `old`
        drop(old);
        c.set_result(2);
        assert_eq!(vt.get_result(), Ok(2)); // the closed pool frees the slot
        assert!(weak.upgrade().is_some(), "named by the cache: alive");

        let new = CompletionPool::<[usize; 8]>::new();
        let (vt, c) = new.rent();
        c.set_result([7; 8]);
        assert_eq!(vt.get_result(), Ok([7; 8])); // cached: the cache switches to `new`
        assert!(
            weak.upgrade().is_none(),
            "let go when the cache switched: freed"
        );
        CACHE.with(|cache| cache.flush());
        assert_eq!(new.idle(), 1, "the flushed slot went back to its own pool");
    })
    .join()
    .unwrap();
}
