use relax::prelude::*;

#[differentiable]
fn f(x: f64, o: &[Option<f64>; 4]) -> f64 {
    let mut s = x;
    for i in 0..4 {
        let v = match o[i] {
            Some(v) => v,
            None => break,
        };
        s = s * x + v;
    }
    s
}

fn main() {}
