//! Workload 5: A straight-through Gumbel-softmax objective over 64 categories with caller-supplied noise.
//!
//! Its hard primal skips the soft computation, so ratios are taken against the soft primal.

use num_dual::{DualNum, DualSVec64, DualStruct, gradient};
use relax::prelude::*;
use reverse::{Gradient, Tape, Var};

use super::{Data, Workload, emit};

const C: usize = 64;
const T: f64 = 0.5;

#[differentiable(hvp, wrt(logits))]
pub fn objective(logits: [f64; C], g: &[f64; C], costs: &[f64; C]) -> f64 {
    dot(st_gumbel_softmax_with(logits, *g, 0.5), *costs)
}

/// The soft primal the straight-through gradient is the gradient of.
#[differentiable(wrt(logits))]
pub fn soft_objective(logits: [f64; C], g: &[f64; C], costs: &[f64; C]) -> f64 {
    dot(gumbel_softmax_with(logits, *g, 0.5), *costs)
}

/// The hard value, `costs[argmax(logits + g)]`, and the soft gradient.
pub fn hand(logits: &[f64; C], g: &[f64; C], costs: &[f64; C]) -> (f64, [f64; C]) {
    let y: [f64; C] = core::array::from_fn(|i| logits[i] + g[i]);
    let (mut k, mut m) = (0, y[0]);
    for (i, &v) in y.iter().enumerate() {
        if v > m {
            (k, m) = (i, v);
        }
    }
    let e = y.map(|v| ((v - m) / T).exp());
    let s: f64 = e.iter().sum();
    let pc: f64 = (0..C).map(|i| e[i] / s * costs[i]).sum();
    (costs[k], core::array::from_fn(|i| e[i] / s * (costs[i] - pc) / T))
}

type D = DualSVec64<C>;

/// The straight-through value with the soft gradient: `soft + (hard − soft)` held constant.
fn dual(l: nalgebra::SVector<D, C>, g: &[f64; C], costs: &[f64; C]) -> D {
    let y: Vec<D> = (0..C).map(|i| l[i] + g[i]).collect();
    let m = y.iter().map(|v| v.re()).fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<D> = y.iter().map(|v| ((*v - m) / T).exp()).collect();
    let s = e.iter().fold(D::from(0.0), |a, v| a + *v);
    let soft = (0..C).fold(D::from(0.0), |a, i| a + e[i] / s * costs[i]);
    let k = relax::argmax(core::array::from_fn::<f64, C, _>(|i| y[i].re()));
    soft - soft.re() + costs[k]
}

fn tape<'t>(l: &[Var<'t>], g: &[f64; C], costs: &[f64; C]) -> Var<'t> {
    let y: Vec<Var<'t>> = (0..C).map(|i| l[i] + g[i]).collect();
    let m = y.iter().map(|v| v.val).fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<Var<'t>> = y.iter().map(|v| ((*v - m) / T).exp()).collect();
    let s = e[1..].iter().fold(e[0], |a, v| a + *v);
    let soft = (1..C).fold(e[0] / s * costs[0], |a, i| a + e[i] / s * costs[i]);
    let k = relax::argmax(core::array::from_fn::<f64, C, _>(|i| y[i].val));
    soft - soft.val + costs[k]
}

/// `objective_jvp` called on borrowed arrays, as a caller owning them calls it (see [`super::Variant`]).
#[inline(never)]
fn jvp_borrowed(logits: &[f64; C], g: &[f64; C], costs: &[f64; C], v: &[f64; C]) -> f64 {
    objective_jvp(*logits, g, costs, *v).1
}

pub fn workload() -> Workload {
    let mut d = Data::new(5);
    let logits = d.array::<C>();
    let u = d.array::<C>().map(|v| 0.5 + 0.49 * v);
    let g = u.map(relax::gumbel_from_uniform);
    let costs = d.array::<C>();
    assert_eq!(hand(&logits, &g, &costs).0, objective(logits, &g, &costs), "the hand-written hard value");
    let direction = super::direction(C);
    let v = core::array::from_fn(|i| direction[i]);
    Workload {
        id: "gumbel",
        name: "Straight-through Gumbel-softmax (64 categories)",
        params: C,
        primal: Box::new(move |out| emit(out, soft_objective(logits, &g, &costs))),
        relax: Box::new(move |out| emit(out, objective_grad(logits, &g, &costs).1)),
        hand: Box::new(move |out| emit(out, hand(&logits, &g, &costs).1)),
        num_dual: Box::new(move |out| {
            emit(out, gradient(|p| dual(p, &g, &costs), &nalgebra::SVector::from(logits)).1.as_slice().to_vec())
        }),
        tape: Box::new(move |out| {
            let t = Tape::new();
            let p = t.add_vars(&logits);
            emit(out, tape(&p, &g, &costs).grad().wrt(&p))
        }),
        primal_at: Box::new(move |p| vec![soft_objective(core::array::from_fn(|i| p[i]), &g, &costs)]),
        jvp: Box::new(move |out| emit(out, jvp_borrowed(&logits, &g, &costs, &v))),
        hand_jvp: None,
        hvp: Some(Box::new(move |out| {
            let (_, gradient, hv) = objective_hvp(logits, &g, &costs, v);
            emit(out, (gradient, hv))
        })),
        point: logits.to_vec(),
        direction,
    }
}
