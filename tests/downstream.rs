//! Rule coverage as a downstream crate tests it: a trybuild test asserting that a model calling a
//! function relax cannot differentiate does not build, and that it builds once the function's
//! derivative is declared. Copy this file and `tests/downstream/` into your crate (trybuild as a
//! dev-dependency) and replace the cases by calls of your own functions; the guide's chapter
//! "Declared derivatives" explains the pattern. The `.stderr` snapshot is reviewed by hand.

#[test]
fn rule_coverage() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/downstream/undeclared_is_rejected.rs");
    t.pass("tests/downstream/declared_is_accepted.rs");
}
