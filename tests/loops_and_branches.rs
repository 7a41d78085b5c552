//! The control flow of version 0.2 on active code: `while`, `loop`, `break` and `continue`
//! (labelled too, leaving nested loops), early returns in loops of any bound, `max_iter`, `match`
//! on data, and methods in `impl` blocks. Every function at 100 or more random points: the value
//! (and the RNG's state, for sampled ones) bit for bit the original's, the gradient against
//! central finite differences of the original.
#![deny(warnings)]
// The fixtures are written the way relax's language reads best: index loops, `p = p * w`.
#![allow(clippy::needless_range_loop, clippy::assign_op_pattern)]

mod common;

use common::fns::{
    escape, escape_grad, heron_sqrt, heron_sqrt_grad, labelled_exits, labelled_exits_grad, skip_negative,
    skip_negative_grad,
};
use common::models::*;
use common::*;

use rand::Rng;
use rand::rngs::StdRng;
use relax::check::{Options, check_vjp};
use relax::prelude::*;

const POINTS: usize = 100;

/// `f` at `POINTS` random points of `[lo, hi)^n`: the value of `grad` bit for bit `f`'s, the
/// gradient against central finite differences of `f`. A point where finite differences at two
/// steps disagree (the path taken changes within the step: a `break` on an active condition) is
/// replaced by another; at most one point in five may be.
#[track_caller]
fn check(
    name: &str,
    seed: u64,
    n: usize,
    (lo, hi): (f64, f64),
    f: impl Fn(&[f64]) -> f64,
    grad: impl Fn(&[f64]) -> (f64, Vec<f64>),
) {
    let mut r = rng(seed);
    let (mut checked, mut replaced) = (0, 0);
    while checked < POINTS {
        let p = point(&mut r, n, lo, hi);
        let (v, g) = grad(&p);
        assert_same_bits(&format!("{name} value at {p:?}"), &[v], &[f(&p)]);
        let (fd1, fd2) = (fd(&f, &p), fd_with_step(&f, &p, 1e-5));
        if fd1.iter().zip(&fd2).any(|(a, b)| (a - b).abs() > 1e-4 * (1.0 + a.abs())) {
            replaced += 1;
            assert!(replaced <= POINTS / 5, "{name}: finite differences jump at too many points");
            continue;
        }
        checked += 1;
        assert_grad(&format!("{name} at {p:?}"), &g, &fd1);
    }
}

/// `true` with probability `p`.
fn chance(r: &mut StdRng, p: f64) -> bool {
    uniform(r, 0.0, 1.0) < p
}

// -- issue 15: exits from loops that store per-iteration values --------------------------------

/// The issue's repro: the product up to the first `stop[i]` above `lim`.
#[differentiable(wrt(x))]
fn prod_until(x: [f64; 6], stop: &[f64; 6], lim: f64) -> f64 {
    let mut p = 1.0;
    for i in 0..6 {
        p *= x[i];
        if stop[i] > lim {
            break;
        }
    }
    p
}

/// The same over a slice of run-time length.
#[differentiable(wrt(w), max_iter = 16)]
fn prod_until_slice(w: f64, xs: &[f64], stop: &[f64], lim: f64) -> f64 {
    let mut p = 1.0;
    for i in 0..xs.len() {
        p *= w + xs[i];
        if stop[i] > lim {
            break;
        }
    }
    p
}

/// Horner's recurrence skipping the coefficients marked in `skip`.
#[differentiable]
fn horner_skip(w: f64, c: [f64; 6], skip: &[bool; 6]) -> f64 {
    let mut p = 0.0;
    for i in 0..6 {
        if skip[i] {
            continue;
        }
        p = p * w + c[i];
    }
    p
}

/// The same over a slice of run-time length.
#[differentiable(max_iter = 12)]
fn horner_skip_slice(w: f64, c: &[f64], skip: &[bool]) -> f64 {
    let mut p = 0.0;
    for i in 0..c.len() {
        if skip[i] {
            continue;
        }
        p = p * w + c[i];
    }
    p
}

#[test]
fn issue_15_break_and_continue_in_loops_with_storage() {
    let mut r = rng(15);
    for case in 0..POINTS {
        let x = arr::<6>(&point(&mut r, 6, -1.5, 1.5));
        let stop = arr::<6>(&point(&mut r, 6, 0.0, 1.0));
        // Every break position: the first iteration (lim below every stop), none (lim above).
        let lim = match case % 4 {
            0 => -1.0,
            1 => 2.0,
            _ => uniform(&mut r, 0.0, 1.0),
        };
        let (v, g) = prod_until_grad(x, &stop, lim);
        assert_same_bits("prod_until value", &[v], &[prod_until(x, &stop, lim)]);
        assert_grad("prod_until", &g, &fd(|q| prod_until(arr(q), &stop, lim), &x));
        check_vjp(|x| prod_until(x, &stop, lim), |x, d| prod_until_vjp(x, &stop, lim, d), x).assert_ok();

        let n = case % 9;
        let (xs, stop) = (point(&mut r, n, -1.0, 1.0), point(&mut r, n, 0.0, 1.0));
        let w = uniform(&mut r, -1.5, 1.5);
        let (v, g) = prod_until_slice_grad(w, &xs, &stop, lim);
        assert_same_bits("prod_until_slice value", &[v], &[prod_until_slice(w, &xs, &stop, lim)]);
        assert_grad("prod_until_slice", &[g], &fd(|q| prod_until_slice(q[0], &xs, &stop, lim), &[w]));

        // Skip patterns from none to all (then every iteration is empty).
        let skip: [bool; 6] = core::array::from_fn(|_| chance(&mut r, (case % 5) as f64 / 4.0));
        let p = point(&mut r, 7, -1.5, 1.5);
        let (v, (gw, gc)) = horner_skip_grad(p[0], arr(&p[1..]), &skip);
        assert_same_bits("horner_skip value", &[v], &[horner_skip(p[0], arr(&p[1..]), &skip)]);
        assert_grad("horner_skip", &(gw, gc).flat(), &fd(|q| horner_skip(q[0], arr(&q[1..]), &skip), &p));

        let c = point(&mut r, n, -1.5, 1.5);
        let skip: Vec<bool> = (0..n).map(|_| chance(&mut r, 0.4)).collect();
        let (v, g) = horner_skip_slice_grad(w, &c, &skip);
        assert_same_bits("horner_skip_slice value", &[v], &[horner_skip_slice(w, &c, &skip)]);
        assert_grad("horner_skip_slice", &[g], &fd(|q| horner_skip_slice(q[0], &c, &skip), &[w]));
    }
}

/// `break` on an active condition: grow until above 4.
#[differentiable]
fn grow_until(x: f64, a: [f64; 8]) -> f64 {
    let mut p = x;
    for i in 0..8 {
        p = p * a[i] + x;
        if p > 4.0 {
            break;
        }
    }
    p * 0.5
}

/// The inner loop breaks, the outer one goes on.
#[differentiable(wrt(x))]
fn inner_break(x: [f64; 4], lim: f64) -> f64 {
    let mut s = 0.5;
    for i in 0..4 {
        for j in 0..4 {
            s = s * x[j] + x[i];
            if s.abs() > lim {
                break;
            }
        }
        s = s.tanh() + 0.25 * x[i];
    }
    s
}

/// Three loops deep: `continue 'outer` and `break 'outer` cross two loops, on data conditions.
#[differentiable]
fn three_deep(x: [f64; 3], w: f64) -> f64 {
    let mut s = w;
    let mut hits = 0;
    'outer: for i in 0..3 {
        for j in 0..3 {
            for k in 0..3 {
                s = s * x[k] + w;
                hits += 1;
                if (i + j + k) % 4 == 3 {
                    continue 'outer;
                }
                if hits == 11 {
                    break 'outer;
                }
            }
            s = s.sin();
        }
        s = s * 0.5;
    }
    s
}

/// A loop of no derivative of its own (copied as written) leaves the stored loop around it by a
/// labelled `break`, on an active condition, inside an outer loop whose adjoint runs the stored
/// loop again: the rerun must stop where the original did.
#[differentiable(wrt(x), max_iter = 8)]
fn passive_exit_in_stored_loop(x: [f64; 3], lim: f64) -> f64 {
    let mut s = x[0];
    let mut p = 0.5;
    for _ in 0..2 {
        'stored: for _ in 0..3 {
            p = (x[1] + s).tanh() + 0.5 * p;
            let mut tries = 0;
            loop {
                tries += 1;
                if tries > 3 {
                    break;
                }
                if x[2] > lim {
                    break 'stored;
                }
            }
        }
        s = s * 0.5 + p * x[0];
    }
    s + p
}

#[test]
fn exits_on_active_conditions_and_from_nested_loops() {
    for (seed, lim) in [(22, -0.5), (23, 0.5)] {
        check(
            "passive_exit_in_stored_loop",
            seed,
            3,
            (-1.0, 1.0),
            |p| passive_exit_in_stored_loop(arr(p), lim),
            |p| {
                let (v, g) = passive_exit_in_stored_loop_grad(arr(p), lim);
                (v, g.to_vec())
            },
        );
    }
    check(
        "grow_until",
        16,
        9,
        (0.5, 1.5),
        |p| grow_until(p[0], arr(&p[1..])),
        |p| {
            let (v, (gx, ga)) = grow_until_grad(p[0], arr(&p[1..]));
            (v, (gx, ga).flat())
        },
    );
    check(
        "skip_negative",
        17,
        7,
        (-1.5, 1.5),
        |p| skip_negative(arr(p), p[6]),
        |p| {
            let (v, g) = skip_negative_grad(arr(p), p[6]);
            (v, g.flat())
        },
    );
    for (seed, lim) in [(18, 0.3), (19, 1.0), (20, 3.0)] {
        check(
            "inner_break",
            seed,
            4,
            (-1.5, 1.5),
            |p| inner_break(arr(p), lim),
            |p| {
                let (v, g) = inner_break_grad(arr(p), lim);
                (v, g.to_vec())
            },
        );
        check(
            "labelled_exits",
            seed,
            4,
            (-1.5, 1.5),
            |p| labelled_exits(arr(p), lim),
            |p| {
                let (v, g) = labelled_exits_grad(arr(p), lim);
                (v, g.to_vec())
            },
        );
    }
    check(
        "three_deep",
        21,
        4,
        (-1.0, 1.0),
        |p| three_deep(arr(p), p[3]),
        |p| {
            let (v, g) = three_deep_grad(arr(p), p[3]);
            (v, g.flat())
        },
    );
}

/// Passive loops with exits, nested inside a branch and a `match` on active code: they are
/// copied as written, and still stop where their `break` says. The count is
/// `10 + 6 + 3 + 2 = 21` (the first `n` with `n * i > 5`, or 10).
#[differentiable]
fn passive_search(x: [f64; 2], a: f64) -> f64 {
    let mut k = 0;
    if a > 0.0 {
        match k {
            0 => {
                for i in 0..4 {
                    let mut n = 0;
                    while n < 10 {
                        n += 1;
                        if n * i > 5 {
                            break;
                        }
                    }
                    k += n;
                }
            }
            1 => k = 100,
            _ => {}
        }
    }
    a * x[0] * k as f64 + x[1]
}

#[test]
fn passive_loops_with_exits_inside_active_branches() {
    let mut r = rng(70);
    for _ in 0..POINTS {
        let p = point(&mut r, 3, -2.0, 2.0);
        let (v, (gx, ga)) = passive_search_grad([p[0], p[1]], p[2]);
        let k = if p[2] > 0.0 { 21.0 } else { 0.0 };
        assert_same_bits("passive_search value", &[v], &[passive_search([p[0], p[1]], p[2])]);
        assert_grad("passive_search", &[gx[0], gx[1], ga], &[p[2] * k, 1.0, p[0] * k]);
    }
}

// -- `while` and `loop`, `max_iter` -----------------------------------------------------------

/// A `while` on data that needs storage: `n` iterations of a recurrence.
#[differentiable(max_iter = 8)]
fn while_data(x: f64, n: usize) -> f64 {
    let mut p = x;
    let mut k = 0;
    while k < n {
        p = p.sin() * x + 0.5;
        k += 1;
    }
    p
}

/// `loop` with a data `break` as its first statement: the iteration that breaks counts, so
/// `n + 1` iterations, one when `n == 0`.
#[differentiable(max_iter = 8)]
fn loop_data(x: f64, n: usize) -> f64 {
    let mut p = 1.0;
    let mut k = 0;
    loop {
        if k == n {
            break;
        }
        p = p * x + 0.25 * k as f64;
        k += 1;
    }
    p
}

/// A generic `while` on an active condition: halve until below `1`, then one more step.
#[differentiable(max_iter = 2000)]
fn halve_below<T: Real>(x: T) -> T {
    let mut y = x * x + 1.0;
    while y > 1.0 {
        y = y * 0.5 + 0.01 * x;
    }
    y * x
}

#[test]
fn while_and_loop_on_data_and_active_conditions() {
    for n in 0..=8 {
        check(
            "while_data",
            30 + n as u64,
            1,
            (-1.5, 1.5),
            |p| while_data(p[0], n),
            |p| {
                let (v, g) = while_data_grad(p[0], n);
                (v, vec![g])
            },
        );
    }
    for n in 0..8 {
        check(
            "loop_data",
            40 + n as u64,
            1,
            (-1.5, 1.5),
            |p| loop_data(p[0], n),
            |p| {
                let (v, g) = loop_data_grad(p[0], n);
                (v, vec![g])
            },
        );
    }
    check(
        "heron_sqrt",
        50,
        1,
        (0.2, 20.0),
        |p| heron_sqrt(p[0]),
        |p| {
            let (v, g) = heron_sqrt_grad(p[0]);
            (v, vec![g])
        },
    );
    // The closed form too: the last iterate is converged, so its derivative is 1/(2√a).
    let mut r = rng(51);
    for _ in 0..POINTS {
        let a = uniform(&mut r, 0.2, 20.0);
        assert_close("heron_sqrt against 1/(2√a)", &[heron_sqrt_grad(a).1], &[0.5 / a.sqrt()], 1e-6, 0.0);
    }
    for (seed, lim) in [(52, 1.5), (53, 10.0), (54, 1e6)] {
        check(
            "escape",
            seed,
            1,
            (-1.0, 1.0),
            |p| escape(p[0], lim),
            |p| {
                let (v, g) = escape_grad(p[0], lim);
                (v, vec![g])
            },
        );
    }
    check(
        "halve_below f64",
        55,
        1,
        (-30.0, 30.0),
        |p| halve_below(p[0]),
        |p| {
            let (v, g) = halve_below_grad(p[0]);
            (v, vec![g])
        },
    );
    // In f32, relax's checker, at points where no halving step starts or stops within the
    // finite differences' step (those at two steps agree).
    let mut r = rng(56);
    let mut checked = 0;
    while checked < POINTS {
        let x = uniform(&mut r, -30.0, 30.0) as f32;
        let slope = |step| Options::new().step(step).numerical_jacobian(halve_below::<f32>, x)[0][0];
        if (slope(4e-3) - slope(1e-3)).abs() > 0.05 * (1.0 + slope(4e-3).abs()) {
            continue;
        }
        checked += 1;
        check_vjp(halve_below::<f32>, halve_below_vjp::<f32>, x).assert_ok();
    }
}

/// The panic message of `f`, which must panic.
fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let payload = std::panic::catch_unwind(f).expect_err("a panic");
    match (payload.downcast_ref::<String>(), payload.downcast_ref::<&str>()) {
        (Some(s), _) => s.clone(),
        (_, Some(s)) => s.to_string(),
        _ => panic!("a panic without a message"),
    }
}

#[test]
fn max_iter_at_below_and_past_the_limit() {
    // At and below the limit the gradient is right (checked above: `while_data` for n = 0..=8,
    // `loop_data` for n = 0..8, that is up to 8 iterations); past it the original runs and the
    // gradient panics, naming the function and the option.
    let x = 0.7;
    assert!(while_data(x, 9).is_finite() && loop_data(x, 8).is_finite());
    for (name, message) in [
        ("`while_data`", panic_message(|| _ = while_data_grad(x, 9))),
        ("`while_data`", panic_message(|| _ = while_data_vjp(x, 100, 1.0))),
        ("`loop_data`", panic_message(|| _ = loop_data_grad(x, 8))),
    ] {
        assert!(message.contains(name) && message.contains("max_iter = 8"), "{message}");
    }
    // Through a call: the callee's storage, the callee's name.
    assert!(settle_each([0.1; 3], 9).is_finite());
    let message = panic_message(|| _ = settle_each_grad([0.1; 3], 9));
    assert!(message.contains("`settle`") && message.contains("max_iter = 8"), "{message}");
    let xs = [0.1; 17];
    let message = panic_message(|| _ = prod_until_slice_grad(0.5, &xs, &[0.0; 17], 1.0));
    assert!(message.contains("prod_until_slice") && message.contains("max_iter = 16"), "{message}");
    // Sixteen iterations fit.
    let (v, g) = prod_until_slice_grad(0.5, &xs[..16], &[0.0; 16], 1.0);
    assert_same_bits("prod_until_slice at max_iter", &[v], &[prod_until_slice(0.5, &xs[..16], &[0.0; 16], 1.0)]);
    assert_grad(
        "prod_until_slice at max_iter",
        &[g],
        &fd(|q| prod_until_slice(q[0], &xs[..16], &[0.0; 16], 1.0), &[0.5]),
    );
    // A break before the limit: the iterations that ran count, not the slice's length.
    let mut stop = [0.0; 17];
    stop[3] = 2.0;
    let (v, g) = prod_until_slice_grad(0.5, &xs, &stop, 1.0);
    assert_same_bits("prod_until_slice, early break", &[v], &[prod_until_slice(0.5, &xs, &stop, 1.0)]);
    assert_grad("prod_until_slice, early break", &[g], &fd(|q| prod_until_slice(q[0], &xs, &stop, 1.0), &[0.5]));
}

// -- early returns in loops of run-time length ---------------------------------------------------

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
    p - w
}

/// The iteration that finds the end and returns counts: `xs.len() + 1` of them.
#[differentiable(max_iter = 17)]
fn return_in_loop(w: f64, xs: &[f64]) -> f64 {
    let mut p = w;
    let mut i = 0;
    loop {
        if i == xs.len() {
            return p * 3.0;
        }
        p = (p + xs[i]) * w;
        if xs[i] < -0.8 {
            return p.sin();
        }
        i += 1;
    }
}

#[differentiable(max_iter = 16)]
fn return_in_for(w: f64, xs: &[f64]) -> f64 {
    let mut p = 1.0;
    for i in 0..xs.len() {
        for j in 0..2 {
            p = p * (w + xs[i]) + 0.1 * j as f64;
            if p.abs() > 3.0 {
                return p.tanh();
            }
        }
    }
    p
}

#[test]
fn returns_inside_loops_of_run_time_length() {
    let mut r = rng(60);
    for n in 0..=16 {
        let xs = point(&mut r, n, -1.0, 1.5);
        for (name, f, g) in [
            (
                "return_in_while",
                return_in_while as fn(f64, &[f64]) -> f64,
                return_in_while_grad as fn(f64, &[f64]) -> (f64, f64),
            ),
            ("return_in_loop", return_in_loop, return_in_loop_grad),
            ("return_in_for", return_in_for, return_in_for_grad),
        ] {
            check(
                name,
                n as u64,
                1,
                (-1.5, 1.5),
                |p| f(p[0], &xs),
                |p| {
                    let (v, d) = g(p[0], &xs);
                    (v, vec![d])
                },
            );
        }
    }
}

// -- fused accumulations: no storage, any trip count ---------------------------------------------

/// `break` and `continue` on data in an accumulation over a slice.
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

/// `while` on data, accumulating.
#[differentiable]
fn while_sum(w: f64, xs: &[f64]) -> f64 {
    let mut s = 0.0;
    let mut i = 0;
    while i < xs.len() {
        s += w * w * xs[i];
        i += 2;
    }
    s
}

/// `loop` with its `break` first, accumulating.
#[differentiable]
fn loop_sum(w: f64, xs: &[f64]) -> f64 {
    let mut s = 0.0;
    let mut i = 0;
    loop {
        if i == xs.len() {
            break;
        }
        s += (w * xs[i]).tanh();
        i += 1;
    }
    s
}

#[test]
fn fused_accumulations_with_exits_take_any_trip_count() {
    let mut r = rng(70);
    for case in 0..POINTS {
        // Up to 5000 iterations: far beyond any storage, none is needed.
        let n = [0, 1, 2, 17, 5000][case % 5];
        let xs = point(&mut r, n, -1.0, 1.0);
        let stop = uniform(&mut r, -0.5, 1.0);
        type Pair<'a> = (&'a str, Box<dyn Fn(f64) -> f64 + 'a>, Box<dyn Fn(f64) -> (f64, f64) + 'a>);
        let fns: [Pair<'_>; 3] = [
            ("sum_until", Box::new(|w| sum_until(w, &xs, stop)), Box::new(|w| sum_until_grad(w, &xs, stop))),
            ("while_sum", Box::new(|w| while_sum(w, &xs)), Box::new(|w| while_sum_grad(w, &xs))),
            ("loop_sum", Box::new(|w| loop_sum(w, &xs)), Box::new(|w| loop_sum_grad(w, &xs))),
        ];
        for (name, f, g) in &fns {
            let w = uniform(&mut r, -1.5, 1.5);
            let (v, d) = g(w);
            assert_same_bits(name, &[v], &[f(w)]);
            assert_close_to_fd(name, &[d], &fd(|q| f(q[0]), &[w]), 1e-6, 1e-9 * (1.0 + n as f64));
        }
    }
}

// -- loop-invariant factors of accumulations ----------------------------------------------------

/// A mixture's inner term: `mu` reaches the sum through `(x − mu)·inv`, a product with `inv`'s
/// element at the same indices, which the data loop does not change: each iteration adds `mu`'s
/// cotangent alone, and `mu`'s gradient is multiplied by `inv` once, after the loop. `centre`
/// reaches it through a quotient by `sd[k]`: its gradient is divided by `sd` after the loop.
#[differentiable(wrt(mu, log_s))]
fn standardised(mu: [[f64; 2]; 3], log_s: [[f64; 2]; 3], xs: &[[f64; 2]; 16]) -> f64 {
    let mut inv = [[0.0; 2]; 3];
    let mut sd = [0.0; 3];
    for k in 0..3 {
        for d in 0..2 {
            inv[k][d] = (-log_s[k][d]).exp();
        }
        sd[k] = log_s[k][1].exp() + 0.5;
    }
    let centre = [mu[0][0] * mu[1][0], mu[1][1] - mu[2][0], 0.5 * mu[2][1]];
    let mut total = 0.0;
    for n in 0..16 {
        for k in 0..3 {
            let mut q = 0.0;
            for d in 0..2 {
                let z = (xs[n][d] - mu[k][d]) * inv[k][d];
                q += z * z;
            }
            total += (-0.5 * q).exp() + ((xs[n][1] - centre[k]) / sd[k]).sin();
        }
    }
    total
}

/// The factor on the left, reached through an addition of data and a negation; whole scalars
/// (`m` by `s`); `shift[3]` and `scale[3]` never read, so `shift`'s gradient there is zero even
/// where `scale[3]` is NaN.
#[differentiable]
fn scaled_shifts(shift: [f64; 4], scale: [f64; 4], m: f64, s: f64, xs: &[f64; 12]) -> f64 {
    let mut total = 0.0;
    for n in 0..12 {
        for k in 0..3 {
            total += (scale[k] * -(shift[k] + xs[n])).sin();
        }
        total -= ((xs[n] - m) * s).tanh();
    }
    total
}

/// A factor per row: `s[k]` at the first of `mu[k][d]`'s indices, every element of row `k`.
#[differentiable]
fn row_scales(mu: [[f64; 2]; 3], s: [f64; 3], xs: &[[f64; 2]; 8]) -> f64 {
    let mut total = 0.0;
    for n in 0..8 {
        for k in 0..3 {
            for d in 0..2 {
                total += ((xs[n][d] - mu[k][d]) * s[k]).tanh();
            }
        }
    }
    total
}

/// Generic, and the factor behind a reference; `c` one float for every element of `nu`.
#[differentiable(wrt(mu, s, nu, c))]
fn factor_by_ref<T: Real>(mu: [T; 3], s: &[T; 3], nu: [[T; 2]; 2], c: T, xs: &[T; 8]) -> T {
    let mut total = T::zero();
    for n in 0..8 {
        for k in 0..3 {
            total += ((xs[n] - mu[k]) * s[k]).tanh();
        }
        for k in 0..2 {
            total += (c * (nu[k][n % 2] - xs[n])).sin();
        }
    }
    total
}

#[test]
fn loop_invariant_factors_leave_accumulations() {
    let mut r = rng(71);
    let xs: [[f64; 2]; 16] = core::array::from_fn(|_| [uniform(&mut r, -2.0, 2.0), uniform(&mut r, -2.0, 2.0)]);
    let split = |p: &[f64]| -> ([[f64; 2]; 3], [[f64; 2]; 3]) {
        (core::array::from_fn(|k| [p[2 * k], p[2 * k + 1]]), core::array::from_fn(|k| [p[6 + 2 * k], p[7 + 2 * k]]))
    };
    check(
        "standardised",
        72,
        12,
        (-1.0, 1.0),
        |p| standardised(split(p).0, split(p).1, &xs),
        |p| {
            let (v, (g_mu, g_s)) = standardised_grad(split(p).0, split(p).1, &xs);
            (v, g_mu.iter().chain(&g_s).flatten().copied().collect())
        },
    );

    let points: [[f64; 2]; 8] = core::array::from_fn(|_| [uniform(&mut r, -2.0, 2.0), uniform(&mut r, -2.0, 2.0)]);
    let rows = |p: &[f64]| -> [[f64; 2]; 3] { core::array::from_fn(|k| [p[2 * k], p[2 * k + 1]]) };
    check(
        "row_scales",
        75,
        9,
        (-1.5, 1.5),
        |p| row_scales(rows(p), [p[6], p[7], p[8]], &points),
        |p| {
            let (v, (g_mu, g_s)) = row_scales_grad(rows(p), [p[6], p[7], p[8]], &points);
            (v, [g_mu.as_flattened(), &g_s].concat())
        },
    );

    let data: [f64; 12] = core::array::from_fn(|_| uniform(&mut r, -2.0, 2.0));
    let args = |p: &[f64]| ([p[0], p[1], p[2], p[3]], [p[4], p[5], p[6], p[7]], p[8], p[9]);
    check(
        "scaled_shifts",
        73,
        10,
        (-1.5, 1.5),
        |p| {
            let (shift, scale, m, s) = args(p);
            scaled_shifts(shift, scale, m, s, &data)
        },
        |p| {
            let (shift, scale, m, s) = args(p);
            let (v, (g_shift, g_scale, g_m, g_s)) = scaled_shifts_grad(shift, scale, m, s, &data);
            (v, g_shift.iter().chain(&g_scale).copied().chain([g_m, g_s]).collect())
        },
    );
    let (shift, mut scale, m, s) = args(&point(&mut r, 10, -1.5, 1.5));
    scale[3] = f64::NAN;
    let (_, (g_shift, ..)) = scaled_shifts_grad(shift, scale, m, s, &data);
    assert_eq!(g_shift[3], 0.0, "an element no iteration adds to stays zero: {g_shift:?}");
    assert!(g_shift[..3].iter().all(|g| g.is_finite()), "{g_shift:?}");

    let xs: [f64; 8] = core::array::from_fn(|_| uniform(&mut r, -2.0, 2.0));
    let args = |p: &[f64]| ([p[0], p[1], p[2]], [p[3], p[4], p[5]], [[p[6], p[7]], [p[8], p[9]]], p[10]);
    check(
        "factor_by_ref::<f64>",
        74,
        11,
        (-1.5, 1.5),
        |p| {
            let (mu, s, nu, c) = args(p);
            factor_by_ref(mu, &s, nu, c, &xs)
        },
        |p| {
            let (mu, s, nu, c) = args(p);
            let (v, (g_mu, g_s, g_nu, g_c)) = factor_by_ref_grad(mu, &s, nu, c, &xs);
            (v, [&g_mu[..], &g_s, g_nu.as_flattened(), &[g_c]].concat())
        },
    );
    // At f32: the value bit for bit the original's, the gradient the f64 one's to f32 precision.
    let xs32 = xs.map(|v| v as f32);
    for _ in 0..POINTS {
        let p: Vec<f64> = point(&mut r, 11, -1.5, 1.5).into_iter().map(|v| f64::from(v as f32)).collect();
        let (mu, s, nu, c) = args(&p);
        let narrow = |a: [f64; 3]| a.map(|v| v as f32);
        let (mu32, s32, nu32, c32) = (narrow(mu), narrow(s), nu.map(|row| row.map(|v| v as f32)), c as f32);
        let (v, (g_mu, g_s, g_nu, g_c)) = factor_by_ref_grad(mu32, &s32, nu32, c32, &xs32);
        let original = factor_by_ref(mu32, &s32, nu32, c32, &xs32);
        assert_same_bits("factor_by_ref::<f32>", &[f64::from(v)], &[f64::from(original)]);
        let (_, (w_mu, w_s, w_nu, w_c)) = factor_by_ref_grad(mu, &s, nu, c, &xs32.map(f64::from));
        let got: Vec<f64> =
            [&g_mu[..], &g_s, g_nu.as_flattened(), &[g_c]].concat().into_iter().map(f64::from).collect();
        let want = [&w_mu[..], &w_s, w_nu.as_flattened(), &[w_c]].concat();
        assert_close("factor_by_ref::<f32> gradient", &got, &want, 1e-4, 1e-5);
    }
}

// -- `match` on data ------------------------------------------------------------------------

/// One instruction of a tiny program: the data a `match` dispatches on.
#[derive(Clone, Copy, Debug)]
enum Step {
    Scale(f64),
    Shift(f64),
    Square,
    Sine,
    Stop,
}

impl Step {
    fn random(r: &mut StdRng) -> Step {
        match (uniform(r, 0.0, 5.0) as usize, uniform(r, -1.0, 1.0)) {
            (0, k) => Step::Scale(k + 0.5),
            (1, d) => Step::Shift(d),
            (2, _) => Step::Square,
            (3, _) => Step::Sine,
            _ => Step::Stop,
        }
    }
}

/// A `match` statement with enum bindings used in active arms, a guard and a `break`, inside a
/// loop that stores `s` per iteration.
#[differentiable]
fn run_program(x: f64, program: &[Step; 6]) -> f64 {
    let mut s = x;
    for i in 0..6 {
        match program[i] {
            Step::Scale(k) => s = s * k,
            Step::Shift(d) if d > 0.0 => s += d * s.sin(),
            Step::Shift(d) => s -= d * x,
            Step::Square => {
                let q = s * s;
                s = q * 0.5;
            }
            Step::Sine => s = s.sin() + x,
            Step::Stop => break,
        }
    }
    s
}

/// The same over a program of run-time length, in a `while`.
#[differentiable(max_iter = 10)]
fn run_program_while(x: f64, program: &[Step]) -> f64 {
    let mut s = x;
    let mut i = 0;
    while i < program.len() {
        match program[i] {
            Step::Scale(k) => s = s * k,
            Step::Shift(d) if d > 0.0 => s += d * s.sin(),
            Step::Shift(d) => s -= d * x,
            Step::Square => s = s * s * 0.5,
            Step::Sine => s = s.sin() + x,
            Step::Stop => break,
        }
        i += 1;
    }
    s
}

/// `match` as an expression: or-patterns, bindings, guards, a tuple scrutinee with a `bool`, a
/// passive arm among active ones.
#[differentiable]
fn pick(x: [f64; 3], k: usize, flip: bool) -> f64 {
    let y = match k {
        0 => x[0] * x[1],
        1 | 2 => x[k].sin(),
        n if n > 10 && flip => -x[2],
        7 => 1.5,
        n => x[0] * n as f64,
    };
    let z = match (flip, k % 3) {
        (true, 0) => y * y,
        (true, _) => y + x[1],
        (false, r) => y * r as f64 + 1.0,
    };
    y * z
}

/// A binding of an `Option` used as an index in an active arm.
#[differentiable]
fn lookup(x: [f64; 4], idx: Option<usize>) -> f64 {
    match idx {
        Some(j) if j < 4 => x[j] * x[j],
        Some(_) => 0.0,
        None => sum(x),
    }
}

/// `return` in arms: at the top level and inside a loop with storage, `continue` in an arm.
#[differentiable]
fn match_returns(x: [f64; 5], modes: &[u8; 5]) -> f64 {
    match modes[0] {
        9 => return x[0].exp(),
        8 => {
            let y = x[1] * x[2];
            if y > 0.0 {
                return y;
            }
        }
        _ => {}
    }
    let mut p = 1.0;
    for i in 0..5 {
        match modes[i] {
            0 => return p * x[i],
            1 => p = p * x[i],
            2 => continue,
            _ => p = p + x[i] * p,
        }
        p = p * 0.9;
    }
    p
}

#[test]
fn matches_as_statements_and_expressions() {
    let mut r = rng(80);
    for case in 0..POINTS {
        let program: [Step; 6] = core::array::from_fn(|_| Step::random(&mut r));
        check(
            &format!("run_program {program:?}"),
            case as u64,
            1,
            (-1.5, 1.5),
            |p| run_program(p[0], &program),
            |p| {
                let (v, g) = run_program_grad(p[0], &program);
                (v, vec![g])
            },
        );
        let program = &program[..case % 7];
        let name = format!("run_program_while {program:?}");
        check(
            &name,
            case as u64,
            1,
            (-1.5, 1.5),
            |p| run_program_while(p[0], program),
            |p| {
                let (v, g) = run_program_while_grad(p[0], program);
                (v, vec![g])
            },
        );
    }
    for k in 0..14 {
        for flip in [false, true] {
            check(
                "pick",
                k as u64,
                3,
                (-1.5, 1.5),
                |p| pick(arr(p), k, flip),
                |p| {
                    let (v, g) = pick_grad(arr(p), k, flip);
                    (v, g.to_vec())
                },
            );
        }
    }
    for idx in [None, Some(0), Some(3), Some(4)] {
        check(
            "lookup",
            81,
            4,
            (-1.5, 1.5),
            |p| lookup(arr(p), idx),
            |p| {
                let (v, g) = lookup_grad(arr(p), idx);
                (v, g.to_vec())
            },
        );
    }
    for case in 0..POINTS as u64 {
        let modes: [u8; 5] = core::array::from_fn(|_| [0, 1, 1, 2, 3, 3, 8, 9][uniform(&mut r, 0.0, 8.0) as usize]);
        check(
            &format!("match_returns {modes:?}"),
            case,
            5,
            (-1.5, 1.5),
            |p| match_returns(arr(p), &modes),
            |p| {
                let (v, g) = match_returns_grad(arr(p), &modes);
                (v, g.to_vec())
            },
        );
    }
}

// -- methods and associated functions ----------------------------------------------------------

impl Spring {
    /// `self` by value calling a method of itself: a value the method owns.
    #[differentiable]
    fn pair_energy(self, x: [f64; 2]) -> f64 {
        self.energy(x[0]) * self.energy(x[1])
    }
}

/// Methods called on values the function owns, whose pullbacks cannot borrow them: a local (in
/// a loop that stores), a by-value parameter, and `self` by value.
#[differentiable]
fn owned_springs(x: [f64; 2], held: Spring) -> f64 {
    let local = Spring { stiffness: 1.5, rest: 0.25 };
    let mut s = 0.0;
    for i in 0..2 {
        s = (s * 0.5 + local.energy(x[i])).tanh();
    }
    s + held.energy(x[0] * x[1]) + held.pair_energy(x)
}

/// Composed: `owned_springs`'s own split form keeps no borrow of its locals either.
#[differentiable]
fn owned_springs_twice(x: [f64; 2], held: Spring) -> f64 {
    owned_springs(x, held) * owned_springs([x[1], x[0]], held)
}

#[test]
fn methods_of_owned_values() {
    let held = Spring { stiffness: 0.7, rest: -0.3 };
    check(
        "owned_springs_twice",
        95,
        2,
        (-1.5, 1.5),
        |p| owned_springs_twice([p[0], p[1]], held),
        |p| {
            let (v, g) = owned_springs_twice_grad([p[0], p[1]], held);
            (v, g.to_vec())
        },
    );
}

#[test]
fn methods_read_data_and_compose() {
    let mut r = rng(90);
    for case in 0..POINTS as u64 {
        let spring = |r: &mut StdRng| Spring { stiffness: uniform(r, 0.2, 2.0), rest: uniform(r, -1.0, 1.0) };
        let all: [Spring; 4] = core::array::from_fn(|_| spring(&mut r));
        let one = spring(&mut r);
        check(
            "Spring::energy",
            case,
            1,
            (-2.0, 2.0),
            |p| one.energy(p[0]),
            |p| {
                let (v, g) = one.energy_grad(p[0]);
                (v, vec![g])
            },
        );
        check(
            "Spring::coupling",
            case,
            2,
            (-2.0, 2.0),
            |p| Spring::coupling(p[0], p[1]),
            |p| {
                let (v, g) = Spring::coupling_grad(p[0], p[1]);
                (v, g.flat())
            },
        );
        check(
            "Spring::force",
            case,
            1,
            (-2.0, 2.0),
            |p| one.force(p[0]),
            |p| {
                let (v, g) = one.force_grad(p[0]);
                (v, vec![g])
            },
        );
        check(
            "springs",
            case,
            4,
            (-2.0, 2.0),
            |p| springs(arr(p), &all, &one),
            |p| {
                let (v, g) = springs_grad(arr(p), &all, &one);
                (v, g.to_vec())
            },
        );
        let at = arr::<4>(&point(&mut r, 4, -2.0, 2.0));
        check_vjp(|x| one.chain(x), |x, d| one.chain_vjp(x, d), at).assert_ok();
    }
}

#[test]
fn mut_self_side_effects_happen_once() {
    let mut r = rng(91);
    for n in 0..=32 {
        let dt = uniform(&mut r, 0.05, 0.2);
        let run = |p: &[f64]| Integrator { dt, steps: 0 }.run(p[0], p[1], n);
        check("Integrator::run", n as u64, 2, (-1.5, 1.5), run, |p| {
            let mut sim = Integrator { dt, steps: 0 };
            let (v, g) = sim.run_grad(p[0], p[1], n);
            // Each step counted once, and once by `kick`: as the original counts.
            assert_eq!(sim.steps, n + 1, "steps after run_grad with n = {n}");
            (v, g.flat())
        });
        let (mut sim, mut original) = (Integrator { dt, steps: 0 }, Integrator { dt, steps: 0 });
        let (v, _) = sim.run_vjp(0.5, -0.3, n, 2.0);
        assert_same_bits("Integrator::run_vjp", &[v], &[original.run(0.5, -0.3, n)]);
        assert_eq!((sim.steps, original.steps), (n + 1, n + 1));
    }
    let kicks = |p: &[f64]| Integrator { dt: 0.1, steps: 0 }.kicks(p[0], p[1]);
    check("Integrator::kicks", 93, 2, (-1.5, 1.5), kicks, |p| {
        let mut sim = Integrator { dt: 0.1, steps: 0 };
        let (v, g) = sim.kicks_grad(p[0], p[1]);
        assert_eq!(sim.steps, if p[0] > 0.0 { 4 } else { 3 }, "steps after kicks_grad at {p:?}");
        (v, g.flat())
    });
}

#[test]
fn generic_impls_with_real_in_f64_and_f32() {
    let mut r = rng(92);
    for case in 0..POINTS as u64 {
        let p64 = Pendulum { length: uniform(&mut r, 0.5, 2.0), gravity: uniform(&mut r, 5.0, 10.0) };
        check(
            "Pendulum::energy f64",
            case,
            2,
            (-1.0, 1.0),
            |p| p64.energy(p[0], p[1]),
            |p| {
                let (v, g) = p64.energy_grad(p[0], p[1]);
                (v, g.flat())
            },
        );
        check(
            "Pendulum::swing f64",
            case,
            2,
            (0.2, 1.0),
            |p| p64.swing(p[0], p[1] - 1.0),
            |p| {
                let (v, g) = p64.swing_grad(p[0], p[1] - 1.0);
                (v, g.flat())
            },
        );
        check(
            "Pendulum::steps_to_fall f64",
            case,
            1,
            (0.2, 1.5),
            |p| p64.steps_to_fall(p[0]),
            |p| {
                let (v, g) = p64.steps_to_fall_grad(p[0]);
                (v, vec![g])
            },
        );
        let p32 = Pendulum { length: p64.length as f32, gravity: p64.gravity as f32 };
        let at = (uniform(&mut r, -1.0, 1.0) as f32, uniform(&mut r, -1.0, 1.0) as f32);
        check_vjp(|(t, o)| p32.energy(t, o), |(t, o), d| p32.energy_vjp(t, o, d), at).assert_ok();
        check_vjp(Pendulum::<f32>::damping, Pendulum::<f32>::damping_vjp, at.1).assert_ok();
        // f32 at the f64 points where no step starts or stops near (the f64 check passed there).
        let at = (uniform(&mut r, 0.2, 1.0), uniform(&mut r, -0.8, 0.0));
        let f64_at = |s: f64| fd_with_step(|q| p64.swing(q[0], q[1]), &[at.0, at.1], s);
        if f64_at(1e-6).iter().zip(f64_at(4e-3)).all(|(a, b)| (a - b).abs() < 1e-2 * (1.0 + a.abs())) {
            let p32 = Pendulum { length: p64.length as f32, gravity: p64.gravity as f32 };
            let at = (at.0 as f32, at.1 as f32);
            check_vjp(|(t, o)| p32.swing(t, o), |(t, o), d| p32.swing_vjp(t, o, d), at).assert_ok();
        }
    }
}

// -- sampling in `while` loops --------------------------------------------------------------

/// A random walk until it leaves `(−2, 2)` (an active condition) or 40 steps: its noise is
/// stored per iteration, up to `max_iter`.
#[differentiable(max_iter = 40)]
fn random_walk<R: Rng>(mu: f64, sigma: f64, rng: &mut R) -> f64 {
    let mut s = 0.0;
    let mut k = 0;
    while s.abs() < 2.0 && k < 40 {
        s = s * 0.9 + normal_rsample(mu, sigma, rng);
        k += 1;
    }
    s * mu
}

/// Draws in a `loop` with a `continue` on the noise and a `break` on data.
#[differentiable(max_iter = 12)]
fn skipping_draws<R: Rng>(mu: f64, sigma: f64, rng: &mut R) -> f64 {
    let mut p = 1.0;
    let mut k = 0;
    loop {
        k += 1;
        if k > 10 {
            break;
        }
        let z = normal_rsample(mu, sigma, rng);
        if z < 0.0 {
            continue;
        }
        p = p * (1.0 + 0.1 * z);
    }
    p
}

#[test]
fn sampling_inside_while_and_loop_with_max_iter() {
    check_sampled("random_walk", 100, POINTS as u64, random_walk, random_walk_grad);
    check_sampled("skipping_draws", 101, POINTS as u64, skipping_draws, skipping_draws_grad);
}

// -- edge cases -------------------------------------------------------------------------------

/// `continue` as the last statement, and `continue` unconditionally ending an iteration.
#[differentiable]
fn trailing_continue(w: f64, c: [f64; 4], skip: &[bool; 4]) -> f64 {
    let mut p = 0.0;
    for i in 0..4 {
        p = p * w + c[i];
        if skip[i] {
            p = p * 0.5;
            continue;
        }
        p += 0.1 * w;
        continue;
    }
    p
}

/// `break` as the first statement: with `stop_at == 0` no iteration does anything.
#[differentiable]
fn first_break(x: [f64; 4], stop_at: usize) -> f64 {
    let mut p = 1.0;
    for i in 0..4 {
        if i == stop_at {
            break;
        }
        p = p * x[i] + x[i];
    }
    p
}

/// An inner `while` of data-dependent length inside a `for` that stores, and an inner `while`
/// on an active condition.
#[differentiable(max_iter = 8)]
fn inner_while(x: [f64; 3], reps: &[usize; 3]) -> f64 {
    let mut s = 1.0;
    for i in 0..3 {
        let mut k = 0;
        while k < reps[i] {
            s = s * x[i] + 0.5;
            k += 1;
        }
        while s < 2.0 {
            s = s * 1.5 + 0.1 * x[i] * x[i];
        }
        s = s.tanh();
    }
    s
}

/// `continue` in a `while` after the counter's step, and labelled exits from a `loop` in a
/// `while`.
#[differentiable(max_iter = 16)]
fn labelled_while(x: f64, n: usize) -> f64 {
    let mut s = x;
    let mut i = 0;
    'outer: while i < n {
        i += 1;
        if i % 3 == 0 {
            continue;
        }
        let mut j = 0;
        loop {
            j += 1;
            s = s.sin() * x + 0.5;
            if j == 3 {
                continue 'outer;
            }
            if s > 1.2 {
                break 'outer;
            }
        }
    }
    s
}

/// Zero-trip loops of each kind, with storage: the gradient is that of what follows.
#[differentiable(max_iter = 4)]
fn zero_trips(x: f64, xs: &[f64], n: usize) -> f64 {
    let mut p = x;
    for i in 0..xs.len() {
        p = p * xs[i];
    }
    while p < -100.0 {
        p = p * p;
    }
    let mut k = 0;
    while k < n {
        p = p * p;
        k += 1;
    }
    p * 3.0
}

/// A generic `T: Real` Horner recurrence with `continue` and `break`.
#[differentiable]
fn horner_until<T: Real, const N: usize>(w: T, c: [T; N], skip: &[u8; N]) -> T {
    let mut p = 0.0;
    for i in 0..N {
        if skip[i] == 1 {
            continue;
        }
        if skip[i] == 2 {
            break;
        }
        p = p * w + c[i];
    }
    p
}

#[test]
fn edge_cases() {
    let mut r = rng(110);
    for case in 0..POINTS as u64 {
        let skip: [bool; 4] = core::array::from_fn(|_| chance(&mut r, 0.5));
        check(
            "trailing_continue",
            case,
            5,
            (-1.5, 1.5),
            |p| trailing_continue(p[0], arr(&p[1..]), &skip),
            |p| {
                let (v, g) = trailing_continue_grad(p[0], arr(&p[1..]), &skip);
                (v, g.flat())
            },
        );
        let reps: [usize; 3] = core::array::from_fn(|_| uniform(&mut r, 0.0, 4.0) as usize);
        check(
            "inner_while",
            case,
            3,
            (0.5, 1.5),
            |p| inner_while(arr(p), &reps),
            |p| {
                let (v, g) = inner_while_grad(arr(p), &reps);
                (v, g.to_vec())
            },
        );
        let skip: [u8; 5] = core::array::from_fn(|_| uniform(&mut r, 0.0, 4.0) as u8);
        check(
            "horner_until f64",
            case,
            6,
            (-1.5, 1.5),
            |p| horner_until(p[0], arr(&p[1..]), &skip),
            |p| {
                let (v, g) = horner_until_grad(p[0], arr(&p[1..]), &skip);
                (v, g.flat())
            },
        );
        let at = (uniform(&mut r, -1.5, 1.5) as f32, core::array::from_fn(|_| uniform(&mut r, -1.5, 1.5) as f32));
        check_vjp(|(w, c)| horner_until(w, c, &skip), |(w, c), d| horner_until_vjp(w, c, &skip, d), at).assert_ok();
    }
    for stop_at in 0..=4 {
        check(
            "first_break",
            stop_at as u64,
            4,
            (-1.5, 1.5),
            |p| first_break(arr(p), stop_at),
            |p| {
                let (v, g) = first_break_grad(arr(p), stop_at);
                (v, g.to_vec())
            },
        );
    }
    for n in 0..12 {
        check(
            "labelled_while",
            n as u64,
            1,
            (-1.5, 1.5),
            |p| labelled_while(p[0], n),
            |p| {
                let (v, g) = labelled_while_grad(p[0], n);
                (v, vec![g])
            },
        );
    }
    for n in 0..3 {
        let xs = [0.5, -1.5, 2.0][..n].to_vec();
        check(
            "zero_trips",
            n as u64,
            1,
            (-1.5, 1.5),
            |p| zero_trips(p[0], &xs, 2 - n),
            |p| {
                let (v, g) = zero_trips_grad(p[0], &xs, 2 - n);
                (v, vec![g])
            },
        );
    }
}

// -- references in `wrt`, array outputs, passive state read by arms -----------------------------

/// `for i in 0..xs.len()` over a reference named in `wrt`: a compile-time bound, so storage
/// needs no `max_iter`.
#[differentiable(wrt(xs))]
fn horner_ref(xs: &[f64; 5], w: f64) -> f64 {
    let mut p = 0.0;
    for i in 0..xs.len() {
        p = p * w + xs[i];
        if p > 3.0 {
            break;
        }
    }
    p
}

/// `for v in xs` over a reference named in `wrt`, with `continue`.
#[differentiable(wrt(xs))]
fn horner_ref_items(xs: &[f64; 5], w: f64) -> f64 {
    let mut p = 0.0;
    for v in xs {
        if v.abs() < 0.5 {
            continue;
        }
        p = p * w + v;
    }
    p
}

/// An array written element by element in a loop that breaks, returned whole.
#[differentiable]
fn array_until(x: [f64; 4], stop: usize) -> [f64; 2] {
    let mut y = [1.0, 0.5];
    for i in 0..4 {
        y[i % 2] = y[i % 2] * x[i] + y[(i + 1) % 2];
        if i == stop {
            break;
        }
    }
    y
}

/// An array returned from inside a `while`.
#[differentiable(max_iter = 8)]
fn array_return(x: [f64; 2], n: usize) -> [f64; 2] {
    let mut y = x;
    let mut k = 0;
    while k < n {
        y = [y[0] * y[1] + 0.5, y[0] - y[1] * 0.5];
        if y[0] > 2.0 {
            return [y[0] * 2.0, y[1]];
        }
        k += 1;
    }
    y
}

/// A passive mode that the arms change, read by the next iteration's `match`; an active guard;
/// `match` on a counter with `continue`.
#[differentiable(max_iter = 16)]
fn modes(x: [f64; 5], n: usize) -> f64 {
    let mut mode = 0;
    let mut p = 1.0;
    for i in 0..5 {
        match mode {
            0 if p > 0.5 => {
                p = p * x[i];
                mode = 1;
            }
            0 => p = p - x[i],
            _ => {
                p = p + x[i];
                mode = 0;
            }
        }
    }
    let mut k = 0;
    while k < n {
        k += 1;
        match k % 3 {
            0 => p = p * x[0],
            1 => continue,
            _ => p = p.sin() + x[1],
        }
    }
    p
}

/// `match` inside `if` inside a loop that stores, with `break` and `continue` in arms and in
/// an `else if`; a `match` expression reading the stored value.
#[differentiable]
fn arms_in_branches(x: [f64; 5], modes: &[u8; 5]) -> f64 {
    let mut p = 1.0;
    for i in 0..5 {
        if x[i] > 0.0 {
            match modes[i] {
                0 => break,
                1 => {
                    p = p * x[i];
                    continue;
                }
                _ => p = p + x[i],
            }
        } else if modes[i] == 2 {
            continue;
        } else {
            p = p * p * 0.5;
        }
        let y = match modes[i] {
            0 => p * x[i],
            1 => p.sin() + x[i],
            _ => p,
        };
        p = y * 0.9 + 0.1;
    }
    p
}

/// A generic impl over a float type and a length.
struct Layer<T, const N: usize> {
    w: [T; N],
}

impl<T: Real, const N: usize> Layer<T, N> {
    #[differentiable(real = T)]
    fn apply(&self, x: [T; N]) -> T {
        let mut s = 0.0;
        for i in 0..N {
            s = s * 0.5 + self.w[i] * x[i];
            if s > 1.0 {
                break;
            }
        }
        s.tanh()
    }

    #[differentiable(real = T)]
    fn apply_scaled(&self, x: [T; N], k: usize) -> T {
        match k {
            0 => self.apply(x),
            _ => self.apply(x) * Self::square(x[0]),
        }
    }

    #[differentiable(real = T)]
    fn square(x: T) -> T {
        x * x
    }
}

#[test]
fn references_in_wrt_array_outputs_and_passive_state() {
    // `w` is data: finite differences move `xs` alone.
    for (seed, w) in [(120, -1.3), (121, 0.4), (122, 1.2)] {
        check(
            "horner_ref",
            seed,
            5,
            (-1.5, 1.5),
            |p| horner_ref(&arr(p), w),
            |p| {
                let (v, g) = horner_ref_grad(&arr(p), w);
                (v, g.to_vec())
            },
        );
        check(
            "horner_ref_items",
            seed,
            5,
            (-1.5, 1.5),
            |p| horner_ref_items(&arr(p), w),
            |p| {
                let (v, g) = horner_ref_items_grad(&arr(p), w);
                (v, g.to_vec())
            },
        );
    }
    let mut r = rng(123);
    for case in 0..POINTS {
        let dout = arr::<2>(&point(&mut r, 2, -1.0, 1.0));
        let along = |y: [f64; 2]| y[0] * dout[0] + y[1] * dout[1];
        let stop = case % 5;
        check(
            "array_until",
            case as u64,
            4,
            (-1.5, 1.5),
            |p| along(array_until(arr(p), stop)),
            |p| {
                let (v, g) = array_until_vjp(arr(p), stop, dout);
                assert_same_bits("array_until value", &v, &array_until(arr(p), stop));
                (along(v), g.to_vec())
            },
        );
        let n = case % 9;
        check(
            "array_return",
            case as u64,
            2,
            (-1.5, 1.5),
            |p| along(array_return(arr(p), n)),
            |p| {
                let (v, g) = array_return_vjp(arr(p), n, dout);
                assert_same_bits("array_return value", &v, &array_return(arr(p), n));
                (along(v), g.to_vec())
            },
        );
        check(
            "modes",
            case as u64,
            5,
            (-1.5, 1.5),
            |p| modes(arr(p), case % 17),
            |p| {
                let (v, g) = modes_grad(arr(p), case % 17);
                (v, g.to_vec())
            },
        );
        let m: [u8; 5] = core::array::from_fn(|_| uniform(&mut r, 0.0, 3.0) as u8);
        check(
            "arms_in_branches",
            case as u64,
            5,
            (-1.5, 1.5),
            |p| arms_in_branches(arr(p), &m),
            |p| {
                let (v, g) = arms_in_branches_grad(arr(p), &m);
                (v, g.to_vec())
            },
        );
        let layer = Layer { w: arr::<3>(&point(&mut r, 3, -1.0, 1.0)) };
        check(
            "Layer::apply_scaled",
            case as u64,
            3,
            (-1.5, 1.5),
            |p| layer.apply_scaled(arr(p), case % 2),
            |p| {
                let (v, g) = layer.apply_scaled_grad(arr(p), case % 2);
                (v, g.to_vec())
            },
        );
    }
}

// -- composition through loops with exits, exits from arms, conditions with side effects ------

/// A callee with its own `max_iter` loop that breaks.
#[differentiable(max_iter = 8)]
fn settle(x: f64, n: usize) -> f64 {
    let mut p = x;
    let mut k = 0;
    while k < n {
        p = p.sin() + x * 0.5;
        k += 1;
        if p > 1.0 {
            break;
        }
    }
    p
}

/// Calls it in a loop that stores and breaks.
#[differentiable]
fn settle_each(x: [f64; 3], n: usize) -> f64 {
    let mut s = 0.5;
    for i in 0..3 {
        s = settle(s * x[i], n) * s;
        if s < -1.0 {
            break;
        }
    }
    s
}

/// `continue 'outer`, `break 'outer` and `continue` as arms of a `match` in the inner loop.
#[differentiable]
fn exits_in_arms(x: [f64; 3], m: &[[u8; 3]; 3]) -> f64 {
    let mut s = 0.5;
    'outer: for i in 0..3 {
        for j in 0..3 {
            match m[i][j] {
                0 => continue 'outer,
                1 => break 'outer,
                2 => continue,
                _ => s = s * x[j] + x[i],
            }
            s = s * 0.9;
        }
        s = s + 0.1;
    }
    s
}

/// A `return` of a tuple with an integer from a loop.
#[differentiable]
fn first_over(x: [f64; 4]) -> (f64, usize) {
    let mut p = 1.0;
    for i in 0..4 {
        p = p * x[i] + 0.5;
        if p > 1.0 {
            return (p * 2.0, i);
        }
    }
    (p, 4)
}

/// A `while` whose condition advances an iterator: evaluated once per iteration, forward only.
#[differentiable(max_iter = 8)]
fn per_item(x: f64, xs: &[f64]) -> f64 {
    let mut items = xs.iter();
    let mut p = 1.0;
    while items.next().is_some() {
        p = p * x + 0.25;
    }
    p
}

#[test]
fn composition_exits_in_arms_and_conditions_with_side_effects() {
    let mut r = rng(130);
    for n in 0..=8 {
        check(
            "settle_each",
            n as u64,
            3,
            (-1.5, 1.5),
            |p| settle_each(arr(p), n),
            |p| {
                let (v, g) = settle_each_grad(arr(p), n);
                (v, g.to_vec())
            },
        );
        let xs = point(&mut r, n, -1.0, 1.0);
        check(
            "per_item",
            n as u64,
            1,
            (-1.5, 1.5),
            |p| per_item(p[0], &xs),
            |p| {
                let (v, g) = per_item_grad(p[0], &xs);
                (v, vec![g])
            },
        );
    }
    for case in 0..POINTS as u64 {
        let m: [[u8; 3]; 3] = core::array::from_fn(|_| core::array::from_fn(|_| uniform(&mut r, 0.0, 6.0) as u8));
        check(
            &format!("exits_in_arms {m:?}"),
            case,
            3,
            (-1.5, 1.5),
            |p| exits_in_arms(arr(p), &m),
            |p| {
                let (v, g) = exits_in_arms_grad(arr(p), &m);
                (v, g.to_vec())
            },
        );
    }
    check(
        "first_over",
        131,
        4,
        (-1.5, 1.5),
        |p| first_over(arr(p)).0,
        |p| {
            let ((v, i), g) = first_over_vjp(arr(p), (1.0, 0));
            assert_eq!(i, first_over(arr(p)).1, "first_over's index");
            (v, g.to_vec())
        },
    );
}

// -- adjoint loops whose iterations commute run first to last ----------------------------------

/// Rows of a matrix into one sine each: the inner loop's adjoint runs first to last inside the
/// outer loop's, which stores the sines' inputs.
#[differentiable]
fn rows_of_sines(w: [[f64; 3]; 4], x: [f64; 3]) -> f64 {
    let mut out = 0.0;
    for j in 0..4 {
        let mut h = 0.0;
        for i in 0..3 {
            h += w[j][i] * x[i];
        }
        out += h.sin() * x[j % 3];
    }
    out
}

/// Contributions added to two entries in turn, and a weight read by every iteration: the order
/// of the adjoint's iterations only rounds the sums differently.
#[differentiable]
fn alternate_sums(w: [f64; 6], x: [f64; 6], c: f64) -> f64 {
    let mut acc = [0.0; 2];
    for i in 0..6 {
        acc[i % 2] += w[i] * x[i] - c * x[5 - i];
    }
    acc[0].sin() * acc[1] + acc[1] * acc[1]
}

/// A loop that reads what it adds to (a product) keeps the last-first order.
#[differentiable]
fn running_products(w: [f64; 5], c: f64) -> f64 {
    let mut s = 1.0;
    let mut t = 0.0;
    for i in 0..5 {
        s = s * (w[i] + c);
        t += s * w[4 - i];
    }
    t
}

#[test]
fn adjoint_loops_in_either_order() {
    check(
        "rows_of_sines",
        140,
        15,
        (-1.5, 1.5),
        |p| rows_of_sines(core::array::from_fn(|j| arr(&p[3 * j..])), arr(&p[12..])),
        |p| {
            let (v, (gw, gx)) = rows_of_sines_grad(core::array::from_fn(|j| arr(&p[3 * j..])), arr(&p[12..]));
            (v, (gw, gx).flat())
        },
    );
    check(
        "alternate_sums",
        141,
        13,
        (-1.5, 1.5),
        |p| alternate_sums(arr(p), arr(&p[6..]), p[12]),
        |p| {
            let (v, (gw, gx, gc)) = alternate_sums_grad(arr(p), arr(&p[6..]), p[12]);
            (v, (gw, gx, gc).flat())
        },
    );
    check(
        "running_products",
        142,
        6,
        (-1.5, 1.5),
        |p| running_products(arr(p), p[5]),
        |p| {
            let (v, (gw, gc)) = running_products_grad(arr(p), p[5]);
            (v, (gw, gc).flat())
        },
    );
}
