use relax::prelude::*;

#[differentiable]
fn f(x: f64) -> f64 {
    let a = x.round();
    let b = x % 3.0;
    let c = x.to_radians();
    a + b + c
}

fn main() {}
