use relax::prelude::*;

#[differentiable(wrt(xs))]
fn f(xs: &[f64], w: f64) -> f64 {
    xs[0] * w
}

fn main() {}
