use relax::prelude::*;

#[differentiable(wrt(xs))]
fn f(xs: &[f64], w: f64) -> f64 {
    let ys = xs;
    ys[0] * w
}

fn main() {}
