//! Generic functions with rules and array outputs at f64 and f32, a closure passed as data,
//! slices passed through composition, a nested-array output.
#![deny(warnings)]
#![allow(clippy::needless_range_loop)]
mod common;
use common::*;
use relax::prelude::*;

const GAIN: f64 = 1.5;

#[differentiable]
fn generic_out<T: Real, const N: usize>(x: [T; N], t: T, data: &[T; N]) -> [T; N] {
    let p = softmax(x, t);
    let mut y = [0.0; N];
    for i in 0..N {
        y[i] = p[i] * data[i] + x[i] * x[i] * 0.5;
    }
    y
}

#[differentiable]
fn with_closure<F: Fn(f64) -> f64>(w: f64, f: F, xs: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..xs.len() {
        s += w * f(xs[i]) * GAIN;
    }
    s
}

#[differentiable]
fn slice_user(w: f64, b: f64, xs: &[f64]) -> f64 {
    with_closure(w, |v| v * v, xs) + b * xs.len() as f64
}

#[differentiable]
fn matrix_out(a: [f64; 2]) -> [[f64; 2]; 2] {
    [[a[0] * a[1], a[0]], [a[1].exp(), -a[0]]]
}

#[test]
fn generic_rules_closures_slices_and_matrices() {
    let mut r = rng(5);
    let data = [0.5, -1.0, 2.0];
    for _ in 0..100 {
        let p = point(&mut r, 4, -1.5, 1.5);
        let t = p[3].abs() + 0.3;
        let d = [0.3, -0.7, 1.1];
        let (v, (gx, gt)) = generic_out_vjp(arr::<3>(&p), t, &data, d);
        assert_same_bits("generic_out", &v, &generic_out(arr::<3>(&p), t, &data));
        let f = |q: &[f64]| generic_out(arr::<3>(q), q[3], &data).iter().zip(&d).map(|(a, b)| a * b).sum::<f64>();
        let mut q = p.clone();
        q[3] = t;
        assert_grad("generic_out", &(gx, gt).flat(), &fd(f, &q));
        // f32 through the same generic function.
        let x32: [f32; 3] = core::array::from_fn(|i| p[i] as f32);
        let (v32, _) = generic_out_vjp(x32, t as f32, &[0.5f32, -1.0, 2.0], [1.0; 3]);
        assert!(v32.iter().all(|v| v.is_finite()));

        let xs = [0.5, -1.0, 2.0, 0.25];
        let (v, g) = slice_user_grad(p[0], p[1], &xs);
        assert_same_bits("slice_user", &[v], &[slice_user(p[0], p[1], &xs)]);
        assert_grad("slice_user", &g.flat(), &fd(|q| slice_user(q[0], q[1], &xs), &p[..2]));

        let dm = [[0.5, -1.0], [2.0, 0.25]];
        let (v, g) = matrix_out_vjp(arr::<2>(&p), dm);
        assert_same_bits("matrix_out", &v.flat(), &matrix_out(arr::<2>(&p)).flat());
        let f = |q: &[f64]| matrix_out(arr::<2>(q)).flat().iter().zip(dm.flat()).map(|(a, b)| a * b).sum::<f64>();
        assert_grad("matrix_out", &g, &fd(f, &p[..2]));
    }
}
