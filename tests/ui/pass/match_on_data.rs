use relax::prelude::*;

#[differentiable]
fn f(x: f64, k: usize) -> f64 {
    match k {
        0 => x,
        _ => x * 2.0,
    }
}

fn main() {
    let _ = f_grad(1.0, 2);
}
