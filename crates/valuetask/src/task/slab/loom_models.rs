//! A late registrant against a block that serves another cell, under loom.

use super::*;

/// A registrant of a task that saw it pending races the completer's close, its taking of
/// the wakers and the block's handing to another cell: either it reserved before the
/// close and the completer took its waker, or it reads the task as complete; it never
/// reserves in the block once it serves the other cell. In the narrow half, and in the
/// wide half once open (the registrant saw `SLAB_WIDE`, so the completer's claim did too).
/// (Without the tag check in `reserve`, this model fails.)
#[test]
fn a_late_registrant_never_reserves_in_a_block_serving_another_cell() {
    for wide in [false, true] {
        loom::model(move || {
            let slab = Slab::new(1);
            if wide {
                // The narrow shard is full and the wide half open (tagged under the cell's
                // `LOCKED`), as a registrant that opens the wide half leaves them.
                // SAFETY: a live block for cell 1, no other thread yet.
                unsafe { Slab::open_wide(slab, 1) };
                // SAFETY: as above.
                let Reservation::Slot(i) = (unsafe { Slab::reserve(slab, 1, false) }) else {
                    panic!("the narrow slot is free");
                };
                // SAFETY: reserved just now.
                unsafe { Slab::fill(slab, i, Waker::noop().clone()) };
            }
            let address = slab.as_ptr() as usize;
            let registrant = loom::thread::spawn(move || {
                let slab = NonNull::new(address as *mut Slab).expect("not null");
                // SAFETY: loaded while "cell 1" was pending; the block outlives the model.
                match unsafe { Slab::reserve(slab, 1, wide) } {
                    Reservation::Slot(i) => {
                        // SAFETY: reserved just now.
                        unsafe { Slab::fill(slab, i, Waker::noop().clone()) };
                        true
                    }
                    Reservation::Closed => false,
                    other => panic!("one registrant, a free slot: {other:?}"),
                }
            });
            // SAFETY: the completer of cell 1, once; the mask taken once; then the block
            // is handed to cell 2 as the store would (it is ours: cell 1 forgot it).
            let taken = unsafe {
                let reserved = Slab::close(slab, wide);
                let taken = Slab::take_all(slab, reserved);
                Slab::retag(slab, 2);
                taken
            };
            let reserved_by_registrant = registrant.join().expect("no panic");
            assert_eq!(
                taken.count(),
                usize::from(wide) + usize::from(reserved_by_registrant),
                "a slot reserved is taken by the completer"
            );
            // SAFETY: the block serves cell 2 now.
            let for_cell_2 = unsafe { Slab::reserved_now(slab, false) };
            assert_eq!(for_cell_2, 0, "nothing reserved in cell 2's block");
            // SAFETY: from `Box::into_raw` (no store under loom); nobody uses it any more.
            drop(unsafe { Box::from_raw(slab.as_ptr()) });
        });
    }
}
