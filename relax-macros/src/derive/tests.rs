//! The derive never panics: 10 000 generated and mutated items (structs of every kind of field,
//! enums, unions, malformed attributes) each yield code that parses as items, and errors whose
//! spans lie inside the input. Each error is at the construct it names.

use proc_macro2::TokenStream;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::expand_parts;
use crate::tests::{Gen, byte_ranges};

impl Gen {
    fn derive_input(&mut self) -> String {
        let kind = self.pick(&["struct", "struct", "struct", "pub struct", "enum", "union"]);
        let generics = self.pick(&[
            "",
            "",
            "<T: Real>",
            "<T: Real, const N: usize>",
            "<T: relax::Real, U: Copy + Default>",
            "<P: Differentiable>",
            "<'a>",
            "<U>",
            "<T>",
        ]);
        let where_clause = self.pick(&["", "", "", "where T: Real", "where U: Copy"]);
        let attr = self.pick(&[
            "",
            "",
            "",
            "#[relax(crate = ::relax)]",
            "#[relax(crate = r)]",
            "#[relax(krate = r)]",
            "#[relax]",
            "#[relax(crate)]",
            "#[no_derivative]",
        ]);
        let mut fields = Vec::new();
        for _ in 0..self.0.random_range(0..5) {
            let field_attr = self.pick(&[
                "",
                "",
                "",
                "#[no_derivative]",
                "#[no_derivative(x)]",
                "#[relax(crate = r)]",
                "#[doc = \"d\"]",
            ]);
            let ty = self.pick(&[
                "f64",
                "f64",
                "f32",
                "T",
                "[f64; 3]",
                "[[T; N]; N]",
                "usize",
                "bool",
                "Vec<f64>",
                "&'a f64",
                "(f64, f64)",
                "Line",
                "Layer<T, N>",
                "[Line; 2]",
                "P",
                "U",
                "Option<f64>",
                "*const f64",
                "[f64]",
                "fn(f64) -> f64",
                "dyn Fn()",
                "PhantomData<U>",
                "(f64)",
                "!",
                "f16",
                "core::primitive::u8",
            ]);
            fields.push((field_attr, ty));
        }
        let body = if self.chance(0.3) {
            let f: Vec<String> = fields.iter().map(|(a, t)| format!("{a} {t}")).collect();
            format!("({}) {where_clause};", f.join(", "))
        } else {
            let f: Vec<String> = fields.iter().enumerate().map(|(i, (a, t))| format!("{a} f{i}: {t}")).collect();
            format!("{where_clause} {{ {} }}", f.join(", "))
        };
        format!("{attr} {kind} S{generics} {body}")
    }
}

/// Expands one input; true when it generated code without errors.
fn check(item: TokenStream) -> bool {
    let mut ranges = Vec::new();
    byte_ranges(&item, &mut ranges);
    let (lo, hi) = (ranges.iter().map(|r| r.start).min().unwrap_or(0), ranges.iter().map(|r| r.end).max().unwrap_or(0));
    let text = item.to_string();
    // rustc hands a derive only structs, enums and unions that parse; errors in those are spanned.
    let spanned = syn::parse2::<syn::DeriveInput>(item.clone()).is_ok();
    let Ok((code, errors)) = std::panic::catch_unwind(|| expand_parts(item)) else {
        panic!("the derive panicked on {text}");
    };
    if let Err(e) = syn::parse2::<syn::File>(code.clone()) {
        panic!("generated code does not parse ({e}) for {text}:\n{code}");
    }
    let clean = errors.is_empty();
    for e in errors.into_iter().flatten() {
        let r = e.span().byte_range();
        assert!(
            !spanned || (r.start >= lo && r.end <= hi),
            "error `{e}` at {r:?} is outside the input ({lo}..{hi}): {text}"
        );
    }
    clean
}

#[test]
fn ten_thousand_inputs_and_not_one_panic() {
    let mut g = Gen(StdRng::seed_from_u64(0xde71e));
    let (mut cases, mut generated) = (0, 0);
    while cases < 10_000 {
        let Ok(item) = g.derive_input().parse::<TokenStream>() else { continue };
        let item = if g.chance(0.3) { g.mutate(item) } else { item };
        generated += usize::from(check(item));
        cases += 1;
    }
    assert!((500..9_500).contains(&generated), "{generated} of {cases} inputs expanded without errors");
}

/// The errors of deriving on `src`: each message with the source text at its span.
fn errors(src: &str) -> Vec<(String, String)> {
    let (_, errors) = expand_parts(src.parse().expect("tokens"));
    errors.into_iter().flatten().map(|e| (e.to_string(), e.span().source_text().unwrap_or_default())).collect()
}

#[test]
fn each_error_is_at_what_it_names() {
    let cases: &[(&str, &str, &str)] = &[
        ("struct S { w: f64, steps: usize }", "field `steps` is an integer (`usize`)", "usize"),
        ("struct S(f64, [bool; 2]);", "field 1 is a `bool`", "bool"),
        ("struct S { w: f64, v: Vec<f64> }", "or use an array", "Vec<f64>"),
        ("struct S<'a> { w: f64, r: &'a f64 }", "is a reference", "&'a f64"),
        ("struct S { w: f64, t: (f64, f64) }", "is a tuple", "(f64, f64)"),
        ("struct S { w: [f64; 2], b: f32 }", "`f32` mixes float types: this struct's float type is `f64`", "f32"),
        ("struct S<T: Real> { w: T, b: [[f64; 2]; 2] }", "`f64` mixes float types", "f64"),
        ("enum S { A(f64) }", "works on structs only, not on an enum", "enum"),
        ("union S { a: f64 }", "not on a union", "union"),
        ("struct S { #[no_derivative] n: usize }", "`S` has nothing to differentiate", "S"),
        ("struct S { #[no_derivative(x)] n: usize, w: f64 }", "takes no arguments", "no_derivative(x)"),
        ("#[no_derivative] struct S { w: f64 }", "goes on a field", "#[no_derivative]"),
        ("#[relax(krate = r)] struct S { w: f64 }", "expected `crate = path`", "krate"),
        ("struct S { #[relax(crate = r)] w: f64 }", "goes on the struct", "#[relax(crate = r)]"),
    ];
    for &(src, message, at) in cases {
        let errs = errors(src);
        assert!(
            errs.iter().any(|(m, s)| m.contains(message) && s == at),
            "{src}: expected `{message}` at `{at}`, got {errs:?}"
        );
    }
    // Every field's problem is reported, not only the first.
    assert_eq!(errors("struct S { a: usize, b: bool, c: f64 }").len(), 2);
}

#[test]
fn valid_structs_expand_without_errors_and_erroneous_ones_get_stubs() {
    for src in [
        "struct Line { w: f64, b: f64 }",
        "struct Layer<T: Real, const N: usize> { w: [[T; N]; N], b: [T; N], #[no_derivative] steps: usize }",
        "struct Net<T> where T: Real { l: [Layer<T, 2>; 3], h: (T) }",
        "struct Lines { a: Line, b: [Line; 2] }",
        "struct Pair(f32, #[no_derivative] u8);",
        "#[relax(crate = crate::engine)] struct R<P: Differentiable, K> { p: P, #[no_derivative] k: K }",
    ] {
        let (code, errs) = expand_parts(src.parse().expect("tokens"));
        assert!(errs.is_empty(), "{src}: {errs:?}");
        let code = code.to_string();
        for t in ["Tangent for", "AddScaled <", "Differentiable for"] {
            assert!(code.contains(t), "{src}: no `{t}` in {code}");
        }
        assert!(!code.contains("unimplemented"), "{src}: {code}");
    }
    let (code, errs) = expand_parts("struct S { w: f64, n: usize }".parse().expect("tokens"));
    assert_eq!(errs.len(), 1);
    assert!(code.to_string().contains("unimplemented"), "{code}");
}

/// `Seed` (what `hvp` runs a struct parameter on duals by) comes with a struct generic over its
/// float type whose differentiated fields mention it and whose data fields do not; nothing else
/// can hold dual numbers.
#[test]
fn seed_only_for_structs_generic_over_their_float_type() {
    for (src, seeds) in [
        ("struct Layer<T: Real, const N: usize> { w: [[T; N]; N], b: [T; N], #[no_derivative] steps: usize }", true),
        ("struct Net<T> where T: Real { l: [Layer<T, 2>; 3], h: (T) }", true),
        ("struct Line { w: f64, b: f64 }", false),
        ("struct Scaled<T: Real> { w: T, #[no_derivative] scale: T }", false),
        ("struct Mixed<T: Real> { w: T, b: Line }", false),
        ("struct R<P: Differentiable, K> { p: P, #[no_derivative] k: K }", false),
        ("struct Tagged<T: Real + Hash> { w: T }", false),
        ("struct Bounded<T> where T: Real, [T; 2]: Copy { w: [T; 2] }", false),
    ] {
        let (code, errs) = expand_parts(src.parse().expect("tokens"));
        assert!(errs.is_empty(), "{src}: {errs:?}");
        assert_eq!(code.to_string().contains("dual :: Seed for"), seeds, "{src}: {code}");
    }
}
