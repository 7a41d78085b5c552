//! Timing: warm-up, calibrated batches, many rounds, medians.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// Median nanoseconds per call of `f` over `rounds` batches of about `batch` each.
pub fn median_ns(mut f: impl FnMut(), rounds: usize, batch: Duration) -> f64 {
    let warm_up = Instant::now();
    let mut calls = 0u64;
    while warm_up.elapsed() < batch * 5 {
        f();
        calls += 1;
    }
    let per_batch = ((calls as f64) / 5.0).max(1.0) as u64;
    let mut samples: Vec<f64> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..per_batch {
                f();
            }
            start.elapsed().as_nanos() as f64 / per_batch as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    black_box(&samples);
    samples[samples.len() / 2]
}

/// Central finite differences, to check every hand-written gradient before timing it.
pub fn check_against_fd(name: &str, f: impl Fn(&[f64]) -> f64, p: &[f64], g: &[f64]) {
    let mut q = p.to_vec();
    for i in 0..p.len() {
        let h = 1e-6 * p[i].abs().max(1.0);
        q[i] = p[i] + h;
        let up = f(&q);
        q[i] = p[i] - h;
        let down = f(&q);
        q[i] = p[i];
        let fd = (up - down) / (2.0 * h);
        assert!(
            (g[i] - fd).abs() <= 1e-5 * (g[i].abs() + fd.abs()) + 1e-7,
            "{name}: entry {i}: {} vs finite differences {fd}",
            g[i]
        );
    }
}

/// Every gradient of a workload agrees with the hand-written one.
pub fn check_same(name: &str, what: &str, g: &[f64], hand: &[f64]) {
    assert_eq!(g.len(), hand.len(), "{name}/{what}: length");
    for (i, (a, b)) in g.iter().zip(hand).enumerate() {
        assert!(
            (a - b).abs() <= 1e-8 * (a.abs() + b.abs()) + 1e-10,
            "{name}/{what}: entry {i}: {a} vs hand-written {b}"
        );
    }
}
