//! Forward mode and second order on every construct of the language: at `POINTS` random points per
//! function, `NAME_jvp`'s value is the original's bit for bit (and the RNG is left where the original
//! leaves it), its tangent matches central finite differences of the original along a random
//! direction, and it agrees with `NAME_vjp` (`<dout, J·v> = <Jᵀ·dout, v>`, to rounding); `NAME_hvp`'s
//! value is the original's and its gradient `NAME_grad`'s, bit for bit, and its `H·v` matches
//! central finite differences of `NAME_grad` along `v`.
#![deny(warnings)]
// The fixtures are written the way relax's language reads best: index loops, `p = p * w`.
#![allow(clippy::needless_range_loop, clippy::assign_op_pattern)]

mod common;

use common::fns::*;
use common::models::*;
use common::*;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use relax::prelude::*;

const POINTS: usize = 100;

/// Four logits in `[−2, 2)` and a temperature in `[0.3, 2)`.
fn logits_and_temperature(r: &mut StdRng) -> Vec<f64> {
    let mut p = point(r, 4, -2.0, 2.0);
    p.push(uniform(r, 0.3, 2.0));
    p
}

// -- tests/common/fns.rs: every construct of version 0.1 and every rule -------------------------

#[test]
fn arithmetic_methods_and_mutation() {
    let box2 = || cube(2, -2.0, 2.0);
    check(
        "arith",
        1,
        box2(),
        |p| arith(p[0], p[1]),
        |p, v| arith_jvp(p[0], p[1], (v[0], v[1])),
        |p, d| arith_vjp(p[0], p[1], d[0]),
    );
    check(
        "methods_a",
        2,
        box2(),
        |p| methods_a(p[0], p[1]),
        |p, v| methods_a_jvp(p[0], p[1], (v[0], v[1])),
        |p, d| methods_a_vjp(p[0], p[1], d[0]),
    );
    check(
        "methods_b",
        3,
        box2(),
        |p| methods_b(p[0], p[1]),
        |p, v| methods_b_jvp(p[0], p[1], (v[0], v[1])),
        |p, d| methods_b_vjp(p[0], p[1], d[0]),
    );
    check(
        "methods_c",
        4,
        box2(),
        |p| methods_c(p[0], p[1]),
        |p, v| methods_c_jvp(p[0], p[1], (v[0], v[1])),
        |p, d| methods_c_vjp(p[0], p[1], d[0]),
    );
    check(
        "mutation",
        5,
        box2(),
        |p| mutation(p[0], p[1]),
        |p, v| mutation_jvp(p[0], p[1], (v[0], v[1])),
        |p, d| mutation_vjp(p[0], p[1], d[0]),
    );
}

#[test]
fn sines_and_cosines_of_one_value() {
    check(
        "rotations",
        41,
        cube(2, -2.0, 2.0),
        |p| rotations(p[0], p[1]),
        |p, v| rotations_jvp(p[0], p[1], (v[0], v[1])),
        |p, d| rotations_vjp(p[0], p[1], d[0]),
    );
}

#[test]
fn array_inputs_and_outputs() {
    check(
        "arrays",
        6,
        cube(3, -2.0, 2.0),
        |p| arrays(arr(p)),
        |p, v| arrays_jvp(arr(p), arr(v)),
        |p, d| arrays_vjp(arr(p), arr(d)),
    );
    let m = |q: &[f64]| [arr::<3>(q), arr::<3>(&q[3..])];
    check(
        "matvec",
        7,
        cube(9, -2.0, 2.0),
        |p| matvec(m(p), arr(&p[6..])),
        |p, v| matvec_jvp(m(p), arr(&p[6..]), (m(v), arr(&v[6..]))),
        |p, d| matvec_vjp(m(p), arr(&p[6..]), arr(d)),
    );
    let rows = |d: &[f64]| -> [[f64; 2]; 3] { core::array::from_fn(|i| arr(&d[2 * i..])) };
    check(
        "outer_product",
        8,
        cube(5, -2.0, 2.0),
        |p| outer_product(arr(p), arr(&p[3..])),
        |p, v| outer_product_jvp(arr(p), arr(&p[3..]), (arr(v), arr(&v[3..]))),
        |p, d| outer_product_vjp(arr(p), arr(&p[3..]), rows(d)),
    );
    // `wrt` a reference: the tangent is an owned array; `k` is data.
    check(
        "through_ref",
        9,
        cube(3, -2.0, 2.0),
        |p| through_ref(&arr(p), 0.75),
        |p, v| through_ref_jvp(&arr(p), 0.75, arr(v)),
        |p, d| through_ref_vjp(&arr(p), 0.75, d[0]),
    );
    // A tuple output with an integer part.
    let mut r = rng(10);
    for _ in 0..POINTS {
        let (p, v) = (arr::<3>(&point(&mut r, 3, -2.0, 2.0)), arr::<3>(&direction(&mut r, 3)));
        let ((value, k), (tangent, _)) = value_and_index_jvp(p, v);
        let (want, want_k) = value_and_index(p);
        assert_eq!((value.to_bits(), k), (want.to_bits(), want_k), "value_and_index at {p:?}");
        check_along("value_and_index", &p, &v, &|q| vec![value_and_index(arr(q)).0], &[tangent]);
        let (_, g) = value_and_index_vjp(p, (1.0, 0));
        assert_dual("value_and_index", &v, &[tangent], &[1.0], &g);
    }
}

/// SPEC: "non-float parts of the output's tangent are the values' zero or `Default`".
#[test]
fn integer_parts_of_an_output_have_tangent_zero() {
    let x = [0.5, 2.0, -1.0];
    assert_eq!(value_and_index(x).1, 1);
    let (_, (_, dk)) = value_and_index_jvp(x, [1.0, 1.0, 1.0]);
    assert_eq!(dk, 0, "the tangent of argmax's index");
    let (_, tangent) = line_step_jvp(Line::of(&[0.5, 0.2]), 0.3, (Line::of(&[1.0, 1.0]), 1.0));
    assert_eq!(tangent.fits, 0, "the tangent of a #[no_derivative] field");
}

#[test]
fn loops_with_storage_without_and_of_run_time_length() {
    check(
        "product",
        11,
        cube(5, -2.0, 2.0),
        |p| product(arr(p)),
        |p, v| product_jvp(arr(p), arr(v)),
        |p, d| product_vjp(arr(p), d[0]),
    );
    check(
        "logistic_map",
        12,
        cube(2, 0.2, 0.8),
        |p| logistic_map::<10>(2.0 + p[0], p[1]),
        |p, v| logistic_map_jvp::<10>(2.0 + p[0], p[1], (v[0], v[1])),
        |p, d| logistic_map_vjp::<10>(2.0 + p[0], p[1], d[0]),
    );
    check(
        "for_each",
        13,
        cube(5, -2.0, 2.0),
        |p| for_each(arr(p), p[4]),
        |p, v| for_each_jvp(arr(p), p[4], (arr(v), v[4])),
        |p, d| for_each_vjp(arr(p), p[4], d[0]),
    );
    let xs = [0.5, -1.0, 2.0, 0.25];
    check(
        "for_each_data",
        14,
        cube(2, -2.0, 2.0),
        |p| for_each_data(p[0], p[1], &xs),
        |p, v| for_each_data_jvp(p[0], p[1], &xs, (v[0], v[1])),
        |p, d| for_each_data_vjp(p[0], p[1], &xs, d[0]),
    );
    let (sx, sy) = ([0.1, 0.7, -1.3, 2.0, 0.4], [0.3, 0.2, -1.0, 4.0, 0.0]);
    check(
        "slice_loss",
        15,
        cube(2, -2.0, 2.0),
        |p| slice_loss(p[0], p[1], &sx, &sy),
        |p, v| slice_loss_jvp(p[0], p[1], &sx, &sy, (v[0], v[1])),
        |p, d| slice_loss_vjp(p[0], p[1], &sx, &sy, d[0]),
    );
    check(
        "branch_in_loop",
        16,
        cube(7, -2.0, 2.0),
        |p| branch_in_loop(arr(p), p[6]),
        |p, v| branch_in_loop_jvp(arr(p), p[6], (arr(v), v[6])),
        |p, d| branch_in_loop_vjp(arr(p), p[6], d[0]),
    );
    check(
        "counter_in_loop",
        17,
        cube(4, -2.0, 2.0),
        |p| counter_in_loop(arr(p)),
        |p, v| counter_in_loop_jvp(arr(p), arr(v)),
        |p, d| counter_in_loop_vjp(arr(p), d[0]),
    );
}

#[test]
fn branches_and_early_returns() {
    check(
        "branches",
        18,
        cube(2, -2.0, 2.0),
        |p| branches(p[0], p[1]),
        |p, v| branches_jvp(p[0], p[1], (v[0], v[1])),
        |p, d| branches_vjp(p[0], p[1], d[0]),
    );
    check(
        "early_return",
        19,
        cube(1, -3.0, 3.0),
        |p| early_return(p[0]),
        |p, v| early_return_jvp(p[0], v[0]),
        |p, d| early_return_vjp(p[0], d[0]),
    );
    check(
        "first_above",
        20,
        cube(7, -1.5, 1.5),
        |p| first_above(arr(p), 3.0 + p[6]),
        |p, v| first_above_jvp(arr(p), 3.0 + p[6], (arr(v), v[6])),
        |p, d| first_above_vjp(arr(p), 3.0 + p[6], d[0]),
    );
    let m = |q: &[f64]| [arr::<3>(q), arr::<3>(&q[3..]), arr::<3>(&q[6..])];
    check(
        "nested_return",
        21,
        cube(9, 0.5, 2.5),
        |p| nested_return(m(p)),
        |p, v| nested_return_jvp(m(p), m(v)),
        |p, d| nested_return_vjp(m(p), d[0]),
    );
}

#[test]
fn generic_functions_at_f64() {
    check(
        "mse::<f64, 4>",
        22,
        cube(5, -2.0, 2.0),
        |p| mse::<f64, 4>(arr(p), p[4]),
        |p, v| mse_jvp::<f64, 4>(arr(p), p[4], (arr(v), v[4])),
        |p, d| mse_vjp::<f64, 4>(arr(p), p[4], d[0]),
    );
    check(
        "odd_signature",
        23,
        cube(2, -2.0, 2.0),
        |p| odd_signature(p[0], p[1]),
        |p, v| odd_signature_jvp(p[0], p[1], (v[0], v[1])),
        |p, d| odd_signature_vjp(p[0], p[1], d[0]),
    );
}

/// At f32 the value is still the original's bit for bit, and the tangent and the duality hold
/// to f32's precision (relax's public checker, with its f32 step and tolerance).
#[test]
fn generic_functions_at_f32() {
    let mut r = rng(24);
    for _ in 0..POINTS {
        let p = point(&mut r, 5, -2.0, 2.0).iter().map(|&x| x as f32).collect::<Vec<_>>();
        let at = (core::array::from_fn(|i| p[i]), p[4]);
        let f = |(x, w): ([f32; 4], f32)| mse::<f32, 4>(x, w);
        relax::check::check_jvp(f, |(x, w), (dx, dw)| mse_jvp::<f32, 4>(x, w, (dx, dw)), at).assert_ok();
        relax::check::check_vjp(f, |(x, w), d| mse_vjp::<f32, 4>(x, w, d), at).assert_ok();
        let g = |(x, d): (f32, f32)| odd_signature(x, d);
        relax::check::check_jvp(g, |(x, d), (dx, dd)| odd_signature_jvp(x, d, (dx, dd)), (p[0], p[1])).assert_ok();
    }
}

#[test]
fn composition() {
    for n in [0, 3, 7] {
        check(
            "mixed_shapes",
            25 + n as u64,
            cube(3, -2.0, 2.0),
            |p| mixed_shapes(arr(p), n),
            |p, v| mixed_shapes_jvp(arr(p), n, arr(v)),
            |p, d| mixed_shapes_vjp(arr(p), n, d[0]),
        );
    }
    check(
        "composed_shapes",
        33,
        cube(3, 0.2, 2.0),
        |p| composed_shapes(arr(p)),
        |p, v| composed_shapes_jvp(arr(p), arr(v)),
        |p, d| composed_shapes_vjp(arr(p), d[0]),
    );
    check(
        "polar_pair",
        34,
        cube(1, -3.0, 3.0),
        |p| polar_pair(p[0]),
        |p, v| polar_pair_jvp(p[0], v[0]),
        |p, d| polar_pair_vjp(p[0], (d[0], d[1])),
    );
    check(
        "tuple_let",
        35,
        cube(1, -3.0, 3.0),
        |p| tuple_let(p[0]),
        |p, v| tuple_let_jvp(p[0], v[0]),
        |p, d| tuple_let_vjp(p[0], d[0]),
    );
    let xs = [[0.5, -1.0, 0.2], [1.0, 0.3, -0.7], [-0.2, 0.8, 1.5], [0.0, -0.4, 0.9]];
    let ys = [0.3, -0.2, 0.9, 0.1];
    check(
        "call_in_loop",
        36,
        cube(3, -1.5, 1.5),
        |p| call_in_loop(arr(p), &xs, &ys),
        |p, v| call_in_loop_jvp(arr(p), &xs, &ys, arr(v)),
        |p, d| call_in_loop_vjp(arr(p), &xs, &ys, d[0]),
    );
}

/// A function of `(mu, sigma)` that samples, at `POINTS` points, each with its own noise: from
/// equally seeded RNGs `_jvp` gives the original's value and leaves the RNG where the original
/// leaves it; with the same noise, its tangent matches finite differences and `_vjp`.
#[track_caller]
fn check_sampled(
    name: &str,
    seed: u64,
    f: impl Fn(f64, f64, &mut StdRng) -> f64,
    jvp: impl Fn(f64, f64, &mut StdRng, (f64, f64)) -> (f64, f64),
    vjp: impl Fn(f64, f64, &mut StdRng, f64) -> (f64, (f64, f64)),
) {
    let mut r = rng(seed);
    let (mut checked, mut replaced) = (0, 0);
    for noise in 0.. {
        if checked == POINTS {
            break;
        }
        let p = [uniform(&mut r, -1.5, 1.5), uniform(&mut r, 0.2, 1.5)];
        let (v, dout) = (direction(&mut r, 2), uniform(&mut r, -2.0, 2.0));
        let (mut a, mut b) = (StdRng::seed_from_u64(noise), StdRng::seed_from_u64(noise));
        f(p[0], p[1], &mut a);
        let forward = jvp(p[0], p[1], &mut b, (v[0], v[1]));
        assert_eq!(a.next_u64(), b.next_u64(), "{name}: the RNG's state after _jvp");
        let same_noise = |q: &[f64]| vec![f(q[0], q[1], &mut StdRng::seed_from_u64(noise))];
        let (value, tangent) = forward;
        let (vjp_value, g) = vjp(p[0], p[1], &mut StdRng::seed_from_u64(noise), dout);
        assert_same_bits(&format!("{name} at {p:?}: _vjp value"), &[vjp_value], &[value]);
        assert_dual(&format!("{name} at {p:?}"), &v, &[tangent], &[dout], &g.flat());
        if check_tangent(name, &p, &v, &same_noise, &[value], &[tangent]) {
            checked += 1;
        } else {
            replaced += 1;
            assert!(replaced <= POINTS / 5, "{name}: finite differences jump at too many points");
        }
    }
}

#[test]
fn sampling_draws_the_original_noise() {
    check_sampled("noisy_apit", 37, noisy_apit, noisy_apit_jvp, noisy_apit_vjp);
    check_sampled("sample_in_loop", 38, sample_in_loop, sample_in_loop_jvp, sample_in_loop_vjp);
    check_sampled(
        "sampled_calls_in_loop",
        39,
        sampled_calls_in_loop,
        sampled_calls_in_loop_jvp,
        sampled_calls_in_loop_vjp,
    );
}

#[test]
fn every_rule_inside_a_differentiable_function() {
    check(
        "scalar_rules",
        40,
        |r| vec![uniform(r, -2.0, 2.0), uniform(r, 0.2, 2.0)],
        |p| scalar_rules(p[0], p[1]),
        |p, v| scalar_rules_jvp(p[0], p[1], (v[0], v[1])),
        |p, d| scalar_rules_vjp(p[0], p[1], d[0]),
    );
    check(
        "softmax_rules",
        41,
        logits_and_temperature,
        |p| softmax_rules(arr(p), p[4]),
        |p, v| softmax_rules_jvp(arr(p), p[4], (arr(v), v[4])),
        |p, d| softmax_rules_vjp(arr(p), p[4], d[0]),
    );
    check(
        "residual_boundaries",
        42,
        logits_and_temperature,
        |p| residual_boundaries(arr(p), p[4]),
        |p, v| residual_boundaries_jvp(arr(p), p[4], (arr(v), v[4])),
        |p, d| residual_boundaries_vjp(arr(p), p[4], d[0]),
    );
    check(
        "temperatures_from_data",
        43,
        cube(3, -2.0, 2.0),
        |p| temperatures_from_data(arr(p), vec![0.5, 2.0]),
        |p, v| temperatures_from_data_jvp(arr(p), vec![0.5, 2.0], arr(v)),
        |p, d| temperatures_from_data_vjp(arr(p), vec![0.5, 2.0], d[0]),
    );
    check(
        "gumbel_rules",
        44,
        |r| {
            let mut p = point(r, 8, -2.0, 2.0);
            p.push(uniform(r, 0.3, 2.0));
            p
        },
        |p| gumbel_rules(arr(p), arr(&p[4..]), p[8]),
        |p, v| gumbel_rules_jvp(arr(p), arr(&p[4..]), p[8], (arr(v), arr(&v[4..]), v[8])),
        |p, d| gumbel_rules_vjp(arr(p), arr(&p[4..]), p[8], d[0]),
    );
}

/// Straight-through and score-function rules: their derivative is a surrogate's, not the
/// value's (which finite differences would see), so the tangent is checked by duality with the
/// pullback (itself checked against the surrogates in tests/constructs.rs), and the value bits.
#[test]
fn surrogate_rules_agree_with_their_pullbacks() {
    let mut r = rng(45);
    for _ in 0..POINTS {
        let (p, v) = (point(&mut r, 9, -2.0, 2.0), direction(&mut r, 9));
        let (x, t, dout) = (arr::<4>(&p), uniform(&mut r, 0.3, 2.0), uniform(&mut r, -2.0, 2.0));
        let (value, tangent) = straight_through_rules_jvp(x, t, (arr(&v), v[4]));
        let (vjp_value, g) = straight_through_rules_vjp(x, t, dout);
        assert_same_bits("straight_through_rules", &[value, vjp_value], &[straight_through_rules(x, t); 2]);
        assert_dual("straight_through_rules", &v[..5], &[tangent], &[dout], &g.flat());

        let (l, g4) = (arr::<4>(&p), arr::<4>(&p[4..]));
        let (value, tangent) = st_gumbel_rules_jvp(l, g4, t, (arr(&v), arr(&v[4..]), v[8]));
        let (vjp_value, g) = st_gumbel_rules_vjp(l, g4, t, dout);
        assert_same_bits("st_gumbel_rules", &[value, vjp_value], &[st_gumbel_rules(l, g4, t); 2]);
        assert_dual("st_gumbel_rules", &v, &[tangent], &[dout], &g.flat());

        let (value, tangent) = score_jvp(p[0], p[1], p[2], p[3], (v[0], v[1], v[2], v[3]));
        let (vjp_value, g) = score_vjp(p[0], p[1], p[2], p[3], dout);
        assert_same_bits("score", &[value, vjp_value], &[score(p[0], p[1], p[2], p[3]); 2]);
        assert_dual("score", &v[..4], &[tangent], &[dout], &g.flat());

        // The rules that sample: the RNG's state after `_jvp`, and duality with the same noise.
        let seed = r.next_u64();
        let (mut a, mut b) = (StdRng::seed_from_u64(seed), StdRng::seed_from_u64(seed));
        let want = sampled_rules(x, t, p[5], &mut a);
        let (value, tangent) = sampled_rules_jvp(x, t, p[5], &mut b, (arr(&v), v[4], v[5]));
        assert_eq!(a.next_u64(), b.next_u64(), "sampled_rules: the RNG's state after _jvp");
        let (vjp_value, g) = sampled_rules_vjp(x, t, p[5], &mut StdRng::seed_from_u64(seed), dout);
        assert_same_bits("sampled_rules", &[value, vjp_value], &[want; 2]);
        assert_dual("sampled_rules", &v[..6], &[tangent], &[dout], &g.flat());
    }
}

// -- version 0.2's control flow: while, loop, break, continue, labels, returns, match -------------

/// A loop of run-time length that reads and writes its state: reverse mode stores each
/// iteration, at most `max_iter` of them; forward mode stores nothing and takes any trip count.
#[differentiable(max_iter = 4)]
fn rollout(x: f64, a: f64, n: usize) -> f64 {
    let mut s = x;
    for _ in 0..n {
        s = a * s.sin() + 0.5 * s;
    }
    s
}

/// `return` inside a `while` over a slice, and a `loop` whose data `break` comes first.
#[differentiable(max_iter = 16)]
fn return_in_while(w: f64, xs: &[f64]) -> f64 {
    let mut p = w;
    let mut i = 0;
    while i < xs.len() {
        p = p * xs[i] + w;
        if p > 2.0 {
            return p * p;
        }
        i += 1;
    }
    let mut k = 0;
    loop {
        if k == 2 {
            break;
        }
        p = p.sin() + w;
        k += 1;
    }
    p - w
}

/// `break` and `continue` on data in an accumulation over a slice: no storage in either mode.
#[differentiable(wrt(w))]
fn sum_until(w: f64, xs: &[f64], stop: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..xs.len() {
        if xs[i] > stop {
            break;
        }
        if xs[i] < 0.0 {
            continue;
        }
        s += (w * xs[i]).sin();
    }
    s
}

#[derive(Clone, Copy, Debug)]
enum Step {
    Scale(f64),
    Shift(f64),
    Sine,
    Stop,
}

/// A `match` statement with enum bindings, a guard and a `break`, in a loop that stores; a
/// `match` expression with or-patterns and a passive arm.
#[differentiable]
fn run_program(x: [f64; 2], program: &[Step; 5], k: usize) -> f64 {
    let mut s = x[0];
    for i in 0..5 {
        match program[i] {
            Step::Scale(c) => s = s * c,
            Step::Shift(d) if d > 0.0 => s += d * s.sin(),
            Step::Shift(d) => s -= d * x[1],
            Step::Sine => s = s.sin() + x[1],
            Step::Stop => break,
        }
    }
    let y = match k {
        0 | 1 => s * x[1],
        2 => 1.5,
        n => s + n as f64 * x[0],
    };
    y * s
}

/// Inner sums, into a scalar (`+=`, `-=`) and into an array's element, which forward mode runs two
/// iterations per pass, the second's tangent in a second accumulator: over `n` terms, none, an
/// odd number (a last iteration alone) and an even one.
#[differentiable]
fn inner_sums(w: [f64; 3], xs: &[f64; 7], n: usize) -> f64 {
    let mut out = 0.0;
    let mut acc = [0.0; 3];
    for j in 0..3 {
        let mut h = 0.5;
        for i in 0..n {
            h += w[j] * xs[i] * xs[i];
        }
        for i in 0..n {
            h -= (w[j] * xs[i]).sin();
        }
        for i in 0..n {
            acc[j] += w[(i + j) % 3] * h;
        }
        out += h.tanh() * acc[j];
    }
    out
}

#[test]
fn loops_of_any_trip_count_in_forward_mode() {
    let xs = [0.4, -1.1, 0.7, 1.3, -0.2, 0.9, -0.6];
    for n in [0, 1, 2, 5, 7] {
        check(
            "inner_sums",
            70 + n as u64,
            cube(3, -1.5, 1.5),
            |p| inner_sums(arr(p), &xs, n),
            |p, v| inner_sums_jvp(arr(p), &xs, n, arr(v)),
            |p, d| inner_sums_vjp(arr(p), &xs, n, d[0]),
        );
    }
    let sample = |r: &mut StdRng| vec![uniform(r, -1.5, 1.5), uniform(r, 0.6, 1.4)];
    for n in [0, 1, 3, 4] {
        check(
            "rollout",
            50 + n as u64,
            sample,
            |p| rollout(p[0], p[1], n),
            |p, v| rollout_jvp(p[0], p[1], n, (v[0], v[1])),
            |p, d| rollout_vjp(p[0], p[1], n, d[0]),
        );
    }
    // Past `max_iter` (where `_vjp` panics) `_jvp` goes on: at 1000 steps the state is at the
    // map's fixed point, whose derivative in `a` is not zero.
    for n in [40, 1000] {
        check_forward(
            "rollout",
            54 + n as u64,
            sample,
            |p| rollout(p[0], p[1], n),
            |p, v| rollout_jvp(p[0], p[1], n, (v[0], v[1])),
        );
    }
    check(
        "heron_sqrt",
        56,
        cube(1, 0.1, 9.0),
        |p| heron_sqrt(p[0]),
        |p, v| heron_sqrt_jvp(p[0], v[0]),
        |p, d| heron_sqrt_vjp(p[0], d[0]),
    );
    check(
        "escape",
        57,
        cube(1, 0.0, 1.5),
        |p| escape(p[0], 20.0),
        |p, v| escape_jvp(p[0], 20.0, v[0]),
        |p, d| escape_vjp(p[0], 20.0, d[0]),
    );
    check(
        "skip_negative",
        58,
        cube(7, -1.0, 1.5),
        |p| skip_negative(arr(p), p[6]),
        |p, v| skip_negative_jvp(arr(p), p[6], (arr(v), v[6])),
        |p, d| skip_negative_vjp(arr(p), p[6], d[0]),
    );
    check(
        "labelled_exits",
        59,
        cube(4, -1.5, 1.5),
        |p| labelled_exits(arr(p), 1.2),
        |p, v| labelled_exits_jvp(arr(p), 1.2, arr(v)),
        |p, d| labelled_exits_vjp(arr(p), 1.2, d[0]),
    );
    let mut r = rng(60);
    for n in [0, 3, 9, 16] {
        let xs = point(&mut r, n, -1.0, 1.5);
        check(
            "return_in_while",
            61 + n as u64,
            cube(1, -1.5, 1.5),
            |p| return_in_while(p[0], &xs),
            |p, v| return_in_while_jvp(p[0], &xs, v[0]),
            |p, d| return_in_while_vjp(p[0], &xs, d[0]),
        );
    }
    let xs = point(&mut r, 300, -1.0, 1.0);
    check(
        "sum_until",
        62,
        cube(1, -2.0, 2.0),
        |p| sum_until(p[0], &xs, 0.9),
        |p, v| sum_until_jvp(p[0], &xs, 0.9, v[0]),
        |p, d| sum_until_vjp(p[0], &xs, 0.9, d[0]),
    );
}

#[test]
fn matches_on_data() {
    let mut r = rng(63);
    for case in 0..20 {
        let program: [Step; 5] = core::array::from_fn(|_| match uniform(&mut r, 0.0, 4.0) as usize {
            0 => Step::Scale(uniform(&mut r, -1.5, 1.5)),
            1 => Step::Shift(uniform(&mut r, -1.0, 1.0)),
            2 => Step::Sine,
            _ => Step::Stop,
        });
        let k = case % 5;
        check(
            "run_program",
            64 + case as u64,
            cube(2, -1.5, 1.5),
            |p| run_program(arr(p), &program, k),
            |p, v| run_program_jvp(arr(p), &program, k, arr(v)),
            |p, d| run_program_vjp(arr(p), &program, k, d[0]),
        );
    }
}

// -- methods, generic impls, sampling in `while`, parameter structs, declared derivatives --------

#[test]
fn methods_read_data_compose_and_change_it_once() {
    let mut r = rng(70);
    for case in 0..10 {
        let spring = |r: &mut StdRng| Spring { stiffness: uniform(r, 0.2, 2.0), rest: uniform(r, -1.0, 1.0) };
        let all: [Spring; 4] = core::array::from_fn(|_| spring(&mut r));
        let one = spring(&mut r);
        let seed = 71 + 10 * case;
        check(
            "Spring::energy",
            seed,
            cube(1, -2.0, 2.0),
            |p| one.energy(p[0]),
            |p, v| one.energy_jvp(p[0], v[0]),
            |p, d| one.energy_vjp(p[0], d[0]),
        );
        check(
            "Spring::coupling",
            seed + 1,
            cube(2, -2.0, 2.0),
            |p| Spring::coupling(p[0], p[1]),
            |p, v| Spring::coupling_jvp(p[0], p[1], (v[0], v[1])),
            |p, d| Spring::coupling_vjp(p[0], p[1], d[0]),
        );
        check(
            "Spring::force",
            seed + 2,
            cube(1, -2.0, 2.0),
            |p| one.force(p[0]),
            |p, v| one.force_jvp(p[0], v[0]),
            |p, d| one.force_vjp(p[0], d[0]),
        );
        check(
            "Spring::chain",
            seed + 3,
            cube(4, -2.0, 2.0),
            |p| one.chain(arr(p)),
            |p, v| one.chain_jvp(arr(p), arr(v)),
            |p, d| one.chain_vjp(arr(p), d[0]),
        );
        check(
            "springs",
            seed + 4,
            cube(4, -2.0, 2.0),
            |p| springs(arr(p), &all, &one),
            |p, v| springs_jvp(arr(p), &all, &one, arr(v)),
            |p, d| springs_vjp(arr(p), &all, &one, d[0]),
        );
    }
    let dt = 0.1;
    let run = |n: usize| move |p: &[f64]| Integrator { dt, steps: 0 }.run(p[0], p[1], n);
    let run_jvp = |n: usize| {
        move |p: &[f64], v: &[f64]| {
            let mut sim = Integrator { dt, steps: 0 };
            let out = sim.run_jvp(p[0], p[1], n, (v[0], v[1]));
            // Each step counted once, and once by `kick`: as the original counts.
            assert_eq!(sim.steps, n + 1, "steps after run_jvp with n = {n}");
            out
        }
    };
    for n in [0, 5, 32] {
        check("Integrator::run", 180 + n as u64, cube(2, -1.5, 1.5), run(n), run_jvp(n), |p, d| {
            Integrator { dt, steps: 0 }.run_vjp(p[0], p[1], n, d[0])
        });
    }
    // Past `max_iter`, where only forward mode goes.
    check_forward("Integrator::run", 179, cube(2, -1.5, 1.5), run(200), run_jvp(200));
}

#[test]
fn generic_impls_at_f64_and_f32() {
    let p64 = Pendulum { length: 1.3, gravity: 9.81 };
    check(
        "Pendulum::<f64>::swing",
        90,
        |r| vec![uniform(r, 0.1, 1.0), uniform(r, -1.0, 1.0)],
        |p| p64.swing(p[0], p[1]),
        |p, v| p64.swing_jvp(p[0], p[1], (v[0], v[1])),
        |p, d| p64.swing_vjp(p[0], p[1], d[0]),
    );
    let p32 = Pendulum { length: 1.3_f32, gravity: 9.81 };
    let mut r = rng(91);
    for _ in 0..POINTS {
        let at = (uniform(&mut r, 0.1, 1.0) as f32, uniform(&mut r, -1.0, 1.0) as f32);
        let f = |(th, om): (f32, f32)| p32.energy(th, om);
        relax::check::check_jvp(f, |(th, om), d| p32.energy_jvp(th, om, d), at).assert_ok();
        relax::check::check_vjp(f, |(th, om), d| p32.energy_vjp(th, om, d), at).assert_ok();
        // `swing` breaks on an active condition: at f32 its value bits and the duality.
        let (value, tangent) = p32.swing_jvp(at.0, at.1, (1.0, -0.5));
        let (vjp_value, (g0, g1)) = p32.swing_vjp(at.0, at.1, 1.0);
        assert_eq!([value.to_bits(), vjp_value.to_bits()], [p32.swing(at.0, at.1).to_bits(); 2], "swing at {at:?}");
        assert!(
            (tangent - (g0 - 0.5 * g1)).abs() <= 1e-4 * (1.0 + tangent.abs()),
            "swing at {at:?}: {tangent} vs {g0}, {g1}"
        );
    }
}

/// A random walk until it leaves `(−2, 2)` or `n` steps: reverse mode stores its noise per
/// iteration (up to `max_iter`); forward mode draws it as it goes, for any `n`.
#[differentiable(max_iter = 40)]
fn random_walk<R: Rng>(mu: f64, sigma: f64, n: usize, rng: &mut R) -> f64 {
    let mut s = 0.0;
    let mut k = 0;
    while s.abs() < 2.0 && k < n {
        s = s * 0.9 + normal_rsample(mu, sigma, rng);
        k += 1;
    }
    s * mu
}

#[test]
fn sampling_in_while_loops() {
    check_sampled(
        "random_walk",
        92,
        |mu, sigma, rng| random_walk(mu, sigma, 40, rng),
        |mu, sigma, rng, t| random_walk_jvp(mu, sigma, 40, rng, t),
        |mu, sigma, rng, d| random_walk_vjp(mu, sigma, 40, rng, d),
    );
    // Past `max_iter`: small steps, so that the walk stays inside for many of the 500.
    let mut r = rng(93);
    for noise in 0..POINTS as u64 {
        let p = [uniform(&mut r, -0.01, 0.01), uniform(&mut r, 0.01, 0.1)];
        let v = direction(&mut r, 2);
        let (mut a, mut b) = (StdRng::seed_from_u64(noise), StdRng::seed_from_u64(noise));
        let want = random_walk(p[0], p[1], 500, &mut a);
        let (value, tangent) = random_walk_jvp(p[0], p[1], 500, &mut b, (v[0], v[1]));
        assert_eq!(a.next_u64(), b.next_u64(), "random_walk: the RNG's state after _jvp");
        assert_same_bits("random_walk value", &[value], &[want]);
        let same_noise = |q: &[f64]| vec![random_walk(q[0], q[1], 500, &mut StdRng::seed_from_u64(noise))];
        check_tangent("random_walk", &p, &v, &same_noise, &[value], &[tangent]);
    }
}

/// A line and a data field.
#[derive(Clone, Copy, Debug, Differentiable)]
struct Line {
    w: f64,
    b: f64,
    #[no_derivative]
    fits: usize,
}

impl Line {
    fn of(p: &[f64]) -> Line {
        Line { w: p[0], b: p[1], fits: 3 }
    }
}

/// A parameter struct in `wrt`: field reads in a loop.
#[differentiable(wrt(p))]
fn line_loss(p: Line, xs: &[f64; 4], ys: &[f64; 4]) -> f64 {
    let mut acc = 0.0;
    for i in 0..4 {
        acc += huber(p.w * xs[i] + p.b - ys[i], 0.5);
    }
    acc
}

/// Field writes, a struct literal and a struct output.
#[differentiable(wrt(p, x))]
fn line_step(p: Line, x: f64) -> Line {
    let mut q = p;
    q.w = q.w * x + p.b;
    q.b += (q.w * p.b).sin();
    Line { w: q.w.tanh(), b: q.b * x, fits: p.fits }
}

#[test]
fn parameter_structs() {
    let (xs, ys) = ([0.0, 1.0, 2.0, -1.5], [1.0, 2.0, 4.0, -3.0]);
    check(
        "line_loss",
        94,
        cube(2, -2.0, 2.0),
        |p| line_loss(Line::of(p), &xs, &ys),
        |p, v| line_loss_jvp(Line::of(p), &xs, &ys, Line::of(v)),
        |p, d| line_loss_vjp(Line::of(p), &xs, &ys, d[0]),
    );
    check(
        "line_step",
        95,
        cube(3, -1.5, 1.5),
        |p| line_step(Line::of(p), p[2]),
        |p, v| {
            let (value, tangent) = line_step_jvp(Line::of(p), p[2], (Line::of(v), v[2]));
            assert_eq!(value.fits, 3, "line_step's data field");
            (value, tangent)
        },
        |p, d| line_step_vjp(Line::of(p), p[2], Line::of(d)),
    );
}

// Declared derivatives: the bodies are any Rust (iterators, closures), never transformed.

/// Horner's scheme through an iterator.
#[differentiable(vjp = poly_pullback, jvp = poly_pushforward)]
fn poly(x: f64, c: &[f64; 4]) -> f64 {
    c.iter().rev().fold(0.0, |acc, &k| acc * x + k)
}

/// `poly`'s derivative in `x`.
fn poly_slope(x: f64, c: &[f64; 4]) -> f64 {
    c.iter().enumerate().skip(1).map(|(i, &k)| i as f64 * k * x.powi(i as i32 - 1)).sum()
}

fn poly_pullback(x: f64, c: &[f64; 4], dout: f64) -> (f64, f64) {
    (poly(x, c), dout * poly_slope(x, c))
}

fn poly_pushforward(x: f64, c: &[f64; 4], dx: f64) -> (f64, f64) {
    (poly(x, c), poly_slope(x, c) * dx)
}

/// `v / |v|`, with only a pullback declared: forward mode comes from it, one pullback call per
/// output coordinate.
#[differentiable(vjp = normalize_pullback)]
fn normalize(v: [f64; 2]) -> [f64; 2] {
    let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
    v.map(|a| a / norm)
}

/// `(I − u·uᵀ)·dout / |v|`.
fn normalize_pullback(v: [f64; 2], dout: [f64; 2]) -> ([f64; 2], [f64; 2]) {
    let u = normalize(v);
    let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
    let along = u[0] * dout[0] + u[1] * dout[1];
    (u, [(dout[0] - along * u[0]) / norm, (dout[1] - along * u[1]) / norm])
}

/// Composition through both.
#[differentiable]
fn uses_declared(x: f64, v: [f64; 2], c: &[f64; 4]) -> f64 {
    let u = normalize(v);
    poly(x * u[0], c) + u[1] * x
}

#[test]
fn declared_derivatives() {
    let c = [0.5, -1.0, 0.25, 0.3];
    check(
        "poly",
        96,
        cube(1, -2.0, 2.0),
        |p| poly(p[0], &c),
        |p, v| poly_jvp(p[0], &c, v[0]),
        |p, d| poly_vjp(p[0], &c, d[0]),
    );
    let away_from_0 = |r: &mut StdRng| vec![off_kink(r, 0.0, 2.0), off_kink(r, 0.0, 2.0)];
    check(
        "normalize",
        97,
        away_from_0,
        |p| normalize(arr(p)),
        |p, v| normalize_jvp(arr(p), arr(v)),
        |p, d| normalize_vjp(arr(p), arr(d)),
    );
    let sample = |r: &mut StdRng| vec![uniform(r, -2.0, 2.0), off_kink(r, 0.0, 2.0), off_kink(r, 0.0, 2.0)];
    check(
        "uses_declared",
        98,
        sample,
        |p| uses_declared(p[0], arr(&p[1..]), &c),
        |p, v| uses_declared_jvp(p[0], arr(&p[1..]), &c, (v[0], arr(&v[1..]))),
        |p, d| uses_declared_vjp(p[0], arr(&p[1..]), &c, d[0]),
    );
}

// -- second order: NAME_hvp -------------------------------------------------------------------------

/// Float methods and arithmetic.
#[differentiable(hvp)]
fn h_methods(x: f64, y: f64) -> f64 {
    let q = y * y + 1.0;
    x.exp() * y.sin() + q.ln() * x + q.sqrt() / (1.0 + x * x) + x.powi(3) * y + x.atan2(q) + x.tanh() * q.cbrt()
}

/// A loop that stores (a product), an accumulation, a branch inside.
#[differentiable(hvp)]
fn h_loops(x: [f64; 5], w: f64) -> f64 {
    let mut p = 1.0;
    let mut s = 0.0;
    for i in 0..5 {
        p = p * (1.0 + 0.3 * (x[i] * w).sin());
        if x[i] > 0.0 {
            s += x[i] * x[i] * w;
        } else {
            s += (x[i] * w).exp();
        }
    }
    p * s
}

/// Branches as statements and expressions, and early returns.
#[differentiable(hvp)]
fn h_branches(x: f64, y: f64) -> f64 {
    if x < -1.0 {
        return x * x * y;
    }
    let z = if x > y { x * y } else { x + y * y };
    if z > 1.0 {
        return z.sqrt() * x;
    }
    z * z * x
}

/// Rules with curvature: softplus, sigmoid, huber, smooth_l1, softmax, log_softmax, logsumexp,
/// soft_max, dot.
#[differentiable(hvp)]
fn h_rules(x: [f64; 4], t: f64) -> f64 {
    let p = softmax(x, t);
    softplus(x[0] * x[1])
        + huber(x[2] - x[3], 0.5)
        + logsumexp(x, t)
        + p[0] * x[1]
        + sigmoid(x[3]) * smooth_l1(x[0], 0.3)
        + soft_max(x, t)
        + log_softmax(x, t)[2] * dot(p, x)
}

/// The float methods `h_methods` leaves out, in the domains where they are smooth.
#[differentiable(hvp)]
fn h_more_methods(x: f64, y: f64) -> f64 {
    let s = 0.4 * x.tanh();
    let q = y * y + 0.5;
    x.hypot(y) + x.mul_add(y, 0.5) * y + q.powf(x) + x.sinh() * y.cosh() + s.asin() * s.acos() + y.atan() * x
        - (x * x + 1.0).log2()
        + q.log10() * x
        + (0.3 * x).exp2()
        + (0.2 * y).exp_m1() * x
        + q.ln_1p() * y
        + (0.3 * x).tan()
        + q.recip() * x
        + (x - y).abs() * x
        + x.min(y) * y.max(x)
        + (x * y).clamp(-0.5, 0.5) * x
}

/// The smooth rules `h_rules` leaves out: `relu`, `soft_argmax`, `sum`, `mean`,
/// `normal_reparam`, `gumbel_from_uniform`.
#[differentiable(hvp)]
fn h_more_rules(x: [f64; 4], t: f64) -> f64 {
    relu(x[0] * x[1]) * x[2]
        + soft_argmax(x, t) * sum(x) * mean(x)
        + normal_reparam(x[0], sigmoid(x[1]), 0.3) * x[2]
        + gumbel_from_uniform(sigmoid(x[3])) * x[0]
}

/// Rules whose gradient is not the derivative of the value: the straight-through family,
/// `stop_gradient`, the score function. Their `H·v` is that of the gradient field, which need
/// not be symmetric, with the stopped values held (`stop_gradient`'s derivative is zero in
/// forward mode too): [`h_estimators_stopped`]'s.
#[differentiable(hvp)]
fn h_estimators(x: [f64; 4], t: f64) -> f64 {
    let h = st_one_hot(x, t);
    let k = st_argmax(x, t);
    let r = straight_through(x[0].round(), x[0]);
    let log_prob = -0.5 * (x[1] - t) * (x[1] - t);
    let loss = stop_gradient((x[2] - 0.3) * (x[2] - 0.3));
    let s = stop_gradient(x);
    dot(h, x) * x[3] + k * x[1] * x[2] - r * x[2] * x[3]
        + stop_gradient(x[3] * x[3]) * x[3] * x[3]
        + x[1] / stop_gradient(x[2] * x[2] + 1.0)
        + dot(x, s) * s[0]
        + reinforce(loss, log_prob) * t
        + reinforce_baseline(loss, log_prob, x[3]) * x[0]
}

/// [`h_estimators`] with its stopped values given: `(loss, x₃², x₂² + 1)` and `s`.
#[differentiable(wrt(x, t))]
fn h_estimators_stopped(x: [f64; 4], t: f64, stopped: [f64; 3], s: [f64; 4]) -> f64 {
    let h = st_one_hot(x, t);
    let k = st_argmax(x, t);
    let r = straight_through(x[0].round(), x[0]);
    let log_prob = -0.5 * (x[1] - t) * (x[1] - t);
    let loss = stopped[0];
    dot(h, x) * x[3] + k * x[1] * x[2] - r * x[2] * x[3]
        + stopped[1] * x[3] * x[3]
        + x[1] / stopped[2]
        + dot(x, s) * s[0]
        + reinforce(loss, log_prob) * t
        + reinforce_baseline(loss, log_prob, x[3]) * x[0]
}

/// A running maximum kept out of the gradient, updated by a passive `if` and assignment: on the
/// sweeps on duals they run on values, so that `best` is a float there as in the function.
#[differentiable(hvp)]
fn h_running_max(x: [f64; 4], a: f64) -> f64 {
    let mut best = stop_gradient(x[0]);
    for i in 0..4 {
        if x[i] > best {
            best = stop_gradient(x[i]);
        }
    }
    a * best * best + x[1] * a
}

/// [`h_running_max`] with its maximum given.
#[differentiable(wrt(x, a))]
fn h_running_max_stopped(x: [f64; 4], a: f64, best: f64) -> f64 {
    a * best * best + x[1] * a
}

/// The Gumbel rules on given noise (data).
#[differentiable(hvp, wrt(logits, t))]
fn h_gumbel(logits: [f64; 4], g: [f64; 4], t: f64) -> f64 {
    let s = gumbel_softmax_with(logits, g, t);
    let h = st_gumbel_softmax_with(logits, g, t);
    let k = st_gumbel_argmax_with(logits, g, t);
    dot(s, [1.0, 2.0, 3.0, 4.0]) * logits[0] + dot(h, logits) * t + k * logits[1] * logits[2]
}

/// The Gumbel rules that draw their noise.
#[differentiable(hvp)]
fn h_sampled_rules<R: Rng>(logits: [f64; 4], t: f64, rng: &mut R) -> f64 {
    let a = gumbel_softmax(logits, t, rng);
    let b = st_gumbel_softmax(logits, t, rng);
    let c = st_gumbel_argmax(logits, t, rng);
    dot(a, [1.0, -1.0, 2.0, 0.5]) * t + dot(b, logits) * c * logits[3]
}

#[differentiable(hvp, jacobian)]
fn h_weighted(x: [f64; 2], y: f64) -> f64 {
    (x[0] * y).tanh() + x[1] * y * y
}

#[differentiable(hvp, jacobian)]
fn h_bump<T: Real>(z: T, c: T) -> T {
    z / (1.0 + c * z * z)
}

/// Constants and data passed where a callee differentiates the parameter (its form on duals
/// takes a dual there: `dual::IntoDual`), scalars and an array; and a `jacobian` function whose
/// sweeps on duals call a callee's form on duals (its pullback runs once there).
#[differentiable(hvp, jacobian, wrt(x, a))]
fn h_constant_args(x: [f64; 2], a: f64, c: f64) -> f64 {
    h_weighted([0.5, -0.3], a)
        + h_weighted(x, 0.7)
        + h_weighted(x, c)
        + h_bump(a, 0.25)
        + h_bump(0.4, a) * h_bump::<f64>(x[0], c)
}

/// The same in a generic function: its constants are `T`s.
#[differentiable(hvp)]
fn h_constant_args_generic<T: Real>(x: [T; 2], a: T) -> T {
    h_bump(a, 0.25) + h_bump(0.4, x[1]) * h_bump(x[0], a)
}

/// A plain function of floats.
fn h_plain<T: Real>(z: T) -> T {
    z * z + z.sin()
}

/// `stop_gradient` of differentiated values in code that only type-checks on floats: a plain
/// function called on them, an array literal with a constant, a generic `T` constant added, a
/// float receiver, a tuple pattern, a callee's parameter, a macro, a `match`'s scrutinee and
/// guard. On the sweeps on duals it runs on their values, so the stopped values have no tangent:
/// [`h_stopped_held`]'s Hessian.
#[differentiable(hvp)]
fn h_stopped<T: Real>(x: [T; 3], a: T) -> T {
    let m = stop_gradient(h_plain(x[0] * a));
    let s = [stop_gradient(x[1]), 0.5];
    let c = 2.0 + stop_gradient(x[2]);
    let k = c.tanh().max(stop_gradient(a));
    let (p, q) = (stop_gradient(x[0]), 0.3);
    let bucket = match T::to_i32(&stop_gradient(x[1] * a * 4.0)) {
        Some(k) if k > 0 => x[2] * a,
        _ => x[2] * x[2],
    };
    let guarded = match 1 {
        n if T::to_i32(&stop_gradient(x[0] * 4.0)).is_some_and(|k| k > n) => x[0] * a,
        _ => x[0],
    };
    debug_assert!(x[0] <= x[0].max(x[1]), "a macro's tokens read bindings whole");
    x[0] * x[1] * m
        + dot(x, [s[0], s[1], c]) * a
        + k * a * a
        + p * x[2] * x[2]
        + q * a
        + h_bump(x[1], stop_gradient(a))
        + bucket
        + guarded
}

/// A plain function of a reference to floats.
fn h_total(v: &[f64; 3]) -> f64 {
    v[0] + v[1] * v[2]
}

/// A differentiated reference that passive code reads whole (through a function of a
/// reference): on the sweeps on duals, its values behind a reference.
#[differentiable(hvp, wrt(x, a))]
fn h_stopped_ref(x: &[f64; 3], a: f64) -> f64 {
    let s = stop_gradient(h_total(x));
    a * a * s + x[0] * x[1] * a
}

/// [`h_stopped_ref`] with its stopped value given.
#[differentiable(wrt(x, a))]
fn h_stopped_ref_held(x: &[f64; 3], a: f64, s: f64) -> f64 {
    a * a * s + x[0] * x[1] * a
}

/// [`h_stopped`] with its stopped values given: `h_plain(x₀a)`, `x₁`, `x₂`, `a`, `x₀`, `x₁a`.
#[differentiable(wrt(x, a))]
fn h_stopped_held(x: [f64; 3], a: f64, held: [f64; 6]) -> f64 {
    let [m, s0, x2, a0, p, x1a] = held;
    let (s, c) = ([s0, 0.5], 2.0 + x2);
    let k = c.tanh().max(a0);
    let bucket = if (x1a * 4.0) as i32 > 0 { x[2] * a } else { x[2] * x[2] };
    let guarded = if (p * 4.0) as i32 > 1 { x[0] * a } else { x[0] };
    x[0] * x[1] * m
        + dot(x, [s[0], s[1], c]) * a
        + k * a * a
        + p * x[2] * x[2]
        + 0.3 * a
        + h_bump(x[1], a0)
        + bucket
        + guarded
}

/// Generic over `T: Real`: literals and casts rewritten for `T`.
#[differentiable(hvp)]
fn h_generic<T: Real>(x: [T; 3], w: T) -> T {
    let mut acc = 0.0;
    for i in 0..3 {
        let e = x[i] * w - 1.0;
        acc += e * e * e.tanh();
    }
    acc / (3 as T)
}

/// Composition of `hvp` functions.
#[differentiable(hvp)]
fn h_composed(x: [f64; 4], t: f64) -> f64 {
    h_rules(x, t) * h_methods(x[0], x[1]) + h_generic::<f64>([x[1], x[2], x[3]], t)
}

/// A `while` on an active condition (storage up to `max_iter`) and a `match` on data.
#[differentiable(hvp, max_iter = 64)]
fn h_while_match(a: f64, mode: u8) -> f64 {
    let mut y = a;
    let mut err = a;
    while err > 1e-9 * a {
        y = 0.5 * (y + a / y);
        err = (y * y - a).abs();
    }
    match mode {
        0 => y * y * y,
        1 => y.exp() * a,
        _ => y / (1.0 + a * a),
    }
}

/// An accumulation over a slice of run-time length.
#[differentiable(hvp)]
fn h_slice(w: f64, b: f64, xs: &[f64]) -> f64 {
    let mut total = 0.0;
    for i in 0..xs.len() {
        total += softplus(w * xs[i] + b) * (w - b).tanh();
    }
    total
}

/// A method with `hvp`, reading data fields.
impl Spring {
    #[differentiable(hvp)]
    fn potential(&self, x: f64, y: f64) -> f64 {
        let d = (x * x + y * y + 0.1).sqrt() - self.rest;
        0.5 * self.stiffness * d * d + x * y.sin()
    }

    /// A method with a parameter struct in `wrt`.
    #[differentiable(hvp, wrt(c))]
    fn coupled(&self, c: Coil<f64>) -> f64 {
        let d = c.rest[0] - c.rest[1] - self.rest;
        self.stiffness * c.k * d * d * d.sin()
    }
}

/// Sampling: the same noise as the original's.
#[differentiable(hvp)]
fn h_sampled<R: Rng>(mu: f64, sigma: f64, rng: &mut R) -> f64 {
    let y = normal_rsample(mu, sigma, rng);
    y * y * mu + softplus(y * sigma)
}

/// A tanh layer with biases: the loop's adjoint recomputes neither the inner products (the
/// pullback of `tanh` reads its value) nor the weights (a product with data reads the data).
#[differentiable(hvp, wrt(w, b))]
fn h_layer(w: [[f64; 3]; 2], b: [f64; 2], x: &[f64; 3]) -> f64 {
    let mut loss = 0.0;
    for j in 0..2 {
        let mut z = 0.0;
        for i in 0..3 {
            z += w[j][i] * x[i];
        }
        let e = (z + b[j]).tanh() - 0.5;
        loss += e * e;
    }
    loss
}

/// Standardised residuals cubed, summed over data: each iteration adds `mu`'s cotangent without
/// the factor `s[k]`, which multiplies `mu`'s gradient once, after the loop (on duals too).
#[differentiable(hvp, wrt(mu, s))]
fn h_standardised(mu: [f64; 3], s: [f64; 3], xs: &[f64; 5]) -> f64 {
    let mut total = 0.0;
    for n in 0..5 {
        for k in 0..3 {
            let z = (xs[n] - mu[k]) * s[k];
            total += z * z * z;
        }
    }
    total
}

/// A parameter struct generic over its float type, with a data field: on duals it is the same
/// struct over `Dual<T>` (its derived `Seed`).
#[derive(Clone, Copy, Debug, Differentiable)]
struct Coil<T: Real> {
    k: T,
    rest: [T; 2],
    #[no_derivative]
    stretches: usize,
}

/// A callee that differentiates its struct parameter.
#[differentiable(hvp, wrt(c, z))]
fn h_coil_energy<T: Real>(c: Coil<T>, z: T) -> T {
    c.k * (z - c.rest[0]) * (z - c.rest[1]) * z
}

/// Data and a constant struct passed where the callee differentiates the struct: on the sweeps
/// on duals lifted with zero tangents (the derived `IntoDual`).
#[differentiable(hvp, wrt(z))]
fn h_constant_struct(c: Coil<f64>, z: f64) -> f64 {
    h_coil_energy(c, z) + h_coil_energy(Coil { k: 0.5, rest: [0.1, -0.2], stretches: 0 }, z * z)
}

/// Structs nested in a struct, in an array.
#[derive(Clone, Copy, Debug, Differentiable)]
struct Rig<T: Real> {
    coils: [Coil<T>; 2],
    damping: T,
}

/// One coil's energy at displacement `x`: a callee taking a struct.
#[differentiable(hvp, wrt(c, x))]
fn coil_energy<T: Real>(c: Coil<T>, x: T, i: usize) -> T {
    let d = x - c.rest[i];
    c.k * d * d * (d * c.k).tanh()
}

/// A parameter struct in `wrt` beside an array, generic: field reads in a loop, and a struct
/// read from it passed to a differentiable callee.
#[differentiable(hvp, wrt(r, x))]
fn h_struct<T: Real>(r: Rig<T>, x: [T; 2]) -> T {
    let mut e = r.damping * x[0] * x[1];
    for i in 0..2 {
        e += coil_energy(r.coils[i], x[i], i);
    }
    e
}

/// Conditions reading differentiated values beside floats (an array of a dual and a literal, a
/// rule of a dual and a literal, a struct's fields), of `if`s with active and with passive arms
/// (`continue`, `break`) and of a `while`: on the sweeps on duals they run on the values
/// (`dual::Primal`), as they do in the function.
#[differentiable(hvp, max_iter = 16, wrt(c, w, a))]
fn h_conditions(c: Coil<f64>, w: [f64; 2], a: f64) -> f64 {
    let mut s = a * w[0] + c.k * c.rest[1];
    if dot([w[0], 0.5], [w[1], a]) > 0.1 {
        s += w[1] * w[1];
    } else {
        s -= a * a * c.k;
    }
    if dot([c.k, 0.5], [c.rest[0], 1.0]) > 0.2 {
        s += c.rest[0] * w[0];
    }
    let mut k = 0;
    while smooth_l1(a, 0.5) + 0.1 * (k as f64) < 1.2 && k < 5 {
        s += (a * w[1]).sin();
        k += 1;
    }
    for i in 0..4 {
        if dot([w[i % 2], 0.5], [a, 1.0]) > 0.9 {
            continue;
        }
        if softmax([c.k, s, 0.3], 0.7)[1] > 0.95 {
            break;
        }
        s += w[i % 2] * a;
    }
    s
}

/// Struct literals with constant and data fields beside differentiated ones: on duals the
/// constants of differentiated fields are lifted, the data fields kept.
#[differentiable(hvp, wrt(w, a))]
fn h_struct_literals(w: [f64; 2], a: f64, n: usize) -> f64 {
    let c2 = Coil { k: a, rest: [w[0], 0.5], stretches: n };
    let c3 = Coil { k: 0.7, rest: [w[1], a], stretches: 1 };
    coil_energy(c2, a, 0) + coil_energy(c3, w[0], 1) * c2.k
}

/// An early `return` from inside a loop, of a branch's value with a constant arm: its return
/// slot on duals.
#[differentiable(hvp, max_iter = 8)]
fn h_early_return(x: [f64; 3], a: f64) -> f64 {
    let mut s = (x[2] * a).sin();
    for i in 0..3 {
        if x[i] > 1.2 {
            return (if x[1] > -0.5 { 0.8 } else { x[1] * a }).atan() + s;
        }
        s = s * 0.5 + x[i] * a;
    }
    s * x[0]
}

/// An array of parameter structs in `wrt` (seeded through the array's `SeedStruct`), passed on
/// element by element.
#[differentiable(hvp, wrt(coils, x))]
fn h_coils(coils: [Coil<f64>; 2], x: f64) -> f64 {
    coil_energy(coils[0], x, 0) + coil_energy(coils[1], x * coils[0].k, 1)
}

/// Callees with an array, a tuple and a struct output: with `hvp` they get the form on duals
/// that their callers run, and no `NAME_hvp` of their own (a Hessian is a scalar function's).
#[differentiable(hvp)]
fn turn(x: [f64; 2], a: f64) -> [f64; 2] {
    [x[0] * a.cos() - x[1] * a.sin(), x[0] * a.sin() + x[1] * a.cos()]
}

#[differentiable(hvp)]
fn polar(x: [f64; 2]) -> (f64, f64) {
    ((x[0] * x[0] + x[1] * x[1]).sqrt(), x[1].atan2(x[0]))
}

#[differentiable(hvp, wrt(c, s))]
fn stretch<T: Real>(c: Coil<T>, s: T) -> Coil<T> {
    let mut q = c;
    q.k = q.k * s.tanh();
    q
}

/// Composition through the three.
#[differentiable(hvp)]
fn h_vector_callees(x: [f64; 2], a: f64) -> f64 {
    let y = turn(x, a);
    let (r, phi) = polar(y);
    let c = stretch(Coil { k: r, rest: [y[0], phi], stretches: 0 }, a);
    c.k * c.rest[0] + phi.sin() * r
}

#[test]
fn hessian_vector_products() {
    check_hvp(
        "h_methods",
        100,
        cube(2, -1.5, 1.5),
        |p| h_methods(p[0], p[1]),
        |p| h_methods_grad(p[0], p[1]),
        |p, v| h_methods_hvp(p[0], p[1], (v[0], v[1])),
    );
    check_hvp(
        "h_more_methods",
        120,
        cube(2, -1.5, 1.5),
        |p| h_more_methods(p[0], p[1]),
        |p| h_more_methods_grad(p[0], p[1]),
        |p, v| h_more_methods_hvp(p[0], p[1], (v[0], v[1])),
    );
    check_hvp(
        "h_more_rules",
        121,
        logits_and_temperature,
        |p| h_more_rules(arr(p), p[4]),
        |p| h_more_rules_grad(arr(p), p[4]),
        |p, v| h_more_rules_hvp(arr(p), p[4], (arr(v), v[4])),
    );
    check_gradient_field(
        "h_estimators",
        124,
        false,
        logits_and_temperature,
        |p| h_estimators(arr(p), p[4]),
        |p, q| {
            let stopped = [(p[2] - 0.3) * (p[2] - 0.3), p[3] * p[3], p[2] * p[2] + 1.0];
            h_estimators_stopped_grad(arr(q), q[4], stopped, arr(p))
        },
        |p, v| h_estimators_hvp(arr(p), p[4], (arr(v), v[4])),
    );
    check_gradient_field(
        "h_running_max",
        130,
        false,
        logits_and_temperature,
        |p| h_running_max(arr(p), p[4]),
        |p, q| h_running_max_stopped_grad(arr(q), q[4], p[..4].iter().copied().fold(f64::MIN, f64::max)),
        |p, v| h_running_max_hvp(arr(p), p[4], (arr(v), v[4])),
    );
    let g = [0.4, -0.3, 1.1, 0.2];
    check_gradient_field(
        "h_gumbel",
        122,
        false,
        logits_and_temperature,
        |p| h_gumbel(arr(p), g, p[4]),
        |_, q| h_gumbel_grad(arr(q), g, q[4]),
        |p, v| h_gumbel_hvp(arr(p), g, p[4], (arr(v), v[4])),
    );
    let c = 0.8;
    check_hvp(
        "h_constant_args",
        125,
        cube(3, -1.5, 1.5),
        |p| h_constant_args([p[0], p[1]], p[2], c),
        |p| h_constant_args_grad([p[0], p[1]], p[2], c),
        |p, v| h_constant_args_hvp([p[0], p[1]], p[2], c, ([v[0], v[1]], v[2])),
    );
    check_hvp(
        "h_constant_args_generic::<f64>",
        126,
        cube(3, -1.5, 1.5),
        |p| h_constant_args_generic([p[0], p[1]], p[2]),
        |p| h_constant_args_generic_grad([p[0], p[1]], p[2]),
        |p, v| h_constant_args_generic_hvp([p[0], p[1]], p[2], ([v[0], v[1]], v[2])),
    );
    check_gradient_field(
        "h_stopped::<f64>",
        131,
        true,
        cube(4, -1.5, 1.5),
        |p| h_stopped([p[0], p[1], p[2]], p[3]),
        |p, q| {
            h_stopped_held_grad([q[0], q[1], q[2]], q[3], [h_plain(p[0] * p[3]), p[1], p[2], p[3], p[0], p[1] * p[3]])
        },
        |p, v| h_stopped_hvp([p[0], p[1], p[2]], p[3], ([v[0], v[1], v[2]], v[3])),
    );
    check_gradient_field(
        "h_stopped_ref",
        133,
        true,
        cube(4, -1.5, 1.5),
        |p| h_stopped_ref(&[p[0], p[1], p[2]], p[3]),
        |p, q| h_stopped_ref_held_grad(&[q[0], q[1], q[2]], q[3], h_total(&[p[0], p[1], p[2]])),
        |p, v| h_stopped_ref_hvp(&[p[0], p[1], p[2]], p[3], ([v[0], v[1], v[2]], v[3])),
    );
    let coil = Coil { k: 1.3, rest: [0.4, -0.7], stretches: 2 };
    check_hvp(
        "h_constant_struct",
        132,
        cube(1, -1.5, 1.5),
        |p| h_constant_struct(coil, p[0]),
        |p| h_constant_struct_grad(coil, p[0]),
        |p, v| h_constant_struct_hvp(coil, p[0], v[0]),
    );
    check_hvp(
        "h_loops",
        101,
        cube(6, -1.5, 1.5),
        |p| h_loops(arr(p), p[5]),
        |p| h_loops_grad(arr(p), p[5]),
        |p, v| h_loops_hvp(arr(p), p[5], (arr(v), v[5])),
    );
    check_hvp(
        "h_branches",
        102,
        cube(2, -2.0, 2.0),
        |p| h_branches(p[0], p[1]),
        |p| h_branches_grad(p[0], p[1]),
        |p, v| h_branches_hvp(p[0], p[1], (v[0], v[1])),
    );
    check_hvp(
        "h_rules",
        103,
        logits_and_temperature,
        |p| h_rules(arr(p), p[4]),
        |p| h_rules_grad(arr(p), p[4]),
        |p, v| h_rules_hvp(arr(p), p[4], (arr(v), v[4])),
    );
    check_hvp(
        "h_generic::<f64>",
        104,
        cube(4, -1.5, 1.5),
        |p| h_generic::<f64>(arr(p), p[3]),
        |p| h_generic_grad::<f64>(arr(p), p[3]),
        |p, v| h_generic_hvp::<f64>(arr(p), p[3], (arr(v), v[3])),
    );
    check_hvp(
        "h_composed",
        105,
        logits_and_temperature,
        |p| h_composed(arr(p), p[4]),
        |p| h_composed_grad(arr(p), p[4]),
        |p, v| h_composed_hvp(arr(p), p[4], (arr(v), v[4])),
    );
    for mode in 0..3 {
        check_hvp(
            "h_while_match",
            107 + mode as u64,
            cube(1, 0.1, 9.0),
            |p| h_while_match(p[0], mode),
            |p| h_while_match_grad(p[0], mode),
            |p, v| h_while_match_hvp(p[0], mode, v[0]),
        );
    }
    let xs = point(&mut rng(110), 50, -2.0, 2.0);
    check_hvp(
        "h_slice",
        111,
        cube(2, -1.5, 1.5),
        |p| h_slice(p[0], p[1], &xs),
        |p| h_slice_grad(p[0], p[1], &xs),
        |p, v| h_slice_hvp(p[0], p[1], &xs, (v[0], v[1])),
    );
    let x = [0.8, -1.1, 0.4];
    let layer = |p: &[f64]| ([arr(p), arr(&p[3..])], arr(&p[6..]));
    check_hvp(
        "h_layer",
        114,
        cube(8, -1.5, 1.5),
        |p| h_layer(layer(p).0, layer(p).1, &x),
        |p| h_layer_grad(layer(p).0, layer(p).1, &x),
        |p, v| h_layer_hvp(layer(p).0, layer(p).1, &x, layer(v)),
    );
    let xs = [0.3, -1.2, 0.9, 1.6, -0.4];
    check_hvp(
        "h_standardised",
        115,
        cube(6, -1.5, 1.5),
        |p| h_standardised(arr(p), arr(&p[3..]), &xs),
        |p| h_standardised_grad(arr(p), arr(&p[3..]), &xs),
        |p, v| h_standardised_hvp(arr(p), arr(&p[3..]), &xs, (arr(v), arr(&v[3..]))),
    );
    let coil = |p: &[f64]| Coil { k: p[0], rest: [p[1], p[2]], stretches: 2 };
    let rig = |p: &[f64]| (Rig { coils: [coil(p), coil(&p[3..])], damping: p[6] }, [p[7], p[8]]);
    check_hvp(
        "h_struct::<f64>",
        116,
        cube(9, -1.5, 1.5),
        |p| h_struct(rig(p).0, rig(p).1),
        |p| h_struct_grad(rig(p).0, rig(p).1),
        |p, v| h_struct_hvp(rig(p).0, rig(p).1, rig(v)),
    );
    check_hvp(
        "h_coils",
        119,
        cube(7, -1.5, 1.5),
        |p| h_coils([coil(p), coil(&p[3..])], p[6]),
        |p| h_coils_grad([coil(p), coil(&p[3..])], p[6]),
        |p, v| h_coils_hvp([coil(p), coil(&p[3..])], p[6], ([coil(v), coil(&v[3..])], v[6])),
    );
    check_hvp(
        "h_conditions",
        127,
        cube(6, -1.5, 1.5),
        |p| h_conditions(coil(p), [p[3], p[4]], p[5]),
        |p| h_conditions_grad(coil(p), [p[3], p[4]], p[5]),
        |p, v| h_conditions_hvp(coil(p), [p[3], p[4]], p[5], (coil(v), [v[3], v[4]], v[5])),
    );
    check_hvp(
        "h_struct_literals",
        128,
        cube(3, -1.5, 1.5),
        |p| h_struct_literals([p[0], p[1]], p[2], 2),
        |p| h_struct_literals_grad([p[0], p[1]], p[2], 2),
        |p, v| h_struct_literals_hvp([p[0], p[1]], p[2], 2, ([v[0], v[1]], v[2])),
    );
    check_hvp(
        "h_early_return",
        129,
        cube(4, -1.5, 1.5),
        |p| h_early_return(arr(p), p[3]),
        |p| h_early_return_grad(arr(p), p[3]),
        |p, v| h_early_return_hvp(arr(p), p[3], (arr(v), v[3])),
    );
    check_hvp(
        "h_vector_callees",
        118,
        cube(3, -1.5, 1.5),
        |p| h_vector_callees([p[0], p[1]], p[2]),
        |p| h_vector_callees_grad([p[0], p[1]], p[2]),
        |p, v| h_vector_callees_hvp([p[0], p[1]], p[2], ([v[0], v[1]], v[2])),
    );
    let spring = Spring { stiffness: 1.5, rest: 0.7 };
    check_hvp(
        "Spring::coupled",
        117,
        cube(3, -1.5, 1.5),
        |p| spring.coupled(coil(p)),
        |p| spring.coupled_grad(coil(p)),
        |p, v| spring.coupled_hvp(coil(p), coil(v)),
    );
    check_hvp(
        "Spring::potential",
        112,
        cube(2, -1.5, 1.5),
        |p| spring.potential(p[0], p[1]),
        |p| spring.potential_grad(p[0], p[1]),
        |p, v| spring.potential_hvp(p[0], p[1], (v[0], v[1])),
    );
}

/// With the same noise: the original's value, `_grad`'s gradient, the RNG left where the
/// original leaves it, and `H·v` against finite differences of `_grad`.
#[test]
fn hessian_vector_products_that_sample() {
    let mut r = rng(113);
    for noise in 0..POINTS as u64 {
        let (p, v) = ([uniform(&mut r, -1.5, 1.5), uniform(&mut r, 0.2, 1.5)], direction(&mut r, 2));
        let (mut a, mut b) = (StdRng::seed_from_u64(noise), StdRng::seed_from_u64(noise));
        let want = h_sampled(p[0], p[1], &mut a);
        let (value, g, hv) = h_sampled_hvp(p[0], p[1], &mut b, (v[0], v[1]));
        assert_eq!(a.next_u64(), b.next_u64(), "h_sampled: the RNG's state after _hvp");
        assert_same_bits("h_sampled value", &[value], &[want]);
        let gradient = |q: &[f64]| h_sampled_grad(q[0], q[1], &mut StdRng::seed_from_u64(noise)).1.flat();
        assert!(check_tangent("h_sampled: gradient and H·v", &p, &v, &gradient, &g.flat(), &hv.flat()));
    }
}

/// The Gumbel rules that draw: with the same noise, the original's value and the RNG left where
/// the original leaves it, and `H·v` against finite differences of `_grad`.
#[test]
fn hessian_vector_products_of_sampled_rules() {
    let mut r = rng(123);
    let mut checked = 0;
    for noise in 0..2 * POINTS as u64 {
        let (mut p, v) = (point(&mut r, 4, -1.5, 1.5), direction(&mut r, 5));
        p.push(uniform(&mut r, 0.3, 1.5));
        let (mut a, mut b) = (StdRng::seed_from_u64(noise), StdRng::seed_from_u64(noise));
        let want = h_sampled_rules(arr(&p), p[4], &mut a);
        let (value, g, hv) = h_sampled_rules_hvp(arr(&p), p[4], &mut b, (arr(&v), v[4]));
        assert_eq!(a.next_u64(), b.next_u64(), "h_sampled_rules: the RNG's state after _hvp");
        assert_same_bits("h_sampled_rules value", &[value], &[want]);
        let gradient = |q: &[f64]| h_sampled_rules_grad(arr(q), q[4], &mut StdRng::seed_from_u64(noise)).1.flat();
        // The hard sample (`st_gumbel_argmax`) may change within the finite differences' step.
        checked +=
            usize::from(check_tangent("h_sampled_rules: gradient and H·v", &p, &v, &gradient, &g.flat(), &hv.flat()));
    }
    assert!(checked >= POINTS, "h_sampled_rules: finite differences jump at too many points ({checked} checked)");
}

/// At f32: the value and the gradient bit for bit those of the original and of `_grad`, and
/// `H·v` that of f64 to f32's precision.
#[test]
fn hessian_vector_products_at_f32() {
    let mut r = rng(106);
    for _ in 0..POINTS {
        let (p, v) = (point(&mut r, 4, -1.5, 1.5), direction(&mut r, 4));
        let narrow = |q: &[f64]| -> ([f32; 3], f32) { (core::array::from_fn(|i| q[i] as f32), q[3] as f32) };
        let ((x, w), (dx, dw)) = (narrow(&p), narrow(&v));
        let (value, g, hv) = h_generic_hvp::<f32>(x, w, (dx, dw));
        assert_eq!(value.to_bits(), h_generic::<f32>(x, w).to_bits(), "h_generic::<f32> value at {p:?}");
        let want = h_generic_grad::<f32>(x, w).1;
        assert_eq!(
            g.flat().iter().map(|a| a.to_bits()).collect::<Vec<_>>(),
            want.flat().iter().map(|a| a.to_bits()).collect::<Vec<_>>()
        );
        let wide = |a: [f32; 3]| a.map(f64::from);
        let (.., hv64) = h_generic_hvp::<f64>(wide(x), w.into(), (wide(dx), dw.into()));
        assert_close("h_generic::<f32> H·v against f64", &hv.flat(), &hv64.flat(), 1e-3, 1e-3);
    }
}

/// `softplus(w₀ + 2w₁)` has the Hessian `σ'(z)·[1, 2]ᵀ[1, 2]`, and `σ'(0) = 1/4`.
#[differentiable(hvp)]
fn softplus_line(w: [f64; 2]) -> f64 {
    softplus(w[0] + 2.0 * w[1])
}

#[test]
fn hvp_through_softplus_at_zero() {
    let (_, _, hv) = softplus_line_hvp([0.0, 0.0], [1.0, 0.0]);
    assert_close("H·e₀ at 0", &hv, &[0.25, 0.5], 1e-15, 0.0);
}

/// Every rule with a pushforward along its first argument alone, with its later arguments
/// constant (literals, data): forward mode calls `NAME_jvp_first`.
#[differentiable(wrt(x))]
fn constant_temperatures(x: [f64; 4], g: &[f64; 4]) -> f64 {
    let p = softmax(x, 0.7);
    let l = log_softmax(x, 1.3);
    let y = gumbel_softmax_with(x, *g, 0.8);
    p[0] * l[1]
        + logsumexp(x, 0.4)
        + soft_argmax(x, 0.9) * soft_max(x, 1.1)
        + dot(y, x)
        + huber(x[2] - x[3], 0.5)
        + smooth_l1(x[0] * x[1], 0.3)
}

/// Every rule of the softmax family on the same logits at one constant temperature: one softmax
/// for all (a lean residual, shared by the rules that read no logits, a full one by the others),
/// each tangent from it.
#[differentiable(wrt(x))]
fn one_constant_temperature(x: [f64; 4]) -> f64 {
    let p = softmax(x, 0.7);
    let l = log_softmax(x, 0.7);
    p[0] * l[1] + logsumexp(x, 0.7) + soft_argmax(x, 0.7) * soft_max(x, 0.7) + softmax(x, 0.7)[3] * l[2]
}

/// The straight-through Gumbel-softmax with constant noise and temperature, and its soft twin,
/// whose derivative it takes.
#[differentiable(wrt(x))]
fn constant_temperature_straight_through(x: [f64; 4], g: &[f64; 4]) -> f64 {
    dot(st_gumbel_softmax_with(x, *g, 0.6), [1.0, -2.0, 0.5, 3.0])
}

#[differentiable(wrt(x))]
fn constant_temperature_soft_twin(x: [f64; 4], g: &[f64; 4]) -> f64 {
    dot(gumbel_softmax_with(x, *g, 0.6), [1.0, -2.0, 0.5, 3.0])
}

#[test]
fn rules_with_constant_temperatures_and_thresholds() {
    let g = [0.3, -0.2, 1.1, 0.05];
    check(
        "constant_temperatures",
        46,
        cube(4, -2.0, 2.0),
        |p| constant_temperatures(arr(p), &g),
        |p, v| constant_temperatures_jvp(arr(p), &g, arr(v)),
        |p, d| constant_temperatures_vjp(arr(p), &g, d[0]),
    );
    check(
        "one_constant_temperature",
        49,
        cube(4, -2.0, 2.0),
        |p| one_constant_temperature(arr(p)),
        |p, v| one_constant_temperature_jvp(arr(p), arr(v)),
        |p, d| one_constant_temperature_vjp(arr(p), d[0]),
    );
    check(
        "constant_temperature_soft_twin",
        47,
        cube(4, -2.0, 2.0),
        |p| constant_temperature_soft_twin(arr(p), &g),
        |p, v| constant_temperature_soft_twin_jvp(arr(p), &g, arr(v)),
        |p, d| constant_temperature_soft_twin_vjp(arr(p), &g, d[0]),
    );
    // The straight-through form: the hard value, the soft twin's tangent.
    let mut r = rng(48);
    for _ in 0..POINTS {
        let (p, v) = (point(&mut r, 4, -2.0, 2.0), direction(&mut r, 4));
        let (value, tangent) = constant_temperature_straight_through_jvp(arr(&p), &g, arr(&v));
        let (_, soft) = constant_temperature_soft_twin_jvp(arr(&p), &g, arr(&v));
        assert_same_bits("straight-through value", &[value], &[constant_temperature_straight_through(arr(&p), &g)]);
        assert!((tangent - soft).abs() <= 1e-14 * (1.0 + soft.abs()), "at {p:?}: {tangent} vs {soft}");
        // And its pullback, the soft twin's.
        let (_, grad) = constant_temperature_straight_through_vjp(arr(&p), &g, 1.5);
        let (_, soft) = constant_temperature_soft_twin_vjp(arr(&p), &g, 1.5);
        assert_close("straight-through pullback", &grad, &soft, 1e-14, 1e-15);
    }
}

/// Data beside the differentiated values on duals: products, sums, differences and quotients
/// with data on either side (`Dual ⊗ T`), `dot` with a data row (its one-sided pullbacks), rules
/// with constant temperatures and thresholds (their one-sided forms); an untyped accumulator of
/// products with data whose method is called (its type inferred on duals).
#[differentiable(hvp, wrt(w))]
fn h_with_data(w: [f64; 3], xs: &[[f64; 3]; 4], c: f64) -> f64 {
    let mut total = 0.0;
    for k in 0..4 {
        let z = dot(w, xs[k]) * c + 0.5 - w[0] / (c + 2.0) + c * w[1] + (c - w[2]) + dot(xs[k], w).tanh();
        total += softplus(z) + huber(z - c, 0.7);
        let mut h = 0.0;
        for i in 0..3 {
            h += w[i] * xs[k][i];
        }
        total += h.sin();
    }
    total + logsumexp(w, 0.6) + soft_max(w, 0.9) + dot(softmax(w, 1.2), [1.0, -1.0, 2.0])
}

/// A layer whose adjoint assigns the weights' cotangents (each read once, at the loops' place):
/// on duals too.
#[differentiable(hvp)]
fn assigned_layer(w: [[f64; 3]; 2], x: &[f64; 3]) -> f64 {
    let mut s = 0.0;
    for j in 0..2 {
        let mut h = 0.0;
        for i in 0..3 {
            h += w[j][i] * x[i];
        }
        s += h.tanh() * h;
    }
    s
}

#[test]
fn hessian_vector_products_of_assigned_adjoints() {
    let x = [0.3, -1.0, 0.8];
    let w = |p: &[f64]| -> [[f64; 3]; 2] { core::array::from_fn(|j| core::array::from_fn(|i| p[3 * j + i])) };
    check_hvp(
        "assigned_layer",
        113,
        cube(6, -1.5, 1.5),
        |p| assigned_layer(w(p), &x),
        |p| assigned_layer_grad(w(p), &x),
        |p, v| assigned_layer_hvp(w(p), &x, w(v)),
    );
}

#[test]
fn hessian_vector_products_with_data() {
    let xs = [[0.3, -1.0, 0.8], [1.2, 0.1, -0.4], [-0.6, 0.9, 0.2], [0.05, -0.3, 1.1]];
    for c in [0.7, -1.3] {
        check_hvp(
            "h_with_data",
            112,
            cube(3, -1.5, 1.5),
            |p| h_with_data(arr(p), &xs, c),
            |p| h_with_data_grad(arr(p), &xs, c),
            |p, v| h_with_data_hvp(arr(p), &xs, c, arr(v)),
        );
    }
}

/// After a library call forward mode computes the values before their tangents (`jvp::jvp`): the
/// tangents that wait read a binding the next write changes (`a`, declared once, read in place),
/// arrays and their entries, a second call's value; each write, call and loop first emits them.
#[differentiable]
fn values_first_after_calls(x: f64, y: f64) -> f64 {
    let mut a = x * y;
    let e = a.exp();
    let b = e * a - y;
    let pair = [b, e / (1.0 + a * a)];
    a += pair[0] * 0.25;
    let s = (a * 0.5).sin();
    let c = s * pair[1] + (b * 0.1).tanh();
    let g = c - a * a;
    let mut t = 0.0;
    for k in 0..3 {
        let u = (g + k as f64 * 0.1).tanh();
        t += u * u - pair[1];
    }
    t * s + g
}

#[test]
fn values_before_tangents_after_a_call() {
    check(
        "values_first_after_calls",
        114,
        cube(2, -1.0, 1.0),
        |p| values_first_after_calls(p[0], p[1]),
        |p, v| values_first_after_calls_jvp(p[0], p[1], (v[0], v[1])),
        |p, d| values_first_after_calls_vjp(p[0], p[1], d[0]),
    );
}
