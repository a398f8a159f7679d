//! Deciding that a body only forwards: `async fn get(&self, key: &str, o: Opts) -> T {
//! self.inner.get(key, o).await }`. Such a body needs no frame of its own when the call
//! returns a `ValueTask` of the method's output that has started: the method returns that
//! value task (see `macro_support::Forward`, which falls back to a frame when it does not, or
//! when the value task is a future not polled yet, a lazy body's or `ValueTask::new`'s,
//! which the frame starts at the call as the body would).
//!
//! Returning the call's value task instead of awaiting it in a frame changes two things a
//! caller could see:
//!
//! - arguments the frame would have held until the call completed are dropped when the
//!   method returns, and so are temporaries of the call's expression (a full expression's
//!   temporaries live across its `.await` in a frame);
//! - a callee that suspended at its call is polled next by the caller's first poll, not by
//!   the frame's first poll at the call. Only a future that moves on when polled again
//!   without a wake-up sees it (tokio's `yield_now` inside a runtime, which defers its
//!   wake): in a frame what follows it runs at the call, forwarded it runs after the caller
//!   suspended, as the continuation of .NET's `await Task.Yield()` does.
//!
//! So a body forwards only when nothing but the call can outlive the method, decided on
//! syntax, conservatively:
//!
//! - the body is one expression, `<call>.await`; the call is a method call whose receiver is
//!   a place reached through a reference argument (`self.inner`, `(**self)` for `&self` /
//!   `&mut self`), or a call of a path (`Self::get(..)`, `inner::get(..)`); not a method's
//!   result (`self.inner.as_ref()`: an inherent `as_ref`, as `Pin`'s, returns a temporary
//!   the call would borrow, and the name alone cannot tell it from `AsRef`'s);
//! - every argument of the call is a value built from arguments, literals and paths
//!   (`key`, `key ^ 1`, `o.clone()`, `self.limit`, `None`): never a reference (`&x`) nor a
//!   method call that could borrow a temporary, so the call's value task borrows only what the
//!   method's reference arguments borrow, as the signature allows. Of method calls, only
//!   `into()` (of any such value) and `clone()`, `to_owned()`, `to_string()` of an argument
//!   or a place reached through one (not of a constant's value or an operator's result, a
//!   temporary they would borrow); the names are taken as the standard library's (an
//!   inherent `into(&self)` returning a reference fails to compile when forwarded);
//! - every argument the method takes by value (not `&T` / `&mut T`) is moved into the call,
//!   so it would not have outlived the call in a frame either; patterns are plain names (an
//!   argument only compared, `a == b`, is borrowed by the comparison, not moved; one in the
//!   right side of `&&` or `||` may not be moved);
//! - the method's output names no lifetime and no reference, and neither `Self` nor a
//!   qualified path (`Self::Name`, `<T as Trait>::Name`) nor an associated type of a type
//!   parameter (`T::Name`; for a method annotated alone, whose impl's parameters are not
//!   seen, any `Name::Name` of a capitalized first name), nor a type parameter bound with an
//!   associated type (`N: Naming<Name = &'a str>`, whose projection an alias may name), nor
//!   a macro. Each may stand for a type with a lifetime (`type Name = &'a str` in
//!   `impl<'a> .. for W<'a>`): a value task is invariant
//!   in its output, and method lookup ignores lifetimes, so a call whose output differs from
//!   the method's in a lifetime alone (`&'static str` for `&'a str`) would be returned where
//!   it must shorten, which does not compile (a frame awaits it, and it shortens). A
//!   lifetime elided in a path (`-> Doc` for `Doc<'_>`, or an alias) is not seen: write it;
//!   nor is an alias of a projection of a parameter of an impl the attribute does not see.
//!
//! A body the check refuses keeps its frame: the check decides speed, never meaning, but
//! for `Send`: a forwarding body's receiver and arguments need not be `Send` (nothing holds
//! them across a suspension), a frame's must (the crate docs say so).

use syn::{BinOp, Block, Expr, FnArg, Pat, Signature, Stmt, Type, UnOp};

/// The call a body only awaits, if it forwards (see the module docs). `outer`: the generics
/// of the impl or trait around the method; with `outer_bounds: false`, their names alone (a
/// method deferred behind other attribute macros), so that any of their type parameters may
/// be bound with an associated type.
pub fn forwarded_call<'b>(
    sig: &Signature,
    body: &'b Block,
    outer: Option<&syn::Generics>,
    outer_bounds: bool,
) -> Option<&'b Expr> {
    let [Stmt::Expr(Expr::Await(awaited), None)] = body.stmts.as_slice() else {
        return None;
    };
    if !awaited.attrs.is_empty() {
        return None;
    }
    let type_params: Vec<&syn::Ident> = sig
        .generics
        .type_params()
        .chain(outer.into_iter().flat_map(syn::Generics::type_params))
        .map(|param| &param.ident)
        .collect();
    let mut bound_params = params_with_bound_associated_types(
        std::iter::once(&sig.generics).chain(outer.filter(|_| outer_bounds)),
        &type_params,
    );
    if !outer_bounds {
        bound_params.extend(
            outer
                .into_iter()
                .flat_map(|g| g.type_params().map(|p| &p.ident)),
        );
    }
    let scope = OutputScope {
        type_params: &type_params,
        bound_params: &bound_params,
        outer_seen: outer.is_some(),
    };
    if may_hide_a_lifetime(&sig.output, &scope) || names_async_trait(&awaited.base) {
        return None;
    }
    let args = Arguments::of(sig)?;
    let mut moved = Vec::new();
    let call_args = match &*awaited.base {
        Expr::MethodCall(call) if call.attrs.is_empty() => {
            if !args.is_borrowed_place(&call.receiver) {
                return None;
            }
            &call.args
        }
        Expr::Call(call) if call.attrs.is_empty() && matches!(&*call.func, Expr::Path(_)) => {
            &call.args
        }
        _ => return None,
    };
    if !call_args.iter().all(|arg| args.is_value(arg, &mut moved)) {
        return None;
    }
    args.by_value
        .iter()
        .all(|name| moved.contains(name))
        .then_some(&*awaited.base)
}

/// The method's arguments by name: those taken by reference and those taken by value.
struct Arguments<'s> {
    /// `self` when the receiver is `&self` or `&mut self`, and `&T` / `&mut T` arguments.
    by_reference: Vec<&'s syn::Ident>,
    /// Every other argument: each must move into the call.
    by_value: Vec<&'s syn::Ident>,
}

impl<'s> Arguments<'s> {
    /// `None` if an argument's pattern is more than a plain name (it may destructure, bind
    /// `mut` or `ref`, or drop parts) or carries attributes (`#[cfg]`).
    fn of(sig: &'s Signature) -> Option<Self> {
        let mut args = Arguments {
            by_reference: Vec::new(),
            by_value: Vec::new(),
        };
        for input in &sig.inputs {
            match input {
                FnArg::Receiver(receiver) => {
                    if !receiver.attrs.is_empty() {
                        return None;
                    }
                    // `self`, `self: Box<Self>`, `self: Arc<Self>` would be dropped early.
                    if receiver.reference.is_none() || receiver.colon_token.is_some() {
                        return None;
                    }
                    // `self` has no `Ident` of its own in the signature: the receiver is
                    // recognized by its keyword in `is_borrowed_place`.
                }
                FnArg::Typed(typed) => {
                    let Pat::Ident(pat) = &*typed.pat else {
                        return None;
                    };
                    if !typed.attrs.is_empty()
                        || pat.by_ref.is_some()
                        || pat.mutability.is_some()
                        || pat.subpat.is_some()
                    {
                        return None;
                    }
                    if matches!(&*typed.ty, Type::Reference(_)) {
                        args.by_reference.push(&pat.ident);
                    } else {
                        args.by_value.push(&pat.ident);
                    }
                }
            }
        }
        Some(args)
    }

    /// A place reached through a reference argument: `self` (a `&self` / `&mut self`
    /// receiver, checked in [`Arguments::of`]), a reference argument, their fields and
    /// derefs. No method's result: see the module docs.
    fn is_borrowed_place(&self, expr: &Expr) -> bool {
        match expr {
            Expr::Path(path) if path.attrs.is_empty() && path.qself.is_none() => {
                let Some(ident) = path.path.get_ident() else {
                    return false;
                };
                ident == "self" || self.by_reference.contains(&ident)
            }
            Expr::Field(field) => field.attrs.is_empty() && self.is_borrowed_place(&field.base),
            Expr::Paren(paren) => paren.attrs.is_empty() && self.is_borrowed_place(&paren.expr),
            Expr::Unary(unary) => {
                unary.attrs.is_empty()
                    && matches!(unary.op, UnOp::Deref(_))
                    && self.is_borrowed_place(&unary.expr)
            }
            _ => false,
        }
    }

    /// An argument (by value or by reference) or a place reached through a reference
    /// argument: something a method borrowing it leaves in place.
    fn is_place(&self, expr: &Expr) -> bool {
        match expr {
            Expr::Path(path)
                if path.attrs.is_empty()
                    && path.qself.is_none()
                    && path
                        .path
                        .get_ident()
                        .is_some_and(|ident| self.by_value.contains(&ident)) =>
            {
                true
            }
            Expr::Paren(paren) => paren.attrs.is_empty() && self.is_place(&paren.expr),
            _ => self.is_borrowed_place(expr),
        }
    }

    /// A value that borrows nothing new: see the module docs. Arguments moved by it are
    /// pushed onto `moved`.
    fn is_value<'e>(&self, expr: &'e Expr, moved: &mut Vec<&'e syn::Ident>) -> bool {
        match expr {
            Expr::Lit(lit) => lit.attrs.is_empty(),
            Expr::Path(path) if path.attrs.is_empty() => {
                if let Some(ident) = path.path.get_ident() {
                    moved.push(ident);
                }
                true
            }
            // A field of a borrowed place, copied (or the body would not compile).
            Expr::Field(field) => field.attrs.is_empty() && self.is_borrowed_place(&field.base),
            Expr::Paren(paren) => paren.attrs.is_empty() && self.is_value(&paren.expr, moved),
            Expr::Cast(cast) => cast.attrs.is_empty() && self.is_value(&cast.expr, moved),
            Expr::Unary(unary) => {
                unary.attrs.is_empty()
                    && match unary.op {
                        UnOp::Neg(_) | UnOp::Not(_) => self.is_value(&unary.expr, moved),
                        // A copy out of a reference argument.
                        UnOp::Deref(_) => self.is_borrowed_place(&unary.expr),
                        _ => false,
                    }
            }
            Expr::Binary(binary) => {
                // A comparison borrows its operands: they are not moved into the call. The
                // right side of `&&` / `||` may not run: what it would move may stay.
                let mut borrowed = Vec::new();
                let mut maybe_moved = Vec::new();
                let comparison = is_comparison(&binary.op);
                let short_circuit = matches!(binary.op, BinOp::And(_) | BinOp::Or(_));
                binary.attrs.is_empty()
                    && !is_assignment(&binary.op)
                    && self.is_value(
                        &binary.left,
                        if comparison {
                            &mut borrowed
                        } else {
                            &mut *moved
                        },
                    )
                    && self.is_value(
                        &binary.right,
                        if comparison {
                            &mut borrowed
                        } else if short_circuit {
                            &mut maybe_moved
                        } else {
                            moved
                        },
                    )
            }
            // Owned conversions. Only `into()` consumes its receiver, which may then be any
            // value; the others borrow theirs, which must be a place that outlives the
            // method (an argument, or reached through one), not a temporary (a constant's
            // value, an operator's result) that a frame would keep until the call completed.
            Expr::MethodCall(call) => {
                let method = call.method.to_string();
                call.attrs.is_empty()
                    && call.args.is_empty()
                    && call.turbofish.is_none()
                    && match method.as_str() {
                        "into" => self.is_value(&call.receiver, moved),
                        "clone" | "to_owned" | "to_string" => self.is_place(&call.receiver),
                        _ => false,
                    }
            }
            _ => false,
        }
    }
}

/// `==`, `<` and the other comparisons, which take their operands by reference.
fn is_comparison(op: &BinOp) -> bool {
    matches!(
        op,
        BinOp::Eq(_) | BinOp::Ne(_) | BinOp::Lt(_) | BinOp::Le(_) | BinOp::Gt(_) | BinOp::Ge(_)
    )
}

/// What the output check knows of the generics in scope.
struct OutputScope<'p> {
    /// The method's type parameters and those of the impl or trait around it, if seen.
    type_params: &'p [&'p syn::Ident],
    /// Those of them bound with an associated type (`N: Naming<Name = &'a str>`): a type
    /// alias of their projection (`type NameOf<N> = <N as Naming>::Name`) stands for the
    /// bound's type, lifetimes and all.
    bound_params: &'p [&'p syn::Ident],
    /// Whether the impl or trait around the method was seen: a method annotated alone does
    /// not see its impl's parameters, so `N::Name` there may be a projection too.
    outer_seen: bool,
}

/// The type parameters among `type_params` that some bound in `generics` binds an
/// associated type of (`N: Tr<Name = X>`, inline or in a `where` clause).
fn params_with_bound_associated_types<'g>(
    generics: impl Iterator<Item = &'g syn::Generics>,
    type_params: &[&'g syn::Ident],
) -> Vec<&'g syn::Ident> {
    fn binds_an_associated_type<'b>(
        mut bounds: impl Iterator<Item = &'b syn::TypeParamBound>,
    ) -> bool {
        bounds.any(|bound| {
            let syn::TypeParamBound::Trait(bound) = bound else {
                return false;
            };
            bound.path.segments.iter().any(|segment| {
                matches!(&segment.arguments, syn::PathArguments::AngleBracketed(args)
                    if args.args.iter().any(|arg| matches!(arg, syn::GenericArgument::AssocType(_))))
            })
        })
    }
    let mut bound = Vec::new();
    for generics in generics {
        for param in generics.type_params() {
            if binds_an_associated_type(param.bounds.iter()) {
                bound.push(&param.ident);
            }
        }
        for predicate in generics.where_clause.iter().flat_map(|w| &w.predicates) {
            let syn::WherePredicate::Type(predicate) = predicate else {
                continue;
            };
            let Type::Path(ty) = &predicate.bounded_ty else {
                continue;
            };
            if let Some(ident) = ty.path.get_ident() {
                if let Some(param) = type_params.iter().find(|param| **param == ident) {
                    if binds_an_associated_type(predicate.bounds.iter()) {
                        bound.push(param);
                    }
                }
            }
        }
    }
    bound
}

/// Whether a method's output names a lifetime or a reference (`&str`, `Cow<'_, str>`,
/// `Option<&'a T>`), or may hide one: `Self`, a qualified path (`<T as Tr>::Name`), an
/// associated type of a type parameter (`T::Name`; of any capitalized name when the impl's
/// parameters are not seen), a type parameter whose bound binds an associated type (which
/// an alias may project), or a macro.
fn may_hide_a_lifetime(output: &syn::ReturnType, scope: &OutputScope<'_>) -> bool {
    struct Finder<'s, 'p>(bool, &'s OutputScope<'p>);
    impl<'ast> syn::visit::Visit<'ast> for Finder<'_, '_> {
        fn visit_lifetime(&mut self, _: &'ast syn::Lifetime) {
            self.0 = true;
        }
        fn visit_type_reference(&mut self, _: &'ast syn::TypeReference) {
            self.0 = true;
        }
        fn visit_type_macro(&mut self, _: &'ast syn::TypeMacro) {
            self.0 = true;
        }
        fn visit_type_path(&mut self, path: &'ast syn::TypePath) {
            let segments = &path.path.segments;
            let first = &segments[0].ident;
            let of_a_parameter = segments.len() > 1
                && path.path.leading_colon.is_none()
                && (self.1.type_params.contains(&first)
                    || (!self.1.outer_seen
                        && first
                            .to_string()
                            .starts_with(|c: char| c.is_ascii_uppercase())));
            let bound = segments.len() == 1 && self.1.bound_params.contains(&first);
            if path.qself.is_some()
                || of_a_parameter
                || bound
                || segments.iter().any(|s| s.ident == "Self")
            {
                self.0 = true;
            }
            syn::visit::visit_type_path(self, path);
        }
    }
    let mut finder = Finder(false, scope);
    syn::visit::visit_return_type(&mut finder, output);
    finder.0
}

/// Whether the call names `'async_trait`, which the signature's rewrite renames in the body
/// (a frame's body is renamed; a forwarded call is copied before).
fn names_async_trait(call: &Expr) -> bool {
    struct Finder(bool);
    impl<'ast> syn::visit::Visit<'ast> for Finder {
        fn visit_lifetime(&mut self, lifetime: &'ast syn::Lifetime) {
            self.0 |= lifetime.ident == "async_trait";
        }
    }
    let mut finder = Finder(false);
    syn::visit::visit_expr(&mut finder, call);
    finder.0
}

/// `a += b` and the other compound assignments: no value to pass.
fn is_assignment(op: &BinOp) -> bool {
    matches!(
        op,
        BinOp::AddAssign(_)
            | BinOp::SubAssign(_)
            | BinOp::MulAssign(_)
            | BinOp::DivAssign(_)
            | BinOp::RemAssign(_)
            | BinOp::BitXorAssign(_)
            | BinOp::BitAndAssign(_)
            | BinOp::BitOrAssign(_)
            | BinOp::ShlAssign(_)
            | BinOp::ShrAssign(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::{parse_quote, ItemFn};

    fn forwards(item: ItemFn) -> bool {
        forwarded_call(&item.sig, &item.block, None, true).is_some()
    }

    #[test]
    fn a_method_result_as_the_receiver_is_awaited_in_a_frame() {
        // `Pin::as_ref` (inherent) returns a temporary the call would borrow.
        assert!(!forwards(parse_quote! {
            async fn get(&self, key: u64) -> u64 { self.inner.as_ref().get(key).await }
        }));
        assert!(!forwards(parse_quote! {
            async fn get(&self, key: u64) -> u64 { self.inner.deref().get(key).await }
        }));
    }

    #[test]
    fn plain_forwarding_bodies_forward() {
        assert!(forwards(parse_quote! {
            async fn get(&self, key: &str, o: Opts) -> Meta { self.0.get(key, o).await }
        }));
        assert!(forwards(parse_quote! {
            async fn get(&self, key: u64) -> u64 { (**self).get(key ^ 1).await }
        }));

        assert!(forwards(parse_quote! {
            async fn get(store: &dyn Store, key: &Key) -> u64 { store.get(key, None, 3).await }
        }));
        assert!(forwards(parse_quote! {
            async fn get(&self, key: Key) -> u64 { Self::lookup(self.limit, key).await }
        }));
    }

    #[test]
    fn outputs_that_may_hide_a_lifetime_keep_a_frame() {
        assert!(!forwards(parse_quote! {
            async fn get(&self) -> Self::Name { self.0.get().await }
        }));
        assert!(!forwards(parse_quote! {
            async fn get(&self) -> Vec<Self> { self.0.get().await }
        }));
        assert!(!forwards(parse_quote! {
            async fn get(&self) -> <T as Tr>::Name { self.0.get().await }
        }));
        assert!(!forwards(parse_quote! {
            async fn get<T: Tr>(&self) -> T::Name { self.0.get().await }
        }));
        assert!(forwards(parse_quote! {
            async fn get(&self) -> models::Record { self.0.get().await }
        }));
        assert!(!forwards(parse_quote! {
            async fn get(&self) -> u8 { self.0.get(PhantomData::<&'async_trait ()>).await }
        }));
    }

    fn forwards_in(item: ItemFn, outer: syn::Generics) -> bool {
        forwarded_call(&item.sig, &item.block, Some(&outer), true).is_some()
    }

    #[test]
    fn outputs_an_alias_or_a_macro_may_hide_a_lifetime_in_keep_a_frame() {
        // A parameter bound with an associated type, which an alias may project.
        let bound: syn::ItemImpl = parse_quote! {
            impl<'a, N: Naming<Name = &'a str>> Lookup<N> for Generic<'a, N> {}
        };
        assert!(!forwards_in(
            parse_quote! { async fn get(&self) -> NameOf<N> { self.0.get().await } },
            bound.generics,
        ));
        let in_where: syn::ItemImpl = parse_quote! {
            impl<'a, N> Lookup<N> for Generic<'a, N> where N: Naming<Name = &'a str> {}
        };
        assert!(!forwards_in(
            parse_quote! { async fn get(&self) -> Vec<N> { self.0.get().await } },
            in_where.generics,
        ));
        let unbound: syn::ItemImpl = parse_quote! {
            impl<'a, N: Naming, M> Lookup<N> for Generic<'a, N> where M: Clone {}
        };
        assert!(forwards_in(
            parse_quote! { async fn get(&self) -> Vec<N> { self.0.get().await } },
            unbound.generics,
        ));
        assert!(!forwards(parse_quote! {
            async fn get(&self) -> str_of!('a) { self.0.get().await }
        }));
        // Deferred, a method sees its impl's parameters by name only.
        let names: syn::ItemImpl = parse_quote! {
            impl<'a, N> Lookup<N> for Generic<'a, N> {}
        };
        let item: ItemFn = parse_quote! { async fn get(&self) -> NameOf<N> { self.0.get().await } };
        assert!(forwarded_call(&item.sig, &item.block, Some(&names.generics), true).is_some());
        assert!(forwarded_call(&item.sig, &item.block, Some(&names.generics), false).is_none());
        // Alone, a method does not see its impl's parameters: `N::Name` may be a projection.
        assert!(!forwards(parse_quote! {
            async fn get(&self) -> N::Name { self.0.get().await }
        }));
        let seen: syn::ItemImpl = parse_quote! { impl Lookup for Plain {} };
        assert!(forwards_in(
            parse_quote! { async fn get(&self) -> Record::Id { self.0.get().await } },
            seen.generics,
        ));
    }

    #[test]
    fn temporaries_and_arguments_a_short_circuit_may_not_move_keep_a_frame() {
        assert!(!forwards(parse_quote! {
            async fn get(&self, fast: bool, t: Ticket) -> u64 { self.0.get(fast || t.into()).await }
        }));
        assert!(!forwards(parse_quote! {
            async fn get(&self, fast: bool, t: Ticket) -> u64 { self.0.get(fast && t.into()).await }
        }));
        assert!(forwards(parse_quote! {
            async fn get(&self, fast: bool, t: Ticket) -> u64 { self.0.get(t.into() || fast, fast).await }
        }));
        assert!(forwards(parse_quote! {
            async fn get(&self, fast: bool, slow: bool) -> u64 { self.0.get(fast || slow, slow).await }
        }));
        assert!(!forwards(parse_quote! {
            async fn get(&self) -> u64 { self.0.get(DEFAULTS.clone()).await }
        }));
        assert!(!forwards(parse_quote! {
            async fn get(&self, key: u64) -> u64 { self.0.get((key ^ 1).to_string()).await }
        }));
        assert!(forwards(parse_quote! {
            async fn get(&self, key: &str) -> u64 { self.0.get(key.to_owned(), self.limit.clone()).await }
        }));
        assert!(forwards(parse_quote! {
            async fn get(&self, key: u64) -> u64 { self.0.get(key.into(), (key ^ 1).into()).await }
        }));
    }

    #[test]
    fn arguments_built_from_arguments_forward() {
        assert!(forwards(parse_quote! {
            async fn get(&self, key: u64, flag: bool) -> u64 { self.0.get(key as u32, -key, !flag).await }
        }));
        assert!(forwards(parse_quote! {
            async fn get(&self, key: &u64) -> u64 { self.0.get(*key).await }
        }));
        assert!(forwards(parse_quote! {
            async fn get(&self, key: String) -> u64 { self.0.get((key).clone(), key).await }
        }));
        assert!(forwards(parse_quote! {
            async fn get(&self, key: String) -> u64 { (*self.0).get(key).await }
        }));
    }

    #[test]
    fn receivers_calls_and_arguments_that_are_not_plain_keep_a_frame() {
        // A call of something other than a path, a temporary receiver.
        assert!(!forwards(parse_quote! {
            async fn get(&self, key: u64) -> u64 { (self.make)(key).await }
        }));
        assert!(!forwards(parse_quote! {
            async fn get(&self, key: u64) -> u64 { (!self.flag).get(key).await }
        }));
        // A place reached through a temporary; a temporary built from one.
        assert!(!forwards(parse_quote! {
            async fn get(&self, key: u64) -> u64 { self.client().inner.get(key).await }
        }));
        assert!(!forwards(parse_quote! {
            async fn get(&self, key: u64) -> u64 { self.0.get(key, self.client().limit).await }
        }));
        assert!(!forwards(parse_quote! {
            async fn get(&self, key: u64) -> u64 { self.0.get(key, (&self.limit)).await }
        }));
        assert!(!forwards(parse_quote! {
            async fn get(&self, key: u64) -> u64 { self.0.get(key, &self.limit as &dyn Any).await }
        }));
        assert!(!forwards(parse_quote! {
            async fn get(&self, key: u64) -> u64 { self.0.get(key, (self.limit()).clone()).await }
        }));
        // A receiver taken by value or typed, patterns that bind by reference or match.
        assert!(!forwards(parse_quote! {
            async fn get(self, key: u64) -> u64 { self.0.get(key).await }
        }));
        assert!(!forwards(parse_quote! {
            async fn get(self: &Self, key: u64) -> u64 { self.0.get(key).await }
        }));
        assert!(!forwards(parse_quote! {
            async fn get(&self, ref key: u64) -> u64 { self.0.get(key).await }
        }));
        assert!(!forwards(parse_quote! {
            async fn get(&self, key @ Key(_): Key) -> u64 { self.0.get(key).await }
        }));
        // Compared (borrowed), assigned, or combined with a call the check does not know.
        assert!(!forwards(parse_quote! {
            async fn get(&self, a: Key, b: Key) -> u64 { self.0.get(a == b).await }
        }));
        assert!(!forwards(parse_quote! {
            async fn get(&self, key: u64) -> u64 { self.0.get(key += 1).await }
        }));
        assert!(!forwards(parse_quote! {
            async fn get(&self, key: u64) -> u64 { self.0.get(key + self.offset()).await }
        }));
    }

    #[test]
    fn outputs_naming_a_lifetime_or_a_reference_keep_a_frame() {
        assert!(!forwards(parse_quote! {
            async fn get(&self) -> &str { self.0.get().await }
        }));
        assert!(!forwards(parse_quote! {
            async fn get(&self) -> Cow<'static, str> { self.0.get().await }
        }));
    }

    #[test]
    fn bodies_that_need_their_frame_do_not() {
        // A by-value argument the call does not take: the frame would drop it later.
        assert!(!forwards(parse_quote! {
            async fn get(&self, key: u64, guard: Guard) -> u64 { self.0.get(key).await }
        }));
        assert!(!forwards(parse_quote! {
            async fn get(&self, key: String) -> u64 { self.0.get(key.clone()).await }
        }));
        // Borrows of locals or temporaries.
        assert!(!forwards(parse_quote! {
            async fn get(&self, key: String) -> u64 { self.0.get(&key).await }
        }));
        assert!(!forwards(parse_quote! {
            async fn get(&self, key: &str) -> u64 { self.0.get(&format!("a/{key}")).await }
        }));
        assert!(!forwards(parse_quote! {
            async fn get(&self, key: &str) -> u64 { self.client().get(key).await }
        }));
        // A receiver the frame would hold.
        assert!(!forwards(parse_quote! {
            async fn get(self: Arc<Self>, key: u64) -> u64 { self.0.get(key).await }
        }));
        // More than the awaited call, or something done with its output.
        assert!(!forwards(parse_quote! {
            async fn get(&self, key: u64) -> u64 { let k = key + 1; self.0.get(k).await }
        }));
        assert!(!forwards(parse_quote! {
            async fn get(&self, key: u64) -> u64 { self.0.get(key).await + 1 }
        }));
        assert!(!forwards(parse_quote! {
            async fn get(&self, key: u64) -> u64 { self.0.get(key).await; }
        }));
        // Patterns that are more than a name.
        assert!(!forwards(parse_quote! {
            async fn get(&self, (a, b): (u64, u64)) -> u64 { self.0.get(a, b).await }
        }));
        assert!(!forwards(parse_quote! {
            async fn get(&self, mut key: u64) -> u64 { self.0.get(key).await }
        }));
    }
}
