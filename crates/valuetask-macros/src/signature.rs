//! The rewritten signature: `async fn f(args) -> T` becomes
//! `fn f<'life0.., 'value_task>(args) -> ValueTask<'value_task, T> where ..`, and the
//! argument patterns the future captures.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{
    parse_quote, parse_quote_spanned, Block, FnArg, GenericParam, Lifetime, Pat, PatIdent,
    ReturnType, Signature, Type, TypeParamBound,
};

use crate::expand::{Place, OUTPUT_LIFETIME};
use crate::lifetimes::{
    argument_types, async_trait_lifetime_is_ours, fresh_lifetime, output_elision_target,
    sole_unbounded_lifetime, ArgumentLifetimes, ElidedLifetimes, NameOutputElisions, SoleLifetime,
    TakenLifetimes, Unname, UsedNames,
};
use crate::lint_attrs::expect_as_allow;
use crate::options::Options;
use crate::receiver::{binds_by_mut_ref, binds_plainly, is_ident, receiver_needs, SelfNeeds};

/// Rename non-identifier argument patterns to `__value_task_arg{n}` and strip `mut` from identifier
/// patterns, returning the `let` statements that rebind them inside the future: every
/// argument is moved into the future whole, as an `async fn` does. Without a body (a required
/// trait method) there is nothing to rebind.
///
/// Reference arguments are the exception, as in async-trait: they keep their pattern and are
/// captured only if the body uses them. A reference has nothing to drop, so only `Send`
/// differs: an unused `&T` of a `T` that is not `Sync` does not make the future `!Send`.
/// Primitive scalars too ([`is_primitive`]): nothing to drop, always `Send`, and the body
/// reads the captured value where it is instead of a copy the rebinding would make.
/// Not when the pattern binds `mut` or `ref`: a `mut name: &str` the body points at one of
/// its own locals, or a `ref x` (a borrow of the argument itself), needs the rebinding.
pub(crate) fn rewrite_params(sig: &mut Signature, has_body: bool) -> Vec<TokenStream> {
    let mut captures = Vec::new();
    for (i, arg) in sig.inputs.iter_mut().enumerate() {
        match arg {
            FnArg::Receiver(receiver) => {
                if !has_body && receiver.reference.is_none() {
                    // `mut self` (or `mut self: Box<Self>`) is a pattern too, denied without
                    // a body (`patterns_in_fns_without_body`); `&mut self`'s `mut` is its
                    // type's.
                    receiver.mutability = None;
                }
                // The receiver's own token: in an item written by a `macro_rules!`, `self`
                // resolves only with the hygiene it came with.
                let self_token = receiver.self_token;
                captures.push(quote!(let _ = &#self_token;));
            }
            FnArg::Typed(typed) => {
                if !has_body {
                    // A function without a body takes names only (E0642 for a pattern, a
                    // warning for `mut`): what a pattern there binds is the impl's business.
                    match &mut *typed.pat {
                        Pat::Ident(PatIdent {
                            mutability,
                            by_ref,
                            subpat: None,
                            ..
                        }) => {
                            *mutability = None;
                            *by_ref = None;
                        }
                        Pat::Wild(_) => {}
                        pat => {
                            let name = syn::Ident::new(
                                &format!("__value_task_arg{i}"),
                                Span::mixed_site(),
                            );
                            *pat = parse_quote!(#name);
                        }
                    }
                    continue;
                }
                if (matches!(*typed.ty, Type::Reference(_)) || is_primitive(&typed.ty))
                    && binds_plainly(&typed.pat)
                {
                    continue;
                }
                // `#[cfg]` and friends go onto the rebinding too. An `#[expect(..)]` stays
                // only where the user's bindings are (the lint it expects, `unused_variables`
                // or `unused_mut`, fires there now): elsewhere it becomes an `allow`, which
                // no unfulfilled expectation can report.
                let attrs = typed.attrs.clone();
                let allowing = expect_as_allow(&attrs);
                match &mut *typed.pat {
                    Pat::Ident(PatIdent {
                        ident,
                        mutability,
                        by_ref: None,
                        subpat: None,
                        ..
                    }) => {
                        let m = mutability.take();
                        // An `_name` the body may not use: at the expansion (its location
                        // kept), clippy's lints about using or binding one
                        // (`used_underscore_binding`, `no_effect_underscore_binding`) do not
                        // read the rebinding as the user's, as they do not a plain `async fn`'s.
                        let ident = if ident.to_string().starts_with('_') {
                            syn::Ident::new(
                                &ident.to_string(),
                                ident.span().resolved_at(Span::call_site()),
                            )
                        } else {
                            ident.clone()
                        };
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
                        if matches!(original, Pat::Wild(_)) {
                            captures.push(quote!(#(#attrs)* let #m #name = #name;));
                        } else {
                            captures.push(quote!(#(#allowing)* let #m #name = #name;));
                            captures.push(
                                quote_spanned!(original.span()=> #(#attrs)* let #original = #name;),
                            );
                        }
                    }
                }
                typed.attrs = allowing;
            }
        }
    }
    captures
}

/// Whether `ty` names a primitive scalar (`u64`, `bool`, `f32`, ..): `Copy`, nothing to drop,
/// `Send` and `Sync`, so moving it into the future is all its rebinding would do, and the
/// rebinding copies it into a second place in the future's state at its first poll. (Known by
/// name: a type of the user's called `u64`, with a `Drop`, would be dropped when the call
/// returns if the body does not use it, else after the rebound arguments, not among them.)
fn is_primitive(ty: &Type) -> bool {
    const PRIMITIVES: [&str; 16] = [
        "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
        "bool", "char", "f32", "f64",
    ];
    let Type::Path(path) = ty else { return false };
    path.qself.is_none()
        && path
            .path
            .get_ident()
            .is_some_and(|ident| PRIMITIVES.iter().any(|name| ident == name))
}

/// Rewrite `sig` in place; returns the future's output type.
pub(crate) fn rewrite_signature(
    sig: &mut Signature,
    body: Option<&mut Block>,
    opts: &Options,
    place: Place,
    uses_self: bool,
    outer: Option<&syn::Generics>,
) -> Type {
    let is_default = place == Place::Trait { is_default: true };
    let TakenLifetimes {
        declared,
        mut for_elided,
    } = TakenLifetimes::of(sig, outer, body.as_deref());
    let output_lt = fresh_lifetime(&OUTPUT_LIFETIME[1..], None, &declared, Span::call_site());
    for_elided.push(output_lt.ident.clone());
    async_trait_lifetime_is_ours(sig, body, outer, &output_lt);
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
        ReturnType::Type(_, ty) if is_never(ty) => {
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
            let span = crate::expand::at_expansion(ret.span());
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

    // The whole output at the user's return type, so a mismatch with the trait points there;
    // the value task around it is the expansion's, which clippy does not score
    // (`type_complexity`), as it does not an `async fn`'s output.
    let span = ret.span();
    let output_lt = Lifetime::new(&output_lt.to_string(), span);
    let span = crate::expand::at_expansion(span);
    let task = value_task_type(opts, span);
    sig.output =
        syn::parse2(quote_spanned!(span=> -> #task<#output_lt, #ret>)).expect("a return type");
    ret
}

/// The value task type the methods return: `ValueTask` or, for `?Send`, `LocalValueTask`.
pub(crate) fn value_task_type(opts: &Options, span: Span) -> TokenStream {
    let krate = opts.krate(span);
    if opts.local {
        quote_spanned!(span=> #krate::LocalValueTask)
    } else {
        quote_spanned!(span=> #krate::ValueTask)
    }
}

/// `ty` with every `impl Trait` in it replaced by `_` (its type is inferred, as `impl Trait`
/// asks; the rest of `ty` stays written).
pub(crate) fn impl_trait_inferred(ty: &Type) -> Type {
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

/// Whether `ty` is `!`, also as a `macro_rules!` fragment (`$t:ty` reaches the attribute in
/// an invisible group) or in parentheses.
pub(crate) fn is_never(ty: &Type) -> bool {
    match ty {
        Type::Never(_) => true,
        Type::Group(group) => is_never(&group.elem),
        Type::Paren(paren) => is_never(&paren.elem),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::rewrite_params;
    use syn::{parse_quote, Signature};

    /// The statements that rebind `sig`'s arguments inside the future, as text.
    fn rebinds(mut sig: Signature) -> Vec<String> {
        rewrite_params(&mut sig, true)
            .iter()
            .map(|stmt| stmt.to_string().replace(' ', ""))
            .collect()
    }

    #[test]
    fn primitive_and_reference_arguments_are_captured_as_they_are() {
        assert_eq!(
            rebinds(parse_quote!(async fn f(
                &self,
                key: u64,
                flag: bool,
                ratio: f64,
                name: &str
            ))),
            ["let_=&self;"],
            "nothing to drop: the body reads the captured value, not a copy"
        );
    }

    #[test]
    fn other_arguments_are_moved_into_the_future_and_rebound() {
        assert_eq!(
            rebinds(parse_quote!(async fn f(
                owned: String,
                mut count: u64,
                wrapped: std::num::Wrapping<u64>,
                (a, b): (u8, u8)
            ))),
            [
                "letowned=owned;",
                "letmutcount=count;",
                "letwrapped=wrapped;",
                "let__value_task_arg3=__value_task_arg3;",
                "let(a,b)=__value_task_arg3;",
            ],
            "dropped at the body's end in their order, mutable where the pattern says so"
        );
    }
}
