//! The attribute's options: `?Send` (on the item) and `boxed` (on the item or one method).

use proc_macro2::TokenStream;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Token};

/// Options given to `#[value_task(...)]`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// `?Send`: futures need not be `Send`; methods return `LocalValueTask`.
    pub local: bool,
    /// `boxed`: store futures in a plain box instead of the pool.
    pub boxed: bool,
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
                options.local = true;
            } else {
                let ident: syn::Ident = input.parse()?;
                if ident == "boxed" {
                    options.boxed = true;
                } else {
                    return Err(syn::Error::new(
                        ident.span(),
                        format!(
                            "unknown #[value_task] option `{ident}`: expected `?Send` or `boxed`"
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

impl Options {
    pub fn from_tokens(tokens: TokenStream) -> syn::Result<Self> {
        syn::parse2(tokens)
    }

    /// Remove `#[value_task(...)]` attributes from a method and merge their options (a
    /// method may only opt out of pooling). Such an attribute on a method that is not an
    /// `async fn` is an error: it would have nothing to apply to.
    pub fn take_method_options(
        self,
        attrs: &mut Vec<Attribute>,
        sig: &syn::Signature,
    ) -> syn::Result<Self> {
        let mut merged = self;
        let mut error = None;
        attrs.retain(|attr| {
            if !attr.path().is_ident("value_task") {
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
                Ok(o) => merged.boxed |= o.boxed,
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
