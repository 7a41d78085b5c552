//! The pullback forms `NAME_pullback(args…, value, dout)`: each gives its `NAME_vjp`'s cotangents
//! bit for bit (and `NAME_vjp`'s value is `NAME`'s) at `POINTS` random points and on extreme
//! input; the cotangents are those of the formulas before these forms existed (kept below as
//! `old`), bit for bit where the formula is unchanged and within its rounding where it changed;
//! the zero of a cotangent is `−0.0`.

use rand::rngs::StdRng;
use relax_core::*;
use relax_testkit::{Flat, POINTS, arr, assert_same_bits, logits_and_temperature, off_kink, point, rng, uniform};

const EPS: f64 = f64::EPSILON;

/// A rule's value at a point, its vjp at a point and a cotangent, and its pullback from the point,
/// the value and the cotangent.
type Value<'a, V> = &'a dyn Fn(&[f64]) -> V;
type Vjp<'a, V, G> = &'a dyn Fn(&[f64], &[f64]) -> (V, G);
type Pullback<'a, V, G> = &'a dyn Fn(&[f64], V, &[f64]) -> G;

/// `vjp(p, dout)` is `(value(p), pullback(p, value(p), dout))`, bit for bit.
#[track_caller]
fn forms_agree<V: Flat + Copy, G: Flat>(
    name: &str,
    p: &[f64],
    d: &[f64],
    value: Value<V>,
    vjp: Vjp<V, G>,
    pullback: Pullback<V, G>,
) {
    let (v, g) = vjp(p, d);
    let what = format!("{name} at {p:?}, dout {d:?}");
    assert_same_bits(&format!("{what}: value"), &v.flat(), &value(p).flat());
    assert_same_bits(&format!("{what}: pullback vs vjp"), &pullback(p, v, d).flat(), &g.flat());
}

/// [`forms_agree`] at `POINTS` points drawn by `sample`, with a random cotangent of `nout` entries.
fn random_points<V: Flat + Copy, G: Flat>(
    name: &str,
    seed: u64,
    nout: usize,
    sample: impl Fn(&mut StdRng) -> Vec<f64>,
    value: impl Fn(&[f64]) -> V,
    vjp: impl Fn(&[f64], &[f64]) -> (V, G),
    pullback: impl Fn(&[f64], V, &[f64]) -> G,
) {
    let mut r = rng(seed);
    for _ in 0..POINTS {
        let p = sample(&mut r);
        let d = point(&mut r, nout, -2.0, 2.0);
        forms_agree(name, &p, &d, &value, &vjp, &pullback);
    }
}

/// Magnitudes from the smallest subnormal to MAX, zeros, both signs.
fn extremes() -> Vec<f64> {
    let mut m: Vec<f64> = (-300..=308).step_by(8).map(|e| 10f64.powi(e)).collect();
    m.extend([0.0, 5e-324, f64::MIN_POSITIVE, 0.5, 1.0, 1.0 - EPS / 2.0, 1.0 + EPS, 36.0, 40.0, 709.0, f64::MAX]);
    m.iter().flat_map(|&v| [v, -v]).collect()
}

/// How a pullback's formula relates to the one before it.
#[derive(Clone, Copy, Debug)]
enum Formula {
    /// Unchanged: the same bits.
    Same,
    /// `dout·(1/d)` became `dout/d`: within `2ε` relative (one rounding instead of two).
    Division,
    /// A derivative from the value (`exp_m1`: `y + 1`, `sigmoid`: `1 − s`): within `4ε` relative
    /// plus `2ε·|dout|`, where the rounding of the value meets the absolute precision of 1.
    FromValue,
}

/// `new` against `old` as `formula` allows; where `old` is finite, `new` is too, and where `old`
/// is not (an infinite derivative), so is `new`, unless `dout` is zero (`0·∞` was NaN, `0/d` is
/// 0).
#[track_caller]
fn as_before(what: &str, formula: Formula, new: f64, old: f64, dout: f64) {
    let ok = match formula {
        Formula::Same => new.to_bits() == old.to_bits(),
        _ if !old.is_finite() => !new.is_finite() || dout == 0.0,
        Formula::Division => (new - old).abs() <= 2.0 * EPS * old.abs(),
        Formula::FromValue => (new - old).abs() <= 4.0 * EPS * old.abs() + 2.0 * EPS * dout.abs(),
    };
    assert!(ok, "{what}: {new:e} against the former {old:e} ({formula:?})");
}

/// `sign` as it was: `1`, `−1`, else `+0` (zeros and NaN).
fn old_sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

type UnaryOp = (&'static str, fn(f64) -> f64, fn(f64, f64) -> (f64, f64), fn(f64, f64, f64) -> f64);
/// A method's forms, its former cotangent `old(x, dout)`, how the two relate, and where to draw.
type UnaryCase = (UnaryOp, fn(f64, f64) -> f64, Formula, f64, f64);

/// The float methods of one argument: their forms, the former cotangent `old(x, dout)`, and
/// where to draw points.
#[rustfmt::skip]
fn unary_ops() -> Vec<UnaryCase> {
    use Formula::*;
    use core::f64::consts::{LN_2, LN_10};
    use ops::*;
    vec![
        (("exp", f64::exp, exp_vjp, exp_pullback), |x, d| d * x.exp(), Same, -5.0, 5.0),
        (("exp2", f64::exp2, exp2_vjp, exp2_pullback), |x, d| d * (x.exp2() * LN_2), Same, -5.0, 5.0),
        (("exp_m1", f64::exp_m1, exp_m1_vjp, exp_m1_pullback), |x, d| d * x.exp(), FromValue, -40.0, 5.0),
        (("ln", f64::ln, ln_vjp, ln_pullback), |x, d| d * x.recip(), Division, 0.01, 10.0),
        (("ln_1p", f64::ln_1p, ln_1p_vjp, ln_1p_pullback), |x, d| d * (1.0 + x).recip(), Division, -0.99, 10.0),
        (("log2", f64::log2, log2_vjp, log2_pullback), |x, d| d * (x * LN_2).recip(), Division, 0.01, 10.0),
        (("log10", f64::log10, log10_vjp, log10_pullback), |x, d| d * (x * LN_10).recip(), Division, 0.01, 10.0),
        (("sqrt", f64::sqrt, sqrt_vjp, sqrt_pullback), |x, d| d * (x.sqrt() + x.sqrt()).recip(), Division, 0.0, 10.0),
        (("cbrt", f64::cbrt, cbrt_vjp, cbrt_pullback), |x, d| d * (3.0 * x.cbrt() * x.cbrt()).recip(), Division,
            -10.0, 10.0),
        (("recip", f64::recip, recip_vjp, recip_pullback), |x, d| d * -(x.recip() * x.recip()), Same, 0.1, 10.0),
        (("sin", f64::sin, sin_vjp, sin_pullback), |x, d| d * x.cos(), Same, -5.0, 5.0),
        (("cos", f64::cos, cos_vjp, cos_pullback), |x, d| d * -x.sin(), Same, -5.0, 5.0),
        (("tan", f64::tan, tan_vjp, tan_pullback), |x, d| d * (1.0 + x.tan() * x.tan()), Same, -1.5, 1.5),
        (("asin", f64::asin, asin_vjp, asin_pullback), |x, d| d * (1.0 - x * x).sqrt().recip(), Division, -1.0, 1.0),
        (("acos", f64::acos, acos_vjp, acos_pullback), |x, d| d * -(1.0 - x * x).sqrt().recip(), Division, -1.0, 1.0),
        (("atan", f64::atan, atan_vjp, atan_pullback), |x, d| d * (1.0 + x * x).recip(), Division, -5.0, 5.0),
        (("sinh", f64::sinh, sinh_vjp, sinh_pullback), |x, d| d * x.cosh(), Same, -5.0, 5.0),
        (("cosh", f64::cosh, cosh_vjp, cosh_pullback), |x, d| d * x.sinh(), Same, -5.0, 5.0),
        (("tanh", f64::tanh, tanh_vjp, tanh_pullback), |x, d| d * (1.0 - x.tanh() * x.tanh()), Same, -5.0, 5.0),
        (("abs", f64::abs, abs_vjp, abs_pullback), |x, d| d * old_sign(x), Same, -5.0, 5.0),
        // Its zero cotangent was +0.0: now the additive identity −0.0.
        (("relu", relu, relu_vjp, relu_pullback), |x, d| if x > 0.0 { d } else { -0.0 }, Same, -5.0, 5.0),
        (("softplus", softplus, softplus_vjp, softplus_pullback), |x, d| d * sigmoid(x), Same, -40.0, 40.0),
        (("sigmoid", sigmoid, sigmoid_vjp, sigmoid_pullback), |x, d| d * sigmoid(x) * sigmoid(-x), FromValue,
            -40.0, 40.0),
        (("gumbel_from_uniform", gumbel_from_uniform, gumbel_from_uniform_vjp, gumbel_from_uniform_pullback),
            |u, d| -d / (u * u.ln()), Same, 1e-3, 1.0),
    ]
}

#[test]
fn unary_pullbacks_are_their_vjps_and_the_former_formulas() {
    for (k, ((name, f, vjp, pullback), old, formula, lo, hi)) in unary_ops().into_iter().enumerate() {
        let check = |x: f64, d: f64| {
            forms_agree(name, &[x], &[d], &|p| f(p[0]), &|p, d| vjp(p[0], d[0]), &|p, v, d| pullback(p[0], v, d[0]));
            as_before(&format!("{name}({x:e}), dout {d}"), formula, pullback(x, f(x), d), old(x, d), d);
        };
        let mut r = rng(500 + k as u64);
        for _ in 0..POINTS {
            check(uniform(&mut r, lo, hi), uniform(&mut r, -2.0, 2.0));
        }
        for x in extremes().into_iter().filter(|&x| f(x).is_finite()) {
            check(x, 1.0);
            check(x, -0.0);
        }
    }
}

/// The forms that read less than the arguments and the value (`NAME_pullback_from_value`,
/// `add_cotangents`, `mul_constant_pullback`, …) give the full pullback's cotangents bit for bit.
#[test]
#[rustfmt::skip]
fn forms_that_read_less_are_the_full_pullbacks() {
    use ops::*;
    type FromValue = (&'static str, fn(f64) -> f64, fn(f64, f64, f64) -> f64, fn(f64, f64) -> f64);
    let from_value: [FromValue; 8] = [
        ("exp", f64::exp, exp_pullback, exp_pullback_from_value),
        ("exp2", f64::exp2, exp2_pullback, exp2_pullback_from_value),
        ("exp_m1", f64::exp_m1, exp_m1_pullback, exp_m1_pullback_from_value),
        ("sqrt", f64::sqrt, sqrt_pullback, sqrt_pullback_from_value),
        ("cbrt", f64::cbrt, cbrt_pullback, cbrt_pullback_from_value),
        ("recip", f64::recip, recip_pullback, recip_pullback_from_value),
        ("tan", f64::tan, tan_pullback, tan_pullback_from_value),
        ("tanh", f64::tanh, tanh_pullback, tanh_pullback_from_value),
    ];
    let mut r = rng(650);
    let draws: Vec<(f64, f64)> = (0..POINTS)
        .map(|_| (uniform(&mut r, -5.0, 5.0), uniform(&mut r, -2.0, 2.0)))
        .chain(extremes().into_iter().flat_map(|x| [(x, 1.0), (x, -0.0)]))
        .collect();
    for &(x, d) in &draws {
        for (name, f, full, reduced) in from_value {
            let y = f(x);
            assert_same_bits(&format!("{name}({x:e}), dout {d}"), &[reduced(y, d)], &[full(x, y, d)]);
        }
        let c = uniform(&mut r, -3.0, 3.0);
        assert_same_bits("add", &add_cotangents(d).flat(), &add_pullback(x, c, x + c, d).flat());
        assert_same_bits("sub", &sub_cotangents(d).flat(), &sub_pullback(x, c, x - c, d).flat());
        assert_same_bits("neg", &[neg_cotangent(d)], &[neg_pullback(x, -x, d)]);
        assert_same_bits("mul, constant second", &[mul_constant_pullback(c, d)], &[mul_pullback(x, c, x * c, d).0]);
        assert_same_bits("mul, constant first", &[mul_constant_pullback(c, d)], &[mul_pullback(c, x, c * x, d).1]);
        assert_same_bits("div", &[div_constant_pullback(c, d)], &[div_pullback(x, c, x / c, d).0]);
        assert_same_bits("div by extremes", &[div_constant_pullback(x, d)], &[div_pullback(c, x, c / x, d).0]);
    }
}

#[test]
fn sign_is_branch_free_and_as_before() {
    let special = [0.0, -0.0, f64::NAN, -f64::NAN, 1.0, -1.0, 5e-324, -5e-324, f64::INFINITY, f64::NEG_INFINITY];
    for x in special.into_iter().chain(extremes()) {
        // The sign reaches the public API through the derivatives of `abs`, Huber and smooth L1.
        assert_eq!(ops::abs_pullback(x, x.abs(), 1.0).to_bits(), old_sign(x).to_bits(), "sign({x:e})");
        assert_eq!(smooth_l1_pullback(x, 0.0, smooth_l1(x, 0.0), 1.0).0.to_bits(), old_sign(x).to_bits());
    }
}

type BinaryOp = (&'static str, fn(f64, f64) -> f64, fn(f64, f64, f64) -> (f64, (f64, f64)));
/// An operator's forms, its pullback and its former cotangents `old(a, b, dout)`.
type BinaryCase = (BinaryOp, fn(f64, f64, f64, f64) -> (f64, f64), fn(f64, f64, f64) -> (f64, f64));

#[test]
#[rustfmt::skip]
fn binary_pullbacks_are_their_vjps_and_the_former_formulas() {
    use ops::*;
    let binary: [BinaryCase; 11] = [
        (("add", |a, b| a + b, add_vjp), add_pullback, |_, _, d| (d, d)),
        (("sub", |a, b| a - b, sub_vjp), sub_pullback, |_, _, d| (d, -d)),
        (("mul", |a, b| a * b, mul_vjp), mul_pullback, |a, b, d| (d * b, d * a)),
        // Since 0.2 by the reciprocal (`div_pullback`), one rounding from `(d / b, -d * (a / b) / b)`.
        (("div", |a, b| a / b, div_vjp), div_pullback, |a, b, d| (d * (1.0 / b), -(d * (a / b)) * (1.0 / b))),
        (("powf", f64::powf, powf_vjp), powf_pullback, |x, y, d| (d * y * x.powf(y - 1.0), d * x.powf(y) * x.ln())),
        (("atan2", f64::atan2, atan2_vjp), atan2_pullback, |y, x, d| {
            (d * x / (x * x + y * y), -d * y / (x * x + y * y))
        }),
        (("hypot", f64::hypot, hypot_vjp), hypot_pullback, |a, b, d| (d * a / a.hypot(b), d * b / a.hypot(b))),
        (("huber", huber, huber_vjp), huber_pullback, |x, delta, d| {
            if x.abs() < delta { (d * x, -0.0) } else { (d * delta * old_sign(x), d * (x.abs() - delta)) }
        }),
        (("smooth_l1", smooth_l1, smooth_l1_vjp), smooth_l1_pullback, |x, beta, d| {
            let r = x / beta;
            if x.abs() < beta { (d * r, -d * 0.5 * r * r) } else { (d * old_sign(x), -d * 0.5) }
        }),
        // Where `max`/`min` follow one argument the other's cotangent is −0.0.
        (("max", f64::max, max_vjp), max_pullback, |a, b, d| {
            if a > b { (d, -0.0) } else if b > a { (-0.0, d) } else { (d * 0.5, d * 0.5) }
        }),
        (("min", f64::min, min_vjp), min_pullback, |a, b, d| {
            if a < b { (d, -0.0) } else if b < a { (-0.0, d) } else { (d * 0.5, d * 0.5) }
        }),
    ];
    for (k, ((name, f, vjp), pullback, old)) in binary.into_iter().enumerate() {
        let check = |a: f64, b: f64, d: f64| {
            forms_agree(name, &[a, b], &[d], &|p| f(p[0], p[1]), &|p, d| vjp(p[0], p[1], d[0]), &|p, v, d| {
                pullback(p[0], p[1], v, d[0])
            });
            let (new, old) = (pullback(a, b, f(a, b), d), old(a, b, d));
            assert_same_bits(&format!("{name}({a:e}, {b:e}), dout {d}: against the former"), &new.flat(), &old.flat());
        };
        let mut r = rng(600 + k as u64);
        for _ in 0..POINTS {
            // Positive operands keep powf real; ties of max and min come up at equal draws.
            let a = uniform(&mut r, 0.1, 4.0);
            let b = if uniform(&mut r, 0.0, 1.0) < 0.1 { a } else { off_kink(&mut r, a, 3.0).abs().max(0.05) };
            check(a, b, uniform(&mut r, -2.0, 2.0));
            check(-a, b, uniform(&mut r, -2.0, 2.0));
        }
        for (a, b) in extremes().into_iter().flat_map(|a| [(a, 1.0), (1.0, a), (a, a), (a, -0.5 * a)]) {
            if f(a, b).is_finite() {
                check(a, b, 1.0);
            }
        }
    }
}

#[test]
fn pullbacks_of_more_arguments() {
    use ops::*;
    let args3 = |r: &mut StdRng| point(r, 3, -3.0, 3.0);
    random_points(
        "mul_add",
        700,
        1,
        args3,
        |p| p[0].mul_add(p[1], p[2]),
        |p, d| mul_add_vjp(p[0], p[1], p[2], d[0]),
        |p, v, d| mul_add_pullback(p[0], p[1], p[2], v, d[0]),
    );
    let clamp_args = |r: &mut StdRng| {
        let lo = uniform(r, -2.0, 0.0);
        let hi = uniform(r, 0.0, 2.0);
        vec![uniform(r, -3.0, 3.0), lo, hi]
    };
    random_points(
        "clamp",
        701,
        1,
        clamp_args,
        |p| p[0].clamp(p[1], p[2]),
        |p, d| clamp_vjp(p[0], p[1], p[2], d[0]),
        |p, v, d| clamp_pullback(p[0], p[1], p[2], v, d[0]),
    );
    random_points(
        "neg",
        702,
        1,
        |r| point(r, 1, -3.0, 3.0),
        |p| -p[0],
        |p, d| neg_vjp(p[0], d[0]),
        |p, v, d| neg_pullback(p[0], v, d[0]),
    );
    for n in [-3, -1, 0, 1, 2, 5] {
        random_points(
            "powi",
            703,
            1,
            |r| point(r, 1, -3.0, 3.0),
            |p| p[0].powi(n),
            |p, d| powi_vjp(p[0], n, d[0]),
            |p, v, d| powi_pullback(p[0], n, v, d[0]),
        );
    }
    random_points(
        "sin_cos",
        704,
        2,
        |r| point(r, 1, -5.0, 5.0),
        |p| p[0].sin_cos(),
        |p, d| sin_cos_vjp(p[0], (d[0], d[1])),
        |p, v, d| sin_cos_pullback(p[0], v, (d[0], d[1])),
    );
    // The sine's and the cosine's pullbacks from the other's value (a rotation has both): those
    // of `sin_vjp` and `cos_vjp` bit for bit.
    random_points(
        "sin_pullback_from_cos",
        720,
        1,
        |r| point(r, 1, -5.0, 5.0),
        |p| p[0].sin(),
        |p, d| ops::sin_vjp(p[0], d[0]),
        |p, _, d| ops::sin_pullback_from_cos(p[0].cos(), d[0]),
    );
    random_points(
        "cos_pullback_from_sin",
        721,
        1,
        |r| point(r, 1, -5.0, 5.0),
        |p| p[0].cos(),
        |p, d| ops::cos_vjp(p[0], d[0]),
        |p, _, d| ops::cos_pullback_from_sin(p[0].sin(), d[0]),
    );
    random_points(
        "normal_reparam",
        705,
        1,
        args3,
        |p| normal_reparam(p[0], p[1], p[2]),
        |p, d| normal_reparam_vjp(p[0], p[1], p[2], d[0]),
        |p, v, d| normal_reparam_pullback(p[0], p[1], p[2], v, d[0]),
    );
    random_points(
        "reinforce",
        706,
        1,
        args3,
        |p| reinforce(p[0], p[1]),
        |p, d| reinforce_vjp(p[0], p[1], d[0]),
        |p, v, d| reinforce_pullback(p[0], p[1], v, d[0]),
    );
    random_points(
        "reinforce_baseline",
        707,
        1,
        args3,
        |p| reinforce_baseline(p[0], p[1], p[2]),
        |p, d| reinforce_baseline_vjp(p[0], p[1], p[2], d[0]),
        |p, v, d| reinforce_baseline_pullback(p[0], p[1], p[2], v, d[0]),
    );
    random_points(
        "straight_through",
        708,
        1,
        |r| point(r, 2, -3.0, 3.0),
        |p| straight_through(p[0], p[1]),
        |p, d| straight_through_vjp(p[0], p[1], d[0]),
        |p, v, d| straight_through_pullback(p[0], p[1], v, d[0]),
    );
    random_points(
        "stop_gradient",
        709,
        3,
        |r| point(r, 3, -3.0, 3.0),
        |p| stop_gradient(arr::<3>(p)),
        |p, d| stop_gradient_vjp(arr::<3>(p), arr(d)),
        |p, v, d| stop_gradient_pullback(arr::<3>(p), v, arr(d)),
    );
}

#[test]
fn relaxed_pullbacks_are_their_vjps() {
    let (x, t) = (|r: &mut StdRng| uniform(r, -4.0, 4.0), |r: &mut StdRng| uniform(r, 0.05, 3.0));
    let two = move |r: &mut StdRng| vec![x(r), t(r)];
    let three = move |r: &mut StdRng| vec![x(r), x(r), t(r)];
    let four = move |r: &mut StdRng| vec![x(r), x(r) - 2.0, x(r) + 2.0, t(r)];
    macro_rules! check {
        ($seed:expr, $sample:expr, $f:ident, $vjp:ident, $pullback:ident, $($i:literal),+) => {{
            let value = |p: &[f64]| $f($(p[$i]),+);
            let vjp = |p: &[f64], d: &[f64]| $vjp($(p[$i],)+ d[0]);
            let pullback = |p: &[f64], v, d: &[f64]| $pullback($(p[$i],)+ v, d[0]);
            random_points(stringify!($f), $seed, 1, $sample, value, vjp, pullback);
            // Extreme arguments and temperatures.
            let arity = [$($i),+].len();
            for a in extremes() {
                for t in [f64::MIN_POSITIVE, 1e-300, 1e-3, 1.0, 1e300] {
                    let mut p = [a, -0.5 * a, 0.25 * a][..arity - 1].to_vec();
                    p.push(t);
                    forms_agree(stringify!($f), &p, &[1.0], &value, &vjp, &pullback);
                }
            }
        }};
    }
    check!(800, three, relaxed_max, relaxed_max_vjp, relaxed_max_pullback, 0, 1, 2);
    check!(801, three, relaxed_min, relaxed_min_vjp, relaxed_min_pullback, 0, 1, 2);
    check!(802, two, relaxed_relu, relaxed_relu_vjp, relaxed_relu_pullback, 0, 1);
    check!(803, two, relaxed_abs, relaxed_abs_vjp, relaxed_abs_pullback, 0, 1);
    check!(804, two, relaxed_signum, relaxed_signum_vjp, relaxed_signum_pullback, 0, 1);
    check!(805, four, relaxed_clamp, relaxed_clamp_vjp, relaxed_clamp_pullback, 0, 1, 2, 3);
    check!(806, three, relaxed_gt, relaxed_gt_vjp, relaxed_gt_pullback, 0, 1, 2);
    check!(807, three, relaxed_lt, relaxed_lt_vjp, relaxed_lt_pullback, 0, 1, 2);
    check!(808, two, relaxed_round, relaxed_round_vjp, relaxed_round_pullback, 0, 1);
    check!(809, two, relaxed_floor, relaxed_floor_vjp, relaxed_floor_pullback, 0, 1);
    check!(810, two, relaxed_ceil, relaxed_ceil_vjp, relaxed_ceil_pullback, 0, 1);
    // The relaxed `if`, on a float and on an array.
    let blend_args = |r: &mut StdRng| point(r, 7, -3.0, 3.0);
    random_points(
        "blend",
        811,
        3,
        blend_args,
        |p| blend(sigmoid(p[0]), arr::<3>(&p[1..]), arr::<3>(&p[4..])),
        |p, d| blend_vjp(sigmoid(p[0]), arr::<3>(&p[1..]), arr::<3>(&p[4..]), arr(d)),
        |p, v, d| blend_pullback(sigmoid(p[0]), arr::<3>(&p[1..]), arr::<3>(&p[4..]), v, arr(d)),
    );
}

/// The softmax family and the reductions as they were: `map` and `core::array::from_fn`, sums
/// from `+0.0`.
mod old {
    pub struct Residual<const N: usize> {
        pub y: [f64; N],
        pub z: [f64; N],
        pub sum: f64,
        pub x: [f64; N],
        pub t: f64,
    }

    pub fn dot<const N: usize>(a: [f64; N], b: [f64; N]) -> f64 {
        a.iter().zip(&b).fold(0.0, |s, (&u, &v)| s + u * v)
    }

    pub fn sum<const N: usize>(x: [f64; N]) -> f64 {
        x.iter().fold(0.0, |a, &v| a + v)
    }

    pub fn forward<const N: usize>(x: [f64; N], t: f64) -> Residual<N> {
        let max = x.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
        let z = x.map(|v| (v - max) / t);
        let e = z.map(f64::exp);
        let sum = e.iter().fold(0.0, |s, &v| s + v);
        // Since 0.2 by the sum's reciprocal, one rounding from `v / sum`.
        let inv = 1.0 / sum;
        Residual { y: e.map(|v| v * inv), z, sum, x, t }
    }

    fn weighted_z<const N: usize>(g: &[f64; N], z: &[f64; N]) -> f64 {
        g.iter().zip(z).fold(0.0, |a, (&g, &z)| a + if g == 0.0 { 0.0 } else { g * z })
    }

    fn indices<const N: usize>() -> [f64; N] {
        core::array::from_fn(|i| i as f64)
    }

    pub fn softmax_bwd<const N: usize>(r: &Residual<N>, dout: [f64; N]) -> ([f64; N], f64) {
        let inner = dot(r.y, dout);
        let g: [f64; N] = core::array::from_fn(|i| r.y[i] * (dout[i] - inner));
        let inv_t = r.t.recip();
        (g.map(|v| v * inv_t), -weighted_z(&g, &r.z) * inv_t)
    }

    pub fn log_softmax<const N: usize>(r: &Residual<N>) -> [f64; N] {
        let ls = r.sum.ln();
        r.z.map(|v| v - ls)
    }

    pub fn log_softmax_bwd<const N: usize>(r: &Residual<N>, dout: [f64; N]) -> ([f64; N], f64) {
        let total = sum(dout);
        let dz: [f64; N] = core::array::from_fn(|i| dout[i] - r.y[i] * total);
        let inv_t = r.t.recip();
        (dz.map(|v| v * inv_t), -weighted_z(&dz, &r.z) * inv_t)
    }

    pub fn logsumexp_bwd<const N: usize>(r: &Residual<N>, dout: f64) -> ([f64; N], f64) {
        (r.y.map(|v| dout * v), dout * (r.sum.ln() - weighted_z(&r.y, &r.z)))
    }

    pub fn soft_argmax<const N: usize>(r: &Residual<N>) -> f64 {
        dot(r.y, indices())
    }

    pub fn soft_argmax_bwd<const N: usize>(r: &Residual<N>, dout: f64) -> ([f64; N], f64) {
        softmax_bwd(r, indices::<N>().map(|i| dout * i))
    }

    pub fn soft_max_bwd<const N: usize>(r: &Residual<N>, dout: f64) -> ([f64; N], f64) {
        let (dx, dt) = softmax_bwd(r, r.x.map(|v| dout * v));
        (core::array::from_fn(|i| dx[i] + dout * r.y[i]), dt)
    }
}

/// Values and cotangents of the softmax family and the reductions at `N` logits drawn by
/// `sample`: the former ones bit for bit, and the pullback forms those of the vjps.
fn softmax_family_as_before<const N: usize>(seed: u64, sample: impl Fn(&mut StdRng) -> Vec<f64>) {
    let mut r = rng(seed);
    for _ in 0..POINTS {
        let p = sample(&mut r);
        let (x, t) = (arr::<N>(&p), p[N]);
        let d: [f64; N] = arr(&point(&mut r, N, -2.0, 2.0));
        let k = d[0];
        let old = old::forward(x, t);
        let same = |what: &str, new: &dyn Flat, old: &dyn Flat| {
            assert_same_bits(&format!("{what} at {p:?}, dout {d:?}: against the former"), &new.flat(), &old.flat());
        };
        let (y, g) = softmax_vjp(x, t, d);
        same("softmax", &(y, g), &(old.y, old::softmax_bwd(&old, d)));
        assert_same_bits("softmax_pullback", &softmax_pullback(x, t, y, d).flat(), &g.flat());
        let (v, g) = log_softmax_vjp(x, t, d);
        same("log_softmax", &(v, g), &(old::log_softmax(&old), old::log_softmax_bwd(&old, d)));
        let (v, g) = logsumexp_vjp(x, t, k);
        let old_value = old.x.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v)) + t * old.sum.ln();
        same("logsumexp", &(v, g), &(old_value, old::logsumexp_bwd(&old, k)));
        let (v, g) = soft_argmax_vjp(x, t, k);
        same("soft_argmax", &(v, g), &(old::soft_argmax(&old), old::soft_argmax_bwd(&old, k)));
        let (v, g) = soft_max_vjp(x, t, k);
        same("soft_max", &(v, g), &(old::dot(old.y, x), old::soft_max_bwd(&old, k)));
        // The reductions, against `map` and sums from +0.0.
        let (v, g) = dot_vjp(x, d, k);
        same("dot", &(v, g), &(old::dot(x, d), (d.map(|v| k * v), x.map(|v| k * v))));
        forms_agree("dot", &p, &[k], &|p| dot(arr::<N>(p), d), &|p, k| dot_vjp(arr::<N>(p), d, k[0]), &|p, v, k| {
            dot_pullback(arr::<N>(p), d, v, k[0])
        });
        same("sum", &sum_vjp(x, k), &(old::sum(x), [k; N]));
        assert_same_bits("sum_pullback", &sum_pullback(x, sum(x), k).flat(), &[k; N].flat());
        same("mean", &mean_vjp(x, k), &(old::sum(x) / N as f64, [k / N as f64; N]));
        assert_same_bits("mean_pullback", &mean_pullback(x, mean(x), k).flat(), &[k / N as f64; N].flat());
    }
}

#[test]
fn softmax_family_and_reductions_as_before() {
    softmax_family_as_before::<5>(900, logits_and_temperature);
    softmax_family_as_before::<64>(901, |r| {
        let mut p = point(r, 64, -30.0, 30.0);
        p.push(uniform(r, 0.05, 5.0));
        p
    });
}

/// The straight-through and explicit-noise rules: their pullbacks are their vjps' cotangents,
/// which are those of the soft rules, bit for bit, also for huge logits and tiny temperatures.
#[test]
fn straight_through_and_sampling_pullbacks() {
    let check = |x: [f64; 4], g: [f64; 4], t: f64, d: [f64; 4]| {
        let what = format!("at logits {x:?}, noise {g:?}, t {t:e}, dout {d:?}");
        let y = gumbel_softmax_with(x, g, t);
        let (v, grad) = gumbel_softmax_with_vjp(x, g, t, d);
        assert_same_bits(&format!("gumbel_softmax_with {what}"), &v, &y);
        assert_same_bits(
            &format!("gumbel_softmax_with {what}"),
            &gumbel_softmax_with_pullback(x, g, t, y, d).flat(),
            &grad.flat(),
        );
        let hard = st_gumbel_softmax_with(x, g, t);
        let (v, st) = st_gumbel_softmax_with_vjp(x, g, t, d);
        assert_eq!(v, hard);
        assert_same_bits(&format!("st_gumbel_softmax_with {what}"), &st.flat(), &grad.flat());
        assert_same_bits(
            "st_gumbel_softmax_with_pullback",
            &st_gumbel_softmax_with_pullback(x, g, t, hard, d).flat(),
            &st.flat(),
        );
        let hard = st_gumbel_argmax_with(x, g, t);
        let (v, st) = st_gumbel_argmax_with_vjp(x, g, t, d[0]);
        assert_eq!(v.to_bits(), hard.to_bits());
        assert_same_bits(
            "st_gumbel_argmax_with_pullback",
            &st_gumbel_argmax_with_pullback(x, g, t, hard, d[0]).flat(),
            &st.flat(),
        );
        let hard = st_one_hot(x, t);
        let (v, st) = st_one_hot_vjp(x, t, d);
        assert_eq!(v, hard);
        assert_same_bits(&format!("st_one_hot {what}"), &st.flat(), &softmax_vjp(x, t, d).1.flat());
        assert_same_bits("st_one_hot_pullback", &st_one_hot_pullback(x, t, hard, d).flat(), &st.flat());
        let hard = st_argmax(x, t);
        let (v, st) = st_argmax_vjp(x, t, d[0]);
        assert_eq!(v.to_bits(), hard.to_bits());
        assert_same_bits("st_argmax_pullback", &st_argmax_pullback(x, t, hard, d[0]).flat(), &st.flat());
    };
    let mut r = rng(1000);
    for _ in 0..POINTS {
        let p = point(&mut r, 12, -3.0, 3.0);
        check(arr(&p), arr(&p[4..]), uniform(&mut r, 0.1, 3.0), arr(&p[8..]));
    }
    for s in [1.0, 1e10, 1e100, 1e300, f64::MAX] {
        for t in [f64::MIN_POSITIVE, 1e-300, 1e-10, 1.0, 1e300] {
            check([s, -s / 2.0, 0.0, s / 3.0], [0.0, 0.5, -0.0, 1e-3], t, [0.5, -1.0, 2.0, 1.0]);
        }
    }
}

#[test]
fn the_zero_tangent_is_negative_zero_and_the_additive_identity() {
    let neg_zero = (-0.0_f64).to_bits();
    assert_eq!(f64::zero_tangent().to_bits(), neg_zero);
    assert_eq!(1.5_f64.zero_like().to_bits(), neg_zero);
    assert_eq!(f32::zero_tangent().to_bits(), (-0.0_f32).to_bits());
    assert_eq!([[2.0_f32; 2]; 3].zero_like(), [[-0.0_f32; 2]; 3]);
    assert!([[2.0_f32; 2]; 3].zero_like().iter().flatten().all(|z| z.is_sign_negative()));
    assert!(<([f64; 2], f64)>::zero_tangent().flat().iter().all(|z| z.to_bits() == neg_zero));
    let dual = Dual::<f64>::zero_tangent();
    assert_eq!((dual.v.to_bits(), dual.d.to_bits()), (neg_zero, neg_zero));
    // Adding to it changes nothing, bit for bit, whatever is added (NaN stays NaN).
    let special = [0.0, -0.0, 1.0, -1.0, 5e-324, -5e-324, f64::MAX, f64::INFINITY, f64::NEG_INFINITY];
    for x in special.into_iter().chain(extremes()) {
        let mut acc = f64::zero_tangent();
        acc.add_tangent(x);
        assert_eq!(acc.to_bits(), x.to_bits(), "−0.0 + {x:e}");
    }
    let mut acc = f64::zero_tangent();
    acc.add_tangent(f64::NAN);
    assert!(acc.is_nan());
    let mut acc = [0.0_f64; 2].zero_like();
    acc.add_tangent([-0.0, 0.0]);
    assert_eq!(acc.map(f64::to_bits), [neg_zero, 0]);
}

/// A cotangent that nothing flows into is −0.0 (and equal to 0.0).
#[test]
fn zero_cotangents_are_negative_zero() {
    let neg_zero = |v: f64| v == 0.0 && v.is_sign_negative();
    assert!(neg_zero(relu_vjp(-1.0, 1.0).1));
    assert_eq!(relu_vjp(-1.0_f64, 1.0).0.to_bits(), 0, "the value relu(−1) is +0.0");
    assert!(neg_zero(huber_vjp(0.5, 1.0, 1.0).1.1));
    assert!(neg_zero(reinforce_baseline_vjp(1.0, 0.0, 3.0, 1.0).1.2));
    assert!(neg_zero(ops::max_vjp(2.0, 1.0, 1.0).1.1) && neg_zero(ops::max_vjp(1.0, 2.0, 1.0).1.0));
    assert!(neg_zero(ops::min_vjp(2.0, 1.0, 1.0).1.0) && neg_zero(ops::min_vjp(1.0, 2.0, 1.0).1.1));
    let (_, (dx, dlo, dhi)) = ops::clamp_vjp(5.0, 0.0, 1.0, 1.0);
    assert!(neg_zero(dx) && neg_zero(dlo) && dhi == 1.0);
    assert!(stop_gradient_vjp([1.0, 2.0], [3.0, 4.0]).1.iter().all(|&v| neg_zero(v)));
    assert!(neg_zero(straight_through_vjp(3.0, 2.7, 1.5).1.0));
    assert!(neg_zero(stop_gradient_jvp(2.5, 1.0).1));
    // Sums of nothing but −0.0 (and of nothing) are −0.0, as `Iterator::sum` gives.
    assert!(neg_zero(sum([-0.0, -0.0])) && neg_zero(sum::<f64, 0>([])) && neg_zero(dot([-0.0], [1.0])));
    assert_eq!(sum([-0.0_f64, 0.0]).to_bits(), 0);
}

/// `NAME_bwd_first_add(r, dout, acc)` leaves in `acc` bit for bit what adding `NAME_bwd_first`'s
/// array to it gives.
fn first_argument_cotangents_added(x: [f64; 5], t: f64, d: [f64; 5], acc: [f64; 5], at: &str) {
    let s = d[0];
    let check = |name: &str, first: [f64; 5], add: &dyn Fn(&mut [f64; 5])| {
        let (mut got, mut want) = (acc, acc);
        add(&mut got);
        want.add_tangent(first);
        assert_same_bits(&format!("{name} {at}"), &got, &want);
    };
    let (_, r) = softmax_fwd(x, t);
    check("softmax_bwd_first_add", softmax_bwd_first(&r, d), &|a| softmax_bwd_first_add(&r, d, a));
    let (_, r) = log_softmax_fwd(x, t);
    check("log_softmax_bwd_first_add", log_softmax_bwd_first(&r, d), &|a| log_softmax_bwd_first_add(&r, d, a));
    let (_, r) = logsumexp_fwd(x, t);
    check("logsumexp_bwd_first_add", logsumexp_bwd_first(&r, s), &|a| logsumexp_bwd_first_add(&r, s, a));
    let (_, r) = soft_argmax_fwd(x, t);
    check("soft_argmax_bwd_first_add", soft_argmax_bwd_first(&r, s), &|a| soft_argmax_bwd_first_add(&r, s, a));
    let (_, r) = soft_max_fwd(x, t);
    check("soft_max_bwd_first_add", soft_max_bwd_first(&r, s), &|a| soft_max_bwd_first_add(&r, s, a));
}

/// The pullbacks of a rule's first argument alone (`NAME_pullback_first`, `NAME_bwd_first`: the
/// temperature, threshold or noise constant) are the first cotangent of the full forms, bit for
/// bit.
#[test]
fn first_argument_pullbacks_are_the_full_ones_first_cotangent() {
    let mut r = rng(730);
    for _ in 0..POINTS {
        let p = logits_and_temperature(&mut r);
        let (x, t): ([f64; 5], f64) = (arr(&p), p[5]);
        let d: [f64; 5] = arr(&point(&mut r, 5, -2.0, 2.0));
        let g: [f64; 5] = arr(&point(&mut r, 5, -2.0, 2.0));
        let s = d[0];
        let at = format!("at {p:?}, dout {d:?}");
        let (_, res) = softmax_fwd(x, t);
        assert_same_bits(&format!("softmax_bwd_first {at}"), &softmax_bwd_first(&res, d), &softmax_bwd(&res, d).0);
        let (_, res) = log_softmax_fwd(x, t);
        let (first, full) = (log_softmax_bwd_first(&res, d), log_softmax_bwd(&res, d).0);
        assert_same_bits(&format!("log_softmax_bwd_first {at}"), &first, &full);
        let (_, res) = logsumexp_fwd(x, t);
        assert_same_bits(
            &format!("logsumexp_bwd_first {at}"),
            &logsumexp_bwd_first(&res, s),
            &logsumexp_bwd(&res, s).0,
        );
        let (_, res) = soft_argmax_fwd(x, t);
        let (first, full) = (soft_argmax_bwd_first(&res, s), soft_argmax_bwd(&res, s).0);
        assert_same_bits(&format!("soft_argmax_bwd_first {at}"), &first, &full);
        let (_, res) = soft_max_fwd(x, t);
        assert_same_bits(&format!("soft_max_bwd_first {at}"), &soft_max_bwd_first(&res, s), &soft_max_bwd(&res, s).0);
        first_argument_cotangents_added(x, t, d, g, &at);
        let y = gumbel_softmax_with(x, g, t);
        let (first, full) =
            (gumbel_softmax_with_pullback_first(x, g, t, y, d), gumbel_softmax_with_pullback(x, g, t, y, d).0);
        assert_same_bits(&format!("gumbel_softmax_with_pullback_first {at}"), &first, &full);
        let h = st_gumbel_softmax_with(x, g, t);
        let (first, full) =
            (st_gumbel_softmax_with_pullback_first(x, g, t, h, d), st_gumbel_softmax_with_pullback(x, g, t, h, d).0);
        assert_same_bits(&format!("st_gumbel_softmax_with_pullback_first {at}"), &first, &full);
        let (u, threshold) = (4.0 * p[0], t);
        let v = huber(u, threshold);
        let (first, full) = (huber_pullback_first(u, threshold, v, s), huber_pullback(u, threshold, v, s).0);
        assert_same_bits(&format!("huber_pullback_first {at}"), &[first], &[full]);
        let v = smooth_l1(u, threshold);
        let (first, full) = (smooth_l1_pullback_first(u, threshold, v, s), smooth_l1_pullback(u, threshold, v, s).0);
        assert_same_bits(&format!("smooth_l1_pullback_first {at}"), &[first], &[full]);
    }
}

/// `NAME_fwd_first` (softmax, logsumexp, soft argmax) gives bit for bit `NAME_fwd`'s value, and
/// from its residual, which keeps no logits, the same `NAME_bwd_first` and `NAME_bwd_first_add`.
#[test]
fn first_forwards_give_the_full_forwards_values_and_first_cotangents() {
    assert_eq!(size_of::<SoftmaxResidual<f64, 5, ()>>(), size_of::<SoftmaxResidual<f64, 5>>() - size_of::<[f64; 5]>());
    let mut r = rng(731);
    for _ in 0..POINTS {
        let p = logits_and_temperature(&mut r);
        let (x, t): ([f64; 5], f64) = (arr(&p), p[5]);
        let d: [f64; 5] = arr(&point(&mut r, 5, -2.0, 2.0));
        let acc: [f64; 5] = arr(&point(&mut r, 5, -2.0, 2.0));
        let s = d[0];
        let at = format!("at {p:?}, dout {d:?}");
        let added = |add: &dyn Fn(&mut [f64; 5])| {
            let mut a = acc;
            add(&mut a);
            a
        };
        // The rule's value, `_bwd_first` and `_bwd_first_add` from both residuals; the lean one.
        macro_rules! same_as_full {
            ($fwd_first:ident, $fwd:ident, $bwd_first:ident, $bwd_first_add:ident, $dout:expr) => {{
                let ((v, lean), (v_full, full)) = ($fwd_first(x, t), $fwd(x, t));
                assert_same_bits(&format!("{} {at}", stringify!($fwd_first)), &v.flat(), &v_full.flat());
                let (first, first_full) = ($bwd_first(&lean, $dout), $bwd_first(&full, $dout));
                assert_same_bits(&format!("{} {at}", stringify!($bwd_first)), &first, &first_full);
                let (got, want) =
                    (added(&|a| $bwd_first_add(&lean, $dout, a)), added(&|a| $bwd_first_add(&full, $dout, a)));
                assert_same_bits(&format!("{} {at}", stringify!($bwd_first_add)), &got, &want);
                lean
            }};
        }
        let lean = same_as_full!(softmax_fwd_first, softmax_fwd, softmax_bwd_first, softmax_bwd_first_add, d);
        assert_same_bits(&format!("softmax_from {at}"), &softmax_from(&lean), &softmax(x, t));
        let lean = same_as_full!(logsumexp_fwd_first, logsumexp_fwd, logsumexp_bwd_first, logsumexp_bwd_first_add, s);
        assert_same_bits(&format!("logsumexp_from {at}"), &[logsumexp_from(&lean)], &[logsumexp(x, t)]);
        same_as_full!(soft_argmax_fwd_first, soft_argmax_fwd, soft_argmax_bwd_first, soft_argmax_bwd_first_add, s);
    }
}
