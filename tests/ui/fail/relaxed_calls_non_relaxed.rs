use relax::prelude::*;

// A relaxed function calls the relaxation of each differentiable function it calls on
// differentiated values (`helper_relaxed`): the callee must be `relaxed` too.
#[differentiable]
fn helper(x: f64) -> f64 {
    x.max(0.0) * x
}

#[differentiable(relaxed)]
fn f(x: f64) -> f64 {
    helper(x).round()
}

fn main() {}
