//! Finite differences and random points for the rule tests.
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
