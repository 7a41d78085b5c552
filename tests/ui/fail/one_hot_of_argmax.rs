use relax::prelude::*;

#[differentiable]
fn f(x: [f64; 4]) -> f64 {
    dot(one_hot(argmax(x)), x)
}

fn main() {}
