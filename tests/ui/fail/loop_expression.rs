use relax::prelude::*;

#[differentiable]
fn f(x: f64) -> f64 {
    let mut s = x;
    let y = loop {
        s = s * 2.0;
        if s > 1.0 {
            break s;
        }
    };
    y
}

fn main() {}
