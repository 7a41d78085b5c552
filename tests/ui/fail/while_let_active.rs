use relax::prelude::*;

#[differentiable]
fn f(x: f64, xs: &[f64]) -> f64 {
    let mut it = xs.iter();
    let mut s = 0.0;
    while let Some(v) = it.next() {
        s += x * v;
    }
    s
}

fn main() {}
