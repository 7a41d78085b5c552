use relax::prelude::*;

#[differentiable]
fn f(w: f64, xs: &[f64]) -> f64 {
    let mut p = 1.0;
    for i in 0..xs.len() {
        p *= w * xs[i];
    }
    p
}

fn main() {}
