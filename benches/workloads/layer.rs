//! Workload 6: One 8×8 tanh layer with biases (72 parameters) on one input, squared error
//! against 8 targets.
#![allow(clippy::needless_range_loop)]

use num_dual::{DualNum, DualSVec64, gradient};
use relax::prelude::*;
use reverse::{Gradient, Tape, Var};

use super::{Data, Flat, Workload, emit, leak};

const H: usize = 8;
const P: usize = H * H + H;

#[differentiable(hvp, wrt(w, b))]
pub fn layer(w: [[f64; H]; H], b: [f64; H], x: &[f64; H], y: &[f64; H]) -> f64 {
    let mut loss = 0.0;
    for j in 0..H {
        let mut z = b[j];
        for i in 0..H {
            z += w[j][i] * x[i];
        }
        let e = z.tanh() - y[j];
        loss += e * e;
    }
    loss
}

pub fn hand(w: &[[f64; H]; H], b: &[f64; H], x: &[f64; H], y: &[f64; H]) -> (f64, [[f64; H]; H], [f64; H]) {
    let mut loss = 0.0;
    let (mut gw, mut gb) = ([[0.0; H]; H], [0.0; H]);
    for j in 0..H {
        let mut z = b[j];
        for i in 0..H {
            z += w[j][i] * x[i];
        }
        let a = z.tanh();
        let e = a - y[j];
        loss += e * e;
        // d/dz of e² with e = tanh z − y.
        gb[j] = 2.0 * e * (1.0 - a * a);
        for i in 0..H {
            gw[j][i] = gb[j] * x[i];
        }
    }
    (loss, gw, gb)
}

/// The loss and its tangent along `(vw, vb)`, forward mode by hand.
pub fn hand_jvp(
    w: &[[f64; H]; H],
    b: &[f64; H],
    x: &[f64; H],
    y: &[f64; H],
    (vw, vb): &([[f64; H]; H], [f64; H]),
) -> (f64, f64) {
    let (mut loss, mut dloss) = (0.0, 0.0);
    for j in 0..H {
        let (mut z, mut dz) = (b[j], vb[j]);
        for i in 0..H {
            z += w[j][i] * x[i];
            dz += vw[j][i] * x[i];
        }
        let a = z.tanh();
        let e = a - y[j];
        loss += e * e;
        dloss += 2.0 * e * (1.0 - a * a) * dz;
    }
    (loss, dloss)
}

type D = DualSVec64<P>;

fn dual(p: nalgebra::SVector<D, P>, x: &[f64; H], y: &[f64; H]) -> D {
    let mut loss = D::from(0.0);
    for j in 0..H {
        let mut z = p[H * H + j];
        for i in 0..H {
            z += p[j * H + i] * x[i];
        }
        let e = z.tanh() - y[j];
        loss += e * e;
    }
    loss
}

fn tape<'t>(p: &[Var<'t>], x: &[f64; H], y: &[f64; H]) -> Var<'t> {
    let mut loss = p[0] * 0.0;
    for j in 0..H {
        let mut z = p[H * H + j];
        for i in 0..H {
            z = z + p[j * H + i] * x[i];
        }
        let e = z.tanh() - y[j];
        loss = loss + e * e;
    }
    loss
}

/// `layer_jvp` called on borrowed arrays, as a caller owning them calls it (see [`super::Variant`]).
#[inline(never)]
fn jvp_borrowed(w: &[[f64; H]; H], b: &[f64; H], x: &[f64; H], y: &[f64; H], v: &([[f64; H]; H], [f64; H])) -> f64 {
    layer_jvp(*w, *b, x, y, *v).1
}

pub fn workload() -> Workload {
    let mut d = Data::new(6);
    let w: [[f64; H]; H] = core::array::from_fn(|_| d.array::<H>().map(|v| 0.5 * v));
    let b = d.array::<H>().map(|v| 0.2 * v);
    let x = d.array::<H>();
    let y = d.array::<H>().map(|v| 0.8 * v);
    let mut point = Vec::new();
    (w, b).flatten_into(&mut point);
    let p0 = leak(point.clone());
    let unflatten = |p: &[f64]| -> ([[f64; H]; H], [f64; H]) {
        (core::array::from_fn(|j| core::array::from_fn(|i| p[j * H + i])), core::array::from_fn(|j| p[H * H + j]))
    };
    let direction = super::direction(P);
    let v = unflatten(&direction);
    Workload {
        id: "layer",
        name: "8×8 tanh layer (64 + 8 weights)",
        params: P,
        primal: Box::new(move |out| emit(out, layer(w, b, &x, &y))),
        relax: Box::new(move |out| emit(out, layer_grad(w, b, &x, &y).1)),
        hand: Box::new(move |out| {
            let (_, gw, gb) = hand(&w, &b, &x, &y);
            emit(out, (gw, gb))
        }),
        num_dual: Box::new(move |out| {
            let p = nalgebra::SVector::<f64, P>::from_iterator(p0.iter().copied());
            emit(out, gradient(|p| dual(p, &x, &y), &p).1.as_slice().to_vec())
        }),
        tape: Box::new(move |out| {
            let t = Tape::new();
            let p = t.add_vars(p0);
            emit(out, tape(&p, &x, &y).grad().wrt(&p))
        }),
        jvp: Box::new(move |out| emit(out, jvp_borrowed(&w, &b, &x, &y, &v))),
        hand_jvp: Some(Box::new(move |out| emit(out, hand_jvp(&w, &b, &x, &y, &v).1))),
        hvp: Some(Box::new(move |out| {
            let (_, gradient, hv) = layer_hvp(w, b, &x, &y, v);
            emit(out, (gradient, hv))
        })),
        primal_at: Box::new(move |p| {
            let (w, b) = unflatten(p);
            vec![layer(w, b, &x, &y)]
        }),
        point,
        direction,
    }
}
