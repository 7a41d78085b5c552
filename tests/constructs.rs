//! Every construct of the supported language and every rule inside a differentiable function:
//! `_grad`/`_vjp` against central finite differences of the original at many random points, and
//! the value bit-identical to the original's.
#![deny(warnings)]

mod common;

use common::fns::*;
use common::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

const POINTS: usize = 100;

/// Checks a function of `n` parameters drawn from `[lo, hi)`: value bits and gradient.
fn check_scalar(
    name: &str,
    seed: u64,
    n: usize,
    (lo, hi): (f64, f64),
    skip: impl Fn(&[f64]) -> bool,
    f: impl Fn(&[f64]) -> f64,
    grad: impl Fn(&[f64]) -> (f64, Vec<f64>),
) {
    let mut r = rng(seed);
    let mut checked = 0;
    while checked < POINTS {
        let p = point(&mut r, n, lo, hi);
        if skip(&p) {
            continue;
        }
        checked += 1;
        let (v, g) = grad(&p);
        assert_same_bits(&format!("{name} value at {p:?}"), &[v], &[f(&p)]);
        assert_grad(&format!("{name} at {p:?}"), &g, &fd(&f, &p));
    }
}

fn never(_: &[f64]) -> bool {
    false
}

#[test]
fn arithmetic_methods_and_mutation() {
    check_scalar(
        "arith",
        1,
        2,
        (-2.0, 2.0),
        |p| (p[1] + 3.0).abs() < 0.1,
        |p| arith(p[0], p[1]),
        |p| {
            let (v, g) = arith_grad(p[0], p[1]);
            (v, g.flat())
        },
    );
    check_scalar(
        "methods_a",
        2,
        2,
        (-2.0, 2.0),
        never,
        |p| methods_a(p[0], p[1]),
        |p| {
            let (v, g) = methods_a_grad(p[0], p[1]);
            (v, g.flat())
        },
    );
    check_scalar(
        "methods_b",
        3,
        2,
        (-2.0, 2.0),
        |p| p[0].abs() < 0.01,
        |p| methods_b(p[0], p[1]),
        |p| {
            let (v, g) = methods_b_grad(p[0], p[1]);
            (v, g.flat())
        },
    );
    // Away from the kinks of abs (0), max/min (x = y) and clamp (±0.5).
    let kinks = |p: &[f64]| p[0].abs() < 1e-3 || (p[0] - p[1]).abs() < 1e-3 || (p[0].abs() - 0.5).abs() < 1e-3;
    check_scalar(
        "methods_c",
        4,
        2,
        (-2.0, 2.0),
        kinks,
        |p| methods_c(p[0], p[1]),
        |p| {
            let (v, g) = methods_c_grad(p[0], p[1]);
            (v, g.flat())
        },
    );
    check_scalar(
        "mutation",
        5,
        2,
        (-2.0, 2.0),
        never,
        |p| mutation(p[0], p[1]),
        |p| {
            let (v, g) = mutation_grad(p[0], p[1]);
            (v, g.flat())
        },
    );
}

#[test]
fn array_outputs_through_vjp() {
    let mut r = rng(6);
    for _ in 0..POINTS {
        let p = point(&mut r, 3, -2.0, 2.0);
        let dout = arr::<2>(&point(&mut r, 2, -1.0, 1.0));
        let (v, g) = arrays_vjp(arr(&p), dout);
        assert_same_bits("arrays value", &v, &arrays(arr(&p)));
        let f = |q: &[f64]| arrays(arr(q)).iter().zip(&dout).map(|(a, b)| a * b).sum();
        assert_grad("arrays_vjp", &g, &fd(f, &p));

        let q = point(&mut r, 9, -2.0, 2.0);
        let m = |q: &[f64]| [arr::<3>(q), arr::<3>(&q[3..])];
        let (v, (gm, gx)) = matvec_vjp(m(&q), arr(&q[6..]), dout);
        assert_same_bits("matvec value", &v, &matvec(m(&q), arr(&q[6..])));
        let f = |q: &[f64]| matvec(m(q), arr(&q[6..])).iter().zip(&dout).map(|(a, b)| a * b).sum();
        assert_grad("matvec_vjp", &(gm, gx).flat(), &fd(f, &q));
    }
}

#[test]
fn nested_array_writes_and_tuples_with_integers() {
    let mut r = rng(33);
    for _ in 0..POINTS {
        let p = point(&mut r, 5, -2.0, 2.0);
        let dout: [[f64; 2]; 3] = core::array::from_fn(|_| arr::<2>(&point(&mut r, 2, -1.0, 1.0)));
        let (v, (ga, gb)) = outer_product_vjp(arr(&p), arr(&p[3..]), dout);
        assert_same_bits("outer_product value", &v.flat(), &outer_product(arr(&p), arr(&p[3..])).flat());
        let f =
            |q: &[f64]| outer_product(arr(q), arr(&q[3..])).flat().iter().zip(dout.flat()).map(|(a, b)| a * b).sum();
        assert_grad("outer_product_vjp", &(ga, gb).flat(), &fd(f, &p));

        let x = arr::<3>(&p);
        let ((v, k), g) = value_and_index_vjp(x, (1.5, 7));
        assert_eq!((v.to_bits(), k), (value_and_index(x).0.to_bits(), value_and_index(x).1));
        assert_grad("value_and_index_vjp", &g, &fd(|q| 1.5 * value_and_index(arr(q)).0, &p[..3]));
    }
}

#[test]
fn references_in_wrt() {
    // `k` is data: only `x` is differentiated, so finite differences move `x` alone.
    let k = 0.75;
    check_scalar(
        "through_ref",
        7,
        3,
        (-2.0, 2.0),
        never,
        |p| through_ref(&arr(p), k),
        |p| {
            let (v, g) = through_ref_grad(&arr(p), k);
            (v, g.to_vec())
        },
    );
}

#[test]
fn loops_with_storage_and_without() {
    check_scalar(
        "product",
        8,
        5,
        (-2.0, 2.0),
        never,
        |p| product(arr(p)),
        |p| {
            let (v, g) = product_grad(arr(p));
            (v, g.to_vec())
        },
    );
    check_scalar(
        "logistic_map",
        9,
        2,
        (0.2, 0.8),
        never,
        |p| logistic_map::<10>(2.0 + p[0], p[1]),
        |p| {
            let (v, (ga, gx)) = logistic_map_grad::<10>(2.0 + p[0], p[1]);
            (v, vec![ga, gx])
        },
    );
    check_scalar(
        "for_each",
        10,
        5,
        (-2.0, 2.0),
        never,
        |p| for_each(arr(p), p[4]),
        |p| {
            let (v, g) = for_each_grad(arr(p), p[4]);
            (v, g.flat())
        },
    );
    let xs = [0.5, -1.0, 2.0, 0.25];
    check_scalar(
        "for_each_data",
        11,
        2,
        (-2.0, 2.0),
        never,
        |p| for_each_data(p[0], p[1], &xs),
        |p| {
            let (v, g) = for_each_data_grad(p[0], p[1], &xs);
            (v, g.flat())
        },
    );
    let (sx, sy) = ([0.1, 0.7, -1.3, 2.0, 0.4], vec![0.3, 0.2, -1.0, 4.0, 0.0]);
    let kink = |p: &[f64]| (0..5).any(|i| ((p[0] * sx[i] + p[1] - sy[i]).abs() - 0.5).abs() < 1e-3);
    check_scalar(
        "slice_loss",
        12,
        2,
        (-2.0, 2.0),
        kink,
        |p| slice_loss(p[0], p[1], &sx, &sy),
        |p| {
            let (v, g) = slice_loss_grad(p[0], p[1], &sx, &sy);
            (v, g.flat())
        },
    );
    check_scalar(
        "branch_in_loop",
        13,
        7,
        (-2.0, 2.0),
        never,
        |p| branch_in_loop(arr(p), p[6]),
        |p| {
            let (v, g) = branch_in_loop_grad(arr(p), p[6]);
            (v, g.flat())
        },
    );
    check_scalar(
        "counter_in_loop",
        14,
        4,
        (-2.0, 2.0),
        never,
        |p| counter_in_loop(arr(p)),
        |p| {
            let (v, g) = counter_in_loop_grad(arr(p));
            (v, g.to_vec())
        },
    );
}

#[test]
fn branches_and_early_returns() {
    let near = |p: &[f64]| {
        let z = if p[0] > p[1] { p[0] * p[1] } else { p[0] + p[1] };
        (p[0] - p[1]).abs() < 1e-3 || (z.abs() - 0.5).abs() < 1e-3
    };
    check_scalar(
        "branches",
        15,
        2,
        (-2.0, 2.0),
        near,
        |p| branches(p[0], p[1]),
        |p| {
            let (v, g) = branches_grad(p[0], p[1]);
            (v, g.flat())
        },
    );
    let near = |p: &[f64]| p[0].abs() < 1e-3 || ((p[0] + 1.0).sqrt() - 1.5).abs() < 1e-3;
    check_scalar(
        "early_return",
        16,
        1,
        (-3.0, 3.0),
        near,
        |p| early_return(p[0]),
        |p| {
            let (v, g) = early_return_grad(p[0]);
            (v, vec![g])
        },
    );
}

#[test]
fn returns_inside_loops() {
    // Away from the points where a partial sum crosses the limit.
    let crossing = |p: &[f64]| {
        let mut s = 0.0;
        (0..6).any(|i| {
            s += p[i] * p[i];
            (s - p[6]).abs() < 1e-3
        })
    };
    check_scalar(
        "first_above",
        29,
        7,
        (-1.5, 1.5),
        crossing,
        |p| first_above(arr(p), 3.0 + p[6]),
        |p| {
            let (v, (gx, gl)) = first_above_grad(arr(p), 3.0 + p[6]);
            (v, (gx, gl).flat())
        },
    );
    let crossing = |p: &[f64]| {
        let mut acc = 1.0;
        (0..9).any(|k| {
            acc = acc * p[k] + 0.5;
            (acc - 4.0).abs() < 1e-3
        })
    };
    let m = |p: &[f64]| [arr::<3>(p), arr::<3>(&p[3..]), arr::<3>(&p[6..])];
    check_scalar(
        "nested_return",
        30,
        9,
        (0.5, 2.5),
        crossing,
        |p| nested_return(m(p)),
        |p| {
            let (v, g) = nested_return_grad(m(p));
            (v, g.flat())
        },
    );
}

#[test]
fn more_shapes() {
    for n in [0, 3, 7] {
        check_scalar(
            "mixed_shapes",
            36 + n as u64,
            3,
            (-2.0, 2.0),
            never,
            |p| mixed_shapes(arr(p), n),
            |p| {
                let (v, g) = mixed_shapes_grad(arr(p), n);
                (v, g.to_vec())
            },
        );
    }
    check_scalar(
        "composed_shapes",
        40,
        3,
        (0.2, 2.0),
        never,
        |p| composed_shapes(arr(p)),
        |p| {
            let (v, g) = composed_shapes_grad(arr(p));
            (v, g.to_vec())
        },
    );
    check_sampled("sampled_calls_in_loop", 41, POINTS as u64, sampled_calls_in_loop, sampled_calls_in_loop_grad);
}

#[test]
fn generic_functions_at_f64_and_f32() {
    check_scalar(
        "mse::<f64, 4>",
        17,
        5,
        (-2.0, 2.0),
        never,
        |p| mse::<f64, 4>(arr(p), p[4]),
        |p| {
            let (v, g) = mse_grad::<f64, 4>(arr(p), p[4]);
            (v, g.flat())
        },
    );
    check_scalar(
        "odd_signature",
        35,
        2,
        (-2.0, 2.0),
        never,
        |p| odd_signature(p[0], p[1]),
        |p| {
            let (v, g) = odd_signature_grad(p[0], p[1]);
            let (vv, gv) = odd_signature_vjp(p[0], p[1], 1.0);
            assert_eq!((v.to_bits(), g), (vv.to_bits(), gv));
            (v, g.flat())
        },
    );
    let mut r = rng(18);
    for _ in 0..POINTS {
        let p: Vec<f32> = point(&mut r, 5, -2.0, 2.0).iter().map(|&v| v as f32).collect();
        let x: [f32; 4] = core::array::from_fn(|i| p[i]);
        let (v, (gx, gw)) = mse_grad::<f32, 4>(x, p[4]);
        assert_eq!(v.to_bits(), mse::<f32, 4>(x, p[4]).to_bits(), "mse::<f32> value");
        let f = |q: &[f64]| f64::from(mse::<f32, 4>(core::array::from_fn(|i| q[i] as f32), q[4] as f32));
        let p64: Vec<f64> = p.iter().map(|&v| f64::from(v)).collect();
        // f32 finite differences: a relative step of 1e-2 and a looser tolerance.
        let fd32 = fd_with_step(f, &p64, 1e-2);
        assert_close_to_fd("mse::<f32, 4>", &(gx, gw).flat(), &fd32, 1e-2, 1e-2);
    }
}

#[test]
fn composition() {
    check_scalar(
        "tuple_let",
        19,
        1,
        (-3.0, 3.0),
        never,
        |p| tuple_let(p[0]),
        |p| {
            let (v, g) = tuple_let_grad(p[0]);
            (v, vec![g])
        },
    );
    let xs = [[0.5, -1.0, 0.2], [1.0, 0.3, -0.7], [-0.2, 0.8, 1.5], [0.0, -0.4, 0.9]];
    let ys = [0.3, -0.2, 0.9, 0.1];
    check_scalar(
        "call_in_loop",
        20,
        3,
        (-1.5, 1.5),
        never,
        |p| call_in_loop(arr(p), &xs, &ys),
        |p| {
            let (v, g) = call_in_loop_grad(arr(p), &xs, &ys);
            (v, g.to_vec())
        },
    );
}

#[test]
fn sampling_in_a_loop_reuses_its_noise() {
    check_sampled("sample_in_loop", 21, POINTS as u64, sample_in_loop, sample_in_loop_grad);
}

#[test]
fn an_rng_as_impl_trait() {
    check_sampled("noisy_apit", 31, POINTS as u64, noisy_apit, noisy_apit_grad);
}

#[test]
fn every_rule_inside_a_differentiable_function() {
    let kink = |p: &[f64]| {
        let (x, d) = (p[0], p[1]);
        x.abs() < 1e-3 || (x.abs() - d).abs() < 1e-3 || ((x - d).abs() - d * 0.5).abs() < 1e-3
    };
    check_scalar(
        "scalar_rules",
        22,
        2,
        (0.3, 2.0),
        kink,
        |p| scalar_rules(p[0] - 1.0, p[1]),
        |p| {
            let (v, g) = scalar_rules_grad(p[0] - 1.0, p[1]);
            (v, g.flat())
        },
    );
    let temps = |p: &[f64]| p[4] < 0.3;
    check_scalar(
        "softmax_rules",
        23,
        5,
        (-2.0, 2.0),
        temps,
        |p| softmax_rules(arr(p), p[4]),
        |p| {
            let (v, g) = softmax_rules_grad(arr(p), p[4]);
            (v, g.flat())
        },
    );
    check_scalar(
        "residual_boundaries",
        32,
        5,
        (-2.0, 2.0),
        temps,
        |p| residual_boundaries(arr(p), p[4]),
        |p| {
            let (v, g) = residual_boundaries_grad(arr(p), p[4]);
            (v, g.flat())
        },
    );
    check_scalar(
        "temperatures_from_data",
        34,
        3,
        (-2.0, 2.0),
        never,
        |p| temperatures_from_data(arr(p), vec![0.5, 2.0]),
        |p| {
            let (v, g) = temperatures_from_data_grad(arr(p), vec![0.5, 2.0]);
            (v, g.to_vec())
        },
    );
    // Straight-through: the value is the hard one; the gradient that of the soft surrogate.
    let mut r = rng(24);
    for _ in 0..POINTS {
        let mut p = point(&mut r, 4, -2.0, 2.0);
        p.push(point(&mut r, 1, 0.3, 2.0)[0]);
        let (x, t) = (arr::<4>(&p), p[4]);
        let (v, g) = straight_through_rules_grad(x, t);
        assert_same_bits("straight_through_rules value", &[v], &[straight_through_rules(x, t)]);
        let soft = |q: &[f64]| {
            let (x, t) = (arr::<4>(q), q[4]);
            let h = relax::softmax(x, t);
            let k = relax::soft_argmax(x, t);
            let r = x[0];
            relax::dot(h, x) + k * x[1] + r * x[2]
        };
        // The hard parts contribute their values as constants: d/dx of dot(h, x) is h, and so on.
        let hard = relax::one_hot::<f64, 4>(relax::argmax(x));
        let mut want = fd(soft, &p);
        let soft_h = relax::softmax(x, t);
        for i in 0..4 {
            want[i] += hard[i] - soft_h[i];
        }
        want[1] += relax::argmax(x) as f64 - relax::soft_argmax(x, t);
        want[2] += x[0].round() - x[0];
        want[3] += x[3] * x[3];
        assert_grad("straight_through_rules", &g.flat(), &want);
    }
    check_scalar(
        "gumbel_rules",
        25,
        9,
        (-2.0, 2.0),
        |p| p[8] < 0.3,
        |p| gumbel_rules(arr(p), arr(&p[4..]), p[8]),
        |p| {
            let (v, g) = gumbel_rules_grad(arr(p), arr(&p[4..]), p[8]);
            (v, g.flat())
        },
    );
    let mut r = rng(26);
    for _ in 0..POINTS {
        let mut p = point(&mut r, 8, -2.0, 2.0);
        p.push(point(&mut r, 1, 0.3, 2.0)[0]);
        let (l, g, t) = (arr::<4>(&p), arr::<4>(&p[4..]), p[8]);
        let (v, grad) = st_gumbel_rules_grad(l, g, t);
        assert_same_bits("st_gumbel_rules value", &[v], &[st_gumbel_rules(l, g, t)]);
        let y = |q: &[f64]| -> [f64; 4] { core::array::from_fn(|i| q[i] + q[4 + i]) };
        let soft = |q: &[f64]| {
            relax::dot(relax::softmax(y(q), q[8]), [1.0, 2.0, 3.0, 4.0]) + relax::soft_argmax(y(q), q[8]) * 0.5
        };
        assert_grad("st_gumbel_rules (soft surrogate)", &grad.flat(), &fd(soft, &p));
    }
}

#[test]
fn score_function_rules() {
    let mut r = rng(27);
    for _ in 0..POINTS {
        let [theta, x, c, b] = arr::<4>(&point(&mut r, 4, -2.0, 2.0));
        let (v, g) = score_grad(theta, x, c, b);
        let loss = (x - c) * (x - c);
        assert_same_bits("score value", &[v], &[score(theta, x, c, b)]);
        assert_same_bits("score value is 2·loss", &[v], &[loss + loss]);
        // d log p / d theta = x − theta.
        let want = [loss * (x - theta) + (loss - b) * (x - theta), 0.0, 0.0, 0.0];
        assert_grad("score: (d/dtheta, d/dx, d/dc, d/db)", &[g.0, 0.0, 0.0, 0.0], &want);
    }
}

#[test]
fn rules_that_sample_draw_the_original_noise() {
    let mut r = rng(28);
    for seed in 0..POINTS as u64 {
        let mut p = point(&mut r, 4, -2.0, 2.0);
        p.extend([point(&mut r, 1, 0.3, 2.0)[0], point(&mut r, 1, -1.0, 1.0)[0]]);
        let (mut a, mut b) = (StdRng::seed_from_u64(seed), StdRng::seed_from_u64(seed));
        let v = sampled_rules(arr(&p), p[4], p[5], &mut a);
        let (vg, g) = sampled_rules_grad(arr(&p), p[4], p[5], &mut b);
        assert_same_bits("sampled_rules value", &[vg], &[v]);
        assert_eq!(rand::Rng::next_u64(&mut a), rand::Rng::next_u64(&mut b), "RNG state after sampled_rules_grad");
        // The straight-through terms take the soft gradient: the gradient is that of a surrogate
        // in which each hard factor varies as its relaxation while the others stay at their
        // values at `p` (the product rule), at the same noise.
        let noise = |q: &[f64]| {
            let mut rng = StdRng::seed_from_u64(seed);
            let l = arr::<4>(q);
            let ga: [f64; 4] = relax::gumbel_noise(&mut rng);
            let gb: [f64; 4] = relax::gumbel_noise(&mut rng);
            let gc: [f64; 4] = relax::gumbel_noise(&mut rng);
            let z: f64 = relax::normal_noise(&mut rng);
            (l, ga, gb, gc, z)
        };
        let (l0, _, gb, gc, _) = noise(&p);
        let (b0, c0) = (relax::st_gumbel_softmax_with(l0, gb, p[4]), relax::st_gumbel_argmax_with(l0, gc, p[4]));
        let surrogate = |q: &[f64]| {
            let (l, ga, gb, gc, z) = noise(q);
            let (t, mu) = (q[4], q[5]);
            let y = |g: [f64; 4]| -> [f64; 4] { core::array::from_fn(|i| l[i] + g[i]) };
            let a = relax::gumbel_softmax_with(l, ga, t);
            let bs = relax::softmax(y(gb), t);
            let cs = relax::soft_argmax(y(gc), t);
            relax::dot(a, [1.0, -1.0, 2.0, 0.5])
                + relax::dot(bs, l0) * c0
                + relax::dot(b0, l) * c0
                + relax::dot(b0, l0) * cs
                + relax::normal_reparam(mu, t, z) * mu
        };
        assert_grad("sampled_rules (straight-through surrogate)", &g.flat(), &fd(surrogate, &p));
    }
}

#[test]
fn stop_gradient_makes_any_expression_passive() {
    check_scalar(
        "through_stop_gradient",
        41,
        5,
        (-3.5, 3.5),
        // Away from the integer steps of |x|, where the passive integers change.
        |p| (p[0].abs() - p[0].abs().round()).abs() < 0.01,
        |p| through_stop_gradient(p[0], arr(&p[1..])),
        |p| {
            let (v, (gx, gw)) = through_stop_gradient_grad(p[0], arr(&p[1..]));
            (v, [vec![gx], gw.to_vec()].concat())
        },
    );
}

#[test]
fn sines_and_cosines_of_one_value() {
    check_scalar(
        "rotations",
        41,
        2,
        (-2.0, 2.0),
        |p| p[1].abs() < 1e-3,
        |p| rotations(p[0], p[1]),
        |p| {
            let (v, (ga, gb)) = rotations_grad(p[0], p[1]);
            (v, vec![ga, gb])
        },
    );
}

/// An `inline` of the user's is kept on the generated functions, in place of theirs.
#[inline(never)]
#[relax::differentiable]
fn never_inlined(a: f64, b: f64) -> f64 {
    (a * b).tanh() + a
}

#[relax::differentiable]
#[inline(always)]
fn always_inlined(a: f64, b: f64) -> f64 {
    never_inlined(a, b) * b
}

#[test]
fn inline_attributes_of_the_original() {
    check_scalar(
        "always_inlined",
        42,
        2,
        (-2.0, 2.0),
        |_| false,
        |p| always_inlined(p[0], p[1]),
        |p| {
            let (v, (ga, gb)) = always_inlined_grad(p[0], p[1]);
            (v, vec![ga, gb])
        },
    );
}

/// Reads `w[0]` and `w[1]` once each: the adjoint assigns their entries.
#[relax::differentiable]
#[allow(clippy::needless_range_loop)]
fn first_two_assigned(w: [f64; 3]) -> f64 {
    let mut s = 0.0;
    for i in 0..2 {
        s += w[i].sin();
    }
    s
}

/// Reads `w[0]` and `w[1]` twice each: the adjoint adds into their entries.
#[relax::differentiable]
#[allow(clippy::needless_range_loop)]
fn first_two_added(w: [f64; 3]) -> f64 {
    let mut s = 0.0;
    for i in 0..2 {
        s += w[i].sin() * w[i];
    }
    s
}

/// The sign of a gradient entry nothing flows into (`Tangent`'s documentation): `−0.0`, the
/// additive identity, where the adjoint adds; `+0.0` in an array whose entries it assigns.
#[test]
fn zeros_of_entries_nothing_flows_into() {
    let w = [0.3, -0.7, 1.1];
    let (_, assigned) = first_two_assigned_grad(w);
    assert_eq!(assigned.map(f64::to_bits), [w[0].cos(), w[1].cos(), 0.0].map(f64::to_bits));
    let (_, added) = first_two_added_grad(w);
    assert_eq!(added[2].to_bits(), (-0.0_f64).to_bits());
    for i in 0..2 {
        assert!((added[i] - (w[i].cos() * w[i] + w[i].sin())).abs() < 1e-15, "entry {i}");
    }
}
