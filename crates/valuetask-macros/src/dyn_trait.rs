//! `#[dyn_trait(DynStore = dyn Store)]` on a trait written with native `async fn`: the trait
//! stays as written (its static calls are the compiler's own futures), and beside it:
//!
//! - `__ErasedStore`, a dyn-compatible trait (hidden; its methods are the trait's, renamed
//!   `__dyn_name` so that no implementor has two methods of one name when both traits are in
//!   scope), whose methods return value tasks (`LocalValueTask` for an `async fn`, `ValueTask`
//!   for `-> impl Future<..> + Send`), boxes for other `-> impl Trait`, and what the others
//!   return; implemented for every `T: Store`, each call's future started in a pooled block
//!   as a `#[value_task]` body is (`lazy` and `boxed` as there);
//! - `struct DynStore<'a, ..> { object: dyn __ErasedStore<.., Assoc = Assoc> + 'a }`,
//!   `repr(transparent)`: the `dyn` form, a type of the user's crate (inherent and foreign
//!   trait impls allowed, as on dynosaur's), with dynosaur's constructors and `Store`
//!   implemented for it;
//! - the bridges `Store for &T`, `&mut T`, `Box<T>` where every method's receiver allows
//!   (`bridge(blanket)`, the default after `dyn(box)`), for pointers to `DynStore` only
//!   (`bridge(dyn)`), or none (`bridge(none)`, the default in dynosaur 0.2's forms).
//!
//! The expansion holds `unsafe` in three places, each at the macro's span with no
//! `allow(unsafe_code)` (an error where the user forbids the lint, which rustc does not report
//! in another crate's macro):
//!
//! - the casts between the trait object and the `dyn` form, of a pointer to one to a pointer
//!   to the other (the constructors; the `dyn` form's methods taking `self` in a `Box`, `Arc`,
//!   `Rc` or `Pin`: `Receiver::object`). Sound because the struct is `repr(transparent)` over
//!   its one field, so both pointers have one address and one vtable, and because no
//!   `DynStore` exists but by such a cast: it is unsized, with no type parameter to unsize
//!   from, so neither a literal nor a coercion can make one;
//! - a method whose arguments borrow for two or more lifetimes (a receiver that owns `Self`
//!   counts as one: the `dyn` form's own; `method.rs`: `Method::dyn_body`);
//! - calls of the trait's own `unsafe fn` methods.
//!
//! An attribute whose `dyn Trait` names another trait leaves the item alone:
//! `trait_variant::make` copies the attributes under it to both variants, and each variant's
//! attribute applies to its own.

mod args;
mod method;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::visit_mut::VisitMut;
use syn::{parse_quote, GenericParam, Ident, ItemTrait, Lifetime, TraitItem};

use args::{Bridge, DynArgs};
use method::{ImplSignature, Kind, Method, OutputBound, Receiver};

use crate::lifetimes::fresh_lifetime;
use crate::receiver::contains_reference;

/// The attribute's entry.
pub fn expand(args: TokenStream, input: TokenStream) -> syn::Result<TokenStream> {
    let args = DynArgs::from_tokens(args)?;
    let item: syn::Item = syn::parse2(input)?;
    let syn::Item::Trait(item) = item else {
        return Err(syn::Error::new_spanned(
            item,
            "#[dyn_trait] goes on a trait (for an impl, nothing is needed: implement the trait as written)",
        ));
    };
    if args.target.as_ref().is_some_and(|t| *t != item.ident) {
        // Another variant's attribute (`trait_variant::make`), or a misspelling: the path must
        // name something in scope, or rustc says so at it (not only "cannot find type
        // `DynStore`" wherever the `dyn` form is used).
        let path = &args.target_path;
        let span = syn::spanned::Spanned::span(path);
        let check = quote_spanned!(span=> use #path as _;);
        return Ok(quote! {
            #item
            const _: () = {
                #[allow(unused_imports)]
                #check
            };
        });
    }
    let generated = Generated::new(&item, &args)?.tokens()?;
    Ok(quote! {
        #item
        #generated
    })
}

/// An associated type of the trait: a parameter of the `dyn` form.
struct Assoc {
    ident: Ident,
    bounds: syn::punctuated::Punctuated<syn::TypeParamBound, syn::Token![+]>,
    cfgs: Vec<syn::Attribute>,
}

struct Generated<'t> {
    item: &'t ItemTrait,
    args: &'t DynArgs,
    erased: Ident,
    /// The `dyn` form's lifetime.
    lt: Lifetime,
    assocs: Vec<Assoc>,
    methods: Vec<Method>,
}

impl<'t> Generated<'t> {
    fn new(item: &'t ItemTrait, args: &'t DynArgs) -> syn::Result<Self> {
        if let Some(unsafety) = &item.unsafety {
            return Err(syn::Error::new(
                unsafety.span,
                "#[dyn_trait]: an `unsafe trait` would need an `unsafe impl` for its `dyn` form; \
                 keep the trait safe and its methods `unsafe fn`",
            ));
        }
        let mut assocs = Vec::new();
        let mut methods = Vec::new();
        for trait_item in &item.items {
            match trait_item {
                TraitItem::Fn(f) => methods.push(Method::new(f, &args.name)?),
                TraitItem::Type(t) => {
                    if !t.generics.params.is_empty() {
                        return Err(syn::Error::new_spanned(
                            &t.generics,
                            format!(
                                "#[dyn_trait]: the generic associated type `{}` makes the trait \
                                 impossible to use as `dyn`",
                                t.ident
                            ),
                        ));
                    }
                    assocs.push(Assoc {
                        ident: t.ident.clone(),
                        bounds: t.bounds.clone(),
                        cfgs: cfgs(&t.attrs),
                    });
                }
                TraitItem::Const(c) => {
                    return Err(syn::Error::new_spanned(
                        &c.ident,
                        format!(
                            "#[dyn_trait]: the associated const `{}` makes the trait impossible \
                             to use as `dyn`: move it to a method or another trait",
                            c.ident
                        ),
                    ))
                }
                TraitItem::Macro(m) => return Err(syn::Error::new_spanned(
                    m,
                    "#[dyn_trait]: a macro in the trait cannot be seen through: expand it by hand",
                )),
                _ => {}
            }
        }
        let taken: Vec<Ident> = item
            .generics
            .lifetimes()
            .map(|l| l.lifetime.ident.clone())
            .collect();
        Ok(Generated {
            item,
            args,
            erased: format_ident!("__Erased{}", item.ident),
            lt: fresh_lifetime("dyn_trait", None, &taken, Span::call_site()),
            assocs,
            methods,
        })
    }

    /// The trait's parameters as arguments: `<'a, T, N>` (nothing without any).
    fn trait_args(&self) -> Vec<TokenStream> {
        self.trait_params(false)
    }

    /// The trait's parameters by name, or (`declare`) as an alias declares them: with a
    /// constant's type (`const N: usize`), still without bounds.
    fn trait_params(&self, declare: bool) -> Vec<TokenStream> {
        self.item
            .generics
            .params
            .iter()
            .map(|p| match p {
                GenericParam::Lifetime(l) => {
                    let l = &l.lifetime;
                    quote!(#l)
                }
                GenericParam::Type(t) => {
                    let t = &t.ident;
                    quote!(#t)
                }
                GenericParam::Const(c) => {
                    let (ident, ty) = (&c.ident, &c.ty);
                    if declare {
                        quote!(const #ident: #ty)
                    } else {
                        quote!(#ident)
                    }
                }
            })
            .collect()
    }

    /// [`trait_params`](Self::trait_params)`(true)` with the trait's defaults, from the last
    /// parameter back while each has one that does not name `Self`.
    fn add_defaults(&self, params: &mut [TokenStream]) {
        let generics: Vec<&GenericParam> = self.item.generics.params.iter().collect();
        for (param, generic) in params.iter_mut().zip(&generics).rev() {
            let default = match generic {
                GenericParam::Type(t) => t.default.as_ref().map(|d| quote!(#d)),
                GenericParam::Const(c) => c.default.as_ref().map(|d| quote!(#d)),
                GenericParam::Lifetime(_) => None,
            };
            match default {
                Some(default) if !names_self(&default) => *param = quote!(#param = #default),
                _ => break,
            }
        }
    }

    /// The trait's parameters for an impl's header: bounds kept, defaults gone.
    fn impl_params(&self) -> Vec<GenericParam> {
        self.item
            .generics
            .params
            .iter()
            .cloned()
            .map(|mut p| {
                match &mut p {
                    GenericParam::Type(t) => {
                        t.eq_token = None;
                        t.default = None;
                    }
                    GenericParam::Const(c) => {
                        c.eq_token = None;
                        c.default = None;
                    }
                    GenericParam::Lifetime(_) => {}
                }
                p
            })
            .collect()
    }

    /// `Trait<'a, T>`.
    fn trait_path(&self) -> TokenStream {
        let ident = &self.item.ident;
        let args = self.trait_args();
        if args.is_empty() {
            quote!(#ident)
        } else {
            quote!(#ident<#(#args),*>)
        }
    }

    /// `Trait<'a, T, Assoc = Assoc>`, the bound of a value the `dyn` form is made of.
    fn trait_path_bound(&self) -> TokenStream {
        let ident = &self.item.ident;
        let args = self.trait_args();
        let binds = self.assoc_binds();
        if args.is_empty() && binds.is_empty() {
            quote!(#ident)
        } else {
            quote!(#ident<#(#args,)* #(#binds),*>)
        }
    }

    /// `__ErasedTrait<'a, T>`.
    fn erased_path(&self) -> TokenStream {
        let ident = &self.erased;
        let args = self.trait_args();
        if args.is_empty() {
            quote!(#ident)
        } else {
            quote!(#ident<#(#args),*>)
        }
    }

    /// `Assoc = Assoc` for each associated type.
    fn assoc_binds(&self) -> Vec<TokenStream> {
        // (A `#[cfg]`'d associated type is bound whatever the cfg: a path cannot bind one
        // conditionally.)
        self.assocs
            .iter()
            .map(|a| {
                let ident = &a.ident;
                quote!(#ident = #ident)
            })
            .collect()
    }

    /// `dyn __ErasedTrait<'a, T, Assoc = Assoc> + 'dyn_trait`.
    fn dyn_type(&self) -> TokenStream {
        let ident = &self.erased;
        let args = self.trait_args();
        let binds = self.assoc_binds();
        let lt = &self.lt;
        if args.is_empty() && binds.is_empty() {
            quote!(dyn #ident + #lt)
        } else {
            quote!(dyn #ident<#(#args,)* #(#binds),*> + #lt)
        }
    }

    /// `'dyn_trait, <trait params>, <assoc params>` for the impls of the `dyn` form.
    fn dyn_params(&self) -> TokenStream {
        let lt = &self.lt;
        let mut params = vec![quote!(#lt)];
        params.extend(self.impl_params().iter().map(|p| quote!(#p)));
        params.extend(self.assocs.iter().map(|a| {
            let ident = &a.ident;
            quote!(#ident)
        }));
        quote!(#(#params),*)
    }

    /// The `where` predicates of the `dyn` form's impls: the trait's, the associated types'
    /// bounds on their parameters, and, when a method takes `self` in a box (or another
    /// owning pointer), every parameter outliving the `dyn` form (its value task holds it).
    fn dyn_where(&self) -> TokenStream {
        let predicates = self.dyn_predicates();
        if predicates.is_empty() {
            quote!()
        } else {
            quote!(where #(#predicates),*)
        }
    }

    /// [`dyn_where`](Self::dyn_where)'s predicates.
    fn dyn_predicates(&self) -> Vec<TokenStream> {
        // One by one: the clause's own trailing comma (rustfmt writes one) must not meet the
        // separator of the predicates added after it.
        let mut predicates = self.where_predicates(None);
        predicates.extend(self.outlives_supertraits());
        let names: Vec<&Ident> = self.assocs.iter().map(|a| &a.ident).collect();
        for a in &self.assocs {
            if a.bounds.is_empty() {
                continue;
            }
            let mut bounds = a.bounds.clone();
            let mut unself = RewriteSelfAssoc {
                assocs: &names,
                to: SelfAssocIn::Param,
            };
            for b in bounds.iter_mut() {
                unself.visit_type_param_bound_mut(b);
            }
            let ident = &a.ident;
            predicates.push(quote!(#ident: #bounds));
        }
        // A `Send` future's value task is `Send` when its output is.
        let trait_lifetimes: Vec<&Ident> = self
            .item
            .generics
            .lifetimes()
            .map(|l| &l.lifetime.ident)
            .collect();
        // A method under `#[cfg]` may return a type only its cfg brings (a feature's crate),
        // and a predicate cannot be cfg'd: for it, only the predicates that wait for the impl's
        // parameters (a concrete output's are checked in the method's body all the same).
        let params: Vec<&Ident> = self
            .item
            .generics
            .type_params()
            .map(|t| &t.ident)
            .chain(self.item.generics.const_params().map(|c| &c.ident))
            .chain(names.iter().copied())
            .collect();
        for m in self.dyn_methods() {
            if !m.cfgs().is_empty() {
                if let Kind::Future { output, .. } = &m.kind {
                    if !names_any(&quote!(#output), &params) {
                        continue;
                    }
                }
            }
            if let Kind::Future {
                output, send: true, ..
            } = &m.kind
            {
                if let Some(predicate) = output_is_send(output, &names, &trait_lifetimes) {
                    predicates.push(predicate);
                }
            }
            // A future bounded by a lifetime the impl can name: its output outlives it.
            if let Kind::Future {
                output,
                outlives: OutputBound::Named(lifetime),
                ..
            } = &m.kind
            {
                if let Some(predicate) = output_outlives(output, &names, &trait_lifetimes, lifetime)
                {
                    predicates.push(predicate);
                }
            }
        }
        let owns = |m: &&Method| {
            !matches!(m.kind, Kind::SizedOnly)
                && m.item
                    .sig
                    .receiver()
                    .is_some_and(|r| r.reference.is_none() && !contains_reference(&r.ty))
        };
        if self.methods.iter().any(|m| owns(&m)) {
            let lt = &self.lt;
            for a in &self.assocs {
                let ident = &a.ident;
                predicates.push(quote!(#ident: #lt));
            }
            for t in self.item.generics.type_params() {
                let ident = &t.ident;
                predicates.push(quote!(#ident: #lt));
            }
        }
        // The trait's lifetimes too, when such a method returns a value task or a box: that
        // lives for `'dyn_trait`, where anything shorter it captured would be a lifetime the
        // `impl Trait` of the `dyn` form's method cannot name. (Not for a plain method: a
        // `DynP<'static, 'k>` stays usable for a trait `P<'k>` whose owning methods return
        // plain values.)
        let owns_opaque = self
            .methods
            .iter()
            .filter(owns)
            .any(|m| matches!(m.kind, Kind::Future { .. } | Kind::Boxed { .. }));
        if owns_opaque {
            let lt = &self.lt;
            for l in self.item.generics.lifetimes() {
                let l = &l.lifetime;
                predicates.push(quote!(#l: #lt));
            }
        }
        predicates
    }

    /// The `dyn` form's impl's parameters: its lifetime, the trait's parameters, the
    /// associated types' (the names a method's own lifetimes skip).
    fn dyn_captures(&self) -> Vec<TokenStream> {
        let lt = &self.lt;
        let mut captured = vec![quote!(#lt)];
        captured.extend(self.trait_args());
        captured.extend(self.assocs.iter().map(|a| {
            let ident = &a.ident;
            quote!(#ident)
        }));
        captured
    }

    fn tokens(&self) -> syn::Result<TokenStream> {
        let erased_trait = self.erased_trait();
        let blanket = self.blanket_impl();
        let dyn_struct = self.dyn_struct();
        let dyn_impl = self.dyn_impl();
        let bridges = self.bridges();
        let generated = quote! {
            #erased_trait
            #blanket
            #dyn_struct
            #dyn_impl
            #bridges
        };
        // The trait's own lint allowances go on every generated item, which names the trait
        // and copies its methods' names (a trait-wide `allow(non_snake_case)`, a `deprecated`
        // trait). Its `cfg`s need no copy: rustc applies them before any attribute macro.
        let carried = crate::lint_attrs::allowances(&self.item.attrs);
        if carried.is_empty() {
            return Ok(generated);
        }
        let items = syn::parse2::<syn::File>(generated)?.items;
        Ok(items
            .iter()
            .map(|item| quote!(#(#carried)* #item))
            .collect())
    }

    /// The dyn-compatible trait behind the `dyn` form.
    fn erased_trait(&self) -> TokenStream {
        let vis = &self.args.vis;
        let ident = &self.erased;
        let generics = &self.item.generics;
        // Its own `Self::Assoc`: `<Self as Trait>::Assoc` would ask its `Self` for the trait.
        let predicates = self.where_predicates_in(SelfAssocIn::Own);
        let where_clause = (!predicates.is_empty()).then(|| quote!(where #(#predicates),*));
        let colon = &self.item.colon_token;
        let supertraits = &self.item.supertraits;
        let assocs = self.assocs.iter().map(|a| {
            let ident = &a.ident;
            let bounds = &a.bounds;
            let cfgs = &a.cfgs;
            if bounds.is_empty() {
                quote!(#(#cfgs)* type #ident;)
            } else {
                quote!(#(#cfgs)* type #ident: #bounds;)
            }
        });
        let methods = self.dyn_methods().map(|m| {
            let (sig, _) = m.erased_signature(&self.args.options, generics);
            let cfgs = m.carried_attrs();
            quote!(#(#cfgs)* #sig;)
        });
        let name = &self.args.name;
        let doc = format!(
            "The dyn-compatible form of [`{}`] behind [`{name}`]: implemented for every \
             implementor, its methods return value tasks.",
            self.item.ident
        );
        quote! {
            #[doc = #doc]
            #[doc(hidden)]
            #vis trait #ident #generics #colon #supertraits #where_clause {
                #(#assocs)*
                #(#methods)*
            }
        }
    }

    fn dyn_methods(&self) -> impl Iterator<Item = &Method> {
        self.methods
            .iter()
            .filter(|m| !matches!(m.kind, Kind::SizedOnly))
    }

    /// `impl<T: Trait> __ErasedTrait for T`: each method calls the implementor's and keeps its
    /// future in a value task.
    fn blanket_impl(&self) -> TokenStream {
        let params = self.impl_params();
        let trait_path = self.trait_path();
        let erased_path = self.erased_path();
        let implementor = Ident::new("__DynTraitImpl", Span::mixed_site());
        let predicates = self.where_predicates(Some(&quote!(#implementor)));
        let where_clause = (!predicates.is_empty()).then(|| quote!(where #(#predicates),*));
        let assocs = self.assocs.iter().map(|a| {
            let ident = &a.ident;
            let cfgs = &a.cfgs;
            quote!(#(#cfgs)* type #ident = <#implementor as #trait_path>::#ident;)
        });
        let methods = self.dyn_methods().map(|m| {
            let (sig, names) = m.erased_signature(&self.args.options, &self.item.generics);
            let ident = &m.item.sig.ident;
            let call = unsafe_call(
                &sig,
                quote!(<#implementor as #trait_path>::#ident(self, #(#names),*)),
            );
            let site = format!("{}::{}", self.item.ident, ident);
            let body = m.erased_body(call, &self.args.options, &site);
            let cfgs = m.carried_attrs();
            quote! {
                #(#cfgs)*
                #[inline]
                #sig {
                    #body
                }
            }
        });
        quote! {
            impl<#(#params,)* #implementor: #trait_path> #erased_path for #implementor #where_clause {
                #(#assocs)*
                #(#methods)*
            }
        }
    }

    /// `struct DynTrait<'dyn_trait, ..> { object: dyn __ErasedTrait<..> + 'dyn_trait }`,
    /// `repr(transparent)`, and its constructors (dynosaur's), where the trait object becomes
    /// the struct by a cast of a pointer to one to a pointer to the other. An owning pointer
    /// is erased by `macro_support::erase_*` (never inlined: where the vtable is compiled
    /// decides whether the implementor's `poll` is inlined into the erased methods, see
    /// there), through `Erase`, implemented here; `from_ref` and `from_mut` coerce in place,
    /// as the `const fn`s dynosaur's are.
    fn dyn_struct(&self) -> TokenStream {
        let vis = &self.args.vis;
        let name = &self.args.name;
        let lt = &self.lt;
        let trait_name = &self.item.ident;
        // The struct states no bounds of the trait (as the alias before it did not): rustc
        // does not ask a trait object's arguments to meet its trait's bounds, and every type
        // or function naming the struct would have to repeat them (no implied bounds for a
        // struct). Only what the object's type needs: a `?Sized` associated type's, and a
        // lifetime its supertraits ask. The constructors and impls bound what they need. The
        // trait's defaults where nothing follows them (the associated types' parameters come
        // last and have none) and they do not name `Self`.
        let mut params = self.trait_params(true);
        if self.assocs.is_empty() {
            self.add_defaults(&mut params);
        }
        let assocs = self.assocs.iter().map(|a| &a.ident);
        let dyn_type = self.dyn_type();
        let struct_where = self.struct_where();
        let where_clause = self.trait_where();
        let dyn_self = self.dyn_self();
        let bound = self.trait_path_bound();
        let doc = format!(
            "`dyn {trait_name}`, usable where `{trait_name}`'s `async fn` methods keep it from \
             being a trait object: a `Box<{name}>`, `&mut {name}` or `Arc<{name}>` of any \
             implementor (`{name}::new_box`, `{name}::from_mut`, …). It implements \
             [`{trait_name}`]; each call through it returns a value task whose future is kept in \
             pooled storage (no allocation per call in steady state; `impl Trait` arguments, \
             `-> impl Trait` returns other than futures, futures over 4,080 bytes and outputs over \
             4,064 are boxed)."
        );
        let docs = [
            format!("A `Box<{name}>` of `value`."),
            format!("A `Box<{name}>` of `value`: dynosaur 0.2's name for `new_box`."),
            format!("An `Arc<{name}>` of `value`."),
            format!("An `Rc<{name}>` of `value`."),
            format!("`value`'s box as a `Box<{name}>`."),
            format!("`value`'s `Arc` as an `Arc<{name}>`."),
            format!("`value`'s `Rc` as an `Rc<{name}>`."),
            format!("`value` as a `&{name}`."),
            format!("`value` as a `&mut {name}`."),
        ];
        let guards = self.pin_guards();
        let [d0, d1, d2, d3, d4, d5, d6, d7, d8] = docs;
        let value = quote!(impl #bound + #lt);
        let impl_params = self.dyn_params();
        let support = self.args.options.macro_support(Span::call_site());
        let implementor = Ident::new("__DynTraitImpl", Span::mixed_site());
        quote! {
            impl<#impl_params, #implementor: #bound + #lt> #support::Erase<#implementor> for #dyn_type
            #where_clause
            {
                #[inline(always)]
                fn erase_box(value: ::std::boxed::Box<#implementor>) -> ::std::boxed::Box<Self> {
                    value
                }
                #[inline(always)]
                fn erase_arc(value: ::std::sync::Arc<#implementor>) -> ::std::sync::Arc<Self> {
                    value
                }
                #[inline(always)]
                fn erase_rc(value: ::std::rc::Rc<#implementor>) -> ::std::rc::Rc<Self> {
                    value
                }
            }

            #[doc = #doc]
            #[repr(transparent)]
            #vis struct #name<#lt, #(#params,)* #(#assocs),*> #struct_where {
                object: #dyn_type,
            }

            #guards

            impl<#impl_params> #dyn_self #where_clause {
                #[doc = #d0]
                #[inline]
                pub fn new_box(value: #value) -> ::std::boxed::Box<Self> {
                    Self::from_box(::std::boxed::Box::new(value))
                }
                #[doc = #d1]
                #[inline]
                pub fn boxed(value: #value) -> ::std::boxed::Box<Self> {
                    Self::from_box(::std::boxed::Box::new(value))
                }
                #[doc = #d2]
                #[inline]
                pub fn new_arc(value: #value) -> ::std::sync::Arc<Self> {
                    Self::from_arc(::std::sync::Arc::new(value))
                }
                #[doc = #d3]
                #[inline]
                pub fn new_rc(value: #value) -> ::std::rc::Rc<Self> {
                    Self::from_rc(::std::rc::Rc::new(value))
                }
                #[doc = #d4]
                #[inline]
                pub fn from_box(value: ::std::boxed::Box<#value>) -> ::std::boxed::Box<Self> {
                    let object: ::std::boxed::Box<#dyn_type> = #support::erase_box(value);
                    // SAFETY: `Self` is `repr(transparent)` over the trait object: the same
                    // allocation and layout, owned by the new box alone.
                    unsafe { ::std::boxed::Box::from_raw(::std::boxed::Box::into_raw(object) as *mut Self) }
                }
                #[doc = #d5]
                #[inline]
                pub fn from_arc(value: ::std::sync::Arc<#value>) -> ::std::sync::Arc<Self> {
                    let object: ::std::sync::Arc<#dyn_type> = #support::erase_arc(value);
                    // SAFETY: as in `from_box`, with the count `into_raw` hands over.
                    unsafe { ::std::sync::Arc::from_raw(::std::sync::Arc::into_raw(object) as *const Self) }
                }
                #[doc = #d6]
                #[inline]
                pub fn from_rc(value: ::std::rc::Rc<#value>) -> ::std::rc::Rc<Self> {
                    let object: ::std::rc::Rc<#dyn_type> = #support::erase_rc(value);
                    // SAFETY: as in `from_arc`.
                    unsafe { ::std::rc::Rc::from_raw(::std::rc::Rc::into_raw(object) as *const Self) }
                }
                #[doc = #d7]
                #[inline]
                pub const fn from_ref(value: &(#value)) -> &Self {
                    let object: &(#dyn_type) = value;
                    // SAFETY: `repr(transparent)`; the borrow is `value`'s.
                    unsafe { &*(object as *const (#dyn_type) as *const Self) }
                }
                #[doc = #d8]
                #[inline]
                pub const fn from_mut(value: &mut (#value)) -> &mut Self {
                    let object: &mut (#dyn_type) = value;
                    // SAFETY: `repr(transparent)`; the unique borrow is `value`'s.
                    unsafe { &mut *(object as *mut (#dyn_type) as *mut Self) }
                }
            }
        }
    }

    /// For a `dyn` form with a pinned receiver, which passes its pin on to the trait object
    /// (`Receiver::object`): an `Unpin` impl as the auto trait's (the form is `Unpin` when the
    /// object is), so that a user's `impl Unpin` conflicts with it, and an impl of a local
    /// trait that conflicts with one for every `Drop` type, so that a user's `impl Drop`
    /// (which gets `&mut` to a pinned form) does too: pin-project's guards.
    fn pin_guards(&self) -> TokenStream {
        let pinned = self
            .dyn_methods()
            .any(|m| matches!(m.receiver, Some(Receiver::PinMut | Receiver::PinRef)));
        if !pinned {
            return quote!();
        }
        let lt = &self.lt;
        let params = self.trait_params(true);
        let assocs: Vec<&Ident> = self.assocs.iter().map(|a| &a.ident).collect();
        let dyn_type = self.dyn_type();
        let dyn_self = self.dyn_self();
        let mut predicates = self.maybe_unsized_params();
        predicates.extend(self.maybe_unsized_assocs());
        predicates.extend(self.outlives_supertraits());
        let support = self.args.options.macro_support(Span::call_site());
        let pin = Lifetime::new("'__dyn_trait_pin", Span::mixed_site());
        let guard = Ident::new("MustNotImplDrop", Span::mixed_site());
        let any = Ident::new("__DynTraitAny", Span::mixed_site());
        quote! {
            impl<#pin, #lt, #(#params,)* #(#assocs),*> ::core::marker::Unpin for #dyn_self
            where
                #(#predicates,)*
                #support::PinGuard<#pin, #dyn_type>: ::core::marker::Unpin,
            {
            }

            const _: () = {
                trait #guard {}
                impl<#any: ::core::ops::Drop + ?::core::marker::Sized> #guard for #any {}
                impl<#lt, #(#params,)* #(#assocs),*> #guard for #dyn_self
                where
                    #(#predicates,)*
                {
                }
            };
        }
    }

    /// `DynTrait<'dyn_trait, T.., Assoc..>`, the `dyn` form as a type.
    fn dyn_self(&self) -> TokenStream {
        let name = &self.args.name;
        let args = self.dyn_captures();
        quote!(#name<#(#args),*>)
    }

    /// `impl Trait for dyn __ErasedTrait`: each method calls the erased one.
    fn dyn_impl(&self) -> TokenStream {
        let params = self.dyn_params();
        let dyn_self = self.dyn_self();
        let trait_path = self.trait_path();
        let erased_path = self.erased_path();
        let dyn_type = self.dyn_type();
        let where_clause = self.dyn_where();
        let assocs = self.assocs.iter().map(|a| {
            let ident = &a.ident;
            let cfgs = &a.cfgs;
            quote!(#(#cfgs)* type #ident = #ident;)
        });
        let captured = self.dyn_captures();
        let mut methods = Vec::new();
        for m in self.dyn_methods() {
            let ImplSignature {
                tokens: sig,
                names,
                borrows,
            } = m.impl_signature(&captured);
            let ident = method::erased_name(&m.item.sig.ident);
            let receiver = m.receiver.expect("a method of the dyn form has a receiver");
            let object = receiver.object();
            let arguments = m.boxed_arguments(&names);
            let call = unsafe_call(
                &m.item.sig,
                quote!(<#dyn_type as #erased_path>::#ident(#object, #(#arguments),*)),
            );
            let body = m.dyn_body(call, borrows, &self.args.options);
            let cfgs = m.carried_attrs();
            methods.push(quote! {
                #(#cfgs)*
                #[inline]
                #sig {
                    #body
                }
            });
        }
        // A `where Self: Sized` method without a default body: the `dyn` form is unsized, so
        // nothing can call it. Rust 1.87 and later let the impl leave it out (`build.rs`);
        // before, the impl must give it a body.
        let name = self.args.name.to_string();
        let mut dead_opaque = false;
        for m in &self.methods {
            if matches!(m.kind, Kind::SizedOnly)
                && m.item.default.is_none()
                && !cfg!(valuetask_omits_sized_methods)
            {
                let (sig, _) = m.named_arguments();
                let cfgs = m.carried_attrs();
                let message = format!(
                    "`{name}` is unsized: its `where Self: Sized` methods cannot be called"
                );
                // `-> impl Future`: a diverging `async` block, whose output the bound names.
                // Another `impl Trait` gets `unreachable!()`, of type `()`: before Rust 1.87
                // its bounds must hold for `()` (`impl Debug` does), else the trait gives a
                // default body.
                let returns_future = match &sig.output {
                    syn::ReturnType::Type(_, ty) => match &**ty {
                        syn::Type::ImplTrait(it) => method::future_output(&it.bounds).is_some(),
                        _ => false,
                    },
                    syn::ReturnType::Default => false,
                };
                let body = if sig.asyncness.is_none() && returns_future {
                    // Its opaque type, under a bound nothing meets, is dead code to rustc,
                    // which reads the lint's level at the impl, not the method.
                    (
                        quote!(async { ::core::unreachable!(#message) }),
                        quote!(#[allow(dead_code)]),
                    )
                } else {
                    (quote!(::core::unreachable!(#message)), quote!())
                };
                let (body, allow) = body;
                dead_opaque |= !allow.is_empty();
                methods.push(quote! {
                    #(#cfgs)*
                    #sig {
                        #body
                    }
                });
            }
        }
        let allow = dead_opaque.then(|| quote!(#[allow(dead_code)]));
        // The signatures are the trait's own; rustc still calls one whose future's output
        // holds a function type (`fn(&str) -> bool`) a refinement of itself.
        quote! {
            #allow
            #[allow(refining_impl_trait)]
            impl<#params> #trait_path for #dyn_self #where_clause {
                #(#assocs)*
                #(#methods)*
            }
        }
    }

    /// The trait's `where` predicates for an impl outside the trait, `Self::Assoc` in them
    /// naming the `dyn` form's parameter (`implementor: None`) or `<implementor as
    /// Trait>::Assoc`: in those impls `Self` is another type. A bare `Self` stays (a bound on
    /// `Self` is a supertrait, as the trait's own supertraits are there).
    fn where_predicates(&self, implementor: Option<&TokenStream>) -> Vec<TokenStream> {
        let to = match implementor {
            None => SelfAssocIn::Param,
            Some(implementor) => {
                let trait_path = self.trait_path();
                SelfAssocIn::Qualified(quote!(#implementor as #trait_path))
            }
        };
        self.where_predicates_in(to)
    }

    /// The trait's `where` predicates, each `Self::Assoc` (however written) as `to` says.
    fn where_predicates_in(&self, to: SelfAssocIn) -> Vec<TokenStream> {
        let Some(w) = &self.item.generics.where_clause else {
            return Vec::new();
        };
        let names: Vec<&Ident> = self.assocs.iter().map(|a| &a.ident).collect();
        let mut rewrite = RewriteSelfAssoc { assocs: &names, to };
        w.predicates
            .iter()
            .cloned()
            .map(|mut p| {
                rewrite.visit_where_predicate_mut(&mut p);
                quote!(#p)
            })
            .collect()
    }

    /// The `dyn` form's struct and constructors need the trait's `where` clause (a value of
    /// the trait brings its associated types' bounds), and an associated type's `?Sized`,
    /// which its parameter would otherwise lose (a `type Key: ?Sized` implemented as `str`).
    fn trait_where(&self) -> TokenStream {
        let mut predicates = self.where_predicates(None);
        predicates.extend(self.maybe_unsized_assocs());
        predicates.extend(self.outlives_supertraits());
        if predicates.is_empty() {
            quote!()
        } else {
            quote!(where #(#predicates),*)
        }
    }

    /// The `dyn` form's struct's `where` clause: an associated type's `?Sized`, and what the
    /// trait object's lifetime must outlive ([`outlives_supertraits`](Self::outlives_supertraits)).
    fn struct_where(&self) -> TokenStream {
        let mut predicates: Vec<TokenStream> = self.maybe_unsized_params();
        predicates.extend(self.maybe_unsized_assocs());
        predicates.extend(self.outlives_supertraits());
        if predicates.is_empty() {
            quote!()
        } else {
            quote!(where #(#predicates),*)
        }
    }

    /// `Assoc: ?Sized` for each associated type declared `?Sized`.
    fn maybe_unsized_assocs(&self) -> Vec<TokenStream> {
        self.assocs
            .iter()
            .filter(|a| has_maybe_sized(&a.bounds))
            .map(|a| {
                let ident = &a.ident;
                quote!(#ident: ?::core::marker::Sized)
            })
            .collect()
    }

    /// `T: ?Sized` for each of the trait's type parameters declared `?Sized`, in its list or
    /// its `where` clause: what a header declaring the parameters by name
    /// ([`trait_params`](Self::trait_params)) must add, or the parameter is `Sized` there.
    fn maybe_unsized_params(&self) -> Vec<TokenStream> {
        let generics = &self.item.generics;
        generics
            .type_params()
            .filter(|t| {
                has_maybe_sized(&t.bounds)
                    || generics.where_clause.iter().any(|w| {
                        w.predicates.iter().any(|p| match p {
                            syn::WherePredicate::Type(p) => {
                                matches!(&p.bounded_ty, syn::Type::Path(ty)
                                    if ty.qself.is_none() && ty.path.is_ident(&t.ident))
                                    && has_maybe_sized(&p.bounds)
                            }
                            _ => false,
                        })
                    })
            })
            .map(|t| {
                let ident = &t.ident;
                quote!(#ident: ?::core::marker::Sized)
            })
            .collect()
    }

    /// `'dyn_trait: 'a` for each lifetime among the trait's supertraits (`trait Handler:
    /// Send + 'static`, or `where Self: 'static`), and `'static` for `Any` (by name): its trait object is only
    /// well-formed for such a `'dyn_trait`. A lifetime a supertrait of a supertrait asks
    /// (`trait Plugin: Base` with `trait Base: 'static`) cannot be seen from here: rustc then
    /// says at the attribute that `'dyn_trait` must outlive it; write it on the trait too.
    fn outlives_supertraits(&self) -> Vec<TokenStream> {
        let lt = &self.lt;
        // `where Self: 'static` on the trait is a supertrait too.
        let in_where = self
            .item
            .generics
            .where_clause
            .iter()
            .flat_map(|w| w.predicates.iter())
            .filter_map(|p| match p {
                syn::WherePredicate::Type(p)
                    if matches!(&p.bounded_ty, syn::Type::Path(ty)
                        if ty.qself.is_none() && ty.path.is_ident("Self")) =>
                {
                    Some(&p.bounds)
                }
                _ => None,
            })
            .flatten();
        self.item
            .supertraits
            .iter()
            .chain(in_where)
            .filter_map(|b| match b {
                syn::TypeParamBound::Lifetime(l) => Some(quote!(#lt: #l)),
                syn::TypeParamBound::Trait(t)
                    if t.path.segments.last().is_some_and(|s| s.ident == "Any") =>
                {
                    Some(quote!(#lt: 'static))
                }
                _ => None,
            })
            .collect()
    }

    /// `impl<T: Trait + ?Sized> Trait for &T / &mut T / Box<T>`, each where every method's
    /// receiver can be passed on, and no `where Self: Sized` method lacks a default body.
    fn bridges(&self) -> TokenStream {
        let sized_without_default = self
            .methods
            .iter()
            .any(|m| matches!(m.kind, Kind::SizedOnly) && m.item.default.is_none());
        if self.args.bridge == Bridge::None || sized_without_default {
            return quote!();
        }
        let receivers: Vec<Receiver> = self
            .dyn_methods()
            .map(|m| m.receiver.expect("a method of the dyn form has a receiver"))
            .collect();
        let all = |allowed: &[Receiver]| receivers.iter().all(|r| allowed.contains(r));
        let mut out = TokenStream::new();
        if all(&[Receiver::Ref]) {
            out.extend(self.bridge(Pointer::Ref));
        }
        if all(&[Receiver::Ref, Receiver::Mut]) {
            out.extend(self.bridge(Pointer::Mut));
        }
        if all(&[Receiver::Ref, Receiver::Mut, Receiver::Boxed]) {
            out.extend(self.bridge(Pointer::Box));
        }
        out
    }

    /// `Trait` for a pointer to any implementor (`bridge(blanket)`) or to the `dyn` form
    /// (`bridge(dyn)`), forwarding each method; conditional on the trait's supertraits, which
    /// the pointer need not have.
    fn bridge(&self, pointer: Pointer) -> TokenStream {
        let trait_path = self.trait_path();
        let generic = Ident::new("__DynTraitImpl", Span::mixed_site());
        let (params, inner, mut predicates) = if self.args.bridge == Bridge::Dyn {
            (self.dyn_params(), self.dyn_self(), self.dyn_predicates())
        } else {
            let params = self.impl_params();
            let predicates = self.where_predicates(Some(&quote!(#generic)));
            (
                quote!(#(#params,)* #generic: #trait_path + ?Sized),
                quote!(#generic),
                predicates,
            )
        };
        for supertrait in &self.item.supertraits {
            predicates.push(quote!(Self: #supertrait));
        }
        let where_clause = if predicates.is_empty() {
            quote!()
        } else {
            quote!(where #(#predicates),*)
        };
        let self_type = match pointer {
            Pointer::Ref => quote!(&#inner),
            Pointer::Mut => quote!(&mut #inner),
            Pointer::Box => quote!(::std::boxed::Box<#inner>),
        };
        let assocs = self.assocs.iter().map(|a| {
            let ident = &a.ident;
            let cfgs = &a.cfgs;
            quote!(#(#cfgs)* type #ident = <#inner as #trait_path>::#ident;)
        });
        let captured = if self.args.bridge == Bridge::Dyn {
            self.dyn_captures()
        } else {
            let mut captured = self.trait_args();
            captured.push(quote!(#generic));
            captured
        };
        let methods = self.dyn_methods().map(|m| {
            let ImplSignature {
                tokens: sig, names, ..
            } = m.impl_signature(&captured);
            let ident = &m.item.sig.ident;
            let receiver = if m.receiver == Some(Receiver::Boxed) {
                quote!(*self)
            } else {
                quote!(self)
            };
            let call = unsafe_call(
                &m.item.sig,
                quote!(<#inner as #trait_path>::#ident(#receiver, #(#names),*)),
            );
            let cfgs = m.carried_attrs();
            quote! {
                #(#cfgs)*
                #[inline]
                #sig {
                    #call
                }
            }
        });
        quote! {
            #[allow(refining_impl_trait)] // as on the `dyn` form's impl
            impl<#params> #trait_path for #self_type #where_clause {
                #(#assocs)*
                #(#methods)*
            }
        }
    }
}

/// A `?Sized` among `bounds`.
fn has_maybe_sized(
    bounds: &syn::punctuated::Punctuated<syn::TypeParamBound, syn::Token![+]>,
) -> bool {
    bounds.iter().any(|b| {
        matches!(b, syn::TypeParamBound::Trait(t)
            if matches!(t.modifier, syn::TraitBoundModifier::Maybe(_)))
    })
}

/// What a bridge impl is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pointer {
    Ref,
    Mut,
    Box,
}

/// `call`, in an `unsafe` block when the method is an `unsafe fn` (its caller took on its
/// contract, which the call passes on unchanged).
fn unsafe_call(sig: &syn::Signature, call: TokenStream) -> TokenStream {
    if sig.unsafety.is_some() {
        // SAFETY (of the expansion): the generated `unsafe fn` forwards its own contract.
        quote!(unsafe { #call })
    } else {
        call
    }
}

fn cfgs(attrs: &[syn::Attribute]) -> Vec<syn::Attribute> {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg"))
        .cloned()
        .collect()
}

/// `output: Send` for the `dyn` form's impl (its associated types as its parameters, the
/// method's lifetimes, named or elided, under `for<..>`; the trait's own, `in_scope`, are the
/// impl's parameters and stay free); `None` for an output naming `Self` otherwise, which the
/// impl cannot write (the value task's `Send` then rests on the trait's own bounds).
/// Lifetimes a `for<..>` inside the output declares stay bound there, and a function type's
/// or `Fn(..)`'s elided ones are its own (a named one of the method's is still declared).
fn output_is_send(
    output: &syn::Type,
    assocs: &[&Ident],
    in_scope: &[&Ident],
) -> Option<TokenStream> {
    // At the output's span: a concrete output that is not `Send` is an error there (the
    // predicate has no parameter to wait for), which then points at the type to change.
    let span = syn::spanned::Spanned::span(output);
    let (named, output) = output_in_impl(output, assocs, in_scope)?;
    Some(if named.is_empty() {
        quote_spanned!(span=> #output: ::core::marker::Send)
    } else {
        quote_spanned!(span=> for<#(#named),*> #output: ::core::marker::Send)
    })
}

/// `output: 'l` for the `dyn` form's impl, for a future bounded by `'l`, `'static` or one
/// of the trait's lifetimes: its value task is `ValueTask<'l, output>`, which needs it (a
/// boxed `dyn Future + 'l` does not). `None` when the output names `Self` otherwise or a
/// lifetime of the method's: the impl cannot say it (the bound then rests on the trait's
/// own bounds, and a missing one is rustc's error at the trait).
fn output_outlives(
    output: &syn::Type,
    assocs: &[&Ident],
    in_scope: &[&Ident],
    lifetime: &Lifetime,
) -> Option<TokenStream> {
    if lifetime.ident != "static" && !in_scope.contains(&&lifetime.ident) {
        return None;
    }
    let (named, output) = output_in_impl(output, assocs, in_scope)?;
    named.is_empty().then(|| quote!(#output: #lifetime))
}

/// `output` as the `dyn` form's impl writes it (its associated types as its parameters, its
/// elided lifetimes named), and the lifetimes it names that are the method's (to declare
/// under `for<..>`); `None` for an output naming `Self` otherwise.
fn output_in_impl(
    output: &syn::Type,
    assocs: &[&Ident],
    in_scope: &[&Ident],
) -> Option<(Vec<Lifetime>, syn::Type)> {
    struct Lifetimes<'s> {
        named: Vec<Lifetime>,
        uses_self: bool,
        in_scope: &'s [&'s Ident],
        /// Declared by a `for<..>` the visitor is inside.
        bound: Vec<Ident>,
        /// Inside a function type or `Fn(..)`, whose elided lifetimes are its own.
        in_fn: usize,
    }
    impl VisitMut for Lifetimes<'_> {
        fn visit_type_bare_fn_mut(&mut self, f: &mut syn::TypeBareFn) {
            let depth = self.bound.len();
            self.bound.extend(declared_lifetimes(f.lifetimes.as_ref()));
            self.in_fn += 1;
            syn::visit_mut::visit_type_bare_fn_mut(self, f);
            self.in_fn -= 1;
            self.bound.truncate(depth);
        }
        fn visit_parenthesized_generic_arguments_mut(
            &mut self,
            args: &mut syn::ParenthesizedGenericArguments,
        ) {
            self.in_fn += 1;
            syn::visit_mut::visit_parenthesized_generic_arguments_mut(self, args);
            self.in_fn -= 1;
        }
        fn visit_trait_bound_mut(&mut self, bound: &mut syn::TraitBound) {
            let depth = self.bound.len();
            self.bound
                .extend(declared_lifetimes(bound.lifetimes.as_ref()));
            syn::visit_mut::visit_path_mut(self, &mut bound.path);
            self.bound.truncate(depth);
        }
        fn visit_type_reference_mut(&mut self, r: &mut syn::TypeReference) {
            if r.lifetime.is_none() && self.in_fn == 0 {
                let lt = Lifetime::new(&format!("'__send{}", self.named.len()), Span::call_site());
                self.named.push(lt.clone());
                r.lifetime = Some(lt);
            }
            syn::visit_mut::visit_type_reference_mut(self, r);
        }
        fn visit_lifetime_mut(&mut self, lt: &mut Lifetime) {
            if lt.ident == "_" {
                if self.in_fn > 0 {
                    return;
                }
                *lt = Lifetime::new(&format!("'__send{}", self.named.len()), Span::call_site());
                self.named.push(lt.clone());
            } else if lt.ident != "static"
                && !self.in_scope.contains(&&lt.ident)
                && !self.bound.contains(&lt.ident)
                && !self.named.iter().any(|n| n.ident == lt.ident)
            {
                self.named.push(lt.clone());
            }
        }
        fn visit_path_segment_mut(&mut self, segment: &mut syn::PathSegment) {
            self.uses_self |= segment.ident == "Self";
            syn::visit_mut::visit_path_segment_mut(self, segment);
        }
    }
    let mut output = output.clone();
    RewriteSelfAssoc {
        assocs,
        to: SelfAssocIn::Param,
    }
    .visit_type_mut(&mut output);
    let mut lifetimes = Lifetimes {
        named: Vec::new(),
        uses_self: false,
        in_scope,
        bound: Vec::new(),
        in_fn: 0,
    };
    lifetimes.visit_type_mut(&mut output);
    if lifetimes.uses_self {
        return None;
    }
    Some((lifetimes.named, output))
}

/// The lifetimes a `for<..>` declares.
fn declared_lifetimes(binder: Option<&syn::BoundLifetimes>) -> Vec<Ident> {
    binder
        .iter()
        .flat_map(|b| b.lifetimes.iter())
        .filter_map(|p| match p {
            syn::GenericParam::Lifetime(l) => Some(l.lifetime.ident.clone()),
            _ => None,
        })
        .collect()
}

/// Where [`RewriteSelfAssoc`] sends `Self::Assoc`.
enum SelfAssocIn {
    /// `Assoc`: the `dyn` form's parameter of that name.
    Param,
    /// `Self::Assoc`: the erased trait's own (for `<Self as Trait>::Assoc`, which would ask
    /// the erased trait's `Self` to implement the trait).
    Own,
    /// `<Implementor as Trait>::Assoc`, in an impl for a generic implementor whose `Self`
    /// has the erased trait's `Assoc` too (or, for a pointer, none of its own).
    Qualified(TokenStream),
}

/// Rewrites `Self::Assoc`, `<Self as Trait>::Assoc` and `<Self>::Assoc` for an item outside
/// the trait ([`SelfAssocIn`]).
struct RewriteSelfAssoc<'n> {
    assocs: &'n [&'n Ident],
    to: SelfAssocIn,
}

impl VisitMut for RewriteSelfAssoc<'_> {
    fn visit_type_mut(&mut self, ty: &mut syn::Type) {
        if let Some(ident) = self_assoc(ty, self.assocs) {
            *ty = match &self.to {
                SelfAssocIn::Param => parse_quote!(#ident),
                SelfAssocIn::Own => parse_quote!(Self::#ident),
                SelfAssocIn::Qualified(qualified) => parse_quote!(<#qualified>::#ident),
            };
            return;
        }
        syn::visit_mut::visit_type_mut(self, ty);
    }
}

/// `Assoc` when `ty` is `Self::Assoc`, `<Self as Trait>::Assoc` or `<Self>::Assoc`, an
/// associated type among `assocs`.
fn self_assoc(ty: &syn::Type, assocs: &[&Ident]) -> Option<Ident> {
    let syn::Type::Path(p) = ty else {
        return None;
    };
    let segments = &p.path.segments;
    let last = segments.last()?;
    if !last.arguments.is_none() || !assocs.contains(&&last.ident) {
        return None;
    }
    let of_self = match &p.qself {
        // `Self::Assoc`
        None => segments.len() == 2 && segments[0].ident == "Self",
        // `<Self as Trait>::Assoc` (the trait's path, then the item) or `<Self>::Assoc`
        Some(q) => {
            matches!(&*q.ty, syn::Type::Path(t) if t.qself.is_none() && t.path.is_ident("Self"))
                && q.position + 1 == segments.len()
        }
    };
    of_self.then(|| last.ident.clone())
}

/// Whether `tokens` name one of `idents` or `Self` anywhere.
fn names_any(tokens: &TokenStream, idents: &[&Ident]) -> bool {
    tokens.clone().into_iter().any(|tree| match tree {
        proc_macro2::TokenTree::Ident(ident) => ident == "Self" || idents.contains(&&ident),
        proc_macro2::TokenTree::Group(group) => names_any(&group.stream(), idents),
        _ => false,
    })
}

/// Whether `tokens` name `Self` anywhere.
fn names_self(tokens: &TokenStream) -> bool {
    tokens.clone().into_iter().any(|tree| match tree {
        proc_macro2::TokenTree::Ident(ident) => ident == "Self",
        proc_macro2::TokenTree::Group(group) => names_self(&group.stream()),
        _ => false,
    })
}
