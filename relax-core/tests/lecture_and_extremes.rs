//! The lecture's printed numbers, and every rule finite on extreme input.

use relax_core::*;
use relax_testkit::{finite, magnitudes};

const X: [f64; 4] = [1.1, 4.0, -0.1, 2.3];

/// Within one unit of the last printed digit.
#[track_caller]
fn assert_printed(what: &str, got: f64, printed: &str) {
    let (mantissa, exp) = printed.split_once('e').unwrap_or((printed, "0"));
    let decimals = mantissa.split_once('.').map_or(0, |(_, d)| d.len()) as i32;
    let unit = 10f64.powi(exp.parse::<i32>().unwrap() - decimals);
    let want: f64 = printed.parse().unwrap();
    assert!((got - want).abs() <= unit, "{what}: {got} vs the lecture's {printed}");
}

#[test]
fn lecture_tables() {
    let softmax_rows: [(f64, [&str; 4]); 5] = [
        (1.0, ["0.044", "0.797", "0.013", "0.146"]),
        (0.8, ["0.023", "0.868", "0.005", "0.104"]),
        (0.6, ["0.008", "0.937", "0.001", "0.055"]),
        (0.4, ["6.997e-04", "9.852e-01", "3.484e-05", "1.405e-02"]),
        (0.2, ["5.042e-07", "9.998e-01", "1.250e-09", "2.034e-04"]),
    ];
    let soft_argmax_rows = ["1.2606", "1.1894", "1.1037", "1.0274", "1.0004"];
    let soft_max_rows = ["3.571", "3.736", "3.881", "3.974", "3.999"];
    for (k, (t, row)) in softmax_rows.into_iter().enumerate() {
        let y = softmax(X, t);
        for i in 0..4 {
            assert_printed(&format!("softmax(x/{t})[{i}]"), y[i], row[i]);
        }
        assert_printed(&format!("soft_argmax(x, {t})"), soft_argmax(X, t), soft_argmax_rows[k]);
        assert_printed(&format!("soft_max(x, {t})"), soft_max(X, t), soft_max_rows[k]);
        assert_eq!(st_one_hot(X, t), [0.0, 1.0, 0.0, 0.0]);
        assert_eq!(st_argmax(X, t), 1.0);
    }
    assert_eq!(argmax(X), 1);
    // The lecture's Huber loss (threshold 1) at both sides of its kink.
    for d in [-2.5, -0.3, 0.0, 0.9, 1.7] {
        let want = if f64::abs(d) < 1.0 { 0.5 * d * d } else { f64::abs(d) - 0.5 };
        assert_eq!(huber(d, 1.0), want);
        assert_eq!(smooth_l1(d, 1.0), want);
    }
}

#[test]
fn scalar_rules_finite_on_extreme_input() {
    for x in magnitudes() {
        let (a, da) = softplus_vjp(x, 1.0);
        let (b, db) = sigmoid_vjp(x, 1.0);
        let (c, dc) = relu_vjp(x, 1.0);
        assert!(finite(&[a, da, b, db, c, dc]), "activations at {x:e}");
        for delta in [1e-300, 1e-3, 1.0, 1e300] {
            let (h, (hx, hd)) = huber_vjp(x, delta, 1.0);
            let (s, (sx, sb)) = smooth_l1_vjp(x, delta, 1.0);
            // Huber's value δ(|x| − δ/2) and its square can overflow for huge x·δ: only check
            // where the exact value is representable.
            if (x.abs() * delta) < 1e300 && x.abs() < 1e150 {
                assert!(finite(&[h, hx, hd]), "huber({x:e}, {delta:e})");
            }
            assert!(finite(&[s, sx, sb]) || x.abs() > 1e300, "smooth_l1({x:e}, {delta:e})");
        }
        let (n, (nm, ns, nz)) = normal_reparam_vjp(x, 1.0, 0.5, 1.0);
        assert!(finite(&[n, nm, ns, nz]), "normal_reparam at {x:e}");
    }
    for u in [f64::MIN_POSITIVE, 1e-300, 1e-10, 0.5, 1.0 - 1e-10, 1.0 - f64::EPSILON / 2.0] {
        let (g, d) = gumbel_from_uniform_vjp(u, 1.0);
        assert!(finite(&[g, d]), "gumbel_from_uniform({u:e})");
    }
}

#[test]
fn softmax_family_finite_for_huge_logits_and_tiny_temperatures() {
    let spreads = [1.0, 1e10, 1e100, 1e300];
    let temps = [f64::MIN_POSITIVE, 1e-300, 1e-100, 1e-10, 1.0, 1e10, 1e300];
    let d = [0.5, -1.0, 2.0, 1.0];
    for s in spreads {
        let x = [s, -s / 2.0, 0.0, s / 3.0];
        for t in temps {
            let mut v = softmax(x, t).to_vec();
            v.extend(softmax_vjp(x, t, d).1.0);
            v.push(softmax_vjp(x, t, d).1.1);
            v.push(logsumexp(x, t));
            v.extend(logsumexp_vjp(x, t, 1.0).1.0);
            v.push(soft_argmax(x, t));
            v.extend(soft_argmax_vjp(x, t, 1.0).1.0);
            v.push(soft_max(x, t));
            v.extend(soft_max_vjp(x, t, 1.0).1.0);
            v.extend(st_one_hot_vjp(x, t, d).1.0);
            v.extend(st_argmax_vjp(x, t, 1.0).1.0);
            v.extend(gumbel_softmax_with_vjp(x, [0.0; 4], t, d).1.0);
            assert!(finite(&v), "softmax family at spread {s:e}, t {t:e}: {v:?}");
            // log_softmax is −spread/t, representable only when that is.
            if s / t < 1e300 {
                let mut l = log_softmax(x, t).to_vec();
                l.extend(log_softmax_vjp(x, t, d).1.0);
                assert!(finite(&l), "log_softmax at spread {s:e}, t {t:e}: {l:?}");
            }
        }
    }
}

#[test]
fn f32_at_its_own_limits() {
    for x in [f32::MAX, 1e30, 1e-30, f32::MIN_POSITIVE, 0.0, 88.0, 89.0, -89.0, -f32::MAX] {
        let (a, da) = softplus_vjp(x, 1.0);
        let (b, db) = sigmoid_vjp(x, 1.0);
        assert!([a, da, b, db].iter().all(|v| v.is_finite()), "f32 activations at {x:e}");
    }
    for t in [f32::MIN_POSITIVE, 1e-30, 1.0, 1e30] {
        let x = [1e30f32, -1e30, 0.0, 5.0];
        let (y, (dx, dt)) = softmax_vjp(x, t, [1.0, 0.0, 0.0, 0.0]);
        assert!(y.iter().chain(&dx).chain([&dt]).all(|v| v.is_finite()), "f32 softmax at t {t:e}");
        let (v, (g, gt)) = soft_max_vjp(x, t, 1.0);
        assert!(g.iter().chain([&v, &gt]).all(|v| v.is_finite()), "f32 soft_max at t {t:e}");
    }
    let (g, d) = gumbel_from_uniform_vjp(f32::MIN_POSITIVE, 1.0);
    assert!(g.is_finite() && d.is_finite());
}

/// `huber` computes both pieces as one branch-free product; its value is still the two-piece
/// formula's, bit for bit (sign of zero included, but for `huber(−0, delta) = −0` with a positive
/// `delta`, as documented), at random points, at the kink, on extreme input, for every sign of
/// the threshold, in f64 and f32.
#[test]
fn huber_is_the_two_piece_formula_bit_for_bit() {
    fn two_piece<T: Real>(x: T, delta: T) -> T {
        let (zero, half) = (T::zero(), T::select(0.5, 0.5));
        let negative_zero = x == zero && x.is_sign_negative() && delta > zero;
        if negative_zero {
            -zero
        } else if x.abs() < delta {
            half * x * x
        } else {
            delta * (x.abs() - half * delta)
        }
    }
    let same = |a: f64, b: f64| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
    let mut r = relax_testkit::rng(41);
    let mut points: Vec<(f64, f64)> = (0..100_000)
        .map(|_| {
            let delta = 10f64.powf(relax_testkit::uniform(&mut r, -3.0, 3.0));
            (relax_testkit::uniform(&mut r, -3.0, 3.0) * delta, delta)
        })
        .collect();
    let extremes = [0.0, f64::MIN_POSITIVE, 1e-310, 1e-160, 0.5, 1.0, 2.0, 1e160, f64::MAX, f64::INFINITY, f64::NAN];
    for &x in &extremes {
        for &delta in &[1e-300, 1e-3, 0.5, 1.0, 3.0, 1e300, 0.0, -1.0, f64::INFINITY, f64::NAN] {
            points.extend([(x, delta), (-x, delta), (x, -delta)]);
        }
    }
    // Both sides of the kink, and on it.
    let beside = |d: f64, ulps: i64| f64::from_bits((d.to_bits() as i64 + ulps) as u64);
    points.extend([1.0, 3.0].iter().flat_map(|&d| [d, beside(d, -1), beside(d, 1)].map(|x| (x, d))));
    for (x, delta) in points {
        let what = format!("huber({x:e}, {delta:e})");
        assert!(same(huber(x, delta), two_piece(x, delta)), "{what}: {:e}", huber(x, delta));
        let (x32, delta32) = (x as f32, delta as f32);
        let (got, want) = (huber(x32, delta32), two_piece(x32, delta32));
        assert!(same(got.into(), want.into()), "{what} in f32: {got:e} against {want:e}");
    }
}
