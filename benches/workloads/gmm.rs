//! Workload 7: The log-likelihood of a Gaussian mixture, K = 5 components with diagonal scales in
//! 2-D (25 parameters), over 1 000 points: a `logsumexp` over the components inside the data loop.
#![allow(clippy::needless_range_loop)]

use num_dual::{DualNum, DualSVec64, DualStruct, gradient};
use relax::prelude::*;
use reverse::{Gradient, Tape, Var};

use super::{Data, Flat, Workload, emit, leak};

const K: usize = 5;
const D: usize = 2;
const N: usize = 1000;
const P: usize = K + 2 * K * D;
/// ln √(2π), the normaliser of each dimension.
const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

#[differentiable(hvp, wrt(alpha, mu, log_sigma))]
pub fn log_likelihood(alpha: [f64; K], mu: [[f64; D]; K], log_sigma: [[f64; D]; K], xs: &[[f64; D]; N]) -> f64 {
    // Once per component: its log weight with the Gaussian's normaliser, and its inverse scales.
    let log_norm = logsumexp(alpha, 1.0);
    let mut c = [0.0; K];
    let mut inv = [[0.0; D]; K];
    for k in 0..K {
        c[k] = alpha[k] - log_norm;
        for d in 0..D {
            c[k] -= log_sigma[k][d] + LN_SQRT_2PI;
            inv[k][d] = (-log_sigma[k][d]).exp();
        }
    }
    let mut total = 0.0;
    for n in 0..N {
        let mut lp = [0.0; K];
        for k in 0..K {
            let mut q = 0.0;
            for d in 0..D {
                let z = (xs[n][d] - mu[k][d]) * inv[k][d];
                q += z * z;
            }
            lp[k] = c[k] - 0.5 * q;
        }
        total += logsumexp(lp, 1.0);
    }
    total
}

/// (alpha, mu, log_sigma): the parameters, or a gradient with respect to them.
pub type Params = ([f64; K], [[f64; D]; K], [[f64; D]; K]);

/// One pass over the data accumulating each component's responsibility `r`, `r·z` and `r·z²`
/// (`z` the standardised residual), from which the gradient follows once per component.
pub fn hand(alpha: &[f64; K], mu: &[[f64; D]; K], log_sigma: &[[f64; D]; K], xs: &[[f64; D]; N]) -> (f64, Params) {
    let am = alpha.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let ea = alpha.map(|a| (a - am).exp());
    let sa: f64 = ea.iter().sum();
    let log_norm = am + sa.ln();
    let mut c = [0.0; K];
    let mut inv = [[0.0; D]; K];
    for k in 0..K {
        c[k] = alpha[k] - log_norm;
        for d in 0..D {
            c[k] -= log_sigma[k][d] + LN_SQRT_2PI;
            inv[k][d] = (-log_sigma[k][d]).exp();
        }
    }
    let (mut total, mut r_sum, mut rz, mut rzz) = (0.0, [0.0; K], [[0.0; D]; K], [[0.0; D]; K]);
    for x in xs {
        let mut z = [[0.0; D]; K];
        let mut lp = [0.0; K];
        for k in 0..K {
            let mut q = 0.0;
            for d in 0..D {
                z[k][d] = (x[d] - mu[k][d]) * inv[k][d];
                q += z[k][d] * z[k][d];
            }
            lp[k] = c[k] - 0.5 * q;
        }
        let m = lp.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let e = lp.map(|v| (v - m).exp());
        let s: f64 = e.iter().sum();
        total += m + s.ln();
        let inv_s = 1.0 / s;
        for k in 0..K {
            let r = e[k] * inv_s;
            r_sum[k] += r;
            for d in 0..D {
                rz[k][d] += r * z[k][d];
                rzz[k][d] += r * z[k][d] * z[k][d];
            }
        }
    }
    // ∂lp/∂c = 1, ∂lp/∂mu = z·inv, ∂lp/∂log_sigma = z² − 1, and Σ_k r = 1 per point for log_norm.
    let d_alpha = core::array::from_fn(|k| r_sum[k] - N as f64 * ea[k] / sa);
    let d_mu = core::array::from_fn(|k| core::array::from_fn(|d| rz[k][d] * inv[k][d]));
    let d_log_sigma = core::array::from_fn(|k| core::array::from_fn(|d| rzz[k][d] - r_sum[k]));
    (total, (d_alpha, d_mu, d_log_sigma))
}

type Dl = DualSVec64<P>;

/// The parameters flattened as (alpha, mu, log_sigma): mu[k][d] at `MU + k·D + d`, log_sigma at `LS + k·D + d`.
const MU: usize = K;
const LS: usize = K + K * D;

fn dual(p: nalgebra::SVector<Dl, P>, xs: &[[f64; D]; N]) -> Dl {
    let am = (0..K).map(|k| p[k].re()).fold(f64::NEG_INFINITY, f64::max);
    let log_norm = (0..K).fold(Dl::from(0.0), |s, k| s + (p[k] - am).exp()).ln() + am;
    let c: [Dl; K] = core::array::from_fn(|k| (0..D).fold(p[k] - log_norm, |c, d| c - p[LS + k * D + d] - LN_SQRT_2PI));
    let inv: [Dl; K * D] = core::array::from_fn(|i| (-p[LS + i]).exp());
    let mut total = Dl::from(0.0);
    for x in xs {
        let lp: [Dl; K] = core::array::from_fn(|k| {
            let q = (0..D).fold(Dl::from(0.0), |q, d| {
                let z = (p[MU + k * D + d] - x[d]) * inv[k * D + d];
                q + z * z
            });
            c[k] - q * 0.5
        });
        let m = lp.iter().map(|v| v.re()).fold(f64::NEG_INFINITY, f64::max);
        total += lp.iter().fold(Dl::from(0.0), |s, v| s + (*v - m).exp()).ln() + m;
    }
    total
}

fn tape<'t>(p: &[Var<'t>], xs: &[[f64; D]; N]) -> Var<'t> {
    let am = (0..K).map(|k| p[k].val).fold(f64::NEG_INFINITY, f64::max);
    let log_norm = (1..K).fold((p[0] - am).exp(), |s, k| s + (p[k] - am).exp()).ln() + am;
    let c: [Var<'t>; K] =
        core::array::from_fn(|k| (0..D).fold(p[k] - log_norm, |c, d| c - p[LS + k * D + d] - LN_SQRT_2PI));
    let inv: [Var<'t>; K * D] = core::array::from_fn(|i| (-p[LS + i]).exp());
    let mut total = p[0] * 0.0;
    for x in xs {
        let lp: [Var<'t>; K] = core::array::from_fn(|k| {
            let z0 = (p[MU + k * D] - x[0]) * inv[k * D];
            let q = (1..D).fold(z0 * z0, |q, d| {
                let z = (p[MU + k * D + d] - x[d]) * inv[k * D + d];
                q + z * z
            });
            c[k] - q * 0.5
        });
        let m = lp.iter().map(|v| v.val).fold(f64::NEG_INFINITY, f64::max);
        total = total + (1..K).fold((lp[0] - m).exp(), |s, k| s + (lp[k] - m).exp()).ln() + m;
    }
    total
}

/// `log_likelihood_jvp` called on borrowed arrays, as a caller owning them calls it (see [`super::Variant`]).
#[inline(never)]
fn jvp_borrowed(
    alpha: &[f64; K],
    mu: &[[f64; D]; K],
    log_sigma: &[[f64; D]; K],
    xs: &[[f64; D]; N],
    v: &Params,
) -> f64 {
    log_likelihood_jvp(*alpha, *mu, *log_sigma, xs, *v).1
}

pub fn workload() -> Workload {
    let mut d = Data::new(7);
    let centers: [[f64; D]; K] = core::array::from_fn(|_| d.array::<D>().map(|v| 4.0 * v));
    let xs: &[[f64; D]; N] =
        leak(core::array::from_fn(|n| core::array::from_fn(|i| centers[n % K][i] + 0.7 * d.next())));
    let alpha = d.array::<K>().map(|v| 0.3 * v);
    let mu: [[f64; D]; K] = core::array::from_fn(|k| core::array::from_fn(|i| centers[k][i] + 0.5 * d.next()));
    let log_sigma: [[f64; D]; K] = core::array::from_fn(|_| d.array::<D>().map(|v| -0.4 + 0.2 * v));
    let mut point = Vec::new();
    (alpha, (mu, log_sigma)).flatten_into(&mut point);
    let p0 = leak(point.clone());
    let unflatten = |p: &[f64]| -> Params {
        (
            core::array::from_fn(|k| p[k]),
            core::array::from_fn(|k| core::array::from_fn(|d| p[MU + k * D + d])),
            core::array::from_fn(|k| core::array::from_fn(|d| p[LS + k * D + d])),
        )
    };
    let direction = super::direction(P);
    let v = unflatten(&direction);
    Workload {
        id: "gmm",
        name: "Gaussian mixture log-likelihood (K = 5 in 2-D, 1 000 points)",
        params: P,
        primal: Box::new(move |out| emit(out, log_likelihood(alpha, mu, log_sigma, xs))),
        relax: Box::new(move |out| emit(out, log_likelihood_grad(alpha, mu, log_sigma, xs).1)),
        hand: Box::new(move |out| emit(out, hand(&alpha, &mu, &log_sigma, xs).1)),
        num_dual: Box::new(move |out| {
            let p = nalgebra::SVector::<f64, P>::from_iterator(p0.iter().copied());
            emit(out, gradient(|p| dual(p, xs), &p).1.as_slice().to_vec())
        }),
        tape: Box::new(move |out| {
            let t = Tape::new();
            let p = t.add_vars(p0);
            emit(out, tape(&p, xs).grad().wrt(&p))
        }),
        jvp: Box::new(move |out| emit(out, jvp_borrowed(&alpha, &mu, &log_sigma, xs, &v))),
        hand_jvp: None,
        hvp: Some(Box::new(move |out| {
            let (_, gradient, hv) = log_likelihood_hvp(alpha, mu, log_sigma, xs, v);
            emit(out, (gradient, hv))
        })),
        primal_at: Box::new(move |p| {
            let (alpha, mu, log_sigma) = unflatten(p);
            vec![log_likelihood(alpha, mu, log_sigma, xs)]
        }),
        point,
        direction,
    }
}
