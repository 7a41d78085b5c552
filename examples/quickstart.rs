//! Quickstart: fit a line to data with gross outliers by minimising a Huber loss with gradient
//! descent. `#[differentiable]` writes `loss_grad` from the plain `loss` below.
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use relax::prelude::*;

const N: usize = 200;

/// Mean Huber loss of the line `w·x + b` over the data.
#[differentiable]
fn loss(w: f64, b: f64, xs: &[f64; N], ys: &[f64; N]) -> f64 {
    let mut total = 0.0;
    for i in 0..N {
        total += huber(w * xs[i] + b - ys[i], 1.0);
    }
    total / (N as f64)
}

/// The same fit with squared error, for comparison.
#[differentiable]
fn squared(w: f64, b: f64, xs: &[f64; N], ys: &[f64; N]) -> f64 {
    let mut total = 0.0;
    for i in 0..N {
        let r = w * xs[i] + b - ys[i];
        total += 0.5 * r * r;
    }
    total / (N as f64)
}

fn main() {
    let (true_w, true_b) = (2.5, -1.0);
    let mut rng = StdRng::seed_from_u64(7);
    let xs: [f64; N] = core::array::from_fn(|_| rng.random_range(-3.0..3.0));
    let ys: [f64; N] = core::array::from_fn(|i| {
        let noise: f64 = normal_noise(&mut rng);
        // Every tenth point is a gross outlier.
        true_w * xs[i] + true_b + 0.3 * noise + if i % 10 == 0 { 15.0 } else { 0.0 }
    });
    println!("Fitting y = w·x + b to {N} points, 10% of them outliers (+15), by gradient descent.\n");

    let (mut w, mut b) = (0.0, 0.0);
    for step in 0..=2000 {
        let (value, (dw, db)) = loss_grad(w, b, &xs, &ys);
        if step % 400 == 0 {
            println!("  step {step:4}: huber loss {value:.4}, w = {w:.4}, b = {b:.4}");
        }
        w -= 0.5 * dw;
        b -= 0.5 * db;
    }
    let (mut w2, mut b2) = (0.0, 0.0);
    for _ in 0..2000 {
        let (_, (dw, db)) = squared_grad(w2, b2, &xs, &ys);
        w2 -= 0.1 * dw;
        b2 -= 0.1 * db;
    }
    println!("\n             w        b");
    println!("  true     {true_w:7.4}  {true_b:7.4}");
    println!("  huber    {w:7.4}  {b:7.4}   (robust: the outliers barely move it)");
    println!("  squared  {w2:7.4}  {b2:7.4}   (pulled up by the outliers)");
}
