//! Finite differences, random points and gradient flattening for the attribute's tests.
#![allow(dead_code)]

pub mod fns;

use rand::rngs::StdRng;
use rand::{Rng, RngExt, SeedableRng};

pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

pub fn point(rng: &mut StdRng, n: usize, lo: f64, hi: f64) -> Vec<f64> {
    (0..n).map(|_| rng.random_range(lo..hi)).collect()
}

pub fn arr<const N: usize>(p: &[f64]) -> [f64; N] {
    core::array::from_fn(|i| p[i])
}

/// Central finite differences of a scalar function.
pub fn fd(f: impl Fn(&[f64]) -> f64, p: &[f64]) -> Vec<f64> {
    let mut q = p.to_vec();
    (0..p.len())
        .map(|i| {
            let h = 1e-6 * p[i].abs().max(1.0);
            q[i] = p[i] + h;
            let up = f(&q);
            q[i] = p[i] - h;
            let down = f(&q);
            q[i] = p[i];
            (up - down) / (2.0 * h)
        })
        .collect()
}

/// `|g − fd| ≤ rel·(|g| + |fd|) + abs` for every entry.
#[track_caller]
pub fn assert_close_to_fd(what: &str, g: &[f64], fd: &[f64], rel: f64, abs: f64) {
    assert_eq!(g.len(), fd.len(), "{what}: {} gradient entries, {} finite differences", g.len(), fd.len());
    for (i, (a, b)) in g.iter().zip(fd).enumerate() {
        assert!(
            (a - b).abs() <= rel * (a.abs() + b.abs()) + abs,
            "{what}: entry {i}: gradient {a:e}, finite differences {b:e}\n  gradient {g:?}\n  fd {fd:?}"
        );
    }
}

/// The f64 tolerance of the issue: `1e-6·(|g| + |fd|) + 1e-9`.
#[track_caller]
pub fn assert_grad(what: &str, g: &[f64], fd: &[f64]) {
    assert_close_to_fd(what, g, fd, 1e-6, 1e-9);
}

/// Flattens values and gradient layouts.
pub trait Flat {
    fn flat(&self) -> Vec<f64>;
}
impl Flat for f64 {
    fn flat(&self) -> Vec<f64> {
        vec![*self]
    }
}
impl Flat for f32 {
    fn flat(&self) -> Vec<f64> {
        vec![f64::from(*self)]
    }
}
impl<A: Flat, const N: usize> Flat for [A; N] {
    fn flat(&self) -> Vec<f64> {
        self.iter().flat_map(Flat::flat).collect()
    }
}
impl<A: Flat, B: Flat> Flat for (A, B) {
    fn flat(&self) -> Vec<f64> {
        [self.0.flat(), self.1.flat()].concat()
    }
}
impl<A: Flat, B: Flat, C: Flat> Flat for (A, B, C) {
    fn flat(&self) -> Vec<f64> {
        [self.0.flat(), self.1.flat(), self.2.flat()].concat()
    }
}

/// Same bits, entry by entry.
#[track_caller]
pub fn assert_same_bits(what: &str, a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len(), "{what}: shapes");
    for (x, y) in a.iter().zip(b) {
        assert!(x.to_bits() == y.to_bits(), "{what}: {x:e} is not bit-identical to {y:e}");
    }
}

/// A function of `(mu, sigma)` that samples, at `points` random points: from equally seeded RNGs
/// its gradient gives the original's value bit for bit, leaves the RNG where the original leaves
/// it, and matches finite differences taken with the same noise (except next to a branch on the
/// noise, where finite differences at two steps disagree).
pub fn check_sampled(
    name: &str,
    seed: u64,
    points: u64,
    f: impl Fn(f64, f64, &mut StdRng) -> f64,
    grad: impl Fn(f64, f64, &mut StdRng) -> (f64, (f64, f64)),
) {
    let mut r = rng(seed);
    for noise in 0..points {
        let p = [point(&mut r, 1, -1.5, 1.5)[0], point(&mut r, 1, 0.2, 1.5)[0]];
        let (mut a, mut b) = (StdRng::seed_from_u64(noise), StdRng::seed_from_u64(noise));
        let v = f(p[0], p[1], &mut a);
        let (vg, g) = grad(p[0], p[1], &mut b);
        assert_same_bits(&format!("{name} value"), &[vg], &[v]);
        assert_eq!(a.next_u64(), b.next_u64(), "RNG state after {name}_grad");
        let same_noise = |q: &[f64]| f(q[0], q[1], &mut StdRng::seed_from_u64(noise));
        let (fd1, fd2) = (fd(same_noise, &p), fd(same_noise, &[p[0] + 1e-7, p[1] + 1e-7]));
        if (0..2).any(|i| (fd1[i] - fd2[i]).abs() > 1e-4 * (1.0 + fd1[i].abs())) {
            continue;
        }
        assert_grad(&format!("{name} (same noise)"), &[g.0, g.1], &fd1);
    }
}
