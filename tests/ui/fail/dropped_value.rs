use relax::prelude::*;

#[differentiable]
fn f(x: f64) -> f64 {
    x.sin();
    x
}

fn main() {}
