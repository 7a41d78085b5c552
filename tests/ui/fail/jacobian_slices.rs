use relax::prelude::*;

// Each row of a differentiated slice would need its own buffer.
#[differentiable(wrt(xs, k), jacobian)]
fn scaled(xs: &[f64], k: f64) -> [f64; 2] {
    [xs[0] * k, xs[1] * k]
}

fn main() {}
