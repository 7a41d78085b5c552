//! The helpers of relax's own tests and benchmarks: seeded random points, central finite
//! differences (those of [`relax::check`]), the assertions with the project's tolerances, and
//! flattening of values and gradients (through [`relax::Coordinates`]).
//!
//! relax-core's tests use it too: cargo allows the dev-dependency cycle, and their `relax_core`
//! is the one this crate reaches through `relax`.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use relax::Coordinates;
use relax::check::Options;

/// A seeded generator: every test draws the same points on every run.
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// A uniform draw from `[lo, hi)`.
pub fn uniform(rng: &mut StdRng, lo: f64, hi: f64) -> f64 {
    rng.random_range(lo..hi)
}

/// `n` uniform draws from `[lo, hi)`.
pub fn point(rng: &mut StdRng, n: usize, lo: f64, hi: f64) -> Vec<f64> {
    (0..n).map(|_| uniform(rng, lo, hi)).collect()
}

/// The first `N` entries of `p` as an array.
pub fn arr<const N: usize>(p: &[f64]) -> [f64; N] {
    core::array::from_fn(|i| p[i])
}

/// Central finite differences of a scalar function, with the relative step `1e-6`.
pub fn fd(f: impl Fn(&[f64]) -> f64, p: &[f64]) -> Vec<f64> {
    fd_with_step(f, p, 1e-6)
}

/// Central finite differences of a scalar function: entry `i` is
/// `(f(p + h·e_i) − f(p − h·e_i)) / 2h` with `h = step·max(|p_i|, 1)`.
pub fn fd_with_step(f: impl Fn(&[f64]) -> f64, p: &[f64], step: f64) -> Vec<f64> {
    let mut rows = Options::new().step(step).numerical_jacobian(|q: Vec<f64>| f(&q), p.to_vec());
    rows.swap_remove(0)
}

/// `|a − b| ≤ rel·(|a| + |b|) + abs` for every entry.
#[track_caller]
pub fn assert_close(what: &str, a: &[f64], b: &[f64], rel: f64, abs: f64) {
    assert_eq!(a.len(), b.len(), "{what}: {} entries against {}", a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= rel * (x.abs() + y.abs()) + abs,
            "{what}: entry {i}: {x:e} vs {y:e}\n  {a:?}\n  {b:?}"
        );
    }
}

/// A gradient `g` against finite differences `fd`, within `rel·(|g| + |fd|) + abs`.
#[track_caller]
pub fn assert_close_to_fd(what: &str, g: &[f64], fd: &[f64], rel: f64, abs: f64) {
    assert_close(&format!("{what} (gradient vs finite differences)"), g, fd, rel, abs);
}

/// The f64 tolerance of relax's gradient tests: `1e-6·(|g| + |fd|) + 1e-9`.
#[track_caller]
pub fn assert_grad(what: &str, g: &[f64], fd: &[f64]) {
    assert_close_to_fd(what, g, fd, 1e-6, 1e-9);
}

/// Same bits, entry by entry.
#[track_caller]
pub fn assert_same_bits(what: &str, a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len(), "{what}: shapes");
    for (x, y) in a.iter().zip(b) {
        assert!(x.to_bits() == y.to_bits(), "{what}: {x:e} is not bit-identical to {y:e}");
    }
}

/// A pullback at `p` with cotangent `dout`: its `value` within `1e-14` (relative) of `f(p)`, and
/// its gradient `g` against finite differences of `Σ_k f(p)_k · dout_k` within [`assert_grad`]'s
/// tolerance.
#[track_caller]
pub fn check_pullback(name: &str, p: &[f64], dout: &[f64], f: &dyn Fn(&[f64]) -> Vec<f64>, value: &[f64], g: &[f64]) {
    let want = f(p);
    assert_eq!(value.len(), want.len(), "{name}: value shape");
    for (a, b) in value.iter().zip(&want) {
        assert!((a - b).abs() <= 1e-14 * b.abs().max(1.0), "{name} at {p:?}: value {a} vs {b}");
    }
    let along_dout = |q: &[f64]| f(q).iter().zip(dout).map(|(a, b)| a * b).sum();
    assert_grad(&format!("{name} at {p:?}, dout {dout:?}"), g, &fd(along_dout, p));
}

/// A value or gradient layout as its float coordinates, in order (floats, arrays, tuples).
pub trait Flat {
    /// The coordinates.
    fn flat(&self) -> Vec<f64>;
}

impl<T: Coordinates + ?Sized> Flat for T {
    fn flat(&self) -> Vec<f64> {
        let mut out = Vec::new();
        self.for_each_coordinate(&mut |c| out.push(c));
        out
    }
}

/// Random points per rule in relax-core's tests.
pub const POINTS: usize = 250;

/// Central finite differences of `f` at `p` along the direction `v`:
/// `(f(p + h·v) − f(p − h·v)) / 2h`, with `h` relative to the largest `|p_i|`.
pub fn fd_along(f: &dyn Fn(&[f64]) -> Vec<f64>, p: &[f64], v: &[f64]) -> Vec<f64> {
    let h = 1e-6 * p.iter().fold(1.0_f64, |m, x| m.max(x.abs()));
    let at = |s: f64| f(&p.iter().zip(v).map(|(a, b)| a + s * h * b).collect::<Vec<_>>());
    at(1.0).iter().zip(at(-1.0)).map(|(up, down)| (up - down) / (2.0 * h)).collect()
}

/// `d`, the tangent of `f` at `p` along `v`, against [`fd_along`] within [`assert_grad`]'s tolerance.
#[track_caller]
pub fn check_along(name: &str, p: &[f64], v: &[f64], f: &dyn Fn(&[f64]) -> Vec<f64>, d: &[f64]) {
    assert_grad(&format!("{name} at {p:?} along {v:?}"), d, &fd_along(f, p, v));
}

/// A value at least `1e-3` away from `kink`, on a random side, within `spread`.
pub fn off_kink(r: &mut StdRng, kink: f64, spread: f64) -> f64 {
    let d = uniform(r, 1e-3, spread);
    if uniform(r, 0.0, 1.0) < 0.5 { kink - d } else { kink + d }
}

/// `[x_0 … x_4, t]`: five logits and a temperature, for the softmax family.
pub fn logits_and_temperature(r: &mut StdRng) -> Vec<f64> {
    let mut p = point(r, 5, -4.0, 4.0);
    p.push(uniform(r, 0.3, 3.0));
    p
}

/// The Jacobian of `f` at `p` by central finite differences, row by row (one row, the gradient,
/// for a scalar `f`), with the relative step `1e-6`.
pub fn fd_jacobian(f: impl Fn(&[f64]) -> Vec<f64>, p: &[f64]) -> Vec<f64> {
    let rows = Options::new().step(1e-6).numerical_jacobian(|q: Vec<f64>| f(&q), p.to_vec());
    rows.concat()
}

/// Whether every entry of `v` is finite (neither infinite nor NaN).
pub fn finite(v: &[f64]) -> bool {
    v.iter().all(|x| x.is_finite())
}

/// Magnitudes from 1e-300 to `f64::MAX`, with `MIN_POSITIVE` and 0, both signs: the extreme
/// inputs on which the rules must stay finite.
pub fn magnitudes() -> Vec<f64> {
    let mut v: Vec<f64> = (-300..=308).step_by(4).map(|e| 10f64.powi(e)).collect();
    v.extend([f64::MAX, f64::MIN_POSITIVE, 0.0]);
    v.iter().flat_map(|&m| [m, -m]).collect()
}
