//! Second order and forward mode. A logistic regression with badly scaled features, minimised by
//! Newton's method (each Newton system solved by conjugate gradients, whose only access to the
//! Hessian is `loss_hvp`: no Hessian is ever formed) and by gradient descent; then a curve fit by
//! Gauss–Newton, whose Jacobian comes column by column from `residuals_jvp`.
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use relax::prelude::*;

/// Features and points of the logistic regression.
pub const F: usize = 6;
pub const M: usize = 200;
/// The scale of each feature: the Hessian's condition number grows with the square of their ratio.
const SCALES: [f64; F] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0];
/// The L2 penalty, which makes the minimiser unique.
const LAMBDA: f64 = 1e-2;
/// Both methods stop when every coordinate of the gradient is below this.
pub const TOLERANCE: f64 = 1e-8;

/// Mean logistic loss plus an L2 penalty.
#[differentiable(hvp, wrt(w))]
pub fn loss(w: [f64; F], xs: &[[f64; F]; M], ys: &[f64; M]) -> f64 {
    let mut total = 0.0;
    for k in 0..M {
        total += softplus(-ys[k] * dot(w, xs[k]));
    }
    total / (M as f64) + 0.5 * LAMBDA * dot(w, w)
}

/// Labelled points: features uniform in `[−scale, scale]`, labels from a noisy linear rule.
pub fn classification(seed: u64) -> ([[f64; F]; M], [f64; M]) {
    let mut rng = StdRng::seed_from_u64(seed);
    let truth: [f64; F] = core::array::from_fn(|i| rng.random_range(-1.0..1.0) / SCALES[i]);
    let xs: [[f64; F]; M] = core::array::from_fn(|_| core::array::from_fn(|i| SCALES[i] * rng.random_range(-1.0..1.0)));
    let ys =
        core::array::from_fn(|k| if dot(truth, xs[k]) + 0.5 * rng.random_range(-1.0..1.0) > 0.0 { 1.0 } else { -1.0 });
    (xs, ys)
}

fn dot_f(a: &[f64; F], b: &[f64; F]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn largest(g: &[f64; F]) -> f64 {
    g.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// Where a minimisation ended and what it took.
#[derive(Clone, Copy, Debug)]
pub struct Run {
    pub w: [f64; F],
    pub loss: f64,
    /// Steps taken (Newton steps, or gradient steps).
    pub iterations: usize,
    /// Hessian-vector products taken.
    pub hvps: usize,
    /// Whether the gradient reached [`TOLERANCE`].
    pub converged: bool,
}

/// Newton's method from `w = 0`: each step solves `H·d = −g` by conjugate gradients on `loss_hvp`
/// (to the relative residual `min(0.5, √|g|)`, the usual truncation), then halves `d` until the
/// loss decreases. `trace` sees every step: iteration, loss, largest gradient coordinate.
pub fn newton_cg(xs: &[[f64; F]; M], ys: &[f64; M], mut trace: impl FnMut(usize, f64, f64)) -> Run {
    let mut w = [0.0; F];
    let mut hvps = 0;
    for iteration in 0..50 {
        let (value, g) = loss_grad(w, xs, ys);
        trace(iteration, value, largest(&g));
        if largest(&g) < TOLERANCE {
            return Run { w, loss: value, iterations: iteration, hvps, converged: true };
        }
        // Conjugate gradients on H·d = −g, from d = 0.
        let (mut d, mut r, mut p) = ([0.0; F], g.map(|x| -x), g.map(|x| -x));
        let stop = dot_f(&g, &g).sqrt() * dot_f(&g, &g).sqrt().sqrt().min(0.5);
        for _ in 0..F {
            let (_, _, hp) = loss_hvp(w, xs, ys, p);
            hvps += 1;
            let rr = dot_f(&r, &r);
            let alpha = rr / dot_f(&p, &hp);
            for i in 0..F {
                d[i] += alpha * p[i];
                r[i] -= alpha * hp[i];
            }
            if dot_f(&r, &r).sqrt() < stop {
                break;
            }
            let beta = dot_f(&r, &r) / rr;
            for i in 0..F {
                p[i] = r[i] + beta * p[i];
            }
        }
        let mut step = 1.0;
        while loss(core::array::from_fn(|i| w[i] + step * d[i]), xs, ys) >= value && step > 1e-10 {
            step *= 0.5;
        }
        w = core::array::from_fn(|i| w[i] + step * d[i]);
    }
    Run { w, loss: loss(w, xs, ys), iterations: 50, hvps, converged: false }
}

/// The largest curvature of the loss anywhere: `λ + λ_max(XᵀX)/(4M)`, since the logistic loss's
/// curvature `σ(z)(1 − σ(z))` is at most `1/4` (at `z = 0`). `λ_max` by power iteration.
pub fn largest_curvature(xs: &[[f64; F]; M]) -> f64 {
    let gram: [[f64; F]; F] = core::array::from_fn(|i| core::array::from_fn(|j| xs.iter().map(|x| x[i] * x[j]).sum()));
    let mut v = [1.0; F];
    let mut eigenvalue = 0.0;
    for _ in 0..10_000 {
        let gv: [f64; F] = core::array::from_fn(|i| dot_f(&gram[i], &v));
        let next = dot_f(&gv, &v) / dot_f(&v, &v);
        v = gv.map(|x| x / largest(&gv));
        if (next - eigenvalue).abs() <= 1e-12 * next {
            break;
        }
        eigenvalue = next;
    }
    LAMBDA + eigenvalue / (4.0 * M as f64)
}

/// Gradient descent from `w = 0` with the step `1/L`, `L` the largest curvature, for at most
/// `max_steps` steps.
pub fn gradient_descent(xs: &[[f64; F]; M], ys: &[f64; M], max_steps: usize) -> Run {
    let curvature = largest_curvature(xs);
    let mut w = [0.0; F];
    for iteration in 0..max_steps {
        let (value, g) = loss_grad(w, xs, ys);
        if largest(&g) < TOLERANCE {
            return Run { w, loss: value, iterations: iteration, hvps: 0, converged: true };
        }
        for i in 0..F {
            w[i] -= g[i] / curvature;
        }
    }
    Run { w, loss: loss(w, xs, ys), iterations: max_steps, hvps: 0, converged: false }
}

// -- Gauss–Newton ----------------------------------------------------------------------------------

/// Samples of the curve.
pub const N: usize = 40;
/// The logistic growth curve's true parameters: height, rate, midpoint, offset.
pub const CURVE: [f64; 4] = [3.0, 1.2, 4.0, 0.5];

/// The residuals of the growth curve `a / (1 + e^(−b(t − c))) + d` at the samples: one output per
/// sample, four parameters, the shape forward mode is for. (`jacobian` adds `residuals_jacobian`,
/// the same matrix row by row: one forward sweep and 40 pullbacks.)
#[differentiable(wrt(p), jacobian)]
pub fn residuals(p: [f64; 4], ts: &[f64; N], ys: &[f64; N]) -> [f64; N] {
    let mut r = [0.0; N];
    for k in 0..N {
        r[k] = p[0] / (1.0 + (-p[1] * (ts[k] - p[2])).exp()) + p[3] - ys[k];
    }
    r
}

/// Samples of the true curve on `[0, 10)`, with N(0, 0.05²) noise.
pub fn growth(seed: u64) -> ([f64; N], [f64; N]) {
    let mut rng = StdRng::seed_from_u64(seed);
    let ts: [f64; N] = core::array::from_fn(|k| k as f64 * 0.25);
    let [a, b, c, d] = CURVE;
    let ys = core::array::from_fn(|k| {
        let noise: f64 = normal_noise(&mut rng);
        a / (1.0 + (-b * (ts[k] - c)).exp()) + d + 0.05 * noise
    });
    (ts, ys)
}

/// The Jacobian of `residuals` at `p`, column by column: column `j` is the tangent of the outputs
/// along the `j`-th unit vector, one `_jvp` each.
pub fn jacobian_columns(p: [f64; 4], ts: &[f64; N], ys: &[f64; N]) -> [[f64; N]; 4] {
    core::array::from_fn(|j| residuals_jvp(p, ts, ys, core::array::from_fn(|i| if i == j { 1.0 } else { 0.0 })).1)
}

/// The solution of the symmetric positive definite system `a·x = b` (Cholesky).
fn solve(a: [[f64; 4]; 4], b: [f64; 4]) -> [f64; 4] {
    let mut l = [[0.0; 4]; 4];
    for i in 0..4 {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            l[i][j] = if i == j { (a[i][i] - s).sqrt() } else { (a[i][j] - s) / l[j][j] };
        }
    }
    let mut y = [0.0; 4];
    for i in 0..4 {
        y[i] = (b[i] - (0..i).map(|k| l[i][k] * y[k]).sum::<f64>()) / l[i][i];
    }
    let mut x = [0.0; 4];
    for i in (0..4).rev() {
        x[i] = (y[i] - (i + 1..4).map(|k| l[k][i] * x[k]).sum::<f64>()) / l[i][i];
    }
    x
}

fn squared_norm(r: &[f64; N]) -> f64 {
    r.iter().map(|x| x * x).sum()
}

/// Gauss–Newton from `p`: each step solves `JᵀJ·δ = −Jᵀr` and halves `δ` until `|r|²` decreases;
/// it stops when no step decreases `|r|²` by more than a relative `1e-12`. Returns the parameters
/// and the steps taken; `trace` sees every step: iteration, `|r|²`, parameters.
pub fn gauss_newton(
    mut p: [f64; 4],
    ts: &[f64; N],
    ys: &[f64; N],
    mut trace: impl FnMut(usize, f64, [f64; 4]),
) -> ([f64; 4], usize) {
    for iteration in 0..100 {
        let r = residuals(p, ts, ys);
        let cost = squared_norm(&r);
        trace(iteration, cost, p);
        let j = jacobian_columns(p, ts, ys);
        let jtj = core::array::from_fn(|a| core::array::from_fn(|b| (0..N).map(|k| j[a][k] * j[b][k]).sum()));
        let jtr: [f64; 4] = core::array::from_fn(|a| -(0..N).map(|k| j[a][k] * r[k]).sum::<f64>());
        let delta = solve(jtj, jtr);
        let mut step = 1.0;
        while step > 1e-10 {
            let q = core::array::from_fn(|i| p[i] + step * delta[i]);
            let next = squared_norm(&residuals(q, ts, ys));
            if next < cost {
                p = q;
                if cost - next <= 1e-12 * cost {
                    return (p, iteration + 1);
                }
                break;
            }
            step *= 0.5;
        }
        if step <= 1e-10 {
            return (p, iteration);
        }
    }
    (p, 100)
}

/// Where the curve fit starts: a rough guess from the data's range.
pub fn initial_guess(ts: &[f64; N], ys: &[f64; N]) -> [f64; 4] {
    let (lo, hi) = ys.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &y| (lo.min(y), hi.max(y)));
    [hi - lo, 1.0, ts[N / 2], lo]
}

fn main() {
    let (xs, ys) = classification(1);
    println!("Logistic regression: {F} features scaled 1 to 32, {M} points, L2 penalty {LAMBDA}.");
    println!("Stop when every coordinate of the gradient is below {TOLERANCE:e}.\n");
    println!("Newton-CG (Hessian-vector products from loss_hvp, never the Hessian):");
    println!("  step          loss   largest |gradient|");
    let newton = newton_cg(&xs, &ys, |k, value, g| println!("  {k:4}  {value:.10}   {g:.2e}"));
    let curvature = largest_curvature(&xs);
    let descent = gradient_descent(&xs, &ys, 1_000_000);
    let gap = (0..F).fold(0.0_f64, |m, i| m.max((newton.w[i] - descent.w[i]).abs()));
    println!("\n  method                 steps   Hessian-vector products   loss");
    println!("  Newton-CG              {:5}   {:23}   {:.12}", newton.iterations, newton.hvps, newton.loss);
    println!("  gradient descent, 1/L  {:5}   {:23}   {:.12}", descent.iterations, descent.hvps, descent.loss);
    println!(
        "\nL = {curvature:.2}, the largest curvature: gradient descent takes {}× the steps, and both end at \
         the same weights (largest difference {gap:.1e}).",
        descent.iterations / newton.iterations
    );

    let (ts, samples) = growth(2);
    let start = initial_guess(&ts, &samples);
    println!("\nGauss–Newton fit of a logistic growth curve a / (1 + e^(−b(t − c))) + d to {N} noisy samples.");
    println!("The 40 × 4 Jacobian comes from 4 calls of residuals_jvp (one per column); reverse mode needs 40.");
    println!("  step     |r|²          a        b        c        d");
    let (fit, steps) = gauss_newton(start, &ts, &samples, |k, cost, p| {
        println!("  {k:4}  {cost:10.6}   {:7.4}  {:7.4}  {:7.4}  {:7.4}", p[0], p[1], p[2], p[3]);
    });
    println!("  truth                {:7.4}  {:7.4}  {:7.4}  {:7.4}", CURVE[0], CURVE[1], CURVE[2], CURVE[3]);
    let error = (0..4).fold(0.0_f64, |m, i| m.max((fit[i] - CURVE[i]).abs()));
    println!("\nConverged in {steps} steps; every parameter within {error:.3} of the truth.");
    let (columns, (_, rows)) = (jacobian_columns(start, &ts, &samples), residuals_jacobian(start, &ts, &samples));
    let gap = (0..N)
        .flat_map(|k| (0..4).map(move |j| (k, j)))
        .fold(0.0_f64, |m, (k, j)| m.max((columns[j][k] - rows[k][j]).abs()));
    println!("residuals_jacobian (reverse mode, row by row) gives the same Jacobian to {gap:.1e}.");
}
