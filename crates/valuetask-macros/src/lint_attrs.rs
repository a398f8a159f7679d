//! The lint attributes an expansion copies from the user's: onto a second binding of an
//! argument, or onto the generated copies of a method. An `#[expect(..)]` can be fulfilled in
//! one place only, so its other copies are `#[allow(..)]` of the same lints; a
//! `#[cfg_attr(predicate, ..)]` is looked into, nested ones too.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Meta, Token};

/// `attrs` with each `expect(..)`, also inside a `cfg_attr`, turned into `allow(..)`.
pub(crate) fn expect_as_allow(attrs: &[Attribute]) -> Vec<Attribute> {
    attrs
        .iter()
        .map(|attr| {
            let mut attr = attr.clone();
            expect_meta_as_allow(&mut attr.meta);
            attr
        })
        .collect()
}

fn expect_meta_as_allow(meta: &mut Meta) {
    let Meta::List(list) = meta else { return };
    if list.path.is_ident("expect") {
        list.path = syn::Ident::new("allow", list.path.span()).into();
    } else if list.path.is_ident("cfg_attr") {
        if let Ok(mut parts) = list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
        {
            for part in parts.iter_mut().skip(1) {
                expect_meta_as_allow(part);
            }
            list.tokens = quote!(#parts);
        }
    }
}

/// The lint allowances among `attrs`, for a generated copy of the item they are on: each
/// `allow` and `expect` as an `allow`, a `deprecated` as `allow(deprecated)` (the copy calls
/// the deprecated item), and a `cfg_attr` holding any of them with those parts alone.
pub(crate) fn allowances(attrs: &[Attribute]) -> Vec<TokenStream> {
    attrs
        .iter()
        .filter_map(|attr| {
            let carried = carried_meta(&attr.meta)?;
            Some(quote_spanned!(attr.span()=> #[#carried]))
        })
        .collect()
}

fn carried_meta(meta: &Meta) -> Option<TokenStream> {
    let path = meta.path();
    if path.is_ident("allow") || path.is_ident("expect") {
        let Meta::List(list) = meta else { return None };
        let lints = &list.tokens;
        Some(quote_spanned!(meta.span()=> allow(#lints)))
    } else if path.is_ident("deprecated") {
        Some(quote_spanned!(meta.span()=> allow(deprecated)))
    } else if path.is_ident("cfg_attr") {
        let Meta::List(list) = meta else { return None };
        let parts = list
            .parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
            .ok()?;
        let mut parts = parts.iter();
        let predicate = parts.next()?;
        let carried: Vec<TokenStream> = parts.filter_map(carried_meta).collect();
        (!carried.is_empty())
            .then(|| quote_spanned!(meta.span()=> cfg_attr(#predicate, #(#carried),*)))
    } else {
        None
    }
}

/// Clippy lints that read what the rewrite hides, so that they can no longer fire: an
/// expectation of one would be unfulfilled (an error under `-D warnings`). `unused_async`
/// reads the `async` itself; `future_not_send` the `impl Future` a `?Send` method no longer
/// returns; `missing_errors_doc` a `Result` output, now inside a `ValueTask`; and
/// `missing_panics_doc` a panic in the body, now inside the future (or closure) it builds.
/// And rustc's [`RUSTC_ASYNC_ONLY_LINTS`].
const ASYNC_ONLY_LINTS: &[&str] = &[
    "unused_async",
    "future_not_send",
    "missing_errors_doc",
    "missing_panics_doc",
];

/// Rustc's lints that read what the rewrite hides: `async_fn_in_trait` reads an `async fn`
/// in a public trait, which the trait no longer has.
const RUSTC_ASYNC_ONLY_LINTS: &[&str] = &["async_fn_in_trait"];

/// In the attributes of an `async fn` the rewrite makes a plain `fn`, each `expect` of a lint
/// in [`ASYNC_ONLY_LINTS`] (`clippy::unused_async`), also inside a `cfg_attr`, becomes an
/// `allow` of it, the expectations of other lints staying.
pub(crate) fn release_async_expectations(attrs: &mut Vec<Attribute>) {
    let mut released = Vec::with_capacity(attrs.len());
    for attr in attrs.drain(..) {
        match split_async_expectation(&attr.meta) {
            None => released.push(attr),
            Some(metas) => released.extend(metas.into_iter().map(|meta| Attribute {
                meta,
                ..attr.clone()
            })),
        }
    }
    *attrs = released;
}

/// `meta` as the metas it becomes (`expect(a, clippy::unused_async)`: `expect(a)` and
/// `allow(clippy::unused_async)`), or `None` if it names no such lint.
fn split_async_expectation(meta: &Meta) -> Option<Vec<Meta>> {
    let Meta::List(list) = meta else { return None };
    let parts = list
        .parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
        .ok()?;
    if list.path.is_ident("expect") {
        let is_async_only = |part: &Meta| {
            let Meta::Path(path) = part else { return false };
            match path.segments.len() {
                1 => RUSTC_ASYNC_ONLY_LINTS
                    .iter()
                    .any(|l| path.segments[0].ident == l),
                2 => {
                    path.segments[0].ident == "clippy"
                        && ASYNC_ONLY_LINTS.iter().any(|l| path.segments[1].ident == l)
                }
                _ => false,
            }
        };
        let (released, kept): (Vec<&Meta>, Vec<&Meta>) =
            parts.iter().partition(|p| is_async_only(p));
        if released.is_empty() {
            return None;
        }
        let span = meta.span();
        let mut metas = vec![syn::parse_quote_spanned!(span=> allow(#(#released),*))];
        // What is left is a lint, or only the `reason`.
        if kept.iter().any(|p| matches!(p, Meta::Path(_))) {
            metas.push(syn::parse_quote_spanned!(span=> expect(#(#kept),*)));
        }
        Some(metas)
    } else if list.path.is_ident("cfg_attr") {
        let mut changed = false;
        let mut new_parts: Vec<Meta> = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            match (i, split_async_expectation(part)) {
                (1.., Some(metas)) => {
                    changed = true;
                    new_parts.extend(metas);
                }
                _ => new_parts.push(part.clone()),
            }
        }
        if !changed {
            return None;
        }
        let path = &list.path;
        Some(vec![
            syn::parse_quote_spanned!(meta.span()=> #path(#(#new_parts),*)),
        ])
    } else {
        None
    }
}
