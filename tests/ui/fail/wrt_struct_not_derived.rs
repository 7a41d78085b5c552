use relax::prelude::*;

#[derive(Clone, Copy)]
struct Params {
    w: f64,
    b: f64,
}

#[differentiable(wrt(p))]
fn loss(p: Params, x: f64) -> f64 {
    p.w * x + p.b
}

fn main() {}
