use relax::prelude::*;

// The pullback takes the cotangent after the parameters and returns (value, gradient).
fn cube_pullback(x: f64) -> f64 {
    3.0 * x * x
}

#[differentiable(vjp = cube_pullback)]
fn cube(x: f64) -> f64 {
    x * x * x
}

fn main() {}
