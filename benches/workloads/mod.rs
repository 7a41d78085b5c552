//! The workloads: each written once as a plain `#[differentiable]` function, with its
//! hand-written gradient and ports to num-dual and to the `reverse` tape.

pub mod bundle;
pub mod gmm;
pub mod gumbel;
pub mod huber;
pub mod layer;
pub mod logistic;
pub mod mlp;
pub mod readout;

use std::hint::black_box;

/// Every workload, in the report's order.
pub fn all() -> Vec<Workload> {
    vec![
        huber::workload(),
        huber::sum_workload(),
        logistic::workload(),
        readout::workload(),
        mlp::workload(),
        layer::workload(),
        gmm::workload(),
        bundle::workload(),
        gumbel::workload(),
    ]
}

/// The primal's outputs as a function of the flattened parameters, for the finite-difference check.
pub type Objective = Box<dyn Fn(&[f64]) -> Vec<f64>>;

/// One variant of a workload, a closure over its data. Called with a buffer it appends its result
/// flattened (for the checks); called with `None` it only computes it, keeping it alive with
/// `black_box` (for timing and counting, so that neither an allocation nor a copy is measured).
///
/// A closure that passes one of its captured arrays by value to a function copies it first: LLVM
/// reads in place only a closure's first capture (a copy's source must be a function argument to
/// be read in place, and the later captures are offsets from one). `_jvp`'s tangent is never the
/// first capture, and on the network its copy was 2 KB and 6 % of the instructions per call, a
/// cost of the benchmark's closures that a caller owning its tangent does not pay. So the `jvp`
/// variants with array tangents call `_jvp` through a function that borrows its arrays
/// (`jvp_borrowed`, never inlined), which reads them in place; the bundle's 15 floats are copied
/// faster than that function is called.
pub type Variant = Box<dyn Fn(Option<&mut Vec<f64>>)>;

/// One workload's variants. Gradient variants produce the gradient (for several outputs, the
/// Jacobian, row by row), checked against the hand-written one before timing.
pub struct Workload {
    /// Short name for the command line (`--run ID VARIANT CALLS`).
    pub id: &'static str,
    pub name: &'static str,
    pub params: usize,
    /// The primal's outputs; for straight-through workloads the soft primal.
    pub primal: Variant,
    pub relax: Variant,
    pub hand: Variant,
    pub num_dual: Variant,
    pub tape: Variant,
    /// relax's `_jvp` along `direction`: the output's tangent.
    pub jvp: Variant,
    /// The same tangent written by hand (forward mode by hand), where the report compares with one.
    pub hand_jvp: Option<Variant>,
    /// relax's `_hvp` along `direction`, where the output is a scalar: the gradient, then `H·v`.
    pub hvp: Option<Variant>,
    pub primal_at: Objective,
    pub point: Vec<f64>,
    /// The direction of `jvp` and `hvp`, flattened as `point` is.
    pub direction: Vec<f64>,
}

impl Workload {
    /// The variant `name` (`primal`, `grad`, `hand`, `num-dual`, `tape`, `jvp`, `hand-jvp`, `hvp`)
    /// if it exists.
    pub fn variant(&self, name: &str) -> Option<&Variant> {
        match name {
            "primal" => Some(&self.primal),
            "grad" => Some(&self.relax),
            "hand" => Some(&self.hand),
            "num-dual" => Some(&self.num_dual),
            "tape" => Some(&self.tape),
            "jvp" => Some(&self.jvp),
            "hand-jvp" => self.hand_jvp.as_ref(),
            "hvp" => self.hvp.as_ref(),
            _ => None,
        }
    }
}

/// Values that flatten into a list of floats: scalars, arrays, pairs and vectors of them.
pub trait Flat {
    fn flatten_into(&self, out: &mut Vec<f64>);
}

impl Flat for f64 {
    fn flatten_into(&self, out: &mut Vec<f64>) {
        out.push(*self);
    }
}

impl<T: Flat, const N: usize> Flat for [T; N] {
    fn flatten_into(&self, out: &mut Vec<f64>) {
        self.iter().for_each(|v| v.flatten_into(out));
    }
}

impl<T: Flat> Flat for Vec<T> {
    fn flatten_into(&self, out: &mut Vec<f64>) {
        self.iter().for_each(|v| v.flatten_into(out));
    }
}

impl<A: Flat, B: Flat> Flat for (A, B) {
    fn flatten_into(&self, out: &mut Vec<f64>) {
        self.0.flatten_into(out);
        self.1.flatten_into(out);
    }
}

impl<A: Flat, B: Flat, C: Flat> Flat for (A, B, C) {
    fn flatten_into(&self, out: &mut Vec<f64>) {
        self.0.flatten_into(out);
        self.1.flatten_into(out);
        self.2.flatten_into(out);
    }
}

/// What every variant ends with: hand the result to the checks, or keep it alive for timing.
pub fn emit(out: Option<&mut Vec<f64>>, result: impl Flat) {
    match out {
        Some(v) => result.flatten_into(v),
        None => _ = black_box(&result),
    }
}

/// A variant's result, flattened.
pub fn collect(v: &Variant) -> Vec<f64> {
    let mut out = Vec::new();
    v(Some(&mut out));
    out
}

/// Data that lives as long as the benchmark: every closure of a workload copies the reference.
pub fn leak<T>(data: T) -> &'static T {
    Box::leak(Box::new(data))
}

/// The fixed direction of the forward-mode and Hessian-vector timings: `n` coordinates in
/// `[−1, 1)`, the same on every run.
pub fn direction(n: usize) -> Vec<f64> {
    let mut d = Data::new(99);
    (0..n).map(|_| d.next()).collect()
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
