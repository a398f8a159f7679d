//! Misuse that must not compile (`tests/ui`): awaiting one `ValueTask` twice, and misuse of
//! `#[value_task]` and `#[dyn_trait]`, each with the message it gets.

#[test]
fn misuse_does_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
