//! The attribute's options: `?Send` and `crate = path` (on the item), `boxed` and `lazy` (on
//! the item or one method).

use proc_macro2::{Span, TokenStream};
use quote::quote_spanned;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Token};

/// Options given to `#[value_task(...)]`.
///
/// (Not `Debug`: `syn::Path` is `Debug` only with syn's `extra-traits` feature.)
#[derive(Clone, Default)]
pub struct Options {
    /// `?Send`: futures need not be `Send`; methods return `LocalValueTask`.
    pub local: bool,
    /// `boxed`: store futures in a plain box instead of the pool.
    pub boxed: bool,
    /// `lazy`: the body runs at the first poll, not at the call (`#[async_trait]`'s timing).
    pub lazy: bool,
    /// `crate = path`: where the `valuetask` crate is (for crates that re-export it);
    /// `::valuetask` when absent.
    pub krate: Option<syn::Path>,
    /// `__deferred(place; generic names)`: the second stage of a method rewritten after its
    /// other attribute macros (written by the first stage, never by users).
    pub deferred: Option<Deferred>,
    /// The item a method belongs to, for the `stats` advisor's name (`Type::method`): the
    /// impl's type or the trait. Set by the expansion (`__owner = "Name"` on a deferred
    /// method), never by users.
    pub owner: Option<String>,
}

/// Where a deferred method lives, and the names of its enclosing item's generic parameters.
#[derive(Clone)]
pub struct Deferred {
    pub place: DeferredPlace,
    pub outer: Vec<syn::GenericParam>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum DeferredPlace {
    Impl,
    TraitDefault,
    Free,
}

impl Parse for Options {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut options = Options::default();
        while !input.is_empty() {
            if input.peek(Token![?]) {
                input.parse::<Token![?]>()?;
                let ident: syn::Ident = input.parse()?;
                if ident != "Send" {
                    return Err(syn::Error::new(
                        ident.span(),
                        "expected `?Send` (futures that are not Send)",
                    ));
                }
                if std::mem::replace(&mut options.local, true) {
                    return Err(syn::Error::new(ident.span(), "`?Send` given twice"));
                }
            } else if input.peek(Token![crate]) {
                let keyword = input.parse::<Token![crate]>()?;
                input.parse::<Token![=]>()?;
                let path = crate_path(input)?;
                if options.krate.replace(path).is_some() {
                    return Err(syn::Error::new(keyword.span, "`crate` given twice"));
                }
            } else {
                let ident: syn::Ident = input.parse()?;
                if ident == "boxed" {
                    if std::mem::replace(&mut options.boxed, true) {
                        return Err(syn::Error::new(ident.span(), "`boxed` given twice"));
                    }
                    if options.lazy {
                        return Err(both_boxed_and_lazy(ident.span()));
                    }
                } else if ident == "lazy" {
                    if std::mem::replace(&mut options.lazy, true) {
                        return Err(syn::Error::new(ident.span(), "`lazy` given twice"));
                    }
                    if options.boxed {
                        return Err(both_boxed_and_lazy(ident.span()));
                    }
                } else if ident == "__deferred" {
                    options.deferred = Some(parse_deferred(input)?);
                } else if ident == "__owner" {
                    input.parse::<Token![=]>()?;
                    options.owner = Some(input.parse::<syn::LitStr>()?.value());
                } else {
                    return Err(syn::Error::new(
                        ident.span(),
                        format!(
                            "unknown #[value_task] option `{ident}`: expected `?Send`, `boxed`, `lazy` or `crate = path`"
                        ),
                    ));
                }
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(options)
    }
}

/// `boxed` and `lazy` on one method (or on one `#[dyn_trait]`).
pub(crate) fn both_boxed_and_lazy(span: Span) -> syn::Error {
    syn::Error::new(
        span,
        "`boxed` and `lazy` together: a lazy body is kept in pooled storage; choose one",
    )
}

/// `(impl | trait_default | free; 'a, T, ..)`.
fn parse_deferred(input: ParseStream<'_>) -> syn::Result<Deferred> {
    let content;
    syn::parenthesized!(content in input);
    let place = if content.peek(Token![impl]) {
        content.parse::<Token![impl]>()?;
        DeferredPlace::Impl
    } else {
        let ident: syn::Ident = content.parse()?;
        match ident.to_string().as_str() {
            "trait_default" => DeferredPlace::TraitDefault,
            "free" => DeferredPlace::Free,
            _ => return Err(syn::Error::new(ident.span(), "unknown deferred place")),
        }
    };
    content.parse::<Token![;]>()?;
    let outer = content.parse_terminated(syn::GenericParam::parse, Token![,])?;
    Ok(Deferred {
        place,
        outer: outer.into_iter().collect(),
    })
}

impl Options {
    pub fn from_tokens(tokens: TokenStream) -> syn::Result<Self> {
        syn::parse2(tokens)
    }

    /// The path of the `valuetask` crate in the expansion; the default one spanned at
    /// `span`, so that diagnostics about the expansion point where the caller wants them.
    pub fn krate(&self, span: Span) -> TokenStream {
        match &self.krate {
            Some(path) => quote_spanned!(span=> #path),
            None => quote_spanned!(span=> ::valuetask),
        }
    }

    /// The path to the crate's hidden `macro_support` module. Under `crate = path` the
    /// `macro_support` segment takes the span of the user's path, so a path that does not
    /// re-export it is reported there, not in the method.
    pub fn macro_support(&self, span: Span) -> TokenStream {
        let krate = self.krate(span);
        let module_span = self
            .krate
            .as_ref()
            .map_or(span, syn::spanned::Spanned::span);
        let module = syn::Ident::new("macro_support", module_span);
        quote::quote!(#krate::#module)
    }

    /// Remove `#[value_task(...)]` attributes from a method and merge their options (a
    /// method may only opt out of pooling or of the eager start). Such an attribute on a method that is not an
    /// `async fn` is an error: it would have nothing to apply to.
    pub fn take_method_options(
        &self,
        attrs: &mut Vec<Attribute>,
        sig: &syn::Signature,
    ) -> syn::Result<Self> {
        let mut merged = self.clone();
        let mut error = None;
        attrs.retain(|attr| {
            // Under `cfg_attr`, rustc applies it after this rewrite, to a method that is no
            // longer `async`: say so here, at the attribute.
            if cfg_attr_names_value_task(attr) {
                error.get_or_insert(syn::Error::new_spanned(
                    attr,
                    "#[value_task] options under `cfg_attr` on a method are applied after the \
                     outer #[value_task] rewrote it: write the method twice, under `#[cfg(..)]` \
                     and `#[cfg(not(..))]`, each with its own `#[value_task(..)]`",
                ));
                return false;
            }
            // `#[value_task(..)]` or a path to it (`#[valuetask::value_task(boxed)]`).
            if attr.path().segments.last().is_none_or(|s| s.ident != "value_task") {
                return true;
            }
            if sig.asyncness.is_none() {
                error.get_or_insert(syn::Error::new_spanned(
                    attr,
                    format!(
                        "#[value_task] on a method expects an `async fn`; `{}` is not async",
                        sig.ident
                    ),
                ));
                return false;
            }
            let parsed = match &attr.meta {
                syn::Meta::Path(_) => Ok(Options::default()),
                _ => attr.parse_args::<Options>(),
            };
            match parsed {
                Ok(o) if o.local && !self.local => {
                    error.get_or_insert(syn::Error::new_spanned(
                        attr,
                        "`?Send` applies to the whole trait or impl: put it on the outer #[value_task]",
                    ));
                }
                Ok(o) if o.local => {
                    error.get_or_insert(syn::Error::new_spanned(
                        attr,
                        "`?Send` is already on the whole trait or impl: this changes nothing",
                    ));
                }
                Ok(o) if o.krate.is_some() => {
                    error.get_or_insert(syn::Error::new_spanned(
                        attr,
                        "`crate = ..` applies to the whole trait or impl: put it on the outer #[value_task]",
                    ));
                }
                Ok(o) if o.boxed && self.boxed => {
                    error.get_or_insert(syn::Error::new_spanned(
                        attr,
                        "`boxed` is already on the whole trait or impl: this changes nothing",
                    ));
                }
                Ok(o) if o.lazy && self.lazy => {
                    error.get_or_insert(syn::Error::new_spanned(
                        attr,
                        "`lazy` is already on the whole trait or impl: this changes nothing",
                    ));
                }
                Ok(o) if (o.boxed || self.boxed) && (o.lazy || self.lazy) => {
                    error.get_or_insert(syn::Error::new_spanned(
                        attr,
                        both_boxed_and_lazy(Span::call_site()).to_string(),
                    ));
                }
                Ok(o) => {
                    merged.boxed |= o.boxed;
                    merged.lazy |= o.lazy;
                }
                Err(e) => {
                    error.get_or_insert(e);
                }
            }
            false
        });
        match error {
            Some(e) => Err(e),
            None => Ok(merged),
        }
    }
}

/// The path after `crate =`: `"path"` (as serde and tokio spell it) or `path`.
pub(crate) fn crate_path(input: ParseStream) -> syn::Result<syn::Path> {
    if input.peek(syn::LitStr) {
        let lit = input.parse::<syn::LitStr>()?;
        lit.parse::<syn::Path>().map_err(|_| {
            syn::Error::new(
                lit.span(),
                format!(
                    "`crate = {:?}`: expected a path to the valuetask crate, such as `my_crate::valuetask`",
                    lit.value()
                ),
            )
        })
    } else {
        input.parse::<syn::Path>()
    }
}

/// Whether `attr` is a `#[cfg_attr(predicate, ..)]` one of whose attributes is a
/// `value_task` (by that name, at the end of any path).
fn cfg_attr_names_value_task(attr: &Attribute) -> bool {
    if !attr.path().is_ident("cfg_attr") {
        return false;
    }
    let Ok(metas) = attr.parse_args_with(
        syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated,
    ) else {
        return false;
    };
    metas.iter().skip(1).any(|m| {
        m.path()
            .segments
            .last()
            .is_some_and(|s| s.ident == "value_task")
    })
}
