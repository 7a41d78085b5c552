//! Workload 3: A soft-argmax readout: 512 logits from a dot product of weights and features, at
//! temperature 0.3, plus `logsumexp`.
#![allow(clippy::needless_range_loop)]

use num_dual::{DualNum, DualSVec64, DualStruct, gradient};
use relax::prelude::*;
use reverse::{Gradient, Tape, Var};

use super::{Data, Workload, emit, leak};

const F: usize = 8;
const K: usize = 512;
const T: f64 = 0.3;

#[differentiable(hvp, wrt(w))]
pub fn readout(w: [f64; F], feats: &[[f64; F]; K]) -> f64 {
    let mut logits = [0.0; K];
    for k in 0..K {
        logits[k] = dot(w, feats[k]);
    }
    soft_argmax(logits, 0.3) + logsumexp(logits, 0.3)
}

pub fn hand(w: &[f64; F], feats: &[[f64; F]; K]) -> (f64, [f64; F]) {
    let mut z = [0.0; K];
    let mut m = f64::NEG_INFINITY;
    for k in 0..K {
        z[k] = relax::dot(*w, feats[k]);
        m = m.max(z[k]);
    }
    let mut e = [0.0; K];
    let mut s = 0.0;
    for k in 0..K {
        e[k] = ((z[k] - m) / T).exp();
        s += e[k];
    }
    let mut sa = 0.0;
    for k in 0..K {
        sa += e[k] / s * k as f64;
    }
    let value = sa + m + T * s.ln();
    let mut g = [0.0; F];
    for k in 0..K {
        let p = e[k] / s;
        // d soft_argmax / dz_k = p_k (k − sa)/T; d logsumexp / dz_k = p_k.
        let dz = p * (k as f64 - sa) / T + p;
        for i in 0..F {
            g[i] += dz * feats[k][i];
        }
    }
    (value, g)
}

type D = DualSVec64<F>;

fn dual(w: nalgebra::SVector<D, F>, feats: &[[f64; F]; K]) -> D {
    let z: Vec<D> = feats.iter().map(|f| (0..F).fold(D::from(0.0), |a, i| a + w[i] * f[i])).collect();
    let m = z.iter().map(|v| v.re()).fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<D> = z.iter().map(|v| ((*v - m) / T).exp()).collect();
    let s = e.iter().fold(D::from(0.0), |a, v| a + *v);
    let sa = e.iter().enumerate().fold(D::from(0.0), |a, (k, v)| a + *v / s * k as f64);
    sa + m + s.ln() * T
}

fn tape<'t>(w: &[Var<'t>], feats: &[[f64; F]; K]) -> Var<'t> {
    let z: Vec<Var<'t>> = feats.iter().map(|f| (1..F).fold(w[0] * f[0], |a, i| a + w[i] * f[i])).collect();
    let m = z.iter().map(|v| v.val).fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<Var<'t>> = z.iter().map(|v| ((*v - m) / T).exp()).collect();
    let s = e[1..].iter().fold(e[0], |a, v| a + *v);
    let sa = e[1..].iter().enumerate().fold(e[0] * 0.0, |a, (k, v)| a + *v / s * (k + 1) as f64);
    sa + m + s.ln() * T
}

/// `readout_jvp` called on borrowed arrays, as a caller owning them calls it (see [`super::Variant`]).
#[inline(never)]
fn jvp_borrowed(w: &[f64; F], feats: &[[f64; F]; K], v: &[f64; F]) -> f64 {
    readout_jvp(*w, feats, *v).1
}

pub fn workload() -> Workload {
    let mut d = Data::new(3);
    let feats: &[[f64; F]; K] = leak(core::array::from_fn(|_| d.array::<F>()));
    let w = d.array::<F>();
    let direction = super::direction(F);
    let v = core::array::from_fn(|i| direction[i]);
    Workload {
        id: "readout",
        name: "Soft-argmax readout (8 weights, 512 logits)",
        params: F,
        primal: Box::new(move |out| emit(out, readout(w, feats))),
        relax: Box::new(move |out| emit(out, readout_grad(w, feats).1)),
        hand: Box::new(move |out| emit(out, hand(&w, feats).1)),
        num_dual: Box::new(move |out| {
            emit(out, gradient(|p| dual(p, feats), &nalgebra::SVector::from(w)).1.as_slice().to_vec())
        }),
        tape: Box::new(move |out| {
            let t = Tape::new();
            let p = t.add_vars(&w);
            emit(out, tape(&p, feats).grad().wrt(&p))
        }),
        primal_at: Box::new(move |p| vec![readout(core::array::from_fn(|i| p[i]), feats)]),
        jvp: Box::new(move |out| emit(out, jvp_borrowed(&w, feats, &v))),
        hand_jvp: None,
        hvp: Some(Box::new(move |out| {
            let (_, gradient, hv) = readout_hvp(w, feats, v);
            emit(out, (gradient, hv))
        })),
        point: w.to_vec(),
        direction,
    }
}
