use relax::prelude::*;

// A function value passed in: relax cannot see its body (a local closure it inlines).
#[differentiable]
fn f(x: f64, g: fn(f64) -> f64) -> f64 {
    g(x) + 1.0
}

fn main() {}
