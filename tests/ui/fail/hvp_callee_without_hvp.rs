use relax::prelude::*;

// A function with `hvp` runs its callees' sweeps on dual numbers (`NAME__hvp_with_option_hvp`),
// which only a callee with `hvp` has: the error is rustc's at the call, naming the missing form
// and, by its name, the option that makes it.
#[differentiable]
fn square(x: f64) -> f64 {
    x * x
}

#[differentiable(hvp)]
fn twice_square(x: f64) -> f64 {
    square(x) * 2.0
}

fn main() {}
