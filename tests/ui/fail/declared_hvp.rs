use relax::prelude::*;

fn cube_pullback(x: f64, dout: f64) -> (f64, f64) {
    (x * x * x, 3.0 * x * x * dout)
}

#[differentiable(hvp, vjp = cube_pullback)]
fn cube(x: f64) -> f64 {
    x * x * x
}

fn main() {}
