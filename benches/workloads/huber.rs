//! Workload 1: Huber regression with outliers: 2 parameters, 1 000 points.
#![allow(clippy::needless_range_loop)]

use num_dual::{DualSVec64, DualStruct, gradient};
use relax::prelude::*;
use reverse::{Gradient, Tape, Var};

use super::{Data, Workload, leak};

const N: usize = 1000;

#[differentiable(wrt(w, b))]
pub fn loss(w: f64, b: f64, xs: &[f64; N], ys: &[f64; N]) -> f64 {
    let mut total = 0.0;
    for i in 0..N {
        total += huber(w * xs[i] + b - ys[i], 1.0);
    }
    total / (N as f64)
}

pub fn hand(w: f64, b: f64, xs: &[f64; N], ys: &[f64; N]) -> (f64, [f64; 2]) {
    let (mut total, mut dw, mut db) = (0.0, 0.0, 0.0);
    for i in 0..N {
        let r = w * xs[i] + b - ys[i];
        let a = r.abs();
        let (h, d) = if a < 1.0 { (0.5 * r * r, r) } else { (a - 0.5, r.signum()) };
        total += h;
        dw += d * xs[i];
        db += d;
    }
    let n = N as f64;
    (total / n, [dw / n, db / n])
}

fn dual(p: nalgebra::SVector<DualSVec64<2>, 2>, xs: &[f64; N], ys: &[f64; N]) -> DualSVec64<2> {
    let mut total = DualSVec64::<2>::from(0.0);
    for i in 0..N {
        let r = p[0] * xs[i] + p[1] - ys[i];
        total += if r.re().abs() < 1.0 {
            r * r * 0.5
        } else if r.re() > 0.0 {
            r - 0.5
        } else {
            -r - 0.5
        };
    }
    total / N as f64
}

fn tape<'t>(p: &[Var<'t>], xs: &[f64; N], ys: &[f64; N]) -> Var<'t> {
    let mut total = p[0] * 0.0;
    for i in 0..N {
        let r = p[0] * xs[i] + p[1] - ys[i];
        total = total
            + if r.val.abs() < 1.0 {
                r * r * 0.5
            } else if r.val > 0.0 {
                r - 0.5
            } else {
                -r - 0.5
            };
    }
    total / N as f64
}

pub fn workload() -> Workload {
    let mut d = Data::new(1);
    let xs: &[f64; N] = leak(d.array::<N>().map(|x| 3.0 * x));
    let ys: &[f64; N] =
        leak(core::array::from_fn(|i| 2.0 * xs[i] - 1.0 + 0.3 * d.next() + if i % 10 == 0 { 12.0 } else { 0.0 }));
    let (w, b) = (1.4, 0.3);
    Workload {
        name: "Huber regression (2 params, 1 000 points)",
        params: 2,
        primal: Box::new(move || loss(w, b, xs, ys)),
        relax: Box::new(move || {
            let (_, (dw, db)) = loss_grad(w, b, xs, ys);
            vec![dw, db]
        }),
        hand: Box::new(move || hand(w, b, xs, ys).1.to_vec()),
        num_dual: Box::new(move || {
            gradient(|p| dual(p, xs, ys), &nalgebra::SVector::from([w, b])).1.as_slice().to_vec()
        }),
        tape: Box::new(move || {
            let t = Tape::new();
            let p = t.add_vars(&[w, b]);
            tape(&p, xs, ys).grad().wrt(&p)
        }),
        primal_at: Box::new(move |p| loss(p[0], p[1], xs, ys)),
        point: vec![w, b],
    }
}
