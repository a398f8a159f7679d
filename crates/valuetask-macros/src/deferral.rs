//! Deferral: a method that carries other attribute macros (`#[tracing::instrument]`, also
//! inside `cfg_attr`) stays `async`, with a second-stage `#[value_task(__deferred(..))]` after
//! them, so they see the `async fn` and the rewrite happens after them. A trait's methods
//! are not deferred when the trait carries attribute macros after `#[value_task]`: those
//! expand before the methods' own and must see the rewritten signatures (`expand_trait`).

use proc_macro2::Span;
use quote::quote;
use syn::{parse_quote, GenericParam};

use crate::options::{DeferredPlace, Options};

/// Whether a method carries attributes that may be attribute macros (anything but the
/// compiler's and tools' inert attributes), such as `#[tracing::instrument]`. Those must see
/// the `async fn` (an `instrument` on the rewritten function would span only the part before
/// the first suspension), so the method is rewritten after them: see [`defer`].
pub(crate) fn has_attribute_macros(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        if attr.path().is_ident("cfg_attr") {
            // The compiler has not expanded it yet: look at what it would add (after the
            // predicate); unreadable means "maybe a macro".
            let parsed = attr.parse_args_with(
                syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated,
            );
            return match parsed {
                Ok(metas) => metas.iter().skip(1).any(|m| !is_inert(m.path())),
                Err(_) => true,
            };
        }
        !is_inert(attr.path())
    })
}

/// The compiler's and tools' inert attributes: never attribute macros.
pub(crate) fn is_inert(path: &syn::Path) -> bool {
    const INERT: &[&str] = &[
        "allow",
        "automatically_derived",
        "cfg",
        "cold",
        "deny",
        "deprecated",
        "doc",
        "expect",
        "export_name",
        "forbid",
        "inline",
        "link_section",
        "must_use",
        "no_mangle",
        "target_feature",
        "track_caller",
        "warn",
    ];
    const TOOLS: &[&str] = &["clippy", "diagnostic", "rustfmt", "rustdoc"];
    let Some(first) = path.segments.first() else {
        return true;
    };
    let first = first.ident.to_string();
    if path.segments.len() == 1 {
        INERT.contains(&first.as_str())
    } else {
        TOOLS.contains(&first.as_str())
    }
}

/// Leave the `async fn` as it is and put a second-stage `#[value_task(..)]` after its other
/// attributes: the compiler expands attribute macros first to last, so those run on the
/// `async fn` (as they would on an `async-trait` method) and the second stage then rewrites
/// what they produced, exactly as this stage would have. It needs the options and the names
/// of the enclosing item's generic parameters (for the outlives bounds).
pub(crate) fn defer(
    attrs: &mut Vec<syn::Attribute>,
    opts: &Options,
    place: DeferredPlace,
    outer: &syn::Generics,
) {
    let krate = opts.krate(Span::call_site());
    let names = outer.params.iter().filter_map(|p| match p {
        GenericParam::Lifetime(l) => {
            let l = &l.lifetime;
            Some(quote!(#l))
        }
        GenericParam::Type(t) => {
            let t = &t.ident;
            Some(quote!(#t))
        }
        GenericParam::Const(_) => None,
    });
    let place = match place {
        DeferredPlace::Impl => quote!(impl),
        DeferredPlace::TraitDefault => quote!(trait_default),
        DeferredPlace::Free => quote!(free),
    };
    let mut args = vec![quote!(__deferred(#place; #(#names),*))];
    if opts.local {
        args.push(quote!(?Send));
    }
    if opts.boxed {
        args.push(quote!(boxed));
    }
    if opts.lazy {
        args.push(quote!(lazy));
    }
    if let Some(path) = &opts.krate {
        args.push(quote!(crate = #path));
    }
    if let Some(owner) = &opts.owner {
        args.push(quote!(__owner = #owner));
    }
    attrs.push(parse_quote!(#[#krate::value_task(#(#args),*)]));
}
