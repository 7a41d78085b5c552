use relax::prelude::*;

#[derive(Clone, Copy, Differentiable)]
struct Counted {
    w: [f64; 2],
    #[no_derivative]
    steps: u8,
}

// A data field of a differentiated struct is read through `stop_gradient(..)`: the macro cannot
// see that `steps` is data.
#[differentiable(wrt(c))]
fn scaled(c: Counted) -> f64 {
    c.w[0] * f64::from(c.steps)
}

fn main() {}
