//! `#[dyn_trait(..)]`'s arguments: dynosaur's syntax, 0.3's and 0.2's, and `#[value_task]`'s
//! options.
//!
//! ```text
//! [vis] DynName [= dyn[(box)] [Trait]] [, bridge(blanket | dyn | none)] [, ?Send] [, lazy] [, boxed] [, crate = path]
//! ```
//!
//! dynosaur 0.3 writes `pub DynStore = dyn(box) Store` or `DynStore = dyn(box)`, 0.2
//! `DynStore = dyn Store` or `DynStore` alone. `dyn(box)` names dynosaur's strategy (a box per call); here the calls' value tasks are
//! pooled either way, and `boxed` asks for a box.

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, Token, Visibility};

use crate::options::Options;

/// Which impls of the trait go with the `dyn` form (dynosaur's `bridge(..)`; the default is
/// `blanket` after `dyn(box)`, as in dynosaur 0.3, and `none` in 0.2's forms, which had none).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bridge {
    /// The trait for the `dyn` form, and for `&T`, `&mut T` and `Box<T>` of any implementor
    /// (dynosaur's default).
    Blanket,
    /// The trait for the `dyn` form only (a second trait's blanket impl would overlap:
    /// `trait_variant::make`).
    Dyn,
    /// No impl of the trait: the `dyn` form's methods are called on it directly.
    None,
}

/// The parsed arguments.
pub(crate) struct DynArgs {
    /// The visibility of the `dyn` form (and its erased trait).
    pub(crate) vis: Visibility,
    /// The `dyn` form's name (`DynStore`).
    pub(crate) name: Ident,
    /// The trait after `= dyn`: the attribute applies only to the trait of that name
    /// (`trait_variant::make` copies every attribute to each variant). `None`: to the trait
    /// it is on.
    pub(crate) target: Option<Ident>,
    /// That trait's path as written, checked to name a trait where it names another.
    pub(crate) target_path: Option<syn::Path>,
    pub(crate) bridge: Bridge,
    /// `?Send`, `lazy`, `boxed`, `crate = path`, as `#[value_task]` takes them.
    pub(crate) options: Options,
}

impl Parse for DynArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.is_empty() {
            return Err(syn::Error::new(
                Span::call_site(),
                "#[dyn_trait] needs the name of the `dyn` form: #[dyn_trait(DynStore = dyn Store)]",
            ));
        }
        let vis: Visibility = input.parse()?;
        let name: Ident = input.parse()?;
        let mut target = None;
        let mut target_path = None;
        // dynosaur 0.2's forms (no `dyn(box)`) had no bridge impls: its users wrote their own,
        // which the default bridges would overlap.
        let mut version_0_2 = true;
        if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            input.parse::<Token![dyn]>()?;
            if input.peek(syn::token::Paren) {
                version_0_2 = false;
                let strategy;
                syn::parenthesized!(strategy in input);
                let word = Ident::parse_any(&strategy)?;
                if word != "box" {
                    return Err(syn::Error::new(
                        word.span(),
                        format!(
                            "#[dyn_trait]: unknown strategy `dyn({word})`: write `dyn(box)` or `dyn` \
                             (calls through the `dyn` form are pooled either way; add `boxed` for a box per call)"
                        ),
                    ));
                }
                if !strategy.is_empty() {
                    return Err(strategy.error("#[dyn_trait]: expected `)` after `dyn(box`"));
                }
            }
            // dynosaur 0.3 also takes `DynStore = dyn(box)`: the trait is the item.
            if !input.is_empty() && !input.peek(Token![,]) {
                let path: syn::Path = input.parse()?;
                let last = path.segments.last().expect("a path has a segment");
                if !last.arguments.is_none() {
                    return Err(syn::Error::new_spanned(
                        &last.arguments,
                        "#[dyn_trait]: name the trait without its generic arguments (`dyn Store`): \
                         the `dyn` form takes the trait's parameters itself",
                    ));
                }
                target = Some(last.ident.clone());
                target_path = Some(path.clone());
            }
        }
        let mut bridge = None;
        let mut options = Options::default();
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            if input.peek(Token![?]) {
                input.parse::<Token![?]>()?;
                let ident: Ident = input.parse()?;
                if ident != "Send" {
                    return Err(syn::Error::new(
                        ident.span(),
                        "expected `?Send` (value tasks that are not Send)",
                    ));
                }
                set_once(&mut options.local, &ident, "?Send")?;
                continue;
            }
            if input.peek(Token![crate]) {
                let token = input.parse::<Token![crate]>()?;
                input.parse::<Token![=]>()?;
                if options
                    .krate
                    .replace(crate::options::crate_path(input)?)
                    .is_some()
                {
                    return Err(syn::Error::new(token.span, "`crate = ..` given twice"));
                }
                continue;
            }
            let word: Ident = input.parse()?;
            if word == "bridge" {
                let inner;
                syn::parenthesized!(inner in input);
                let kind = Ident::parse_any(&inner)?;
                let chosen = match kind.to_string().as_str() {
                    "blanket" => Bridge::Blanket,
                    "dyn" => Bridge::Dyn,
                    "none" => Bridge::None,
                    _ => return Err(syn::Error::new(
                        kind.span(),
                        "#[dyn_trait]: expected `bridge(blanket)`, `bridge(dyn)` or `bridge(none)`",
                    )),
                };
                if bridge.replace(chosen).is_some() {
                    return Err(syn::Error::new(word.span(), "`bridge(..)` given twice"));
                }
            } else if word == "lazy" {
                set_once(&mut options.lazy, &word, "lazy")?;
            } else if word == "boxed" {
                set_once(&mut options.boxed, &word, "boxed")?;
            } else if word == "blanket" {
                // dynosaur's git history between 0.2 and 0.3 (`blanket = dyn`): no release
                // has it, but code pinned to such a commit does.
                return Err(syn::Error::new(
                    word.span(),
                    "#[dyn_trait]: `blanket` is dynosaur's name, before its 0.3 release, for \
                     `bridge`: write `bridge(dyn)` for `blanket = dyn`",
                ));
            } else {
                return Err(syn::Error::new(
                    word.span(),
                    format!(
                        "#[dyn_trait]: unknown option `{word}`: expected `bridge(..)`, `?Send`, \
                         `lazy`, `boxed` or `crate = path`"
                    ),
                ));
            }
        }
        if options.boxed && options.lazy {
            return Err(crate::options::both_boxed_and_lazy(Span::call_site()));
        }
        Ok(DynArgs {
            vis,
            name,
            target,
            target_path,
            bridge: bridge.unwrap_or(if version_0_2 {
                Bridge::None
            } else {
                Bridge::Blanket
            }),
            options,
        })
    }
}

fn set_once(flag: &mut bool, at: &Ident, name: &str) -> syn::Result<()> {
    if std::mem::replace(flag, true) {
        return Err(syn::Error::new(at.span(), format!("`{name}` given twice")));
    }
    Ok(())
}

impl DynArgs {
    pub(crate) fn from_tokens(tokens: TokenStream) -> syn::Result<Self> {
        syn::parse2(tokens)
    }
}
