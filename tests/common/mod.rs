//! The attribute's test helpers: relax-testkit's (finite differences, random points, assertions,
//! flattening), and the check of functions that sample.
#![allow(dead_code)]

pub mod fns;

pub use relax_testkit::*;

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
