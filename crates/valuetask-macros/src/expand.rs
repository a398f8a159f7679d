//! The transformation: `async fn f(args) -> T { body }` becomes
//! `fn f<'life0.., 'value_task>(args) -> ValueTask<'value_task, T> where ... { ValueTask::start(async move { body }) }`:
//! the body starts at the call (see `ValueTask::start`); `boxed` keeps the future in a plain
//! box (started at the call too), `lazy` starts it at the first poll (`ValueTask::new`).
//! A body with no `.await` becomes `macro_support::completed(move || -> T { body })`:
//! the same eager semantics with no future at all.
//!
//! Every elided lifetime in the arguments (`&self`, `&T`, `'_`) gets a name; every lifetime and
//! type parameter of the method, those of the enclosing trait or impl that the arguments use,
//! and `Self` must outlive `'value_task` (the future may capture any argument). This is the signature `async-trait` produces, with a `ValueTask` instead of a
//! boxed future, so trait shapes that compile under `#[async_trait]` compile here. The names
//! it makes up skip the user's declared ones (see `lifetimes::TakenLifetimes`): a user's own `'life0`
//! gets no twin.
//!
//! This file takes an item apart (trait, impl, fn) and rewrites each method; the signature
//! is `signature.rs`'s (with `lifetimes.rs` and `receiver.rs`), the body `body.rs`'s, and a
//! method behind other attribute macros `deferral.rs`'s.
//!
//! # What the rewrite keeps
//!
//! - Names: elided input lifetimes become `'lifeN`; made-up names skip those the method, its
//!   item or a `for<..>` in its body declare, and, for a method annotated alone, every name
//!   its signature uses. Such a method takes a lifetime its arguments use but do not declare
//!   (outside `for<..>` binders) as its impl's. Elided output lifetimes follow the elision
//!   rules.
//! - Bounds, as async-trait: `'value_task` outlives bounds; `Self: 'value_task`, and
//!   `Self: Sync` / `Send` for default bodies, only when the method uses `Self`; `&impl Trait`
//!   is parenthesized; `Fn(&T)` arguments keep their own elision; `'async_trait` written in a
//!   signature means `'value_task`.
//! - A free fn whose only generic is one unbounded lifetime returns `ValueTask` of that
//!   lifetime with no `'value_task`, so the lifetime stays late-bound and the fn coerces to
//!   `for<'a> fn(&'a T) -> ValueTask<'a, U>`.
//! - Captures: arguments move into the future whole, as into an `async fn`, except
//!   references, captured only if the body uses them (as async-trait), and primitive scalars
//!   (`u64`, `bool`, ..), read where they were captured rather than copied, unless their
//!   pattern binds `mut` or `ref`. A receiver the future holds is asserted `Send` first
//!   (`macro_support::receiver_is_send`).
//! - Deferral: a method carrying attribute macros (`#[tracing::instrument]`, also inside
//!   `cfg_attr`) stays `async`, with a second-stage `#[value_task(__deferred(..))]` after them,
//!   so they see the `async fn` and the rewrite happens after them (`defer`). Not in a trait
//!   that carries attribute macros of its own after ours: those expand first and may read the
//!   signatures (`#[auto_impl]`), so its methods are rewritten at once.
//! - Spans: the rewritten signature keeps the user's (`fn` at `async`, generic brackets at the
//!   name and arguments, the output at the return type), so rustc's errors when a trait and
//!   its impl disagree (one side `async` or `?Send`, a different output) point at the user's
//!   method.
//! - Lints: the method's attributes stay on it, but an `expect` of a lint about `async`
//!   itself (`clippy::unused_async`), which cannot fire once `async` is gone, becomes an
//!   `allow` of it, on the method and on the trait or impl
//!   (`lint_attrs::release_async_expectations`); `#[value_task]` twice on a function is an
//!   error. The expansion writes no `allow` of a lint the user's code could trip (under
//!   `forbid` it is error E0453): what it must keep quiet is at the macro's own spans
//!   (`unused_braces`, `unused_imports`) or not written (`unreachable_code`: `BODY_RUNS`).
//! - Every path the expansion names goes through `Options::krate` (`crate = path`).
//! - Storage: a suspending body's future is built by a closure inside its pooled block
//!   (`macro_support::start`), not on the stack and then copied; a body that only awaits one
//!   call (`crate::forwarding`) returns that call's value task when it is one of the method's
//!   output (`macro_support::Forward`), and otherwise awaits it in a frame as any body.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::spanned::Spanned;
use syn::{Block, ImplItem, Item, ReturnType, Signature, TraitItem, Type};

use crate::body::{wrap_body, Shape};
use crate::deferral::{defer, has_attribute_macros};
use crate::lint_attrs::release_async_expectations;
use crate::options::{DeferredPlace, Options};
use crate::receiver::{receiver_span, uses_self};
use crate::signature::{rewrite_params, rewrite_signature};

/// The name of the value task's lifetime, unless the user's code already uses it (then a
/// number follows: see `lifetimes::fresh_lifetime`).
pub(crate) const OUTPUT_LIFETIME: &str = "'value_task";

/// Where the function lives: decides whether `Self` exists and whether a body is a default.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// In a trait; `is_default` when the method has a body.
    Trait {
        is_default: bool,
    },
    Impl,
    Free,
}

/// A `const` or `extern` `async fn` cannot become a value task function: say so at the
/// keyword, before rustc reports what the rewrite would make of it.
pub(crate) fn plain_async(sig: &Signature) -> syn::Result<()> {
    if let Some(constness) = &sig.constness {
        return Err(syn::Error::new(
            constness.span,
            format!(
                "#[value_task]: `{}` cannot be `const`: a value task is made at run time",
                sig.ident
            ),
        ));
    }
    if let Some(abi) = &sig.abi {
        return Err(syn::Error::new_spanned(
            abi,
            format!(
                "#[value_task]: `{}` cannot have an `extern` ABI: a `ValueTask` cannot cross FFI",
                sig.ident
            ),
        ));
    }
    Ok(())
}

/// The attribute's entry: a trait, an impl block, an `async fn`, or the second stage of a
/// method deferred behind other attribute macros.
pub fn expand(args: TokenStream, input: TokenStream) -> syn::Result<TokenStream> {
    let mut options = Options::from_tokens(args)?;
    if let Some(deferred) = options.deferred.clone() {
        return expand_deferred(&options, &deferred, input);
    }
    match syn::parse2(input)? {
        Item::Trait(mut item) => {
            options.owner = Some(item.ident.to_string());
            expand_trait(&mut item, &mut options)?;
            Ok(quote!(#item))
        }
        Item::Impl(mut item) => {
            options.owner = Some(owner_name(
                &item.self_ty,
                item.trait_.as_ref().map(|t| &t.1),
            ));
            expand_impl(&mut item, &mut options)?;
            Ok(quote!(#item))
        }
        Item::Fn(mut f) => {
            expand_fn(&mut f, &options)?;
            Ok(quote!(#f))
        }
        Item::Verbatim(tokens) => Err(unsupported_verbatim(tokens)),
        other => Err(syn::Error::new(
            other.span(),
            "#[value_task] applies to a trait, an impl block, or an `async fn`",
        )),
    }
}

/// The second stage of a method whose other attribute macros have run (see `defer`).
fn expand_deferred(
    options: &Options,
    deferred: &crate::options::Deferred,
    input: TokenStream,
) -> syn::Result<TokenStream> {
    let mut f: syn::ItemFn = syn::parse2(input)?;
    if f.sig.asyncness.is_none() {
        return Err(syn::Error::new(
            f.sig.fn_token.span(),
            "#[value_task]: an attribute on this method made it not `async`; put #[value_task] on the method itself, last (a method's own #[value_task(..)] under another name, through a `use .. as`, is not seen by the outer one: name it `value_task`)",
        ));
    }
    plain_async(&f.sig)?;
    let outer = syn::Generics {
        params: deferred.outer.iter().cloned().collect(),
        ..syn::Generics::default()
    };
    let (place, outer) = match deferred.place {
        DeferredPlace::Impl => (Place::Impl, Some(&outer)),
        DeferredPlace::TraitDefault => (Place::Trait { is_default: true }, Some(&outer)),
        DeferredPlace::Free => (free_place(&f.sig), None),
    };
    release_async_expectations(&mut f.attrs);
    rewrite_method(&mut f.sig, &mut f.block, options, place, outer);
    Ok(quote!(#f))
}

/// A trait: its `async fn`s, declarations and default bodies.
fn expand_trait(item: &mut syn::ItemTrait, options: &mut Options) -> syn::Result<()> {
    for (given, option) in [(options.boxed, "boxed"), (options.lazy, "lazy")] {
        let has_default_body = item.items.iter().any(|member| {
            matches!(member, TraitItem::Fn(f) if f.sig.asyncness.is_some() && f.default.is_some())
        });
        if given && !has_default_body {
            return Err(syn::Error::new(
                item.ident.span(),
                format!(
                    "`{option}` on trait `{}` applies to its default bodies, and it has none: put #[value_task({option})] on the impl",
                    item.ident
                ),
            ));
        }
    }
    // As on an impl: every default body is rewritten.
    release_async_expectations(&mut item.attrs);
    // Attribute macros still on the trait (after ours: those before it have run) expand
    // before its methods' own, and may read the methods' signatures to write impls
    // (`#[auto_impl(Arc, Box)]`): they must see the rewritten ones, as under async-trait, so
    // no method is deferred then.
    let may_defer = !has_attribute_macros(&item.attrs);
    for member in &mut item.items {
        if let TraitItem::Fn(f) = member {
            expand_trait_method(f, options, &item.generics, may_defer)?;
        }
    }
    Ok(())
}

/// One method of a trait: a declaration gets the signature, a default body the whole rewrite,
/// deferred behind the method's other attribute macros when `may_defer`.
fn expand_trait_method(
    f: &mut syn::TraitItemFn,
    options: &mut Options,
    generics: &syn::Generics,
    may_defer: bool,
) -> syn::Result<()> {
    let method_attr = f
        .attrs
        .iter()
        .find(|a| {
            a.path()
                .segments
                .last()
                .is_some_and(|s| s.ident == "value_task")
        })
        .map(|a| quote!(#a));
    let opts = options.take_method_options(&mut f.attrs, &f.sig)?;
    if f.sig.asyncness.is_none() {
        return Ok(());
    }
    plain_async(&f.sig)?;
    let is_default = f.default.is_some();
    for (given, on_item, option) in [
        (opts.boxed, options.boxed, "boxed"),
        (opts.lazy, options.lazy, "lazy"),
    ] {
        if given && !on_item && !is_default {
            // Storage and start are the body's: a declaration has neither.
            let message = format!(
                "`{option}` on `{}`, which has no default body, changes nothing: put #[value_task({option})] on the method in the impl",
                f.sig.ident
            );
            return Err(match method_attr {
                Some(attr) => syn::Error::new_spanned(attr, message),
                None => syn::Error::new(f.sig.ident.span(), message),
            });
        }
    }
    let place = Place::Trait { is_default };
    match &mut f.default {
        Some(_) if may_defer && has_attribute_macros(&f.attrs) => {
            defer(&mut f.attrs, &opts, DeferredPlace::TraitDefault, generics);
        }
        Some(body) => {
            release_async_expectations(&mut f.attrs);
            rewrite_method(&mut f.sig, body, &opts, place, Some(generics));
        }
        None => {
            let uses_self = uses_self(&f.sig, None);
            rewrite_params(&mut f.sig, false);
            rewrite_signature(&mut f.sig, None, &opts, place, uses_self, Some(generics));
        }
    }
    Ok(())
}

/// An impl block: each `async fn` rewritten, or deferred behind its other attribute macros.
fn expand_impl(item: &mut syn::ItemImpl, options: &mut Options) -> syn::Result<()> {
    // Every `async fn` here is rewritten: a lint about `async` itself can fire on none.
    release_async_expectations(&mut item.attrs);
    for member in &mut item.items {
        if let ImplItem::Fn(f) = member {
            let opts = options.take_method_options(&mut f.attrs, &f.sig)?;
            if f.sig.asyncness.is_none() {
                continue;
            }
            plain_async(&f.sig)?;
            if has_attribute_macros(&f.attrs) {
                defer(&mut f.attrs, &opts, DeferredPlace::Impl, &item.generics);
            } else {
                release_async_expectations(&mut f.attrs);
                rewrite_method(
                    &mut f.sig,
                    &mut f.block,
                    &opts,
                    Place::Impl,
                    Some(&item.generics),
                );
            }
        }
    }
    Ok(())
}

/// A free `async fn`, or a method annotated on its own.
fn expand_fn(f: &mut syn::ItemFn, options: &Options) -> syn::Result<()> {
    if f.sig.asyncness.is_none() {
        return Err(syn::Error::new(
            f.sig.fn_token.span(),
            "#[value_task] on a function expects an `async fn`",
        ));
    }
    plain_async(&f.sig)?;
    if let Some(again) = f.attrs.iter().find(|a| is_first_stage_value_task(a)) {
        return Err(syn::Error::new_spanned(
            again,
            "#[value_task] twice on this function: keep one, with all the options in it \
             (`#[value_task(?Send, boxed)]`)",
        ));
    }
    if has_attribute_macros(&f.attrs) {
        defer(
            &mut f.attrs,
            options,
            DeferredPlace::Free,
            &syn::Generics::default(),
        );
    } else {
        let place = free_place(&f.sig);
        release_async_expectations(&mut f.attrs);
        rewrite_method(&mut f.sig, &mut f.block, options, place, None);
    }
    Ok(())
}

/// Whether `attr` is a `#[value_task]` of the user's (a path ending in `value_task`), not the
/// second stage a deferral puts after other attribute macros (`__deferred(..)`).
fn is_first_stage_value_task(attr: &syn::Attribute) -> bool {
    if attr
        .path()
        .segments
        .last()
        .is_none_or(|s| s.ident != "value_task")
    {
        return false;
    }
    match &attr.meta {
        syn::Meta::List(list) => !list.tokens.to_string().starts_with("__deferred"),
        _ => true,
    }
}

/// The error for tokens syn could not parse as an item: a function without a body (a trait's
/// method annotated on its own) is told where the attribute goes.
fn unsupported_verbatim(tokens: TokenStream) -> syn::Error {
    let declaration = |input: syn::parse::ParseStream<'_>| {
        input.call(syn::Attribute::parse_outer)?;
        input.parse::<syn::Visibility>()?;
        let sig: Signature = input.parse()?;
        input.parse::<syn::Token![;]>()?;
        Ok(sig)
    };
    match syn::parse::Parser::parse2(declaration, tokens.clone()) {
        Ok(sig) => syn::Error::new(
            sig.ident.span(),
            format!(
                "#[value_task]: `{}` has no body; on a trait's method, put #[value_task] on the trait",
                sig.ident
            ),
        ),
        Err(_) => syn::Error::new_spanned(
            tokens,
            "#[value_task] applies to a trait, an impl block, or an `async fn`",
        ),
    }
}

/// The name the `stats` advisor gives an impl's methods: its type's last path segment with its
/// arguments as written (`Cache<K>` for `impl<K> cache::Cache<K>`: two impls of one trait for
/// `Cache<u8>` and `Cache<u16>` are two rows), or the type as written; for a trait's impl, with
/// the trait's last segment (`<Cache<K> as Store>` for `impl<K> Store for cache::Cache<K>`), so
/// that two traits' methods of one name on one type are two rows.
pub(crate) fn owner_name(self_ty: &Type, trait_: Option<&syn::Path>) -> String {
    let ty = match self_ty {
        Type::Path(p) if p.qself.is_none() => p
            .path
            .segments
            .last()
            .map_or_else(String::new, |s| quote!(#s).to_string().replace(' ', "")),
        other => quote!(#other).to_string().replace(' ', ""),
    };
    // With the trait's arguments: `Store<u8>` and `Store<u16>` on one type are two traits.
    match trait_.and_then(|t| t.segments.last()) {
        Some(t) => format!("<{ty} as {}>", quote!(#t).to_string().replace(' ', "")),
        None => ty,
    }
}

/// Where `wrap_body` puts the code it adds: the receiver (its `Send` check) and the `async`
/// keyword (the value task's construction, where a `!Send` future is reported).
pub(crate) struct Spans {
    pub(crate) receiver: Option<Span>,
    pub(crate) async_span: Span,
}

/// `span`'s location, as code of the expansion: rustc and clippy read a span whose context
/// is a macro's as the macro's code, not the user's (no `type_complexity` for the `let` that
/// holds a body's output, no `async_yields_async` for the async block around a body), while
/// diagnostics still point where `span` does. Names keep call-site hygiene: they resolve as
/// the user's would.
pub(crate) fn at_expansion(span: Span) -> Span {
    span.resolved_at(Span::call_site())
}

/// `tokens` with every span [`at_expansion`].
pub(crate) fn tokens_at_expansion(tokens: TokenStream) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let proc_macro2::TokenTree::Group(group) = &tree {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), tokens_at_expansion(group.stream()));
                inner.set_span(at_expansion(group.span()));
                tree = proc_macro2::TokenTree::Group(inner);
            } else {
                tree.set_span(at_expansion(tree.span()));
            }
            tree
        })
        .collect()
}

/// A function annotated on its own: a method inside an impl has `Self`; one whose signature
/// uses it (`-> Self`) is a method too, and gets `Self: 'value_task` (which covers the impl's
/// parameters inside `Self`).
pub(crate) fn free_place(sig: &Signature) -> Place {
    if uses_self(sig, None) {
        Place::Impl
    } else {
        Place::Free
    }
}

/// Rewrite one `async fn` with a body: signature and body. Impls decide whether the future
/// holds `Self` from the signature alone (never demanding more than their trait); default
/// bodies from the body too.
pub(crate) fn rewrite_method(
    sig: &mut Signature,
    body: &mut Block,
    opts: &Options,
    place: Place,
    outer: Option<&syn::Generics>,
) {
    let uses_self = match place {
        Place::Trait { is_default: true } => uses_self(sig, Some(body)),
        _ => uses_self(sig, None),
    };
    // Decided on the signature as written, before `rewrite_params` renames its patterns.
    // A deferred method knows its enclosing item's parameters by name only, not their bounds.
    let forward =
        crate::forwarding::forwarded_call(sig, body, outer, opts.deferred.is_none()).cloned();
    let captures = rewrite_params(sig, true);
    // Where the future is made: errors about it (not `Send`) point at the `async` keyword.
    let async_span = sig
        .asyncness
        .map_or_else(|| sig.fn_token.span, |asyncness| asyncness.span);
    // A `-> !` body runs in the future even without `.await`: as a closure, its call would
    // return `Infallible` and make the code around it unreachable (a warning in user code).
    let diverges = matches!(&sig.output, ReturnType::Type(_, ty) if crate::signature::is_never(ty));
    let ret = rewrite_signature(sig, Some(&mut *body), opts, place, uses_self, outer);
    let at = Spans {
        receiver: receiver_span(sig),
        async_span,
    };
    let site = match &opts.owner {
        Some(owner) => format!("{owner}::{}", sig.ident),
        None => sig.ident.to_string(),
    };
    let shape = if diverges {
        Shape::Diverges
    } else if let Some(call) = forward {
        Shape::Forwards(call)
    } else {
        Shape::Other
    };
    *body = wrap_body(body, &ret, &captures, opts, at, shape, &site);
}
