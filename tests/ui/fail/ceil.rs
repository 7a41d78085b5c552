use relax::prelude::*;

#[differentiable]
fn f(x: [f64; 2]) -> f64 {
    x[0].ceil() + x[1]
}

fn main() {}
