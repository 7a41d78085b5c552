//! Workloads 1 and 2: Huber regression with outliers, 2 parameters, 1 000 points: the mean loss,
//! and the plain sum (the same loop without the final division).
#![allow(clippy::needless_range_loop)]

use num_dual::{DualSVec64, DualStruct, gradient};
use relax::prelude::*;
use reverse::{Gradient, Tape, Var};

use super::{Data, Workload, emit, leak};

const N: usize = 1000;

#[differentiable(hvp, wrt(w, b))]
pub fn loss(w: f64, b: f64, xs: &[f64; N], ys: &[f64; N]) -> f64 {
    let mut total = 0.0;
    for i in 0..N {
        total += huber(w * xs[i] + b - ys[i], 1.0);
    }
    total / (N as f64)
}

#[differentiable(hvp, wrt(w, b))]
pub fn loss_sum(w: f64, b: f64, xs: &[f64; N], ys: &[f64; N]) -> f64 {
    let mut total = 0.0;
    for i in 0..N {
        total += huber(w * xs[i] + b - ys[i], 1.0);
    }
    total
}

/// The sum and its gradient.
pub fn hand_sum(w: f64, b: f64, xs: &[f64; N], ys: &[f64; N]) -> (f64, [f64; 2]) {
    let (mut total, mut dw, mut db) = (0.0, 0.0, 0.0);
    for i in 0..N {
        let r = w * xs[i] + b - ys[i];
        let a = r.abs();
        let (h, d) = if a < 1.0 { (0.5 * r * r, r) } else { (a - 0.5, r.signum()) };
        total += h;
        dw += d * xs[i];
        db += d;
    }
    (total, [dw, db])
}

/// The sum and its tangent along `(vw, vb)`, forward mode by hand.
pub fn hand_jvp_sum(w: f64, b: f64, xs: &[f64; N], ys: &[f64; N], (vw, vb): (f64, f64)) -> (f64, f64) {
    let (mut total, mut dtotal) = (0.0, 0.0);
    for i in 0..N {
        let r = w * xs[i] + b - ys[i];
        let a = r.abs();
        let (h, d) = if a < 1.0 { (0.5 * r * r, r) } else { (a - 0.5, r.signum()) };
        total += h;
        dtotal += d * (vw * xs[i] + vb);
    }
    (total, dtotal)
}

/// The mean and its tangent.
pub fn hand_jvp(w: f64, b: f64, xs: &[f64; N], ys: &[f64; N], v: (f64, f64)) -> (f64, f64) {
    let (total, dtotal) = hand_jvp_sum(w, b, xs, ys, v);
    (total / N as f64, dtotal / N as f64)
}

/// The mean and its gradient.
pub fn hand(w: f64, b: f64, xs: &[f64; N], ys: &[f64; N]) -> (f64, [f64; 2]) {
    let (total, [dw, db]) = hand_sum(w, b, xs, ys);
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
    total
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
    total
}

type Primal = fn(f64, f64, &[f64; N], &[f64; N]) -> f64;
type Grad = fn(f64, f64, &[f64; N], &[f64; N]) -> (f64, (f64, f64));
type Hand = fn(f64, f64, &[f64; N], &[f64; N]) -> (f64, [f64; 2]);
type Jvp = fn(f64, f64, &[f64; N], &[f64; N], (f64, f64)) -> (f64, f64);
type Hvp = fn(f64, f64, &[f64; N], &[f64; N], (f64, f64)) -> (f64, (f64, f64), (f64, f64));
/// The primal, relax's gradient, the hand-written one, relax's `_jvp`, `_hvp` and the hand-written
/// tangent.
type Variants = (Primal, Grad, Hand, Jvp, Hvp, Jvp);

/// The mean loss.
pub fn workload() -> Workload {
    let name = "Huber regression (2 params, 1 000 points)";
    make("huber", name, (loss, loss_grad, hand, loss_jvp, loss_hvp, hand_jvp), N as f64)
}

/// The sum: the ports divide by 1.
pub fn sum_workload() -> Workload {
    make(
        "huber-sum",
        "Huber sum (2 params, 1 000 points)",
        (loss_sum, loss_sum_grad, hand_sum, loss_sum_jvp, loss_sum_hvp, hand_jvp_sum),
        1.0,
    )
}

fn make(
    id: &'static str,
    name: &'static str,
    (f, f_grad, f_hand, f_jvp, f_hvp, f_hand_jvp): Variants,
    divisor: f64,
) -> Workload {
    let mut d = Data::new(1);
    let xs: &[f64; N] = leak(d.array::<N>().map(|x| 3.0 * x));
    let ys: &[f64; N] =
        leak(core::array::from_fn(|i| 2.0 * xs[i] - 1.0 + 0.3 * d.next() + if i % 10 == 0 { 12.0 } else { 0.0 }));
    let (w, b) = (1.4, 0.3);
    let direction = super::direction(2);
    let v = (direction[0], direction[1]);
    Workload {
        id,
        name,
        params: 2,
        primal: Box::new(move |out| emit(out, f(w, b, xs, ys))),
        relax: Box::new(move |out| {
            let (_, (dw, db)) = f_grad(w, b, xs, ys);
            emit(out, [dw, db])
        }),
        hand: Box::new(move |out| emit(out, f_hand(w, b, xs, ys).1)),
        num_dual: Box::new(move |out| {
            let g = gradient(|p| dual(p, xs, ys) / divisor, &nalgebra::SVector::from([w, b])).1;
            emit(out, g.as_slice().to_vec())
        }),
        tape: Box::new(move |out| {
            let t = Tape::new();
            let p = t.add_vars(&[w, b]);
            emit(out, (tape(&p, xs, ys) / divisor).grad().wrt(&p))
        }),
        jvp: Box::new(move |out| emit(out, f_jvp(w, b, xs, ys, v).1)),
        hand_jvp: Some(Box::new(move |out| emit(out, f_hand_jvp(w, b, xs, ys, v).1))),
        hvp: Some(Box::new(move |out| {
            let (_, (dw, db), (hw, hb)) = f_hvp(w, b, xs, ys, v);
            emit(out, [dw, db, hw, hb])
        })),
        primal_at: Box::new(move |p| vec![f(p[0], p[1], xs, ys)]),
        point: vec![w, b],
        direction,
    }
}
