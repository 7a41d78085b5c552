//! A regression over 10 000 points, in arrays and in slices of runtime length: its adjoint stores
//! nothing per iteration, so it runs on the default 8 MiB main-thread stack and in a 2 MiB thread.
#![deny(warnings)]
#![allow(clippy::needless_range_loop)]

use relax::prelude::*;

const N: usize = 10_000;

#[differentiable]
fn regression(w: f64, b: f64, xs: &[f64; N], ys: &[f64; N]) -> f64 {
    let mut total = 0.0;
    for i in 0..N {
        let r = w * xs[i] + b - ys[i];
        total += huber(r, 1.0);
    }
    total / (N as f64)
}

#[differentiable]
fn regression_slice(w: f64, b: f64, xs: &[f64], ys: &[f64]) -> f64 {
    let mut total = 0.0;
    for i in 0..xs.len() {
        let r = w * xs[i] + b - ys[i];
        total += huber(r, 1.0);
    }
    total / (xs.len() as f64)
}

/// The data, on the heap: `x_i` spread over [−3, 3], `y_i = 2x_i − 1` plus a bounded wiggle and
/// every seventh point an outlier.
fn data() -> (Box<[f64; N]>, Box<[f64; N]>) {
    let xs: Vec<f64> = (0..N).map(|i| -3.0 + 6.0 * i as f64 / N as f64).collect();
    let ys: Vec<f64> = xs
        .iter()
        .enumerate()
        .map(|(i, x)| 2.0 * x - 1.0 + 0.3 * (i as f64).sin() + if i % 7 == 0 { 10.0 } else { 0.0 })
        .collect();
    (xs.try_into().unwrap(), ys.try_into().unwrap())
}

/// The gradient in closed form: `mean(huber'(r)·(x, 1))`.
fn closed_form(w: f64, b: f64, xs: &[f64], ys: &[f64]) -> (f64, f64) {
    let (mut dw, mut db) = (0.0, 0.0);
    for (x, y) in xs.iter().zip(ys) {
        let r = w * x + b - y;
        let d = r.clamp(-1.0, 1.0);
        dw += d * x;
        db += d;
    }
    (dw / xs.len() as f64, db / xs.len() as f64)
}

fn fit_on_a_thread(stack: usize) {
    std::thread::Builder::new()
        .stack_size(stack)
        .spawn(|| {
            let (xs, ys) = data();
            let (w, b) = (1.3, 0.4);
            let (v, (dw, db)) = regression_grad(w, b, &xs, &ys);
            assert_eq!(v.to_bits(), regression(w, b, &xs, &ys).to_bits());
            let (vs, (dws, dbs)) = regression_slice_grad(w, b, &xs[..], &ys[..]);
            assert_eq!(vs.to_bits(), regression_slice(w, b, &xs[..], &ys[..]).to_bits());
            let (cw, cb) = closed_form(w, b, &xs[..], &ys[..]);
            for (g, c) in [(dw, cw), (db, cb), (dws, cw), (dbs, cb)] {
                assert!((g - c).abs() <= 1e-9 * (1.0 + c.abs()), "gradient {g} vs closed form {c}");
            }
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn ten_thousand_points_on_an_8_mib_stack() {
    fit_on_a_thread(8 << 20);
}

#[test]
fn ten_thousand_points_on_a_2_mib_stack() {
    fit_on_a_thread(2 << 20);
}
