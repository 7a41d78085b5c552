//! Finite differences and random points for the rule tests (pullbacks and pushforwards).
#![allow(dead_code)]

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Random points per rule.
pub const POINTS: usize = 250;

pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

pub fn uniform(rng: &mut StdRng, lo: f64, hi: f64) -> f64 {
    rng.random_range(lo..hi)
}

pub fn vec_in(rng: &mut StdRng, n: usize, lo: f64, hi: f64) -> Vec<f64> {
    (0..n).map(|_| uniform(rng, lo, hi)).collect()
}

pub fn arr<const N: usize>(p: &[f64]) -> [f64; N] {
    core::array::from_fn(|i| p[i])
}

/// Central finite differences of `Σ_k f(p)_k · dout_k`.
pub fn fd(f: &dyn Fn(&[f64]) -> Vec<f64>, p: &[f64], dout: &[f64]) -> Vec<f64> {
    let mut q = p.to_vec();
    (0..p.len())
        .map(|i| {
            let h = 1e-6 * p[i].abs().max(1.0);
            q[i] = p[i] + h;
            let up: f64 = f(&q).iter().zip(dout).map(|(a, b)| a * b).sum();
            q[i] = p[i] - h;
            let down: f64 = f(&q).iter().zip(dout).map(|(a, b)| a * b).sum();
            q[i] = p[i];
            (up - down) / (2.0 * h)
        })
        .collect()
}

/// `|g − fd| ≤ 1e-6·(|g| + |fd|) + 1e-9` for every entry, and the value equal to `f(p)`.
#[track_caller]
pub fn check(name: &str, p: &[f64], dout: &[f64], f: &dyn Fn(&[f64]) -> Vec<f64>, value: &[f64], g: &[f64]) {
    let want = f(p);
    assert_eq!(value.len(), want.len(), "{name}: value shape");
    for (a, b) in value.iter().zip(&want) {
        assert!((a - b).abs() <= 1e-14 * b.abs().max(1.0), "{name} at {p:?}: value {a} vs {b}");
    }
    let fd = fd(f, p, dout);
    assert_eq!(g.len(), fd.len(), "{name}: gradient shape");
    for (i, (a, b)) in g.iter().zip(&fd).enumerate() {
        assert!(
            (a - b).abs() <= 1e-6 * (a.abs() + b.abs()) + 1e-9,
            "{name} at {p:?}, dout {dout:?}: entry {i} pullback {a:e}, finite differences {b:e}"
        );
    }
}

/// Central finite differences of `f` at `p` along the direction `v`:
/// `(f(p + h·v) − f(p − h·v)) / 2h`, with `h` relative to the largest `|p_i|`.
pub fn fd_along(f: &dyn Fn(&[f64]) -> Vec<f64>, p: &[f64], v: &[f64]) -> Vec<f64> {
    let h = 1e-6 * p.iter().fold(1.0_f64, |m, x| m.max(x.abs()));
    let at = |s: f64| f(&p.iter().zip(v).map(|(a, b)| a + s * h * b).collect::<Vec<_>>());
    at(1.0).iter().zip(at(-1.0)).map(|(up, down)| (up - down) / (2.0 * h)).collect()
}

/// `|d − fd| ≤ 1e-6·(|d| + |fd|) + 1e-9` for every entry of `d`, the tangent of `f` at `p` along `v`.
#[track_caller]
pub fn check_along(name: &str, p: &[f64], v: &[f64], f: &dyn Fn(&[f64]) -> Vec<f64>, d: &[f64]) {
    let fd = fd_along(f, p, v);
    assert_eq!(d.len(), fd.len(), "{name}: tangent shape");
    for (i, (a, b)) in d.iter().zip(&fd).enumerate() {
        assert!(
            (a - b).abs() <= 1e-6 * (a.abs() + b.abs()) + 1e-9,
            "{name} at {p:?} along {v:?}: entry {i} pushforward {a:e}, finite differences {b:e}"
        );
    }
}

/// A rule's arguments, value or derivative as one flat list.
pub trait Flat {
    fn flat(&self) -> Vec<f64>;
}
impl Flat for f64 {
    fn flat(&self) -> Vec<f64> {
        vec![*self]
    }
}
impl<const N: usize> Flat for [f64; N] {
    fn flat(&self) -> Vec<f64> {
        self.to_vec()
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

/// A value at least `1e-3` away from `kink`, on a random side, within `spread`.
pub fn off_kink(r: &mut StdRng, kink: f64, spread: f64) -> f64 {
    let d = uniform(r, 1e-3, spread);
    if uniform(r, 0.0, 1.0) < 0.5 { kink - d } else { kink + d }
}

/// `[x_0 … x_4, t]`.
pub fn logits_and_temperature(r: &mut StdRng) -> Vec<f64> {
    let mut p = vec_in(r, 5, -4.0, 4.0);
    p.push(uniform(r, 0.3, 3.0));
    p
}
