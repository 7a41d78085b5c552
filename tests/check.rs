//! The public gradient checker: correct pullbacks (rules' and generated `_vjp`s) and hand-written
//! pushforwards pass at many random points, in f64 and f32, over scalar, array and tuple layouts;
//! deliberately wrong ones (a factor, a sign, a swapped component, an ignored cotangent, a wrong
//! value) fail, and the report names the coordinate.
#![deny(warnings)]

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use relax::check::{Mode, Options, Probe, Report, check_jvp, check_vjp, numerical_jacobian};
use relax::prelude::*;

const POINTS: usize = 200;

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

fn array<const N: usize>(r: &mut StdRng, lo: f64, hi: f64) -> [f64; N] {
    core::array::from_fn(|_| r.random_range(lo..hi))
}

/// A point at least `gap` away from `kink`.
fn off(r: &mut StdRng, kink: f64, gap: f64, spread: f64) -> f64 {
    let d = r.random_range(gap..spread);
    if r.random_bool(0.5) { kink + d } else { kink - d }
}

#[track_caller]
fn failed_at(report: &Report, coordinate: usize, path: &str) {
    assert!(!report.is_ok(), "a wrong derivative passed: {report}");
    let worst = report.worst.as_ref().expect("a comparison");
    assert_eq!((worst.coordinate, worst.path.as_str()), (coordinate, path), "{report}");
}

#[differentiable]
fn layer(w: [f64; 3], b: f64, x: &[f64; 3]) -> [f64; 2] {
    let z = w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b;
    [softplus(z), (z * x[0]).tanh() * w[1]]
}

#[differentiable]
fn loss<T: Real>(w: T, b: T, xs: &[T; 4]) -> T {
    let mut total = 0.0;
    for &x in xs {
        total += huber(w * x + b - 1.0, 1.0);
    }
    total / 4.0 + sigmoid(w * b)
}

#[test]
fn rule_pullbacks_pass_at_random_points() {
    let mut r = rng(1);
    for _ in 0..POINTS {
        let (x, t, s) = (array::<4>(&mut r, -3.0, 3.0), r.random_range(0.3..2.0), r.random_range(-20.0..20.0));
        let delta = r.random_range(0.2..2.0);
        let kinked = off(&mut r, delta, 1e-3, 3.0);
        let reports = [
            check_vjp(softplus, softplus_vjp, s),
            check_vjp(sigmoid, sigmoid_vjp, s),
            check_vjp(|(x, d)| huber(x, d), |(x, d), dout| huber_vjp(x, d, dout), (kinked, delta)),
            check_vjp(|(x, t)| softmax(x, t), |(x, t), d| softmax_vjp(x, t, d), (x, t)),
            check_vjp(|(x, t)| log_softmax(x, t), |(x, t), d| log_softmax_vjp(x, t, d), (x, t)),
            check_vjp(|(x, t)| logsumexp(x, t), |(x, t), d| logsumexp_vjp(x, t, d), (x, t)),
            check_vjp(|(x, t)| soft_argmax(x, t), |(x, t), d| soft_argmax_vjp(x, t, d), (x, t)),
            check_vjp(|(a, b)| dot(a, b), |(a, b), d| dot_vjp(a, b, d), (x, array(&mut r, -2.0, 2.0))),
            check_vjp(|(a, b, c)| a.mul_add(b, c), |(a, b, c), d| relax::ops::mul_add_vjp(a, b, c, d), (x[0], x[1], t)),
        ];
        for report in reports {
            report.assert_ok();
        }
    }
}

#[test]
fn generated_pullbacks_pass_at_random_points() {
    let mut r = rng(2);
    for _ in 0..POINTS {
        let x = array::<3>(&mut r, -1.5, 1.5);
        let (w, b) = (array::<3>(&mut r, -1.5, 1.5), r.random_range(-1.0..1.0));
        // An array output, a tuple of an array and a float as parameters.
        let report = check_vjp(|(w, b)| layer(w, b, &x), |(w, b), dout| layer_vjp(w, b, &x, dout), (w, b));
        report.assert_ok();
        assert_eq!(
            report.comparisons,
            (2 + 3) * 4,
            "two basis cotangents and three random ones, four coordinates each"
        );

        let xs = array::<4>(&mut r, -2.0, 2.0);
        let (w, b) = (r.random_range(-2.0..2.0), r.random_range(-2.0..2.0));
        // Every residual a step away from huber's kinks at ±1.
        if xs.iter().any(|x| ((w * x + b - 1.0).abs() - 1.0).abs() < 1e-3) {
            continue;
        }
        check_vjp(|(w, b)| loss(w, b, &xs), |(w, b), d| loss_vjp(w, b, &xs, d), (w, b)).assert_ok();
    }
}

#[test]
fn f32_pullbacks_pass_with_f32_defaults() {
    let mut r = rng(3);
    for _ in 0..POINTS {
        let x = array::<4>(&mut r, -3.0, 3.0).map(|v| v as f32);
        let t = r.random_range(0.3..2.0) as f32;
        let report = check_vjp(|(x, t)| softmax(x, t), |(x, t), d| softmax_vjp(x, t, d), (x, t));
        report.assert_ok();
        assert_eq!(report.step, 4e-3, "f32's step");
        check_vjp(|(x, t)| logsumexp(x, t), |(x, t), d| logsumexp_vjp(x, t, d), (x, t)).assert_ok();

        let (w, b) = (x[0], x[1]);
        let xs = array::<4>(&mut r, -2.0, 2.0).map(|v| v as f32);
        if xs.iter().any(|x| ((w * x + b - 1.0).abs() - 1.0).abs() < 2e-2) {
            continue;
        }
        check_vjp(|(w, b)| loss(w, b, &xs), |(w, b), d| loss_vjp(w, b, &xs, d), (w, b)).assert_ok();
    }
    // The f64 defaults are stricter than f32's derivatives are accurate: they are not applied.
    let at = ([0.3_f32, -1.2, 2.0, 0.1], 0.7_f32);
    let f64_tolerance = Options::new().step(1e-6).tolerance(1e-6, 1e-8);
    let report = f64_tolerance.check_vjp(|(x, t)| softmax(x, t), |(x, t), d| softmax_vjp(x, t, d), at);
    assert!(!report.is_ok(), "f32 finite differences at f64's step and tolerance: {report}");
}

/// `layer`'s parameters `(w, b)`, and their gradient.
type LayerParams = ([f64; 3], f64);

/// A pullback of `layer` with one thing wrong: `break_it` edits its gradient.
fn broken_layer(
    x: [f64; 3],
    break_it: fn(&mut LayerParams),
) -> impl Fn(LayerParams, [f64; 2]) -> ([f64; 2], LayerParams) {
    move |(w, b), dout| {
        let (v, mut g) = layer_vjp(w, b, &x, dout);
        break_it(&mut g);
        (v, g)
    }
}

#[test]
fn wrong_pullbacks_are_caught_at_the_wrong_coordinate() {
    let mut r = rng(4);
    for _ in 0..POINTS {
        let x = array::<3>(&mut r, -1.5, 1.5);
        let at = (array::<3>(&mut r, -1.5, 1.5), r.random_range(-1.0..1.0));
        let f = |(w, b)| layer(w, b, &x);
        // Where a broken entry happens to be zero, breaking it changes nothing.
        let g = layer_vjp(at.0, at.1, &x, [0.7, -0.4]).1;
        if g.0.iter().chain([&g.1]).any(|v| v.abs() < 1e-3) {
            continue;
        }
        failed_at(&check_vjp(f, broken_layer(x, |g| g.0[1] *= 1.01), at), 1, ".0[1]");
        failed_at(&check_vjp(f, broken_layer(x, |g| g.1 = -g.1), at), 3, ".1");
        // Swapped: both entries are wrong, the worse one is reported.
        let swapped = check_vjp(f, broken_layer(x, |g| g.0.swap(0, 2)), at);
        let worst = swapped.worst.as_ref().unwrap();
        assert!(!swapped.is_ok() && [".0[0]", ".0[2]"].contains(&worst.path.as_str()), "{swapped}");
    }
}

#[test]
fn a_wrong_rule_pullback_is_caught() {
    // softplus' derivative is sigmoid; tanh has the right sign and shape but not the values.
    let wrong = |x: f64, d: f64| (softplus(x), d * (0.5 + 0.5 * (x / 2.0).tanh() * 1.1));
    let report = check_vjp(softplus, wrong, 0.8);
    failed_at(&report, 0, "");
    // The value is right: only the derivative is reported.
    assert!(report.value_mismatch.is_none());
}

#[test]
fn a_pullback_that_ignores_its_cotangent_is_caught_by_the_random_ones() {
    // Right for `dout = 1` (every basis cotangent of a scalar output), wrong for any other.
    let f = |(a, b): (f64, f64)| a * b.exp();
    let unscaled = |(a, b): (f64, f64), _dout: f64| (f((a, b)), (b.exp(), a * b.exp()));
    let report = check_vjp(f, unscaled, (1.5, 0.25));
    assert!(!report.is_ok(), "{report}");
    assert!(matches!(report.worst.as_ref().unwrap().probe, Probe::Random(_)), "{report}");
    let basis_only = Options::new().random_probes(0).check_vjp(f, unscaled, (1.5, 0.25));
    assert!(basis_only.is_ok(), "{basis_only}");
}

#[test]
fn a_wrong_value_is_caught() {
    let f = |x: [f64; 2]| [x[0] * x[1], x[0].sin()];
    let vjp = |x: [f64; 2], d: [f64; 2]| {
        let v = f(x);
        ([v[0], v[1] + v[1] * f64::EPSILON], [d[0] * x[1] + d[1] * x[0].cos(), d[0] * x[0]])
    };
    let report = check_vjp(f, vjp, [0.5, 2.0]);
    assert!(!report.is_ok());
    let m = report.value_mismatch.as_ref().expect("a value mismatch");
    assert_eq!((m.coordinate, m.path.as_str(), m.original), (1, "[1]", 0.5_f64.sin()));
    assert!(report.to_string().contains("bit for bit"), "{report}");
}

#[test]
fn jvps_pass_and_a_wrong_one_is_caught() {
    let f = |(x, t): ([f64; 3], f64)| softmax(x, t);
    // d softmax_k = s_k (dz_k − Σ s_j dz_j) with z = x/t, dz = dx/t − x·dt/t².
    let jvp = |(x, t): ([f64; 3], f64), (dx, dt): ([f64; 3], f64)| {
        let s = softmax(x, t);
        let dz: [f64; 3] = core::array::from_fn(|k| dx[k] / t - x[k] * dt / (t * t));
        let mean: f64 = (0..3).map(|j| s[j] * dz[j]).sum();
        (s, core::array::from_fn(|k| s[k] * (dz[k] - mean)))
    };
    let mut r = rng(5);
    for _ in 0..POINTS {
        let at = (array::<3>(&mut r, -3.0, 3.0), r.random_range(0.3..2.0));
        let report = check_jvp(f, jvp, at);
        report.assert_ok();
        assert_eq!(report.mode, Mode::Jvp);
        // Four basis directions and three random ones, three output coordinates each.
        assert_eq!(report.comparisons, (4 + 3) * 3);

        let wrong_last = |p: ([f64; 3], f64), v: ([f64; 3], f64)| {
            let (s, mut ds) = jvp(p, v);
            ds[2] *= -1.0;
            (s, ds)
        };
        if jvp(at, ([0.3, -0.8, 0.5], 0.4)).1[2].abs() > 1e-3 {
            failed_at(&check_jvp(f, wrong_last, at), 2, "[2]");
        }
    }
}

#[test]
fn f32_jvp_of_a_tuple_output() {
    let f = |(a, b): (f32, f32)| (a * b, [a.sin(), b.exp()]);
    let jvp = |(a, b): (f32, f32), (da, db): (f32, f32)| (f((a, b)), (da * b + a * db, [a.cos() * da, b.exp() * db]));
    let mut r = rng(6);
    for _ in 0..POINTS {
        let at = (r.random_range(-2.0..2.0) as f32, r.random_range(-2.0..2.0) as f32);
        check_jvp(f, jvp, at).assert_ok();
    }
    let wrong = |p: (f32, f32), v: (f32, f32)| {
        let (o, (d, mut ds)) = jvp(p, v);
        ds[1] *= 1.5;
        (o, (d, ds))
    };
    failed_at(&check_jvp(f, wrong, (0.5, 0.7)), 2, ".1[1]");
}

#[test]
fn the_tolerance_and_step_are_the_options() {
    let f = |x: f64| x.sin();
    // Off by 1e-4 relative: beyond f64's default tolerance, within a looser one.
    let slightly_off = |x: f64, d: f64| (x.sin(), d * x.cos() * (1.0 + 1e-4));
    assert!(!check_vjp(f, slightly_off, 0.3).is_ok());
    let loose = Options::new().tolerance(1e-3, 0.0).check_vjp(f, slightly_off, 0.3);
    assert!(loose.is_ok(), "{loose}");
    assert_eq!(loose.tolerance.rel, 1e-3);
    // At a large step, central differences of sin are off by h²/6 relative.
    let report = Options::new().step(0.1).check_vjp(f, |x, d| (x.sin(), d * x.cos()), 0.3);
    let worst = report.worst.as_ref().unwrap();
    assert!(!report.is_ok() && worst.relative_error() > 0.1 * 0.1 / 6.0 * 0.9, "{report}");
}

#[test]
fn the_report_says_where_and_what() {
    let x = [0.5, -1.0, 0.25];
    let at = ([0.3, 0.6, -0.2], 0.1);
    let report = check_vjp(|(w, b)| layer(w, b, &x), broken_layer(x, |g| g.0[1] *= 2.0), at);
    let worst = report.worst.clone().unwrap();
    let text = report.to_string();
    for part in [
        "vjp check failed at [0.3, 0.6, -0.2, 0.1]".to_string(),
        "gradient coordinate 1 (`.0[1]`)".to_string(),
        format!("pullback {:e}", worst.analytic),
        format!("finite differences {:e}", worst.numeric),
    ] {
        assert!(text.contains(&part), "{text:?} does not say {part:?}");
    }
    // Twice the derivative: the relative error is a half.
    assert!((worst.relative_error() - 0.5).abs() < 1e-6, "{text}");
    let panic = std::panic::catch_unwind(|| report.assert_ok()).expect_err("assert_ok passes a wrong pullback");
    assert_eq!(panic.downcast_ref::<String>(), Some(&text));
}

#[test]
fn nothing_to_compare_is_not_a_pass() {
    let report = check_vjp(|n: usize| n as f64, |n, _| (n as f64, n), 3);
    assert_eq!(report.comparisons, 0);
    assert!(!report.is_ok(), "{report}");
}

#[test]
fn numerical_jacobian_of_a_closed_form() {
    let mut r = rng(7);
    for _ in 0..POINTS {
        let [a, b] = array::<2>(&mut r, -3.0, 3.0);
        let j = numerical_jacobian(|(a, b): (f64, f64)| [a * b, a.exp() + b * b], (a, b));
        let want = [[b, a], [a.exp(), 2.0 * b]];
        for k in 0..2 {
            for i in 0..2 {
                let (g, w) = (j[k][i], want[k][i]);
                assert!((g - w).abs() <= 1e-7 * (1.0 + w.abs()), "∂f{k}/∂x{i} at ({a}, {b}): {g} vs {w}");
            }
        }
    }
}
