//! Rounding and friends are fine inside `stop_gradient` and as the hard half of
//! `straight_through`; an `argmax` is fine as an index into data.
#![deny(warnings)]
use relax::prelude::*;

#[differentiable]
fn f(x: f64, y: [f64; 4], data: &[f64; 4]) -> f64 {
    let r = straight_through(x.round(), x) + stop_gradient(x.floor() + x % 2.0);
    let k = argmax(y);
    let hard = straight_through(argmax(y) as f64, soft_argmax(y, 0.5));
    r * data[k] + hard + stop_gradient(k as f64) + st_one_hot(y, 0.5)[k]
}

fn main() {
    let (v, (dx, dy)) = f_grad(1.3, [0.1, 2.0, -1.0, 0.5], &[1.0, 2.0, 3.0, 4.0]);
    assert!(v.is_finite() && dx == 2.0 && dy.iter().all(|g| g.is_finite()));
}
