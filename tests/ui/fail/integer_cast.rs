use relax::prelude::*;

#[differentiable]
fn f(x: f64, data: &[f64; 4]) -> f64 {
    data[x as usize] * x
}

fn main() {}
