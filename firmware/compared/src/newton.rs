//! Newton's method in f32 on a three-parameter curve fit: the step response of a first-order
//! sensor, fitted to its readings. Each Newton system is solved by conjugate gradients whose only
//! access to the Hessian is the generated `settling_loss_hvp` (forward over reverse): no Hessian
//! is formed, and the fit converges in a few steps where gradient descent takes over a hundred.

use relax::prelude::*;

/// Readings of the step response.
pub const SAMPLES: usize = 24;

/// The amplitude, rate and settled value the readings were made with.
pub const TRUE_CURVE: [f32; 3] = [2.5, 0.7, 0.8];

/// The step response of a first-order sensor at time `t`: `a·e^(−b·t) + c` for `p = [a, b, c]`.
#[differentiable(hvp, wrt(p))]
pub fn settling(p: [f32; 3], t: f32) -> f32 {
    p[0] * (-p[1] * t).exp() + p[2]
}

/// Half the mean squared residual of [`settling`] against the readings `ys` at times `ts`.
#[differentiable(hvp, wrt(p))]
pub fn settling_loss(p: [f32; 3], ts: &[f32; SAMPLES], ys: &[f32; SAMPLES]) -> f32 {
    let mut total = 0.0;
    for k in 0..SAMPLES {
        let r = settling(p, ts[k]) - ys[k];
        total += r * r;
    }
    0.5 * total / SAMPLES as f32
}

/// Readings every 0.25 s of the true curve, with a deterministic wiggle of 0.01 as noise.
pub fn readings() -> ([f32; SAMPLES], [f32; SAMPLES]) {
    let ts: [f32; SAMPLES] = core::array::from_fn(|k| 0.25 * k as f32);
    let ys = core::array::from_fn(|k| settling(TRUE_CURVE, ts[k]) + 0.01 * (5.3 * k as f32).sin());
    (ts, ys)
}

/// Newton steps taken.
pub const NEWTON_STEPS: usize = 8;

/// Where the fit starts: the first reading minus the last as the amplitude, the last as the
/// settled value, a rate of 1 per second.
pub fn start(ys: &[f32; SAMPLES]) -> [f32; 3] {
    [ys[0] - ys[SAMPLES - 1], 1.0, ys[SAMPLES - 1]]
}

/// What a Newton fit did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NewtonFit {
    /// The parameters after the last step.
    pub params: [f32; 3],
    /// The loss before each step, and after the last.
    pub losses: [f32; NEWTON_STEPS + 1],
    /// The largest gradient coordinate before each step, and after the last.
    pub gradients: [f32; NEWTON_STEPS + 1],
    /// Hessian-vector products taken.
    pub hvps: usize,
}

fn largest(g: [f32; 3]) -> f32 {
    g.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// [`NEWTON_STEPS`] Newton steps from [`start`]: each solves `H·d = −g` by at most three
/// conjugate-gradient iterations on `settling_loss_hvp` (exact for three unknowns; on negative
/// curvature it keeps the direction found so far, or `−g` at the first), then halves `d` until
/// the loss does not increase (at most ten times; `p` stays where no such step is found).
pub fn newton(ts: &[f32; SAMPLES], ys: &[f32; SAMPLES]) -> NewtonFit {
    let mut p = start(ys);
    let (mut losses, mut gradients, mut hvps) = ([0.0; NEWTON_STEPS + 1], [0.0; NEWTON_STEPS + 1], 0);
    for step in 0..=NEWTON_STEPS {
        let (value, g) = settling_loss_grad(p, ts, ys);
        (losses[step], gradients[step]) = (value, largest(g));
        if step == NEWTON_STEPS {
            break;
        }
        let minus_g = g.map(|x| -x);
        let (mut d, mut r, mut dir) = ([0.0; 3], minus_g, minus_g);
        for _ in 0..3 {
            let rr = dot(r, r);
            if rr == 0.0 {
                break;
            }
            let (_, _, h_dir) = settling_loss_hvp(p, ts, ys, dir);
            hvps += 1;
            let curvature = dot(dir, h_dir);
            if curvature <= 0.0 {
                if d == [0.0; 3] {
                    d = minus_g;
                }
                break;
            }
            let alpha = rr / curvature;
            for i in 0..3 {
                d[i] += alpha * dir[i];
                r[i] -= alpha * h_dir[i];
            }
            let beta = dot(r, r) / rr;
            for i in 0..3 {
                dir[i] = r[i] + beta * dir[i];
            }
        }
        let mut scale = 1.0;
        while scale >= 1.0 / 1024.0 {
            let q = core::array::from_fn(|i| p[i] + scale * d[i]);
            if settling_loss(q, ts, ys) <= value {
                p = q;
                break;
            }
            scale *= 0.5;
        }
    }
    NewtonFit { params: p, losses, gradients, hvps }
}
