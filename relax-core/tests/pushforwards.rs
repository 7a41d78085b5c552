//! Every pushforward `r_jvp` against central finite differences of its value along random
//! directions, at `POINTS` random points per rule, on both sides of every kink; its value bit for
//! bit that of the rule; duality with the pullback (`<dout, J·v> = <Jᵀ·dout, v>`) at every point
//! and at the kinks, whose conventions are checked as stated; finiteness on extreme input; `f32`.

use rand::RngExt;
use rand::rngs::StdRng;
use relax_core::*;
use relax_testkit::{
    Flat, POINTS, arr, check_along, finite, logits_and_temperature, magnitudes, off_kink, point as vec_in, rng, uniform,
};

#[track_caller]
fn assert_bits(name: &str, p: &[f64], got: &[f64], want: &[f64]) {
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(got), bits(want), "{name} at {p:?}: value {got:?}, the rule's {want:?}");
}

/// At `p` with tangent `v` and cotangent `dout`: the pushforward's and the pullback's values are
/// `value` bit for bit, and `<dout, J·v> = <Jᵀ·dout, v>` to rounding.
#[track_caller]
fn check_duality<V: Flat, D: Flat, G: Flat>(
    name: &str,
    p: &[f64],
    v: &[f64],
    dout: &[f64],
    value: &[f64],
    (jvp_value, jv): (V, D),
    (vjp_value, g): (V, G),
) {
    assert_bits(name, p, &jvp_value.flat(), value);
    assert_bits(name, p, &vjp_value.flat(), value);
    let (jv, g) = (jv.flat(), g.flat());
    assert_eq!((jv.len(), g.len()), (dout.len(), v.len()), "{name}: tangent and cotangent shapes");
    let forward: f64 = dout.iter().zip(&jv).map(|(a, b)| a * b).sum();
    let backward: f64 = g.iter().zip(v).map(|(a, b)| a * b).sum();
    // Rounding in either product is relative to the terms, and to the intermediates inside J (of
    // the size of its entries, O(1) to O(30) at the points drawn): a different derivative
    // convention would differ by O(|dout|·|v|).
    let terms: f64 = dout.iter().zip(&jv).chain(g.iter().zip(v)).map(|(a, b)| (a * b).abs()).sum();
    let norm = |w: &[f64]| w.iter().map(|a| a.abs()).sum::<f64>();
    assert!(
        (forward - backward).abs() <= 1e-13 * (terms + norm(dout) * norm(v)),
        "{name} at {p:?}, tangent {v:?}, cotangent {dout:?}: <dout, Jv> = {forward:e}, <J^T dout, v> = {backward:e}"
    );
}

/// Checks `jvp` at `POINTS` points drawn by `sample`, with random tangents (and cotangents for
/// the duality with `vjp`): its value is `value(p)` bit for bit, its tangent that of `soft` along
/// the direction by finite differences (`soft` is `value` but for straight-through rules).
fn run_surrogate<V: Flat, D: Flat, G: Flat>(
    name: &str,
    seed: u64,
    sample: impl Fn(&mut StdRng) -> Vec<f64>,
    value: impl Fn(&[f64]) -> Vec<f64>,
    soft: impl Fn(&[f64]) -> Vec<f64>,
    jvp: impl Fn(&[f64], &[f64]) -> (V, D),
    vjp: impl Fn(&[f64], &[f64]) -> (V, G),
) {
    let mut r = rng(seed);
    for _ in 0..POINTS {
        let p = sample(&mut r);
        let v = vec_in(&mut r, p.len(), -1.0, 1.0);
        let y = value(&p);
        let dout = vec_in(&mut r, y.len(), -2.0, 2.0);
        check_along(name, &p, &v, &soft, &jvp(&p, &v).1.flat());
        check_duality(name, &p, &v, &dout, &y, jvp(&p, &v), vjp(&p, &dout));
    }
}

/// [`run_surrogate`] for a rule that is its own soft function.
fn run<V: Flat, D: Flat, G: Flat>(
    name: &str,
    seed: u64,
    sample: impl Fn(&mut StdRng) -> Vec<f64>,
    value: impl Fn(&[f64]) -> Vec<f64>,
    jvp: impl Fn(&[f64], &[f64]) -> (V, D),
    vjp: impl Fn(&[f64], &[f64]) -> (V, G),
) {
    run_surrogate(name, seed, sample, &value, &value, jvp, vjp);
}

/// Duality and values at the fixed point `p` (a kink), for random tangents and cotangents: the
/// pushforward takes the same branch as the pullback.
fn at_kink<V: Flat, D: Flat, G: Flat>(
    name: &str,
    p: &[f64],
    value: impl Fn(&[f64]) -> Vec<f64>,
    jvp: impl Fn(&[f64], &[f64]) -> (V, D),
    vjp: impl Fn(&[f64], &[f64]) -> (V, G),
) {
    let mut r = rng(p.iter().fold(7, |h, x| h ^ x.to_bits()));
    for _ in 0..20 {
        let v = vec_in(&mut r, p.len(), -1.0, 1.0);
        let y = value(p);
        let dout = vec_in(&mut r, y.len(), -2.0, 2.0);
        check_duality(name, p, &v, &dout, &y, jvp(p, &v), vjp(p, &dout));
    }
}

#[test]
fn activations() {
    let wide = |r: &mut StdRng| vec_in(r, 1, -30.0, 30.0);
    run(
        "relu",
        1,
        |r| vec![off_kink(r, 0.0, 5.0)],
        |p| vec![relu(p[0])],
        |p, v| relu_jvp(p[0], v[0]),
        |p, d| relu_vjp(p[0], d[0]),
    );
    run(
        "softplus",
        2,
        wide,
        |p| vec![softplus(p[0])],
        |p, v| softplus_jvp(p[0], v[0]),
        |p, d| softplus_vjp(p[0], d[0]),
    );
    run("sigmoid", 3, wide, |p| vec![sigmoid(p[0])], |p, v| sigmoid_jvp(p[0], v[0]), |p, d| sigmoid_vjp(p[0], d[0]));
}

/// `[±|x|, delta]` with `|x|` at least 1e-3 from `delta`, on either side.
fn loss_sample(r: &mut StdRng) -> Vec<f64> {
    let delta = uniform(r, 0.2, 3.0);
    let a = off_kink(r, delta, delta.min(2.0) - 1e-3);
    vec![if uniform(r, 0.0, 1.0) < 0.5 { a } else { -a }, delta]
}

#[test]
fn losses_on_both_sides_of_the_kink() {
    run(
        "huber",
        4,
        loss_sample,
        |p| vec![huber(p[0], p[1])],
        |p, v| huber_jvp(p[0], p[1], (v[0], v[1])),
        |p, d| huber_vjp(p[0], p[1], d[0]),
    );
    run(
        "smooth_l1",
        5,
        loss_sample,
        |p| vec![smooth_l1(p[0], p[1])],
        |p, v| smooth_l1_jvp(p[0], p[1], (v[0], v[1])),
        |p, d| smooth_l1_vjp(p[0], p[1], d[0]),
    );
}

/// The stated conventions at exact kinks, and the same branch as the pullback there.
#[test]
fn kink_conventions() {
    assert_eq!(relu_jvp(0.0, 1.0), (0.0, 0.0), "relu'(0) = 0");
    assert_eq!(ops::abs_jvp(0.0, 1.0), (0.0, 0.0), "abs'(0) = 0");
    assert_eq!(ops::abs_jvp(-0.0, 1.0).1, 0.0);
    // At |x| = delta the outside formulas: delta·sign(x)·dx + (|x| − delta)·ddelta.
    assert_eq!(huber_jvp(2.0, 2.0, (1.0, 3.0)), (2.0, 2.0));
    assert_eq!(huber_jvp(-2.0, 2.0, (1.0, 3.0)), (2.0, -2.0));
    assert_eq!(huber_jvp(0.0, 1.0, (1.0, 3.0)), (0.0, 0.0));
    assert_eq!(smooth_l1_jvp(1.5, 1.5, (1.0, 3.0)).1, 1.0 - 0.5 * 3.0);
    assert_eq!(smooth_l1_jvp(0.0, 0.0, (1.0, 3.0)).1, -0.5 * 3.0, "sign(0) = 0");
    // A tie splits evenly: the tangent is the mean of the two.
    assert_eq!(ops::max_jvp(1.0, 1.0, (2.0, 4.0)), (1.0, 3.0));
    assert_eq!(ops::min_jvp(1.0, 1.0, (2.0, 4.0)), (1.0, 3.0));
    // A NaN argument is ignored, as max and min ignore it.
    assert_eq!(ops::max_jvp(f64::NAN, 1.0, (2.0, 4.0)), (1.0, 4.0));
    assert_eq!(ops::max_jvp(1.0, f64::NAN, (2.0, 4.0)), (1.0, 2.0));
    assert_eq!(ops::min_jvp(f64::NAN, 1.0, (2.0, 4.0)), (1.0, 4.0));
    assert_eq!(ops::min_jvp(1.0, f64::NAN, (2.0, 4.0)), (1.0, 2.0));
    // clamp: x's tangent for lo ≤ x ≤ hi, else the active bound's.
    assert_eq!(ops::clamp_jvp(1.0, -1.0, 1.0, (2.0, 3.0, 4.0)), (1.0, 2.0));
    assert_eq!(ops::clamp_jvp(-1.0, -1.0, 1.0, (2.0, 3.0, 4.0)), (-1.0, 2.0));
    assert_eq!(ops::clamp_jvp(2.0, -1.0, 1.0, (2.0, 3.0, 4.0)), (1.0, 4.0));
    assert_eq!(ops::clamp_jvp(-2.0, -1.0, 1.0, (2.0, 3.0, 4.0)), (-1.0, 3.0));

    at_kink("relu", &[0.0], |p| vec![relu(p[0])], |p, v| relu_jvp(p[0], v[0]), |p, d| relu_vjp(p[0], d[0]));
    at_kink("abs", &[0.0], |p| vec![p[0].abs()], |p, v| ops::abs_jvp(p[0], v[0]), |p, d| ops::abs_vjp(p[0], d[0]));
    for p in [[2.0, 2.0], [-2.0, 2.0], [0.0, 1.0], [0.0, 0.0], [1.5, 0.0]] {
        at_kink(
            "huber",
            &p,
            |p| vec![huber(p[0], p[1])],
            |p, v| huber_jvp(p[0], p[1], (v[0], v[1])),
            |p, d| huber_vjp(p[0], p[1], d[0]),
        );
        at_kink(
            "smooth_l1",
            &p,
            |p| vec![smooth_l1(p[0], p[1])],
            |p, v| smooth_l1_jvp(p[0], p[1], (v[0], v[1])),
            |p, d| smooth_l1_vjp(p[0], p[1], d[0]),
        );
    }
    for p in [[1.0, 1.0], [-0.0, 0.0], [0.0, -0.0]] {
        at_kink(
            "max",
            &p,
            |p| vec![p[0].max(p[1])],
            |p, v| ops::max_jvp(p[0], p[1], (v[0], v[1])),
            |p, d| ops::max_vjp(p[0], p[1], d[0]),
        );
        at_kink(
            "min",
            &p,
            |p| vec![p[0].min(p[1])],
            |p, v| ops::min_jvp(p[0], p[1], (v[0], v[1])),
            |p, d| ops::min_vjp(p[0], p[1], d[0]),
        );
    }
    for p in [[1.0, -1.0, 1.0], [-1.0, -1.0, 1.0], [0.5, 0.5, 0.5]] {
        at_kink(
            "clamp",
            &p,
            |p| vec![p[0].clamp(p[1], p[2])],
            |p, v| ops::clamp_jvp(p[0], p[1], p[2], (v[0], v[1], v[2])),
            |p, d| ops::clamp_vjp(p[0], p[1], p[2], d[0]),
        );
    }
    // Ties in the softmax family's argmax: the straight-through rules' hard value is the first
    // maximum, their tangent that of the soft surrogate.
    at_kink(
        "st_one_hot at a tie",
        &[1.0, 1.0, 0.0, 0.5],
        |p| st_one_hot(arr::<3>(p), p[3]).to_vec(),
        |p, v| st_one_hot_jvp(arr::<3>(p), p[3], (arr(v), v[3])),
        |p, d| st_one_hot_vjp(arr::<3>(p), p[3], arr(d)),
    );
}

#[test]
fn softmax_family() {
    let s = logits_and_temperature;
    let x = |p: &[f64]| arr::<5>(p);
    let tan = |v: &[f64]| (arr::<5>(v), v[5]);
    run(
        "softmax",
        6,
        s,
        |p| softmax(x(p), p[5]).to_vec(),
        |p, v| softmax_jvp(x(p), p[5], tan(v)),
        |p, d| softmax_vjp(x(p), p[5], arr(d)),
    );
    run(
        "log_softmax",
        7,
        s,
        |p| log_softmax(x(p), p[5]).to_vec(),
        |p, v| log_softmax_jvp(x(p), p[5], tan(v)),
        |p, d| log_softmax_vjp(x(p), p[5], arr(d)),
    );
    run(
        "logsumexp",
        8,
        s,
        |p| vec![logsumexp(x(p), p[5])],
        |p, v| logsumexp_jvp(x(p), p[5], tan(v)),
        |p, d| logsumexp_vjp(x(p), p[5], d[0]),
    );
    run(
        "soft_argmax",
        9,
        s,
        |p| vec![soft_argmax(x(p), p[5])],
        |p, v| soft_argmax_jvp(x(p), p[5], tan(v)),
        |p, d| soft_argmax_vjp(x(p), p[5], d[0]),
    );
    run(
        "soft_max",
        10,
        s,
        |p| vec![soft_max(x(p), p[5])],
        |p, v| soft_max_jvp(x(p), p[5], tan(v)),
        |p, d| soft_max_vjp(x(p), p[5], d[0]),
    );
}

#[test]
fn reductions() {
    let s = |r: &mut StdRng| vec_in(r, 6, -5.0, 5.0);
    run(
        "sum",
        11,
        s,
        |p| vec![sum(arr::<6>(p))],
        |p, v| sum_jvp(arr::<6>(p), arr(v)),
        |p, d| sum_vjp(arr::<6>(p), d[0]),
    );
    run(
        "mean",
        12,
        s,
        |p| vec![mean(arr::<6>(p))],
        |p, v| mean_jvp(arr::<6>(p), arr(v)),
        |p, d| mean_vjp(arr::<6>(p), d[0]),
    );
    let (a, b) = (|p: &[f64]| arr::<3>(p), |p: &[f64]| arr::<3>(&p[3..]));
    run(
        "dot",
        13,
        s,
        |p| vec![dot(a(p), b(p))],
        |p, v| dot_jvp(a(p), b(p), (a(v), b(v))),
        |p, d| dot_vjp(a(p), b(p), d[0]),
    );
}

/// Straight-through rules: the value is exactly the hard value, the tangent that of the soft
/// surrogate (zero for `stop_gradient`, whose surrogate is a constant).
#[test]
fn straight_through_rules() {
    let s = logits_and_temperature;
    let x = |p: &[f64]| arr::<5>(p);
    let tan = |v: &[f64]| (arr::<5>(v), v[5]);
    run_surrogate(
        "st_one_hot",
        14,
        s,
        |p| st_one_hot(x(p), p[5]).to_vec(),
        |p| softmax(x(p), p[5]).to_vec(),
        |p, v| st_one_hot_jvp(x(p), p[5], tan(v)),
        |p, d| st_one_hot_vjp(x(p), p[5], arr(d)),
    );
    run_surrogate(
        "st_argmax",
        15,
        s,
        |p| vec![argmax(x(p)) as f64],
        |p| vec![soft_argmax(x(p), p[5])],
        |p, v| st_argmax_jvp(x(p), p[5], tan(v)),
        |p, d| st_argmax_vjp(x(p), p[5], d[0]),
    );
    let pair = |r: &mut StdRng| vec_in(r, 2, -3.0, 3.0);
    run_surrogate(
        "straight_through",
        16,
        pair,
        |p| vec![straight_through(p[0], p[1])],
        |p| vec![p[1]],
        |p, v| straight_through_jvp(p[0], p[1], (v[0], v[1])),
        |p, d| straight_through_vjp(p[0], p[1], d[0]),
    );
    let (hard, soft) = (|p: &[f64]| arr::<3>(p), |p: &[f64]| arr::<3>(&p[3..]));
    run_surrogate(
        "straight_through (arrays)",
        17,
        |r| vec_in(r, 6, -3.0, 3.0),
        |p| straight_through(hard(p), soft(p)).to_vec(),
        |p| soft(p).to_vec(),
        |p, v| straight_through_jvp(hard(p), soft(p), (hard(v), soft(v))),
        |p, d| straight_through_vjp(hard(p), soft(p), arr(d)),
    );
    run_surrogate(
        "stop_gradient",
        18,
        |r| vec_in(r, 1, -3.0, 3.0),
        |p| vec![stop_gradient(p[0])],
        |_| vec![0.0],
        |p, v| stop_gradient_jvp(p[0], v[0]),
        |p, d| stop_gradient_vjp(p[0], d[0]),
    );
    run_surrogate(
        "stop_gradient (arrays)",
        19,
        |r| vec_in(r, 4, -3.0, 3.0),
        |p| stop_gradient(arr::<4>(p)).to_vec(),
        |_| vec![0.0; 4],
        |p, v| stop_gradient_jvp(arr::<4>(p), arr(v)),
        |p, d| stop_gradient_vjp(arr::<4>(p), arr(d)),
    );
}

#[test]
fn sampling_explicit_noise_forms() {
    run(
        "normal_reparam",
        20,
        |r| vec![uniform(r, -3.0, 3.0), uniform(r, 0.05, 3.0), uniform(r, -3.0, 3.0)],
        |p| vec![normal_reparam(p[0], p[1], p[2])],
        |p, v| normal_reparam_jvp(p[0], p[1], p[2], (v[0], v[1], v[2])),
        |p, d| normal_reparam_vjp(p[0], p[1], p[2], d[0]),
    );
    run(
        "gumbel_from_uniform",
        21,
        |r| vec_in(r, 1, 0.01, 0.99),
        |p| vec![gumbel_from_uniform(p[0])],
        |p, v| gumbel_from_uniform_jvp(p[0], v[0]),
        |p, d| gumbel_from_uniform_vjp(p[0], d[0]),
    );
    // [logits (4), g (4), t]
    let s = |r: &mut StdRng| {
        let mut p = vec_in(r, 8, -3.0, 3.0);
        p.push(uniform(r, 0.3, 3.0));
        p
    };
    let (l, g) = (|p: &[f64]| arr::<4>(p), |p: &[f64]| arr::<4>(&p[4..]));
    let tan = |v: &[f64]| (l(v), g(v), v[8]);
    let y = |p: &[f64]| -> [f64; 4] { core::array::from_fn(|i| p[i] + p[4 + i]) };
    run(
        "gumbel_softmax_with",
        22,
        s,
        |p| gumbel_softmax_with(l(p), g(p), p[8]).to_vec(),
        |p, v| gumbel_softmax_with_jvp(l(p), g(p), p[8], tan(v)),
        |p, d| gumbel_softmax_with_vjp(l(p), g(p), p[8], arr(d)),
    );
    run_surrogate(
        "st_gumbel_softmax_with",
        23,
        s,
        |p| one_hot::<f64, 4>(argmax(y(p))).to_vec(),
        |p| softmax(y(p), p[8]).to_vec(),
        |p, v| st_gumbel_softmax_with_jvp(l(p), g(p), p[8], tan(v)),
        |p, d| st_gumbel_softmax_with_vjp(l(p), g(p), p[8], arr(d)),
    );
    run_surrogate(
        "st_gumbel_argmax_with",
        24,
        s,
        |p| vec![argmax(y(p)) as f64],
        |p| vec![soft_argmax(y(p), p[8])],
        |p, v| st_gumbel_argmax_with_jvp(l(p), g(p), p[8], tan(v)),
        |p, d| st_gumbel_argmax_with_vjp(l(p), g(p), p[8], d[0]),
    );
}

/// The score-function surrogates: the value is exactly `loss`, the tangent that of the DiCE
/// surrogate `loss·m + b·(1 − m)` with the "magic box" `m = e^(log_prob − ⊥log_prob)` (1 at the
/// point, and `b` not differentiated through `1 − m`, which is 0 there).
#[test]
fn score_function() {
    let mut r = rng(25);
    for _ in 0..POINTS {
        let p = vec_in(&mut r, 3, -5.0, 5.0);
        let (v, dout) = (vec_in(&mut r, 3, -1.0, 1.0), vec_in(&mut r, 1, -2.0, 2.0));
        let magic_box = |q: &[f64]| (q[1] - p[1]).exp();
        check_along(
            "reinforce",
            &p[..2],
            &v[..2],
            &|q| vec![q[0] * magic_box(q)],
            &[reinforce_jvp(p[0], p[1], (v[0], v[1])).1],
        );
        check_duality(
            "reinforce",
            &p[..2],
            &v[..2],
            &dout,
            &[p[0]],
            reinforce_jvp(p[0], p[1], (v[0], v[1])),
            reinforce_vjp(p[0], p[1], dout[0]),
        );
        let baseline = |q: &[f64]| vec![q[0] * magic_box(q) + q[2] * (1.0 - magic_box(q))];
        let (value, d) = reinforce_baseline_jvp(p[0], p[1], p[2], (v[0], v[1], v[2]));
        check_along("reinforce_baseline", &p, &v, &baseline, &[d]);
        check_duality(
            "reinforce_baseline",
            &p,
            &v,
            &dout,
            &[p[0]],
            (value, d),
            reinforce_baseline_vjp(p[0], p[1], p[2], dout[0]),
        );
    }
}

#[test]
fn arithmetic_and_float_methods() {
    type Unary = (&'static str, fn(f64) -> f64, fn(f64, f64) -> (f64, f64), fn(f64, f64) -> (f64, f64), f64, f64);
    let unary: [Unary; 20] = [
        ("exp", f64::exp, ops::exp_jvp, ops::exp_vjp, -5.0, 5.0),
        ("exp2", f64::exp2, ops::exp2_jvp, ops::exp2_vjp, -5.0, 5.0),
        ("exp_m1", f64::exp_m1, ops::exp_m1_jvp, ops::exp_m1_vjp, -5.0, 5.0),
        ("ln", f64::ln, ops::ln_jvp, ops::ln_vjp, 0.1, 10.0),
        ("ln_1p", f64::ln_1p, ops::ln_1p_jvp, ops::ln_1p_vjp, -0.9, 10.0),
        ("log2", f64::log2, ops::log2_jvp, ops::log2_vjp, 0.1, 10.0),
        ("log10", f64::log10, ops::log10_jvp, ops::log10_vjp, 0.1, 10.0),
        ("sqrt", f64::sqrt, ops::sqrt_jvp, ops::sqrt_vjp, 0.1, 10.0),
        ("cbrt", f64::cbrt, ops::cbrt_jvp, ops::cbrt_vjp, 0.1, 10.0),
        ("recip", f64::recip, ops::recip_jvp, ops::recip_vjp, 0.2, 10.0),
        ("sin", f64::sin, ops::sin_jvp, ops::sin_vjp, -5.0, 5.0),
        ("cos", f64::cos, ops::cos_jvp, ops::cos_vjp, -5.0, 5.0),
        ("tan", f64::tan, ops::tan_jvp, ops::tan_vjp, -1.4, 1.4),
        ("asin", f64::asin, ops::asin_jvp, ops::asin_vjp, -0.95, 0.95),
        ("acos", f64::acos, ops::acos_jvp, ops::acos_vjp, -0.95, 0.95),
        ("atan", f64::atan, ops::atan_jvp, ops::atan_vjp, -5.0, 5.0),
        ("sinh", f64::sinh, ops::sinh_jvp, ops::sinh_vjp, -3.0, 3.0),
        ("cosh", f64::cosh, ops::cosh_jvp, ops::cosh_vjp, -3.0, 3.0),
        ("tanh", f64::tanh, ops::tanh_jvp, ops::tanh_vjp, -3.0, 3.0),
        ("abs", f64::abs, ops::abs_jvp, ops::abs_vjp, 0.0, 0.0),
    ];
    for (k, (name, f, jvp, vjp, lo, hi)) in unary.into_iter().enumerate() {
        let sample = move |r: &mut StdRng| if lo < hi { vec_in(r, 1, lo, hi) } else { vec![off_kink(r, 0.0, 5.0)] };
        run(name, 100 + k as u64, sample, |p| vec![f(p[0])], |p, v| jvp(p[0], v[0]), |p, d| vjp(p[0], d[0]));
    }
    type Binary = (
        &'static str,
        fn(f64, f64) -> f64,
        fn(f64, f64, (f64, f64)) -> (f64, f64),
        fn(f64, f64, f64) -> (f64, (f64, f64)),
    );
    let binary: [Binary; 9] = [
        ("add", |a, b| a + b, ops::add_jvp, ops::add_vjp),
        ("sub", |a, b| a - b, ops::sub_jvp, ops::sub_vjp),
        ("mul", |a, b| a * b, ops::mul_jvp, ops::mul_vjp),
        ("div", |a, b| a / b, ops::div_jvp, ops::div_vjp),
        ("powf", f64::powf, ops::powf_jvp, ops::powf_vjp),
        ("atan2", f64::atan2, ops::atan2_jvp, ops::atan2_vjp),
        ("hypot", f64::hypot, ops::hypot_jvp, ops::hypot_vjp),
        ("max", f64::max, ops::max_jvp, ops::max_vjp),
        ("min", f64::min, ops::min_jvp, ops::min_vjp),
    ];
    for (k, (name, f, jvp, vjp)) in binary.into_iter().enumerate() {
        // Positive operands keep powf real and div away from 0; a, b apart keeps max, min off their tie.
        let sample = |r: &mut StdRng| {
            let a = uniform(r, 0.2, 4.0);
            vec![a, off_kink(r, a, 3.0).abs().max(0.1)]
        };
        run(
            name,
            200 + k as u64,
            sample,
            |p| vec![f(p[0], p[1])],
            |p, v| jvp(p[0], p[1], (v[0], v[1])),
            |p, d| vjp(p[0], p[1], d[0]),
        );
    }
    let signed = |r: &mut StdRng| vec_in(r, 1, -4.0, 4.0);
    run("neg", 300, signed, |p| vec![-p[0]], |p, v| ops::neg_jvp(p[0], v[0]), |p, d| ops::neg_vjp(p[0], d[0]));
    for n in [-2, 0, 1, 3] {
        run(
            "powi",
            301,
            signed,
            |p| vec![p[0].powi(n)],
            |p, v| ops::powi_jvp(p[0], n, v[0]),
            |p, d| ops::powi_vjp(p[0], n, d[0]),
        );
    }
    run(
        "mul_add",
        302,
        |r| vec_in(r, 3, -3.0, 3.0),
        |p| vec![p[0].mul_add(p[1], p[2])],
        |p, v| ops::mul_add_jvp(p[0], p[1], p[2], (v[0], v[1], v[2])),
        |p, d| ops::mul_add_vjp(p[0], p[1], p[2], d[0]),
    );
    let clamp_sample = |r: &mut StdRng| {
        let lo = uniform(r, -2.0, 0.0);
        let hi = uniform(r, 0.5, 2.0);
        let x = uniform(r, -4.0, 4.0);
        let x = if (x - lo).abs() < 1e-3 || (x - hi).abs() < 1e-3 { x + 0.01 } else { x };
        vec![x, lo, hi]
    };
    run(
        "clamp",
        303,
        clamp_sample,
        |p| vec![p[0].clamp(p[1], p[2])],
        |p, v| ops::clamp_jvp(p[0], p[1], p[2], (v[0], v[1], v[2])),
        |p, d| ops::clamp_vjp(p[0], p[1], p[2], d[0]),
    );
}

/// `powf` with a constant exponent or base (a tangent of exactly 0) is differentiable where the
/// other partial derivative is not finite: `d/dx x² = 2x` at 0 and at negative `x`.
#[test]
fn powf_with_a_constant_argument() {
    assert_eq!(ops::powf_jvp(0.0, 2.0, (1.0, 0.0)), (0.0, 0.0));
    assert_eq!(ops::powf_jvp(-2.0, 2.0, (1.0, 0.0)), (4.0, -4.0));
    assert_eq!(ops::powf_jvp(-2.0, 3.0, (0.5, 0.0)), (-8.0, 6.0));
    // d/dy 2^y = 2^y ln 2, with the base constant.
    let (v, d) = ops::powf_jvp(2.0_f64, 0.5, (0.0, 1.0));
    assert_eq!(v.to_bits(), 2.0f64.powf(0.5).to_bits());
    assert!((d - 2.0f64.sqrt() * std::f64::consts::LN_2).abs() < 1e-15);
    // Negative base with an integer exponent, against finite differences along x only.
    let mut r = rng(304);
    for _ in 0..POINTS {
        let p = vec![uniform(&mut r, -4.0, -0.2), f64::from(r.random_range(-3..=3))];
        let dx = uniform(&mut r, -1.0, 1.0);
        let d = ops::powf_jvp(p[0], p[1], (dx, 0.0)).1;
        check_along("powf (constant exponent)", &p, &[dx, 0.0], &|q| vec![q[0].powf(p[1])], &[d]);
    }
}

#[test]
fn scalar_rules_finite_on_extreme_input() {
    for x in magnitudes() {
        let (a, da) = softplus_jvp(x, 1.0);
        let (b, db) = sigmoid_jvp(x, -1.0);
        let (c, dc) = relu_jvp(x, 1.0);
        assert!(finite(&[a, da, b, db, c, dc]), "activations at {x:e}");
        for delta in [1e-300, 1e-3, 1.0, 1e300] {
            let (h, dh) = huber_jvp(x, delta, (1.0, 1.0));
            let (s, ds) = smooth_l1_jvp(x, delta, (1.0, 1.0));
            // Huber's value δ(|x| − δ/2) can overflow for huge x·δ: only where it is representable.
            if (x.abs() * delta) < 1e300 && x.abs() < 1e150 {
                assert!(finite(&[h, dh]), "huber({x:e}, {delta:e})");
            }
            assert!(finite(&[s, ds]) || x.abs() > 1e300, "smooth_l1({x:e}, {delta:e})");
        }
        let (n, dn) = normal_reparam_jvp(x, 1.0, 0.5, (1.0, 1.0, 1.0));
        assert!(finite(&[n, dn]), "normal_reparam at {x:e}");
        let (m, dm) = ops::max_jvp(x, -x, (1.0, 2.0));
        let (k, dk) = ops::clamp_jvp(x, -1.0, 1.0, (1.0, 2.0, 3.0));
        let (q, dq) = ops::hypot_jvp(x, x / 2.0, (1.0, 1.0));
        let (e, de) = ops::abs_jvp(x, 1.0);
        assert!(finite(&[m, dm, k, dk, e, de]), "max, clamp, abs at {x:e}");
        // hypot has no derivative at the origin, and its value overflows at MAX.
        assert!(finite(&[q, dq]) || x == 0.0 || x.abs() == f64::MAX, "hypot at {x:e}");
    }
    for u in [f64::MIN_POSITIVE, 1e-300, 1e-10, 0.5, 1.0 - 1e-10, 1.0 - f64::EPSILON / 2.0] {
        let (g, d) = gumbel_from_uniform_jvp(u, 1.0);
        assert!(finite(&[g, d]), "gumbel_from_uniform({u:e})");
    }
}

#[test]
fn softmax_family_finite_for_huge_logits_and_tiny_temperatures() {
    let spreads = [1.0, 1e10, 1e100, 1e300];
    let temps = [f64::MIN_POSITIVE, 1e-300, 1e-100, 1e-10, 1.0, 1e10, 1e300];
    // dx_max·(1/t) overflows at the smallest t: the centring must come before the division.
    let tangent = ([8.0, -1.0, 2.0, 1.0], 0.3);
    for s in spreads {
        let x = [s, -s / 2.0, 0.0, s / 3.0];
        for t in temps {
            let mut v = Vec::new();
            let (y, dy) = softmax_jvp(x, t, tangent);
            v.extend(y.iter().chain(&dy));
            let (l, dl) = logsumexp_jvp(x, t, tangent);
            let (a, da) = soft_argmax_jvp(x, t, tangent);
            let (m, dm) = soft_max_jvp(x, t, tangent);
            v.extend([l, dl, a, da, m, dm]);
            v.extend(st_one_hot_jvp(x, t, tangent).1);
            v.push(st_argmax_jvp(x, t, tangent).1);
            v.extend(gumbel_softmax_with_jvp(x, [0.0; 4], t, (tangent.0, [1.0; 4], tangent.1)).1);
            v.extend(st_gumbel_softmax_with_jvp(x, [0.0; 4], t, (tangent.0, [1.0; 4], tangent.1)).1);
            v.push(st_gumbel_argmax_with_jvp(x, [0.0; 4], t, (tangent.0, [1.0; 4], tangent.1)).1);
            assert!(finite(&v), "softmax family at spread {s:e}, t {t:e}: {v:?}");
            // log_softmax is −spread/t, and its tangent (dx_i − dx_max)/t − (x_i − max)·dt/t²:
            // representable only where those are.
            if s / t < 1e300 && s / t / t < 1e300 && 1.0 / t < 1e300 {
                let (l, dl) = log_softmax_jvp(x, t, tangent);
                assert!(finite(&l) && finite(&dl), "log_softmax at spread {s:e}, t {t:e}: {l:?}, {dl:?}");
            }
        }
    }
}

#[test]
fn f32_at_its_own_limits() {
    for x in [f32::MAX, 1e30, 1e-30, f32::MIN_POSITIVE, 0.0, 88.0, 89.0, -89.0, -f32::MAX] {
        let (a, da) = softplus_jvp(x, 1.0);
        let (b, db) = sigmoid_jvp(x, 1.0);
        assert!([a, da, b, db].iter().all(|v| v.is_finite()), "f32 activations at {x:e}");
    }
    for t in [f32::MIN_POSITIVE, 1e-30, 1.0, 1e30] {
        let x = [1e30f32, -1e30, 0.0, 5.0];
        let tangent = ([1.0, 0.5, -1.0, 2.0], 0.25);
        let (y, dy) = softmax_jvp(x, t, tangent);
        let (v, d) = soft_max_jvp(x, t, tangent);
        let (l, dl) = logsumexp_jvp(x, t, tangent);
        assert!(y.iter().chain(&dy).chain([&v, &d, &l, &dl]).all(|v| v.is_finite()), "f32 softmax family at t {t:e}");
    }
    let (g, d) = gumbel_from_uniform_jvp(f32::MIN_POSITIVE, 1.0);
    assert!(g.is_finite() && d.is_finite());
}

/// In `f32`: values bit for bit the `f32` rule's, tangents those of the `f64` pushforward (checked
/// against finite differences above) at the same point, to `f32` precision.
#[test]
fn f32_agrees_with_f64() {
    #[track_caller]
    fn close(name: &str, got: &[f32], want: &[f64]) {
        for (g, w) in got.iter().zip(want) {
            assert!((f64::from(*g) - w).abs() <= 1e-5 * (1.0 + w.abs()), "{name}: f32 {got:?}, f64 {want:?}");
        }
    }
    let mut r = rng(500);
    for _ in 0..POINTS {
        let p: Vec<f32> = logits_and_temperature(&mut r).iter().map(|&v| v as f32).collect();
        let v: Vec<f32> = vec_in(&mut r, 6, -1.0, 1.0).iter().map(|&v| v as f32).collect();
        let (x, t, tan) = (arr32::<5>(&p), p[5], (arr32::<5>(&v), v[5]));
        let (x64, t64, tan64) = (x.map(f64::from), f64::from(t), (tan.0.map(f64::from), f64::from(tan.1)));
        let (y, dy) = softmax_jvp(x, t, tan);
        assert_eq!(y.map(f32::to_bits), softmax(x, t).map(f32::to_bits));
        close("softmax", &dy, &softmax_jvp(x64, t64, tan64).1);
        let (y, dy) = log_softmax_jvp(x, t, tan);
        assert_eq!(y.map(f32::to_bits), log_softmax(x, t).map(f32::to_bits));
        close("log_softmax", &dy, &log_softmax_jvp(x64, t64, tan64).1);
        let (l, dl) = logsumexp_jvp(x, t, tan);
        assert_eq!(l.to_bits(), logsumexp(x, t).to_bits());
        close("logsumexp", &[dl], &[logsumexp_jvp(x64, t64, tan64).1]);
        let (m, dm) = soft_max_jvp(x, t, tan);
        assert_eq!(m.to_bits(), soft_max(x, t).to_bits());
        close("soft_max", &[dm], &[soft_max_jvp(x64, t64, tan64).1]);
        let (s, ds) = softplus_jvp(p[0] * 5.0, v[0]);
        assert_eq!(s.to_bits(), softplus(p[0] * 5.0).to_bits());
        close("softplus", &[ds], &[softplus_jvp(f64::from(p[0] * 5.0), f64::from(v[0])).1]);
        let (h, dh) = huber_jvp(p[0], p[5], (v[0], v[1]));
        assert_eq!(h.to_bits(), huber(p[0], p[5]).to_bits());
        close("huber", &[dh], &[huber_jvp(f64::from(p[0]), f64::from(p[5]), (f64::from(v[0]), f64::from(v[1]))).1]);
        let (o, d) = ops::mul_jvp(p[0], p[1], (v[0], v[1]));
        assert_eq!(o.to_bits(), (p[0] * p[1]).to_bits());
        close("mul", &[d], &[ops::mul_jvp(f64::from(p[0]), f64::from(p[1]), (f64::from(v[0]), f64::from(v[1]))).1]);
    }
}

fn arr32<const N: usize>(p: &[f32]) -> [f32; N] {
    core::array::from_fn(|i| p[i])
}

/// The one-sided pushforwards (one argument constant) against the two-sided ones with that
/// argument's tangent zero: the same value, bit for bit, and the same tangent.
#[test]
fn one_sided_pushforwards_are_the_two_sided_ones_with_a_constant() {
    let mut r = rng(77);
    for _ in 0..POINTS {
        let p = vec_in(&mut r, 4, -3.0, 3.0);
        let (a, b, da, db) = (p[0], p[1] + 4.0, p[2], p[3]);
        type Both = fn(f64, f64, (f64, f64)) -> (f64, f64);
        type OneSided = fn(f64, f64, f64) -> (f64, f64);
        let pairs: [(&str, Both, OneSided, OneSided); 4] = [
            ("add", ops::add_jvp, ops::add_jvp_first, ops::add_jvp_second),
            ("sub", ops::sub_jvp, ops::sub_jvp_first, ops::sub_jvp_second),
            ("mul", ops::mul_jvp, ops::mul_jvp_first, ops::mul_jvp_second),
            ("div", ops::div_jvp, ops::div_jvp_first, ops::div_jvp_second),
        ];
        for (name, both, first, second) in pairs {
            let (v, d) = first(a, b, da);
            let (w, e) = both(a, b, (da, 0.0));
            assert!(v.to_bits() == w.to_bits() && (d - e).abs() <= 1e-15 * e.abs(), "{name}_jvp_first at {p:?}");
            let (v, d) = second(a, b, db);
            let (w, e) = both(a, b, (0.0, db));
            assert!(v.to_bits() == w.to_bits() && (d - e).abs() <= 1e-15 * e.abs(), "{name}_jvp_second at {p:?}");
        }
        let (x, y): ([f64; 3], [f64; 3]) = (arr(&vec_in(&mut r, 3, -2.0, 2.0)), arr(&vec_in(&mut r, 3, -2.0, 2.0)));
        let dx: [f64; 3] = arr(&vec_in(&mut r, 3, -1.0, 1.0));
        let (v, d) = dot_jvp_first(x, y, dx);
        let (w, e) = dot_jvp(x, y, (dx, [0.0; 3]));
        assert!(v.to_bits() == w.to_bits() && (d - e).abs() <= 1e-14 * (1.0 + e.abs()), "dot_jvp_first");
        let (v, d) = dot_jvp_second(x, y, dx);
        let (w, e) = dot_jvp(x, y, ([0.0; 3], dx));
        assert!(v.to_bits() == w.to_bits() && (d - e).abs() <= 1e-14 * (1.0 + e.abs()), "dot_jvp_second");
    }
}

/// `NAME_jvp_first` (the later arguments constant: a temperature, a threshold, the noise) is
/// `NAME_jvp` with zero tangents for them: the value bit for bit, the tangent to rounding; and
/// finite on extreme logits and tiny temperatures.
#[test]
fn pushforwards_along_the_first_argument_are_those_with_the_others_constant() {
    #[track_caller]
    fn same(name: &str, p: &[f64], (v, d): (Vec<f64>, Vec<f64>), (w, e): (Vec<f64>, Vec<f64>)) {
        assert_bits(name, p, &v, &w);
        for (a, b) in d.iter().zip(&e) {
            assert!((a - b).abs() <= 1e-14 * (1.0 + b.abs()), "{name} at {p:?}: tangent {d:?}, with zeros {e:?}");
        }
    }
    let flat2 = |(v, d): (f64, f64)| (vec![v], vec![d]);
    let flat_arrays = |(v, d): ([f64; 5], [f64; 5])| (v.to_vec(), d.to_vec());
    let mut r = rng(78);
    for _ in 0..POINTS {
        let p = logits_and_temperature(&mut r);
        let (x, t): ([f64; 5], f64) = (arr(&p), p[5]);
        let dx: [f64; 5] = arr(&vec_in(&mut r, 5, -1.0, 1.0));
        let g: [f64; 5] = arr(&vec_in(&mut r, 5, -2.0, 2.0));
        let zero = [0.0; 5];
        same("softmax", &p, flat_arrays(softmax_jvp_first(x, t, dx)), flat_arrays(softmax_jvp(x, t, (dx, 0.0))));
        same(
            "log_softmax",
            &p,
            flat_arrays(log_softmax_jvp_first(x, t, dx)),
            flat_arrays(log_softmax_jvp(x, t, (dx, 0.0))),
        );
        same("logsumexp", &p, flat2(logsumexp_jvp_first(x, t, dx)), flat2(logsumexp_jvp(x, t, (dx, 0.0))));
        same("soft_argmax", &p, flat2(soft_argmax_jvp_first(x, t, dx)), flat2(soft_argmax_jvp(x, t, (dx, 0.0))));
        same("soft_max", &p, flat2(soft_max_jvp_first(x, t, dx)), flat2(soft_max_jvp(x, t, (dx, 0.0))));
        same(
            "gumbel_softmax_with",
            &p,
            flat_arrays(gumbel_softmax_with_jvp_first(x, g, t, dx)),
            flat_arrays(gumbel_softmax_with_jvp(x, g, t, (dx, zero, 0.0))),
        );
        same(
            "st_gumbel_softmax_with",
            &p,
            flat_arrays(st_gumbel_softmax_with_jvp_first(x, g, t, dx)),
            flat_arrays(st_gumbel_softmax_with_jvp(x, g, t, (dx, zero, 0.0))),
        );
        let (u, threshold, du) = (4.0 * p[0], t, dx[0]);
        same("huber", &p, flat2(huber_jvp_first(u, threshold, du)), flat2(huber_jvp(u, threshold, (du, 0.0))));
        same(
            "smooth_l1",
            &p,
            flat2(smooth_l1_jvp_first(u, threshold, du)),
            flat2(smooth_l1_jvp(u, threshold, (du, 0.0))),
        );
    }
    // Huge logits, tiny temperatures: finite.
    for (x, t) in [([1e300, -1e300, 0.0, 5.0, -5.0], 1e-300), ([0.0; 5], f64::MIN_POSITIVE), ([700.0; 5], 1e-3)] {
        let dx = [1.0, -1.0, 0.5, 0.0, 2.0];
        let finite = |v: &[f64]| v.iter().all(|a| a.is_finite());
        assert!(finite(&softmax_jvp_first(x, t, dx).1), "softmax_jvp_first at {x:?}, t = {t:e}");
        assert!(finite(&log_softmax_jvp_first(x, t, dx).1), "log_softmax_jvp_first at {x:?}, t = {t:e}");
        assert!(logsumexp_jvp_first(x, t, dx).1.is_finite(), "logsumexp_jvp_first at {x:?}, t = {t:e}");
        assert!(soft_argmax_jvp_first(x, t, dx).1.is_finite(), "soft_argmax_jvp_first at {x:?}, t = {t:e}");
    }
}
