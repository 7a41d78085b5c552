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
