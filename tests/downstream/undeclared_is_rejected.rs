//! A model calls a plain function on a differentiated value: relax cannot differentiate the call,
//! and the build fails at it.
use relax::prelude::*;

/// A sensor's response, from a calibration table: a plain function.
fn response(x: f64) -> f64 {
    let table = [0.0, 0.8, 1.5, 2.1, 2.6];
    let i = (x.floor().max(0.0) as usize).min(3);
    table[i] + (x - i as f64) * (table[i + 1] - table[i])
}

#[differentiable]
fn loss(gain: f64, x: f64, target: f64) -> f64 {
    let e = response(gain * x) - target;
    e * e
}

fn main() {
    let _ = loss_grad(1.0, 2.0, 1.5);
}
