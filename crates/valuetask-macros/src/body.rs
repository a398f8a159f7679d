//! The rewritten body: a completed value (no `.await`), a forwarded call's value task, or a
//! future started in its pooled block (`boxed`, `lazy`: a box, a start at the first poll).

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Block, Type};

use crate::expand::{at_expansion, tokens_at_expansion, Spans};
use crate::options::Options;
use crate::signature::{impl_trait_inferred, value_task_type};

/// `{ ValueTask::start(async move { <rebind arguments>; let ret: T = { body }; ret }) }`,
/// spanned at the user's body so errors point there; a body that never suspends (see
/// [`crate::synchronous`]) runs as a closure and returns `ValueTask::from_result`.
///
/// A `Send` future holds the receiver, so with one (`receiver`, its span) the body first
/// asserts that it is `Send`: a receiver that is not (`self: Rc<Self>`, `&self` of a `!Sync`
/// type) gets an error naming it and pointing to `?Send`, besides rustc's about the future.
pub(crate) fn wrap_body(
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
    // The block again, in braces at the macro's own span: without `stats` it is the body's only
    // expression, and braces at the body's span would be rustc's `unused_braces` in the
    // user's crate when the body is written on one line.
    let stmts = &block.stmts;
    syn::parse2(quote!({ #support::count!(#site, { #(#stmts)* }) })).expect("a block")
}

/// What a body is, for [`wrap_body`].
pub(crate) enum Shape {
    /// A `-> !` body.
    Diverges,
    /// A body that only awaits this call (see [`crate::forwarding`]).
    Forwards(syn::Expr),
    /// Anything else.
    Other,
}

/// A body that only awaits `call`: the method returns the call's value task when it is one
/// of the method's output and has started (no frame); otherwise a frame that awaits it,
/// started as any other body (see `macro_support::Forward`). The call is evaluated at once either way, as a body
/// that starts at the call evaluates it.
pub(crate) fn forward_body(
    call: &syn::Expr,
    ret: &Type,
    opts: &Options,
    async_span: Span,
) -> Block {
    let span = call.span();
    let support = opts.macro_support(span);
    let task = value_task_type(opts, async_span);
    let forward = if opts.local {
        quote_spanned!(span=> ForwardLocal)
    } else {
        quote_spanned!(span=> Forward)
    };
    // At the expansion: clippy scores a `let`'s type (`type_complexity`), which an `async fn`'s
    // output never is.
    let inferred = impl_trait_inferred(ret);
    let ret = tokens_at_expansion(quote!(#inferred));
    let awaited = syn::Ident::new("__value_task_call", Span::mixed_site());
    let out = output_binding(span);
    let future = quote_spanned! {at_expansion(span)=>
        async move {
            let #out: #ret = #awaited.await;
            return #out;
        }
    };
    let frame = if opts.boxed {
        quote_spanned!(async_span=> #task::boxed(#future))
    } else if opts.local {
        quote_spanned!(async_span=> #support::start_local(move || #future))
    } else {
        quote_spanned!(async_span=> #support::start(move || #future))
    };
    // The trait is unused when the call's value task is passed on (the inherent method): at
    // the macro's own span, rustc does not report that in the user's crate. An `allow` would
    // be an error (E0453) where the user forbids `unused_imports`.
    let wrap = opts.macro_support(Span::call_site());
    let import = quote!(use #wrap::Wrap as _;);
    syn::parse2(quote_spanned! {span=>
        {
            #import
            #support::#forward::<#ret, _>::new(#call)
                .__value_task_forward(move |#awaited| #frame)
        }
    })
    .expect("a block")
}

/// `wrap_body` without the advisor's count.
pub(crate) fn wrap_body_uncounted(
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
    // An `impl Trait` output cannot be written in a closure's return type nor a `let`: each
    // one becomes `_`, and the rest of the type still fixes what a `return` must convert to
    // (`Result<impl Display, Box<dyn Error>>` → `Result<_, Box<..>>`).
    let ret = &impl_trait_inferred(ret);
    if !opts.lazy && !diverges && crate::synchronous::never_suspends(body) {
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
        let holds = hold_output(stmts, ret, &support, span, Tail::Value);
        let closure_ret = tokens_at_expansion(quote!(#ret));
        return syn::parse2(quote_spanned! {span=>
            {
                #support::#completed(move || -> #closure_ret {
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
    // `return Err(Box::new(e))` coerces as in an `async fn`).
    let out = output_binding(span);
    let fix_output = quote_spanned! {span=>
        if let ::core::option::Option::Some(#out) = ::core::option::Option::None::<#ret> {
            return #out;
        }
    };
    let support = opts.macro_support(span);
    let holds = hold_output(stmts, ret, &support, span, Tail::Return);
    // The block's value is returned, not its tail (`Tail::Return`): clippy's
    // `async_yields_async` reads an async block's tail (never an `async fn`'s) and reports an
    // output that is a future. The block is the expansion's code, at the body's location.
    let future = quote_spanned! {at_expansion(span)=>
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

/// `let ret: T = if BODY_RUNS { body } else { body_skipped() }; ret`: the body's statements
/// in a block of their own, so its temporaries drop before the arguments, as in an `async fn`.
/// The branch never taken keeps the `if` from diverging with a body that does (`panic!`, a
/// `return`), so the trailing `ret` is never unreachable code: an `allow(unreachable_code)`
/// there would be an error (E0453) where the user forbids the lint (see
/// `macro_support::BODY_RUNS`).
pub(crate) fn hold_output(
    stmts: &[syn::Stmt],
    ret: &Type,
    support: &TokenStream,
    span: Span,
    tail: Tail,
) -> TokenStream {
    let out = output_binding(span);
    let ret = tokens_at_expansion(quote!(#ret));
    // The `if` at the macro's own span: at the body's, clippy would read the body's braces as
    // the user's formatting of an `else` (`suspicious_else_formatting`).
    let choice = quote! {
        if #support::BODY_RUNS {
            #(#stmts)*
        } else {
            #support::body_skipped()
        }
    };
    let tail = match tail {
        Tail::Value => quote!(#out),
        Tail::Return => quote!(return #out;),
    };
    quote_spanned! {span=>
        let #out: #ret = #choice;
        #tail
    }
}

/// How [`hold_output`] gives its value: as the block's value (a closure), or returned from
/// an async block, whose tail expression clippy's `async_yields_async` reads (it reports an
/// output that is a future, which an `async fn` never reports; a block with no tail it
/// leaves alone).
pub(crate) enum Tail {
    Value,
    Return,
}

/// The binding that holds a body's output, at the body's `span` (rustc's notes about the
/// output type point there). Named so that no item of the user's is likely to share its name:
/// hygiene would keep locals apart, not items, and a `const` of the same name in scope would
/// turn the `let` into a refutable pattern.
///
/// At the expansion ([`at_expansion`]): lints about the block's value that rustc reports at
/// it (clippy's `async_yields_async`, for a body whose output is a future, which an
/// `async fn` never reports) are the macro's, and suppressed.
pub(crate) fn output_binding(span: Span) -> syn::Ident {
    syn::Ident::new("__value_task_ret", at_expansion(span))
}
