//! Every construct of the supported language once, in one function, under `deny(warnings)`.
#![deny(warnings)]
#![allow(clippy::needless_range_loop)]
use relax::prelude::*;

const K: usize = 3;

#[differentiable]
fn helper(a: f64, b: [f64; K]) -> (f64, [f64; 2]) {
    (a * b[0], [b[1], a.exp()])
}

#[differentiable(wrt(w, x, m))]
pub fn everything(w: f64, x: &[f64; K], m: [[f64; K]; 2], data: &[f64], n: usize) -> f64 {
    let copy = *x;
    let (p, q): (f64, [f64; 2]) = helper(w, copy);
    let mut acc = 0.0;
    let mut y = [0.0; 2];
    for i in 0..2 {
        for j in 0..K {
            y[i] += m[i][j] * x[j];
        }
    }
    for v in copy {
        acc += v * w;
    }
    for i in 0..data.len() {
        acc += data[i] * w;
    }
    let mut s = if p > 0.0 { p * 2.0 } else { -p };
    s -= q[0];
    s *= 1.5;
    s /= 2.0;
    if n > 2 {
        s = s + y[0];
    } else {
        s += y[1];
    }
    let arr = [s, acc, (n as f64) * w];
    let rep = [w; 2];
    let t = arr[0].tanh() + arr[1].max(arr[2]) + rep[1].powi(2) + q[1].clamp(-1.0, 1.0);
    if t > 100.0 {
        return t;
    }
    t + relu(w) + softplus(w) + logsumexp(copy, 0.5)
}

fn main() {
    let m = [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]];
    let (v, (gw, gx, gm)) = everything_grad(0.7, &[1.0, 2.0, 3.0], m, &[0.5, 0.25], 3);
    assert!(v.is_finite() && gw.is_finite() && gx.iter().chain(gm.iter().flatten()).all(|g| g.is_finite()));
}
