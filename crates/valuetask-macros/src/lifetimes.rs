//! Lifetimes: names for elided ones (`'lifeN`), fresh names that skip the user's, the
//! output's elision, the lifetimes the arguments use, and the lone-lifetime free fn.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{
    Block, FnArg, GenericParam, Item, Lifetime, Signature, Type, TypeImplTrait, TypeParamBound,
    TypeReference,
};

use crate::receiver::contains_reference;

/// `'async_trait`, the lifetime async-trait gives its futures, written in a signature (as in
/// `where T: 'async_trait`) or in the body (a type annotation: `Box<dyn Future + 'async_trait>`)
/// means ours, unless the signature (also in a `for<..>` binder) or the enclosing item
/// declares it itself: so a trait written for async-trait compiles with the attribute
/// swapped. In the body, a `for<'async_trait>` binder and a nested item keep their own.
pub(crate) fn async_trait_lifetime_is_ours(
    sig: &mut Signature,
    body: Option<&mut Block>,
    outer: Option<&syn::Generics>,
    output: &Lifetime,
) {
    struct Rename<'o>(&'o Lifetime);
    /// Whether a `for<..>` binder declares `'async_trait` itself.
    fn declares(binder: Option<&syn::BoundLifetimes>) -> bool {
        binder.is_some_and(|b| {
            b.lifetimes.iter().any(|param| {
                matches!(param, GenericParam::Lifetime(l) if l.lifetime.ident == "async_trait")
            })
        })
    }
    impl VisitMut for Rename<'_> {
        fn visit_lifetime_mut(&mut self, lt: &mut Lifetime) {
            if lt.ident == "async_trait" {
                *lt = Lifetime::new(&self.0.to_string(), lt.span());
            }
        }
        fn visit_item_mut(&mut self, _: &mut Item) {}
        /// Inside a macro's tokens (`vec![.. as Box<dyn Future + 'async_trait>]`), which syn
        /// does not parse: every `'async_trait` there, as async-trait's real parameter of
        /// that name would resolve there too.
        fn visit_macro_mut(&mut self, mac: &mut syn::Macro) {
            mac.tokens = rename_in_tokens(std::mem::take(&mut mac.tokens), self.0);
        }
        fn visit_trait_bound_mut(&mut self, bound: &mut syn::TraitBound) {
            if !declares(bound.lifetimes.as_ref()) {
                visit_mut::visit_trait_bound_mut(self, bound);
            }
        }
        fn visit_type_bare_fn_mut(&mut self, f: &mut syn::TypeBareFn) {
            if !declares(f.lifetimes.as_ref()) {
                visit_mut::visit_type_bare_fn_mut(self, f);
            }
        }
        fn visit_predicate_type_mut(&mut self, p: &mut syn::PredicateType) {
            if !declares(p.lifetimes.as_ref()) {
                visit_mut::visit_predicate_type_mut(self, p);
            }
        }
        fn visit_expr_closure_mut(&mut self, c: &mut syn::ExprClosure) {
            if !declares(c.lifetimes.as_ref()) {
                visit_mut::visit_expr_closure_mut(self, c);
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
        if let Some(body) = body {
            Rename(output).visit_block_mut(body);
        }
    }
}

/// `tokens` with each `'async_trait` (a `'` joined to the ident) renamed `to`, in every group.
fn rename_in_tokens(tokens: proc_macro2::TokenStream, to: &Lifetime) -> proc_macro2::TokenStream {
    use proc_macro2::{Group, TokenTree};
    let mut out: Vec<TokenTree> = Vec::new();
    for tree in tokens {
        match tree {
            TokenTree::Group(group) => {
                let mut renamed =
                    Group::new(group.delimiter(), rename_in_tokens(group.stream(), to));
                renamed.set_span(group.span());
                out.push(TokenTree::Group(renamed));
            }
            TokenTree::Ident(ident)
                if ident == "async_trait"
                    && matches!(out.last(), Some(TokenTree::Punct(p))
                        if p.as_char() == '\'' && p.spacing() == proc_macro2::Spacing::Joint) =>
            {
                out.pop();
                let renamed = Lifetime::new(&to.to_string(), ident.span());
                out.extend(quote::ToTokens::to_token_stream(&renamed));
            }
            other => out.push(other),
        }
    }
    out.into_iter().collect()
}

/// The lifetime names the macro's own must not take. The value task's `'value_task` skips
/// the `declared` ones: generic parameters of the method and of its enclosing item, and
/// `for<..>` binders in the signature or the body (outside nested items), where a generic
/// parameter of that name would be shadowed. Written undeclared (`where T: 'value_task`) it
/// names the attribute's lifetime on purpose. An elided lifetime's `'life0`, … skips
/// `for_elided`: the declared names too, and, for a method annotated on its own, every name
/// its signature uses (an undeclared one may be its impl's, which the method cannot see).
pub(crate) struct TakenLifetimes {
    pub(crate) declared: Vec<syn::Ident>,
    pub(crate) for_elided: Vec<syn::Ident>,
}

/// Collects lifetime names: every one used, and those declared as parameters or in binders.
#[derive(Default)]
pub(crate) struct LifetimeNames {
    pub(crate) used: Vec<syn::Ident>,
    pub(crate) declared: Vec<syn::Ident>,
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
    pub(crate) fn of(sig: &Signature, outer: Option<&syn::Generics>, body: Option<&Block>) -> Self {
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
pub(crate) fn fresh_lifetime(
    base: &str,
    from: Option<usize>,
    taken: &[syn::Ident],
    span: Span,
) -> Lifetime {
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

/// Names elided lifetimes `'life0`, `'life1`, … and bounds `impl Trait` arguments by the
/// output lifetime.
pub(crate) struct ElidedLifetimes {
    pub(crate) fresh: Vec<Lifetime>,
    pub(crate) output: Lifetime,
    /// Names in use (the user's and those given out so far).
    pub(crate) taken: Vec<syn::Ident>,
}

impl ElidedLifetimes {
    pub(crate) fn next(&mut self, span: Span) -> Lifetime {
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

    // Expressions in types (array lengths: `[u8; size_of::<&u8>()]`) are constants of their
    // own, which may not name the signature's lifetimes.
    fn visit_expr_mut(&mut self, _: &mut syn::Expr) {}

    fn visit_parenthesized_generic_arguments_mut(
        &mut self,
        _: &mut syn::ParenthesizedGenericArguments,
    ) {
    }
}

/// The lifetime Rust's elision rules give an elided lifetime in the output of `sig` (whose
/// input lifetimes are all named by now): a reference receiver's, else the only one among the
/// inputs. `None` when the rules give none (the compiler then reports the elided output).
pub(crate) fn output_elision_target(sig: &Signature, output: &Lifetime) -> Option<Lifetime> {
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

/// Replaces elided lifetimes (`&T`, `'_`) in an output type, outside `fn` pointer types and
/// `Fn(..)` sugar, which have elision scopes of their own.
pub(crate) struct NameOutputElisions(pub(crate) Lifetime);

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

/// Turns a named elided lifetime back into elision: `&'life0 T` into `&T`, `'life0` into `'_`.
pub(crate) struct Unname(pub(crate) syn::Ident);

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
/// `where` clause, no macro's type in an argument, no argument under `#[cfg]` that borrows, no
/// bound on the lifetime, and no other lifetime in the arguments but
/// `'static` and those bound inside the arguments (`for<..>`, `fn(&'_ T)`). Every argument then outlives it, and, left
/// unbounded, it stays late-bound: the function coerces to a higher-ranked
/// `for<'a> fn(&'a str) -> ValueTask<'a, T>` (a handler table), as a hand-written one does.
/// A bound such as `'a: 'value_task` would make it early-bound, and the coercion fail.
pub(crate) fn sole_unbounded_lifetime(sig: &Signature) -> Option<SoleLifetime> {
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
    // An argument under `#[cfg]` may be compiled out, and its lifetime with it: elided
    // (`ValueTask<'_, T>`), the output would have none to take (E0106). A macro's type
    // (`bytes!()`) may hold a lifetime the attribute cannot see, another input to elide
    // from.
    let may_borrow = |ty: &Type| {
        contains_type_macro(ty) || !ArgumentLifetimes::free_in(std::iter::once(ty)).is_empty()
    };
    if sig.inputs.iter().any(|arg| match arg {
        FnArg::Typed(typed) => {
            contains_type_macro(&typed.ty)
                || (typed.attrs.iter().any(|attr| attr.path().is_ident("cfg"))
                    && may_borrow(&typed.ty))
        }
        FnArg::Receiver(_) => false,
    }) {
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

/// Whether `ty` has a macro's type in it (`bytes!()`), whose lifetimes syn does not see.
fn contains_type_macro(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'ast> syn::visit::Visit<'ast> for Finder {
        fn visit_type_macro(&mut self, _: &'ast syn::TypeMacro) {
            self.0 = true;
        }
    }
    let mut finder = Finder(false);
    syn::visit::visit_type(&mut finder, ty);
    finder.0
}

/// See [`sole_unbounded_lifetime`].
pub(crate) struct SoleLifetime {
    pub(crate) lifetime: Lifetime,
    /// No `'static` in the arguments either: the elision rules give the output this one.
    pub(crate) alone: bool,
}

/// Lifetimes used in argument types, and those a `for<..>` binder introduces there.
#[derive(Default)]
pub(crate) struct ArgumentLifetimes {
    pub(crate) used: Vec<Lifetime>,
    pub(crate) bound: Vec<syn::Ident>,
}

impl ArgumentLifetimes {
    /// The lifetimes `types` use that their function's caller can name: not those a
    /// `for<..>` binder introduces, nor `'_` (the elided ones are named by now, so a `'_`
    /// left is inside a `fn(..)` or `Fn(..)` type, bound there). `'static` included.
    pub(crate) fn free_in<'a>(types: impl IntoIterator<Item = &'a Type>) -> Vec<Lifetime> {
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
pub(crate) fn argument_types(sig: &Signature) -> impl Iterator<Item = &Type> {
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
pub(crate) struct UsedNames {
    pub(crate) lifetimes: Vec<syn::Ident>,
    pub(crate) idents: Vec<syn::Ident>,
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
