//! The static completed cells behind `Task::completed()` and `Task::from_result` of `()`,
//! `false`, `true` and the `i32`s `-1..=8`: the `Task<bool>` and `Task<int>` results .NET's
//! `AsyncTaskCache` holds. (.NET also hands out a cached task for `default` of some other
//! value types and for `null`; only `()` has a counterpart here.)
//!
//! # Invariants
//!
//! - The cells themselves live in `cell::STATIC_CELLS` (so the handle's clone and drop can
//!   tell a static cell by its address without calling up here); this module only maps a
//!   value to one of them. A new cached result goes in `STATIC_CELLS` too, or its handles
//!   would count, and free, a static.
//! - [`lookup`] hands out a cell typed `TaskOutput<T>` only when `T` *is* the cell's result type
//!   (`()`, `bool` or `i32`, none of which has a lifetime that erasure could hide), so the
//!   pointer cast between the two is the identity.

use std::any::TypeId;
use std::marker::PhantomData;
use std::ptr::NonNull;

use super::cell::{Cell, FIRST_CACHED_I32, STATIC_CELLS};
use super::TaskOutput;

/// The static cell holding `Ok(*value)`, if `value` is one that is cached. Never null.
///
/// For any other `T` the type tests below are constants that fold away after monomorphization:
/// `Task::from_result` of a `u64` compiles to the allocation alone.
#[inline]
pub(crate) fn lookup<T>(value: &T) -> Option<NonNull<Cell<TaskOutput<T>>>> {
    let id = erased_type_id::<T>();
    let cell: *const () = if id == TypeId::of::<()>() {
        std::ptr::from_ref(&STATIC_CELLS.unit).cast()
    } else if id == TypeId::of::<bool>() {
        // SAFETY: `T` is `bool` (it has no lifetimes, so the erased id is its own).
        let value = unsafe { *std::ptr::from_ref(value).cast::<bool>() };
        std::ptr::from_ref(&STATIC_CELLS.bools[usize::from(value)]).cast()
    } else if id == TypeId::of::<i32>() {
        // SAFETY: `T` is `i32`, as above.
        let value = unsafe { *std::ptr::from_ref(value).cast::<i32>() };
        let index = usize::try_from(value.wrapping_sub(FIRST_CACHED_I32)).ok()?;
        std::ptr::from_ref(STATIC_CELLS.ints.get(index)?).cast()
    } else {
        return None;
    };
    // `cell` is a `Cell<TaskOutput<U>>` in `STATIC_CELLS` for the `U` that the type test above proved
    // to be `T`: the cast changes the pointer's type, not what it points at.
    NonNull::new(cell.cast_mut().cast::<Cell<TaskOutput<T>>>())
}

/// `TypeId::of::<T>()` for a `T` that need not be `'static`: lifetimes are erased before code
/// is generated, so the id of `&'a str` is the id of `&'static str`. Comparing against a type
/// with no lifetimes (as [`lookup`] does) is therefore an exact type test.
fn erased_type_id<T: ?Sized>() -> TypeId {
    trait Identify {
        fn identify(&self) -> TypeId
        where
            Self: 'static;
    }
    impl<T: ?Sized> Identify for PhantomData<T> {
        fn identify(&self) -> TypeId
        where
            Self: 'static,
        {
            TypeId::of::<T>()
        }
    }
    let marker: &dyn Identify = &PhantomData::<T>;
    // SAFETY: only the trait object's lifetime bound changes, not its layout or vtable. The
    // method reads nothing through `self`; the bound only gates `TypeId::of`, whose value does
    // not depend on lifetimes.
    let marker: &(dyn Identify + 'static) =
        unsafe { std::mem::transmute::<&dyn Identify, &(dyn Identify + 'static)>(marker) };
    marker.identify()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::cell::{is_static, RawTask};
    use crate::task::Task;
    use crate::value_task::ValueTask;

    /// The words of every static cell (see `RawTask::words`).
    fn all_words() -> Vec<[usize; 4]> {
        let mut words = vec![RawTask::words(&STATIC_CELLS.unit)];
        words.extend(STATIC_CELLS.bools.iter().map(RawTask::words));
        words.extend(STATIC_CELLS.ints.iter().map(RawTask::words));
        words
    }

    /// Every way to use a completed task, on one cached task.
    fn use_every_way<T>(task: Task<T>)
    where
        T: Clone + Send + Sync + PartialEq + std::fmt::Debug + 'static,
    {
        let value = task
            .try_result()
            .expect("complete")
            .expect("succeeded")
            .clone();
        let copy = task.clone();
        assert_eq!(copy, task);
        let _ = format!("{task:?}");
        let _ = std::collections::HashSet::from([copy.clone()]);
        assert_eq!(task.wait(), Ok(&value));
        assert_eq!(task.error(), None);
        assert!(task.status().is_completed());
        let by_ref = std::future::IntoFuture::into_future(&task);
        assert_eq!(crate::blocking::block_on(by_ref), Ok(value.clone()));
        assert_eq!(crate::blocking::block_on(copy.clone()), Ok(value.clone()));
        assert_eq!(
            ValueTask::from(copy.clone()).get_result(),
            Ok(value.clone())
        );
        let next = copy.continue_with(|done| done.try_result().is_some());
        assert_eq!(next.wait(), Ok(&true));
        let pending = crate::TaskCompletionSource::<T>::new();
        let first = Task::when_any([pending.task(), copy.clone()]);
        assert_eq!(first.wait().map(|winner| winner == &copy), Ok(true));
        assert_eq!(
            Task::when_all([copy.clone(), copy.clone()]).wait(),
            Ok(&vec![value.clone(); 2])
        );
        assert_eq!(Task::from_result(copy.clone()).flatten().wait(), Ok(&value));
        drop(pending);
    }

    #[test]
    fn handles_of_cached_tasks_never_write_their_cells() {
        let before = all_words();
        use_every_way(Task::from_result(()));
        use_every_way(Task::completed());
        use_every_way(Task::from_result(false));
        use_every_way(Task::from_result(true));
        for value in -1..=8_i32 {
            use_every_way(Task::from_result(value));
        }
        assert_eq!(all_words(), before);
    }

    #[test]
    fn erased_type_id_tells_types_apart_and_ignores_lifetimes() {
        fn id_of_borrowed<'a>(_: &'a str) -> TypeId {
            erased_type_id::<&'a str>()
        }
        let local = String::from("local");
        assert_eq!(id_of_borrowed(&local), TypeId::of::<&'static str>());
        assert_eq!(erased_type_id::<bool>(), TypeId::of::<bool>());
        assert_ne!(erased_type_id::<u8>(), TypeId::of::<bool>());
        assert_ne!(erased_type_id::<u32>(), TypeId::of::<i32>());
    }

    #[test]
    fn only_the_cached_values_have_cells() {
        assert!(lookup(&()).is_some());
        assert!(lookup(&true).is_some() && lookup(&false).is_some());
        for value in -1..=8 {
            let cell = lookup(&value).expect("cached i32");
            assert!(is_static(cell));
        }
        assert!(lookup(&-2_i32).is_none());
        assert!(lookup(&9_i32).is_none());
        assert!(lookup(&i32::MIN).is_none());
        assert!(lookup(&0_u32).is_none(), "only i32 is cached, as in .NET");
        assert!(lookup(&0_i64).is_none());
        let on_heap = Box::new(0_u8);
        assert!(!is_static(
            std::ptr::NonNull::from(&*on_heap).cast::<Cell<u8>>()
        ));
        // The range's ends: its first byte is in, the byte before it and the first after it
        // are not (one unsigned comparison decides both sides).
        let start = (&raw const crate::task::cell::STATIC_CELLS).cast::<u8>();
        let size = std::mem::size_of::<crate::task::cell::StaticCells>();
        let at = |p: *const u8| {
            std::ptr::NonNull::new(p.cast_mut())
                .unwrap()
                .cast::<Cell<u8>>()
        };
        assert!(is_static(at(start)));
        assert!(is_static(at(start.wrapping_add(size - 1))));
        assert!(!is_static(at(start.wrapping_add(size))));
        assert!(!is_static(at(start.wrapping_sub(1))));
    }
}
