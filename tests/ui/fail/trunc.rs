use relax::prelude::*;

#[differentiable]
fn f(x: f64) -> f64 {
    (x * 3.0).trunc()
}

fn main() {}
