use relax::prelude::*;

// A relaxed function with a hard operation (`round`) has no gradient of its own: a caller that is
// not relaxed cannot differentiate through it.
#[differentiable(relaxed)]
fn quantize(x: f64) -> f64 {
    x.round()
}

#[differentiable]
fn f(x: f64) -> f64 {
    quantize(x) * x
}

fn main() {}
