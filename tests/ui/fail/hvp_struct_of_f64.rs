use relax::prelude::*;

// `hvp` runs the gradient on dual numbers, so a parameter struct must be able to hold them: one
// generic over its float type (`Line<T: Real>`, named `Line<f64>`) can, one of `f64` fields
// cannot. The error is at the parameter's type, saying what to write.
#[derive(Clone, Copy, Differentiable)]
struct Line {
    w: f64,
    b: f64,
}

#[differentiable(hvp, wrt(p))]
fn fit(p: Line, x: f64) -> f64 {
    let r = p.w * x + p.b;
    r * r
}

fn main() {}
