//! Linear regression with 10% gross outliers, fitted three ways by gradient descent: squared
//! error, `huber` and `smooth_l1`. The robust losses cap each point's pull at a constant, so the
//! outliers barely move them; squared error follows the outliers.
#[path = "support/plot.rs"]
mod plot;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use relax::prelude::*;

pub const N: usize = 200;
pub const TRUTH: (f64, f64) = (2.0, -1.0);

#[differentiable(wrt(w, b))]
pub fn squared(w: f64, b: f64, xs: &[f64; N], ys: &[f64; N]) -> f64 {
    let mut total = 0.0;
    for i in 0..N {
        let r = w * xs[i] + b - ys[i];
        total += 0.5 * r * r;
    }
    total / (N as f64)
}

#[differentiable(wrt(w, b))]
pub fn huber_loss(w: f64, b: f64, xs: &[f64; N], ys: &[f64; N]) -> f64 {
    let mut total = 0.0;
    for i in 0..N {
        total += huber(w * xs[i] + b - ys[i], 1.0);
    }
    total / (N as f64)
}

#[differentiable(wrt(w, b))]
pub fn smooth_l1_loss(w: f64, b: f64, xs: &[f64; N], ys: &[f64; N]) -> f64 {
    let mut total = 0.0;
    for i in 0..N {
        total += smooth_l1(w * xs[i] + b - ys[i], 0.5);
    }
    total / (N as f64)
}

/// `y = 2x − 1` plus N(0, 0.3²) noise; every tenth point an outlier 8 to 15 above the line.
pub fn data(seed: u64) -> ([f64; N], [f64; N]) {
    let mut rng = StdRng::seed_from_u64(seed);
    let xs: [f64; N] = core::array::from_fn(|_| rng.random_range(-3.0..3.0));
    let ys = core::array::from_fn(|i| {
        let noise: f64 = normal_noise(&mut rng);
        let outlier = if i % 10 == 0 { rng.random_range(8.0..15.0) } else { 0.0 };
        TRUTH.0 * xs[i] + TRUTH.1 + 0.3 * noise + outlier
    });
    (xs, ys)
}

/// Gradient descent from (0, 0).
pub fn fit(grad: impl Fn(f64, f64) -> (f64, (f64, f64)), steps: usize, rate: f64) -> (f64, f64) {
    let (mut w, mut b) = (0.0, 0.0);
    for _ in 0..steps {
        let (_, (dw, db)) = grad(w, b);
        w -= rate * dw;
        b -= rate * db;
    }
    (w, b)
}

/// The three fits: (name, w, b).
pub fn fits(xs: &[f64; N], ys: &[f64; N]) -> [(&'static str, f64, f64); 3] {
    let (w2, b2) = fit(|w, b| squared_grad(w, b, xs, ys), 2000, 0.1);
    let (wh, bh) = fit(|w, b| huber_loss_grad(w, b, xs, ys), 4000, 0.5);
    let (ws, bs) = fit(|w, b| smooth_l1_loss_grad(w, b, xs, ys), 8000, 0.25);
    [("squared error", w2, b2), ("huber", wh, bh), ("smooth_l1", ws, bs)]
}

/// Distance of a fit from the true line's parameters.
pub fn error((w, b): (f64, f64)) -> f64 {
    ((w - TRUTH.0).powi(2) + (b - TRUTH.1).powi(2)).sqrt()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (xs, ys) = data(11);
    println!("{N} points on y = 2x - 1 with noise; every tenth point is an outlier 8 to 15 above the line.\n");
    println!("  fit             w        b       distance from the truth");
    println!("  truth          {:6.3}   {:6.3}", TRUTH.0, TRUTH.1);
    let fits = fits(&xs, &ys);
    for (name, w, b) in fits {
        println!("  {name:<13}  {w:6.3}   {b:6.3}   {:.3}", error((w, b)));
    }
    println!("\nThe robust losses stay near the truth; squared error is pulled towards the outliers.");
    let line = |w: f64, b: f64| vec![(-3.0, b - 3.0 * w), (3.0, b + 3.0 * w)];
    let mut series = vec![plot::Series::scatter("data", xs.iter().copied().zip(ys.iter().copied()).collect())];
    series.push(plot::Series::line("truth", line(TRUTH.0, TRUTH.1)));
    series.extend(fits.iter().map(|(name, w, b)| plot::Series::line(name, line(*w, *b))));
    let path = plot::svg("huber_vs_l2", "Line fits with 10% outliers", ("x", "y"), &series)?;
    println!("plot: {path}");
    Ok(())
}
