use relax::prelude::*;

#[differentiable(vjp = cube_pullback)]
fn cube(x: f64) -> f64 {
    x * x * x
}

fn main() {}
