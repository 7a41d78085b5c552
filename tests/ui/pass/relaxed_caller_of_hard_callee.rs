#![deny(warnings)]
use relax::prelude::*;

// A relaxed function that calls one with hard operations compiles, in debug builds too, as long
// as its own `_grad` (an error when used: see `ui/fail/relaxed_caller_of_hard_callee.rs`) is not
// used; its relaxation and straight-through gradient are.
#[differentiable(relaxed)]
fn quantize(x: f64) -> f64 {
    x.round()
}

#[differentiable(relaxed)]
pub fn f(x: f64) -> f64 {
    quantize(x) * x
}

fn main() {
    let (_, relaxed) = f_relaxed_grad(0.3, 0.1);
    let (value, straight_through) = f_st_grad(0.3, 0.1);
    assert_eq!(value, 0.0);
    assert!(relaxed != 0.0 && straight_through == relaxed);
}
