use relax::prelude::*;

struct Scaler {
    k: f64,
}

impl Scaler {
    fn apply(&self, x: f64) -> f64 {
        self.k * x
    }
}

#[differentiable]
fn f(x: f64, s: &Scaler) -> f64 {
    s.apply(x) + 1.0
}

fn main() {}
