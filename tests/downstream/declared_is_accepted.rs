//! The same model once the function's derivative is declared (`vjp =`): it compiles, and the
//! gradient flows through the declared pullback.
use relax::prelude::*;

const TABLE: [f64; 5] = [0.0, 0.8, 1.5, 2.1, 2.6];

/// The segment of `x` and the position in it.
fn segment(x: f64) -> (usize, f64) {
    let i = (x.floor().max(0.0) as usize).min(3);
    (i, x - i as f64)
}

/// A sensor's response, from a calibration table, with its derivative declared.
#[differentiable(vjp = response_vjp)]
fn response(x: f64) -> f64 {
    let (i, f) = segment(x);
    TABLE[i] + f * (TABLE[i + 1] - TABLE[i])
}

/// The value and the cotangent times the segment's slope.
fn response_vjp(x: f64, dout: f64) -> (f64, f64) {
    let (i, f) = segment(x);
    (TABLE[i] + f * (TABLE[i + 1] - TABLE[i]), (TABLE[i + 1] - TABLE[i]) * dout)
}

#[differentiable]
fn loss(gain: f64, x: f64, target: f64) -> f64 {
    let e = response(gain * x) - target;
    e * e
}

fn main() {
    // response(2.5) = 1.5 + 0.5·0.6 = 1.8; d/dgain = 2·(1.8 − 1.5)·0.6·x = 0.9 (to rounding).
    let (value, (d_gain, _, _)) = loss_grad(1.0, 2.5, 1.5);
    assert!((value - 0.09).abs() < 1e-12 && (d_gain - 0.9).abs() < 1e-12, "{value} {d_gain}");
}
