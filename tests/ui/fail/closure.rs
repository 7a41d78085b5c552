use relax::prelude::*;

// Sums of `map`s over iterator chains are loops; a `filter` is not one of their steps.
#[differentiable]
fn f(x: [f64; 3]) -> f64 {
    x.iter().filter(|v| **v > 0.0).map(|v| v * v).sum()
}

// Nor is a `for_each`.
#[differentiable]
fn g(x: [f64; 3]) -> f64 {
    let mut total = 0.0;
    x.iter().for_each(|v| total += v.exp());
    total
}

fn main() {}
