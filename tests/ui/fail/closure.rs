use relax::prelude::*;

// A `filter` is a chain's last step: counted after it, `enumerate` would number the kept items.
#[differentiable]
fn f(x: [f64; 3]) -> f64 {
    let mut s = 0.0;
    for (i, v) in x.iter().filter(|v| **v > 0.0).enumerate() {
        s += v * i as f64;
    }
    s
}

fn main() {}
