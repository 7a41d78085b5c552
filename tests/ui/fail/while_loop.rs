use relax::prelude::*;

#[differentiable]
fn f(x: f64) -> f64 {
    let mut s = x;
    while s < 10.0 {
        s = s * 2.0;
    }
    s
}

fn main() {}
