use relax::prelude::*;

// A tuple output has no rows to take one by one.
#[differentiable(jacobian)]
fn pair(x: f64) -> (f64, f64) {
    (x.sin(), x.cos())
}

// Each row of a differentiated slice would need its own buffer.
#[differentiable(wrt(xs, k), jacobian)]
fn scaled(xs: &[f64], k: f64) -> [f64; 2] {
    [xs[0] * k, xs[1] * k]
}

fn main() {}
