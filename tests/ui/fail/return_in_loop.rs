use relax::prelude::*;

#[differentiable]
fn f(x: [f64; 4]) -> f64 {
    for i in 0..4 {
        if x[i] > 1.0 {
            return x[i];
        }
    }
    x[0]
}

fn main() {}
