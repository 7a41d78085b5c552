use relax::prelude::*;

#[differentiable]
fn f(x: [f64; 4]) -> f64 {
    argmax(x) as f64 * x[0]
}

fn main() {}
