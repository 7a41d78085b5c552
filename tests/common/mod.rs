//! The attribute's test helpers: relax-testkit's (finite differences, random points, assertions,
//! flattening), the check of functions that sample, and the duality of forward and reverse mode.
#![allow(dead_code)]

pub mod fns;
pub mod models;
mod sweeps;

pub use relax_testkit::*;
// Not every test file checks every mode.
#[allow(unused_imports)]
pub use sweeps::*;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

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

/// `|<dout, J·v> − <Jᵀ·dout, v>|` within rounding: relative to the terms of both sums, and to
/// `|dout|₁·|v|₁` (a wrong derivative is off by about `|dout|·|v|` times an entry of `J`).
#[track_caller]
pub fn assert_dual(what: &str, v: &[f64], jv: &[f64], dout: &[f64], g: &[f64]) {
    assert_eq!((jv.len(), g.len()), (dout.len(), v.len()), "{what}: tangent and cotangent shapes");
    let forward: f64 = dout.iter().zip(jv).map(|(a, b)| a * b).sum();
    let backward: f64 = g.iter().zip(v).map(|(a, b)| a * b).sum();
    let terms: f64 = dout.iter().zip(jv).chain(g.iter().zip(v)).map(|(a, b)| (a * b).abs()).sum();
    let norm = |w: &[f64]| w.iter().map(|a| a.abs()).sum::<f64>();
    assert!(
        (forward - backward).abs() <= 1e-12 * (terms + norm(dout) * norm(v)),
        "{what}: <dout, Jv> = {forward:e}, <J^T dout, v> = {backward:e}\n  v {v:?}\n  dout {dout:?}"
    );
}

/// A direction of `n` coordinates in `[−1, 1]`, the largest of magnitude 1: finite differences
/// along it move the point by the whole step.
pub fn direction(r: &mut StdRng, n: usize) -> Vec<f64> {
    let v = point(r, n, -1.0, 1.0);
    let largest = v.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
    v.iter().map(|x| x / largest).collect()
}
