//! Compile-time diagnostics: every construct outside the supported language, every operation
//! whose gradient would silently vanish, and every attribute error is a compile error at its span
//! with a hint (`tests/ui/fail`); what the language allows compiles without warnings
//! (`tests/ui/pass`). The `.stderr` snapshots are reviewed by hand.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
