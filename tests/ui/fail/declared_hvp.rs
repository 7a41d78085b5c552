use relax::prelude::*;

// With `hvp`, a declared pullback must be `#[differentiable]` itself: the second order is its
// forward mode (`cube_pullback__jvp`), which a plain function does not have. The error is at the
// option.
fn cube_pullback(x: f64, dout: f64) -> (f64, f64) {
    (x * x * x, 3.0 * x * x * dout)
}

#[differentiable(hvp, vjp = cube_pullback)]
fn cube(x: f64) -> f64 {
    x * x * x
}

fn main() {}
