//! The expansion never panics: at least 10 000 generated and mutated functions and attribute
//! arguments, drawn from Rust's syntax (malformed ones included), each yield either code that
//! parses as items or `syn::Error`s whose spans lie inside the input.

use proc_macro2::{TokenStream, TokenTree};
use quote::quote;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::expand::{expand, expand_parts};

/// The attribute's expansion of `item`, without options, as text.
fn expanded(item: TokenStream) -> String {
    expand(TokenStream::new(), item).to_string()
}

/// The part of `out` from the first `from` up to the first `to` after it.
fn between<'a>(out: &'a str, from: &str, to: &str) -> &'a str {
    let rest = &out[out.find(from).unwrap_or_else(|| panic!("`{from}` in the expansion"))..];
    &rest[..rest.find(to).unwrap_or_else(|| panic!("`{to}` after `{from}`"))]
}

pub(crate) struct Gen(pub(crate) StdRng);

impl Gen {
    pub(crate) fn pick<'a>(&mut self, options: &[&'a str]) -> &'a str {
        options[self.0.random_range(0..options.len())]
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.0.random_bool(p)
    }

    fn expr(&mut self, depth: u32) -> String {
        if depth == 0 || self.chance(0.3) {
            return self
                .pick(&[
                    "x", "y", "w", "t", "xs[i]", "w[0]", "m[1][2]", "1.5", "2", "i", "n", "0.0", "data[i]", "z", "*r",
                    "k", "T",
                ])
                .to_string();
        }
        let d = depth - 1;
        match self.0.random_range(0..24) {
            0..=4 => format!(
                "{} {} {}",
                self.expr(d),
                self.pick(&["+", "-", "*", "/", "%", "<", ">", "==", "&&", "|", "<<"]),
                self.expr(d)
            ),
            5 => format!("-{}", self.expr(d)),
            6 => format!("!{}", self.expr(d)),
            7..=9 => {
                let m = self.pick(&[
                    "exp",
                    "sin",
                    "round",
                    "floor",
                    "len",
                    "max",
                    "clamp",
                    "powi",
                    "iter",
                    "foo",
                    "abs",
                    "sqrt",
                    "to_degrees",
                    "signum",
                    "mul_add",
                    "atan2",
                    "sum",
                ]);
                let args: Vec<String> = (0..self.0.random_range(0..4)).map(|_| self.expr(d)).collect();
                format!("{}.{m}({})", self.expr(d), args.join(", "))
            }
            10..=12 => {
                let f = self.pick(&[
                    "softmax",
                    "relu",
                    "huber",
                    "dot",
                    "sum",
                    "argmax",
                    "one_hot",
                    "stop_gradient",
                    "straight_through",
                    "normal_rsample",
                    "gumbel_softmax",
                    "helper",
                    "sq",
                    "crate::inner",
                    "relax::softplus",
                    "st_argmax",
                    "reinforce",
                    "one_hot::<f64, 4>",
                    "categorical_sample",
                ]);
                let args: Vec<String> = (0..self.0.random_range(0..4)).map(|_| self.expr(d)).collect();
                format!("{f}({})", args.join(", "))
            }
            13 => format!("{} as {}", self.expr(d), self.pick(&["f64", "f32", "usize", "T", "u8"])),
            14 => format!("[{}, {}]", self.expr(d), self.expr(d)),
            15 => format!("[{}; 3]", self.expr(d)),
            16 => format!("({}, {})", self.expr(d), self.expr(d)),
            17 => format!("{}[{}]", self.expr(d), self.expr(d)),
            18 => format!("if {} {{ {} }} else {{ {} }}", self.expr(d), self.expr(d), self.expr(d)),
            19 => format!("{{ {} }}", self.expr(d)),
            20 => format!("|v| {}", self.expr(d)),
            21 => format!("match n {{ 0 => {}, _ => {} }}", self.expr(d), self.expr(d)),
            22 => format!("{}!({})", self.pick(&["println", "vec", "format", "assert"]), self.expr(d)),
            _ => format!("({}).{}", self.expr(d), self.pick(&["0", "1", "x"])),
        }
    }

    fn stmt(&mut self, depth: u32) -> String {
        let d = depth.saturating_sub(1);
        match self.0.random_range(0..18) {
            0..=3 => format!(
                "let {} = {};",
                self.pick(&["a", "mut s", "(p, q)", "_", "b: f64", "mut y", "(p, (q, r))", "[u, v]"]),
                self.expr(2)
            ),
            4 => format!("let {};", self.pick(&["a", "mut s"])),
            5..=6 => format!(
                "{} {} {};",
                self.pick(&["s", "y", "a", "y[i]", "m[0][1]", "*r", "data[0]"]),
                self.pick(&["=", "+=", "-=", "*=", "/=", "%="]),
                self.expr(2)
            ),
            7..=8 if depth > 0 => {
                let head = self.pick(&[
                    "i in 0..3",
                    "i in 0..xs.len()",
                    "v in xs",
                    "i in 0..n",
                    "_ in 0..N",
                    "i in 0..=3",
                    "v in w",
                    "i in (0..3).rev()",
                ]);
                let body: Vec<String> = (0..self.0.random_range(0..4)).map(|_| self.stmt(d)).collect();
                format!("for {head} {{ {} }}", body.join(" "))
            }
            9 if depth > 0 => {
                let body: Vec<String> = (0..self.0.random_range(0..3)).map(|_| self.stmt(d)).collect();
                let other: Vec<String> = (0..self.0.random_range(0..3)).map(|_| self.stmt(d)).collect();
                format!("if {} {{ {} }} else {{ {} }}", self.expr(1), body.join(" "), other.join(" "))
            }
            10 => format!("while {} {{ s += 1.0; }}", self.expr(1)),
            11 => format!("return {};", self.expr(2)),
            12 => format!("{};", self.expr(2)),
            13 => match self.0.random_range(0..3) {
                0 => "fn nested(a: f64) -> f64 { a }".to_string(),
                1 => format!("let sq = |v: f64| {};", self.expr(1)),
                _ => format!(
                    "let {}sq = |{}| {};",
                    self.pick(&["", "mut ", "move "]),
                    self.pick(&["v", "a, b", "(p, q): (f64, f64)", "&v"]),
                    self.expr(1)
                ),
            },
            14 => format!("println!(\"{{}}\", {});", self.expr(1)),
            15..=16 if depth > 0 => {
                let body: Vec<String> = (0..self.0.random_range(0..3)).map(|_| self.stmt(d)).collect();
                let into = self.pick(&["let a = ", "let mut s = ", "s += ", "y[i] = ", "", ""]);
                format!("{into}{{ {} {} }}{}", body.join(" "), self.expr(1), if into.is_empty() { "" } else { ";" })
            }
            _ => format!("if {} {{ return {}; }}", self.expr(1), self.expr(1)),
        }
    }

    fn function(&mut self) -> (String, String) {
        let args = self.pick(&[
            "",
            "",
            "wrt(x)",
            "wrt(x, w)",
            "wrt(xs)",
            "wrt(z)",
            "wrt(n)",
            "wrt()",
            "crate = ::relax",
            "crate = relax",
            "fast",
            "wrt(x), wrt(w)",
            "wrt(x, x)",
            "crate",
            "wrt(x) crate",
            "wrt = x",
            "wrt(1)",
            "jacobian",
            "wrt(xs), jacobian",
            "jacobian = 2",
        ]);
        let generics = self.pick(&[
            "",
            "",
            "<T: Real>",
            "<R: Rng>",
            "<const N: usize>",
            "<T: Real, const N: usize>",
            "<'a>",
            "<T>",
        ]);
        let mut params = Vec::new();
        for _ in 0..self.0.random_range(0..5) {
            params.push(self.pick(&[
                "x: f64",
                "y: f64",
                "w: [f64; 3]",
                "xs: &[f64; 3]",
                "data: &[f64]",
                "n: usize",
                "rng: &mut R",
                "t: T",
                "m: [[f64; 3]; 2]",
                "mut z: f64",
                "r: &[f64; 3]",
                "k: Vec<f64>",
                "(a, b): (f64, f64)",
                "x: f32",
                "xs: [T; N]",
            ]));
        }
        let ret = self.pick(&[
            "-> f64",
            "-> f64",
            "-> [f64; 2]",
            "-> (f64, [f64; 2])",
            "",
            "-> usize",
            "-> T",
            "-> &f64",
            "-> (f64, usize)",
        ]);
        let body: Vec<String> = (0..self.0.random_range(0..6)).map(|_| self.stmt(2)).collect();
        let tail = if self.chance(0.8) { self.expr(3) } else { String::new() };
        let prefix =
            self.pick(&["", "", "pub ", "pub(crate) ", "const ", "async ", "unsafe ", "#[inline] ", "#[test] "]);
        (
            args.to_string(),
            format!("{prefix}fn f{generics}({}) {ret} {{ {} {tail} }}", params.join(", "), body.join(" ")),
        )
    }

    /// Deletes, duplicates or swaps token trees, at any depth.
    pub(crate) fn mutate(&mut self, tokens: TokenStream) -> TokenStream {
        let mut trees: Vec<TokenTree> = tokens.into_iter().collect();
        for _ in 0..self.0.random_range(1..4) {
            if trees.is_empty() {
                break;
            }
            let k = self.0.random_range(0..trees.len());
            match self.0.random_range(0..4) {
                0 => {
                    trees.remove(k);
                }
                1 => {
                    let t = trees[k].clone();
                    trees.insert(k, t);
                }
                2 => {
                    let j = self.0.random_range(0..trees.len());
                    trees.swap(k, j);
                }
                _ => {
                    if let TokenTree::Group(g) = &trees[k] {
                        let mut inner = proc_macro2::Group::new(g.delimiter(), self.mutate(g.stream()));
                        inner.set_span(g.span());
                        trees[k] = TokenTree::Group(inner);
                    }
                }
            }
        }
        trees.into_iter().collect()
    }
}

/// The byte range of every token in `tokens`, at any depth.
pub(crate) fn byte_ranges(tokens: &TokenStream, out: &mut Vec<std::ops::Range<usize>>) {
    for t in tokens.clone() {
        out.push(t.span().byte_range());
        if let TokenTree::Group(g) = t {
            out.push(g.span_open().byte_range());
            out.push(g.span_close().byte_range());
            byte_ranges(&g.stream(), out);
        }
    }
}

/// Expands one input; true when it generated code without errors.
fn check(args: TokenStream, item: TokenStream) -> bool {
    let mut ranges = Vec::new();
    byte_ranges(&args, &mut ranges);
    byte_ranges(&item, &mut ranges);
    let (lo, hi) = (ranges.iter().map(|r| r.start).min().unwrap_or(0), ranges.iter().map(|r| r.end).max().unwrap_or(0));
    let (a, i) = (args.to_string(), item.to_string());
    // rustc hands an attribute only items that parse; for those the output must parse too.
    let item_parses = syn::parse2::<syn::Item>(item.clone()).is_ok();
    let result = std::panic::catch_unwind(|| expand_parts(args, item));
    let Ok((code, errors)) = result else {
        panic!("the expansion panicked on #[differentiable({a})] {i}");
    };
    let clean = errors.is_empty();
    if (clean || item_parses)
        && let Err(e) = syn::parse2::<syn::File>(code.clone())
    {
        panic!("generated code does not parse ({e}) for #[differentiable({a})] {i}:\n{code}");
    }
    for e in errors.into_iter().flatten() {
        let r = e.span().byte_range();
        let inside = r.start >= lo && r.end <= hi && r.start <= r.end;
        assert!(
            inside || (lo == hi),
            "error `{e}` at {r:?} is outside the input ({lo}..{hi}): #[differentiable({a})] {i}"
        );
    }
    clean
}

#[test]
fn ten_thousand_inputs_and_not_one_panic() {
    let mut g = Gen(StdRng::seed_from_u64(0x5eed));
    let (mut cases, mut generated) = (0, 0);
    while cases < 10_000 {
        let (args, item) = g.function();
        // Strings that do not tokenize never reach a proc macro: rustc rejects them first.
        let (Ok(args), Ok(item)) = (args.parse::<TokenStream>(), item.parse::<TokenStream>()) else {
            continue;
        };
        let (args, item) = if g.chance(0.3) { (g.mutate(args), g.mutate(item)) } else { (args, item) };
        generated += usize::from(check(args, item));
        cases += 1;
    }
    // Both outcomes are exercised: the generator is not all errors, nor all clean code.
    assert!((200..9_800).contains(&generated), "{generated} of {cases} inputs expanded without errors");
}

#[test]
fn expanding_through_the_public_entry_point_appends_compile_errors() {
    let out = expand(
        quote!(fast),
        quote!(
            fn f(x: f64) -> f64 {
                x
            }
        ),
    );
    assert!(out.to_string().contains("compile_error"), "{out}");
}

/// Expansion time per function, for `benches/compile_time.sh`.
#[test]
#[ignore = "a measurement, run by benches/compile_time.sh"]
fn expansion_time() {
    // The functions `benches/compile_time.sh` builds.
    let file: syn::File = syn::parse_str(include_str!("../../benches/compile_time/functions.rs")).expect("valid Rust");
    let bodies: Vec<TokenStream> = file.items.iter().map(quote::ToTokens::to_token_stream).collect();
    let rounds = 200;
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        for b in &bodies {
            std::hint::black_box(expand(TokenStream::new(), b.clone()));
        }
    }
    let per = start.elapsed().as_secs_f64() / (rounds * bodies.len()) as f64;
    println!("expansion: {:.0} µs per function (mean over {} expansions)", per * 1e6, rounds * bodies.len());
}

#[test]
#[ignore = "debugging aid: prints one expansion"]
fn print_one() {
    let src = std::env::var("RELAX_SRC").unwrap_or_default();
    let args = std::env::var("RELAX_ARGS").unwrap_or_default();
    // As at the top of a file: the functions call the split form, as users' functions do.
    let func = syn::parse_str(&src).expect("RELAX_SRC is a function");
    let (code, errors) =
        crate::expand::expand_function(args.parse().unwrap(), func, crate::placement::Placement::Module);
    assert!(errors.is_empty(), "{errors:?}");
    println!("{code}");
}

/// A parameter read once, at the place its loops name, gets its adjoint assigned
/// (`sole::sole_reads`), into a zero filled with `+0.0` (`Tangent::zero_to_overwrite`, a
/// `memset`); read twice, added to `−0.0`.
#[test]
fn adjoints_of_reads_once_per_place_are_assigned() {
    let assigns = |body: TokenStream| {
        let out = expanded(quote!(fn f(w: [[f64; 3]; 2], x: &[f64; 3]) -> f64 #body));
        let overwritten = out.contains("Tangent :: zero_to_overwrite ()");
        assert_eq!(out.contains("] = __d"), overwritten, "assigned exactly where filled with +0.0:\n{out}");
        overwritten
    };
    assert!(assigns(quote!({
        let mut s = 0.0;
        for j in 0..2 {
            for i in 0..3 {
                s += (w[j][i] * x[i]).tanh();
            }
        }
        s
    })));
    assert!(!assigns(quote!({
        let mut s = 0.0;
        for j in 0..2 {
            for i in 0..3 {
                s += (w[j][i] * x[i]).tanh() + w[j][i];
            }
        }
        s
    })));
}

/// A fused loop's input read once, through additions of data and negations into a product with
/// another input's element at the same indices (or a float input), or a quotient's numerator,
/// leaves that factor (divisor) to after the loop
/// (`factor`); not where the indices differ, the input is read twice, the other addend is
/// active, or a write comes between the reads.
#[test]
fn loop_invariant_factors_leave_the_accumulation() {
    let factored = |body: TokenStream| {
        let out = expanded(quote!(fn f(mu: [f64; 3], s: [f64; 3], t: f64, xs: &[f64; 8]) -> f64 #body));
        out.contains("_elementwise (& mut __j")
    };
    let loop_over = |term: TokenStream| {
        quote!({
            let mut total = 0.0;
            for n in 0..8 {
                for k in 0..3 {
                    total += #term;
                }
            }
            total
        })
    };
    assert!(factored(loop_over(quote!(((xs[n] - mu[k]) * s[k]).tanh()))));
    assert!(factored(loop_over(quote!((s[k] * -(mu[k] + xs[n])).sin()))));
    assert!(factored(loop_over(quote!(((xs[n] - mu[k]) * t).tanh()))));
    assert!(factored(loop_over(quote!((-(mu[k] - xs[n]) / s[k]).tanh()))));
    assert!(!factored(loop_over(quote!((s[k] / (xs[n] - mu[k])).tanh()))));
    // A struct's field: its Jacobian is a struct, which has no elementwise scaling.
    let out = expand(
        quote!(wrt(p, t)),
        quote!(
            fn f(p: P, t: f64, xs: &[f64; 8]) -> f64 {
                let mut total = 0.0;
                for n in 0..8 {
                    total += ((xs[n] - p.b) * t).tanh();
                }
                total
            }
        ),
    )
    .to_string();
    assert!(!out.contains("_elementwise (& mut __j"), "{out}");
    assert!(!factored(loop_over(quote!(((xs[n] - mu[k]) * s[n % 3]).tanh()))));
    assert!(!factored(loop_over(quote!(((xs[n] - mu[k]) * s[k]).tanh() + mu[k]))));
    assert!(!factored(loop_over(quote!(((s[0] - mu[k]) * s[k]).tanh()))));
    assert!(!factored(quote!({
        let mut total = 0.0;
        for n in 0..8 {
            let mut k = 0;
            let m = xs[n] - mu[k];
            k += 1;
            total += (m * s[k]).tanh();
        }
        total
    })));
}

/// A temporary whose adjoint one statement of its own block adds to gets that adjoint declared
/// there (`single::single_contributions`); one that a statement subtracts from is declared zero.
#[test]
fn adjoints_with_one_contribution_are_declared_there() {
    let out = expanded(quote!(
        fn f(x: f64, y: f64) -> f64 {
            let mut s = x.sin();
            s -= x * y;
            s
        }
    ));
    let vjp = between(&out, "fn f_vjp", "fn f_grad");
    let declared = |temp: usize| {
        let (at_contribution, zero) =
            (format!("let __d{temp} ="), format!("let mut __d{temp} = :: relax :: Tangent :: zero_like"));
        assert!(vjp.contains(&at_contribution) != vjp.contains(&zero), "__d{temp} declared once in {vjp}");
        vjp.contains(&at_contribution)
    };
    // `__t1 = x.sin()`, which `let mut s` takes.
    assert!(declared(1));
    // `__t4 = x * y`, which `s -=` subtracts from.
    assert!(!declared(4));
}

/// In the body's adjoint, which runs once, a statement that contributes once, whole, to a
/// binding's adjoint nothing changed yet assigns it (`Ctx::assign`); a binding whose adjoint holds
/// something already, or that gets two contributions from the statement, is added to.
#[test]
fn untouched_binding_adjoints_are_assigned() {
    let out = expanded(quote!(
        fn f(x: [f64; 2], y: f64) -> f64 {
            let a = dot(x, x);
            a + sum(x) * y
        }
    ));
    let vjp = between(&out, "fn f_vjp", "fn f_grad");
    let counts = |b: usize| {
        (vjp.matches(&format!("; __b{b} =")).count(), vjp.matches(&format!("add_tangent (& mut __b{b} ,")).count())
    };
    // `x` (binding 0): assigned by `sum(x)`, then added to twice by `dot(x, x)`; `y`: assigned by the
    // product; `a`: assigned by the sum.
    assert_eq!(counts(0), (1, 2), "{vjp}");
    assert_eq!(counts(1), (1, 0), "{vjp}");
    assert_eq!(counts(2), (1, 0), "{vjp}");
}

/// A softmax-family rule's cotangent is added to an adjoint that holds something already in the
/// pass that computes it (`NAME_bwd_first_add`), and assigned to one that does not.
#[test]
fn softmax_family_cotangents_are_added_in_place() {
    let out = expanded(quote!(
        fn f(x: [f64; 3]) -> f64 {
            soft_argmax(x, 0.5) + logsumexp(x, 0.5)
        }
    ));
    let vjp = between(&out, "fn f_vjp", "fn f_grad");
    assert!(vjp.contains("__b0 = :: relax :: logsumexp_bwd_first ("), "{vjp}");
    assert!(vjp.contains(":: relax :: soft_argmax_bwd_first_add (") && !vjp.contains("add_tangent"), "{vjp}");
}

/// With a constant temperature, the softmax family's residual keeps no logits
/// (`NAME_fwd_first`), and later rules of the same arguments share it; a rule that reads the
/// logits (`log_softmax`, `soft_max`) or a temperature that is differentiated gets the full one.
#[test]
fn residuals_keep_the_logits_only_for_the_rules_that_read_them() {
    let forwards = |body: TokenStream| {
        let out = expanded(quote!(fn f(x: [f64; 3], t: f64) -> f64 #body));
        let vjp = between(&out, "fn f__differentiable", "fn f_vjp").to_string();
        let calls =
            ["soft_argmax_fwd_first", "soft_argmax_fwd ", "logsumexp_from", "log_softmax_fwd ", "soft_max_fwd "];
        calls.map(|c| vjp.matches(&format!(":: relax :: {c}")).count())
    };
    assert_eq!(forwards(quote!({ soft_argmax(x, 0.5) + logsumexp(x, 0.5) })), [1, 0, 1, 0, 0]);
    assert_eq!(forwards(quote!({ soft_argmax(x, 0.5) + log_softmax(x, 0.5)[0] })), [1, 0, 0, 1, 0]);
    assert_eq!(forwards(quote!({ soft_max(x, 0.5) + soft_argmax(x, 0.5) })), [0, 0, 0, 0, 1]);
    assert_eq!(forwards(quote!({ soft_argmax(x, t) + logsumexp(x, t) })), [0, 1, 1, 0, 0]);
}

/// The generated functions are `#[inline]`, except where the original says how it is inlined:
/// then they carry that instead.
#[test]
fn generated_functions_are_inline_unless_the_original_says_otherwise() {
    let bare_inline = |out: &str| out.matches("# [inline]").count();
    let plain = expanded(quote!(
        fn f(x: f64) -> f64 {
            x * x
        }
    ));
    assert!(bare_inline(&plain) >= 3, "{plain}");
    let never = expanded(quote!(
        #[inline(never)]
        fn f(x: f64) -> f64 {
            x * x
        }
    ));
    // The hidden forms, which callers inline into their own sweeps, stay `#[inline]`.
    assert_eq!(bare_inline(&never), 2, "{never}");
    assert!(never.matches("# [inline (never)]").count() >= 4, "{never}");
}

/// `jacobian` makes the split form's pullback `Clone`, checks each call's pullback at the call,
/// adds the lanes forms (2 to 4 cotangents side by side), and `NAME_jacobian` with its rows pulled
/// back in one sweep, one lane each (up to four), or in a loop; without it, none of these.
#[test]
fn jacobian_option_generates_rows_and_a_reusable_pullback() {
    let expand_with = |args: TokenStream, n: usize| {
        let ty: syn::Type = syn::parse_str(&format!("[f64; {n}]")).unwrap();
        expand(args, quote!(fn f(x: f64) -> #ty { [g(x); #n] })).to_string()
    };
    let plain = expand_with(TokenStream::new(), 2);
    assert!(
        !plain.contains("f_jacobian")
            && !plain.contains("Clone")
            && !plain.contains("require_reusable")
            && !plain.contains("lanes"),
        "{plain}"
    );
    let two = expand_with(quote!(jacobian), 2);
    assert!(two.contains("fn f_jacobian"), "{two}");
    assert!(two.contains(":: core :: clone :: Clone"), "{two}");
    assert!(two.contains("require_reusable"), "{two}");
    for lanes in 2..=4 {
        assert!(two.contains(&format!("fn f__lanes{lanes}_with_option_jacobian")), "{two}");
        // The callee's lanes form, called with one cotangent per lane.
        assert!(two.contains(&format!("g__lanes{lanes}_with_option_jacobian")), "{two}");
    }
    // One sweep: the lanes form's pullback called once with both unit cotangents; no loop.
    assert!(two.contains("let [__c_l0 , __c_l1] = __pullback ([{"), "{two}");
    assert_eq!(two.matches("__e [0usize]").count(), 1, "{two}");
    assert_eq!(two.matches("__e [1usize]").count(), 1, "{two}");
    assert!(!two.contains("iter_mut"), "{two}");
    let five = expand_with(quote!(jacobian), 5);
    assert!(five.contains("iter_mut") && five.contains("__e [__i]"), "{five}");
}

/// A loop's adjoint recomputes only what its pullbacks read (`liveness`): `tanh`'s reads its
/// value, stored per iteration, and the products with data read the data, so neither the inner
/// product before `tanh` nor the weights are read after the forward sweep; `sin`'s reads its
/// argument, so there the inner product is recomputed.
#[test]
fn loop_adjoints_recompute_only_what_pullbacks_read() {
    let adjoint = |activation: TokenStream| {
        let out = expanded(quote!(
            fn f(w: [[f64; 3]; 2], v: [f64; 2], x: &[f64; 3]) -> f64 {
                let mut out = 0.0;
                for j in 0..2 {
                    let mut h = 0.0;
                    for i in 0..3 {
                        h += w[j][i] * x[i];
                    }
                    out += v[j] * h.#activation();
                }
                out
            }
        ));
        let vjp = between(&out, "fn f_vjp", "fn f_grad");
        vjp[vjp.find("let __c =").expect("the adjoint after the forward sweep")..].to_string()
    };
    let tanh = adjoint(quote!(tanh));
    assert!(!tanh.contains("w ["), "{tanh}");
    assert!(!tanh.contains("h +="), "{tanh}");
    assert!(tanh.contains("tanh_pullback_from_value"), "{tanh}");
    let sin = adjoint(quote!(sin));
    assert!(sin.contains("w [") && sin.contains("h +="), "{sin}");
}

/// An adjoint loop whose iterations commute (nothing stored, outer bindings only added to and not
/// read) runs first to last; one that reads what it changes (a product) runs last to first.
#[test]
fn adjoint_loops_run_forward_where_their_iterations_commute() {
    let adjoint = |body: TokenStream| {
        let out = expanded(quote!(fn f(w: [f64; 3], x: &[f64; 3]) -> f64 #body));
        let vjp = between(&out, "fn f_vjp", "fn f_grad");
        vjp[vjp.find("let __c =").expect("the adjoint after the forward sweep")..].replace(' ', "")
    };
    let layer = adjoint(quote!({
        let mut h = 0.0;
        for i in 0..3 {
            h += w[i] * x[i];
        }
        h.sin()
    }));
    assert!(layer.contains("while__i1<") && !layer.contains("while__i1>"), "{layer}");
    let product = adjoint(quote!({
        let mut p = 1.0;
        for i in 0..3 {
            p *= w[i] + x[i];
        }
        p
    }));
    assert!(product.contains("while__i1>") && !product.contains("while__i1<"), "{product}");
}

/// Forward mode computes one softmax for the softmax-family rules of the same arguments, as the
/// reverse sweeps do, and takes each rule's value and tangent from its residual.
#[test]
fn forward_mode_shares_the_softmax_family_residual() {
    let out = expanded(quote!(
        fn f(x: [f64; 3], t: f64) -> f64 {
            soft_argmax(x, t) + logsumexp(x, t) * soft_argmax(x, 0.5) + logsumexp(x, 0.5)
        }
    ));
    let jvp = out[out.find("fn f__jvp").expect("the forward mode's body")..].replace(' ', "");
    let count = |c: &str| jvp.matches(&format!("::relax::{c}(")).count();
    assert_eq!((count("soft_argmax_fwd"), count("soft_argmax_fwd_first")), (1, 1), "{jvp}");
    assert_eq!((count("logsumexp_from"), count("soft_argmax_jvp"), count("logsumexp_jvp")), (2, 0, 0), "{jvp}");
    assert_eq!((count("soft_argmax_jvp_from"), count("logsumexp_jvp_from")), (1, 1), "{jvp}");
    assert_eq!((count("soft_argmax_jvp_first_from"), count("logsumexp_jvp_first_from")), (1, 1), "{jvp}");
}

/// A caller's turbofish on a split form gets `_` for the sweeps' end type; a path without one is
/// left as it is.
#[test]
fn turbofish_of_a_split_form_leaves_the_end_type_to_inference() {
    // Compared as text without spaces (`>>` splits into two `>`, the first joint to what follows).
    let infer =
        |callee: &str| crate::names::infer_end_type(callee.parse().expect("a path")).to_string().replace(' ', "");
    assert_eq!(infer("mse__differentiable::<f64, 3>"), "mse__differentiable::<f64,3,_>");
    assert_eq!(infer("mse__differentiable::<f64, 3,>"), "mse__differentiable::<f64,3,_>");
    assert_eq!(infer("self.f__differentiable::<Vec<f64>>"), "self.f__differentiable::<Vec<f64>,_>");
    assert_eq!(infer("Self::f__differentiable"), "Self::f__differentiable");
}

/// The pullback counts a loop's iterations down in a local copy of the counter, not in the
/// closure's captured state (where each iteration's count was a store to memory).
#[test]
fn pullbacks_count_loops_down_in_locals() {
    let out = expanded(quote!(
        fn f(w: [f64; 4]) -> f64 {
            let mut s = 0.0;
            for i in 0..4 {
                s += w[i].tanh();
            }
            s
        }
    ));
    let pullback = &out[out.find("move | __dout").expect("a pullback closure")..];
    let copy = pullback.find("let mut __k").expect("the counter copied into a local");
    let step = pullback.find("-= 1").expect("the counter counted down");
    assert!(copy < step, "{pullback}");
}

/// Forward mode spells a read of a binding declared once, and a literal, where they are used
/// (`jvp::aliases`); a shadowed binding's read keeps its `let`.
#[test]
fn forward_mode_spells_reads_and_literals_at_their_use() {
    let out = expanded(quote!(
        fn f(w: f64, x: f64) -> f64 {
            let y = w * 2.0 + x;
            let x = y * x;
            x * y
        }
    ));
    let jvp = &out[out.find("fn f__jvp").expect("forward mode's hidden form")..];
    assert!(jvp.contains("(w , 2.0 ,"), "the read of `w` and the literal at their use:\n{jvp}");
    assert!(!jvp.contains("= w ;") && !jvp.contains("= 2.0 ;"), "no copies of `w` or `2.0`:\n{jvp}");
    assert!(jvp.contains("= x ;"), "`x`, declared twice, read into a temporary:\n{jvp}");
}

/// A read sinks past the computations after it to its first use (`schedule::sink_reads`):
/// `w[j] * (x * s).tanh()` reads `w[j]` after the call, in the forward sweep and in forward mode
/// (which spells the read at its use, `jvp::aliases`).
#[test]
fn reads_sink_past_calls_to_their_first_use() {
    let out = expanded(quote!(
        fn f(w: [f64; 3], x: f64) -> f64 {
            let mut s = 0.0;
            for j in 0..3 {
                s += w[j] * (x * s).tanh();
            }
            s
        }
    ));
    // The forward sweep ends where its pullback starts; forward mode's function comes last.
    for (form, end) in [("fn f__differentiable", "move | __dout"), ("fn f__jvp", "F_STORAGE_BYTES")] {
        let sweep = between(&out, form, end);
        let call = sweep.find("tanh").unwrap_or_else(|| panic!("the call in `{form}`:\n{sweep}"));
        let read = sweep.find("w [").unwrap_or_else(|| panic!("the read of `w` in `{form}`:\n{sweep}"));
        assert!(call < read, "`w[j]` read after the call in `{form}`:\n{sweep}");
    }
}

/// After a library call, forward mode computes the values that follow before their tangents, and
/// the last statement before a write whole (`jvp::jvp`): `e = t − y` before `tanh`'s tangent,
/// `e·e` after it. Elsewhere each tangent stays beside its value.
#[test]
fn forward_mode_computes_values_first_after_a_call() {
    let out = expanded(quote!(
        fn f(z: f64, y: f64) -> f64 {
            let mut loss = 0.0;
            let a = z * 3.0;
            let e = a.tanh() - y;
            loss += e * e;
            loss
        }
    ));
    let jvp = &out[out.find("fn f__jvp").expect("forward mode's hidden form")..];
    let at = |what: &str| jvp.find(what).unwrap_or_else(|| panic!("`{what}` in:\n{jvp}"));
    let (product, call, difference) = (at("mul_jvp_first"), at("tanh ()"), at("__t5 - y"));
    let (tangent, square) = (at("tanh_pullback ("), at("mul_jvp (e , e"));
    assert!(product < call, "`z·3` with its tangent before the call:\n{jvp}");
    assert!(call < difference && difference < tangent, "`tanh z − y` before `tanh`'s tangent:\n{jvp}");
    assert!(tangent < square, "`e·e`, the last before the write, after the tangents:\n{jvp}");
}

/// `hvp` on a function whose output is not a scalar (an array, a tuple, a struct): the form on
/// duals that callers with `hvp` run, and no `NAME_hvp` (a Hessian is a scalar function's).
#[test]
fn hvp_of_a_non_scalar_output_is_the_form_on_duals_only() {
    for (output, value) in [("[f64; 2]", "[x, x * x]"), ("(f64, f64)", "(x, x * x)")] {
        let item: TokenStream = format!("fn f(x: f64) -> {output} {{ {value} }}").parse().expect("tokens");
        let out = expand(quote!(hvp), item).to_string();
        assert!(out.contains("fn f__hvp_with_option_hvp"), "{output}: no form on duals in {out}");
        assert!(!out.contains("fn f_hvp"), "{output}: a `f_hvp` in {out}");
        assert!(!out.contains("compile_error"), "{output}: {out}");
    }
    let out = expand(
        quote!(hvp),
        quote!(
            fn f(x: f64) -> Line {
                Line { w: x, b: x }
            }
        ),
    )
    .to_string();
    assert!(out.contains("compile_error") && out.contains("output of floats"), "{out}");
}
