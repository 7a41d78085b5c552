use relax::prelude::*;

#[differentiable(wrt(m))]
fn scale(m: f64, e: f64) -> f64 {
    m * e
}

#[differentiable]
fn uses(m: f64, e: f64) -> f64 {
    scale(m, e)
}

fn main() {}
