use relax::prelude::*;

#[differentiable]
fn f(x: f64) -> f64 {
    let y = x * 2.0;
    y.floor()
}

// Called by its path, as the method it is.
#[differentiable]
fn g(x: f64) -> f64 {
    f64::floor(x * 2.0)
}

fn main() {}
