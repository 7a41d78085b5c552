use relax::prelude::*;

#[differentiable]
fn f(x: f64) -> f64 {
    let positive = x > 0.0;
    x * (positive as u8) as f64
}

fn main() {}
