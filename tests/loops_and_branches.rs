//! The control flow of version 0.2 on active code: `while`, `loop`, `break` and `continue`
//! (labelled too, leaving nested loops), early returns in loops of any bound, `max_iter`, `match`
//! on data, and methods in `impl` blocks. Every function at 100 or more random points: the value
//! (and the RNG's state, for sampled ones) bit for bit the original's, the gradient against
//! central finite differences of the original.
#![deny(warnings)]
// The fixtures are written the way relax's language reads best: index loops, `p = p * w`.
#![allow(clippy::needless_range_loop, clippy::assign_op_pattern)]

mod common;

use common::*;

use rand::rngs::StdRng;
use relax::check::check_vjp;
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

/// `continue` on an active condition: iterations whose candidate is negative change nothing.
#[differentiable]
fn skip_negative(x: [f64; 6], w: f64) -> f64 {
    let mut p = 1.0;
    for i in 0..6 {
        let q = p * w + x[i];
        if q < 0.0 {
            continue;
        }
        p = q * 0.8 + 0.1 * x[i] * p;
    }
    p
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

/// `break 'rows` and `continue 'rows` from the inner loop.
#[differentiable(wrt(x))]
fn labelled_exits(x: [f64; 4], lim: f64) -> f64 {
    let mut s = 0.25;
    'rows: for i in 0..4 {
        for j in 0..4 {
            s = s * x[j] + x[i] * 0.5;
            if s > lim {
                break 'rows;
            }
            if s < -lim {
                s = s * 0.5;
                continue 'rows;
            }
        }
        s = s * 0.9 + 0.1;
    }
    s * s
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

#[test]
fn exits_on_active_conditions_and_from_nested_loops() {
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
