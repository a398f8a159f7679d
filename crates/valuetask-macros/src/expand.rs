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
//! it makes up skip the user's declared ones (see [`TakenLifetimes`]): a user's own `'life0`
//! gets no twin.
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
//!   references, captured only if the body uses them (as async-trait), unless their pattern
//!   binds `mut` or `ref`. A receiver the future holds is asserted `Send` first
//!   (`macro_support::receiver_is_send`).
//! - Deferral: a method carrying attribute macros (`#[tracing::instrument]`, also inside
//!   `cfg_attr`) stays `async`, with a second-stage `#[value_task(__deferred(..))]` after them,
//!   so they see the `async fn` and the rewrite happens after them (`defer`).
//! - Spans: the rewritten signature keeps the user's (`fn` at `async`, generic brackets at the
//!   name and arguments, the output at the return type), so rustc's errors when a trait and
//!   its impl disagree (one side `async` or `?Send`, a different output) point at the user's
//!   method.
//! - Every path the expansion names goes through `Options::krate` (`crate = path`).
//! - Storage: a suspending body's future is built by a closure inside its pooled block
//!   (`macro_support::start`), not on the stack and then copied; a body that only awaits one
//!   call (`crate::forwarding`) returns that call's value task when it is one of the method's
//!   output (`macro_support::Forward`), and otherwise awaits it in a frame as any body.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{
    parse_quote, parse_quote_spanned, Block, FnArg, GenericParam, ImplItem, Item, Lifetime, Pat,
    PatIdent, ReturnType, Signature, TraitItem, Type, TypeImplTrait, TypeParamBound, TypeReference,
};

use crate::options::{DeferredPlace, Options};

/// The name of the value task's lifetime, unless the user's code already uses it (then a
/// number follows: see [`fresh_lifetime`]).
const OUTPUT_LIFETIME: &str = "'value_task";

/// Where the function lives: decides whether `Self` exists and whether a body is a default.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// In a trait; `is_default` when the method has a body.
    Trait {
        is_default: bool,
    },
    Impl,
    Free,
}

/// Whether a method uses `Self`: a receiver, or the `Self` type in its signature or (when
/// given) its body, macro arguments included and nested items (with a `Self` of their own)
/// excluded. Then its future may hold `Self` values, and gets the bounds async-trait gives.
/// Impls decide from the signature alone, so they never demand more than their trait.
fn uses_self(sig: &Signature, body: Option<&Block>) -> bool {
    #[derive(Default)]
    struct Find(bool);
    fn mentions(tokens: TokenStream) -> bool {
        tokens.into_iter().any(|t| match t {
            proc_macro2::TokenTree::Ident(ident) => ident == "Self",
            proc_macro2::TokenTree::Group(group) => mentions(group.stream()),
            _ => false,
        })
    }
    impl<'ast> syn::visit::Visit<'ast> for Find {
        fn visit_path_segment(&mut self, segment: &'ast syn::PathSegment) {
            self.0 |= segment.ident == "Self";
            syn::visit::visit_path_segment(self, segment);
        }
        fn visit_macro(&mut self, mac: &'ast syn::Macro) {
            self.0 |= mentions(mac.tokens.clone());
            syn::visit::visit_macro(self, mac);
        }
        fn visit_item(&mut self, _: &'ast Item) {}
    }
    let mut find = Find::default();
    syn::visit::visit_signature(&mut find, sig);
    if let Some(body) = body {
        syn::visit::visit_block(&mut find, body);
    }
    sig.receiver().is_some() || find.0
}

/// A `const` or `extern` `async fn` cannot become a value task function: say so at the
/// keyword, before rustc reports what the rewrite would make of it.
fn plain_async(sig: &Signature) -> syn::Result<()> {
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

pub fn expand(args: TokenStream, input: TokenStream) -> syn::Result<TokenStream> {
    let mut options = Options::from_tokens(args)?;
    if let Some(deferred) = options.deferred.clone() {
        // The second stage of a method whose other attribute macros have run (see `defer`).
        let mut f: syn::ItemFn = syn::parse2(input)?;
        if f.sig.asyncness.is_none() {
            return Err(syn::Error::new(
                f.sig.fn_token.span(),
                "#[value_task]: an attribute on this method made it not `async`; put #[value_task] on the method itself, last",
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
        rewrite_method(&mut f.sig, &mut f.block, &options, place, outer);
        return Ok(quote!(#f));
    }
    let item: Item = syn::parse2(input)?;
    match item {
        Item::Trait(mut item) => {
            options.owner = Some(item.ident.to_string());
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
            for member in &mut item.items {
                if let TraitItem::Fn(f) = member {
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
                        continue;
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
                        Some(_) if has_attribute_macros(&f.attrs) => {
                            defer(
                                &mut f.attrs,
                                &opts,
                                DeferredPlace::TraitDefault,
                                &item.generics,
                            );
                        }
                        Some(body) => {
                            rewrite_method(&mut f.sig, body, &opts, place, Some(&item.generics))
                        }
                        None => {
                            let uses_self = uses_self(&f.sig, None);
                            rewrite_params(&mut f.sig, false);
                            rewrite_signature(
                                &mut f.sig,
                                None,
                                &opts,
                                place,
                                uses_self,
                                Some(&item.generics),
                            );
                        }
                    }
                }
            }
            Ok(quote!(#item))
        }
        Item::Impl(mut item) => {
            options.owner = Some(owner_name(&item.self_ty));
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
            Ok(quote!(#item))
        }
        Item::Fn(mut f) => {
            if f.sig.asyncness.is_none() {
                return Err(syn::Error::new(
                    f.sig.fn_token.span(),
                    "#[value_task] on a function expects an `async fn`",
                ));
            }
            plain_async(&f.sig)?;
            if has_attribute_macros(&f.attrs) {
                defer(
                    &mut f.attrs,
                    &options,
                    DeferredPlace::Free,
                    &syn::Generics::default(),
                );
            } else {
                let place = free_place(&f.sig);
                rewrite_method(&mut f.sig, &mut f.block, &options, place, None);
            }
            Ok(quote!(#f))
        }
        Item::Verbatim(tokens) => {
            // A function without a body: a trait's method annotated on its own.
            let declaration = |input: syn::parse::ParseStream<'_>| {
                input.call(syn::Attribute::parse_outer)?;
                input.parse::<syn::Visibility>()?;
                let sig: Signature = input.parse()?;
                input.parse::<syn::Token![;]>()?;
                Ok(sig)
            };
            match syn::parse::Parser::parse2(declaration, tokens.clone()) {
                Ok(sig) => Err(syn::Error::new(
                    sig.ident.span(),
                    format!(
                        "#[value_task]: `{}` has no body; on a trait's method, put #[value_task] on the trait",
                        sig.ident
                    ),
                )),
                Err(_) => Err(syn::Error::new_spanned(
                    tokens,
                    "#[value_task] applies to a trait, an impl block, or an `async fn`",
                )),
            }
        }
        other => Err(syn::Error::new(
            other.span(),
            "#[value_task] applies to a trait, an impl block, or an `async fn`",
        )),
    }
}

/// The name the `stats` advisor gives an impl's methods: its type's last path segment
/// (`Cache` for `impl<K> Store for cache::Cache<K>`), or the type as written.
fn owner_name(self_ty: &Type) -> String {
    match self_ty {
        Type::Path(p) if p.qself.is_none() => p
            .path
            .segments
            .last()
            .map_or_else(String::new, |s| s.ident.to_string()),
        other => quote!(#other).to_string().replace(' ', ""),
    }
}

/// Where `wrap_body` puts the code it adds: the receiver (its `Send` check) and the `async`
/// keyword (the value task's construction, where a `!Send` future is reported).
struct Spans {
    receiver: Option<Span>,
    async_span: Span,
}

/// A function annotated on its own: a method inside an impl has `Self`; one whose signature
/// uses it (`-> Self`) is a method too, and gets `Self: 'value_task` (which covers the impl's
/// parameters inside `Self`).
fn free_place(sig: &Signature) -> Place {
    if uses_self(sig, None) {
        Place::Impl
    } else {
        Place::Free
    }
}

/// Rewrite one `async fn` with a body: signature and body. Impls decide whether the future
/// holds `Self` from the signature alone (never demanding more than their trait); default
/// bodies from the body too.
fn rewrite_method(
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
    let forward = crate::forwarding::forwarded_call(sig, body).cloned();
    let captures = rewrite_params(sig, true);
    // Where the future is made: errors about it (not `Send`) point at the `async` keyword.
    let async_span = sig
        .asyncness
        .map_or_else(|| sig.fn_token.span, |asyncness| asyncness.span);
    // A `-> !` body runs in the future even without `.await`: as a closure, its call would
    // return `Infallible` and make the code around it unreachable (a warning in user code).
    let diverges = matches!(&sig.output, ReturnType::Type(_, ty) if matches!(**ty, Type::Never(_)));
    let ret = rewrite_signature(sig, Some(body), opts, place, uses_self, outer);
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

/// Whether a method carries attributes that may be attribute macros (anything but the
/// compiler's and tools' inert attributes), such as `#[tracing::instrument]`. Those must see
/// the `async fn` (an `instrument` on the rewritten function would span only the part before
/// the first suspension), so the method is rewritten after them: see [`defer`].
fn has_attribute_macros(attrs: &[syn::Attribute]) -> bool {
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
fn is_inert(path: &syn::Path) -> bool {
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
fn defer(
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

/// Rename non-identifier argument patterns to `__value_task_arg{n}` and strip `mut` from identifier
/// patterns, returning the `let` statements that rebind them inside the future: every
/// argument is moved into the future whole, as an `async fn` does. Without a body (a required
/// trait method) there is nothing to rebind.
///
/// Reference arguments are the exception, as in async-trait: they keep their pattern and are
/// captured only if the body uses them. A reference has nothing to drop, so only `Send`
/// differs: an unused `&T` of a `T` that is not `Sync` does not make the future `!Send`.
/// Not when the pattern binds `mut` or `ref`: a `mut name: &str` the body points at one of
/// its own locals, or a `ref x` (a borrow of the argument itself), needs the rebinding.
fn rewrite_params(sig: &mut Signature, has_body: bool) -> Vec<TokenStream> {
    let mut captures = Vec::new();
    for (i, arg) in sig.inputs.iter_mut().enumerate() {
        match arg {
            FnArg::Receiver(receiver) => {
                // The receiver's own token: in an item written by a `macro_rules!`, `self`
                // resolves only with the hygiene it came with.
                let self_token = receiver.self_token;
                captures.push(quote!(let _ = &#self_token;));
            }
            FnArg::Typed(typed) => {
                if !has_body
                    || (matches!(*typed.ty, Type::Reference(_)) && binds_plainly(&typed.pat))
                {
                    continue;
                }
                // `#[cfg]` and friends go onto the rebinding too.
                let attrs = &typed.attrs;
                match &mut *typed.pat {
                    Pat::Ident(PatIdent {
                        ident,
                        mutability,
                        by_ref: None,
                        subpat: None,
                        ..
                    }) => {
                        let m = mutability.take();
                        captures.push(quote!(#(#attrs)* let #m #ident = #ident;));
                    }
                    pat => {
                        // Move the whole argument into the future first (as an `async fn`
                        // does), then destructure it: parts the pattern does not bind (`_`,
                        // `..`) live until the future ends, not until the first suspension.
                        let name =
                            syn::Ident::new(&format!("__value_task_arg{i}"), Span::mixed_site());
                        let original = pat.clone();
                        *pat = parse_quote!(#name);
                        // `ref mut` parts borrow the moved argument mutably.
                        let m = binds_by_mut_ref(&original).then(|| quote!(mut));
                        captures.push(quote!(#(#attrs)* let #m #name = #name;));
                        if !matches!(original, Pat::Wild(_)) {
                            captures.push(
                                quote_spanned!(original.span()=> #(#attrs)* let #original = #name;),
                            );
                        }
                    }
                }
            }
        }
    }
    captures
}

/// `'async_trait`, the lifetime async-trait gives its futures, written in a signature (as in
/// `where T: 'async_trait`) means ours, unless the signature (also in a `for<..>` binder) or
/// the enclosing item declares it itself: so a trait written for async-trait compiles with
/// the attribute swapped.
fn async_trait_lifetime_is_ours(
    sig: &mut Signature,
    outer: Option<&syn::Generics>,
    output: &Lifetime,
) {
    struct Rename<'o>(&'o Lifetime);
    impl VisitMut for Rename<'_> {
        fn visit_lifetime_mut(&mut self, lt: &mut Lifetime) {
            if lt.ident == "async_trait" {
                *lt = Lifetime::new(&self.0.to_string(), lt.span());
            }
        }
    }
    struct Binders(bool);
    impl<'ast> syn::visit::Visit<'ast> for Binders {
        fn visit_bound_lifetimes(&mut self, b: &'ast syn::BoundLifetimes) {
            self.0 |= b.lifetimes.iter().any(|param| {
                matches!(param, syn::GenericParam::Lifetime(l) if l.lifetime.ident == "async_trait")
            });
        }
    }
    let mut binders = Binders(false);
    syn::visit::visit_signature(&mut binders, sig);
    let declared = binders.0
        || sig
            .generics
            .lifetimes()
            .chain(outer.into_iter().flat_map(syn::Generics::lifetimes))
            .any(|param| param.lifetime.ident == "async_trait");
    if !declared {
        Rename(output).visit_signature_mut(sig);
    }
}

/// The lifetime names the macro's own must not take. The value task's `'value_task` skips
/// the `declared` ones: generic parameters of the method and of its enclosing item, and
/// `for<..>` binders in the signature or the body (outside nested items), where a generic
/// parameter of that name would be shadowed. Written undeclared (`where T: 'value_task`) it
/// names the attribute's lifetime on purpose. An elided lifetime's `'life0`, … skips
/// `for_elided`: the declared names too, and, for a method annotated on its own, every name
/// its signature uses (an undeclared one may be its impl's, which the method cannot see).
struct TakenLifetimes {
    declared: Vec<syn::Ident>,
    for_elided: Vec<syn::Ident>,
}

/// Collects lifetime names: every one used, and those declared as parameters or in binders.
#[derive(Default)]
struct LifetimeNames {
    used: Vec<syn::Ident>,
    declared: Vec<syn::Ident>,
}

impl<'ast> syn::visit::Visit<'ast> for LifetimeNames {
    fn visit_lifetime(&mut self, lt: &'ast Lifetime) {
        if !self.used.contains(&lt.ident) {
            self.used.push(lt.ident.clone());
        }
    }
    fn visit_lifetime_param(&mut self, param: &'ast syn::LifetimeParam) {
        self.declared.push(param.lifetime.ident.clone());
        syn::visit::visit_lifetime_param(self, param);
    }
    // A nested item's lifetimes are its own: they shadow nothing of ours.
    fn visit_item(&mut self, _: &'ast Item) {}
}

impl TakenLifetimes {
    fn of(sig: &Signature, outer: Option<&syn::Generics>, body: Option<&Block>) -> Self {
        let mut names = LifetimeNames::default();
        syn::visit::visit_signature(&mut names, sig);
        if let Some(body) = body {
            syn::visit::visit_block(&mut names, body);
        }
        let mut declared = names.declared;
        // Only the enclosing item's own parameters: binders in its bounds are not in scope
        // in the method.
        declared.extend(
            outer
                .into_iter()
                .flat_map(|g| g.lifetimes().map(|l| l.lifetime.ident.clone())),
        );
        let mut for_elided = declared.clone();
        if outer.is_none() {
            for_elided.extend(names.used);
        }
        TakenLifetimes {
            declared,
            for_elided,
        }
    }
}

/// `base` (a lifetime name without its `'`), else `base` with the first number after
/// `from` that no name in `taken` has.
fn fresh_lifetime(base: &str, from: Option<usize>, taken: &[syn::Ident], span: Span) -> Lifetime {
    let is_taken = |name: &str| taken.iter().any(|t| t == name);
    let name = match from {
        None if !is_taken(base) => base.to_owned(),
        _ => (from.unwrap_or(0)..)
            .map(|n| format!("{base}{n}"))
            .find(|name| !is_taken(name))
            .expect("an unused number"),
    };
    Lifetime::new(&format!("'{name}"), span)
}

/// True when `pat` has no `mut` and no `ref` binding anywhere.
fn binds_plainly(pat: &Pat) -> bool {
    struct Finder(bool);
    impl<'ast> syn::visit::Visit<'ast> for Finder {
        fn visit_pat_ident(&mut self, p: &'ast PatIdent) {
            self.0 |= p.by_ref.is_some() || p.mutability.is_some();
            syn::visit::visit_pat_ident(self, p);
        }
    }
    let mut finder = Finder(false);
    syn::visit::visit_pat(&mut finder, pat);
    !finder.0
}

/// True when `pat` has a `ref mut` binding anywhere.
fn binds_by_mut_ref(pat: &Pat) -> bool {
    struct Finder(bool);
    impl<'ast> syn::visit::Visit<'ast> for Finder {
        fn visit_pat_ident(&mut self, p: &'ast PatIdent) {
            self.0 |= p.by_ref.is_some() && p.mutability.is_some();
            syn::visit::visit_pat_ident(self, p);
        }
    }
    let mut finder = Finder(false);
    syn::visit::visit_pat(&mut finder, pat);
    finder.0
}

/// Names elided lifetimes `'life0`, `'life1`, … and bounds `impl Trait` arguments by the
/// output lifetime.
struct ElidedLifetimes {
    fresh: Vec<Lifetime>,
    output: Lifetime,
    /// Names in use (the user's and those given out so far).
    taken: Vec<syn::Ident>,
}

impl ElidedLifetimes {
    fn next(&mut self, span: Span) -> Lifetime {
        let lt = fresh_lifetime("life", Some(self.fresh.len()), &self.taken, span);
        self.taken.push(lt.ident.clone());
        self.fresh.push(lt.clone());
        lt
    }
}

impl VisitMut for ElidedLifetimes {
    fn visit_type_reference_mut(&mut self, r: &mut TypeReference) {
        if r.lifetime.is_none() {
            r.lifetime = Some(self.next(r.and_token.span));
        }
        visit_mut::visit_type_reference_mut(self, r);
    }

    fn visit_lifetime_mut(&mut self, lt: &mut Lifetime) {
        if lt.ident == "_" {
            *lt = self.next(lt.span());
        }
    }

    fn visit_type_impl_trait_mut(&mut self, t: &mut TypeImplTrait) {
        visit_mut::visit_type_impl_trait_mut(self, t);
        t.bounds.push(TypeParamBound::Lifetime(self.output.clone()));
    }

    fn visit_type_mut(&mut self, ty: &mut Type) {
        visit_mut::visit_type_mut(self, ty);
        // `&impl Trait + 'value_task` is ambiguous: `&(impl Trait + 'value_task)`; the
        // same for raw pointers.
        let elem = match ty {
            Type::Reference(r) => &mut r.elem,
            Type::Ptr(p) => &mut p.elem,
            _ => return,
        };
        if matches!(**elem, Type::ImplTrait(_)) {
            let inner = (**elem).clone();
            **elem = Type::Paren(syn::TypeParen {
                paren_token: Default::default(),
                elem: Box::new(inner),
            });
        }
    }

    // `fn(&T)` and `Fn(&T)` have elision scopes of their own: their lifetimes stay elided
    // (higher-ranked), not named after the function's.
    fn visit_type_bare_fn_mut(&mut self, _: &mut syn::TypeBareFn) {}

    fn visit_parenthesized_generic_arguments_mut(
        &mut self,
        _: &mut syn::ParenthesizedGenericArguments,
    ) {
    }
}

/// The lifetime Rust's elision rules give an elided lifetime in the output of `sig` (whose
/// input lifetimes are all named by now): a reference receiver's, else the only one among the
/// inputs. `None` when the rules give none (the compiler then reports the elided output).
fn output_elision_target(sig: &Signature, output: &Lifetime) -> Option<Lifetime> {
    let lifetimes_in = |ty: &Type| -> Vec<syn::Ident> {
        ArgumentLifetimes::free_in([ty])
            .into_iter()
            .map(|lt| lt.ident)
            .collect()
    };
    if let Some(FnArg::Receiver(r)) = sig.inputs.first() {
        if let Some((_, Some(lt))) = &r.reference {
            return Some(lt.clone());
        }
        // A typed receiver holding one reference to `Self` (`self: &'a Self`,
        // `self: Pin<&'a mut Self>`).
        if let [only] = lifetimes_in(&r.ty).as_slice() {
            if contains_reference(&r.ty) {
                return Some(Lifetime {
                    apostrophe: Span::call_site(),
                    ident: only.clone(),
                });
            }
        }
    }
    // One lifetime, however often it is used; not the `+ 'value_task` given to `impl Trait`
    // arguments, which the user did not write.
    let mut all: Vec<syn::Ident> = Vec::new();
    for lt in ArgumentLifetimes::free_in(argument_types(sig)) {
        if lt.ident != output.ident && !all.contains(&lt.ident) {
            all.push(lt.ident);
        }
    }
    match all.as_slice() {
        [only] => Some(Lifetime {
            apostrophe: Span::call_site(),
            ident: only.clone(),
        }),
        _ => None,
    }
}

/// The span of the method's receiver, if it has one.
fn receiver_span(sig: &Signature) -> Option<Span> {
    match sig.inputs.first() {
        Some(FnArg::Receiver(receiver)) => Some(receiver.span()),
        _ => None,
    }
}

/// Whether `ty` holds a reference anywhere.
fn contains_reference(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'ast> syn::visit::Visit<'ast> for Finder {
        fn visit_type_reference(&mut self, r: &'ast TypeReference) {
            self.0 = true;
            syn::visit::visit_type_reference(self, r);
        }
    }
    let mut finder = Finder(false);
    syn::visit::visit_type(&mut finder, ty);
    finder.0
}

/// Replaces elided lifetimes (`&T`, `'_`) in an output type, outside `fn` pointer types and
/// `Fn(..)` sugar, which have elision scopes of their own.
struct NameOutputElisions(Lifetime);

impl VisitMut for NameOutputElisions {
    fn visit_type_reference_mut(&mut self, r: &mut TypeReference) {
        if r.lifetime.is_none() {
            r.lifetime = Some(Lifetime::new(&self.0.to_string(), r.and_token.span));
        }
        visit_mut::visit_type_reference_mut(self, r);
    }

    fn visit_lifetime_mut(&mut self, lt: &mut Lifetime) {
        if lt.ident == "_" {
            *lt = Lifetime::new(&self.0.to_string(), lt.span());
        }
    }

    fn visit_type_bare_fn_mut(&mut self, _: &mut syn::TypeBareFn) {}

    fn visit_parenthesized_generic_arguments_mut(
        &mut self,
        _: &mut syn::ParenthesizedGenericArguments,
    ) {
    }
}

/// Rewrite `sig` in place; returns the future's output type.
fn rewrite_signature(
    sig: &mut Signature,
    body: Option<&Block>,
    opts: &Options,
    place: Place,
    uses_self: bool,
    outer: Option<&syn::Generics>,
) -> Type {
    let is_default = place == Place::Trait { is_default: true };
    let TakenLifetimes {
        declared,
        mut for_elided,
    } = TakenLifetimes::of(sig, outer, body);
    let output_lt = fresh_lifetime(&OUTPUT_LIFETIME[1..], None, &declared, Span::call_site());
    for_elided.push(output_lt.ident.clone());
    async_trait_lifetime_is_ours(sig, outer, &output_lt);
    let mut elided = ElidedLifetimes {
        fresh: Vec::new(),
        output: output_lt.clone(),
        taken: for_elided,
    };
    let mut receiver = None;
    for arg in sig.inputs.iter_mut() {
        match arg {
            FnArg::Receiver(r) => {
                receiver = Some(receiver_needs(&r.ty));
                if r.colon_token.is_none() {
                    if let Some((and, lt @ None)) = &mut r.reference {
                        let fresh = elided.next(and.span);
                        *lt = Some(fresh.clone());
                        // Keep the desugared type in step with the shorthand.
                        let m = r.mutability;
                        *r.ty = parse_quote!(&#fresh #m Self);
                    } else if let Some((_, Some(lt))) = &mut r.reference {
                        if lt.ident == "_" {
                            let fresh = elided.next(lt.span());
                            *lt = fresh.clone();
                            let m = r.mutability;
                            *r.ty = parse_quote!(&#fresh #m Self);
                        }
                    }
                } else {
                    elided.visit_type_mut(&mut r.ty);
                }
            }
            FnArg::Typed(t) => elided.visit_type_mut(&mut t.ty),
        }
    }

    // `fn` takes the span of the `async` it replaces, and the generics that appear get
    // brackets at the name and the arguments: errors about the signature (a trait and its
    // impl disagreeing) then point at the user's method, not at the attribute.
    if let Some(asyncness) = sig.asyncness.take() {
        sig.fn_token.span = asyncness.span;
    }
    if sig.generics.lt_token.is_none() {
        sig.generics.lt_token = Some(syn::Token![<](sig.ident.span()));
        sig.generics.gt_token = Some(syn::Token![>](sig.paren_token.span.join()));
    }
    let mut ret: Type = match &sig.output {
        ReturnType::Default => parse_quote!(()),
        // `!` is not yet a type on stable Rust outside a return position, so it cannot be a
        // value task's output; `Infallible`, equally uninhabited, can (the body's `!`
        // coerces to it).
        ReturnType::Type(_, ty) if matches!(**ty, Type::Never(_)) => {
            let span = ty.span();
            parse_quote_spanned!(span=> ::core::convert::Infallible)
        }
        ReturnType::Type(_, ty) => (**ty).clone(),
    };
    // The inputs' elided lifetimes have names now; give the output's elided ones the name the
    // elision rules pick, so the signature does not mix named and elided forms.
    if let Some(target) = output_elision_target(sig, &output_lt) {
        NameOutputElisions(target).visit_type_mut(&mut ret);
    }

    // Generic parameters: the named elided lifetimes, then the output lifetime.
    for lt in &elided.fresh {
        sig.generics.params.push(parse_quote!(#lt));
    }
    if place == Place::Free {
        if let Some(SoleLifetime {
            lifetime: mut only,
            alone,
        }) = sole_unbounded_lifetime(sig)
        {
            if alone && elided.fresh.contains(&only) {
                // The user elided it: elided it stays (`&str` in, `ValueTask<'_, T>` out), as
                // lints on the user's signature expect.
                let mut unname = Unname(only.ident.clone());
                for arg in sig.inputs.iter_mut() {
                    if let FnArg::Typed(t) = arg {
                        unname.visit_type_mut(&mut t.ty);
                    }
                }
                unname.visit_type_mut(&mut ret);
                sig.generics.params = std::mem::take(&mut sig.generics.params)
                    .into_iter()
                    .filter(|p| !matches!(p, GenericParam::Lifetime(l) if l.lifetime == only))
                    .collect();
                only = Lifetime::new("'_", only.span());
            }
            let span = ret.span();
            let task = value_task_type(opts, span);
            sig.output =
                syn::parse2(quote_spanned!(span=> -> #task<#only, #ret>)).expect("a return type");
            return ret;
        }
    }
    // Each parameter must outlive the output. The bound goes where the user already bounds
    // that parameter (the `where` clause or inline), so no parameter ends up bounded in two
    // places (clippy's `multiple_bound_locations`).
    let mut where_clause = sig.generics.where_clause.take();
    for param in sig.generics.params.iter_mut() {
        match param {
            GenericParam::Lifetime(l) => {
                let in_where = where_clause.as_mut().and_then(|w| {
                    w.predicates.iter_mut().find_map(|p| match p {
                        syn::WherePredicate::Lifetime(pl) if pl.lifetime == l.lifetime => Some(pl),
                        _ => None,
                    })
                });
                match in_where {
                    Some(pl) => pl.bounds.push(output_lt.clone()),
                    None => l.bounds.push(output_lt.clone()),
                }
            }
            GenericParam::Type(t) => {
                let ident = &t.ident;
                let in_where = where_clause.as_mut().and_then(|w| {
                    w.predicates.iter_mut().find_map(|p| match p {
                        syn::WherePredicate::Type(pt) if is_ident(&pt.bounded_ty, ident) => {
                            Some(pt)
                        }
                        _ => None,
                    })
                });
                match in_where {
                    Some(pt) => pt.bounds.push(TypeParamBound::Lifetime(output_lt.clone())),
                    None => t.bounds.push(TypeParamBound::Lifetime(output_lt.clone())),
                }
            }
            GenericParam::Const(_) => {}
        }
    }
    sig.generics.where_clause = where_clause;
    let mut bounds: Vec<syn::WherePredicate> = Vec::new();
    sig.generics.params.push(parse_quote!(#output_lt));
    // A future that captures `Self` (a receiver, or `Self` used in the signature or body)
    // must not outlive it; one that does not, needs nothing of `Self` (as async-trait).
    if place != Place::Free && uses_self {
        bounds.push(parse_quote!(Self: #output_lt));
    }
    // A default body is compiled for every implementor: a `Send` future holding `&Self` needs
    // `Self: Sync`, holding `Self` or `&mut Self` (or `Self` values, without a receiver)
    // needs `Self: Send` (as async-trait does).
    if is_default && !opts.local && uses_self {
        match receiver {
            Some(SelfNeeds::Sync) => bounds.push(parse_quote!(Self: ::core::marker::Sync)),
            Some(SelfNeeds::Send) | None => bounds.push(parse_quote!(Self: ::core::marker::Send)),
            Some(SelfNeeds::SendSync) => {
                bounds.push(parse_quote!(Self: ::core::marker::Send + ::core::marker::Sync))
            }
        }
    }
    // Lifetimes and type parameters of the enclosing trait or impl that the arguments use
    // are captured by the future too.
    if let Some(outer) = outer {
        let mut used = UsedNames::default();
        for arg in &sig.inputs {
            match arg {
                FnArg::Receiver(r) => syn::visit::visit_type(&mut used, &r.ty),
                FnArg::Typed(t) => syn::visit::visit_type(&mut used, &t.ty),
            }
        }
        for param in &outer.params {
            match param {
                GenericParam::Lifetime(l) if used.lifetimes.contains(&l.lifetime.ident) => {
                    let l = &l.lifetime;
                    bounds.push(parse_quote!(#l: #output_lt));
                }
                GenericParam::Type(t) if used.idents.contains(&t.ident) => {
                    let t = &t.ident;
                    bounds.push(parse_quote!(#t: #output_lt));
                }
                _ => {}
            }
        }
    } else {
        // A method annotated on its own cannot see its impl's generics: a lifetime the
        // arguments use that the method does not declare (nor a `for<..>` binder, nor
        // `'static`) is the impl's, and is captured too.
        let declared: Vec<_> = sig
            .generics
            .lifetimes()
            .map(|l| l.lifetime.ident.clone())
            .collect();
        let mut outer_lifetimes: Vec<Lifetime> = Vec::new();
        for lt in ArgumentLifetimes::free_in(argument_types(sig)) {
            let ident = &lt.ident;
            if ident == "static"
                || declared.contains(ident)
                || outer_lifetimes.iter().any(|o| &o.ident == ident)
            {
                continue;
            }
            outer_lifetimes.push(lt);
        }
        for lt in outer_lifetimes {
            bounds.push(parse_quote!(#lt: #output_lt));
        }
    }
    let where_clause = sig.generics.make_where_clause();
    where_clause.predicates.extend(bounds);

    // The whole output at the user's return type, so a mismatch with the trait points there.
    let span = ret.span();
    let task = value_task_type(opts, span);
    let output_lt = Lifetime::new(&output_lt.to_string(), span);
    sig.output =
        syn::parse2(quote_spanned!(span=> -> #task<#output_lt, #ret>)).expect("a return type");
    ret
}

/// Turns a named elided lifetime back into elision: `&'life0 T` into `&T`, `'life0` into `'_`.
struct Unname(syn::Ident);

impl VisitMut for Unname {
    fn visit_type_reference_mut(&mut self, r: &mut TypeReference) {
        if r.lifetime.as_ref().is_some_and(|lt| lt.ident == self.0) {
            r.lifetime = None;
        }
        visit_mut::visit_type_reference_mut(self, r);
    }

    fn visit_lifetime_mut(&mut self, lt: &mut Lifetime) {
        if lt.ident == self.0 {
            *lt = Lifetime::new("'_", lt.span());
        }
    }
}

/// A free function's one lifetime, when the value task can take it as its own: no type
/// parameters, no `impl Trait` arguments (each is one, bounded by the output lifetime), no
/// `where` clause, no bound on the lifetime, and no other lifetime in the arguments but
/// `'static` and those bound inside the arguments (`for<..>`, `fn(&'_ T)`). Every argument then outlives it, and, left
/// unbounded, it stays late-bound: the function coerces to a higher-ranked
/// `for<'a> fn(&'a str) -> ValueTask<'a, T>` (a handler table), as a hand-written one does.
/// A bound such as `'a: 'value_task` would make it early-bound, and the coercion fail.
fn sole_unbounded_lifetime(sig: &Signature) -> Option<SoleLifetime> {
    let generics = &sig.generics;
    if generics
        .where_clause
        .as_ref()
        .is_some_and(|w| !w.predicates.is_empty())
        || generics.type_params().next().is_some()
    {
        return None;
    }
    let mut lifetimes = generics.lifetimes();
    let only = lifetimes.next()?;
    if lifetimes.next().is_some() || !only.bounds.is_empty() {
        return None;
    }
    // A lifetime the function uses but does not declare is an enclosing impl's (a method
    // annotated on its own, which looks like a free function): its future needs that
    // lifetime bounded, as the general form does.
    // (`impl Trait` arguments carry the output lifetime by now: each is a type parameter.)
    let used = ArgumentLifetimes::free_in(argument_types(sig));
    let fits = used
        .iter()
        .all(|lt| lt.ident == only.lifetime.ident || lt.ident == "static");
    let alone = used.iter().all(|lt| lt.ident != "static");
    fits.then(|| SoleLifetime {
        lifetime: only.lifetime.clone(),
        alone,
    })
}

/// See [`sole_unbounded_lifetime`].
struct SoleLifetime {
    lifetime: Lifetime,
    /// No `'static` in the arguments either: the elision rules give the output this one.
    alone: bool,
}

/// The value task type the methods return: `ValueTask` or, for `?Send`, `LocalValueTask`.
fn value_task_type(opts: &Options, span: Span) -> TokenStream {
    let krate = opts.krate(span);
    if opts.local {
        quote_spanned!(span=> #krate::LocalValueTask)
    } else {
        quote_spanned!(span=> #krate::ValueTask)
    }
}

/// `{ ValueTask::start(async move { <rebind arguments>; let ret: T = { body }; ret }) }`,
/// spanned at the user's body so errors point there; a body that never suspends (see
/// [`crate::synchronous`]) runs as a closure and returns `ValueTask::from_result`.
///
/// A `Send` future holds the receiver, so with one (`receiver`, its span) the body first
/// asserts that it is `Send`: a receiver that is not (`self: Rc<Self>`, `&self` of a `!Sync`
/// type) gets an error naming it and pointing to `?Send`, besides rustc's about the future.
fn wrap_body(
    body: &Block,
    ret: &Type,
    captures: &[TokenStream],
    opts: &Options,
    at: Spans,
    shape: Shape,
    site: &str,
) -> Block {
    let block = match shape {
        Shape::Forwards(call) if !opts.lazy => forward_body(&call, ret, opts, at.async_span),
        _ => wrap_body_uncounted(
            body,
            ret,
            captures,
            opts,
            at,
            matches!(shape, Shape::Diverges),
        ),
    };
    if opts.lazy {
        // The body has not run at the call: the call cannot tell whether it would suspend.
        return block;
    }
    // The `stats` advisor counts the call under `module::site` (`count!` is the value task
    // itself without the feature).
    let support = opts.macro_support(Span::call_site());
    syn::parse2(quote!({ #support::count!(#site, #block) })).expect("a block")
}

/// What a body is, for [`wrap_body`].
enum Shape {
    /// A `-> !` body.
    Diverges,
    /// A body that only awaits this call (see [`crate::forwarding`]).
    Forwards(syn::Expr),
    /// Anything else.
    Other,
}

/// A body that only awaits `call`: the method returns the call's value task when it is one
/// of the method's output (no frame); otherwise a frame that awaits it, started as any other
/// body (see `macro_support::Forward`). The call is evaluated at once either way, as a body
/// that starts at the call evaluates it.
fn forward_body(call: &syn::Expr, ret: &Type, opts: &Options, async_span: Span) -> Block {
    let span = call.span();
    let support = opts.macro_support(span);
    let task = value_task_type(opts, async_span);
    let forward = if opts.local {
        quote_spanned!(span=> ForwardLocal)
    } else {
        quote_spanned!(span=> Forward)
    };
    let ret = &impl_trait_inferred(ret);
    let awaited = syn::Ident::new("__value_task_call", Span::mixed_site());
    let out = output_binding(span);
    let future = quote_spanned! {span=>
        async move {
            let #out: #ret = #awaited.await;
            #out
        }
    };
    let frame = if opts.boxed {
        quote_spanned!(async_span=> #task::boxed(#future))
    } else if opts.local {
        quote_spanned!(async_span=> #support::start_local(move || #future))
    } else {
        quote_spanned!(async_span=> #support::start(move || #future))
    };
    syn::parse2(quote_spanned! {span=>
        {
            #[allow(unused_imports)]
            use #support::Wrap as _;
            #support::#forward::<#ret, _>::new(#call)
                .__value_task_forward(move |#awaited| #frame)
        }
    })
    .expect("a block")
}

/// `wrap_body` without the advisor's count.
fn wrap_body_uncounted(
    body: &Block,
    ret: &Type,
    captures: &[TokenStream],
    opts: &Options,
    at: Spans,
    diverges: bool,
) -> Block {
    let Spans {
        receiver,
        async_span,
    } = at;
    let task = value_task_type(opts, async_span);
    // Methods start at once, as .NET async methods do (pooled or boxed, which changes only
    // where a suspended future is kept): a body that completes without suspending leaves no
    // storage behind. `lazy` ones start at their first poll, as `#[async_trait]`'s do.
    let ctor = if opts.lazy {
        quote_spanned!(async_span=> new)
    } else if opts.boxed {
        quote_spanned!(async_span=> boxed)
    } else {
        quote_spanned!(async_span=> start)
    };
    let span = body.span();
    let stmts = &body.stmts;
    if !opts.lazy && !diverges && crate::synchronous::never_suspends(body, ret) {
        // Nothing to suspend: run the body here, as `start` would, but as a closure, so there
        // is no future to store and the value task is ready by value. The closure is called
        // through an `FnOnce` bound so that it owns its captures, as an async block does (a
        // `&mut self` method may return a reborrow of `self`), and the body keeps the async
        // shape `let ret = { body }; ret`, so its temporaries drop before the arguments.
        let support = opts.macro_support(span);
        let completed = if opts.local {
            quote_spanned!(span=> completed_local)
        } else {
            quote_spanned!(span=> completed)
        };
        let holds = hold_output(stmts, ret, &support, span);
        return syn::parse2(quote_spanned! {span=>
            {
                #support::#completed(move || -> #ret {
                    #(#captures)*
                    #holds
                })
            }
        })
        .expect("a block");
    }
    let receiver_is_send = match receiver {
        Some(span) if !opts.local => {
            let support = opts.macro_support(span);
            quote_spanned!(span=> #support::receiver_is_send(&self);)
        }
        _ => TokenStream::new(),
    };
    // Fix the block's output type before any `return` in the body can infer it (so
    // `return Err(Box::new(e))` coerces as in an `async fn`). An `impl Trait` output cannot
    // be written there, so each one becomes `_`: the rest of the type still fixes what a
    // `return` must convert to (`Result<impl Display, Box<dyn Error>>` → `Result<_, Box<..>>`).
    let ret = &impl_trait_inferred(ret);
    let out = output_binding(span);
    let fix_output = quote_spanned! {span=>
        if let ::core::option::Option::Some(#out) = ::core::option::Option::None::<#ret> {
            return #out;
        }
    };
    let support = opts.macro_support(span);
    let holds = hold_output(stmts, ret, &support, span);
    let future = quote_spanned! {span=>
        async move {
            #fix_output
            #(#captures)*
            #holds
        }
    };
    // A pooled body's future is built in its block (`macro_support::start` takes a closure
    // that builds it), not on the stack and then copied there.
    let started = if opts.lazy || opts.boxed {
        quote_spanned!(async_span=> #task::#ctor(#future))
    } else {
        let support = opts.macro_support(async_span);
        let start = if opts.local {
            quote_spanned!(async_span=> start_local)
        } else {
            quote_spanned!(async_span=> start)
        };
        let make = quote_spanned!(span=> move || #future);
        quote_spanned!(async_span=> #support::#start(#make))
    };
    syn::parse2(quote_spanned! {span=>
        {
            #receiver_is_send
            #started
        }
    })
    .expect("a block")
}

/// `let ret: T = { body_starts(); body }; ret`: the body's statements in a block of their
/// own, so its temporaries drop before the arguments, as in an `async fn`. `body_starts()`
/// keeps a body that only diverges from being the whole value of the `let` (clippy's
/// `diverging_sub_expression` in the user's code); the trailing `ret` is unreachable after
/// such a body.
fn hold_output(stmts: &[syn::Stmt], ret: &Type, support: &TokenStream, span: Span) -> TokenStream {
    let out = output_binding(span);
    quote_spanned! {span=>
        let #out: #ret = {
            #support::body_starts();
            #(#stmts)*
        };
        #[allow(unreachable_code)]
        #out
    }
}

/// The binding that holds a body's output, at the body's `span` (rustc's notes about the
/// output type point there). Named so that no item of the user's is likely to share its name:
/// hygiene would keep locals apart, not items, and a `const` of the same name in scope would
/// turn the `let` into a refutable pattern.
fn output_binding(span: Span) -> syn::Ident {
    syn::Ident::new("__value_task_ret", span)
}

/// `ty` with every `impl Trait` in it replaced by `_` (its type is inferred, as `impl Trait`
/// asks; the rest of `ty` stays written).
fn impl_trait_inferred(ty: &Type) -> Type {
    struct Infer;
    impl VisitMut for Infer {
        fn visit_type_mut(&mut self, ty: &mut Type) {
            // `&(impl A + B)` becomes `&_`, not `&(_)`: no parentheses for `unused_parens`.
            let impl_trait = match ty {
                Type::ImplTrait(t) => Some(t.impl_token.span),
                Type::Paren(p) => match &*p.elem {
                    Type::ImplTrait(t) => Some(t.impl_token.span),
                    _ => None,
                },
                _ => None,
            };
            match impl_trait {
                Some(span) => {
                    *ty = Type::Infer(syn::TypeInfer {
                        underscore_token: syn::Token![_](span),
                    });
                }
                None => visit_mut::visit_type_mut(self, ty),
            }
        }
    }
    let mut ty = ty.clone();
    Infer.visit_type_mut(&mut ty);
    ty
}

fn is_ident(ty: &Type, ident: &syn::Ident) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none() && p.path.is_ident(ident))
}

/// What a default body's `Send` future needs of `Self`, given how the receiver holds it.
enum SelfNeeds {
    /// `&self`, `Pin<&Self>`: shared references cross threads, so `Self: Sync`.
    Sync,
    /// `self`, `&mut self`, `Box<Self>`, `Pin<&mut Self>`: `Self: Send`.
    Send,
    /// `Arc<Self>`: `Self: Send + Sync`.
    SendSync,
}

fn receiver_needs(ty: &Type) -> SelfNeeds {
    match ty {
        Type::Reference(r) if r.mutability.is_none() => SelfNeeds::Sync,
        Type::Reference(_) => SelfNeeds::Send,
        Type::Path(p) => {
            let last = p.path.segments.last().expect("a path has a segment");
            let inner = match &last.arguments {
                syn::PathArguments::AngleBracketed(a) => a.args.iter().find_map(|g| match g {
                    syn::GenericArgument::Type(t) => Some(t),
                    _ => None,
                }),
                _ => None,
            };
            match (last.ident.to_string().as_str(), inner) {
                ("Arc", _) => SelfNeeds::SendSync,
                ("Pin", Some(inner)) => receiver_needs(inner),
                _ => SelfNeeds::Send,
            }
        }
        _ => SelfNeeds::Send,
    }
}

/// Lifetimes used in argument types, and those a `for<..>` binder introduces there.
#[derive(Default)]
struct ArgumentLifetimes {
    used: Vec<Lifetime>,
    bound: Vec<syn::Ident>,
}

impl ArgumentLifetimes {
    /// The lifetimes `types` use that their function's caller can name: not those a
    /// `for<..>` binder introduces, nor `'_` (the elided ones are named by now, so a `'_`
    /// left is inside a `fn(..)` or `Fn(..)` type, bound there). `'static` included.
    fn free_in<'a>(types: impl IntoIterator<Item = &'a Type>) -> Vec<Lifetime> {
        let mut lifetimes = ArgumentLifetimes::default();
        for ty in types {
            syn::visit::visit_type(&mut lifetimes, ty);
        }
        let ArgumentLifetimes { used, bound } = lifetimes;
        used.into_iter()
            .filter(|lt| lt.ident != "_" && !bound.contains(&lt.ident))
            .collect()
    }
}

/// The types of `sig`'s arguments, the receiver's included.
fn argument_types(sig: &Signature) -> impl Iterator<Item = &Type> {
    sig.inputs.iter().map(|arg| match arg {
        FnArg::Receiver(r) => &*r.ty,
        FnArg::Typed(t) => &*t.ty,
    })
}

impl<'ast> syn::visit::Visit<'ast> for ArgumentLifetimes {
    fn visit_lifetime(&mut self, lt: &'ast Lifetime) {
        self.used.push(lt.clone());
    }

    fn visit_bound_lifetimes(&mut self, b: &'ast syn::BoundLifetimes) {
        for param in &b.lifetimes {
            if let GenericParam::Lifetime(l) = param {
                self.bound.push(l.lifetime.ident.clone());
            }
        }
        syn::visit::visit_bound_lifetimes(self, b);
    }

    /// Expressions in types (array lengths) hold labels and items, not lifetimes of the
    /// signature.
    fn visit_expr(&mut self, _: &'ast syn::Expr) {}
}

/// Lifetimes and single-segment type names used in argument types.
#[derive(Default)]
struct UsedNames {
    lifetimes: Vec<syn::Ident>,
    idents: Vec<syn::Ident>,
}

impl<'ast> syn::visit::Visit<'ast> for UsedNames {
    fn visit_lifetime(&mut self, lt: &'ast Lifetime) {
        self.lifetimes.push(lt.ident.clone());
    }

    fn visit_type_path(&mut self, p: &'ast syn::TypePath) {
        if let Some(first) = p.path.segments.first() {
            self.idents.push(first.ident.clone());
        }
        syn::visit::visit_type_path(self, p);
    }
}
