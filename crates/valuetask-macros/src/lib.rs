//! The `#[value_task]` attribute for [`valuetask`](https://docs.rs/valuetask): `async fn` in
//! traits (usable as `dyn Trait`), impls, inherent impls and free functions, returning a
//! `ValueTask` whose future lives in pooled storage.
//!
//! `#[dyn_trait]` gives a trait written with native `async fn` a `dyn` form whose calls return
//! value tasks (dynosaur's job, without a box per call).
//!
//! Use them through `valuetask::value_task` and `valuetask::dyn_trait`; the documentation is
//! there.

mod body;
mod deferral;
mod dyn_trait;
mod expand;
mod forwarding;
mod lifetimes;
mod lint_attrs;
mod options;
mod receiver;
mod signature;
mod synchronous;

use proc_macro::TokenStream;

/// See `valuetask::value_task`.
#[proc_macro_attribute]
pub fn value_task(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::expand(args.into(), input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// See `valuetask::dyn_trait`.
#[proc_macro_attribute]
pub fn dyn_trait(args: TokenStream, input: TokenStream) -> TokenStream {
    dyn_trait::expand(args.into(), input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
