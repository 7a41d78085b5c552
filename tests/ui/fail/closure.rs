use relax::prelude::*;

// Sums of `map`s over iterator chains are loops; a `filter` is not one of their steps.
#[differentiable]
fn f(x: [f64; 3]) -> f64 {
    x.iter().filter(|v| **v > 0.0).map(|v| v * v).sum()
}

fn main() {}
