use relax::prelude::*;

#[differentiable]
fn broken(x: f64) -> f64 {
    x.floor()
}

#[differentiable]
fn caller(x: f64) -> f64 {
    broken(x) * 2.0
}

fn use_it() -> f64 {
    broken_grad(1.0).0 + caller_grad(2.0).1
}

fn main() {}
