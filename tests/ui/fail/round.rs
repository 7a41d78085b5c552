use relax::prelude::*;

#[differentiable]
fn f(x: f64) -> f64 {
    x.round() * x
}

fn main() {}
