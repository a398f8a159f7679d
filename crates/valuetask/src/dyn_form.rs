//! `DynForm<dyn Erased..>`: the `dyn` form `#[dyn_trait]` gives a trait written with native
//! `async fn` (`type DynStore<'a> = DynForm<dyn ErasedStore + 'a>`), and its constructors.
//!
//! A struct around the trait object, as dynosaur's generated struct is, rather than the
//! trait object itself: `&Arc<DynStore>` and `&mut Box<DynStore>` then deref-coerce to
//! `&DynStore` and `&mut DynStore`, where a bare `dyn` target would have the compiler unsize
//! the pointer into a second trait object (a `dyn` call through another). Being generic here,
//! the conversions in and out of it (`unsafe`: pointer casts) are written once, in this
//! module, instead of in every expansion.
//!
//! # Invariants
//!
//! - `DynForm<T>` is `#[repr(transparent)]` over `T`: a pointer to `T` and a pointer to
//!   `DynForm<T>` have the same address and metadata (for `dyn` types, the same vtable), so
//!   casting one to the other, in either direction, keeps every pointer's validity,
//!   ownership (boxes, `Rc`, `Arc`) and pinning.
//! - A `DynForm<T>` is only ever made from a `T` by such a cast (or holds one by value,
//!   never unsized that way); nothing moves its `T` out except through those casts.

use std::fmt;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

/// The `dyn` form of a trait under [`#[dyn_trait]`](crate::dyn_trait): `DynStore<'a, ..>` is
/// `DynForm<dyn ErasedStore<..> + 'a>`, which implements `Store`. Made with the constructors
/// dynosaur's `dyn` form has: [`new_box`](Self::new_box), [`new_arc`](Self::new_arc),
/// [`new_rc`](Self::new_rc), [`from_box`](Self::from_box), [`from_arc`](Self::from_arc),
/// [`from_rc`](Self::from_rc), [`from_ref`](Self::from_ref), [`from_mut`](Self::from_mut), and
/// dynosaur 0.2's [`boxed`](Self::boxed).
///
/// No .NET counterpart: every .NET interface can be called through a reference already.
///
/// ```
/// use valuetask::dyn_trait;
///
/// #[dyn_trait(DynCounter = dyn Counter)]
/// trait Counter {
///     async fn bump(&mut self) -> u32;
/// }
///
/// struct Clicks(u32);
///
/// impl Counter for Clicks {
///     async fn bump(&mut self) -> u32 {
///         self.0 += 1;
///         self.0
///     }
/// }
///
/// let mut clicks = Clicks(0);
/// let counter: &mut DynCounter<'_> = DynCounter::from_mut(&mut clicks);
/// assert_eq!(futures::executor::block_on(counter.bump()), 1);
/// let mut boxed = DynCounter::new_box(Clicks(5));
/// assert_eq!(futures::executor::block_on(boxed.bump()), 6);
/// ```
#[repr(transparent)]
pub struct DynForm<T: ?Sized>(T);

impl<T: ?Sized> fmt::Debug for DynForm<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DynForm")
    }
}

/// How `#[dyn_trait]`'s trait object (`Self`, `dyn ErasedStore + 'a`) is made of an
/// implementor `V`: each function is the compiler's unsizing coercion, written by the
/// expansion for every `V: Store + 'a`. Not part of the API.
#[doc(hidden)]
pub trait Erase<V> {
    fn erase_box(value: Box<V>) -> Box<Self>;
    fn erase_arc(value: Arc<V>) -> Arc<Self>;
    fn erase_rc(value: Rc<V>) -> Rc<Self>;
    fn erase_ref(value: &V) -> &Self;
    fn erase_mut(value: &mut V) -> &mut Self;
}

impl<T: ?Sized> DynForm<T> {
    /// A `Box<DynStore>` of `value` (dynosaur's `new_box`).
    pub fn new_box<V>(value: V) -> Box<Self>
    where
        T: Erase<V>,
    {
        Self::wrap_box(T::erase_box(Box::new(value)))
    }

    /// A `Box<DynStore>` of `value`: dynosaur 0.2's name for [`new_box`](Self::new_box).
    pub fn boxed<V>(value: V) -> Box<Self>
    where
        T: Erase<V>,
    {
        Self::new_box(value)
    }

    /// An `Arc<DynStore>` of `value` (dynosaur's `new_arc`).
    pub fn new_arc<V>(value: V) -> Arc<Self>
    where
        T: Erase<V>,
    {
        Self::from_arc(Arc::new(value))
    }

    /// An `Rc<DynStore>` of `value` (dynosaur's `new_rc`).
    pub fn new_rc<V>(value: V) -> Rc<Self>
    where
        T: Erase<V>,
    {
        Self::from_rc(Rc::new(value))
    }

    /// `value`'s box as a `Box<DynStore>` (dynosaur's `from_box`).
    pub fn from_box<V>(value: Box<V>) -> Box<Self>
    where
        T: Erase<V>,
    {
        Self::wrap_box(T::erase_box(value))
    }

    /// `value`'s `Arc` as an `Arc<DynStore>` (dynosaur's `from_arc`).
    pub fn from_arc<V>(value: Arc<V>) -> Arc<Self>
    where
        T: Erase<V>,
    {
        let erased = Arc::into_raw(T::erase_arc(value));
        // SAFETY: `DynForm<T>` is `repr(transparent)` over `T` (module invariants): the same
        // allocation, seen as the wrapper, with the count `into_raw` handed over.
        unsafe { Arc::from_raw(erased as *const Self) }
    }

    /// `value`'s `Rc` as an `Rc<DynStore>` (dynosaur's `from_rc`).
    pub fn from_rc<V>(value: Rc<V>) -> Rc<Self>
    where
        T: Erase<V>,
    {
        let erased = Rc::into_raw(T::erase_rc(value));
        // SAFETY: as in `from_arc`.
        unsafe { Rc::from_raw(erased as *const Self) }
    }

    /// `value` as a `&DynStore` (dynosaur's `from_ref`).
    pub fn from_ref<V>(value: &V) -> &Self
    where
        T: Erase<V>,
    {
        let erased: *const T = T::erase_ref(value);
        // SAFETY: `repr(transparent)` (module invariants); the borrow is `value`'s.
        unsafe { &*(erased as *const Self) }
    }

    /// `value` as a `&mut DynStore` (dynosaur's `from_mut`).
    pub fn from_mut<V>(value: &mut V) -> &mut Self
    where
        T: Erase<V>,
    {
        let erased: *mut T = T::erase_mut(value);
        // SAFETY: `repr(transparent)` (module invariants); the unique borrow is `value`'s.
        unsafe { &mut *(erased as *mut Self) }
    }

    fn wrap_box(erased: Box<T>) -> Box<Self> {
        // SAFETY: `repr(transparent)` (module invariants): the same allocation and layout,
        // owned by the new box alone.
        unsafe { Box::from_raw(Box::into_raw(erased) as *mut Self) }
    }

    /// The trait object, for the expansion's calls. Not part of the API.
    #[doc(hidden)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn __inner(&self) -> &T {
        &self.0
    }

    /// The trait object, for the expansion's calls. Not part of the API.
    #[doc(hidden)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn __inner_mut(&mut self) -> &mut T {
        &mut self.0
    }

    /// The boxed trait object, for a `self: Box<Self>` method. Not part of the API.
    #[doc(hidden)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn __inner_box(self: Box<Self>) -> Box<T> {
        // SAFETY: `repr(transparent)` (module invariants), as in `wrap_box`.
        unsafe { Box::from_raw(Box::into_raw(self) as *mut T) }
    }

    /// The counted trait object, for a `self: Arc<Self>` method. Not part of the API.
    #[doc(hidden)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn __inner_arc(self: Arc<Self>) -> Arc<T> {
        // SAFETY: as in `from_arc`.
        unsafe { Arc::from_raw(Arc::into_raw(self) as *const T) }
    }

    /// The counted trait object, for a `self: Rc<Self>` method. Not part of the API.
    #[doc(hidden)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn __inner_rc(self: Rc<Self>) -> Rc<T> {
        // SAFETY: as in `from_arc`.
        unsafe { Rc::from_raw(Rc::into_raw(self) as *const T) }
    }

    /// The pinned trait object, for a `self: Pin<&mut Self>` method. Not part of the API.
    #[doc(hidden)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn __inner_pin_mut(self: Pin<&mut Self>) -> Pin<&mut T> {
        // SAFETY: the field is the whole of the pinned wrapper (structural pinning: it is
        // never moved out of a pinned wrapper).
        unsafe { self.map_unchecked_mut(|form| &mut form.0) }
    }

    /// The pinned trait object, for a `self: Pin<&Self>` method. Not part of the API.
    #[doc(hidden)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn __inner_pin(self: Pin<&Self>) -> Pin<&T> {
        // SAFETY: as in `__inner_pin_mut`.
        unsafe { self.map_unchecked(|form| &form.0) }
    }
}
