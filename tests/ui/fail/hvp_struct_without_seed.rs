use relax::prelude::*;

// A struct generic over its float type holds dual numbers only when `T` is bounded by `Real`
// alone and its data fields do not mention `T`: here the data field `scale: T` does, so
// `#[derive(Differentiable)]` gives `Line<T>` no `relax::dual::Seed`, and `hvp` with it is an
// error that says which struct can.
#[derive(Clone, Copy, Differentiable)]
struct Line<T: Real> {
    w: T,
    b: T,
    #[no_derivative]
    scale: T,
}

#[differentiable(hvp, wrt(p))]
fn fit(p: Line<f64>, x: f64) -> f64 {
    let r = p.w * x * p.scale + p.b;
    r * r
}

fn main() {}
