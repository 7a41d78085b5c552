//! User-declared derivatives (`#[differentiable(vjp = path, jvp = path)]`, SPEC "User-declared
//! derivatives") composed wherever a differentiable function can be called: loops that store per
//! iteration, fused accumulations, `while` with `max_iter`, branches, `match`, methods, and other
//! declared functions. The declared functions cover scalar and array outputs, `T: Real`,
//! references as data, `wrt`, methods with `vjp = Self::…`, declared paths named `NAME_vjp` /
//! `NAME_jvp` and named otherwise, with and without `jvp =` (forward mode from the pullback).
//!
//! Every function, declared or caller, at 100 random points: `_vjp` (and `_grad`) against central
//! finite differences of the original along a random cotangent, `_jvp` against central finite
//! differences along a random direction, values bit for bit the original's, and relax's own
//! checker (`relax::check::check_vjp` / `check_jvp`, the whole Jacobian). A deliberately wrong
//! declared pullback (and pushforward) is caught by the checker, which names the coordinate. With
//! `hvp`, second order through declared pullbacks that are differentiable themselves: `_hvp`
//! against finite differences of `_grad`, alone and composed.
#![deny(warnings)]
// The fixtures are written the way relax's language reads best: index loops.
#![allow(clippy::needless_range_loop)]

mod common;

use common::*;
use rand::rngs::StdRng;
use relax::Coordinates;
use relax::check::{Options, Probe, check_jvp, check_vjp};
use relax::prelude::*;

const POINTS: usize = 100;

/// Entries of the spline tables.
const N: usize = 8;

// -- declared functions --------------------------------------------------------------------------

/// The cell of `x` in a table of `N` entries and the position `f = x − i` in it. The cell is
/// clamped to `1 ..= N − 3` so that entries `i − 1 ..= i + 2` exist; outside it the end cells'
/// cubics extend the curve smoothly.
fn cell<T: Real>(x: T) -> (usize, T) {
    let i = x.floor().to_usize().unwrap_or(0).clamp(1, N - 3);
    (i, x - T::from_usize(i))
}

/// The four uniform cubic B-spline weights at `f ∈ [0, 1)` and their derivatives in `f`.
fn bspline<T: Real>(f: T) -> ([T; 4], [T; 4]) {
    let n = T::from_usize;
    let g = T::one() - f;
    let w = [
        g * g * g / n(6),
        (n(3) * f * f * f - n(6) * f * f + n(4)) / n(6),
        (-n(3) * f * f * f + n(3) * f * f + n(3) * f + T::one()) / n(6),
        f * f * f / n(6),
    ];
    let dw =
        [-g * g / n(2), (n(3) * f * f - n(4) * f) / n(2), (-n(3) * f * f + n(2) * f + T::one()) / n(2), f * f / n(2)];
    (w, dw)
}

/// `Σ_k w_k · table[i − 1 + k]`.
fn combine<T: Real>(table: &[T; N], i: usize, w: [T; 4]) -> T {
    w[0] * table[i - 1] + w[1] * table[i] + w[2] * table[i + 1] + w[3] * table[i + 2]
}

/// A cubic B-spline through a table (`floor` and a cast to `usize` on `x`: a body the attribute
/// could not differentiate), C² everywhere so that finite differences are accurate at every point.
/// Generic, the table a reference (data), the declared functions named `NAME_vjp` and `NAME_jvp`.
#[differentiable(vjp = spline_vjp, jvp = spline_jvp)]
fn spline<T: Real>(x: T, table: &[T; N]) -> T {
    let (i, f) = cell(x);
    combine(table, i, bspline(f).0)
}

fn spline_vjp<T: Real>(x: T, table: &[T; N], dout: T) -> (T, T) {
    let (i, f) = cell(x);
    let (w, dw) = bspline(f);
    (combine(table, i, w), combine(table, i, dw) * dout)
}

fn spline_jvp<T: Real>(x: T, table: &[T; N], dx: T) -> (T, T) {
    let (i, f) = cell(x);
    let (w, dw) = bspline(f);
    (combine(table, i, w), combine(table, i, dw) * dx)
}

/// The same spline differentiated in the table too (an array parameter): the pullback named
/// otherwise, no `jvp =` (forward mode from the pullback).
#[differentiable(vjp = spline_table_pullback)]
fn spline_table(x: f64, table: [f64; N]) -> f64 {
    let (i, f) = cell(x);
    combine(&table, i, bspline(f).0)
}

fn spline_table_pullback(x: f64, table: [f64; N], dout: f64) -> (f64, (f64, [f64; N])) {
    let (i, f) = cell(x);
    let (w, dw) = bspline(f);
    let mut d_table = [0.0; N];
    for k in 0..4 {
        d_table[i - 1 + k] = w[k] * dout;
    }
    (combine(&table, i, w), (combine(&table, i, dw) * dout, d_table))
}

/// Kepler's equation `E − e·sin E = m` solved for `E` by Newton's method until the step
/// vanishes: the derivative by the implicit function theorem, `∂E/∂m = 1 / (1 − e·cos E)`.
/// `wrt(m)`: `e` is a float passed by value and data. The pullback named otherwise, no `jvp =`.
#[differentiable(wrt(m), vjp = kepler_pullback)]
fn kepler(m: f64, e: f64) -> f64 {
    let mut big_e = m;
    for _ in 0..64 {
        let step = (big_e - e * big_e.sin() - m) / (1.0 - e * big_e.cos());
        big_e -= step;
        if step.abs() <= 1e-15 * (1.0 + big_e.abs()) {
            break;
        }
    }
    big_e
}

fn kepler_pullback(m: f64, e: f64, dout: f64) -> (f64, f64) {
    let big_e = kepler(m, e);
    (big_e, dout / (1.0 - e * big_e.cos()))
}

/// A point from polar coordinates (`sin_cos`, which the attribute does not know): an array
/// output, the pullback named `NAME_vjp`, no `jvp =`: forward mode from two pullback calls.
#[differentiable(vjp = polar_vjp)]
fn polar(r: f64, theta: f64) -> [f64; 2] {
    let (s, c) = theta.sin_cos();
    [r * c, r * s]
}

fn polar_vjp(r: f64, theta: f64, dout: [f64; 2]) -> ([f64; 2], (f64, f64)) {
    let (s, c) = theta.sin_cos();
    let d_r = c * dout[0] + s * dout[1];
    let d_theta = r * (c * dout[1] - s * dout[0]);
    ([r * c, r * s], (d_r, d_theta))
}

/// A rotation of `v` by `angle`: an array output and an array parameter, both derivatives
/// declared and named otherwise.
#[differentiable(vjp = rotate_pullback, jvp = rotate_pushforward)]
fn rotate(v: [f64; 2], angle: f64) -> [f64; 2] {
    let (s, c) = angle.sin_cos();
    [c * v[0] - s * v[1], s * v[0] + c * v[1]]
}

fn rotate_pullback(v: [f64; 2], angle: f64, dout: [f64; 2]) -> ([f64; 2], ([f64; 2], f64)) {
    let (s, c) = angle.sin_cos();
    let d_v = [c * dout[0] + s * dout[1], c * dout[1] - s * dout[0]];
    // d(Rv)/d angle = [−s·v0 − c·v1, c·v0 − s·v1]
    let d_angle = dout[0] * (-s * v[0] - c * v[1]) + dout[1] * (c * v[0] - s * v[1]);
    ([c * v[0] - s * v[1], s * v[0] + c * v[1]], (d_v, d_angle))
}

fn rotate_pushforward(v: [f64; 2], angle: f64, (dv, da): ([f64; 2], f64)) -> ([f64; 2], [f64; 2]) {
    let (s, c) = angle.sin_cos();
    let value = [c * v[0] - s * v[1], s * v[0] + c * v[1]];
    let tangent =
        [c * dv[0] - s * dv[1] + da * (-s * v[0] - c * v[1]), s * dv[0] + c * dv[1] + da * (c * v[0] - s * v[1])];
    (value, tangent)
}

/// A declared function whose body calls declared functions, and whose pullback chains theirs
/// (`kepler_grad`, `spline_vjp`).
#[differentiable(vjp = anomaly_lookup_pullback)]
fn anomaly_lookup(m: f64, table: &[f64; N]) -> f64 {
    spline(kepler(m, 0.3), table)
}

fn anomaly_lookup_pullback(m: f64, table: &[f64; N], dout: f64) -> (f64, f64) {
    let (big_e, de_dm) = kepler_grad(m, 0.3);
    let (v, d) = spline_vjp(big_e, table, dout);
    (v, d * de_dm)
}

/// A calibrated sensor: methods with declared derivatives (`vjp = Self::…`).
struct Sensor {
    table: [f64; N],
    offset: f64,
}

impl Sensor {
    /// The reading at `x`: the declared pullback is a method named `NAME_vjp`, no `jvp =`.
    #[differentiable(vjp = Self::read_vjp)]
    fn read(&self, x: f64) -> f64 {
        let (i, f) = cell(x);
        combine(&self.table, i, bspline(f).0) + self.offset
    }

    fn read_vjp(&self, x: f64, dout: f64) -> (f64, f64) {
        let (i, f) = cell(x);
        let (w, dw) = bspline(f);
        (combine(&self.table, i, w) + self.offset, combine(&self.table, i, dw) * dout)
    }

    /// `ln(1 + x + x²)` summed by an iterator (which the attribute does not take): an associated
    /// function, both derivatives declared as associated functions named otherwise.
    #[differentiable(vjp = Self::gain_pullback, jvp = Self::gain_pushforward)]
    fn gain(x: f64) -> f64 {
        [1.0, x, x * x].iter().sum::<f64>().ln()
    }

    fn gain_pullback(x: f64, dout: f64) -> (f64, f64) {
        (Self::gain(x), dout * (1.0 + 2.0 * x) / (1.0 + x + x * x))
    }

    fn gain_pushforward(x: f64, dx: f64) -> (f64, f64) {
        (Self::gain(x), dx * (1.0 + 2.0 * x) / (1.0 + x + x * x))
    }

    /// Composition inside the `impl`: `self.read(..)` and `Self::gain(..)`.
    #[differentiable]
    fn calibrated(&self, x: f64, w: f64) -> f64 {
        Self::gain(w * self.read(x)) + self.read(w)
    }

    /// A method that reads in a loop and accumulates.
    #[differentiable(wrt(w))]
    fn sweep(&self, w: [f64; 3], xs: &[f64; 3]) -> f64 {
        let mut total = 0.0;
        for i in 0..3 {
            let r = self.read(xs[i] * w[i]);
            total += Self::gain(r - w[i]);
        }
        total
    }
}

// -- callers ---------------------------------------------------------------------------------------

/// A loop that stores per iteration (`p` is read and written): a product of spline values.
#[differentiable]
fn spline_product(x: f64, shifts: [f64; 4], table: &[f64; N]) -> f64 {
    let mut p = 1.0;
    for i in 0..4 {
        p *= spline(x + shifts[i], table);
    }
    p
}

/// Repeated rotations (an array state stored per iteration) with a kepler-scaled angle.
#[differentiable(wrt(v, angle))]
fn spin(v: [f64; 2], angle: f64, scales: &[f64; 3]) -> [f64; 2] {
    let mut u = v;
    for i in 0..3 {
        u = rotate(u, kepler(angle * scales[i], 0.4));
        u[0] *= 0.9;
    }
    u
}

/// A fused accumulation: a least-squares fit of a table through its declared derivative.
#[differentiable(wrt(table))]
fn table_loss(table: [f64; N], xs: &[f64; 6], ys: &[f64; 6]) -> f64 {
    let mut total = 0.0;
    for i in 0..6 {
        let r = spline_table(xs[i], table) - ys[i];
        total += r * r;
    }
    total
}

/// An accumulation over array outputs and a `wrt` function.
#[differentiable(wrt(r, m))]
fn orbit_sum(r: [f64; 4], m: [f64; 4], e: f64) -> [f64; 2] {
    let mut acc = [0.0, 0.0];
    for i in 0..4 {
        let p = polar(r[i], kepler(m[i], e));
        acc[0] += p[0];
        acc[1] += p[1];
    }
    acc
}

/// A fixed-point iteration of run-time length in a `while` (`max_iter`).
#[differentiable(max_iter = 16)]
fn smooth_iterate(x: f64, table: &[f64; N], n: usize) -> f64 {
    let mut y = x;
    let mut k = 0;
    while k < n {
        y = 0.5 * (y + spline(y, table));
        k += 1;
    }
    y
}

/// A branch on active values, declared functions in both arms.
#[differentiable]
fn branch(x: f64, y: f64, table: &[f64; N]) -> f64 {
    if x > y { kepler(x, 0.3) * y } else { polar(x, y)[0] + spline(y, table) }
}

/// `match` on data, a different declared function in every arm.
#[differentiable]
fn by_mode(x: f64, y: f64, mode: u8, table: &[f64; N]) -> f64 {
    match mode {
        0 => spline(x, table) * y,
        1 => kepler(x, 0.5) + y,
        2 => polar(y, x)[1],
        3 => rotate([x, y], x)[0],
        _ => anomaly_lookup(x, table) - y,
    }
}

/// A declared function built from declared functions, called from a differentiable one.
#[differentiable]
fn through_anomaly(m: f64, s: f64, table: &[f64; N]) -> f64 {
    s * anomaly_lookup(m * s, table)
}

// -- second order through declared pullbacks (`hvp`) --------------------------------------------

/// `ln(1 + eˣ)` written stably (`ln_1p(e^−|x|) + max(x, 0)`, whose kinks at 0 cancel), with a
/// declared pullback `σ(x)·dout` that is `#[differentiable]` itself: `hvp` is its forward mode.
#[differentiable(hvp, vjp = stable_softplus_pullback)]
fn stable_softplus(x: f64) -> f64 {
    (-x.abs()).exp().ln_1p() + x.max(0.0)
}

#[differentiable]
fn stable_softplus_pullback(x: f64, dout: f64) -> (f64, f64) {
    (softplus(x), sigmoid(x) * dout)
}

/// `Σ_k w_k·cosh(x_k − c)`, summed by an iterator (which the attribute does not take): an array
/// and a scalar differentiated, a reference as data.
#[differentiable(hvp, vjp = energy_pullback)]
fn energy(x: [f64; 3], c: f64, weights: &[f64; 3]) -> f64 {
    x.iter().zip(weights).map(|(xk, wk)| wk * (xk - c).cosh()).sum()
}

#[differentiable]
fn energy_pullback(x: [f64; 3], c: f64, weights: &[f64; 3], dout: f64) -> (f64, ([f64; 3], f64)) {
    let mut value = 0.0;
    let mut d_x = [0.0; 3];
    let mut d_c = 0.0;
    for k in 0..3 {
        value += weights[k] * (x[k] - c).cosh();
        let slope = weights[k] * (x[k] - c).sinh() * dout;
        d_x[k] = slope;
        d_c -= slope;
    }
    (value, (d_x, d_c))
}

/// `scale·x⁴`, generic, `scale` a float that is data, and a pullback that does not differentiate
/// its `dout` (`wrt(x)`): the second order adds the cotangent's tangent by linearity.
#[differentiable(hvp, wrt(x), vjp = quartic_pullback)]
fn quartic<T: Real>(x: T, scale: T) -> T {
    scale * x.powi(4)
}

#[differentiable(wrt(x))]
fn quartic_pullback<T: Real>(x: T, scale: T, dout: T) -> (T, T) {
    (scale * x.powi(4), 4.0 * scale * x * x * x * dout)
}

/// A differentiable caller with `hvp`: its second order goes through the declared functions'
/// hidden `NAME__hvp_with_option_hvp` forms.
#[differentiable(hvp)]
fn declared_second_order(x: [f64; 3], c: f64, weights: &[f64; 3]) -> f64 {
    energy(x, c, weights) * stable_softplus(x[0] - c) + quartic(c * x[1], 0.25) * x[2] + c * c
}

/// A method with a declared pullback that is a differentiable method (`Self::…`).
struct Spring {
    stiffness: f64,
}

impl Spring {
    #[differentiable(hvp, vjp = Self::potential_pullback)]
    fn potential(&self, x: f64) -> f64 {
        self.stiffness * x.powi(4) / 4.0
    }

    #[differentiable]
    fn potential_pullback(&self, x: f64, dout: f64) -> (f64, f64) {
        (self.stiffness * x.powi(4) / 4.0, self.stiffness * x * x * x * dout)
    }
}

// -- the harness -------------------------------------------------------------------------------

/// `like` with its coordinates replaced by `q`'s.
fn with_coordinates<P: Coordinates + Clone>(like: &P, q: &[f64]) -> P {
    let mut p = like.clone();
    let mut k = 0;
    p.map_coordinates(&mut |_| {
        k += 1;
        q[k - 1]
    });
    p
}

/// `like` with coordinates drawn uniformly from `[−1, 1)`.
fn random_like<P: Coordinates + Clone>(r: &mut StdRng, like: &P) -> P {
    with_coordinates(like, &point(r, like.coordinate_count(), -1.0, 1.0))
}

/// A function with its pullback and pushforward (closures over the generated `_vjp` and `_jvp`,
/// the differentiated parameters as one value `P`).
struct Derivatives<F, V, J> {
    f: F,
    vjp: V,
    jvp: J,
}

impl<F, V, J> Derivatives<F, V, J> {
    /// At `POINTS` points from `draw`: the pullback along a random cotangent and the
    /// pushforward along a random direction against central finite differences of `f` (the
    /// values bit for bit `f`'s), and both through relax's checker.
    #[track_caller]
    fn check<P, O>(&self, name: &str, seed: u64, draw: impl Fn(&mut StdRng) -> P)
    where
        P: Coordinates + Clone + std::fmt::Debug,
        O: Coordinates + Clone,
        F: Fn(P) -> O,
        V: Fn(P, O) -> (O, P),
        J: Fn(P, P) -> (O, O),
    {
        let mut r = rng(seed);
        for _ in 0..POINTS {
            let p = draw(&mut r);
            let x = p.flat();
            let value = (self.f)(p.clone());
            let at = |q: &[f64]| (self.f)(with_coordinates(&p, q)).flat();

            let dout = random_like(&mut r, &value);
            let (v, g) = (self.vjp)(p.clone(), dout.clone());
            assert_same_bits(&format!("{name}_vjp value at {p:?}"), &v.flat(), &value.flat());
            check_pullback(&format!("{name}_vjp"), &x, &dout.flat(), &at, &v.flat(), &g.flat());

            let direction = random_like(&mut r, &p);
            let (v, d) = (self.jvp)(p.clone(), direction.clone());
            assert_same_bits(&format!("{name}_jvp value at {p:?}"), &v.flat(), &value.flat());
            check_along(&format!("{name}_jvp"), &x, &direction.flat(), &at, &d.flat());

            check_vjp(&self.f, &self.vjp, p.clone()).assert_ok();
            check_jvp(&self.f, &self.jvp, p).assert_ok();
        }
    }
}

/// A scalar function's `_grad`: the value bit for bit `f`'s and the gradient `_vjp`'s at 1.
#[track_caller]
fn check_grad<P: Coordinates + Clone + std::fmt::Debug>(
    name: &str,
    seed: u64,
    draw: impl Fn(&mut StdRng) -> P,
    f: impl Fn(P) -> f64,
    grad: impl Fn(P) -> (f64, P),
) {
    let mut r = rng(seed);
    for _ in 0..POINTS {
        let p = draw(&mut r);
        let (v, g) = grad(p.clone());
        assert_same_bits(&format!("{name}_grad value at {p:?}"), &[v], &[f(p.clone())]);
        assert_grad(&format!("{name}_grad at {p:?}"), &g.flat(), &fd(|q| f(with_coordinates(&p, q)), &p.flat()));
    }
}

/// A table of `N` entries in `[lo, hi)`.
fn table(r: &mut StdRng, lo: f64, hi: f64) -> [f64; N] {
    arr(&point(r, N, lo, hi))
}

/// A spline argument inside the table's clamped cells `[1, N − 2)` or a little beyond.
fn inside(r: &mut StdRng) -> f64 {
    uniform(r, 0.5, N as f64 - 1.5)
}

// -- the declared functions themselves ---------------------------------------------------------

#[test]
fn declared_functions_against_finite_differences_and_the_checker() {
    let t = table(&mut rng(100), -2.0, 2.0);
    Derivatives { f: |x| spline(x, &t), vjp: |x, d| spline_vjp(x, &t, d), jvp: |x, d| spline_jvp(x, &t, d) }
        .check("spline", 1, inside);
    check_grad("spline", 2, inside, |x| spline(x, &t), |x| spline_grad(x, &t));

    Derivatives {
        f: |(x, t)| spline_table(x, t),
        vjp: |(x, t), d| spline_table_vjp(x, t, d),
        jvp: |(x, t), d| spline_table_jvp(x, t, d),
    }
    .check("spline_table", 3, |r| (inside(r), table(r, -2.0, 2.0)));

    for e in [0.1, 0.5, 0.9] {
        Derivatives { f: |m| kepler(m, e), vjp: |m, d| kepler_vjp(m, e, d), jvp: |m, d| kepler_jvp(m, e, d) }.check(
            "kepler",
            4,
            |r| uniform(r, -4.0, 4.0),
        );
    }
    // At m = 0, Newton stops at once: E = 0 and E′ = 1 / (1 − e).
    assert_eq!(kepler_grad(0.0, 0.5), (0.0, 2.0));

    Derivatives { f: |(r, a)| polar(r, a), vjp: |(r, a), d| polar_vjp(r, a, d), jvp: |(r, a), d| polar_jvp(r, a, d) }
        .check("polar", 5, |r| (uniform(r, 0.1, 3.0), uniform(r, -4.0, 4.0)));

    Derivatives {
        f: |(v, a)| rotate(v, a),
        vjp: |(v, a), d| rotate_vjp(v, a, d),
        jvp: |(v, a), d| rotate_jvp(v, a, d),
    }
    .check("rotate", 6, |r| (arr(&point(r, 2, -2.0, 2.0)), uniform(r, -4.0, 4.0)));

    let t = table(&mut rng(101), -2.0, 2.0);
    Derivatives {
        f: |m| anomaly_lookup(m, &t),
        vjp: |m, d| anomaly_lookup_vjp(m, &t, d),
        jvp: |m, d| anomaly_lookup_jvp(m, &t, d),
    }
    .check("anomaly_lookup", 7, |r| uniform(r, 1.0, 4.0));

    let sensor = Sensor { table: table(&mut rng(102), 0.0, 3.0), offset: 0.25 };
    Derivatives { f: |x| sensor.read(x), vjp: |x, d| sensor.read_vjp(x, d), jvp: |x, d| sensor.read_jvp(x, d) }.check(
        "Sensor::read",
        8,
        inside,
    );
    Derivatives { f: Sensor::gain, vjp: Sensor::gain_vjp, jvp: Sensor::gain_jvp }
        .check("Sensor::gain", 9, |r| uniform(r, -3.0, 3.0));
}

/// The generic declared function at `f32`: the checker takes `f32`'s step and tolerance.
#[test]
fn a_generic_declared_function_at_f32() {
    let t: [f32; N] = core::array::from_fn(|i| (i as f32 * 0.7).sin());
    let mut r = rng(10);
    for _ in 0..POINTS {
        let x = uniform(&mut r, 0.5, N as f64 - 1.5) as f32;
        check_vjp(|x| spline(x, &t), |x, d| spline_vjp(x, &t, d), x).assert_ok();
        check_jvp(|x| spline(x, &t), |x, d| spline_jvp(x, &t, d), x).assert_ok();
        assert_eq!(spline_grad(x, &t).0.to_bits(), spline(x, &t).to_bits());
    }
}

// -- callers -------------------------------------------------------------------------------------

#[test]
fn in_a_loop_that_stores_per_iteration() {
    let t = table(&mut rng(200), 0.5, 1.5);
    let draw = |r: &mut StdRng| (uniform(r, 1.0, 3.0), arr::<4>(&point(r, 4, -0.5, 2.5)));
    Derivatives {
        f: |(x, s)| spline_product(x, s, &t),
        vjp: |(x, s), d| spline_product_vjp(x, s, &t, d),
        jvp: |(x, s), d| spline_product_jvp(x, s, &t, d),
    }
    .check("spline_product", 11, draw);
    check_grad("spline_product", 12, draw, |(x, s)| spline_product(x, s, &t), |(x, s)| spline_product_grad(x, s, &t));

    let scales = [1.0, -0.5, 2.0];
    Derivatives {
        f: |(v, a)| spin(v, a, &scales),
        vjp: |(v, a), d| spin_vjp(v, a, &scales, d),
        jvp: |(v, a), d| spin_jvp(v, a, &scales, d),
    }
    .check("spin", 13, |r| (arr(&point(r, 2, -2.0, 2.0)), uniform(r, -2.0, 2.0)));
}

#[test]
fn in_fused_accumulations() {
    let mut r = rng(300);
    let xs: [f64; 6] = arr(&point(&mut r, 6, 0.5, N as f64 - 1.5));
    let ys: [f64; 6] = arr(&point(&mut r, 6, -1.0, 1.0));
    let draw = |r: &mut StdRng| table(r, -2.0, 2.0);
    Derivatives {
        f: |t| table_loss(t, &xs, &ys),
        vjp: |t, d| table_loss_vjp(t, &xs, &ys, d),
        jvp: |t, d| table_loss_jvp(t, &xs, &ys, d),
    }
    .check("table_loss", 14, draw);
    check_grad("table_loss", 15, draw, |t| table_loss(t, &xs, &ys), |t| table_loss_grad(t, &xs, &ys));

    Derivatives {
        f: |(r, m)| orbit_sum(r, m, 0.6),
        vjp: |(r, m), d| orbit_sum_vjp(r, m, 0.6, d),
        jvp: |(r, m), d| orbit_sum_jvp(r, m, 0.6, d),
    }
    .check("orbit_sum", 16, |r| (arr(&point(r, 4, 0.2, 2.0)), arr(&point(r, 4, -3.0, 3.0))));
}

#[test]
fn in_a_while_loop_with_max_iter() {
    let t = table(&mut rng(400), 1.5, 5.5);
    for n in [0, 1, 5, 16] {
        Derivatives {
            f: |x| smooth_iterate(x, &t, n),
            vjp: |x, d| smooth_iterate_vjp(x, &t, n, d),
            jvp: |x, d| smooth_iterate_jvp(x, &t, n, d),
        }
        .check("smooth_iterate", 17, |r| uniform(r, 1.5, 5.5));
        check_grad(
            "smooth_iterate",
            18,
            |r| uniform(r, 1.5, 5.5),
            |x| smooth_iterate(x, &t, n),
            |x| smooth_iterate_grad(x, &t, n),
        );
    }
}

#[test]
fn in_branches_and_match_arms() {
    let t = table(&mut rng(500), -2.0, 2.0);
    // Finite differences across the branch x = y are meaningless: points a step away from it.
    let off_the_branch = |r: &mut StdRng| {
        let y = uniform(r, 1.0, 4.0);
        (off_kink(r, y, 2.0), y)
    };
    Derivatives {
        f: |(x, y)| branch(x, y, &t),
        vjp: |(x, y), d| branch_vjp(x, y, &t, d),
        jvp: |(x, y), d| branch_jvp(x, y, &t, d),
    }
    .check("branch", 19, off_the_branch);
    check_grad("branch", 20, off_the_branch, |(x, y)| branch(x, y, &t), |(x, y)| branch_grad(x, y, &t));

    for mode in 0..5 {
        Derivatives {
            f: |(x, y)| by_mode(x, y, mode, &t),
            vjp: |(x, y), d| by_mode_vjp(x, y, mode, &t, d),
            jvp: |(x, y), d| by_mode_jvp(x, y, mode, &t, d),
        }
        .check("by_mode", 21, |r| (uniform(r, 1.0, 4.0), uniform(r, 0.5, 2.0)));
    }
}

#[test]
fn in_methods() {
    let sensor = Sensor { table: table(&mut rng(600), 0.0, 3.0), offset: -0.5 };
    let draw = |r: &mut StdRng| (inside(r), uniform(r, 0.5, 1.5));
    Derivatives {
        f: |(x, w)| sensor.calibrated(x, w),
        vjp: |(x, w), d| sensor.calibrated_vjp(x, w, d),
        jvp: |(x, w), d| sensor.calibrated_jvp(x, w, d),
    }
    .check("Sensor::calibrated", 22, draw);
    check_grad("Sensor::calibrated", 23, draw, |(x, w)| sensor.calibrated(x, w), |(x, w)| sensor.calibrated_grad(x, w));

    let xs = [1.5, 3.0, 4.5];
    Derivatives {
        f: |w| sensor.sweep(w, &xs),
        vjp: |w, d| sensor.sweep_vjp(w, &xs, d),
        jvp: |w, d| sensor.sweep_jvp(w, &xs, d),
    }
    .check("Sensor::sweep", 24, |r| arr(&point(r, 3, 0.5, 1.3)));
}

#[test]
fn in_other_declared_functions() {
    let t = table(&mut rng(700), -2.0, 2.0);
    let draw = |r: &mut StdRng| (uniform(r, 1.0, 3.0), uniform(r, 0.8, 1.2));
    Derivatives {
        f: |(m, s)| through_anomaly(m, s, &t),
        vjp: |(m, s), d| through_anomaly_vjp(m, s, &t, d),
        jvp: |(m, s), d| through_anomaly_jvp(m, s, &t, d),
    }
    .check("through_anomaly", 25, draw);
    check_grad(
        "through_anomaly",
        26,
        draw,
        |(m, s)| through_anomaly(m, s, &t),
        |(m, s)| through_anomaly_grad(m, s, &t),
    );
}

// -- a wrong declared derivative is caught -----------------------------------------------------

/// `x·sin(y)` with a pullback that forgets the cosine in `∂/∂y` (it returns `x` for `x·cos y`).
#[differentiable(vjp = wrong_pullback, jvp = wrong_pushforward)]
fn wrongly_declared(x: f64, y: f64) -> f64 {
    x * y.sin()
}

fn wrong_pullback(x: f64, y: f64, dout: f64) -> (f64, (f64, f64)) {
    (x * y.sin(), (dout * y.sin(), dout * x))
}

/// The pushforward is right in `x` and wrong in `y` alike.
fn wrong_pushforward(x: f64, y: f64, (dx, dy): (f64, f64)) -> (f64, f64) {
    (x * y.sin(), dx * y.sin() + dy * x)
}

/// A correct caller of the wrong declaration inherits the error.
#[differentiable]
fn calls_the_wrong_one(x: f64, y: f64) -> f64 {
    2.0 * wrongly_declared(x, y) + x
}

#[test]
fn the_checker_rejects_a_wrong_declared_pullback_and_names_the_coordinate() {
    let at = (2.0, 0.5);
    let report = check_vjp(|(x, y)| wrongly_declared(x, y), |(x, y), d| wrongly_declared_vjp(x, y, d), at);
    assert!(!report.is_ok(), "{report}");
    let worst = report.worst.as_ref().expect("compared");
    // Gradient coordinate 1 (∂/∂y): the pullback says x = 2, finite differences x·cos(0.5).
    assert_eq!((worst.coordinate, worst.path.as_str()), (1, ".1"), "{report}");
    assert_eq!(worst.analytic, 2.0, "{report}");
    assert!((worst.numeric - 2.0 * 0.5f64.cos()).abs() < 1e-8, "{report}");
    assert!(report.value_mismatch.is_none(), "the value is right: {report}");
    let text = report.to_string();
    assert!(text.contains("failed") && text.contains("gradient coordinate 1 (`.1`)"), "{text}");

    // Through a caller: ∂/∂y of 2·(x·sin y) + x is where it is wrong; ∂/∂x is right.
    let report = check_vjp(|(x, y)| calls_the_wrong_one(x, y), |(x, y), d| calls_the_wrong_one_vjp(x, y, d), at);
    assert!(!report.is_ok(), "{report}");
    assert_eq!(report.worst.as_ref().map(|w| w.coordinate), Some(1), "{report}");
    let (_, (gx, _)) = calls_the_wrong_one_grad(at.0, at.1);
    assert!((gx - (2.0 * 0.5f64.sin() + 1.0)).abs() < 1e-15, "∂/∂x is right: {gx}");

    // The pushforward: the direction along y is the one that shows it.
    let report = check_jvp(|(x, y)| wrongly_declared(x, y), |(x, y), d| wrongly_declared_jvp(x, y, d), at);
    assert!(!report.is_ok(), "{report}");
    // With the basis directions alone, the worst is the direction along y.
    let report = Options::new().random_probes(0).check_jvp(
        |(x, y)| wrongly_declared(x, y),
        |(x, y), d| wrongly_declared_jvp(x, y, d),
        at,
    );
    assert!(!report.is_ok(), "{report}");
    let worst = report.worst.as_ref().expect("compared");
    assert!(matches!(worst.probe, Probe::Basis { coordinate: 1, .. }), "{report}");

    // The right declaration passes the same checks (the checker is not merely strict).
    let right = |(x, y): (f64, f64), d: f64| (x * y.sin(), (d * y.sin(), d * x * y.cos()));
    check_vjp(|(x, y)| wrongly_declared(x, y), right, at).assert_ok();
}

// -- would a split (fwd/bwd) declaration help? -------------------------------------------------
//
// A caller's gradient runs a declared function's body for the value and, backward, its declared
// pullback, which computes again what the derivative needs (the cell and weights of a table, the
// solution of an equation). JAX's `custom_vjp` splits the declaration instead: `fwd` returns the
// value and residuals, `bwd` the cotangents from the residuals. These timings compare relax's
// generated gradient with hand-written ones of the same shape, calling body and pullback as relax
// does or a `fwd`/`bwd` pair (the best a split declaration could generate), on a cheap declared
// function (the spline) and an expensive one (Kepler's equation, a Newton solve). Not asserted:
// `cargo test --release --test declared -- --ignored --nocapture`.

/// Points of the timed workloads.
const TIMED: usize = 256;

/// A least-squares fit of a spline table (cheap declared function: a cell and four weights).
#[differentiable(wrt(table))]
fn spline_fit(table: [f64; N], xs: &[f64; TIMED], ys: &[f64; TIMED]) -> f64 {
    let mut total = 0.0;
    for j in 0..TIMED {
        let r = spline_table(xs[j], table) - ys[j];
        total += r * r;
    }
    total
}

/// `spline_fit`'s gradient by hand: each point's value and cotangents from the body and the
/// declared pullback (`SPLIT = false`, what relax runs), or from a `fwd` that keeps the cell and
/// weights and a `bwd` that uses them (`SPLIT = true`).
fn spline_fit_by_hand<const SPLIT: bool>(table: [f64; N], xs: &[f64; TIMED], ys: &[f64; TIMED]) -> (f64, [f64; N]) {
    let (mut total, mut g) = (0.0, [0.0; N]);
    for j in 0..TIMED {
        let d_table = if SPLIT {
            // fwd
            let (i, f) = cell(xs[j]);
            let w = bspline(f).0;
            let r = combine(&table, i, w) - ys[j];
            total += r * r;
            // bwd, in the pullback's layout
            let mut d_table = [0.0; N];
            for k in 0..4 {
                d_table[i - 1 + k] = 2.0 * r * w[k];
            }
            d_table
        } else {
            let r = spline_table(xs[j], table) - ys[j];
            total += r * r;
            spline_table_pullback(xs[j], table, 2.0 * r).1.1
        };
        for k in 0..N {
            g[k] += d_table[k];
        }
    }
    (total, g)
}

/// A fit of an anomaly offset through Kepler's equation (expensive declared function: Newton).
#[differentiable(wrt(m0))]
fn kepler_fit(m0: f64, ms: &[f64; TIMED], targets: &[f64; TIMED]) -> f64 {
    let mut total = 0.0;
    for j in 0..TIMED {
        let r = kepler(m0 + ms[j], 0.6) - targets[j];
        total += r * r;
    }
    total
}

/// `kepler_fit`'s gradient by hand: the body and the declared pullback, which solves again
/// (`SPLIT = false`), or each equation solved once and its solution kept (`SPLIT = true`).
fn kepler_fit_by_hand<const SPLIT: bool>(m0: f64, ms: &[f64; TIMED], targets: &[f64; TIMED]) -> (f64, f64) {
    let (mut total, mut g) = (0.0, 0.0);
    for j in 0..TIMED {
        let big_e = kepler(m0 + ms[j], 0.6);
        let r = big_e - targets[j];
        total += r * r;
        g += if SPLIT { 2.0 * r / (1.0 - 0.6 * big_e.cos()) } else { kepler_pullback(m0 + ms[j], 0.6, 2.0 * r).1 };
    }
    (total, g)
}

/// Median nanoseconds per call of each of `fs`, over rounds that time a batch of each in turn
/// (a change in the load of the machine touches all alike).
fn medians_ns<const K: usize>(fs: [&dyn Fn(); K]) -> [f64; K] {
    use std::time::Instant;
    const ROUNDS: usize = 31;
    const BATCH: usize = 200;
    let mut samples: [Vec<f64>; K] = core::array::from_fn(|_| Vec::with_capacity(ROUNDS));
    for _ in 0..ROUNDS {
        for (f, s) in fs.iter().zip(&mut samples) {
            let start = Instant::now();
            for _ in 0..BATCH {
                f();
            }
            s.push(start.elapsed().as_nanos() as f64 / BATCH as f64);
        }
    }
    samples.map(|mut s| {
        s.sort_by(f64::total_cmp);
        s[ROUNDS / 2]
    })
}

#[test]
#[ignore = "a measurement, not a check: run with --ignored --nocapture"]
fn split_declaration_timing() {
    use std::hint::black_box as bb;
    let mut r = rng(900);
    let (table, xs, ys) = (
        table(&mut r, -2.0, 2.0),
        arr::<TIMED>(&point(&mut r, TIMED, 0.5, 6.5)),
        arr(&point(&mut r, TIMED, -1.0, 1.0)),
    );
    let (ms, targets) = (arr::<TIMED>(&point(&mut r, TIMED, -3.0, 3.0)), arr(&point(&mut r, TIMED, -3.0, 3.0)));
    // The hand-written gradients are the generated one.
    let generated = spline_fit_grad(table, &xs, &ys).flat();
    for hand in [spline_fit_by_hand::<false>(table, &xs, &ys), spline_fit_by_hand::<true>(table, &xs, &ys)] {
        assert_close("spline_fit", &generated, &hand.flat(), 1e-12, 1e-12);
    }
    let generated = kepler_fit_grad(0.3, &ms, &targets).flat();
    for hand in [kepler_fit_by_hand::<false>(0.3, &ms, &targets), kepler_fit_by_hand::<true>(0.3, &ms, &targets)] {
        assert_close("kepler_fit", &generated, &hand.flat(), 1e-12, 1e-12);
    }

    let [primal, grad, recomputing, split] = medians_ns([
        &|| _ = bb(spline_fit(bb(table), bb(&xs), bb(&ys))),
        &|| _ = bb(spline_fit_grad(bb(table), bb(&xs), bb(&ys))),
        &|| _ = bb(spline_fit_by_hand::<false>(bb(table), bb(&xs), bb(&ys))),
        &|| _ = bb(spline_fit_by_hand::<true>(bb(table), bb(&xs), bb(&ys))),
    ]);
    println!(
        "spline table ({TIMED} points): primal {primal:.0} ns; gradients, relax's {:.2}×, by hand as relax {:.2}×, split by hand {:.2}×",
        grad / primal,
        recomputing / primal,
        split / primal
    );
    let [primal, grad, recomputing, split] = medians_ns([
        &|| _ = bb(kepler_fit(bb(0.3), bb(&ms), bb(&targets))),
        &|| _ = bb(kepler_fit_grad(bb(0.3), bb(&ms), bb(&targets))),
        &|| _ = bb(kepler_fit_by_hand::<false>(bb(0.3), bb(&ms), bb(&targets))),
        &|| _ = bb(kepler_fit_by_hand::<true>(bb(0.3), bb(&ms), bb(&targets))),
    ]);
    println!(
        "Kepler's equation ({TIMED} points): primal {primal:.0} ns; gradients, relax's {:.2}×, by hand as relax {:.2}×, split by hand {:.2}×",
        grad / primal,
        recomputing / primal,
        split / primal
    );
}

/// `_hvp` of a scalar function at `POINTS` points from `draw`, along random directions: the value
/// and the gradient bit for bit `_grad`'s, `H·v` against central finite differences of `_grad`
/// along `v`.
#[track_caller]
fn check_hvp<P: Coordinates + Clone + std::fmt::Debug>(
    name: &str,
    seed: u64,
    draw: impl Fn(&mut StdRng) -> P,
    grad: impl Fn(P) -> (f64, P),
    hvp: impl Fn(P, P) -> (f64, P, P),
) {
    let mut r = rng(seed);
    for _ in 0..POINTS {
        let p = draw(&mut r);
        let v = random_like(&mut r, &p);
        let (value, g) = grad(p.clone());
        let (hvp_value, hvp_g, hv) = hvp(p.clone(), v.clone());
        assert_same_bits(&format!("{name}_hvp value at {p:?}"), &[hvp_value], &[value]);
        assert_same_bits(&format!("{name}_hvp gradient at {p:?}"), &hvp_g.flat(), &g.flat());
        let grad_at = |q: &[f64]| grad(with_coordinates(&p, q)).1.flat();
        check_along(&format!("{name}_hvp"), &p.flat(), &v.flat(), &grad_at, &hv.flat());
    }
}

#[test]
fn second_order_through_declared_pullbacks() {
    let weights = [0.5, 1.5, -0.75];
    let spring = Spring { stiffness: 2.5 };
    let scalar = |r: &mut StdRng| uniform(r, -4.0, 4.0);
    let arrays = |r: &mut StdRng| (arr::<3>(&point(r, 3, -2.0, 2.0)), uniform(r, -1.0, 1.0));
    check_grad("stable_softplus", 71, scalar, stable_softplus, stable_softplus_grad);
    check_hvp("stable_softplus", 72, scalar, stable_softplus_grad, stable_softplus_hvp);
    check_grad("energy", 73, arrays, |(x, c)| energy(x, c, &weights), |(x, c)| energy_grad(x, c, &weights));
    check_hvp("energy", 74, arrays, |(x, c)| energy_grad(x, c, &weights), |(x, c), v| energy_hvp(x, c, &weights, v));
    check_hvp(
        "declared_second_order",
        75,
        arrays,
        |(x, c)| declared_second_order_grad(x, c, &weights),
        |(x, c), v| declared_second_order_hvp(x, c, &weights, v),
    );
    check_hvp("Spring::potential", 76, scalar, |x| spring.potential_grad(x), |x, v| spring.potential_hvp(x, v));
    check_hvp("quartic", 77, scalar, |x| quartic_grad(x, 1.5), |x, v| quartic_hvp(x, 1.5, v));
}
