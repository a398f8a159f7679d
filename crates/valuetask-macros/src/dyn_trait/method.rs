//! One method of a trait under `#[dyn_trait]`: what its `dyn` form returns, and the
//! signatures of the generated impls.
//!
//! - A method that returns a future (`async fn`, `fn -> impl Future<Output = T> (+ Send)`)
//!   returns a value task through the `dyn` form: `ValueTask` when the trait asks for a `Send`
//!   future, else `LocalValueTask` (an implementor's `async fn` future need not be `Send`).
//! - A method that returns another `impl Trait` (`impl Display`, `impl Iterator<Item = T>`)
//!   returns `Box<dyn Trait>`, as dynosaur's does: no value task can stand for it.
//! - Any other method is forwarded as it is; a `where Self: Sized` method is not part of the
//!   `dyn` form at all.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{
    parse_quote, FnArg, GenericParam, Lifetime, Pat, ReturnType, Signature, Token, TraitItemFn,
    Type, TypeParamBound,
};

use crate::expand::Place;
use crate::lifetimes::{
    fresh_lifetime, ArgumentLifetimes, ElidedLifetimes, NameOutputElisions, UsedNames,
};
use crate::options::Options;
use crate::signature::rewrite_signature;

/// What a method returns, for its `dyn` form.
#[allow(clippy::large_enum_variant)] // one a method, at expansion time
pub(crate) enum Kind {
    /// `where Self: Sized`: not callable through the `dyn` form.
    SizedOnly,
    /// A future of `output`, `Send` if the trait asks, `Sync` if it asks (the `dyn` form
    /// then wraps its value task in `macro_support::SyncFuture`), outliving what `outlives`
    /// says (`-> impl Future<Output = T> + 'static`, a future that borrows nothing of the
    /// call: its value task is of that lifetime, not of the arguments').
    Future {
        output: Type,
        send: bool,
        sync: bool,
        outlives: OutputBound,
    },
    /// Another `impl Trait`: boxed as `dyn` of these bounds (lifetimes left out), outliving
    /// what `outlives` says.
    Boxed {
        bounds: Punctuated<TypeParamBound, Token![+]>,
        outlives: OutputBound,
    },
    /// Anything else: forwarded.
    Plain,
}

/// How the receiver takes `Self`: the bridges forward `&self`, `&mut self` and (for `Box<T>`)
/// `self: Box<Self>`; the `dyn` form passes each on to its trait object.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Receiver {
    Ref,
    Mut,
    Boxed,
    Arc,
    Rc,
    PinMut,
    PinRef,
}

impl Receiver {
    /// The `dyn` form's `self` as its trait object, taken as this receiver takes it: the
    /// field borrowed, or the pointer to it (the form is `repr(transparent)` over the object),
    /// at the macro's span.
    pub(crate) fn object(self) -> TokenStream {
        match self {
            Receiver::Ref => quote!(&self.object),
            Receiver::Mut => quote!(&mut self.object),
            // SAFETY (of the expansion): `repr(transparent)`: the same allocation and layout.
            Receiver::Boxed => quote!(unsafe {
                ::std::boxed::Box::from_raw(&raw mut (*::std::boxed::Box::into_raw(self)).object)
            }),
            // SAFETY (of the expansion): as for a box, with the count `into_raw` hands over.
            Receiver::Arc => quote!(unsafe {
                ::std::sync::Arc::from_raw(&raw const (*::std::sync::Arc::into_raw(self)).object)
            }),
            // SAFETY (of the expansion): as for an `Arc`.
            Receiver::Rc => quote!(unsafe {
                ::std::rc::Rc::from_raw(&raw const (*::std::rc::Rc::into_raw(self)).object)
            }),
            // SAFETY (of the expansion): the object is the whole of the pinned form, never
            // moved out of it, and the form is neither `Unpin` nor `Drop` by hand (`pin_guards`).
            Receiver::PinMut => quote!(unsafe {
                ::core::pin::Pin::map_unchecked_mut(self, |form| &mut form.object)
            }),
            // SAFETY (of the expansion): as for `Pin<&mut Self>`.
            Receiver::PinRef => {
                quote!(unsafe { ::core::pin::Pin::map_unchecked(self, |form| &form.object) })
            }
        }
    }
}

pub(crate) struct Method {
    pub(crate) item: TraitItemFn,
    pub(crate) kind: Kind,
    /// `None` only for a `where Self: Sized` method (any other has a receiver the `dyn`
    /// form can take).
    pub(crate) receiver: Option<Receiver>,
}

impl Method {
    pub(crate) fn new(item: &TraitItemFn, dyn_name: &syn::Ident) -> syn::Result<Self> {
        let sig = &item.sig;
        if sized_only(sig) {
            return Ok(Method {
                item: item.clone(),
                kind: Kind::SizedOnly,
                receiver: None,
            });
        }
        let name = &sig.ident;
        let add_sized = |what: &str, span: Span| {
            syn::Error::new(
                span,
                format!(
                    "#[dyn_trait]: `{name}` {what}, so it cannot be called through `{dyn_name}`: \
                     add `where Self: Sized` to leave it out of the `dyn` form"
                ),
            )
        };
        let receiver = match sig.receiver() {
            None => return Err(add_sized("has no `self`", sig.ident.span())),
            Some(r) if r.reference.is_none() && is_self(&r.ty) => {
                return Err(add_sized("takes `self` by value", r.span()))
            }
            Some(r) => match receiver_of(&r.ty) {
                Some(receiver) => receiver,
                None => {
                    return Err(syn::Error::new(
                        r.ty.span(),
                        format!(
                            "#[dyn_trait]: `{name}`'s receiver cannot be passed through \
                             `{dyn_name}`: take `&self`, `&mut self`, `self: Box<Self>`, \
                             `Rc<Self>`, `Arc<Self>`, `Pin<&Self>` or `Pin<&mut Self>`, or add \
                             `where Self: Sized`"
                        ),
                    ))
                }
            },
        };
        for param in &sig.generics.params {
            if !matches!(param, GenericParam::Lifetime(_)) {
                return Err(add_sized("is generic", param.span()));
            }
        }
        for arg in &sig.inputs {
            if let FnArg::Typed(t) = arg {
                // A bare `impl Trait` by value goes through the `dyn` form boxed (as with
                // dynosaur: `Box<dyn Trait>` must implement `Trait`); anywhere else it cannot.
                let nested = match &*t.ty {
                    Type::ImplTrait(it) => it.bounds.iter().any(contains_impl_trait_bound),
                    other => contains_impl_trait(other),
                };
                if nested {
                    return Err(add_sized(
                        "takes an `impl Trait` inside another type",
                        t.ty.span(),
                    ));
                }
            }
        }
        let output_type = match &sig.output {
            ReturnType::Type(_, ty) => Some(&**ty),
            ReturnType::Default => None,
        };
        let argument_types = sig.inputs.iter().filter_map(|arg| match arg {
            FnArg::Typed(t) => Some(&*t.ty),
            FnArg::Receiver(_) => None,
        });
        // `Self` itself (not `Self::Assoc`) in an argument or the output names the
        // implementor's type, which the `dyn` form erases.
        for ty in argument_types.chain(output_type) {
            match bare_self(ty) {
                Some(SelfUse::Itself(span)) => {
                    return Err(add_sized("names `Self` outside its receiver", span))
                }
                Some(SelfUse::Qualified(span)) => {
                    return Err(syn::Error::new(
                        span,
                        format!(
                            "#[dyn_trait]: `{name}` names an associated type as `<Self as ..>::X` \
                             or `<Self>::X`: write `Self::X`"
                        ),
                    ))
                }
                None => {}
            }
        }
        if let Some(c) = &sig.constness {
            return Err(syn::Error::new(
                c.span,
                format!("#[dyn_trait]: `{name}` is `const`, which no trait method can be"),
            ));
        }
        let future_of_impl_trait = |output: &Type| {
            contains_impl_trait(output).then(|| {
                syn::Error::new(
                    output.span(),
                    format!(
                        "#[dyn_trait]: `{name}`'s future yields an `impl Trait`, which its `dyn` \
                         form cannot box: name the output's type, or add `where Self: Sized`"
                    ),
                )
            })
        };
        let kind = if sig.asyncness.is_some() {
            if let ReturnType::Type(_, ty) = &sig.output {
                if let Some(error) = future_of_impl_trait(ty) {
                    return Err(error);
                }
            }
            Kind::Future {
                output: match &sig.output {
                    ReturnType::Default => parse_quote!(()),
                    ReturnType::Type(_, ty) => (**ty).clone(),
                },
                send: false,
                sync: false,
                outlives: OutputBound::None,
            }
        } else {
            match &sig.output {
                ReturnType::Type(_, ty) => match &**ty {
                    Type::ImplTrait(it) => match future_output(&it.bounds) {
                        Some(output) if contains_impl_trait(&output) => {
                            return Err(future_of_impl_trait(&output).expect("it contains one"));
                        }
                        _ if leaves_out_an_input_lifetime(sig, &it.bounds) => {
                            return Err(syn::Error::new(
                                ty.span(),
                                format!(
                                    "#[dyn_trait]: `{name}`'s `use<..>` leaves out a lifetime of \
                                     its arguments (the receiver's included), which what its \
                                     `dyn` form returns borrows: name the lifetime and list it \
                                     (`fn {name}<'a>(&'a self) -> impl Trait + use<'a, Self>`), \
                                     remove `use<..>`, or add `where Self: Sized`"
                                ),
                            ));
                        }
                        Some(output) => Kind::Future {
                            output,
                            send: it.bounds.iter().any(|b| is_auto(b, "Send")),
                            sync: it.bounds.iter().any(|b| is_auto(b, "Sync")),
                            outlives: OutputBound::of(&it.bounds),
                        },
                        None => {
                            if it.bounds.iter().any(contains_impl_trait_bound) {
                                return Err(syn::Error::new(
                                    ty.span(),
                                    format!(
                                        "#[dyn_trait]: `{name}` returns a nested `impl Trait`, \
                                         which its `dyn` form cannot box: name the inner type, \
                                         or add `where Self: Sized`"
                                    ),
                                ));
                            }
                            Kind::Boxed {
                                bounds: it
                                    .bounds
                                    .iter()
                                    .filter(|b| {
                                        !matches!(b, TypeParamBound::Lifetime(_))
                                            && !is_precise_capture(b)
                                    })
                                    .cloned()
                                    .collect(),
                                outlives: OutputBound::of(&it.bounds),
                            }
                        }
                    },
                    other if contains_impl_trait(other) => {
                        return Err(syn::Error::new(
                            other.span(),
                            format!(
                                "#[dyn_trait]: `{name}` returns an `impl Trait` inside another \
                                 type, which its `dyn` form cannot box: return `impl Trait` \
                                 itself, or add `where Self: Sized`"
                            ),
                        ))
                    }
                    _ => Kind::Plain,
                },
                ReturnType::Default => Kind::Plain,
            }
        };
        Ok(Method {
            item: item.clone(),
            kind,
            receiver: Some(receiver),
        })
    }

    /// The arguments the `dyn` form passes to the erased method: `names`, each `impl Trait`
    /// one boxed.
    pub(crate) fn boxed_arguments(&self, names: &[ArgName]) -> Vec<TokenStream> {
        let typed = self.item.sig.inputs.iter().filter_map(|arg| match arg {
            FnArg::Typed(t) => Some(t),
            FnArg::Receiver(_) => None,
        });
        typed
            .zip(names)
            .map(|(t, name)| {
                let (cfgs, ident) = (&name.cfgs, &name.ident);
                match &*t.ty {
                    Type::ImplTrait(it) if future_output(&it.bounds).is_some() => {
                        quote!(#(#cfgs)* ::std::boxed::Box::pin(#ident))
                    }
                    Type::ImplTrait(_) => quote!(#(#cfgs)* ::std::boxed::Box::new(#ident)),
                    _ => quote!(#name),
                }
            })
            .collect()
    }

    /// The attributes every generated copy of the method carries (the erased trait's, the
    /// blanket impl's, the `dyn` form's, the bridges'): its `cfg`s, and its lint allowances
    /// (`lint_attrs::allowances`), as the copies' names and signatures come from the user's
    /// and raise the same lints (`non_snake_case` on a method named `GetObject`).
    pub(crate) fn carried_attrs(&self) -> Vec<TokenStream> {
        let mut carried: Vec<TokenStream> = self.cfgs().into_iter().map(|a| quote!(#a)).collect();
        carried.extend(crate::lint_attrs::allowances(&self.item.attrs));
        carried
    }

    /// The `#[cfg]` attributes of the method, for every generated copy of it.
    pub(crate) fn cfgs(&self) -> Vec<&syn::Attribute> {
        self.item
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("cfg"))
            .collect()
    }

    /// The method's signature with every argument pattern named `__argN` (the generated
    /// bodies pass them on), and the names.
    pub(crate) fn named_arguments(&self) -> (Signature, Vec<ArgName>) {
        let mut sig = self.item.sig.clone();
        let mut names = Vec::new();
        for (i, arg) in sig.inputs.iter_mut().enumerate() {
            // `mut self` is the body's business: in the erased trait's declaration it would be
            // a pattern in a function without a body (denied), elsewhere an unused `mut`.
            // (In `&mut self` the `mut` is the reference's: kept.)
            if let FnArg::Receiver(r) = arg {
                if r.reference.is_none() {
                    r.mutability = None;
                }
            }
            if let FnArg::Typed(t) = arg {
                let ident = format_ident!("__arg{}", i, span = Span::mixed_site());
                t.attrs.retain(|a| a.path().is_ident("cfg"));
                *t.pat = Pat::Ident(syn::PatIdent {
                    attrs: Vec::new(),
                    by_ref: None,
                    mutability: None,
                    ident: ident.clone(),
                    subpat: None,
                });
                names.push(ArgName {
                    cfgs: t.attrs.clone(),
                    ident,
                });
            }
        }
        (sig, names)
    }

    /// What the trait says the output outlives, for an `impl Trait` output.
    fn outlives(&self) -> Option<&OutputBound> {
        match &self.kind {
            Kind::Future { outlives, .. } | Kind::Boxed { outlives, .. } => Some(outlives),
            Kind::Plain | Kind::SizedOnly => None,
        }
    }

    /// The signature in the erased trait (and its blanket impl), named by [`erased_name`]: a
    /// value task, a box, or the method's own output; with the names of its arguments.
    pub(crate) fn erased_signature(
        &self,
        options: &Options,
        trait_generics: &syn::Generics,
    ) -> (Signature, Vec<ArgName>) {
        let (mut sig, names) = self.named_arguments();
        sig.ident = erased_name(&sig.ident);
        let (output, local, boxed) = match &self.kind {
            // `?Send` cannot make a future the trait requires `Send` local.
            Kind::Future { output, send, .. } => (output.clone(), !send, None),
            Kind::Boxed { bounds, .. } => (parse_quote!(()), true, Some(bounds.clone())),
            Kind::Plain | Kind::SizedOnly => {
                if impl_trait_arguments(&sig).next().is_some() {
                    name_output_elision(&mut sig);
                }
                box_impl_arguments(&mut sig, None);
                return (sig, names);
            }
        };
        sig.asyncness = Some(Token![async](sig.fn_token.span));
        sig.output = parse_quote!(-> #output);
        let method_options = Options {
            local,
            ..options.clone()
        };
        rewrite_signature(
            &mut sig,
            None,
            &method_options,
            Place::Trait { is_default: false },
            true,
            Some(trait_generics),
        );
        let output_lt = output_lifetime(&sig);
        // The implementor's future captures every parameter of the trait, used in the
        // arguments or not: each must outlive the value task.
        let mut used = UsedNames::default();
        for arg in &sig.inputs {
            match arg {
                FnArg::Receiver(r) => syn::visit::visit_type(&mut used, &r.ty),
                FnArg::Typed(t) => syn::visit::visit_type(&mut used, &t.ty),
            }
        }
        let mut bounds: Vec<syn::WherePredicate> = Vec::new();
        for param in &trait_generics.params {
            match param {
                GenericParam::Lifetime(l) if !used.lifetimes.contains(&l.lifetime.ident) => {
                    let l = &l.lifetime;
                    bounds.push(parse_quote!(#l: #output_lt));
                }
                GenericParam::Type(t) if !used.idents.contains(&t.ident) => {
                    let t = &t.ident;
                    bounds.push(parse_quote!(#t: #output_lt));
                }
                _ => {}
            }
        }
        sig.generics.make_where_clause().predicates.extend(bounds);
        // The output outlives what the trait says it does (the implementor's does, so the
        // blanket impl meets it), and the erased signature says so too: the `dyn` form's
        // `impl Trait` promises it to its caller, and any impl of the erased trait, the
        // blanket one or another, must keep that promise.
        let outlives = self.outlives().and_then(|o| o.carried(&sig));
        if let Some(bounds) = boxed {
            let span = sig.output.span();
            let lt = outlives.as_ref().unwrap_or(&output_lt);
            sig.output = parse_quote_spanned_output(span, &bounds, lt);
        } else if let Some(outlives) = &outlives {
            // The value task is of that lifetime, whatever the call borrowed.
            set_output_lifetime(&mut sig, outlives);
        }
        box_impl_arguments(&mut sig, Some(&output_lt));
        (sig, names)
    }

    /// The signature of the trait's method for an impl of the trait (the `dyn` form's, a
    /// bridge's), as tokens: desugared (`async fn f() -> T` is
    /// `fn f() -> impl Future<Output = T>`, elided lifetimes left elided), with the names of
    /// its arguments and how many lifetimes they borrow for ([`ImplSignature::borrows`]).
    /// `captured`: the impl's own parameters.
    pub(crate) fn impl_signature(&self, captured: &[TokenStream]) -> ImplSignature {
        let (mut sig, names) = self.named_arguments();
        let asyncness = sig.asyncness.take();
        if let Some(asyncness) = &asyncness {
            sig.fn_token.span = asyncness.span;
        }
        let output = match std::mem::replace(&mut sig.output, ReturnType::Default) {
            ReturnType::Default => None,
            ReturnType::Type(_, ty) => Some(*ty),
        };
        let returns_impl = asyncness.is_some() || matches!(output, Some(Type::ImplTrait(_)));
        if !returns_impl {
            let where_clause = sig.generics.where_clause.take();
            let output = output.map(|ty| quote!(-> #ty));
            return ImplSignature {
                tokens: quote!(#sig #output #where_clause),
                names,
                borrows: 0,
            };
        }
        let borrows = borrows(&sig, captured);
        let output = output.unwrap_or_else(|| parse_quote!(()));
        // No `use<..>`: an `impl Trait` in a trait impl captures every parameter in scope,
        // lifetimes included, as the trait's does (and Rust 1.85 does not take `use<..>`
        // there); a trait's own `use<..>` (Rust 1.87) would have to name the impl's
        // parameters too, so it is left out.
        let bounds = match (&asyncness, output) {
            (Some(_), output) => quote!(::core::future::Future<Output = #output>),
            (None, Type::ImplTrait(it)) => {
                let bounds = it.bounds.iter().filter(|b| !is_precise_capture(b));
                quote!(#(#bounds)+*)
            }
            (None, _) => unreachable!("returns_impl"),
        };
        let where_clause = sig.generics.where_clause.take();
        ImplSignature {
            tokens: quote!(#sig -> impl #bounds #where_clause),
            names,
            borrows,
        }
    }

    /// The body of the `dyn` form's method: `call`, the erased method's, returned as it is;
    /// with two or more borrowed lifetimes ([`ImplSignature::borrows`]), with its lifetime
    /// unnamed (`macro_support::Unbound`, for a future only), in an `unsafe` block at the
    /// macro's span: rustc's `unsafe_code` lint is not reported in another
    /// crate's macro, so a crate that forbids it can use the attribute (an `allow` of it would
    /// be an error there). A future the trait declares `Sync` is returned in `macro_support::SyncFuture`: a
    /// value task is not `Sync`, and a future is only ever polled through `&mut`.
    pub(crate) fn dyn_body(
        &self,
        call: TokenStream,
        borrows: usize,
        options: &Options,
    ) -> TokenStream {
        let body = self.dyn_value(call, borrows, options);
        match &self.kind {
            Kind::Future { sync: true, .. } => {
                let span = self.item.sig.ident.span();
                let support = options.macro_support(span);
                quote_spanned!(span=> #support::SyncFuture::new(#body))
            }
            _ => body,
        }
    }

    /// [`dyn_body`](Self::dyn_body) before a `Sync` future is wrapped.
    fn dyn_value(&self, call: TokenStream, borrows: usize, options: &Options) -> TokenStream {
        if borrows < 2 {
            return call;
        }
        let span = self.item.sig.ident.span();
        match self.outlives() {
            // The erased output is of that lifetime already (`erased_signature`): the
            // `impl Trait` can name it.
            Some(OutputBound::Named(_)) => return call,
            Some(OutputBound::Elided) if elision_target(&self.item.sig).is_some() => return call,
            Some(OutputBound::Several) => {
                let name = &self.item.sig.ident;
                let error = syn::Error::new(
                    span,
                    format!(
                        "#[dyn_trait]: `{name}` returns an `impl Trait` that outlives two \
                         lifetimes and borrows for two: its `dyn` form cannot state that \
                         bound; keep one lifetime bound, or add `where Self: Sized`"
                    ),
                );
                return error.to_compile_error();
            }
            Some(OutputBound::None | OutputBound::Elided) | None => {}
        }
        let name = &self.item.sig.ident;
        // The erasure below hands back a type with no lifetime (`Unbound`) as the hidden type
        // of an `impl Trait` capturing every borrow. What the opaque type outlives stays
        // bounded, but which impls of its traits it meets does not: one written for the
        // `'static` type only applies (`impl Items for Box<dyn Items + 'static>`, when a box
        // of `dyn .. + 'static` stood for a boxed `impl Trait`), and a method of it can keep
        // the value past the borrows. So only traits no user can implement for that type are
        // allowed: `Future`, `Send`, `Sync` and `Unpin` (foreign traits of valuetask's type,
        // `Sync` met by `SyncFuture`'s impl for every type); a boxed
        // `impl Trait`, whose box any user trait may be implemented for, is refused.
        let refuse = |what: &str| {
            let error = syn::Error::new(
                span,
                format!(
                    "#[dyn_trait]: `{name}` returns {what} borrowing for two lifetimes with no \
                     lifetime bound, which its `dyn` form can only return with the borrows' \
                     lifetime erased, where an impl of the trait for the `'static` type could \
                     keep it past them: add a lifetime bound all its borrows outlive \
                     (`fn {name}<'a>(&'a self, key: &'a str) -> impl .. + 'a`), or add `where \
                     Self: Sized`"
                ),
            );
            error.to_compile_error()
        };
        if let Some(extra) = self.future_bound_beyond_auto_traits() {
            return refuse(&format!("a future that is also `{extra}`"));
        }
        if matches!(self.kind, Kind::Boxed { .. }) {
            return refuse("an `impl Trait` other than a future");
        }
        let support = options.macro_support(span);
        match &self.kind {
            Kind::Future { send, .. } => {
                let unbound = if !send {
                    quote_spanned!(span=> UnboundLocal)
                } else {
                    quote_spanned!(span=> Unbound)
                };
                let checks = self.core_bound_checks();
                quote!({
                    #checks
                    // SAFETY (of the expansion): returned as the hidden type of an `impl
                    // Future` capturing every argument lifetime, with std's traits only.
                    unsafe { #support::#unbound::new(#call) }
                })
            }
            // A boxed `impl Trait` was refused above.
            Kind::Boxed { .. } | Kind::Plain | Kind::SizedOnly => call,
        }
    }

    /// For each trait bound of a `-> impl Future` output (`Future`, `Send`, `Sync` or
    /// `Unpin` by name, [`future_bound_beyond_auto_traits`](Self::future_bound_beyond_auto_traits)),
    /// items that compile only if every type with the standard library's trait of that name
    /// has the bound's trait: a name is not proof (a user's `trait Unpin` in scope, or
    /// `m::Sync`, would be met by an impl for the lifetime-less `Unbound` type, which could
    /// keep it past the borrows); a trait implemented for every `Unpin` type, generically,
    /// cannot keep one. Generic over nothing of the method's (a `Future`'s `Output` is
    /// checked as `()`), so they compile in any scope.
    fn core_bound_checks(&self) -> TokenStream {
        let ReturnType::Type(_, ty) = &self.item.sig.output else {
            return quote!();
        };
        let Type::ImplTrait(it) = &**ty else {
            return quote!();
        };
        if self.item.sig.asyncness.is_some() {
            return quote!();
        }
        let needs = syn::Ident::new("__dyn_trait_needs", Span::mixed_site());
        let check = syn::Ident::new("__dyn_trait_check", Span::mixed_site());
        let param = syn::Ident::new("__DynTraitBound", Span::mixed_site());
        let checks = it.bounds.iter().filter_map(|bound| {
            let TypeParamBound::Trait(t) = bound else {
                return None;
            };
            let mut path = t.path.clone();
            let last = path.segments.last_mut()?;
            let core = match last.ident.to_string().as_str() {
                "Future" => {
                    last.arguments =
                        syn::PathArguments::AngleBracketed(parse_quote!(<Output = ()>));
                    quote!(::core::future::Future<Output = ()>)
                }
                "Send" => quote!(::core::marker::Send),
                "Sync" => quote!(::core::marker::Sync),
                "Unpin" => quote!(::core::marker::Unpin),
                _ => return None,
            };
            Some(quote! {
                const _: () = {
                    fn #needs<#param: ?::core::marker::Sized + #path>() {}
                    fn #check<#param: ?::core::marker::Sized + #core>() {
                        #needs::<#param>();
                    }
                };
            })
        });
        quote!(#(#checks)*)
    }

    /// A trait bound of a `-> impl Future` output other than `Future`, `Send`, `Sync` and
    /// `Unpin` (by name), as written; `None` for an `async fn`.
    fn future_bound_beyond_auto_traits(&self) -> Option<String> {
        let ReturnType::Type(_, ty) = &self.item.sig.output else {
            return None;
        };
        let Type::ImplTrait(it) = &**ty else {
            return None;
        };
        if self.item.sig.asyncness.is_some() || !matches!(self.kind, Kind::Future { .. }) {
            return None;
        }
        it.bounds.iter().find_map(|bound| match bound {
            TypeParamBound::Trait(t) => {
                let last = t.path.segments.last()?;
                let allowed = ["Future", "Send", "Sync", "Unpin"];
                (!allowed.iter().any(|a| last.ident == a))
                    .then(|| quote::ToTokens::to_token_stream(&t.path).to_string())
            }
            _ => None,
        })
    }

    /// The value the blanket impl's method returns: the implementor's call, kept as the
    /// erased signature asks (started in a pooled block, boxed, or as it is).
    pub(crate) fn erased_body(
        &self,
        call: TokenStream,
        options: &Options,
        site: &str,
    ) -> TokenStream {
        let span = self.item.sig.ident.span();
        let support = options.macro_support(span);
        let krate = options.krate(span);
        match &self.kind {
            Kind::Future { send, .. } => {
                let local = !send;
                let task = if local {
                    quote_spanned!(span=> #krate::LocalValueTask)
                } else {
                    quote_spanned!(span=> #krate::ValueTask)
                };
                let started = if options.boxed {
                    quote_spanned!(span=> #task::boxed(#call))
                } else if options.lazy {
                    return quote_spanned!(span=> #task::new(#call));
                } else if local {
                    quote_spanned!(span=> #support::start_local(move || #call))
                } else {
                    quote_spanned!(span=> #support::start(move || #call))
                };
                quote!(#support::count!(#site, #started))
            }
            Kind::Boxed { .. } => quote_spanned!(span=> ::std::boxed::Box::new(#call)),
            Kind::Plain | Kind::SizedOnly => call,
        }
    }
}

/// How many lifetimes `sig`'s arguments borrow for: its elided ones named (on a copy: the
/// signature keeps them elided, as clippy's `needless_lifetimes` wants), `'static` not
/// counted, an `impl Trait` argument counted as one of its own. `captured`: the impl's
/// parameters, whose lifetimes the names skip.
fn borrows(sig: &Signature, captured: &[TokenStream]) -> usize {
    let mut sig = sig.clone();
    let taken: Vec<syn::Ident> = sig
        .generics
        .lifetimes()
        .map(|l| l.lifetime.ident.clone())
        .chain(captured.iter().filter_map(|c| {
            let lt: Lifetime = syn::parse2(c.clone()).ok()?;
            Some(lt.ident)
        }))
        .collect();
    let mut elided = ElidedLifetimes {
        fresh: Vec::new(),
        // Unused: `impl Trait` arguments are not visited (below).
        output: Lifetime::new("'_", Span::call_site()),
        taken,
    };
    for arg in sig.inputs.iter_mut() {
        match arg {
            FnArg::Receiver(r) => {
                if r.colon_token.is_none() {
                    if let Some((and, lt)) = &mut r.reference {
                        if lt.as_ref().is_none_or(|lt| lt.ident == "_") {
                            let fresh = elided.next(and.span);
                            *lt = Some(fresh.clone());
                            let m = r.mutability;
                            *r.ty = parse_quote!(&#fresh #m Self);
                        }
                    }
                } else {
                    elided.visit_type_mut(&mut r.ty);
                }
            }
            // An `impl Trait` argument is a type parameter (the visitor would bound it by a
            // value task's lifetime, which this has not): it counts as one borrow below.
            FnArg::Typed(t) if matches!(*t.ty, Type::ImplTrait(_)) => {}
            FnArg::Typed(t) => elided.visit_type_mut(&mut t.ty),
        }
    }
    let mut named = ArgumentLifetimes::free_in(sig.inputs.iter().map(|arg| match arg {
        FnArg::Receiver(r) => &*r.ty,
        FnArg::Typed(t) => &*t.ty,
    }))
    .into_iter()
    .map(|lt| lt.ident)
    .collect::<std::collections::BTreeSet<_>>();
    // The method's own lifetimes, even one only its output names (`fn name<'a>(&self) ->
    // &'a str`): the value task lives within each (the erased signature bounds them all).
    named.extend(sig.generics.lifetimes().map(|l| l.lifetime.ident.clone()));
    // An `impl Trait` argument bounded by a lifetime borrows for that one (`'static`: none);
    // else for a region of its own, which the value task holding its box lives within.
    let mut unbounded_impl_arguments = 0;
    for t in impl_trait_arguments(&sig) {
        let Type::ImplTrait(it) = &*t.ty else {
            unreachable!("an impl Trait argument")
        };
        match argument_lifetime(it) {
            Some(lt) => {
                named.insert(lt.ident);
            }
            None => unbounded_impl_arguments += 1,
        }
    }
    named.retain(|ident| ident != "static");
    let named = named.len();
    // A receiver that owns `Self` (`Box<Self>`, `Arc<Self>`, `Rc<Self>`) holds the `dyn`
    // form itself, which lives for a lifetime of its own (`'d` in `DynStore<'d>`):
    // one borrow more (a borrowed receiver's lifetime is within it).
    let owning_receiver = sig.inputs.iter().any(|arg| match arg {
        FnArg::Receiver(r) => {
            r.colon_token.is_some() && ArgumentLifetimes::free_in([&*r.ty]).is_empty()
        }
        FnArg::Typed(_) => false,
    });
    named + usize::from(owning_receiver) + unbounded_impl_arguments
}

/// A method's signature in an impl of the trait ([`Method::impl_signature`]).
pub(crate) struct ImplSignature {
    pub(crate) tokens: TokenStream,
    /// The arguments' names, after the receiver.
    pub(crate) names: Vec<ArgName>,
    /// How many lifetimes the arguments borrow for. With two or more, the erased method's
    /// value task lives for their intersection, which an `impl Trait` output cannot name
    /// (its hidden type may only use lifetimes it captures; an `async fn`'s future is generic
    /// over each instead): see [`Method::dyn_body`].
    pub(crate) borrows: usize,
}

/// A method's name in the erased trait: not the trait's, so that a type implementing both
/// (every implementor, by the blanket impl) has no two methods of one name when both traits
/// are in scope.
pub(crate) fn erased_name(ident: &syn::Ident) -> syn::Ident {
    format_ident!("__dyn_{}", ident)
}

/// The arguments of `sig` whose type is a bare `impl Trait`.
pub(crate) fn impl_trait_arguments(sig: &Signature) -> impl Iterator<Item = &syn::PatType> {
    sig.inputs.iter().filter_map(|arg| match arg {
        FnArg::Typed(t) if matches!(*t.ty, Type::ImplTrait(_)) => Some(t),
        _ => None,
    })
}

/// `impl Trait` arguments as `Box<dyn Trait + 'lt>`, `Pin<Box<..>>` for a future: `'lt` the
/// argument's own lifetime bound if the trait gives it one (`impl FnOnce() + Send + 'static`:
/// the implementor's method asks for that), else the value task's lifetime (a lifetime bound
/// the rewrite gave `impl Trait`), else `'_`.
fn box_impl_arguments(sig: &mut Signature, lt: Option<&Lifetime>) {
    for arg in sig.inputs.iter_mut() {
        if let FnArg::Typed(t) = arg {
            if let Type::ImplTrait(it) = &*t.ty {
                let own = argument_lifetime(it);
                let bounds: Punctuated<TypeParamBound, Token![+]> = it
                    .bounds
                    .iter()
                    .filter(|b| !matches!(b, TypeParamBound::Lifetime(_)))
                    .cloned()
                    .collect();
                let lt = own
                    .or_else(|| lt.cloned())
                    .unwrap_or_else(|| Lifetime::new("'_", Span::call_site()));
                *t.ty = if future_output(&bounds).is_some() {
                    // A boxed future is a `Future` only pinned.
                    parse_quote!(::core::pin::Pin<::std::boxed::Box<dyn #bounds + #lt>>)
                } else {
                    parse_quote!(::std::boxed::Box<dyn #bounds + #lt>)
                };
            }
        }
    }
}

/// In a plain method whose output borrows by elision from its arguments' one lifetime (no
/// reference receiver, which elision would prefer): that lifetime named, in the argument and
/// the output. The box an `impl Trait` argument becomes (`+ '_`) is a lifetime position of
/// its own, which would leave the output's elision with two to choose from.
fn name_output_elision(sig: &mut Signature) {
    let ReturnType::Type(_, output) = &sig.output else {
        return;
    };
    let mut named = (**output).clone();
    NameOutputElisions(Lifetime::new("'__dyn_trait_probe", Span::call_site()))
        .visit_type_mut(&mut named);
    let elides = named.to_token_stream().to_string() != output.to_token_stream().to_string();
    // Any lifetime position in the receiver (`&self`, `self: &Self`, `Pin<&mut Self>`):
    // elision prefers it, boxes or not.
    let receiver_lends = sig.inputs.iter().any(|arg| match arg {
        FnArg::Receiver(r) => {
            let mut positions = Positions::default();
            syn::visit::visit_type(&mut positions, &r.ty);
            r.reference.is_some() || !positions.0.is_empty()
        }
        FnArg::Typed(_) => false,
    });
    if !elides || receiver_lends {
        return;
    }
    let lt = match elision_target(sig) {
        Some(Some(lt)) if lt.ident != "_" => lt,
        // Unnamed: `&str`, or `'_` written (`Cow<'_, str>`).
        Some(_) => {
            let taken: Vec<syn::Ident> = sig
                .generics
                .lifetimes()
                .map(|l| l.lifetime.ident.clone())
                .collect();
            let lt = fresh_lifetime("dyn_trait_elided", None, &taken, Span::call_site());
            let mut namer = NameOutputElisions(lt.clone());
            for arg in sig.inputs.iter_mut() {
                if let FnArg::Typed(t) = arg {
                    if !matches!(*t.ty, Type::ImplTrait(_)) {
                        namer.visit_type_mut(&mut t.ty);
                    }
                }
            }
            sig.generics.params.insert(
                0,
                GenericParam::Lifetime(syn::LifetimeParam::new(lt.clone())),
            );
            lt
        }
        // No lifetime to elide to: the trait's own signature is in error already.
        None => return,
    };
    if let ReturnType::Type(_, output) = &mut sig.output {
        NameOutputElisions(lt).visit_type_mut(output);
    }
}

/// The lifetime bound the trait gives an `impl Trait` argument (the first the user wrote:
/// `'static` if among them), which its box keeps; `None` without one.
fn argument_lifetime(it: &syn::TypeImplTrait) -> Option<Lifetime> {
    let mut written = it.bounds.iter().filter_map(|b| match b {
        TypeParamBound::Lifetime(l) if l.ident != "_" => Some(l),
        _ => None,
    });
    let first = written.next()?.clone();
    if first.ident == "static" {
        return Some(first);
    }
    Some(
        written
            .find(|l| l.ident == "static")
            .cloned()
            .unwrap_or(first),
    )
}

/// Whether `bounds` have a `use<..>` that leaves out a lifetime of `sig`'s inputs: one elided
/// when `'_` is not listed, or one named and not listed (`'static` aside).
fn leaves_out_an_input_lifetime(
    sig: &Signature,
    bounds: &Punctuated<TypeParamBound, Token![+]>,
) -> bool {
    struct Inputs<'l> {
        listed: &'l [String],
        left_out: bool,
    }
    impl<'ast> syn::visit::Visit<'ast> for Inputs<'_> {
        fn visit_type_reference(&mut self, r: &'ast syn::TypeReference) {
            if r.lifetime.is_none() && !self.listed.iter().any(|l| l == "'_") {
                self.left_out = true;
            }
            syn::visit::visit_type_reference(self, r);
        }
        fn visit_lifetime(&mut self, lt: &'ast Lifetime) {
            let name = lt.ident.to_string();
            if name != "static" && !self.listed.contains(&format!("'{name}")) {
                self.left_out = true;
            }
        }
        // `fn(&T)`, `Fn(&T)` and `for<'b>` bind their own lifetimes.
        fn visit_type_bare_fn(&mut self, _: &'ast syn::TypeBareFn) {}
        fn visit_parenthesized_generic_arguments(
            &mut self,
            _: &'ast syn::ParenthesizedGenericArguments,
        ) {
        }
        fn visit_bound_lifetimes(&mut self, _: &'ast syn::BoundLifetimes) {}
    }
    let Some(capture) = bounds.iter().find(|b| is_precise_capture(b)) else {
        return false;
    };
    let listed: Vec<String> = capture
        .to_token_stream()
        .into_iter()
        .filter_map(|t| match t {
            proc_macro2::TokenTree::Group(g) => Some(g.stream()),
            _ => None,
        })
        .chain(std::iter::once(capture.to_token_stream()))
        .flat_map(|stream| {
            let mut names = Vec::new();
            let mut quote_seen = false;
            for t in stream {
                match t {
                    proc_macro2::TokenTree::Punct(p) if p.as_char() == '\'' => quote_seen = true,
                    proc_macro2::TokenTree::Ident(i) if quote_seen => {
                        names.push(format!("'{i}"));
                        quote_seen = false;
                    }
                    _ => quote_seen = false,
                }
            }
            names
        })
        .collect();
    let mut inputs = Inputs {
        listed: &listed,
        left_out: false,
    };
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(r) => match &r.reference {
                Some((_, None)) => {
                    inputs.left_out |= !listed.iter().any(|l| l == "'_");
                }
                Some((_, Some(lt))) => syn::visit::Visit::visit_lifetime(&mut inputs, lt),
                None => syn::visit::Visit::visit_type(&mut inputs, &r.ty),
            },
            FnArg::Typed(t) => syn::visit::Visit::visit_type(&mut inputs, &t.ty),
        }
    }
    inputs.left_out
}

/// A `use<..>` bound (precise capturing), by its tokens: syn parses it as its own variant or,
/// in older versions, as verbatim tokens.
fn is_precise_capture(bound: &TypeParamBound) -> bool {
    bound
        .to_token_stream()
        .into_iter()
        .next()
        .is_some_and(|t| matches!(t, proc_macro2::TokenTree::Ident(i) if i == "use"))
}

/// `-> Box<dyn bounds + 'lt>`.
fn parse_quote_spanned_output(
    span: Span,
    bounds: &Punctuated<TypeParamBound, Token![+]>,
    lt: &Lifetime,
) -> ReturnType {
    syn::parse2(quote_spanned!(span=> -> ::std::boxed::Box<dyn #bounds + #lt>))
        .expect("a return type")
}

/// The value task's lifetime in a rewritten signature (`-> ValueTask<'value_task, T>`).
fn output_lifetime(sig: &Signature) -> Lifetime {
    if let ReturnType::Type(_, ty) = &sig.output {
        if let Type::Path(p) = &**ty {
            if let Some(last) = p.path.segments.last() {
                if let syn::PathArguments::AngleBracketed(args) = &last.arguments {
                    if let Some(syn::GenericArgument::Lifetime(lt)) = args.args.first() {
                        return lt.clone();
                    }
                }
            }
        }
    }
    unreachable!("rewrite_signature returns a value task of a named lifetime")
}

/// What the lifetime bounds of an `impl Trait` output say it outlives.
#[derive(Clone)]
pub(crate) enum OutputBound {
    /// No lifetime bound: it may borrow whatever the call borrowed.
    None,
    /// One named lifetime (`+ 'static`, `+ 'a`).
    Named(Lifetime),
    /// `+ '_`: the lifetime elision gives the output, the receiver's.
    Elided,
    /// Two or more: no one lifetime says it.
    Several,
}

impl OutputBound {
    fn of(bounds: &Punctuated<TypeParamBound, Token![+]>) -> Self {
        let mut lifetimes = bounds.iter().filter_map(|b| match b {
            TypeParamBound::Lifetime(l) => Some(l),
            _ => None,
        });
        match (lifetimes.next(), lifetimes.next()) {
            (None, _) => OutputBound::None,
            (Some(_), Some(_)) => OutputBound::Several,
            (Some(l), None) if l.ident == "_" => OutputBound::Elided,
            (Some(l), None) => OutputBound::Named(l.clone()),
        }
    }

    /// The lifetime of the erased signature `sig` (its elided lifetimes named) that this
    /// bound is, if one is.
    fn carried(&self, sig: &Signature) -> Option<Lifetime> {
        match self {
            OutputBound::Named(l) => Some(l.clone()),
            OutputBound::Elided => elision_target(sig).flatten(),
            OutputBound::None | OutputBound::Several => None,
        }
    }
}

/// Where lifetime elision sends an output's `'_` in `sig`: the receiver's lifetime if it has
/// one (`&self`, `Pin<&mut Self>`), else the one lifetime position of the other arguments
/// (`impl Trait` arguments and `Fn(&T)` sugar have none of their own); `None` if there is no
/// such position, `Some(None)` if it is an unnamed one (`&str` in a signature the expansion
/// has not named).
fn elision_target(sig: &Signature) -> Option<Option<Lifetime>> {
    let mut receiver = Positions::default();
    let mut others = Positions::default();
    for arg in &sig.inputs {
        match arg {
            FnArg::Receiver(r) => match &r.reference {
                Some((_, lifetime)) => receiver.0.push(lifetime.clone()),
                None => syn::visit::visit_type(&mut receiver, &r.ty),
            },
            FnArg::Typed(t) => syn::visit::visit_type(&mut others, &t.ty),
        }
    }
    if let Some(first) = receiver.0.into_iter().next() {
        return Some(first);
    }
    match others.0.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    }
}

/// The lifetime positions of a type, as elision counts them: references (their lifetime, if
/// written) and lifetimes, outside `impl Trait`, function pointers and `Fn(..)` sugar.
#[derive(Default)]
struct Positions(Vec<Option<Lifetime>>);

impl<'ast> syn::visit::Visit<'ast> for Positions {
    fn visit_type_reference(&mut self, r: &'ast syn::TypeReference) {
        self.0.push(r.lifetime.clone());
        syn::visit::visit_type(self, &r.elem);
    }
    fn visit_lifetime(&mut self, l: &'ast Lifetime) {
        self.0.push(Some(l.clone()));
    }
    fn visit_type_impl_trait(&mut self, _: &'ast syn::TypeImplTrait) {}
    fn visit_type_bare_fn(&mut self, _: &'ast syn::TypeBareFn) {}
    fn visit_parenthesized_generic_arguments(
        &mut self,
        _: &'ast syn::ParenthesizedGenericArguments,
    ) {
    }
}

/// The erased signature's value task of lifetime `lifetime` (see [`output_lifetime`]).
fn set_output_lifetime(sig: &mut Signature, lifetime: &Lifetime) {
    if let ReturnType::Type(_, ty) = &mut sig.output {
        if let Type::Path(p) = &mut **ty {
            if let Some(last) = p.path.segments.last_mut() {
                if let syn::PathArguments::AngleBracketed(args) = &mut last.arguments {
                    if let Some(syn::GenericArgument::Lifetime(lt)) = args.args.first_mut() {
                        *lt = lifetime.clone();
                        return;
                    }
                }
            }
        }
    }
    unreachable!("rewrite_signature returns a value task of a named lifetime")
}

/// `where Self: Sized` on the method.
fn sized_only(sig: &Signature) -> bool {
    sig.generics.where_clause.as_ref().is_some_and(|w| {
        w.predicates.iter().any(|p| match p {
            syn::WherePredicate::Type(t) => {
                is_self(&t.bounded_ty)
                    && t.bounds.iter().any(|b| match b {
                        TypeParamBound::Trait(tb) => {
                            tb.path.segments.last().is_some_and(|s| s.ident == "Sized")
                                && matches!(tb.modifier, syn::TraitBoundModifier::None)
                        }
                        _ => false,
                    })
            }
            _ => false,
        })
    })
}

fn is_self(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none() && p.path.is_ident("Self"))
}

fn receiver_of(ty: &Type) -> Option<Receiver> {
    match ty {
        Type::Reference(r) if is_self(&r.elem) => Some(if r.mutability.is_some() {
            Receiver::Mut
        } else {
            Receiver::Ref
        }),
        Type::Path(p) if p.qself.is_none() => {
            let last = p.path.segments.last().expect("a path has a segment");
            let syn::PathArguments::AngleBracketed(a) = &last.arguments else {
                return None;
            };
            let [syn::GenericArgument::Type(inner)] = a.args.iter().collect::<Vec<_>>()[..] else {
                return None;
            };
            match last.ident.to_string().as_str() {
                "Box" if is_self(inner) => Some(Receiver::Boxed),
                "Arc" if is_self(inner) => Some(Receiver::Arc),
                "Rc" if is_self(inner) => Some(Receiver::Rc),
                "Pin" => match inner {
                    Type::Reference(r) if is_self(&r.elem) => Some(if r.mutability.is_some() {
                        Receiver::PinMut
                    } else {
                        Receiver::PinRef
                    }),
                    _ => None,
                },
                _ => None,
            }
        }
        _ => None,
    }
}

/// `Output = T` of a `Future` bound among `bounds`.
pub(crate) fn future_output(bounds: &Punctuated<TypeParamBound, Token![+]>) -> Option<Type> {
    bounds.iter().find_map(|b| {
        let TypeParamBound::Trait(tb) = b else {
            return None;
        };
        let last = tb.path.segments.last()?;
        if last.ident != "Future" {
            return None;
        }
        let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
            return None;
        };
        args.args.iter().find_map(|a| match a {
            syn::GenericArgument::AssocType(at) if at.ident == "Output" => Some(at.ty.clone()),
            _ => None,
        })
    })
}

fn is_auto(bound: &TypeParamBound, name: &str) -> bool {
    matches!(bound, TypeParamBound::Trait(tb)
        if tb.path.segments.last().is_some_and(|s| s.ident == name))
}

/// Finds an `impl Trait` in what it visits.
#[derive(Default)]
struct FindImplTrait(bool);

impl<'ast> syn::visit::Visit<'ast> for FindImplTrait {
    fn visit_type_impl_trait(&mut self, _: &'ast syn::TypeImplTrait) {
        self.0 = true;
    }
}

/// A use of `Self` in a method's argument or output that its `dyn` form cannot express.
enum SelfUse {
    /// `Self` itself (not a path through it, `Self::Assoc`).
    Itself(Span),
    /// A qualified projection, `<Self as Trait>::X` or `<Self>::X`, which the `dyn` form
    /// rewrites only as `Self::X`.
    Qualified(Span),
}

/// The first use of `Self` in `ty` that the `dyn` form cannot express.
fn bare_self(ty: &Type) -> Option<SelfUse> {
    struct Find(Option<SelfUse>);
    impl<'ast> syn::visit::Visit<'ast> for Find {
        fn visit_type_path(&mut self, path: &'ast syn::TypePath) {
            if self.0.is_some() {
                return;
            }
            match &path.qself {
                Some(q) if matches!(&*q.ty, Type::Path(p) if p.qself.is_none() && p.path.is_ident("Self")) =>
                {
                    self.0 = Some(SelfUse::Qualified(path.span()));
                }
                None if path.path.is_ident("Self") => {
                    self.0 = Some(SelfUse::Itself(path.span()));
                }
                _ => syn::visit::visit_type_path(self, path),
            }
        }
    }
    let mut find = Find(None);
    syn::visit::visit_type(&mut find, ty);
    find.0
}

fn contains_impl_trait(ty: &Type) -> bool {
    let mut find = FindImplTrait::default();
    syn::visit::visit_type(&mut find, ty);
    find.0
}

fn contains_impl_trait_bound(bound: &TypeParamBound) -> bool {
    let mut find = FindImplTrait::default();
    syn::visit::visit_type_param_bound(&mut find, bound);
    find.0
}

/// An argument's name in a generated copy of a method, with the parameter's `#[cfg]`s:
/// passed on under them (`f(self, #[cfg(x)] __arg1)`), so an argument compiled out of the
/// copies' signatures is not passed either.
pub(crate) struct ArgName {
    pub(crate) cfgs: Vec<syn::Attribute>,
    pub(crate) ident: syn::Ident,
}

impl ToTokens for ArgName {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        for cfg in &self.cfgs {
            cfg.to_tokens(tokens);
        }
        self.ident.to_tokens(tokens);
    }
}
