//! Writes `generated.rs`: `FUNCTIONS` random differentiable functions and a table of
//! `(name, original, gradient)`, and one of `(name, original, _jvp, _vjp)` for forward mode.

use std::fmt::Write as _;

const FUNCTIONS: usize = 200;

/// A small deterministic generator (xorshift): the build must not depend on anything random.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
    fn constant(&mut self) -> String {
        format!("{:.2}", (self.below(400) as f64 - 200.0) / 100.0)
    }
}

/// What an expression may read: scalar names, and index expressions of arrays in scope.
#[derive(Clone)]
struct Scope {
    scalars: Vec<String>,
    arrays: Vec<String>,
    index: Option<String>,
}

impl Gen {
    fn atom(&mut self, s: &Scope) -> String {
        match self.below(4) {
            0 => self.constant(),
            1 if !s.arrays.is_empty() => {
                let a = s.arrays[self.below(s.arrays.len())].clone();
                match &s.index {
                    Some(i) if self.below(2) == 0 => format!("{a}[{i}]"),
                    _ => format!("{a}[{}]", self.below(4)),
                }
            }
            _ => s.scalars[self.below(s.scalars.len())].clone(),
        }
    }

    /// A scalar expression of bounded size whose value stays moderate.
    fn expr(&mut self, s: &Scope, depth: u32) -> String {
        if depth == 0 || self.below(4) == 0 {
            return self.atom(s);
        }
        let d = depth - 1;
        // Parenthesised, so that substitution keeps precedence (`(1.0 + a * a)` stays ≥ 1).
        let (a, b) = (format!("({})", self.expr(s, d)), format!("({})", self.expr(s, d)));
        match self.below(25) {
            0 | 1 => format!("({a} + {b})"),
            2 => format!("({a} - {b})"),
            3 | 4 => format!("({a} * {b}).tanh()"),
            5 => format!("({a} / (1.5 + {b} * {b}))"),
            6 => format!("(-({a}))"),
            7 => format!("{a}.sin()"),
            8 => format!("{a}.tanh().exp()"),
            9 => format!("(1.0 + {a} * {a}).ln()"),
            10 => format!("(1.0 + {a} * {a}).sqrt()"),
            11 => format!("{a}.atan()"),
            12 => format!("softplus({a})"),
            13 => format!("sigmoid({a})"),
            14 => format!("huber({a}, 1.0)"),
            15 => format!("{a}.tanh().max({b}.tanh())"),
            16 => format!("smooth_l1({a}, 0.5)"),
            17 => format!("{a}.tanh().mul_add({b}.tanh(), 0.5)"),
            18 => format!("softmax([{a}, {b}, 0.3], 0.7)[{}]", self.below(3)),
            19 => format!("logsumexp([{a}, {b}], 0.5)"),
            20 => format!("soft_argmax([{a}, {b}, {}], 0.8)", self.atom(s)),
            21 => format!("dot([{a}, {b}], [{}, 0.5])", self.atom(s)),
            22 => format!("(if {a} > {} {{ {b} }} else {{ {a} * 0.5 }})", self.constant()),
            23 if self.below(2) == 0 => format!("pair({a}, {b}).{}", self.below(2)),
            23 => format!("weigh(&[{a}, {b}, 0.2, {}], 0.7)", self.atom(s)),
            _ => format!("relu({a}) - relu(-({b}))"),
        }
    }

    /// Statements; `muts` are the scalar `let mut` names they may change.
    fn stmts(
        &mut self,
        s: &mut Scope,
        muts: &[String],
        depth: u32,
        in_loop: bool,
        out: &mut String,
        fresh: &mut usize,
    ) {
        for _ in 0..1 + self.below(4) {
            match self.below(10) {
                0 | 1 => {
                    *fresh += 1;
                    let v = format!("v{fresh}");
                    let e = self.expr(s, 2);
                    writeln!(out, "let {v} = {e};").unwrap();
                    s.scalars.push(v);
                }
                2 | 3 if !muts.is_empty() => {
                    let m = muts[self.below(muts.len())].clone();
                    let e = self.expr(s, 2);
                    let op = self.pick(&["+=", "-=", "*=", "="]);
                    // `*=` and `=` read the old value through `e` or the operator; keep it bounded.
                    let e = if op == "*=" {
                        format!("(0.5 + 0.4 * ({e}).tanh())")
                    } else {
                        format!("({e}).tanh() + 0.5 * {m}")
                    };
                    let e = if op == "+=" || op == "-=" { self.expr(s, 2) } else { e };
                    writeln!(out, "{m} {op} {e};").unwrap();
                }
                4 if depth > 0 => {
                    let i = if in_loop { "j" } else { "i" };
                    writeln!(out, "for {i} in 0..4 {{").unwrap();
                    let mut inner = s.clone();
                    inner.index = Some(i.to_string());
                    self.stmts(&mut inner, muts, depth - 1, true, out, fresh);
                    writeln!(out, "}}").unwrap();
                }
                5 if depth > 0 => {
                    let c = self.expr(s, 1);
                    let k = self.constant();
                    writeln!(out, "if {c} > {k} {{").unwrap();
                    self.stmts(&mut s.clone(), muts, depth - 1, in_loop, out, fresh);
                    writeln!(out, "}} else {{").unwrap();
                    self.stmts(&mut s.clone(), muts, depth - 1, in_loop, out, fresh);
                    writeln!(out, "}}").unwrap();
                }
                6 if s.arrays.contains(&"arr".to_string()) => {
                    let e = self.expr(s, 2);
                    match &s.index {
                        Some(i) => writeln!(out, "arr[{i}] = ({e}).tanh() + 0.5 * arr[{i}];").unwrap(),
                        None => writeln!(out, "arr[{}] = {e};", self.below(4)).unwrap(),
                    }
                }
                8 if depth > 0 && self.below(2) == 0 => {
                    // `for v in …` over the parameter or the local array (which the body may change).
                    let src = self.pick(&["x", "arr"]);
                    *fresh += 1;
                    let v = format!("it{fresh}");
                    writeln!(out, "for {v} in {src} {{").unwrap();
                    let mut inner = s.clone();
                    inner.scalars.push(v);
                    self.stmts(&mut inner, muts, depth - 1, in_loop, out, fresh);
                    writeln!(out, "}}").unwrap();
                }
                8 => {
                    *fresh += 1;
                    let (p, e1, e2) = (format!("p{fresh}"), self.expr(s, 1), self.expr(s, 1));
                    writeln!(out, "let ({p}a, {p}b) = pair({e1}, {e2});").unwrap();
                    let q = format!("q{fresh}");
                    writeln!(out, "let {q} = softmax([{p}a, {p}b, {}, 0.1], 0.9);", self.atom(s)).unwrap();
                    s.scalars.push(format!("{p}a"));
                    s.scalars.push(format!("{p}b"));
                    s.scalars.push(format!("{q}[{}]", self.below(4)));
                }
                7 if self.below(3) == 0 => {
                    let c = self.expr(s, 1);
                    let e = self.expr(s, 2);
                    writeln!(out, "if {c} > {} {{ return {e}; }}", self.constant()).unwrap();
                }
                _ => {
                    *fresh += 1;
                    let v = format!("w{fresh}");
                    let e = self.expr(s, 1);
                    writeln!(out, "let {v} = {e};").unwrap();
                    s.scalars.push(v);
                }
            }
        }
    }
}

fn main() {
    let mut g = Gen(0x9e37_79b9_7f4a_7c15);
    let mut out = String::new();
    let mut table = String::new();
    let mut table32 = String::new();
    let (mut forward, mut forward32) = (String::new(), String::new());
    for k in 0..FUNCTIONS {
        let mut s =
            Scope { scalars: vec!["a".into(), "x[0]".into(), "x[3]".into()], arrays: vec!["x".into()], index: None };
        let mut body = String::new();
        let muts = vec!["s1".to_string(), "s2".to_string()];
        writeln!(body, "let mut s1 = {};", g.expr(&s, 1)).unwrap();
        writeln!(body, "let mut s2 = 0.0;").unwrap();
        writeln!(body, "let mut arr = [a, x[1], {}, 0.5];", g.expr(&s, 1)).unwrap();
        s.scalars.extend(muts.iter().cloned());
        s.arrays.push("arr".into());
        let mut fresh = 0;
        g.stmts(&mut s, &muts, 3, false, &mut body, &mut fresh);
        let tail = g.expr(&s, 2);
        // Every other function is generic: literals and rules then go through `T: Real`.
        let (generics, t, at) = if k % 2 == 1 { ("<T: Real>", "T", "::<f64>") } else { ("", "f64", "") };
        let last = g.below(4);
        writeln!(
            out,
            "#[differentiable]\npub fn g{k}{generics}(x: [{t}; 4], a: {t}) -> {t} {{\n{body}{tail} + s1 + s2 + arr[{last}]\n}}\n"
        )
        .unwrap();
        let value = |t: &str| format!("fn([{t}; 4], {t}) -> {t}");
        let grad = |t: &str| format!("fn([{t}; 4], {t}) -> ({t}, ([{t}; 4], {t}))");
        writeln!(table, "(\"g{k}\", g{k}{at} as {}, g{k}_grad{at} as {}),", value("f64"), grad("f64")).unwrap();
        forward.push_str(&forward_entry(k, at, "f64"));
        if k % 2 == 1 {
            writeln!(table32, "(\"g{k}\", g{k}::<f32> as {}, g{k}_grad::<f32> as {}),", value("f32"), grad("f32"))
                .unwrap();
            forward32.push_str(&forward_entry(k, "::<f32>", "f32"));
        }
    }
    let entry = |t: &str| format!("(&str, fn([{t}; 4], {t}) -> {t}, fn([{t}; 4], {t}) -> ({t}, ([{t}; 4], {t})))");
    let (e64, e32) = (entry("f64"), entry("f32"));
    writeln!(
        out,
        "/// Every generated function: name, original, gradient.\npub const FUNCTIONS: &[{e64}] = &[\n{table}];"
    )
    .unwrap();
    writeln!(out, "/// The generic ones at f32.\npub const FUNCTIONS_F32: &[{e32}] = &[\n{table32}];").unwrap();
    let (f64_ty, f32_ty) = (forward_entry_type("f64"), forward_entry_type("f32"));
    writeln!(out, "/// Every generated function: name, original, `_jvp`, `_vjp`.\npub const FORWARD: &[{f64_ty}] = &[\n{forward}];")
        .unwrap();
    writeln!(out, "/// The generic ones at f32.\npub const FORWARD_F32: &[{f32_ty}] = &[\n{forward32}];").unwrap();
    let path = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("generated.rs");
    std::fs::write(path, out).unwrap();
    println!("cargo::rerun-if-changed=build.rs");
}

/// The types of `g{k}`, `g{k}_jvp` and `g{k}_vjp` at float type `t`.
fn forward_types(t: &str) -> [String; 3] {
    let g = format!("([{t}; 4], {t})");
    [
        format!("fn([{t}; 4], {t}) -> {t}"),
        format!("fn([{t}; 4], {t}, {g}) -> ({t}, {t})"),
        format!("fn([{t}; 4], {t}, {t}) -> ({t}, {g})"),
    ]
}

/// The type of a forward-mode entry at float type `t`: name, original, `_jvp`, `_vjp`.
fn forward_entry_type(t: &str) -> String {
    let [value, jvp, vjp] = forward_types(t);
    format!("(&str, {value}, {jvp}, {vjp})")
}

/// The forward-mode entry of `g{k}` (with the turbofish `at`) at float type `t`.
fn forward_entry(k: usize, at: &str, t: &str) -> String {
    let [value, jvp, vjp] = forward_types(t);
    format!("(\"g{k}\", g{k}{at} as {value}, g{k}_jvp{at} as {jvp}, g{k}_vjp{at} as {vjp}),\n")
}
