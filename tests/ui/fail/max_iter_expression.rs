use relax::prelude::*;

#[differentiable(max_iter = 4 * 8)]
fn f(x: f64) -> f64 {
    x
}

fn main() {}
