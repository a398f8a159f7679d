//! Misuse that must not compile: awaiting one `ValueTask` twice.

#[test]
fn misuse_does_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
