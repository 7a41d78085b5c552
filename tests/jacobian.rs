//! `#[differentiable(jacobian)]`: at `POINTS` random points per function, `NAME_jacobian`'s value
//! is the original's bit for bit, its row `i` is `NAME_vjp`'s gradient for the unit cotangent
//! `e_i` bit for bit, and the rows match central finite differences of the original. The
//! functions cover the rows pulled back side by side in one sweep (two to four, one lane each)
//! and the loop over rows (more), callees with the option (an array output, a scalar one, a
//! tuple) called once and in a loop, loops that store per iteration, accumulation loops, a
//! `while` loop, branches and an early return, a generic `T: Real` at f32 and f64, and a method.
#![deny(warnings)]
#![allow(clippy::needless_range_loop)]

mod common;

use common::*;
use relax::Coordinates;
use relax::prelude::*;

const POINTS: usize = 100;

/// A turn of `p` by the angle `a` about the z axis, with a branch (the other side shears instead).
#[differentiable(jacobian)]
fn turn(a: f64, p: [f64; 3]) -> [f64; 3] {
    if a > 0.0 {
        let (s, c) = (a.sin(), a.cos());
        [c * p[0] - s * p[1], s * p[0] + c * p[1], p[2]]
    } else {
        [p[0] + a * p[1], p[1] - a * p[0], p[2] * (1.0 + a * a)]
    }
}

/// A scalar output: `jacobian` only makes its pullback one that callers' rows can run again.
#[differentiable(jacobian)]
fn energy(p: [f64; 3]) -> f64 {
    softplus(p[0]) + p[1] * p[2].tanh()
}

/// Both callees in a loop that stores per iteration (their pullbacks, and `q`), with data.
#[differentiable(wrt(a, p), jacobian)]
fn chain(a: f64, p: [f64; 3], data: &[f64; 4]) -> [f64; 3] {
    let mut q = p;
    for k in 0..4 {
        q = turn(a * data[k], q);
        q[2] += 0.1 * energy(q);
    }
    q
}

/// A tuple output: `jacobian` only makes its pullback reusable, for `chained_pair`.
#[differentiable(jacobian)]
fn pair(u: f64, v: f64) -> (f64, f64) {
    ((u * v).tanh(), u - 0.5 * v)
}

/// Calls the tuple-output callee twice.
#[differentiable(jacobian)]
fn chained_pair(x: [f64; 2]) -> [f64; 3] {
    let (a, b) = pair(x[0], x[1]);
    let (c, d) = pair(b, a);
    [a * d, c, b + c]
}

/// Six outputs: more rows than are written out, so the rows run in a loop.
#[differentiable(jacobian)]
fn features(x: [f64; 2]) -> [f64; 6] {
    let r2 = x[0] * x[0] + x[1] * x[1];
    [x[0], x[1], x[0] * x[1], r2.sqrt(), (x[0] - x[1]).exp(), sigmoid(r2)]
}

/// Four rows: accumulation loops (their adjoint scales a Jacobian the forward sweep accumulated,
/// once per row), a `while` loop that may stop early, and an early return.
#[differentiable(wrt(w), jacobian, max_iter = 4)]
fn moments(w: [f64; 3], xs: &[f64; 3]) -> [f64; 4] {
    let mut s = 0.0;
    for i in 0..3 {
        s += w[i] * xs[i];
    }
    let mut q = 0.0;
    for i in 0..3 {
        q += (w[i] - s).tanh();
    }
    let mut t = s;
    let mut k = 0;
    while k < 4 && t < 3.0 {
        t = t * 1.5 + q * q;
        k += 1;
    }
    if q > 1.0 {
        return [s, q, t, 0.5 * t];
    }
    [s, q * s, t, s.exp()]
}

/// Generic over the float type.
#[differentiable(jacobian)]
fn polar<T: Real>(r: T, t: T) -> [T; 2] {
    [r * t.cos(), r * t.sin()]
}

/// A two-link planar arm: the tip's position for the joint angles.
struct Arm {
    lengths: [f64; 2],
}

impl Arm {
    #[differentiable(jacobian)]
    fn tip(&self, angles: [f64; 2]) -> [f64; 2] {
        let total = angles[0] + angles[1];
        [
            self.lengths[0] * angles[0].cos() + self.lengths[1] * total.cos(),
            self.lengths[0] * angles[0].sin() + self.lengths[1] * total.sin(),
        ]
    }
}

/// At `POINTS` points of `n` coordinates in `[lo, hi)`: `jacobian(p)` gives `f(p)` bit for bit
/// and rows equal to `vjp(p, e_i)`'s bit for bit, and the rows match finite differences of `f`.
#[track_caller]
fn check<V: Coordinates, R: Coordinates, G: Coordinates>(
    name: &str,
    (n, lo, hi): (usize, f64, f64),
    f: impl Fn(&[f64]) -> V,
    jacobian: impl Fn(&[f64]) -> (V, R),
    vjp: impl Fn(&[f64], usize) -> G,
) {
    let mut r = rng(0x1ac0);
    for _ in 0..POINTS {
        let p = point(&mut r, n, lo, hi);
        let at = format!("{name} at {p:?}");
        let (value, rows) = jacobian(&p);
        let (value, rows) = (value.flat(), rows.flat());
        assert_same_bits(&format!("{at}: value"), &value, &f(&p).flat());
        assert_eq!(rows.len(), value.len() * n, "{at}: rows");
        for (i, row) in rows.chunks(n).enumerate() {
            assert_same_bits(&format!("{at}: row {i} against _vjp"), row, &vjp(&p, i).flat());
        }
        assert_grad(&at, &rows, &fd_jacobian(|q| f(q).flat(), &p));
    }
}

/// The unit cotangent `e_i` of an output of `N` components, its zeros relax's zero tangent
/// (`−0.0`, the additive identity), as `NAME_jacobian`'s are.
fn unit<const N: usize>(i: usize) -> [f64; N] {
    core::array::from_fn(|k| if k == i { 1.0 } else { -0.0 })
}

#[test]
fn rows_written_out_are_the_pullbacks_of_unit_cotangents() {
    // On both sides of the branch at a = 0, away from it (finite differences would straddle it).
    for (lo, hi) in [(0.05, 2.0), (-2.0, -0.05)] {
        let (a, p) = (|p: &[f64]| p[0], |p: &[f64]| arr::<3>(&p[1..]));
        check(
            "turn",
            (4, lo, hi),
            |q| turn(a(q), p(q)),
            |q| turn_jacobian(a(q), p(q)),
            |q, i| turn_vjp(a(q), p(q), unit(i)).1,
        );
    }
    let arm = Arm { lengths: [1.5, 0.8] };
    check(
        "Arm::tip",
        (2, -3.0, 3.0),
        |q| arm.tip(arr(q)),
        |q| arm.tip_jacobian(arr(q)),
        |q, i| arm.tip_vjp(arr(q), unit(i)).1,
    );
    check(
        "polar::<f64>",
        (2, -3.0, 3.0),
        |q| polar(q[0], q[1]),
        |q| polar_jacobian(q[0], q[1]),
        |q, i| polar_vjp(q[0], q[1], unit(i)).1,
    );
}

#[test]
fn four_rows_through_accumulations_a_while_loop_and_a_return() {
    let xs = [0.7, -0.4, 1.3];
    check(
        "moments",
        (3, -1.5, 1.5),
        |q| moments(arr(q), &xs),
        |q| moments_jacobian(arr(q), &xs),
        |q, i| moments_vjp(arr(q), &xs, unit(i)).1,
    );
}

#[test]
fn callees_in_a_stored_loop() {
    let data = [0.3, -0.7, 1.1, 0.5];
    // a·data[k] changes sign only at a = 0: points with a > 0 and with a < 0.
    for (lo, hi) in [(0.05, 1.5), (-1.5, -0.05)] {
        let (a, p) = (|q: &[f64]| q[0], |q: &[f64]| arr::<3>(&q[1..]));
        check(
            "chain",
            (4, lo, hi),
            |q| chain(a(q), p(q), &data),
            |q| chain_jacobian(a(q), p(q), &data),
            |q, i| chain_vjp(a(q), p(q), &data, unit(i)).1,
        );
    }
}

#[test]
fn tuple_output_callees() {
    check(
        "chained_pair",
        (2, -1.5, 1.5),
        |q| chained_pair(arr(q)),
        |q| chained_pair_jacobian(arr(q)),
        |q, i| chained_pair_vjp(arr(q), unit(i)).1,
    );
}

#[test]
fn rows_in_a_loop() {
    check(
        "features",
        (2, -1.5, 1.5),
        |q| features(arr(q)),
        |q| features_jacobian(arr(q)),
        |q, i| features_vjp(arr(q), unit(i)).1,
    );
}

#[test]
fn scalar_outputs_keep_their_gradient() {
    let mut r = rng(7);
    for _ in 0..POINTS {
        let p = arr::<3>(&point(&mut r, 3, -2.0, 2.0));
        let (value, g) = energy_grad(p);
        assert_same_bits("energy value", &[value], &[energy(p)]);
        assert_grad("energy", &g, &fd(|q| energy(arr(q)), &p));
    }
}

#[test]
fn f32_jacobians() {
    let mut r = rng(32);
    for _ in 0..POINTS {
        let (radius, angle) = (uniform(&mut r, 0.1, 3.0) as f32, uniform(&mut r, -3.0, 3.0) as f32);
        let (value, rows) = polar_jacobian(radius, angle);
        assert_eq!(value.map(f32::to_bits), polar(radius, angle).map(f32::to_bits));
        // The closed form: d(r cos t, r sin t)/d(r, t).
        let want = [[angle.cos(), -radius * angle.sin()], [angle.sin(), radius * angle.cos()]];
        for (row, want) in rows.iter().zip(want) {
            assert!((row.0 - want[0]).abs() <= 1e-6 && (row.1 - want[1]).abs() <= 1e-5 * radius.max(1.0));
        }
    }
}
