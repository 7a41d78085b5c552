//! Writes `generated.rs`: `FUNCTIONS` random differentiable functions and a table of
//! `(name, original, gradient)`, one of `(name, original, _jvp, _vjp)` for forward mode and one of
//! `(name, original, gradient, _hvp)` for second order; and
//! `RELAXED` functions with hard operations under `#[differentiable(relaxed)]`, with their table,
//! and `RELAXED_SMOOTH` `relaxed` ones without, in the first tables (they keep their gradients).
//! Functions that take a parameter struct or are methods get wrappers over the flat arguments
//! `(x: [T; 4], a: T)`, so that every table has one shape.

use std::fmt::Write as _;

const FUNCTIONS: usize = 200;

/// How many functions with hard operations `#[differentiable(relaxed)]` generates besides.
const RELAXED: usize = 40;

/// How many `relaxed` functions without hard operations: they keep their own gradient, through
/// their callees' smooth forms.
const RELAXED_SMOOTH: usize = 20;

/// The grammar's seed when `RELAX_GRADCHECK_SEED` is unset.
const DEFAULT_SEED: u64 = 0;

/// A small deterministic generator (xorshift): the build must not depend on anything random.
/// `samples` records that the function being generated draws from its RNG.
struct Gen(u64, bool);

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
    /// A threshold of an `if` on active values: off the integers in a `relaxed` function, whose
    /// hard operations give integers (an `if` exactly at its tie has no limit as t → 0).
    fn threshold(&mut self, hard: bool) -> String {
        let c = self.constant();
        if hard { format!("({c} + 0.0037)") } else { c }
    }
}

/// What an expression may read: scalar names, and index expressions of arrays in scope.
#[derive(Clone)]
struct Scope {
    scalars: Vec<String>,
    arrays: Vec<String>,
    index: Option<String>,
    /// The labels of the enclosing loops, innermost last: `break` and `continue` may name any.
    loops: Vec<String>,
    /// How the body names the `Model` whose methods it calls: `model`, or `self` in a method.
    model: &'static str,
    /// In a `relaxed` function: its callees are `relaxed` too, and an `if` on active values must
    /// not leave a loop or the function (its arms are blended).
    relaxed: bool,
    /// Hard operations may appear (in a `relaxed` function).
    hard_ops: bool,
}

impl Scope {
    /// The scope of a loop body under `label`, with the index variable `index` if it has one.
    fn in_loop(&self, label: String, index: Option<String>) -> Scope {
        let mut inner = self.clone();
        inner.loops.push(label);
        if index.is_some() {
            inner.index = index;
        }
        inner
    }

    /// The path of `Model`'s associated functions in this body.
    fn model_type(&self) -> &'static str {
        if self.model == "self" { "Self" } else { "Model" }
    }
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
        match self.below(if s.hard_ops { 38 } else { 29 }) {
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
            22 => format!("(if {a} > {} {{ {b} }} else {{ {a} * 0.5 }})", self.threshold(s.relaxed)),
            23 if self.below(2) == 0 => format!("pair({a}, {b}).{}", self.below(2)),
            23 if self.below(2) == 0 => format!("weigh(&[{a}, {b}, 0.2, {}], 0.7)", self.atom(s)),
            // A declared derivative has no relaxation: not in `relaxed` functions.
            23 if !s.relaxed => format!("cube({a}.tanh())"),
            23 => format!("pair({a}, {b}).1"),
            // The methods are not `relaxed` (`squash` calls `bump`, and would lose its gradient).
            24 if !s.relaxed => format!("{}.squash({a})", s.model),
            25 if !s.relaxed => format!("{}::bump({a})", s.model_type()),
            24 | 25 => format!("({a} * {b}).tanh()"),
            // `match` as an expression, on the loop index where there is one.
            26 => match &s.index {
                Some(i) => format!("(match {i} % 3 {{ 0 => {a}, 1 => {b}, _ => {a} * 0.5 }})"),
                None => format!("(match {} {{ 0 => {a}, _ => {b} }})", self.below(2)),
            },
            // `stop_gradient` changes the derivative: cancelled, so finite differences still apply.
            27 => format!("({b} + 0.5 * (stop_gradient({a}) - stop_gradient({a})))"),
            28 if !s.hard_ops => format!("relu({a}) - relu(-({b}))"),
            // The hard operations of SPEC's relaxation table (in `relaxed` functions only). Their
            // operands are offset by 0.137 (`o`): the grammar's constants are multiples of 0.01,
            // and hard results are integers, which would otherwise put some operations exactly on
            // a tie (`round` of 0.5, `floor` of an integer, `argmax` of equal entries), where no
            // relaxation tends to the hard value.
            28 => format!("({a} + 0.137).round()"),
            29 => format!("({a} + 0.137).floor() - ({b} + 0.137).ceil()"),
            30 => format!("({a} + 0.137).signum()"),
            31 => format!("({a} + 0.137).abs()"),
            32 => format!("{a}.max({b} + 0.137) - ({b} + 0.137).min(0.5)"),
            33 => format!("((({a}) > ({b} + 0.137)) as u8 as f64 - (({b} + 0.137) <= 0.3) as i32 as f64)"),
            34 => format!("(argmax([{a}, {b} + 0.137, 0.3137]) as f64)"),
            35 => format!("[{a}, 0.5, {b}][argmax([{b} + 0.137, {a}, 0.1137])]"),
            36 => format!("dot(one_hot(argmax([{a}, {b} + 0.137, 0.2137])), [1.0, {b}, 0.5])"),
            _ => format!("({a} + 0.137).clamp(-1.0, 1.0)"),
        }
    }

    /// A block of statements in a scope of its own.
    fn block(&mut self, s: &Scope, muts: &[String], depth: u32, out: &mut String, fresh: &mut usize) {
        self.stmts(&mut s.clone(), muts, depth, out, fresh);
    }

    /// Statements; `muts` are the scalar `let mut` names they may change.
    fn stmts(&mut self, s: &mut Scope, muts: &[String], depth: u32, out: &mut String, fresh: &mut usize) {
        for _ in 0..1 + self.below(4) {
            *fresh += 1;
            let f = *fresh;
            match self.below(16) {
                0 | 1 => {
                    let v = format!("v{f}");
                    let e = self.expr(s, 2);
                    // Some as a block's value, some through the closures (chosen by `f`, not drawn:
                    // see the loops below).
                    if f % 5 == 4 {
                        writeln!(out, "let {v} = {{ let {v} = {e}; {v} }};").unwrap();
                    } else if f % 5 == 3 {
                        writeln!(out, "let {v} = mix(bend({e}), x[1]) + bend(a);").unwrap();
                    } else {
                        writeln!(out, "let {v} = {e};").unwrap();
                    }
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
                    if f % 5 == 4 {
                        writeln!(out, "{m} {op} {{ let w{f} = {e}; w{f} }};").unwrap();
                    } else {
                        writeln!(out, "{m} {op} {e};").unwrap();
                    }
                }
                4 if depth > 0 => {
                    let i = if s.loops.is_empty() { "i" } else { "j" };
                    // The bound as a literal or as an array's length (a compile-time bound too).
                    let bound = self.pick(&["4", "x.len()"]);
                    writeln!(out, "'l{f}: for {i} in 0..{bound} {{").unwrap();
                    self.block(&s.in_loop(format!("'l{f}"), Some(i.to_string())), muts, depth - 1, out, fresh);
                    writeln!(out, "}}").unwrap();
                }
                5 if depth > 0 => {
                    let c = self.expr(s, 1);
                    let k = self.threshold(s.relaxed);
                    writeln!(out, "if {c} > {k} {{").unwrap();
                    // A relaxed `if` blends its arms: they may not leave a loop around it.
                    let mut arm = s.clone();
                    if s.relaxed {
                        arm.loops.clear();
                    }
                    self.block(&arm, muts, depth - 1, out, fresh);
                    writeln!(out, "}} else {{").unwrap();
                    self.block(&arm, muts, depth - 1, out, fresh);
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
                    // Over the parameter, which the body never writes, iterator chains too, chosen
                    // by `f` rather than drawn so that each seed's functions stay as they were.
                    let src = self.pick(&["x", "arr"]);
                    let v = format!("it{f}");
                    let (head, index) = match (src, f % 4) {
                        ("x", 1) => (format!("&{v} in x.iter()"), None),
                        ("x", 2) => (format!("{v} in x.iter().rev().copied()"), None),
                        ("x", 3) => (format!("(k{f}, &{v}) in x.iter().enumerate()"), Some(format!("k{f}"))),
                        ("x", 0) if f % 8 == 4 => (
                            format!("(k{f}, &{v}) in x.iter().enumerate().filter(|(k, _)| k % 2 == 0)"),
                            Some(format!("k{f}")),
                        ),
                        _ => (format!("{v} in {src}"), None),
                    };
                    writeln!(out, "'l{f}: for {head} {{").unwrap();
                    let mut inner = s.clone();
                    inner.scalars.push(v);
                    self.block(&inner.in_loop(format!("'l{f}"), index), muts, depth - 1, out, fresh);
                    writeln!(out, "}}").unwrap();
                }
                8 => {
                    let (p, e1, e2) = (format!("p{f}"), self.expr(s, 1), self.expr(s, 1));
                    writeln!(out, "let ({p}a, {p}b) = pair({e1}, {e2});").unwrap();
                    let q = format!("q{f}");
                    writeln!(out, "let {q} = softmax([{p}a, {p}b, {}, 0.1], 0.9);", self.atom(s)).unwrap();
                    s.scalars.push(format!("{p}a"));
                    s.scalars.push(format!("{p}b"));
                    s.scalars.push(format!("{q}[{}]", self.below(4)));
                }
                7 if !s.relaxed && self.below(3) == 0 => {
                    let c = self.expr(s, 1);
                    let e = self.expr(s, 2);
                    writeln!(out, "if {c} > {} {{ return {e}; }}", self.constant()).unwrap();
                }
                // `while` under a passive or an active condition, and `loop`: a counter first
                // (so that `continue` cannot skip it) ends each after at most three rounds.
                9 if depth > 0 => {
                    let cond = match self.below(2) {
                        0 => format!("n{f} < 3"),
                        _ => format!("{} < {}", self.expr(s, 1), self.threshold(s.relaxed)),
                    };
                    writeln!(out, "let mut n{f} = 0;\n'l{f}: while {cond} {{\nn{f} += 1;\nif n{f} > 3 {{ break; }}")
                        .unwrap();
                    self.block(&s.in_loop(format!("'l{f}"), None), muts, depth - 1, out, fresh);
                    writeln!(out, "}}").unwrap();
                }
                10 if depth > 0 => {
                    writeln!(out, "let mut n{f} = 0;\n'l{f}: loop {{\nn{f} += 1;\nif n{f} > 3 {{ break; }}").unwrap();
                    self.block(&s.in_loop(format!("'l{f}"), None), muts, depth - 1, out, fresh);
                    writeln!(out, "}}").unwrap();
                }
                // `break` or `continue` under an active condition, to the innermost loop or a labelled one.
                // A relaxed `if` on active values cannot leave a loop: on the index, it can.
                11 if s.relaxed && !s.loops.is_empty() && s.index.is_some() => {
                    let i = s.index.clone().unwrap_or_default();
                    let jump = self.pick(&["break", "continue"]);
                    writeln!(out, "if {i} == {} {{ {jump}; }}", self.below(4)).unwrap();
                }
                11 if !s.relaxed && !s.loops.is_empty() => {
                    let c = self.expr(s, 1);
                    let k = self.constant();
                    let target =
                        if self.below(3) == 0 { s.loops[self.below(s.loops.len())].clone() } else { String::new() };
                    let jump = self.pick(&["break", "continue"]);
                    writeln!(out, "if {c} > {k} {{ {jump} {target}; }}").unwrap();
                }
                12 if depth > 0 => {
                    let scrutinee = match &s.index {
                        Some(i) => format!("{i} % 3"),
                        None => format!("{}usize", self.below(3)),
                    };
                    writeln!(out, "match {scrutinee} {{\n0 => {{").unwrap();
                    self.block(s, muts, depth - 1, out, fresh);
                    writeln!(out, "}}\n1 | 2 => {{").unwrap();
                    self.block(s, muts, depth - 1, out, fresh);
                    writeln!(out, "}}\n_ => {{").unwrap();
                    self.block(s, muts, depth - 1, out, fresh);
                    writeln!(out, "}}\n}}").unwrap();
                }
                // A parameter struct: a literal, a field written, passed through a struct output,
                // then read and passed on.
                13 => {
                    let g = format!("gp{f}");
                    let (e1, e2, e3, e4) = (self.expr(s, 1), self.expr(s, 1), self.atom(s), self.expr(s, 1));
                    writeln!(out, "let mut {g} = Gp {{ w: [{e1}, {e2}, {e3}, 0.25], b: {e4}, k: 1 }};").unwrap();
                    let i = s.index.clone().unwrap_or_else(|| self.below(4).to_string());
                    let e = self.expr(s, 1);
                    writeln!(out, "{g}.w[{i}] = ({e}).tanh() + 0.5 * {g}.w[{i}];").unwrap();
                    let e = self.expr(s, 1);
                    writeln!(out, "{g} = gp_shift({g}, {e});").unwrap();
                    s.scalars.push(format!("{g}.b"));
                    s.scalars.push(format!("gp_score({g}, 0.7)"));
                    s.arrays.push(format!("{g}.w"));
                }
                // Reparameterised sampling from the function's own seeded RNG (so that it is a
                // function of its arguments, for finite differences): a Gaussian whose scale stays
                // positive, a Gumbel-softmax. Not in `relaxed` functions (a relaxed `if` may not
                // sample) nor in nested loops (the language does not take it there).
                14 if !s.relaxed && s.loops.len() <= 1 => {
                    self.1 = true;
                    let (e1, e2) = (self.expr(s, 1), self.expr(s, 1));
                    if self.below(2) == 0 {
                        let z = format!("z{f}");
                        writeln!(out, "let {z} = normal_rsample({e1}, 0.3 + 0.2 * sigmoid({e2}), &mut rng);").unwrap();
                        s.scalars.push(z);
                    } else {
                        let y = format!("y{f}");
                        writeln!(out, "let {y} = gumbel_softmax([{e1}, {e2}, {}], 0.8, &mut rng);", self.atom(s))
                            .unwrap();
                        s.scalars.push(format!("{y}[{}]", self.below(3)));
                    }
                }
                _ => {
                    let v = format!("w{f}");
                    let e = self.expr(s, 1);
                    writeln!(out, "let {v} = {e};").unwrap();
                    s.scalars.push(v);
                }
            }
        }
    }
}

/// What a generated function is: a free function over `(x, a)`, a function of a parameter
/// struct (`Gp { w: x, b: a }`), or a method of `Model`.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Free,
    Struct,
    Method,
}

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=RELAX_GRADCHECK_SEED");
    let seed = std::env::var("RELAX_GRADCHECK_SEED").map_or(DEFAULT_SEED, |s| {
        s.parse().unwrap_or_else(|_| panic!("RELAX_GRADCHECK_SEED must be an integer, not {s:?}"))
    });
    let mut g = Gen((seed ^ 0x9e37_79b9_7f4a_7c15).max(1), false);
    let mut out = String::new();
    let mut table = String::new();
    let mut table32 = String::new();
    let (mut forward, mut forward32) = (String::new(), String::new());
    let mut hessian = String::new();
    let mut rows = String::new();
    for k in 0..FUNCTIONS {
        // Every other function is generic: literals and rules then go through `T: Real`.
        let generic = k % 2 == 1;
        let shape = match k % 4 {
            3 => Shape::Struct,
            2 => Shape::Method,
            _ => Shape::Free,
        };
        let (generics, t, at) = if generic { ("<T: Real>", "T", "::<f64>") } else { ("", "f64", "") };
        let body = function_body(&mut g, shape, false, false, t);
        // Every third function's pullback is reusable (`jacobian`): it must compile through
        // every construct, and leave the gradients as they are.
        let jacobian = if k % 3 == 0 { ", jacobian" } else { "" };
        match shape {
            Shape::Free => writeln!(
                out,
                "#[differentiable(max_iter = 8, hvp{jacobian})]\npub fn g{k}{generics}(x: [{t}; 4], a: {t}) -> {t} {body}"
            ),
            Shape::Struct => writeln!(
                out,
                "#[differentiable(wrt(p), max_iter = 8, hvp{jacobian})]\npub fn g{k}{generics}(p: Gp<{t}>) -> {t} {body}\n{}",
                struct_wrappers(k, generics, t)
            ),
            Shape::Method => writeln!(
                out,
                "impl Model<{t}> {{\n#[differentiable(max_iter = 8, hvp{jacobian})]\npub fn g{k}{generics}(&self, x: [{t}; 4], a: {t}) -> {t} {body}}}\n{}",
                method_wrappers(k, generics, t)
            ),
        }
        .unwrap();
        // A caller of each free one with `jacobian`, whose two rows run its pullback in lanes.
        if !jacobian.is_empty() && shape == Shape::Free {
            writeln!(
                out,
                "#[differentiable(jacobian)]\npub fn rows{k}(x: [f64; 4], a: f64) -> [f64; 2] {{ [g{k}(x, a), g{k}([x[3], x[2], x[1], x[0]], 0.5 * a)] }}"
            )
            .unwrap();
            writeln!(rows, "(\"rows{k}\", g{k}_grad{at}, rows{k}_jacobian, rows{k}_vjp),").unwrap();
        }
        let base = if shape == Shape::Free { format!("g{k}") } else { format!("g{k}_flat") };
        table.push_str(&gradient_entry(&format!("g{k}"), &base, at, "f64"));
        forward.push_str(&forward_entry(&format!("g{k}"), &base, at, "f64"));
        let [value, grad, hvp] = hessian_types();
        writeln!(hessian, "(\"g{k}\", {base}{at} as {value}, {base}_grad{at} as {grad}, {base}_hvp{at} as {hvp}),")
            .unwrap();
        if generic {
            table32.push_str(&gradient_entry(&format!("g{k}"), &base, "::<f32>", "f32"));
            forward32.push_str(&forward_entry(&format!("g{k}"), &base, "::<f32>", "f32"));
        }
    }
    // Functions with hard operations, `relaxed`: (name, original, `_relaxed`, `_relaxed_grad`,
    // `_st_grad`, `_relaxed_jvp`, `_relaxed_vjp`).
    let mut relaxed = String::new();
    // Those without hard operations keep their own `_hvp` too.
    let relaxed_function = |g: &mut Gen, name: &str, hard_ops: bool| {
        let body = function_body(g, Shape::Free, true, hard_ops, "f64");
        let hvp = if hard_ops { "" } else { ", hvp" };
        format!("#[differentiable(relaxed, max_iter = 8{hvp})]\npub fn {name}(x: [f64; 4], a: f64) -> f64 {body}")
    };
    for k in 0..RELAXED {
        writeln!(out, "{}", relaxed_function(&mut g, &format!("r{k}"), true)).unwrap();
        writeln!(
            relaxed,
            "(\"r{k}\", r{k}, r{k}_relaxed, r{k}_relaxed_grad, r{k}_st_grad, r{k}_relaxed_jvp, r{k}_relaxed_vjp),"
        )
        .unwrap();
    }
    for k in 0..RELAXED_SMOOTH {
        writeln!(out, "{}", relaxed_function(&mut g, &format!("s{k}"), false)).unwrap();
        table.push_str(&gradient_entry(&format!("s{k}"), &format!("s{k}"), "", "f64"));
        forward.push_str(&forward_entry(&format!("s{k}"), &format!("s{k}"), "", "f64"));
        let [value, grad, hvp] = hessian_types();
        writeln!(hessian, "(\"s{k}\", s{k} as {value}, s{k}_grad as {grad}, s{k}_hvp as {hvp}),").unwrap();
    }
    writeln!(
        out,
        "/// The `relaxed` functions: name, original, `_relaxed`, `_relaxed_grad`, `_st_grad`, `_relaxed_jvp`, `_relaxed_vjp`.
pub const RELAXED: &[(&str, fn([f64; 4], f64) -> f64, fn([f64; 4], f64, f64) -> f64, Grad, Grad, fn([f64; 4], f64, f64, ([f64; 4], f64)) -> (f64, f64), fn([f64; 4], f64, f64, f64) -> (f64, ([f64; 4], f64)))] = &[\n{relaxed}];
/// The type of `_relaxed_grad` and `_st_grad`.
pub type Grad = fn([f64; 4], f64, f64) -> (f64, ([f64; 4], f64));"
    )
    .unwrap();
    let entry = |t: &str| format!("(&str, fn([{t}; 4], {t}) -> {t}, fn([{t}; 4], {t}) -> ({t}, ([{t}; 4], {t})))");
    let (e64, e32) = (entry("f64"), entry("f32"));
    writeln!(
        out,
        "/// Every generated function: name, original, gradient.\npub const FUNCTIONS: &[{e64}] = &[\n{table}];"
    )
    .unwrap();
    writeln!(out, "/// The generic ones at f32.\npub const FUNCTIONS_F32: &[{e32}] = &[\n{table32}];").unwrap();
    writeln!(
        out,
        "/// Callers of the free functions with `jacobian`: name, the callee's `_grad`, the caller's `_jacobian` and `_vjp`.
pub const ROWS: &[(&str, fn([f64; 4], f64) -> (f64, ([f64; 4], f64)), fn([f64; 4], f64) -> ([f64; 2], [([f64; 4], f64); 2]), fn([f64; 4], f64, [f64; 2]) -> ([f64; 2], ([f64; 4], f64)))] = &[\n{rows}];"
    )
    .unwrap();
    let (f64_ty, f32_ty) = (forward_entry_type("f64"), forward_entry_type("f32"));
    writeln!(out, "/// Every generated function: name, original, `_jvp`, `_vjp`.\npub const FORWARD: &[{f64_ty}] = &[\n{forward}];")
        .unwrap();
    writeln!(out, "/// The generic ones at f32.\npub const FORWARD_F32: &[{f32_ty}] = &[\n{forward32}];").unwrap();
    let hessian_ty = format!("(&str, {})", hessian_types().join(", "));
    writeln!(
        out,
        "/// Every generated function but the `relaxed` ones with hard operations: name, original, `_grad`, `_hvp`.\npub const HESSIAN: &[{hessian_ty}] = &[\n{hessian}];"
    )
    .unwrap();
    let path = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("generated.rs");
    std::fs::write(path, out).unwrap();
}

/// A random function body over `x` and `a` (bound from `p` for `Shape::Struct`) of float type
/// `t`, in braces; of a `relaxed` function, with hard operations or without.
fn function_body(g: &mut Gen, shape: Shape, relaxed: bool, hard_ops: bool, t: &str) -> String {
    let model = if shape == Shape::Method { "self" } else { "model" };
    let mut s = Scope {
        scalars: vec!["a".into(), "x[0]".into(), "x[3]".into()],
        arrays: vec!["x".into()],
        index: None,
        loops: Vec::new(),
        model,
        relaxed,
        hard_ops,
    };
    let mut body = String::new();
    if shape == Shape::Struct {
        writeln!(body, "let x = p.w;\nlet a = p.b;").unwrap();
    }
    if shape != Shape::Method {
        writeln!(body, "let model = Model {{ scale: 0.8 }};").unwrap();
    }
    let muts = vec!["s1".to_string(), "s2".to_string()];
    // Local closures, which some `let`s below call (inlined by relax).
    writeln!(
        body,
        "let bend = |v: {t}| v / (v * v + 1.0) + v * 0.25;\nlet mix = |u: {t}, w: {t}| u * 0.75 + w * a * 0.25;"
    )
    .unwrap();
    writeln!(body, "let mut s1 = {};", g.expr(&s, 1)).unwrap();
    writeln!(body, "let mut s2 = 0.0;").unwrap();
    writeln!(body, "let mut arr = [a, x[1], {}, 0.5];", g.expr(&s, 1)).unwrap();
    s.scalars.extend(muts.iter().cloned());
    s.arrays.push("arr".into());
    let mut fresh = 0;
    g.1 = false;
    g.stmts(&mut s, &muts, 3, &mut body, &mut fresh);
    let tail = g.expr(&s, 2);
    let last = g.below(4);
    // The RNG the body samples from, seeded alike on every call.
    let rng = if g.1 {
        format!("let mut rng = <StdRng as SeedableRng>::seed_from_u64({});\n", g.below(1000))
    } else {
        String::new()
    };
    format!("{{\n{rng}{body}{tail} + s1 + s2 + arr[{last}]\n}}\n")
}

/// `g{k}(p: Gp<t>)` over the flat arguments: `p` is `Gp { w: x, b: a }`, its gradient `(gp.w, gp.b)`.
fn struct_wrappers(k: usize, generics: &str, t: &str) -> String {
    let p = "Gp { w: x, b: a, k: 3 }";
    format!(
        "pub fn g{k}_flat{generics}(x: [{t}; 4], a: {t}) -> {t} {{ g{k}({p}) }}
pub fn g{k}_flat_grad{generics}(x: [{t}; 4], a: {t}) -> ({t}, ([{t}; 4], {t})) {{
    let (v, d) = g{k}_grad({p});
    (v, (d.w, d.b))
}}
pub fn g{k}_flat_jvp{generics}(x: [{t}; 4], a: {t}, (dx, da): ([{t}; 4], {t})) -> ({t}, {t}) {{
    g{k}_jvp({p}, Gp {{ w: dx, b: da, k: 0 }})
}}
pub fn g{k}_flat_vjp{generics}(x: [{t}; 4], a: {t}, dout: {t}) -> ({t}, ([{t}; 4], {t})) {{
    let (v, d) = g{k}_vjp({p}, dout);
    (v, (d.w, d.b))
}}
pub fn g{k}_flat_hvp{generics}(x: [{t}; 4], a: {t}, (vx, va): ([{t}; 4], {t})) -> ({t}, ([{t}; 4], {t}), ([{t}; 4], {t})) {{
    let (v, d, h) = g{k}_hvp({p}, Gp {{ w: vx, b: va, k: 0 }});
    (v, (d.w, d.b), (h.w, h.b))
}}
"
    )
}

/// The method `Model::g{k}` over the flat arguments, called on a `Model` of scale 0.8.
fn method_wrappers(k: usize, generics: &str, t: &str) -> String {
    let m = "Model { scale: 0.8 }";
    format!(
        "pub fn g{k}_flat{generics}(x: [{t}; 4], a: {t}) -> {t} {{ {m}.g{k}(x, a) }}
pub fn g{k}_flat_grad{generics}(x: [{t}; 4], a: {t}) -> ({t}, ([{t}; 4], {t})) {{ {m}.g{k}_grad(x, a) }}
pub fn g{k}_flat_jvp{generics}(x: [{t}; 4], a: {t}, v: ([{t}; 4], {t})) -> ({t}, {t}) {{ {m}.g{k}_jvp(x, a, v) }}
pub fn g{k}_flat_vjp{generics}(x: [{t}; 4], a: {t}, dout: {t}) -> ({t}, ([{t}; 4], {t})) {{ {m}.g{k}_vjp(x, a, dout) }}
pub fn g{k}_flat_hvp{generics}(x: [{t}; 4], a: {t}, v: ([{t}; 4], {t})) -> ({t}, ([{t}; 4], {t}), ([{t}; 4], {t})) {{ {m}.g{k}_hvp(x, a, v) }}
"
    )
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

/// The types of `g{k}`, `g{k}_grad` and `g{k}_hvp` (at f64).
fn hessian_types() -> [String; 3] {
    let g = "([f64; 4], f64)";
    [
        "fn([f64; 4], f64) -> f64".to_string(),
        format!("fn([f64; 4], f64) -> (f64, {g})"),
        format!("fn([f64; 4], f64, {g}) -> (f64, {g}, {g})"),
    ]
}

/// The type of a forward-mode entry at float type `t`: name, original, `_jvp`, `_vjp`.
fn forward_entry_type(t: &str) -> String {
    let [value, jvp, vjp] = forward_types(t);
    format!("(&str, {value}, {jvp}, {vjp})")
}

/// The gradient-table entry of `name` (functions named from `base`, with the turbofish `at`) at
/// float type `t`.
fn gradient_entry(name: &str, base: &str, at: &str, t: &str) -> String {
    let (value, grad) = (format!("fn([{t}; 4], {t}) -> {t}"), format!("fn([{t}; 4], {t}) -> ({t}, ([{t}; 4], {t}))"));
    format!("(\"{name}\", {base}{at} as {value}, {base}_grad{at} as {grad}),\n")
}

/// The forward-mode entry of `name` (functions named from `base`, with the turbofish `at`) at
/// float type `t`.
fn forward_entry(name: &str, base: &str, at: &str, t: &str) -> String {
    let [value, jvp, vjp] = forward_types(t);
    format!("(\"{name}\", {base}{at} as {value}, {base}_jvp{at} as {jvp}, {base}_vjp{at} as {vjp}),\n")
}
