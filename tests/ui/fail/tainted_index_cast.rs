use relax::prelude::*;

#[differentiable]
fn f(x: [f64; 4]) -> f64 {
    let k = argmax(x);
    x[0] * k as f64
}

fn main() {}
