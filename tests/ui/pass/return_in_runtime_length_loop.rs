use relax::prelude::*;

#[differentiable]
fn f(w: f64, xs: &[f64]) -> f64 {
    for i in 0..xs.len() {
        if xs[i] * w > 1.0 {
            return xs[i] * w;
        }
    }
    w
}

fn main() {}
