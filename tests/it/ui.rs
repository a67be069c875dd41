//! Compile-fail tests: every malformed graph is a spanned compile error (`tests/ui/`).

/// Every `tests/ui/*.rs` fails to compile with exactly its `.stderr`; every
/// `tests/ui/pass/*.rs` compiles and runs.
#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    cases.pass("tests/ui/pass/*.rs");
}
