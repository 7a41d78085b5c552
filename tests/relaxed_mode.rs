//! `#[differentiable(relaxed)]` on every row of SPEC's relaxation table, on scalars and inside
//! loops, branches, arrays, calls and methods. For each fixture, at `POINTS` random points:
//!
//! - `NAME_relaxed_grad`/`_vjp` against central finite differences of `NAME_relaxed`, and
//!   `_relaxed_jvp` against finite differences along a direction and against `_relaxed_vjp`
//!   (`<dout, J·v> = <Jᵀ·dout, v>`); every `_relaxed_*` value is `NAME_relaxed`'s bit for bit;
//! - straight-through: `_st_grad`/`_st_vjp` return the original's value bit for bit and exactly
//!   the relaxed gradient;
//! - where the hard function's finite differences vanish (a step, a comparison, an index), the
//!   relaxed gradient does not;
//! - convergence: off the ties and kinks (at least [`MARGIN`] away), `|NAME_relaxed(p, t) −
//!   NAME(p)| ≤ C·t` at `t = 1e-3, 1e-5, 1e-7`, with `C` derived per fixture from the surrogates'
//!   error bounds (see [`Bound`]);
//! - finiteness: values and gradients finite for `t` from `1e-12` to `1e3` and inputs up to
//!   `±3e300`, wherever the original's value is finite.
//!
//! Besides, the relaxed values against the table's closed forms (computed here from their
//! definitions), the error at the ties (`t·ln 2` for the logsumexp family, exactly proportional
//! to `t`), composition (a relaxed callee is relaxed at the caller's temperature; a relaxed caller
//! of callees without hard operations keeps its own `_grad`, `_jvp` and `_hvp`) and hard
//! operations on data (left as written).
#![deny(warnings)]
// The fixtures are written the way relax's language reads best: index loops.
#![allow(clippy::needless_range_loop)]

mod common;

use common::*;

use rand::rngs::StdRng;
use relax::prelude::*;

const POINTS: usize = 100;

/// How far from a tie or a kink the convergence points lie.
const MARGIN: f64 = 0.05;

/// The temperatures of the convergence check.
const SMALL_T: [f64; 3] = [1e-3, 1e-5, 1e-7];

/// The temperatures of the finiteness check.
const ANY_T: [f64; 6] = [1e-12, 1e-6, 1e-2, 1.0, 10.0, 1e3];

/// A value and a gradient (or tangent), flattened.
type Pair = (Vec<f64>, Vec<f64>);

fn pair<V: Flat, G: Flat>((v, g): (V, G)) -> Pair {
    (v.flat(), g.flat())
}

/// The functions a fixture generates, on flat points `p` (the differentiated parameters'
/// coordinates, in order), temperatures `t`, tangents and cotangents.
struct Fns<'a> {
    hard: &'a dyn Fn(&[f64]) -> Vec<f64>,
    relaxed: &'a dyn Fn(&[f64], f64) -> Vec<f64>,
    relaxed_vjp: &'a Product<'a>,
    relaxed_jvp: &'a Product<'a>,
    st_vjp: &'a Product<'a>,
    /// `_relaxed_grad` and `_st_grad`, for a scalar output.
    grads: Option<[&'a Gradient<'a>; 2]>,
}

/// A `_vjp` or `_jvp` at a point, a temperature and a cotangent or tangent.
type Product<'a> = dyn Fn(&[f64], f64, &[f64]) -> Pair + 'a;

/// A `_grad` at a point and a temperature.
type Gradient<'a> = dyn Fn(&[f64], f64) -> Pair + 'a;

/// [`Fns`] of the function `f` of module `$m` (or of the method `f` of `$recv`), called with
/// `$args` (in terms of the point `$p`), its tangent `G` built from the flat `$v` and its output
/// cotangent from the flat `$d`; `scalar` adds `_relaxed_grad` and `_st_grad`.
macro_rules! fns {
    ($m:ident :: f [$($arg:expr),*] |$p:ident, $v:ident, $d:ident| ($tangent:expr, $dout:expr) $($scalar:ident)?) => {
        Fns {
            hard: &|$p: &[f64]| $m::f($($arg),*).flat(),
            relaxed: &|$p: &[f64], t: f64| $m::f_relaxed($($arg,)* t).flat(),
            relaxed_vjp: &|$p: &[f64], t: f64, $d: &[f64]| pair($m::f_relaxed_vjp($($arg,)* t, $dout)),
            relaxed_jvp: &|$p: &[f64], t: f64, $v: &[f64]| pair($m::f_relaxed_jvp($($arg,)* t, $tangent)),
            st_vjp: &|$p: &[f64], t: f64, $d: &[f64]| pair($m::f_st_vjp($($arg,)* t, $dout)),
            grads: fns!(@grads $($scalar)? |$p| [$m::f_relaxed_grad] [$m::f_st_grad] [$($arg),*]),
        }
    };
    ($recv:ident . f [$($arg:expr),*] |$p:ident, $v:ident, $d:ident| ($tangent:expr, $dout:expr) $($scalar:ident)?) => {
        Fns {
            hard: &|$p: &[f64]| $recv.f($($arg),*).flat(),
            relaxed: &|$p: &[f64], t: f64| $recv.f_relaxed($($arg,)* t).flat(),
            relaxed_vjp: &|$p: &[f64], t: f64, $d: &[f64]| pair($recv.f_relaxed_vjp($($arg,)* t, $dout)),
            relaxed_jvp: &|$p: &[f64], t: f64, $v: &[f64]| pair($recv.f_relaxed_jvp($($arg,)* t, $tangent)),
            st_vjp: &|$p: &[f64], t: f64, $d: &[f64]| pair($recv.f_st_vjp($($arg,)* t, $dout)),
            grads: fns!(@grads $($scalar)? |$p| [$recv.f_relaxed_grad] [$recv.f_st_grad] [$($arg),*]),
        }
    };
    (@grads scalar |$p:ident| [$($grad:tt)+] [$($st_grad:tt)+] [$($arg:expr),*]) => {
        Some([
            &|$p: &[f64], t: f64| pair($($grad)+($($arg,)* t)),
            &|$p: &[f64], t: f64| pair($($st_grad)+($($arg,)* t)),
        ])
    };
    (@grads |$p:ident| [$($grad:tt)+] [$($st_grad:tt)+] [$($arg:expr),*]) => {
        None
    };
}

/// The constant `C` of the convergence bound `|NAME_relaxed(p, t) − NAME(p)| ≤ C·t` (largest
/// over the output's entries), at points at least [`MARGIN`] from every tie and kink:
/// `C = lse·ln 2 + jumps·2/(e·MARGIN)`.
///
/// - `lse`: the logsumexp surrogates (`max`, `min`, `relu`, `abs`, `clamp` twice) are within
///   `t·ln 2` of the hard operation everywhere; `lse` sums, over them, how much the output moves
///   per unit of their error (a Lipschitz constant, 1 for a sum).
/// - `jumps`: a sigmoid, `tanh` or soft-rounding step at distance `d` from its jump is within
///   `e^(−d/t)` of the hard step (relative to the jump's size), and `e^(−d/t) ≤ t/(e·d)`
///   (`x·e^(−x) ≤ 1/e`); a relaxed `if` is off by `(1 − s)·|A − B|`, a softmax's weights off
///   the maximum sum to at most `(N − 1)·e^(−gap/t)`. `jumps` sums the sizes these multiply (the
///   jump, `|A − B|`, `(N − 1)·` the index or value spread), taken at `d = MARGIN/2` for slack
///   (an upstream surrogate's `t·ln 2` may move a step's input a little towards its jump).
struct Bound {
    lse: f64,
    jumps: f64,
}

impl Bound {
    fn c(&self) -> f64 {
        self.lse * core::f64::consts::LN_2 + self.jumps * 2.0 / (core::f64::consts::E * MARGIN)
    }
}

/// One fixture: its generated functions, how to draw its points, and what to expect.
struct Case<'a> {
    name: &'a str,
    seed: u64,
    /// Draws a point (uniform in a box around 0, of a few units).
    draw: &'a dyn Fn(&mut StdRng) -> Vec<f64>,
    /// The point's distances to the hard function's ties and kinks (signed where the sign
    /// matters: a point is used for convergence only if each is at least [`MARGIN`]).
    ties: &'a dyn Fn(&[f64]) -> Vec<f64>,
    bound: Bound,
    /// The hard function is piecewise constant: its finite differences vanish at every point.
    steps_only: bool,
    fns: Fns<'a>,
}

/// Runs every check on `case`.
#[track_caller]
fn check(case: Case) {
    check_gradients(&case);
    check_convergence(&case);
    check_finite(&case);
}

/// At `POINTS` random points and temperatures in `[0.2, 1)`: values, gradients against finite
/// differences, duality, straight-through and nonzero relaxed gradients.
#[track_caller]
fn check_gradients(case: &Case) {
    let Fns { hard, relaxed, relaxed_vjp, relaxed_jvp, st_vjp, grads } = &case.fns;
    let mut r = rng(case.seed);
    for _ in 0..POINTS {
        let p = (case.draw)(&mut r);
        let t = uniform(&mut r, 0.2, 1.0);
        let at = format!("{} at {p:?}, t = {t}", case.name);
        let value = relaxed(&p, t);
        let dout = point(&mut r, value.len(), -2.0, 2.0);
        let v = direction(&mut r, p.len());
        // Reverse mode: the value bit for bit, the gradient against finite differences of
        // `<dout, NAME_relaxed>`.
        let (vjp_value, g) = relaxed_vjp(&p, t, &dout);
        assert_same_bits(&format!("{at}: _relaxed_vjp value"), &vjp_value, &value);
        let along_dout = |q: &[f64]| relaxed(q, t).iter().zip(&dout).map(|(a, b)| a * b).sum();
        let noise = fd_noise(&value, &dout);
        assert_close_to_fd(&format!("{at}: _relaxed_vjp"), &g, &fd(along_dout, &p), 1e-6, noise);
        // Forward mode: the value, the tangent along `v`, and duality with the vjp.
        let (jvp_value, tangent) = relaxed_jvp(&p, t, &v);
        assert_same_bits(&format!("{at}: _relaxed_jvp value"), &jvp_value, &value);
        check_along(&format!("{at}: _relaxed_jvp"), &p, &v, &|q| relaxed(q, t), &tangent);
        assert_dual(&at, &v, &tangent, &dout, &g);
        // Straight-through: the original's value, the relaxed gradient.
        let original = hard(&p);
        let (st_value, st_g) = st_vjp(&p, t, &dout);
        assert_same_bits(&format!("{at}: _st_vjp value"), &st_value, &original);
        assert_same_bits(&format!("{at}: _st_vjp gradient"), &st_g, &g);
        if let Some([grad, st_grad]) = grads {
            let (grad_value, grad_g) = grad(&p, t);
            assert_same_bits(&format!("{at}: _relaxed_grad value"), &grad_value, &value);
            let noise = fd_noise(&value, &[1.0]);
            assert_close_to_fd(&format!("{at}: _relaxed_grad"), &grad_g, &fd(|q| relaxed(q, t)[0], &p), 1e-6, noise);
            let (st_grad_value, st_grad_g) = st_grad(&p, t);
            assert_same_bits(&format!("{at}: _st_grad value"), &st_grad_value, &original);
            assert_same_bits(&format!("{at}: _st_grad gradient"), &st_grad_g, &grad_g);
        }
        // Where the hard function is flat, the relaxed one is not.
        let hard_along_dout = |q: &[f64]| hard(q).iter().zip(&dout).map(|(a, b)| a * b).sum();
        let hard_fd = fd(hard_along_dout, &p);
        if case.steps_only && ties_at(case, &p) >= MARGIN {
            assert!(hard_fd.iter().all(|d| *d == 0.0), "{at}: the hard function is not flat: {hard_fd:?}");
        }
        for (i, (h, s)) in hard_fd.iter().zip(&g).enumerate() {
            assert!(*h != 0.0 || *s != 0.0, "{at}: coordinate {i}: relaxed gradient zero where the hard one is");
        }
    }
}

/// The absolute error of central differences of `<dout, f>` from rounding, where `f`'s value is
/// `value`: the surrogates (logsumexp, `tanh`, soft rounding, blends) compute it to within about
/// 10 ulps, which the step `2h = 2e-6` (relative, [`fd`]'s) divides: `1e-15·|<dout, f>|/1e-6`,
/// with an absolute floor for values near 0. A wrong gradient is off by a partial derivative's
/// size instead.
fn fd_noise(value: &[f64], dout: &[f64]) -> f64 {
    let scale: f64 = value.iter().zip(dout).map(|(a, b)| (a * b).abs()).sum();
    1e-9 * (1.0 + scale)
}

/// The smallest of `case.ties` at `p`.
fn ties_at(case: &Case, p: &[f64]) -> f64 {
    (case.ties)(p).into_iter().fold(f64::INFINITY, f64::min)
}

/// A point at least [`MARGIN`] from every tie and kink of `case`.
fn off_ties(case: &Case, r: &mut StdRng) -> Vec<f64> {
    loop {
        let p = (case.draw)(r);
        if ties_at(case, &p) >= MARGIN {
            return p;
        }
    }
}

/// `|NAME_relaxed(p, t) − NAME(p)| ≤ C·t` at [`SMALL_T`], at `POINTS` points off the ties.
#[track_caller]
fn check_convergence(case: &Case) {
    let c = case.bound.c();
    let mut r = rng(case.seed + 1000);
    for _ in 0..POINTS {
        let p = off_ties(case, &mut r);
        let hard = (case.fns.hard)(&p);
        for t in SMALL_T {
            let err = (case.fns.relaxed)(&p, t).iter().zip(&hard).fold(0.0_f64, |m, (a, b)| m.max((a - b).abs()));
            assert!(
                err <= c * t,
                "{} at {p:?}: |relaxed - hard| = {err:e} at t = {t:e}, above C·t = {:e}",
                case.name,
                c * t
            );
        }
    }
}

/// At points scaled by up to `1e300` and at every temperature of [`ANY_T`]: where the original's
/// value is finite, every relaxed value and gradient is.
#[track_caller]
fn check_finite(case: &Case) {
    let Fns { hard, relaxed, relaxed_vjp, relaxed_jvp, st_vjp, grads } = &case.fns;
    let mut r = rng(case.seed + 2000);
    let finite = |x: &[f64]| x.iter().all(|v| v.is_finite());
    for k in 0..POINTS {
        // A point scaled by `10^e`, `e` up to 300 (the last exactly 300).
        let e = if k + 1 == POINTS { 300.0 } else { uniform(&mut r, 0.0, 300.0) };
        let p: Vec<f64> = (case.draw)(&mut r).iter().map(|x| x * 10f64.powf(e)).collect();
        if !finite(&hard(&p)) {
            continue;
        }
        let ones = vec![1.0; hard(&p).len()];
        let v = vec![1.0; p.len()];
        for t in ANY_T {
            let at = format!("{} at {p:?}, t = {t:e}", case.name);
            let (value, g) = relaxed_vjp(&p, t, &ones);
            let (_, tangent) = relaxed_jvp(&p, t, &v);
            let (_, st_g) = st_vjp(&p, t, &ones);
            assert!(finite(&relaxed(&p, t)) && finite(&value), "{at}: value {value:?}");
            assert!(finite(&g) && finite(&st_g), "{at}: gradient {g:?}, straight-through {st_g:?}");
            assert!(finite(&tangent), "{at}: tangent {tangent:?}");
            if let Some([grad, _]) = grads {
                let (_, g) = grad(&p, t);
                assert!(finite(&g), "{at}: _relaxed_grad {g:?}");
            }
        }
    }
}

// -- distances to ties ------------------------------------------------------------------------

/// `|x − nearest half-integer|`: where `round` jumps.
fn off_half(x: f64) -> f64 {
    (x - x.floor() - 0.5).abs()
}

/// `|x − nearest integer|`: where `floor` and `ceil` jump.
fn off_integer(x: f64) -> f64 {
    (x - x.round()).abs()
}

/// The distances between every two of `xs`.
fn pairwise(xs: &[f64]) -> Vec<f64> {
    let mut out = Vec::new();
    for i in 0..xs.len() {
        for j in i + 1..xs.len() {
            out.push((xs[i] - xs[j]).abs());
        }
    }
    out
}

/// The largest entry's lead over the second largest: where `argmax` switches.
fn top_gap(xs: &[f64]) -> f64 {
    let mut sorted = xs.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    sorted[0] - sorted[1]
}

// -- the table, on scalars ----------------------------------------------------------------------

mod max2 {
    use super::*;
    #[differentiable(relaxed)]
    pub fn f(a: f64, b: f64) -> f64 {
        a.max(b)
    }
}

mod min2 {
    use super::*;
    #[differentiable(relaxed)]
    pub fn f(a: f64, b: f64) -> f64 {
        a.min(b)
    }
}

mod relu1 {
    use super::*;
    #[differentiable(relaxed)]
    pub fn f(x: f64) -> f64 {
        relu(x)
    }
}

mod abs1 {
    use super::*;
    #[differentiable(relaxed)]
    pub fn f(x: f64) -> f64 {
        x.abs()
    }
}

mod signum1 {
    use super::*;
    #[differentiable(relaxed)]
    pub fn f(x: f64) -> f64 {
        x.signum()
    }
}

mod clamp3 {
    use super::*;
    #[differentiable(relaxed)]
    pub fn f(x: f64, lo: f64, hi: f64) -> f64 {
        x.clamp(lo, hi)
    }
}

mod if_gt {
    use super::*;
    #[differentiable(relaxed)]
    pub fn f(a: f64, b: f64) -> f64 {
        if a > b { 2.0 * a - b } else { 0.5 * b + 1.0 }
    }
}

mod if_ge {
    use super::*;
    /// An `if` without `else` that writes a binding: the binding is blended.
    #[differentiable(relaxed)]
    pub fn f(a: f64, b: f64) -> f64 {
        let mut y = a;
        if a >= b {
            y = 3.0 * b;
        }
        y
    }
}

mod if_lt {
    use super::*;
    #[differentiable(relaxed)]
    pub fn f(a: f64, b: f64) -> f64 {
        if a < b { a.abs() } else { b - 1.0 }
    }
}

mod if_le {
    use super::*;
    #[differentiable(relaxed)]
    pub fn f(a: f64, b: f64) -> f64 {
        let mut y = 0.0;
        if a <= b {
            y += a;
        } else {
            y -= b;
        }
        y
    }
}

mod gt_number {
    use super::*;
    #[differentiable(relaxed)]
    pub fn f(a: f64, b: f64) -> f64 {
        (a > b) as u8 as f64 * 3.0 + a
    }
}

mod ge_number {
    use super::*;
    #[differentiable(relaxed)]
    pub fn f(a: f64, b: f64) -> f64 {
        (a >= b) as i32 as f64
    }
}

mod lt_number {
    use super::*;
    #[differentiable(relaxed)]
    pub fn f(a: f64, b: f64) -> f64 {
        2.0 * ((a < b) as u8 as f64)
    }
}

mod le_number {
    use super::*;
    #[differentiable(relaxed)]
    pub fn f(a: f64, b: f64) -> f64 {
        (a <= b) as i32 as f64 - b
    }
}

mod argmax_index {
    use super::*;
    #[differentiable(relaxed)]
    pub fn f(x: [f64; 4]) -> f64 {
        argmax(x) as f64
    }
}

mod argmax_one_hot {
    use super::*;
    #[differentiable(relaxed)]
    pub fn f(x: [f64; 4]) -> [f64; 4] {
        one_hot(argmax(x))
    }
}

mod argmax_select {
    use super::*;
    #[differentiable(relaxed)]
    pub fn f(x: [f64; 4], y: [f64; 4]) -> f64 {
        y[argmax(x)]
    }
}

mod round1 {
    use super::*;
    #[differentiable(relaxed)]
    pub fn f(x: f64) -> f64 {
        x.round()
    }
}

mod floor1 {
    use super::*;
    #[differentiable(relaxed)]
    pub fn f(x: f64) -> f64 {
        x.floor()
    }
}

mod ceil1 {
    use super::*;
    #[differentiable(relaxed)]
    pub fn f(x: f64) -> f64 {
        x.ceil()
    }
}

/// Points of `[−3, 3)^n`.
fn cube(n: usize) -> impl Fn(&mut StdRng) -> Vec<f64> {
    move |r| point(r, n, -3.0, 3.0)
}

fn scalar_ties(p: &[f64]) -> Vec<f64> {
    vec![p[0].abs()]
}

fn pair_ties(p: &[f64]) -> Vec<f64> {
    vec![(p[0] - p[1]).abs()]
}

/// A bound of the logsumexp family alone.
fn lse(lse: f64) -> Bound {
    Bound { lse, jumps: 0.0 }
}

/// A bound of steps alone.
fn jumps(jumps: f64) -> Bound {
    Bound { lse: 0.0, jumps }
}

#[test]
fn max_min_relu_abs_signum_clamp() {
    check(Case {
        name: "max",
        seed: 1,
        draw: &cube(2),
        ties: &pair_ties,
        bound: lse(1.0),
        steps_only: false,
        fns: fns!(max2::f[p[0], p[1]] |p, v, d| ((v[0], v[1]), d[0]) scalar),
    });
    check(Case {
        name: "min",
        seed: 2,
        draw: &cube(2),
        ties: &pair_ties,
        bound: lse(1.0),
        steps_only: false,
        fns: fns!(min2::f[p[0], p[1]] |p, v, d| ((v[0], v[1]), d[0]) scalar),
    });
    check(Case {
        name: "relu",
        seed: 3,
        draw: &cube(1),
        ties: &scalar_ties,
        bound: lse(1.0),
        steps_only: false,
        fns: fns!(relu1::f[p[0]] |p, v, d| (v[0], d[0]) scalar),
    });
    check(Case {
        name: "abs",
        seed: 4,
        draw: &cube(1),
        ties: &scalar_ties,
        bound: lse(1.0),
        steps_only: false,
        fns: fns!(abs1::f[p[0]] |p, v, d| (v[0], d[0]) scalar),
    });
    // `1 − tanh(d/t) ≤ 2e^(−2d/t)`: within the sigmoid's bound for a jump of 1 on each side.
    check(Case {
        name: "signum",
        seed: 5,
        draw: &cube(1),
        ties: &scalar_ties,
        bound: jumps(1.0),
        steps_only: true,
        fns: fns!(signum1::f[p[0]] |p, v, d| (v[0], d[0]) scalar),
    });
    // `lo < hi`: the hard `clamp` panics otherwise.
    check(Case {
        name: "clamp",
        seed: 6,
        draw: &|r| {
            let mut p = point(r, 3, -3.0, 3.0);
            if p[1] > p[2] {
                p.swap(1, 2);
            }
            p
        },
        ties: &|p| vec![(p[0] - p[1]).abs(), (p[0] - p[2]).abs(), p[2] - p[1]],
        bound: lse(2.0),
        steps_only: false,
        fns: fns!(clamp3::f[p[0], p[1], p[2]] |p, v, d| ((v[0], v[1], v[2]), d[0]) scalar),
    });
}

#[test]
fn ifs_on_comparisons_blend_their_arms() {
    // `|A − B| = |2a − 1.5b − 1| ≤ 11.5`.
    check(Case {
        name: "if a > b",
        seed: 11,
        draw: &cube(2),
        ties: &pair_ties,
        bound: jumps(11.5),
        steps_only: false,
        fns: fns!(if_gt::f[p[0], p[1]] |p, v, d| ((v[0], v[1]), d[0]) scalar),
    });
    // `|3b − a| ≤ 12`.
    check(Case {
        name: "if a >= b (no else)",
        seed: 12,
        draw: &cube(2),
        ties: &pair_ties,
        bound: jumps(12.0),
        steps_only: false,
        fns: fns!(if_ge::f[p[0], p[1]] |p, v, d| ((v[0], v[1]), d[0]) scalar),
    });
    // `|(|a|) − (b − 1)| ≤ 7`, and the `abs` in an arm.
    check(Case {
        name: "if a < b",
        seed: 13,
        draw: &cube(2),
        ties: &|p| vec![(p[0] - p[1]).abs(), p[0].abs()],
        bound: Bound { lse: 1.0, jumps: 7.0 },
        steps_only: false,
        fns: fns!(if_lt::f[p[0], p[1]] |p, v, d| ((v[0], v[1]), d[0]) scalar),
    });
    // `|a − (−b)| ≤ 6`.
    check(Case {
        name: "if a <= b (+= and -=)",
        seed: 14,
        draw: &cube(2),
        ties: &pair_ties,
        bound: jumps(6.0),
        steps_only: false,
        fns: fns!(if_le::f[p[0], p[1]] |p, v, d| ((v[0], v[1]), d[0]) scalar),
    });
}

#[test]
fn comparisons_made_numbers() {
    check(Case {
        name: "(a > b) as u8 as f64",
        seed: 21,
        draw: &cube(2),
        ties: &pair_ties,
        bound: jumps(3.0),
        steps_only: false,
        fns: fns!(gt_number::f[p[0], p[1]] |p, v, d| ((v[0], v[1]), d[0]) scalar),
    });
    check(Case {
        name: "(a >= b) as i32 as f64",
        seed: 22,
        draw: &cube(2),
        ties: &pair_ties,
        bound: jumps(1.0),
        steps_only: true,
        fns: fns!(ge_number::f[p[0], p[1]] |p, v, d| ((v[0], v[1]), d[0]) scalar),
    });
    check(Case {
        name: "(a < b) as u8 as f64",
        seed: 23,
        draw: &cube(2),
        ties: &pair_ties,
        bound: jumps(2.0),
        steps_only: true,
        fns: fns!(lt_number::f[p[0], p[1]] |p, v, d| ((v[0], v[1]), d[0]) scalar),
    });
    check(Case {
        name: "(a <= b) as i32 as f64",
        seed: 24,
        draw: &cube(2),
        ties: &pair_ties,
        bound: jumps(1.0),
        steps_only: false,
        fns: fns!(le_number::f[p[0], p[1]] |p, v, d| ((v[0], v[1]), d[0]) scalar),
    });
}

#[test]
fn argmax_as_a_number_a_one_hot_and_an_index() {
    let top = |p: &[f64]| vec![top_gap(&p[..4])];
    // The weights off the maximum sum to at most `3e^(−gap/t)`, each at most 3 indices away.
    check(Case {
        name: "argmax(x) as f64",
        seed: 31,
        draw: &cube(4),
        ties: &top,
        bound: jumps(9.0),
        steps_only: true,
        fns: fns!(argmax_index::f[arr(p)] |p, v, d| (arr(v), d[0]) scalar),
    });
    check(Case {
        name: "one_hot(argmax(x))",
        seed: 32,
        draw: &cube(4),
        ties: &top,
        bound: jumps(3.0),
        steps_only: true,
        fns: fns!(argmax_one_hot::f[arr(p)] | p, v, d | (arr(v), arr(d))),
    });
    // Each weight off the maximum multiplies `|y_i − y_k| ≤ 6`.
    check(Case {
        name: "y[argmax(x)]",
        seed: 33,
        draw: &cube(8),
        ties: &top,
        bound: jumps(18.0),
        steps_only: false,
        fns: fns!(argmax_select::f[arr(p), arr(&p[4..])] |p, v, d| ((arr(v), arr(&v[4..])), d[0]) scalar),
    });
}

#[test]
fn round_floor_ceil() {
    // `|soft round − round| = (1 − tanh(d/t)/tanh(1/2t))/2 ≤ e^(−2d/t)/tanh(1/2t)`, `d` the
    // distance to the half-integer: within the sigmoid's bound for a jump of 1.
    check(Case {
        name: "round",
        seed: 41,
        draw: &cube(1),
        ties: &|p| vec![off_half(p[0])],
        bound: jumps(1.0),
        steps_only: true,
        fns: fns!(round1::f[p[0]] |p, v, d| (v[0], d[0]) scalar),
    });
    check(Case {
        name: "floor",
        seed: 42,
        draw: &cube(1),
        ties: &|p| vec![off_integer(p[0])],
        bound: jumps(1.0),
        steps_only: true,
        fns: fns!(floor1::f[p[0]] |p, v, d| (v[0], d[0]) scalar),
    });
    check(Case {
        name: "ceil",
        seed: 43,
        draw: &cube(1),
        ties: &|p| vec![off_integer(p[0])],
        bound: jumps(1.0),
        steps_only: true,
        fns: fns!(ceil1::f[p[0]] |p, v, d| (v[0], d[0]) scalar),
    });
}

// -- in loops, branches, arrays, calls and methods ----------------------------------------------

mod loop_max {
    use super::*;
    /// A running maximum.
    #[differentiable(relaxed)]
    pub fn f(x: [f64; 5]) -> f64 {
        let mut m = x[0];
        for i in 1..5 {
            m = m.max(x[i]);
        }
        m
    }
}

mod loop_if {
    use super::*;
    /// A relaxed `if` in a loop, blending the accumulator.
    #[differentiable(relaxed)]
    pub fn f(x: [f64; 5], level: f64) -> f64 {
        let mut total = 0.0;
        for v in x {
            if v > level {
                total += v - level;
            } else {
                total -= 0.5 * (level - v);
            }
        }
        total
    }
}

mod loop_steps {
    use super::*;
    #[differentiable(relaxed)]
    pub fn f(x: [f64; 4]) -> f64 {
        let mut q = 0.0;
        for i in 0..4 {
            q += x[i].round() + 0.5 * x[i].floor() - 0.25 * x[i].ceil() + (x[i] > 0.0) as u8 as f64;
        }
        q
    }
}

mod loop_kinks {
    use super::*;
    #[differentiable(relaxed)]
    pub fn f(x: [f64; 4]) -> f64 {
        let mut s = 0.0;
        for v in x {
            s += v.signum() + 0.5 * v.abs() + relu(v - 1.0) + v.clamp(-1.0, 1.0);
        }
        s
    }
}

mod branch_on_data {
    use super::*;
    /// Relaxed operations in the arms of an `if` on data, which is kept.
    #[differentiable(relaxed)]
    pub fn f(x: f64, y: f64, mode: u8) -> f64 {
        if mode == 0 { x.round() + y.abs() } else { x.max(y).ceil() }
    }
}

mod nested_ifs {
    use super::*;
    #[differentiable(relaxed)]
    pub fn f(a: f64, b: f64) -> f64 {
        if a > b {
            if a > 0.0 { a.floor() } else { b.signum() }
        } else if b < 1.0 {
            (a - b).abs()
        } else {
            b.min(a)
        }
    }
}

mod array_ops {
    use super::*;
    /// An array output; an `if` that writes one element blends the whole array.
    #[differentiable(relaxed)]
    pub fn f(x: [f64; 3]) -> [f64; 3] {
        let mut y = [x[0].max(x[1]), x[1].signum(), x[2].ceil()];
        if x[0] > x[2] {
            y[1] = x[0] * 0.5;
        }
        y
    }
}

mod array_argmax {
    use super::*;
    #[differentiable(relaxed)]
    pub fn f(x: [f64; 4], w: [f64; 4]) -> [f64; 4] {
        let p: [f64; 4] = one_hot(argmax(x));
        let mut out = [0.0; 4];
        for i in 0..4 {
            out[i] = p[i] * w[i] + w[argmax(x)];
        }
        out
    }
}

mod generic {
    use super::*;
    #[differentiable(relaxed)]
    pub fn f<T: Real>(x: T, y: T) -> T {
        (x - y).round() * 0.5 + x.max(y)
    }
}

#[test]
fn in_loops() {
    check(Case {
        name: "running max",
        seed: 51,
        draw: &cube(5),
        ties: &pairwise,
        bound: lse(4.0),
        steps_only: false,
        fns: fns!(loop_max::f[arr(p)] |p, v, d| (arr(v), d[0]) scalar),
    });
    // Each iteration's `|A − B| = |v − level|/2 ≤ 3`, five of them.
    check(Case {
        name: "if in a loop",
        seed: 52,
        draw: &cube(6),
        ties: &|p| p[..5].iter().map(|v| (v - p[5]).abs()).collect(),
        bound: jumps(15.0),
        steps_only: false,
        fns: fns!(loop_if::f[arr(p), p[5]] |p, v, d| ((arr(v), v[5]), d[0]) scalar),
    });
    // Per entry: jumps of 1, 0.5, 0.25 and 1.
    check(Case {
        name: "round, floor, ceil and a comparison in a loop",
        seed: 53,
        draw: &cube(4),
        ties: &|p| p.iter().flat_map(|x| [off_half(*x), off_integer(*x)]).collect(),
        bound: jumps(4.0 * 2.75),
        steps_only: true,
        fns: fns!(loop_steps::f[arr(p)] |p, v, d| (arr(v), d[0]) scalar),
    });
    // Per entry: `abs` (weight 0.5), `relu`, `clamp` (two) and a `signum` jump.
    check(Case {
        name: "signum, abs, relu and clamp in a loop",
        seed: 54,
        draw: &cube(4),
        ties: &|p| p.iter().flat_map(|x| [x.abs(), (x - 1.0).abs(), (x + 1.0).abs()]).collect(),
        bound: Bound { lse: 4.0 * 3.5, jumps: 4.0 },
        steps_only: false,
        fns: fns!(loop_kinks::f[arr(p)] |p, v, d| (arr(v), d[0]) scalar),
    });
}

#[test]
fn in_branches() {
    for mode in [0, 1] {
        check(Case {
            name: &format!("if on data, mode {mode}"),
            seed: 61 + u64::from(mode),
            draw: &cube(2),
            ties: &|p| vec![off_half(p[0]), p[1].abs(), (p[0] - p[1]).abs(), off_integer(p[0].max(p[1]))],
            bound: Bound { lse: 1.0, jumps: 1.0 },
            steps_only: false,
            fns: fns!(branch_on_data::f[p[0], p[1], mode] |p, v, d| ((v[0], v[1]), d[0]) scalar),
        });
    }
    // Blends: the outer `|A − B| ≤ 9`, the inner ones 4 and 9; `floor` and `signum` jumps; `abs`
    // and `min`.
    check(Case {
        name: "nested relaxed ifs",
        seed: 63,
        draw: &cube(2),
        ties: &|p| vec![(p[0] - p[1]).abs(), p[0].abs(), p[1].abs(), (p[1] - 1.0).abs(), off_integer(p[0])],
        bound: Bound { lse: 2.0, jumps: 24.0 },
        steps_only: false,
        fns: fns!(nested_ifs::f[p[0], p[1]] |p, v, d| ((v[0], v[1]), d[0]) scalar),
    });
}

#[test]
fn in_arrays() {
    // `signum` and `ceil` jumps, the blend's `|x0/2 − signum(x1)| ≤ 2.5`; the `max`.
    check(Case {
        name: "array of relaxed operations",
        seed: 71,
        draw: &cube(3),
        ties: &|p| vec![(p[0] - p[1]).abs(), p[1].abs(), off_integer(p[2]), (p[0] - p[2]).abs()],
        bound: Bound { lse: 1.0, jumps: 4.5 },
        steps_only: false,
        fns: fns!(array_ops::f[arr(p)] | p, v, d | (arr(v), arr(d))),
    });
    // Per entry: the one-hot's weights (3 of at most 3 each) and the selection's 18.
    check(Case {
        name: "one-hot and selection by argmax in a loop",
        seed: 72,
        draw: &cube(8),
        ties: &|p| vec![top_gap(&p[..4])],
        bound: jumps(27.0),
        steps_only: false,
        fns: fns!(array_argmax::f[arr(p), arr(&p[4..])] |p, v, d| ((arr(v), arr(&v[4..])), arr(d))),
    });
    // A generic function (`0.5` is `T`'s), at f64.
    check(Case {
        name: "generic",
        seed: 73,
        draw: &cube(2),
        ties: &|p| vec![(p[0] - p[1]).abs(), off_half(p[0] - p[1])],
        bound: Bound { lse: 1.0, jumps: 0.5 },
        steps_only: false,
        fns: fns!(generic::f[p[0], p[1]] |p, v, d| ((v[0], v[1]), d[0]) scalar),
    });
}

mod callee {
    use super::*;
    #[differentiable(relaxed)]
    pub fn f(a: f64, b: f64) -> f64 {
        a.max(b) + a.round()
    }
}

mod caller {
    use super::*;
    /// Calls of a relaxed function: relaxed at the caller's temperature.
    #[differentiable(relaxed)]
    pub fn f(a: f64, b: f64) -> f64 {
        let c = super::callee::f(a, b);
        if c > b { 0.5 * c } else { super::callee::f(b, a) }
    }
}

mod caller_in_loop {
    use super::*;
    #[differentiable(relaxed)]
    pub fn f(x: [f64; 4]) -> f64 {
        let mut s = 0.0;
        for i in 0..3 {
            s += super::callee::f(x[i], x[i + 1]);
        }
        s
    }
}

mod own_temperature {
    use super::*;
    /// A call of a relaxation itself (`NAME_relaxed`): kept as written, at its own temperature.
    #[differentiable(relaxed)]
    pub fn f(a: f64, b: f64) -> f64 {
        super::callee::f_relaxed(a, b, 0.25) + a.floor()
    }
}

/// Methods: `self.q(…)` and `Self::sign(…)` are relaxed with the method that calls them.
struct Quantizer {
    step: f64,
}

impl Quantizer {
    #[differentiable(relaxed)]
    fn q(&self, x: f64) -> f64 {
        (x / self.step).round() * self.step
    }

    #[differentiable(relaxed)]
    fn sign(x: f64) -> f64 {
        x.signum()
    }

    #[differentiable(relaxed)]
    fn f(&self, x: f64, target: f64) -> f64 {
        (self.q(x) - target).abs() + Self::sign(x)
    }
}

const QUANTIZER: Quantizer = Quantizer { step: 0.5 };

#[test]
fn in_calls_and_methods() {
    let callee_ties = |a: f64, b: f64| [(a - b).abs(), off_half(a)];
    // The arms' `|A − B| ≤ 0.5·6 + 6 = 9`; in them, `c`'s `max` (weight 0.5) and `round` (0.5),
    // the other call's `max` and `round`.
    check(Case {
        name: "relaxed callee",
        seed: 81,
        draw: &cube(2),
        ties: &|p| {
            let c = p[0].max(p[1]) + p[0].round();
            let mut ties = callee_ties(p[0], p[1]).to_vec();
            ties.extend([off_half(p[1]), (c - p[1]).abs()]);
            ties
        },
        bound: Bound { lse: 1.5, jumps: 10.5 },
        steps_only: false,
        fns: fns!(caller::f[p[0], p[1]] |p, v, d| ((v[0], v[1]), d[0]) scalar),
    });
    check(Case {
        name: "relaxed callee in a loop",
        seed: 82,
        draw: &cube(4),
        ties: &|p| (0..3).flat_map(|i| callee_ties(p[i], p[i + 1])).collect(),
        bound: Bound { lse: 3.0, jumps: 3.0 },
        steps_only: false,
        fns: fns!(caller_in_loop::f[arr(p)] |p, v, d| (arr(v), d[0]) scalar),
    });
    check(Case {
        name: "a relaxation called at its own temperature",
        seed: 83,
        draw: &cube(2),
        ties: &|p| vec![off_integer(p[0])],
        bound: jumps(1.0),
        steps_only: false,
        fns: fns!(own_temperature::f[p[0], p[1]] |p, v, d| ((v[0], v[1]), d[0]) scalar),
    });
    // `round` of `x/0.5` (a jump of 0.5), through `abs`; the `signum`.
    check(Case {
        name: "methods",
        seed: 84,
        draw: &cube(2),
        ties: &|p| vec![off_half(p[0] / 0.5), ((p[0] / 0.5).round() * 0.5 - p[1]).abs(), p[0].abs()],
        bound: Bound { lse: 1.0, jumps: 1.5 },
        steps_only: false,
        fns: fns!(QUANTIZER.f[p[0], p[1]] |p, v, d| ((v[0], v[1]), d[0]) scalar),
    });
}

/// A relaxed callee without hard operations has its own gradient (SPEC: it keeps them all), and so
/// has a relaxed function that calls it: its own `_grad`, `_jvp` and `_hvp` go through the
/// callee's own ones (its smooth forms), its relaxation through the callee's relaxation.
mod smooth_callee {
    use super::*;
    #[differentiable(relaxed, hvp)]
    pub fn f(a: f64, b: f64) -> f64 {
        a.max(b) * a + (a - b).abs()
    }
}

mod smooth_caller {
    use super::*;
    #[differentiable(relaxed, hvp)]
    pub fn f(x: [f64; 3]) -> f64 {
        let mut s = 0.0;
        for i in 0..2 {
            let c = super::smooth_callee::f(x[i], x[i + 1]);
            s += if c > x[2] { 0.5 * c * c } else { super::smooth_callee::f(x[2], c) };
        }
        s
    }
}

/// The same through methods: `self.scaled(…)` and `Self::clipped(…)`.
struct Shaper {
    scale: f64,
}

impl Shaper {
    #[differentiable(relaxed)]
    fn scaled(&self, x: f64) -> f64 {
        (x * self.scale).abs()
    }

    #[differentiable(relaxed)]
    fn clipped(x: f64) -> f64 {
        x.min(1.0) * x
    }

    #[differentiable(relaxed)]
    fn f(&self, x: f64, y: f64) -> f64 {
        self.scaled(x) * y + Self::clipped(y)
    }
}

const SHAPER: Shaper = Shaper { scale: -1.5 };

/// The same for generic functions, one called with a turbofish, written by a macro (where the
/// attribute cannot see how to name the hidden forms, so the smooth forms are copies).
macro_rules! generic_relaxed_pair {
    () => {
        mod generic_smooth {
            use relax::prelude::*;

            #[differentiable(relaxed)]
            pub fn callee<T: Real>(a: T, b: T) -> T {
                a.min(b) * b
            }

            #[differentiable(relaxed)]
            pub fn caller<T: Real>(x: [T; 2]) -> T {
                callee::<T>(x[0], x[1]).tanh() + callee(x[1], x[0] * x[0])
            }
        }
    };
}
generic_relaxed_pair!();

#[test]
fn smooth_callees_keep_the_callers_own_gradient() {
    let mut r = rng(85);
    let v = |p: &[f64]| vec![smooth_caller::f(arr(p))];
    let mut checked = 0;
    while checked < POINTS {
        let p = point(&mut r, 3, -3.0, 3.0);
        // Off the kinks: `max` and `abs` at ties of their arguments, the `if` at `c = x[2]`.
        let c = |a: f64, b: f64| smooth_callee::f(a, b);
        let kinks =
            [(p[0] - p[1]).abs(), (p[1] - p[2]).abs(), (c(p[0], p[1]) - p[2]).abs(), (c(p[1], p[2]) - p[2]).abs()];
        if kinks.iter().any(|k| *k < MARGIN) {
            continue;
        }
        checked += 1;
        let dir = direction(&mut r, 3);
        let (value, g) = smooth_caller::f_grad(arr(p.as_slice()));
        assert_same_bits("_grad value", &[value], &v(&p));
        assert_grad(&format!("_grad at {p:?}"), &g, &fd(|q| v(q)[0], &p));
        let (jvp_value, d) = smooth_caller::f_jvp(arr(&p), arr(&dir));
        assert_same_bits("_jvp value", &[jvp_value], &v(&p));
        check_along("_jvp", &p, &dir, &v, &[d]);
        let (hvp_value, hvp_g, hv) = smooth_caller::f_hvp(arr(&p), arr(&dir));
        assert_same_bits("_hvp value and gradient", &[hvp_value], &[value]);
        assert_close("_hvp gradient", &hvp_g, &g, 1e-12, 0.0);
        let grad_along = |q: &[f64]| smooth_caller::f_grad(arr(q)).1.to_vec();
        check_along("_hvp", &p, &dir, &grad_along, &hv);
        // The relaxation is still the callee's relaxation at the caller's temperature.
        let t = 0.1;
        let relaxed = |q: &[f64]| smooth_caller::f_relaxed(arr(q), t);
        let (_, relaxed_g) = smooth_caller::f_relaxed_grad(arr(&p), t);
        assert_grad(&format!("_relaxed_grad at {p:?}"), &relaxed_g, &fd(relaxed, &p));
    }
    let mut checked = 0;
    while checked < POINTS {
        let p = point(&mut r, 2, -3.0, 3.0);
        if p[0].abs() < MARGIN || (p[1] - 1.0).abs() < MARGIN {
            continue;
        }
        checked += 1;
        let f = |q: &[f64]| SHAPER.f(q[0], q[1]);
        let (value, (gx, gy)) = SHAPER.f_grad(p[0], p[1]);
        assert_same_bits("method _grad value", &[value], &[f(&p)]);
        assert_grad(&format!("method _grad at {p:?}"), &[gx, gy], &fd(f, &p));
        let dir = direction(&mut r, 2);
        let (_, d) = SHAPER.f_jvp(p[0], p[1], (dir[0], dir[1]));
        check_along("method _jvp", &p, &dir, &|q| vec![f(q)], &[d]);
    }
    let mut checked = 0;
    while checked < POINTS {
        let p = point(&mut r, 2, -2.0, 2.0);
        if (p[0] - p[1]).abs() < MARGIN || (p[1] - p[0] * p[0]).abs() < MARGIN {
            continue;
        }
        checked += 1;
        let f = |q: &[f64]| generic_smooth::caller::<f64>(arr(q));
        let (value, g) = generic_smooth::caller_grad::<f64>(arr(&p));
        assert_same_bits("generic _grad value", &[value], &[f(&p)]);
        assert_grad(&format!("generic _grad at {p:?}"), &g, &fd(f, &p));
        let dir = direction(&mut r, 2);
        let (_, d) = generic_smooth::caller_jvp::<f64>(arr(&p), arr(&dir));
        check_along("generic _jvp", &p, &dir, &|q| vec![f(q)], &[d]);
    }
}

// -- closed forms, ties, data -------------------------------------------------------------------

/// `t·ln(e^(a/t) + e^(b/t))`, shifted by the larger.
fn soft_max2(a: f64, b: f64, t: f64) -> f64 {
    a.max(b) + t * (-(a - b).abs() / t).exp().ln_1p()
}

fn soft_min2(a: f64, b: f64, t: f64) -> f64 {
    -soft_max2(-a, -b, t)
}

fn sigmoid_of(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// SPEC's soft rounding.
fn soft_round(x: f64, t: f64) -> f64 {
    let r = x - x.floor() - 0.5;
    x.floor() + 0.5 + (r / t).tanh() / (2.0 * (1.0 / (2.0 * t)).tanh())
}

fn softmax4(x: [f64; 4], t: f64) -> [f64; 4] {
    let m = x.iter().fold(f64::NEG_INFINITY, |m, v| m.max(*v));
    let e = x.map(|v| ((v - m) / t).exp());
    let total: f64 = e.iter().sum();
    e.map(|v| v / total)
}

/// `|a − b| ≤ 1e-12·max(1, |b|)` for every entry.
#[track_caller]
fn assert_formula(what: &str, got: &[f64], want: &[f64]) {
    for (a, b) in got.iter().zip(want) {
        assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "{what}: {got:?}, by its formula {want:?}");
    }
}

/// Each fixture's relaxed value against SPEC's table, written out from the definitions.
#[test]
fn relaxed_values_follow_the_table() {
    let mut r = rng(91);
    for _ in 0..POINTS {
        let p = point(&mut r, 8, -3.0, 3.0);
        let t = uniform(&mut r, 0.05, 2.0);
        let (a, b) = (p[0], p[1]);
        let (x, y) = (arr::<4>(&p), arr::<4>(&p[4..]));
        let (lo, hi) = (a.min(b), a.max(b));
        let gt = sigmoid_of((a - b) / t);
        let lt = sigmoid_of((b - a) / t);
        let at = |name: &str| format!("{name} at {p:?}, t = {t}");
        let formulas = [
            ("max", max2::f_relaxed(a, b, t), soft_max2(a, b, t)),
            ("min", min2::f_relaxed(a, b, t), soft_min2(a, b, t)),
            ("relu", relu1::f_relaxed(a, t), soft_max2(a, 0.0, t)),
            ("abs", abs1::f_relaxed(a, t), soft_max2(a, -a, t)),
            ("signum", signum1::f_relaxed(a, t), (a / t).tanh()),
            ("clamp", clamp3::f_relaxed(p[2], lo, hi, t), soft_min2(soft_max2(p[2], lo, t), hi, t)),
            ("if >", if_gt::f_relaxed(a, b, t), gt * (2.0 * a - b) + (1.0 - gt) * (0.5 * b + 1.0)),
            ("if >=", if_ge::f_relaxed(a, b, t), gt * 3.0 * b + (1.0 - gt) * a),
            ("if <", if_lt::f_relaxed(a, b, t), lt * soft_max2(a, -a, t) + (1.0 - lt) * (b - 1.0)),
            ("if <=", if_le::f_relaxed(a, b, t), lt * a - (1.0 - lt) * b),
            ("(a > b) as u8", gt_number::f_relaxed(a, b, t), 3.0 * gt + a),
            ("(a >= b) as i32", ge_number::f_relaxed(a, b, t), gt),
            ("(a < b) as u8", lt_number::f_relaxed(a, b, t), 2.0 * lt),
            ("(a <= b) as i32", le_number::f_relaxed(a, b, t), lt - b),
            ("argmax as f64", argmax_index::f_relaxed(x, t), (0..4).map(|i| i as f64 * softmax4(x, t)[i]).sum()),
            ("y[argmax]", argmax_select::f_relaxed(x, y, t), (0..4).map(|i| y[i] * softmax4(x, t)[i]).sum()),
            ("round", round1::f_relaxed(a, t), soft_round(a, t)),
            ("floor", floor1::f_relaxed(a, t), soft_round(a - 0.5, t)),
            ("ceil", ceil1::f_relaxed(a, t), soft_round(a + 0.5, t)),
        ];
        for (name, got, want) in formulas {
            assert_formula(&at(name), &[got], &[want]);
        }
        assert_formula(&at("one_hot(argmax)"), &argmax_one_hot::f_relaxed(x, t), &softmax4(x, t));
        // Composition: the callee's relaxation at the caller's temperature.
        let callee = |a: f64, b: f64| soft_max2(a, b, t) + soft_round(a, t);
        let c = callee(a, b);
        let s = sigmoid_of((c - b) / t);
        assert_formula(&at("caller"), &[caller::f_relaxed(a, b, t)], &[s * 0.5 * c + (1.0 - s) * callee(b, a)]);
        let own = callee::f_relaxed(a, b, 0.25) + soft_round(a - 0.5, t);
        assert_formula(&at("own temperature"), &[own_temperature::f_relaxed(a, b, t)], &[own]);
        let method = soft_max2(soft_round(a / 0.5, t) * 0.5 - b, b - soft_round(a / 0.5, t) * 0.5, t) + (a / t).tanh();
        assert_formula(&at("methods"), &[QUANTIZER.f_relaxed(a, b, t)], &[method]);
    }
}

/// At the ties the surrogates are off by exactly what their bounds say: `t·ln 2` for the
/// logsumexp family (proportional to `t`), the mean of the two sides for a blend, a comparison or
/// an index.
#[test]
fn errors_at_the_ties() {
    let ln2 = core::f64::consts::LN_2;
    let mut r = rng(92);
    for _ in 0..POINTS {
        let a = uniform(&mut r, -3.0, 3.0);
        for t in SMALL_T {
            let at = format!("at {a}, t = {t:e}");
            assert_formula(&format!("max(a, a) {at}"), &[max2::f_relaxed(a, a, t)], &[a + ln2 * t]);
            assert_formula(&format!("min(a, a) {at}"), &[min2::f_relaxed(a, a, t)], &[a - ln2 * t]);
            assert_formula(&format!("relu(0) {at}"), &[relu1::f_relaxed(0.0, t)], &[ln2 * t]);
            assert_formula(&format!("abs(0) {at}"), &[abs1::f_relaxed(0.0, t)], &[ln2 * t]);
            assert_eq!(signum1::f_relaxed(0.0, t), 0.0, "signum(0) at t = {t:e}");
            assert_formula(&format!("if a > a {at}"), &[if_gt::f_relaxed(a, a, t)], &[0.5 * (a + 0.5 * a + 1.0)]);
            assert_formula(&format!("(a > a) as u8 {at}"), &[gt_number::f_relaxed(a, a, t)], &[1.5 + a]);
            assert_formula(&format!("(a <= a) as i32 {at}"), &[le_number::f_relaxed(a, a, t)], &[0.5 - a]);
            let tied = [a, a + 1.0, a + 1.0, a - 2.0];
            assert_formula(&format!("argmax of a tie {at}"), &[argmax_index::f_relaxed(tied, t)], &[1.5]);
            assert_formula(
                &format!("one_hot of a tie {at}"),
                &argmax_one_hot::f_relaxed(tied, t),
                &[0.0, 0.5, 0.5, 0.0],
            );
            let half = a.floor() + 0.5;
            assert_formula(&format!("round at a half-integer {at}"), &[round1::f_relaxed(half, t)], &[half]);
        }
    }
}

mod on_data {
    use super::*;
    /// Hard operations on data are left as written; `max` on a differentiated value is relaxed,
    /// and the function, with no operation of the table that 0.1 rejects, keeps `NAME_grad`.
    #[differentiable(relaxed)]
    pub fn f(x: f64, d: &[f64; 2]) -> f64 {
        x * d[0].round() + (d[1] > 0.0) as u8 as f64 + x.max(d[1])
    }
}

mod mut_data_in_arm {
    use super::*;
    /// A `mut` binding of data read through a float method in a relaxed arm: a read, not a write.
    #[differentiable(relaxed)]
    pub fn f(x: f64) -> f64 {
        let mut step = 0.75;
        step *= 2.0;
        if x > 0.0 { x * step.ceil() } else { x * 0.5 }
    }
}

#[test]
fn data_read_by_float_methods_in_relaxed_arms() {
    let mut r = rng(94);
    for _ in 0..POINTS {
        let (x, t) = (uniform(&mut r, -3.0, 3.0), uniform(&mut r, 1e-3, 2.0));
        let s = sigmoid_of(x / t);
        let want = s * (x * 2.0) + (1.0 - s) * (x * 0.5);
        assert_formula(&format!("at {x}, t = {t}"), &[mut_data_in_arm::f_relaxed(x, t)], &[want]);
    }
}

#[test]
fn hard_operations_on_data_are_kept() {
    let mut r = rng(93);
    for _ in 0..POINTS {
        let (x, d) = (uniform(&mut r, -3.0, 3.0), arr::<2>(&point(&mut r, 2, -3.0, 3.0)));
        let t = uniform(&mut r, 1e-3, 2.0);
        let at = format!("at {x}, {d:?}, t = {t}");
        let want = x * d[0].round() + f64::from(u8::from(d[1] > 0.0)) + soft_max2(x, d[1], t);
        assert_formula(&format!("relaxed {at}"), &[on_data::f_relaxed(x, &d, t)], &[want]);
        // The function's own gradient, of the hard `max`.
        if (x - d[1]).abs() > 1e-6 {
            let (value, g) = on_data::f_grad(x, &d);
            assert_same_bits(&format!("f_grad value {at}"), &[value], &[on_data::f(x, &d)]);
            assert_grad(&format!("f_grad {at}"), &[g], &fd(|q| on_data::f(q[0], &d), &[x]));
        }
    }
}
