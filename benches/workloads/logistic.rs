//! Workload 2: Logistic regression: 32 weights, 200 points of 32 features, softplus loss.
#![allow(clippy::needless_range_loop)]

use num_dual::{DualNum, DualSVec64, DualStruct, gradient};
use relax::prelude::*;
use reverse::{Gradient, Tape, Var};

use super::{Data, Workload, emit, leak};

const F: usize = 32;
const M: usize = 200;

#[differentiable(hvp, wrt(w))]
pub fn loss(w: [f64; F], xs: &[[f64; F]; M], ys: &[f64; M]) -> f64 {
    let mut total = 0.0;
    for k in 0..M {
        total += softplus(-ys[k] * dot(w, xs[k]));
    }
    total / (M as f64)
}

pub fn hand(w: &[f64; F], xs: &[[f64; F]; M], ys: &[f64; M]) -> (f64, [f64; F]) {
    let (mut total, mut g) = (0.0, [0.0; F]);
    for k in 0..M {
        let mut z = 0.0;
        for i in 0..F {
            z += w[i] * xs[k][i];
        }
        let m = -ys[k] * z;
        total += softplus(m);
        let d = -ys[k] * sigmoid(m) / M as f64;
        for i in 0..F {
            g[i] += d * xs[k][i];
        }
    }
    (total / M as f64, g)
}

type D = DualSVec64<F>;

fn dual_softplus(x: D) -> D {
    if x.re() > 0.0 { x + (-x).exp().ln_1p() } else { x.exp().ln_1p() }
}

fn dual(w: nalgebra::SVector<D, F>, xs: &[[f64; F]; M], ys: &[f64; M]) -> D {
    let mut total = D::from(0.0);
    for k in 0..M {
        let mut z = D::from(0.0);
        for i in 0..F {
            z += w[i] * xs[k][i];
        }
        total += dual_softplus(z * -ys[k]);
    }
    total / M as f64
}

fn tape_softplus(x: Var<'_>) -> Var<'_> {
    if x.val > 0.0 { x + (-x).exp().ln_1p() } else { x.exp().ln_1p() }
}

fn tape<'t>(w: &[Var<'t>], xs: &[[f64; F]; M], ys: &[f64; M]) -> Var<'t> {
    let mut total = w[0] * 0.0;
    for k in 0..M {
        let mut z = w[0] * xs[k][0];
        for i in 1..F {
            z = z + w[i] * xs[k][i];
        }
        total = total + tape_softplus(z * -ys[k]);
    }
    total / M as f64
}

/// `loss_jvp` called on borrowed arrays, as a caller owning them calls it (see [`super::Variant`]).
#[inline(never)]
fn jvp_borrowed(w: &[f64; F], xs: &[[f64; F]; M], ys: &[f64; M], v: &[f64; F]) -> f64 {
    loss_jvp(*w, xs, ys, *v).1
}

pub fn workload() -> Workload {
    let mut d = Data::new(2);
    let xs: &[[f64; F]; M] = leak(core::array::from_fn(|_| d.array::<F>()));
    let truth = d.array::<F>();
    let ys: &[f64; M] =
        leak(core::array::from_fn(|k| if relax::dot(truth, xs[k]) + 0.3 * d.next() > 0.0 { 1.0 } else { -1.0 }));
    let w: [f64; F] = d.array::<F>().map(|v| 0.5 * v);
    let direction = super::direction(F);
    let v = core::array::from_fn(|i| direction[i]);
    Workload {
        id: "logistic",
        name: "Logistic regression (32 weights, 200 points)",
        params: F,
        primal: Box::new(move |out| emit(out, loss(w, xs, ys))),
        relax: Box::new(move |out| emit(out, loss_grad(w, xs, ys).1)),
        hand: Box::new(move |out| emit(out, hand(&w, xs, ys).1)),
        num_dual: Box::new(move |out| {
            emit(out, gradient(|p| dual(p, xs, ys), &nalgebra::SVector::from(w)).1.as_slice().to_vec())
        }),
        tape: Box::new(move |out| {
            let t = Tape::new();
            let p = t.add_vars(&w);
            emit(out, tape(&p, xs, ys).grad().wrt(&p))
        }),
        primal_at: Box::new(move |p| vec![loss(core::array::from_fn(|i| p[i]), xs, ys)]),
        jvp: Box::new(move |out| emit(out, jvp_borrowed(&w, xs, ys, &v))),
        hand_jvp: None,
        hvp: Some(Box::new(move |out| {
            let (_, gradient, hv) = loss_hvp(w, xs, ys, v);
            emit(out, (gradient, hv))
        })),
        point: w.to_vec(),
        direction,
    }
}
