use relax::prelude::*;

// Without `jacobian`, its pullback runs once only: a caller's rows cannot each run it.
#[differentiable]
fn norm2(p: [f64; 2]) -> f64 {
    p[0] * p[0] + p[1] * p[1]
}

#[differentiable(jacobian)]
fn scaled(p: [f64; 2]) -> [f64; 2] {
    let n = norm2(p);
    [p[0] * n, p[1] * n]
}

fn main() {}
