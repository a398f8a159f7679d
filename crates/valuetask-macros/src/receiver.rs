//! The receiver and `Self`: whether a signature or body uses `Self`, what a receiver's type
//! needs (`Self: Sync` or `Send`), and how argument patterns bind.

use proc_macro2::{Span, TokenStream};
use syn::{Block, FnArg, Item, Pat, PatIdent, Signature, Type, TypeReference};

/// Whether a method uses `Self`: a receiver, or the `Self` type in its signature or (when
/// given) its body, macro arguments included and nested items (with a `Self` of their own)
/// excluded. Then its future may hold `Self` values, and gets the bounds async-trait gives.
/// Impls decide from the signature alone, so they never demand more than their trait.
pub(crate) fn uses_self(sig: &Signature, body: Option<&Block>) -> bool {
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

/// True when `pat` has no `mut` and no `ref` binding anywhere.
pub(crate) fn binds_plainly(pat: &Pat) -> bool {
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
pub(crate) fn binds_by_mut_ref(pat: &Pat) -> bool {
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

/// The span of the method's receiver's `self` token, if it has one: code spanned with it
/// that names `self` resolves it with the hygiene the user's `self` came with (in an item a
/// `macro_rules!` writes from `&$self`, the receiver's first token, `&`, is the macro's).
pub(crate) fn receiver_span(sig: &Signature) -> Option<Span> {
    match sig.inputs.first() {
        Some(FnArg::Receiver(receiver)) => Some(receiver.self_token.span),
        _ => None,
    }
}

/// Whether `ty` holds a reference anywhere.
pub(crate) fn contains_reference(ty: &Type) -> bool {
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

pub(crate) fn is_ident(ty: &Type, ident: &syn::Ident) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none() && p.path.is_ident(ident))
}

/// What a default body's `Send` future needs of `Self`, given how the receiver holds it.
pub(crate) enum SelfNeeds {
    /// `&self`, `Pin<&Self>`: shared references cross threads, so `Self: Sync`.
    Sync,
    /// `self`, `&mut self`, `Box<Self>`, `Pin<&mut Self>`: `Self: Send`.
    Send,
    /// `Arc<Self>`: `Self: Send + Sync`.
    SendSync,
}

pub(crate) fn receiver_needs(ty: &Type) -> SelfNeeds {
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
