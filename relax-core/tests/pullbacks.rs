//! Every pullback against central finite differences of its value function, at `POINTS` random
//! points per rule, on both sides of every kink; at the kinks, the stated conventions.

use rand::rngs::StdRng;
use relax_core::*;
use relax_testkit::{
    Flat, POINTS, arr, check_pullback as check, logits_and_temperature, off_kink, point as vec_in, rng, uniform,
};

/// Checks `vjp` against finite differences of `f` at `POINTS` points drawn by `sample`, with a
/// random cotangent of `nout` entries.
fn run<V: Flat, G: Flat>(
    name: &str,
    seed: u64,
    nout: usize,
    sample: impl Fn(&mut StdRng) -> Vec<f64>,
    f: impl Fn(&[f64]) -> Vec<f64>,
    vjp: impl Fn(&[f64], &[f64]) -> (V, G),
) {
    let mut r = rng(seed);
    for _ in 0..POINTS {
        let p = sample(&mut r);
        let dout = vec_in(&mut r, nout, -2.0, 2.0);
        let (v, g) = vjp(&p, &dout);
        check(name, &p, &dout, &f, &v.flat(), &g.flat());
    }
}

#[test]
fn activations() {
    run("relu", 1, 1, |r| vec![off_kink(r, 0.0, 5.0)], |p| vec![relu(p[0])], |p, d| relu_vjp(p[0], d[0]));
    run("softplus", 2, 1, |r| vec_in(r, 1, -30.0, 30.0), |p| vec![softplus(p[0])], |p, d| softplus_vjp(p[0], d[0]));
    run("sigmoid", 3, 1, |r| vec_in(r, 1, -30.0, 30.0), |p| vec![sigmoid(p[0])], |p, d| sigmoid_vjp(p[0], d[0]));
}

#[test]
fn losses_on_both_sides_of_the_kink() {
    let sample = |r: &mut StdRng| {
        let delta = uniform(r, 0.2, 3.0);
        let a = off_kink(r, delta, delta.min(2.0) - 1e-3);
        vec![if uniform(r, 0.0, 1.0) < 0.5 { a } else { -a }, delta]
    };
    run("huber", 4, 1, sample, |p| vec![huber(p[0], p[1])], |p, d| huber_vjp(p[0], p[1], d[0]));
    run("smooth_l1", 5, 1, sample, |p| vec![smooth_l1(p[0], p[1])], |p, d| smooth_l1_vjp(p[0], p[1], d[0]));
}

#[test]
fn kink_conventions() {
    assert_eq!(relu_vjp(0.0, 1.0).1, 0.0, "relu'(0) = 0");
    // At |x| = delta the outside formulas: d/dx = delta·sign(x), d/ddelta = |x| − delta = 0.
    assert_eq!(huber_vjp(2.0, 2.0, 1.0).1, (2.0, 0.0));
    assert_eq!(huber_vjp(-2.0, 2.0, 1.0).1, (-2.0, 0.0));
    assert_eq!(huber_vjp(0.0, 1.0, 1.0).1, (0.0, 0.0));
    assert_eq!(smooth_l1_vjp(1.5, 1.5, 1.0).1, (1.0, -0.5));
    assert_eq!(smooth_l1_vjp(0.0, 0.0, 1.0).1, (0.0, -0.5), "sign(0) = 0");
    assert_eq!(ops::abs_vjp(0.0, 1.0).1, 0.0);
    assert_eq!(ops::max_vjp(1.0, 1.0, 1.0).1, (0.5, 0.5));
    assert_eq!(ops::min_vjp(1.0, 1.0, 1.0).1, (0.5, 0.5));
    assert_eq!(ops::clamp_vjp(1.0, -1.0, 1.0, 1.0).1, (1.0, 0.0, 0.0));
    assert_eq!(ops::clamp_vjp(-1.0, -1.0, 1.0, 1.0).1, (1.0, 0.0, 0.0));
    assert_eq!(ops::clamp_vjp(2.0, -1.0, 1.0, 1.0).1, (0.0, 0.0, 1.0));
    assert_eq!(ops::clamp_vjp(-2.0, -1.0, 1.0, 1.0).1, (0.0, 1.0, 0.0));
}

#[test]
fn softmax_family() {
    let s = logits_and_temperature;
    run("softmax", 6, 5, s, |p| softmax(arr::<5>(p), p[5]).to_vec(), |p, d| softmax_vjp(arr::<5>(p), p[5], arr(d)));
    run(
        "log_softmax",
        7,
        5,
        s,
        |p| log_softmax(arr::<5>(p), p[5]).to_vec(),
        |p, d| log_softmax_vjp(arr::<5>(p), p[5], arr(d)),
    );
    run("logsumexp", 8, 1, s, |p| vec![logsumexp(arr::<5>(p), p[5])], |p, d| logsumexp_vjp(arr::<5>(p), p[5], d[0]));
    run(
        "soft_argmax",
        9,
        1,
        s,
        |p| vec![soft_argmax(arr::<5>(p), p[5])],
        |p, d| soft_argmax_vjp(arr::<5>(p), p[5], d[0]),
    );
    run("soft_max", 10, 1, s, |p| vec![soft_max(arr::<5>(p), p[5])], |p, d| soft_max_vjp(arr::<5>(p), p[5], d[0]));
}

#[test]
fn reductions() {
    let s = |r: &mut StdRng| vec_in(r, 6, -5.0, 5.0);
    run("sum", 11, 1, s, |p| vec![sum(arr::<6>(p))], |p, d| sum_vjp(arr::<6>(p), d[0]));
    run("mean", 12, 1, s, |p| vec![mean(arr::<6>(p))], |p, d| mean_vjp(arr::<6>(p), d[0]));
    run(
        "dot",
        13,
        1,
        s,
        |p| vec![dot(arr::<3>(p), arr::<3>(&p[3..]))],
        |p, d| dot_vjp(arr::<3>(p), arr::<3>(&p[3..]), d[0]),
    );
}

/// Straight-through rules: the value is exactly the hard value, the pullback exactly the soft
/// rule's pullback (and so agrees with finite differences of the soft rule).
#[test]
fn straight_through_rules() {
    let mut r = rng(14);
    for _ in 0..POINTS {
        let p = logits_and_temperature(&mut r);
        let (x, t) = (arr::<5>(&p), p[5]);
        let d = arr::<5>(&vec_in(&mut r, 5, -2.0, 2.0));
        let (v, g) = st_one_hot_vjp(x, t, d);
        assert_eq!(v, one_hot::<f64, 5>(argmax(x)));
        assert_eq!(v, st_one_hot(x, t));
        assert_eq!(g, softmax_vjp(x, t, d).1);
        check("st_one_hot (soft)", &p, &d, &|q| softmax(arr::<5>(q), q[5]).to_vec(), &softmax(x, t), &g.flat());
        let (v, g) = st_argmax_vjp(x, t, d[0]);
        assert_eq!(v.to_bits(), (argmax(x) as f64).to_bits());
        assert_eq!(g, soft_argmax_vjp(x, t, d[0]).1);
        let (h, s) = (uniform(&mut r, -3.0, 3.0), uniform(&mut r, -3.0, 3.0));
        assert_eq!(straight_through(h, s).to_bits(), h.to_bits());
        assert_eq!(straight_through_vjp(h, s, d[0]), (h, (0.0, d[0])));
        assert_eq!(stop_gradient_vjp(x, d), (x, [0.0; 5]));
    }
}

#[test]
fn sampling_explicit_noise_forms() {
    run(
        "normal_reparam",
        15,
        1,
        |r| vec![uniform(r, -3.0, 3.0), uniform(r, 0.05, 3.0), uniform(r, -3.0, 3.0)],
        |p| vec![normal_reparam(p[0], p[1], p[2])],
        |p, d| normal_reparam_vjp(p[0], p[1], p[2], d[0]),
    );
    run(
        "gumbel_from_uniform",
        16,
        1,
        |r| vec_in(r, 1, 0.01, 0.99),
        |p| vec![gumbel_from_uniform(p[0])],
        |p, d| gumbel_from_uniform_vjp(p[0], d[0]),
    );
    // [logits (4), g (4), t]
    let s = |r: &mut StdRng| {
        let mut p = vec_in(r, 8, -3.0, 3.0);
        p.push(uniform(r, 0.3, 3.0));
        p
    };
    let y = |p: &[f64]| -> [f64; 4] { core::array::from_fn(|i| p[i] + p[4 + i]) };
    run(
        "gumbel_softmax_with",
        17,
        4,
        s,
        |p| gumbel_softmax_with(arr::<4>(p), arr::<4>(&p[4..]), p[8]).to_vec(),
        |p, d| gumbel_softmax_with_vjp(arr::<4>(p), arr::<4>(&p[4..]), p[8], arr(d)),
    );
    let mut r = rng(18);
    for _ in 0..POINTS {
        let p = s(&mut r);
        let (l, g, t) = (arr::<4>(&p), arr::<4>(&p[4..]), p[8]);
        let d = arr::<4>(&vec_in(&mut r, 4, -2.0, 2.0));
        let (v, grad) = st_gumbel_softmax_with_vjp(l, g, t, d);
        assert_eq!(v, one_hot::<f64, 4>(argmax(y(&p))));
        check(
            "st_gumbel_softmax_with (soft)",
            &p,
            &d,
            &|q| softmax(y(q), q[8]).to_vec(),
            &softmax(y(&p), t),
            &grad.flat(),
        );
        let (v, grad) = st_gumbel_argmax_with_vjp(l, g, t, d[0]);
        assert_eq!(v.to_bits(), (argmax(y(&p)) as f64).to_bits());
        check(
            "st_gumbel_argmax_with (soft)",
            &p,
            &d[..1],
            &|q| vec![soft_argmax(y(q), q[8])],
            &[soft_argmax(y(&p), t)],
            &grad.flat(),
        );
        assert_eq!(categorical_sample_with(l, g), argmax(y(&p)));
    }
}

/// The score-function surrogates: value exactly `loss`, gradient `∇loss + (loss − b)·∇log_prob`.
#[test]
fn score_function() {
    let mut r = rng(19);
    for _ in 0..POINTS {
        let [loss, lp, b, d] = arr::<4>(&vec_in(&mut r, 4, -5.0, 5.0));
        assert_eq!(reinforce(loss, lp).to_bits(), loss.to_bits());
        assert_eq!(reinforce_vjp(loss, lp, d), (loss, (d, d * loss)));
        assert_eq!(reinforce_baseline(loss, lp, b).to_bits(), loss.to_bits());
        assert_eq!(reinforce_baseline_vjp(loss, lp, b, d), (loss, (d, d * (loss - b), 0.0)));
    }
}

#[test]
fn arithmetic_and_float_methods() {
    type Unary = (&'static str, fn(f64) -> f64, fn(f64, f64) -> (f64, f64), f64, f64);
    let unary: [Unary; 20] = [
        ("exp", f64::exp, ops::exp_vjp, -5.0, 5.0),
        ("exp2", f64::exp2, ops::exp2_vjp, -5.0, 5.0),
        ("exp_m1", f64::exp_m1, ops::exp_m1_vjp, -5.0, 5.0),
        ("ln", f64::ln, ops::ln_vjp, 0.1, 10.0),
        ("ln_1p", f64::ln_1p, ops::ln_1p_vjp, -0.9, 10.0),
        ("log2", f64::log2, ops::log2_vjp, 0.1, 10.0),
        ("log10", f64::log10, ops::log10_vjp, 0.1, 10.0),
        ("sqrt", f64::sqrt, ops::sqrt_vjp, 0.1, 10.0),
        ("cbrt", f64::cbrt, ops::cbrt_vjp, 0.1, 10.0),
        ("recip", f64::recip, ops::recip_vjp, 0.2, 10.0),
        ("sin", f64::sin, ops::sin_vjp, -5.0, 5.0),
        ("cos", f64::cos, ops::cos_vjp, -5.0, 5.0),
        ("tan", f64::tan, ops::tan_vjp, -1.4, 1.4),
        ("asin", f64::asin, ops::asin_vjp, -0.95, 0.95),
        ("acos", f64::acos, ops::acos_vjp, -0.95, 0.95),
        ("atan", f64::atan, ops::atan_vjp, -5.0, 5.0),
        ("sinh", f64::sinh, ops::sinh_vjp, -3.0, 3.0),
        ("cosh", f64::cosh, ops::cosh_vjp, -3.0, 3.0),
        ("tanh", f64::tanh, ops::tanh_vjp, -3.0, 3.0),
        ("abs", f64::abs, ops::abs_vjp, 0.0, 0.0),
    ];
    for (k, (name, f, vjp, lo, hi)) in unary.into_iter().enumerate() {
        let sample = move |r: &mut StdRng| if lo < hi { vec_in(r, 1, lo, hi) } else { vec![off_kink(r, 0.0, 5.0)] };
        run(name, 100 + k as u64, 1, sample, |p| vec![f(p[0])], |p, d| vjp(p[0], d[0]));
    }
    type Binary = (&'static str, fn(f64, f64) -> f64, fn(f64, f64, f64) -> (f64, (f64, f64)));
    let binary: [Binary; 8] = [
        ("add", |a, b| a + b, ops::add_vjp),
        ("sub", |a, b| a - b, ops::sub_vjp),
        ("mul", |a, b| a * b, ops::mul_vjp),
        ("div", |a, b| a / b, ops::div_vjp),
        ("powf", f64::powf, ops::powf_vjp),
        ("atan2", f64::atan2, ops::atan2_vjp),
        ("hypot", f64::hypot, ops::hypot_vjp),
        ("max", f64::max, ops::max_vjp),
    ];
    for (k, (name, f, vjp)) in binary.into_iter().enumerate() {
        // Positive operands keep powf real and div away from 0; a, b apart keeps max off its tie.
        let sample = |r: &mut StdRng| {
            let a = uniform(r, 0.2, 4.0);
            vec![a, off_kink(r, a, 3.0).abs().max(0.1)]
        };
        run(name, 200 + k as u64, 1, sample, |p| vec![f(p[0], p[1])], |p, d| vjp(p[0], p[1], d[0]));
    }
    let apart = |r: &mut StdRng| {
        let a = uniform(r, -4.0, 4.0);
        vec![a, off_kink(r, a, 3.0)]
    };
    run("min", 300, 1, apart, |p| vec![p[0].min(p[1])], |p, d| ops::min_vjp(p[0], p[1], d[0]));
    run("neg", 301, 1, |r| vec_in(r, 1, -4.0, 4.0), |p| vec![-p[0]], |p, d| ops::neg_vjp(p[0], d[0]));
    run("powi", 302, 1, |r| vec_in(r, 1, -4.0, 4.0), |p| vec![p[0].powi(3)], |p, d| ops::powi_vjp(p[0], 3, d[0]));
    run(
        "mul_add",
        303,
        1,
        |r| vec_in(r, 3, -3.0, 3.0),
        |p| vec![p[0].mul_add(p[1], p[2])],
        |p, d| ops::mul_add_vjp(p[0], p[1], p[2], d[0]),
    );
    let clamp_sample = |r: &mut StdRng| {
        let lo = uniform(r, -2.0, 0.0);
        let hi = uniform(r, 0.5, 2.0);
        let x = uniform(r, -4.0, 4.0);
        let x = if (x - lo).abs() < 1e-3 || (x - hi).abs() < 1e-3 { x + 0.01 } else { x };
        vec![x, lo, hi]
    };
    run("clamp", 304, 1, clamp_sample, |p| vec![p[0].clamp(p[1], p[2])], |p, d| ops::clamp_vjp(p[0], p[1], p[2], d[0]));
}

/// The softmax family's split forms: `NAME_fwd` gives exactly `NAME`'s value, and `NAME_bwd` on
/// its residual exactly `NAME_vjp`'s cotangents.
#[test]
fn split_forms_agree_with_values_and_pullbacks() {
    let mut r = rng(400);
    for _ in 0..POINTS {
        let p = logits_and_temperature(&mut r);
        let (x, t) = (arr::<5>(&p), p[5]);
        let d = arr::<5>(&vec_in(&mut r, 5, -2.0, 2.0));
        let (v, res) = softmax_fwd(x, t);
        assert_eq!((v, softmax_bwd(&res, d)), softmax_vjp(x, t, d));
        assert_eq!(v, softmax(x, t));
        let (v, res) = log_softmax_fwd(x, t);
        assert_eq!((v, log_softmax_bwd(&res, d)), log_softmax_vjp(x, t, d));
        assert_eq!(v, log_softmax(x, t));
        let (v, res) = logsumexp_fwd(x, t);
        assert_eq!((v, logsumexp_bwd(&res, d[0])), logsumexp_vjp(x, t, d[0]));
        assert_eq!(v.to_bits(), logsumexp(x, t).to_bits());
        let (v, res) = soft_argmax_fwd(x, t);
        assert_eq!((v, soft_argmax_bwd(&res, d[0])), soft_argmax_vjp(x, t, d[0]));
        assert_eq!(v.to_bits(), soft_argmax(x, t).to_bits());
        let (v, res) = soft_max_fwd(x, t);
        assert_eq!((v, soft_max_bwd(&res, d[0])), soft_max_vjp(x, t, d[0]));
        assert_eq!(v.to_bits(), soft_max(x, t).to_bits());
    }
}
