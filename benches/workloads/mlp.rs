//! Workload 4: A two-layer tanh network: 16×16 and 16 weights, one input of 16, squared error.
#![allow(clippy::needless_range_loop)]

use num_dual::{DualNum, DualSVec64, gradient};
use relax::prelude::*;
use reverse::{Gradient, Tape, Var};

use super::{Data, Workload, emit};

const H: usize = 16;
const P: usize = H * H + H;

#[differentiable(hvp, wrt(w1, w2))]
pub fn mlp(w1: [[f64; H]; H], w2: [f64; H], x: &[f64; H], y: f64) -> f64 {
    let mut out = 0.0;
    for j in 0..H {
        let mut h = 0.0;
        for i in 0..H {
            h += w1[j][i] * x[i];
        }
        out += w2[j] * h.tanh();
    }
    let e = out - y;
    0.5 * e * e
}

pub fn hand(w1: &[[f64; H]; H], w2: &[f64; H], x: &[f64; H], y: f64) -> (f64, [[f64; H]; H], [f64; H]) {
    let mut a = [0.0; H];
    let mut out = 0.0;
    for j in 0..H {
        let mut h = 0.0;
        for i in 0..H {
            h += w1[j][i] * x[i];
        }
        a[j] = h.tanh();
        out += w2[j] * a[j];
    }
    let e = out - y;
    let (mut g1, mut g2) = ([[0.0; H]; H], [0.0; H]);
    for j in 0..H {
        g2[j] = e * a[j];
        let dh = e * w2[j] * (1.0 - a[j] * a[j]);
        for i in 0..H {
            g1[j][i] = dh * x[i];
        }
    }
    (0.5 * e * e, g1, g2)
}

/// The value and its tangent along `(v1, v2)`, forward mode by hand: each unit's inner product
/// beside its tangent, the tangent of `tanh` from its value.
pub fn hand_jvp(
    w1: &[[f64; H]; H],
    w2: &[f64; H],
    x: &[f64; H],
    y: f64,
    (v1, v2): &([[f64; H]; H], [f64; H]),
) -> (f64, f64) {
    let (mut out, mut dout) = (0.0, 0.0);
    for j in 0..H {
        let (mut h, mut dh) = (0.0, 0.0);
        for i in 0..H {
            h += w1[j][i] * x[i];
            dh += v1[j][i] * x[i];
        }
        let a = h.tanh();
        out += w2[j] * a;
        dout += v2[j] * a + w2[j] * (1.0 - a * a) * dh;
    }
    let e = out - y;
    (0.5 * e * e, e * dout)
}

fn flat(g1: &[[f64; H]; H], g2: &[f64; H]) -> Vec<f64> {
    g1.iter().flatten().chain(g2).copied().collect()
}

type D = DualSVec64<P>;

fn dual(p: nalgebra::SVector<D, P>, x: &[f64; H], y: f64) -> D {
    let mut out = D::from(0.0);
    for j in 0..H {
        let mut h = D::from(0.0);
        for i in 0..H {
            h += p[j * H + i] * x[i];
        }
        out += p[H * H + j] * h.tanh();
    }
    let e = out - y;
    e * e * 0.5
}

fn tape<'t>(p: &[Var<'t>], x: &[f64; H], y: f64) -> Var<'t> {
    let mut out = p[0] * 0.0;
    for j in 0..H {
        let mut h = p[j * H] * x[0];
        for i in 1..H {
            h = h + p[j * H + i] * x[i];
        }
        out = out + p[H * H + j] * h.tanh();
    }
    let e = out - y;
    e * e * 0.5
}

/// `mlp_jvp` called on borrowed arrays, as a caller owning them calls it (see [`super::Variant`]).
#[inline(never)]
fn jvp_borrowed(w1: &[[f64; H]; H], w2: &[f64; H], x: &[f64; H], y: f64, v: &([[f64; H]; H], [f64; H])) -> f64 {
    mlp_jvp(*w1, *w2, x, y, *v).1
}

pub fn workload() -> Workload {
    let mut d = Data::new(4);
    let w1: [[f64; H]; H] = core::array::from_fn(|_| d.array::<H>().map(|v| 0.4 * v));
    let w2 = d.array::<H>();
    let x = d.array::<H>();
    let y = 0.7;
    let point = flat(&w1, &w2);
    let p0 = point.clone();
    let unflatten = |p: &[f64]| -> ([[f64; H]; H], [f64; H]) {
        (core::array::from_fn(|j| core::array::from_fn(|i| p[j * H + i])), core::array::from_fn(|j| p[H * H + j]))
    };
    let direction = super::direction(P);
    let v = unflatten(&direction);
    Workload {
        id: "mlp",
        name: "Two-layer tanh network (16×16 + 16 weights)",
        params: P,
        primal: Box::new(move |out| emit(out, mlp(w1, w2, &x, y))),
        relax: Box::new(move |out| emit(out, mlp_grad(w1, w2, &x, y).1)),
        hand: Box::new(move |out| {
            let (_, g1, g2) = hand(&w1, &w2, &x, y);
            emit(out, (g1, g2))
        }),
        num_dual: Box::new(move |out| {
            let p = nalgebra::SVector::<f64, P>::from_iterator(p0.iter().copied());
            emit(out, gradient(|p| dual(p, &x, y), &p).1.as_slice().to_vec())
        }),
        tape: Box::new(move |out| {
            let t = Tape::new();
            let p = t.add_vars(&flat(&w1, &w2));
            emit(out, tape(&p, &x, y).grad().wrt(&p))
        }),
        jvp: Box::new(move |out| emit(out, jvp_borrowed(&w1, &w2, &x, y, &v))),
        hand_jvp: Some(Box::new(move |out| emit(out, hand_jvp(&w1, &w2, &x, y, &v).1))),
        hvp: Some(Box::new(move |out| {
            let (_, gradient, hv) = mlp_hvp(w1, w2, &x, y, v);
            emit(out, (gradient, hv))
        })),
        primal_at: Box::new(move |p| {
            let (w1, w2) = unflatten(p);
            vec![mlp(w1, w2, &x, y)]
        }),
        point,
        direction,
    }
}
