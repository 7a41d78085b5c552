//! Sampling in loops that are not accumulations (their noise is stored per iteration), in
//! branches on the noise, and several draws per iteration: values bit for bit, the RNG left as
//! the original leaves it, and gradients at the same noise.
#![deny(warnings)]
#![allow(clippy::needless_range_loop, clippy::assign_op_pattern)]
mod common;
use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use relax::prelude::*;

#[differentiable]
fn product_of_samples<R: Rng>(mu: f64, sigma: f64, rng: &mut R) -> f64 {
    let mut p = 1.0;
    for i in 0..4 {
        let z = normal_rsample(mu, sigma, rng);
        if z > 0.0 {
            p = p * (1.0 + 0.1 * z) + normal_rsample(0.0, sigma, rng) * 0.01;
        } else {
            p = p * (1.0 - 0.05 * z * mu);
        }
        p += 0.01 * (i as f64);
    }
    p
}

#[differentiable]
fn gumbel_in_loop<R: Rng>(mu: f64, sigma: f64, rng: &mut R) -> f64 {
    let mut s = [mu, sigma, 0.5, -mu];
    let mut acc = 0.0;
    for _ in 0..3 {
        let y = st_gumbel_softmax(s, 0.7, rng);
        acc = acc * 0.5 + dot(y, [1.0, 2.0, 3.0, 4.0]) + dot(gumbel_softmax(s, 0.7, rng), s);
        s[0] = s[0] + 0.1 * acc;
    }
    acc
}

#[test]
fn normal_samples_in_a_loop_with_storage_and_branches() {
    check_sampled("product_of_samples", 77, 100, product_of_samples, product_of_samples_grad);
}

#[test]
fn gumbel_samples_in_a_loop_with_storage() {
    // Straight-through estimates have no finite-difference reference: values, RNG state, finiteness.
    let mut r = rng(78);
    for seed in 0..100u64 {
        let p = [point(&mut r, 1, -1.0, 1.0)[0], point(&mut r, 1, 0.2, 1.5)[0]];
        let (mut a, mut b) = (StdRng::seed_from_u64(seed), StdRng::seed_from_u64(seed));
        let v = gumbel_in_loop(p[0], p[1], &mut a);
        let (vg, g) = gumbel_in_loop_grad(p[0], p[1], &mut b);
        assert_same_bits("gumbel_in_loop", &[vg], &[v]);
        assert_eq!(a.next_u64(), b.next_u64(), "gumbel_in_loop: RNG state");
        assert!(g.0.is_finite() && g.1.is_finite());
    }
}
