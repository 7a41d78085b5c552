//! The workloads: each written once as a plain `#[differentiable]` function, with its
//! hand-written gradient and ports to num-dual and to the `reverse` tape.

pub mod gumbel;
pub mod huber;
pub mod logistic;
pub mod mlp;
pub mod readout;

/// A function of the parameters, flattened.
pub type Objective = Box<dyn Fn(&[f64]) -> f64>;

/// One workload's variants, as closures over its data. Each returns a value (timed with
/// `black_box`) and is checked against the hand-written gradient before timing.
pub struct Workload {
    pub name: &'static str,
    pub params: usize,
    /// The primal; for straight-through workloads the soft primal.
    pub primal: Box<dyn Fn() -> f64>,
    pub relax: Box<dyn Fn() -> Vec<f64>>,
    pub hand: Box<dyn Fn() -> Vec<f64>>,
    pub num_dual: Box<dyn Fn() -> Vec<f64>>,
    pub tape: Box<dyn Fn() -> Vec<f64>>,
    /// The primal as a function of the parameters, for the finite-difference check.
    pub primal_at: Objective,
    pub point: Vec<f64>,
}

/// Data that lives as long as the benchmark: every closure of a workload copies the reference.
pub fn leak<T>(data: T) -> &'static T {
    Box::leak(Box::new(data))
}

/// A deterministic data generator (a linear congruential sequence in [−1, 1)).
pub struct Data(u64);

impl Data {
    pub fn new(seed: u64) -> Self {
        Data(seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407))
    }
    pub fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }
    pub fn array<const N: usize>(&mut self) -> [f64; N] {
        core::array::from_fn(|_| self.next())
    }
}
