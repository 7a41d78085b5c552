//! Locate a peak with `soft_argmax`. A 3-tap filter turns a noisy 1-D signal into logits; the
//! filter is trained so that `soft_argmax(logits, t)` lands on the true peak position, while the
//! temperature `t` is annealed from 2 towards 0.05, where `soft_argmax` approaches the hard
//! `argmax`. The straight-through `st_argmax` trains the same filter with the hard index in the
//! forward pass and `soft_argmax`'s gradient backward.
#[path = "support/plot.rs"]
mod plot;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use relax::prelude::*;

pub const LEN: usize = 32;
pub const BATCH: usize = 16;

/// `logits_i = w0·s_{i−1} + w1·s_i + w2·s_{i+1}`, with the signal's ends repeated.
#[differentiable(wrt(w))]
pub fn logits(w: [f64; 3], s: &[f64; LEN]) -> [f64; LEN] {
    let mut out = [0.0; LEN];
    for i in 0..LEN {
        let left = if i > 0 { s[i - 1] } else { s[i] };
        let right = if i + 1 < LEN { s[i + 1] } else { s[i] };
        out[i] = w[0] * left + w[1] * s[i] + w[2] * right;
    }
    out
}

/// Mean squared distance of `soft_argmax` from the true peaks over a batch.
#[differentiable(wrt(w))]
pub fn soft_loss(w: [f64; 3], t: f64, signals: &[[f64; LEN]; BATCH], peaks: &[f64; BATCH]) -> f64 {
    let mut total = 0.0;
    for b in 0..BATCH {
        let e = soft_argmax(logits(w, &signals[b]), t) - peaks[b];
        total += e * e;
    }
    total / (BATCH as f64)
}

/// The same with the straight-through argmax: the value is the hard index's error.
#[differentiable(wrt(w))]
pub fn straight_through_loss(w: [f64; 3], t: f64, signals: &[[f64; LEN]; BATCH], peaks: &[f64; BATCH]) -> f64 {
    let mut total = 0.0;
    for b in 0..BATCH {
        let e = st_argmax(logits(w, &signals[b]), t) - peaks[b];
        total += e * e;
    }
    total / (BATCH as f64)
}

/// A batch: a Gaussian bump (width 1.5) at a random position, plus white noise of sd 0.3.
pub fn batch(rng: &mut StdRng) -> ([[f64; LEN]; BATCH], [f64; BATCH]) {
    let peaks: [f64; BATCH] = core::array::from_fn(|_| rng.random_range(4.0..(LEN as f64 - 4.0)));
    let signals = core::array::from_fn(|b| {
        core::array::from_fn(|i| {
            let d = (i as f64 - peaks[b]) / 1.5;
            let noise: f64 = normal_noise(rng);
            (-0.5 * d * d).exp() + 0.3 * noise
        })
    });
    (signals, peaks)
}

/// Mean absolute error of the hard argmax of the filtered signal over `batches` fresh batches.
pub fn hard_error(w: [f64; 3], batches: usize, seed: u64) -> f64 {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut total = 0.0;
    for _ in 0..batches {
        let (signals, peaks) = batch(&mut rng);
        for b in 0..BATCH {
            total += (argmax(logits(w, &signals[b])) as f64 - peaks[b]).abs();
        }
    }
    total / (batches * BATCH) as f64
}

/// Trains from `w = [0, 1, 0]` (the raw signal) with an annealed temperature; the hard error
/// every 50 steps.
pub fn train(straight_through: bool, steps: usize, seed: u64) -> ([f64; 3], Vec<(f64, f64)>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut w = [0.0, 1.0, 0.0];
    let mut curve = Vec::new();
    for step in 0..steps {
        let t = 2.0 * (0.05f64 / 2.0).powf(step as f64 / (steps - 1) as f64);
        let (signals, peaks) = batch(&mut rng);
        let (_, g) = if straight_through {
            straight_through_loss_grad(w, t, &signals, &peaks)
        } else {
            soft_loss_grad(w, t, &signals, &peaks)
        };
        for k in 0..3 {
            w[k] -= 0.002 * g[k].clamp(-50.0, 50.0);
        }
        if step % 50 == 0 {
            curve.push((step as f64, hard_error(w, 4, 99)));
        }
    }
    (w, curve)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("Locating a bump in a noisy signal of {LEN} samples with a learned 3-tap filter and soft_argmax.\n");
    println!("  raw signal (w = [0, 1, 0]): mean |argmax - peak| = {:.3}", hard_error([0.0, 1.0, 0.0], 20, 1));
    let mut series = Vec::new();
    for (st, name) in [(false, "soft_argmax, annealed"), (true, "st_argmax (straight-through)")] {
        let (w, curve) = train(st, 600, 2);
        println!(
            "  {name:<30} w = [{:.3}, {:.3}, {:.3}]: mean |argmax - peak| = {:.3}",
            w[0],
            w[1],
            w[2],
            hard_error(w, 20, 1)
        );
        series.push(plot::Series::line(name, curve));
    }
    println!("\nA smoothing filter (weight on the neighbours) makes the hard argmax land closer to the peak.");
    let path = plot::svg(
        "soft_argmax_keypoint",
        "Localisation error while training",
        ("step", "mean |argmax - peak|"),
        &series,
    )?;
    println!("plot: {path}");
    Ok(())
}
