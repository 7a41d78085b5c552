//! A categorical choice learned through sampling. A policy picks one of four actions with
//! probabilities `softmax(theta)`; each action has a cost; we minimise the expected cost from
//! one sample per step, three ways:
//!
//! * straight-through Gumbel-softmax (`st_gumbel_softmax`): a hard one-hot sample forward, the
//!   relaxed sample's gradient backward: biased, low variance;
//! * REINFORCE (`reinforce`): the score-function estimator, unbiased, high variance;
//! * REINFORCE with a baseline (`reinforce_baseline`, a running mean of the cost): unbiased, and
//!   the baseline lowers the variance.
#[path = "support/plot.rs"]
mod plot;

use rand::Rng;
use rand::SeedableRng;
use rand::rngs::StdRng;
use relax::prelude::*;

pub const COSTS: [f64; 4] = [1.0, 0.2, 0.7, 0.5];

#[differentiable(wrt(theta))]
pub fn straight_through_cost<R: Rng>(theta: [f64; 4], costs: &[f64; 4], rng: &mut R) -> f64 {
    dot(st_gumbel_softmax(theta, 0.5, rng), *costs)
}

#[differentiable(wrt(theta))]
pub fn reinforce_cost<R: Rng>(theta: [f64; 4], costs: &[f64; 4], rng: &mut R) -> f64 {
    let k = categorical_sample(stop_gradient(theta), rng);
    let log_p = log_softmax(theta, 1.0);
    reinforce(costs[k], log_p[k])
}

#[differentiable(wrt(theta))]
pub fn baseline_cost<R: Rng>(theta: [f64; 4], costs: &[f64; 4], baseline: f64, rng: &mut R) -> f64 {
    let k = categorical_sample(stop_gradient(theta), rng);
    let log_p = log_softmax(theta, 1.0);
    reinforce_baseline(costs[k], log_p[k], baseline)
}

/// The estimators, by name.
pub const ESTIMATORS: [&str; 3] = ["straight-through Gumbel-softmax", "REINFORCE", "REINFORCE + baseline"];

/// One gradient sample of estimator `which` at `theta`; `baseline` is used by the third.
pub fn gradient_sample(which: usize, theta: [f64; 4], baseline: f64, rng: &mut StdRng) -> [f64; 4] {
    match which {
        0 => straight_through_cost_grad(theta, &COSTS, rng).1,
        1 => reinforce_cost_grad(theta, &COSTS, rng).1,
        _ => baseline_cost_grad(theta, &COSTS, baseline, rng).1,
    }
}

/// The expected cost `softmax(theta)·costs`, and its exact gradient.
pub fn expected_cost(theta: [f64; 4]) -> (f64, [f64; 4]) {
    let (_, (g, _)) = softmax_vjp(theta, 1.0, COSTS);
    (dot(softmax(theta, 1.0), COSTS), g)
}

/// Mean and total variance (summed over the components) of `samples` gradient samples.
pub fn gradient_statistics(which: usize, theta: [f64; 4], samples: usize, seed: u64) -> ([f64; 4], f64) {
    let mut rng = StdRng::seed_from_u64(seed);
    // The baseline at a fixed policy: its expected cost.
    let baseline = expected_cost(theta).0;
    let draws: Vec<[f64; 4]> = (0..samples).map(|_| gradient_sample(which, theta, baseline, &mut rng)).collect();
    let mean: [f64; 4] = core::array::from_fn(|i| draws.iter().map(|g| g[i]).sum::<f64>() / samples as f64);
    let var =
        draws.iter().map(|g| (0..4).map(|i| (g[i] - mean[i]).powi(2)).sum::<f64>()).sum::<f64>() / (samples - 1) as f64;
    (mean, var)
}

/// SGD with one sample per step; the expected cost after every step.
pub fn train(which: usize, steps: usize, rate: f64, seed: u64) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut theta, mut baseline) = ([0.0; 4], 0.0);
    let mut curve = Vec::with_capacity(steps);
    for _ in 0..steps {
        let (value, g) = match which {
            0 => straight_through_cost_grad(theta, &COSTS, &mut rng),
            1 => reinforce_cost_grad(theta, &COSTS, &mut rng),
            _ => baseline_cost_grad(theta, &COSTS, baseline, &mut rng),
        };
        baseline = 0.9 * baseline + 0.1 * value;
        for i in 0..4 {
            theta[i] -= rate * g[i];
        }
        curve.push(expected_cost(theta).0);
    }
    curve
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("Four actions with costs {COSTS:?}; the policy samples softmax(theta). Best expected cost: 0.2.\n");
    let theta = [0.3, -0.2, 0.1, 0.0];
    let (_, exact) = expected_cost(theta);
    println!("Gradient estimators at theta = {theta:?} (10 000 samples each):");
    println!("  exact gradient {:?}", exact.map(|v| (v * 1e4).round() / 1e4));
    for (which, name) in ESTIMATORS.iter().enumerate() {
        let (mean, var) = gradient_statistics(which, theta, 10_000, 1);
        println!("  {name:<32} mean {:?}  variance {var:.4}", mean.map(|v| (v * 1e4).round() / 1e4));
    }
    println!("\nTraining from theta = 0, one sample per step, 400 steps:");
    let mut series = Vec::new();
    for (which, name) in ESTIMATORS.iter().enumerate() {
        let curve = train(which, 400, 0.2, 7);
        for step in [0, 99, 199, 399] {
            print!("  {:>4}: {:.3}", step + 1, curve[step]);
        }
        println!("   <- {name}");
        series.push(plot::Series::line(name, curve.iter().enumerate().map(|(i, c)| (i as f64 + 1.0, *c)).collect()));
    }
    let path = plot::svg("discrete_choice", "Expected cost while training", ("step", "expected cost"), &series)?;
    println!("\nplot: {path}");
    Ok(())
}
