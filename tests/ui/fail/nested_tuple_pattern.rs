use relax::prelude::*;

#[differentiable]
fn pair(x: f64) -> (f64, (f64, f64)) {
    (x, (x, x))
}

#[differentiable]
fn f(x: f64) -> f64 {
    let (a, (b, c)) = pair(x);
    a * b * c
}

fn main() {}
