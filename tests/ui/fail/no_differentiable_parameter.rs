use relax::prelude::*;

#[differentiable]
fn f(n: usize, xs: &[f64; 3]) -> f64 {
    xs[0] * n as f64
}

fn main() {}
