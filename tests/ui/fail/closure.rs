use relax::prelude::*;

#[differentiable]
fn f(x: [f64; 3]) -> f64 {
    x.iter().map(|v| v * v).sum()
}

fn main() {}
