//! Deciding that a body can never suspend, so it can run as a plain closure and return a
//! ready value task with no future and no storage at all.
//!
//! A body never suspends when it contains no `.await` and no macro that could expand to one.
//! The check is on syntax and deliberately conservative:
//!
//! - any `.await` in the body, or an `await` token inside any macro's input, counts; but not
//!   one inside a nested `async` block, `async` closure or item (`async fn`), which suspends
//!   that future, not the body (`tokio::spawn(async move { .. .await })` runs at the call);
//! - any macro outside [`NEVER_AWAITS`] counts (`tokio::select!`, `futures::join!` and
//!   `pending!` expand to an `.await` the body does not spell out), including one invoked
//!   inside a known macro's input (`dbg!(futures::join!(a, b))`).
//!
//! An `impl Trait` in the output is no reason to suspend: the closure's return type has
//! `_` in its place (as the async path's output binding does), which the body's value
//! fixes, and the value task's type defines the method's opaque type.
//!
//! Soundness does not rest on the check: the closure is not `async`, so an `.await` the check
//! missed (say, a local macro named `vec!` that awaits) is a compile error, never a wrong
//! result.

use proc_macro2::{Spacing, TokenStream, TokenTree};
use syn::visit::{self, Visit};
use syn::{Block, ExprAsync, ExprAwait, ExprClosure, Item, Macro};

/// The standard library's macros: none of them expands to an `.await` of its own.
const NEVER_AWAITS: &[&str] = &[
    "assert",
    "assert_eq",
    "assert_ne",
    "cfg",
    "column",
    "concat",
    "dbg",
    "debug_assert",
    "debug_assert_eq",
    "debug_assert_ne",
    "env",
    "eprint",
    "eprintln",
    "file",
    "format",
    "format_args",
    "include_bytes",
    "include_str",
    "line",
    "matches",
    "module_path",
    "option_env",
    "panic",
    "print",
    "println",
    "stringify",
    "todo",
    "unimplemented",
    "unreachable",
    "vec",
    "write",
    "writeln",
];

/// True when `body` provably completes without suspending.
pub fn never_suspends(body: &Block) -> bool {
    let mut scan = Scan { may_suspend: false };
    scan.visit_block(body);
    !scan.may_suspend
}

struct Scan {
    may_suspend: bool,
}

impl<'ast> Visit<'ast> for Scan {
    fn visit_expr_await(&mut self, _: &'ast ExprAwait) {
        self.may_suspend = true;
    }

    // Futures of their own: what they await, and the macros they invoke, suspend them.
    fn visit_expr_async(&mut self, _: &'ast ExprAsync) {}

    fn visit_expr_closure(&mut self, closure: &'ast ExprClosure) {
        if closure.asyncness.is_none() {
            visit::visit_expr_closure(self, closure);
        }
    }

    fn visit_item(&mut self, _: &'ast Item) {}

    fn visit_macro(&mut self, mac: &'ast Macro) {
        let known = mac
            .path
            .segments
            .last()
            .is_some_and(|last| NEVER_AWAITS.iter().any(|name| last.ident == name));
        if !known
            || mentions(mac.tokens.clone(), "await")
            || invokes_unknown_macro(mac.tokens.clone())
        {
            self.may_suspend = true;
        }
        visit::visit_macro(self, mac);
    }
}

/// True when `tokens` contain `name!(..)`, `name![..]` or `name!{..}`, at any depth, with
/// `name` outside [`NEVER_AWAITS`]. (`if !(x)` looks like one too: conservative.)
fn invokes_unknown_macro(tokens: TokenStream) -> bool {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    trees.iter().enumerate().any(|(i, tree)| match tree {
        TokenTree::Ident(name) => {
            matches!(trees.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == '!' && p.spacing() == Spacing::Alone)
                && matches!(trees.get(i + 2), Some(TokenTree::Group(_)))
                && !NEVER_AWAITS.iter().any(|known| name == known)
        }
        TokenTree::Group(group) => invokes_unknown_macro(group.stream()),
        _ => false,
    })
}

/// True when `tokens` contain the identifier `word`, at any depth.
fn mentions(tokens: TokenStream, word: &str) -> bool {
    tokens.into_iter().any(|tree| match tree {
        TokenTree::Ident(ident) => ident == word,
        TokenTree::Group(group) => mentions(group.stream(), word),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::never_suspends;
    use syn::{parse_quote, Block};

    fn check(body: Block) -> bool {
        never_suspends(&body)
    }

    #[test]
    fn plain_code_and_std_macros_never_suspend() {
        assert!(check(parse_quote!({ key + 1 })));
        assert!(check(parse_quote!({
            let v = vec![1, 2];
            assert_eq!(v.len(), 2, "{}", format!("x"));
            if !v.is_empty() {
                return 3;
            }
            std::println!("done");
            v[0]
        })));
    }

    #[test]
    fn nested_futures_and_items_suspend_themselves_not_the_body() {
        assert!(check(parse_quote!({
            let g = async { f().await };
            tokio::spawn(async move {
                tokio::select! { _ = g => {} }
            });
            let h = async move |x: u32| g(x).await;
            async fn inner() -> u32 {
                f().await
            }
            drop((h, inner()));
            1
        })));
    }

    #[test]
    fn awaits_and_unknown_macros_may_suspend() {
        assert!(!check(parse_quote!({ f().await })));
        assert!(!check(parse_quote!({
            let g = async { f().await };
            g.await
        })));
        assert!(!check(parse_quote!({
            let g = || f().await;
            1
        })));
        assert!(!check(parse_quote!({
            println!("{}", f().await);
            1
        })));
        assert!(!check(parse_quote!({
            tokio::select! { _ = f() => 1 }
        })));
        assert!(!check(parse_quote!({
            futures::pending!();
            1
        })));
    }

    #[test]
    fn awaits_and_unknown_macros_are_found_inside_nested_groups() {
        assert!(!check(parse_quote!({
            println!("{}", (f().await, [g().await]));
            1
        })));
        assert!(!check(parse_quote!({
            assert!(ok, "{}", {
                futures::pending!();
                1
            });
            1
        })));
    }
}
