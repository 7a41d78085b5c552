//! Fit the mean and scale of a Gaussian by minimising an expected loss from samples:
//! `E[(y − 3)²] − ln σ` for `y ~ N(μ, σ²)`, whose minimum is `μ = 3`, `σ = 1/√2`.
//!
//! The reparameterisation trick (`normal_rsample`, `y = μ + σ·z`) differentiates through the
//! sample; the score-function estimator (`reinforce`) only through its log-probability. Both are
//! unbiased; the first has a far smaller variance.
#[path = "support/plot.rs"]
mod plot;

use rand::Rng;
use rand::SeedableRng;
use rand::rngs::StdRng;
use relax::prelude::*;

pub const TARGET: f64 = 3.0;

/// `σ = softplus(s)` keeps the scale positive.
#[differentiable]
pub fn reparam_loss<R: Rng>(mu: f64, s: f64, rng: &mut R) -> f64 {
    let sigma = softplus(s);
    let y = normal_rsample(mu, sigma, rng);
    (y - 3.0) * (y - 3.0) - sigma.ln()
}

#[differentiable]
pub fn score_loss<R: Rng>(mu: f64, s: f64, rng: &mut R) -> f64 {
    let sigma = softplus(s);
    let y = stop_gradient(normal_rsample(mu, sigma, rng));
    let log_prob = -0.5 * ((y - mu) / sigma) * ((y - mu) / sigma) - sigma.ln();
    let loss = stop_gradient((y - 3.0) * (y - 3.0));
    reinforce(loss, log_prob) - sigma.ln()
}

/// The exact objective and its gradient with respect to `(mu, s)`.
pub fn exact(mu: f64, s: f64) -> (f64, [f64; 2]) {
    let sigma = softplus(s);
    let value = (mu - TARGET).powi(2) + sigma * sigma - sigma.ln();
    (value, [2.0 * (mu - TARGET), (2.0 * sigma - 1.0 / sigma) * sigmoid(s)])
}

/// Mean and total variance of `samples` gradient samples of the reparameterised (`true`) or the
/// score-function estimator.
pub fn gradient_statistics(reparam: bool, (mu, s): (f64, f64), samples: usize, seed: u64) -> ([f64; 2], f64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let draws: Vec<[f64; 2]> = (0..samples)
        .map(|_| {
            let (_, (a, b)) =
                if reparam { reparam_loss_grad(mu, s, &mut rng) } else { score_loss_grad(mu, s, &mut rng) };
            [a, b]
        })
        .collect();
    let mean: [f64; 2] = core::array::from_fn(|i| draws.iter().map(|g| g[i]).sum::<f64>() / samples as f64);
    let var =
        draws.iter().map(|g| (g[0] - mean[0]).powi(2) + (g[1] - mean[1]).powi(2)).sum::<f64>() / (samples - 1) as f64;
    (mean, var)
}

/// SGD with one sample per step from `(0, 0)`: the exact objective along the way, and the end point.
pub fn train(reparam: bool, steps: usize, rate: f64, seed: u64) -> (Vec<f64>, (f64, f64)) {
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut mu, mut s) = (0.0, 0.0);
    let mut curve = Vec::with_capacity(steps);
    for _ in 0..steps {
        let (_, (dm, ds)) = if reparam { reparam_loss_grad(mu, s, &mut rng) } else { score_loss_grad(mu, s, &mut rng) };
        mu -= rate * dm;
        s -= rate * ds;
        curve.push(exact(mu, s).0);
    }
    (curve, (mu, softplus(s)))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("Minimise E[(y - 3)^2] - ln(sigma) for y ~ N(mu, sigma^2): the optimum is mu = 3, sigma = 0.707.\n");
    let at = (1.0, 0.5);
    println!(
        "Gradient estimators at mu = 1, sigma = softplus(0.5), 10 000 samples: exact {:?}",
        exact(at.0, at.1).1.map(|v| (v * 1e3).round() / 1e3)
    );
    for (reparam, name) in [(true, "reparameterised (normal_rsample)"), (false, "score function (reinforce)")] {
        let (mean, var) = gradient_statistics(reparam, at, 10_000, 3);
        println!("  {name:<34} mean {:?}  variance {var:.3}", mean.map(|v| (v * 1e3).round() / 1e3));
    }
    println!("\nTraining, one sample per step, 2 000 steps:");
    let mut series = Vec::new();
    for (reparam, name, rate) in [(true, "reparameterised", 0.01), (false, "score function", 0.002)] {
        let (curve, (mu, sigma)) = train(reparam, 2000, rate, 5);
        // At the optimum, sigma² − ln sigma with sigma = 1/√2.
        let optimum = 0.5 - 0.5f64.sqrt().ln();
        println!(
            "  {name:<16} (rate {rate}): mu = {mu:.3}, sigma = {sigma:.3}, objective {:.3} (optimum {optimum:.3})",
            curve[curve.len() - 1]
        );
        series.push(plot::Series::line(name, curve.iter().enumerate().map(|(i, c)| (i as f64 + 1.0, *c)).collect()));
    }
    let path = plot::svg("gaussian_reparam", "Objective while training", ("step", "E[(y-3)^2] - ln sigma"), &series)?;
    println!("\nplot: {path}");
    Ok(())
}
