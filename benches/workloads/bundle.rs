//! Workload 8: A bundle-adjustment reprojection residual (as in ADBench's BA): a camera of 11
//! parameters (Rodrigues rotation, centre, focal length, principal point, two radial distortion
//! coefficients), a 3-D point and a weight, 15 parameters, 2 outputs. The gradient variants compute
//! the 2×15 Jacobian; relax's by `residual_jacobian` (the option `jacobian`: one forward sweep,
//! then the pullback once per output, as the hand-written Jacobian does).

use core::cell::Cell;
use core::ops::{Add, Div, Mul, Sub};

use num_dual::{DualNum, DualSVec64, DualStruct, jacobian};
use relax::prelude::*;
use reverse::{Gradient, Tape, Var};

use super::{Flat, Workload, emit};
use relax_testkit::{assert_close, assert_close_to_fd, fd_jacobian};

const P: usize = 15;

/// Rotates `p` by the axis-angle vector `r` (Rodrigues' formula); to first order below an angle
/// of √ε, where the formula's division by the angle loses precision.
#[differentiable(jacobian)]
pub fn rotate(r: [f64; 3], p: [f64; 3]) -> [f64; 3] {
    let theta2 = dot(r, r);
    if theta2 > f64::EPSILON {
        let theta = theta2.sqrt();
        let (s, c) = (theta.sin(), theta.cos());
        let k = [r[0] / theta, r[1] / theta, r[2] / theta];
        let kp = dot(k, p) * (1.0 - c);
        [
            p[0] * c + (k[1] * p[2] - k[2] * p[1]) * s + k[0] * kp,
            p[1] * c + (k[2] * p[0] - k[0] * p[2]) * s + k[1] * kp,
            p[2] * c + (k[0] * p[1] - k[1] * p[0]) * s + k[2] * kp,
        ]
    } else {
        [p[0] + r[1] * p[2] - r[2] * p[1], p[1] + r[2] * p[0] - r[0] * p[2], p[2] + r[0] * p[1] - r[1] * p[0]]
    }
}

/// The weighted reprojection error of point `x` observed at `feat` by camera `cam`:
/// `[rx, ry, rz, cx, cy, cz, f, u0, v0, k1, k2]`.
#[differentiable(wrt(cam, x, w), jacobian)]
pub fn residual(cam: [f64; 11], x: [f64; 3], w: f64, feat: &[f64; 2]) -> [f64; 2] {
    let q = rotate([cam[0], cam[1], cam[2]], [x[0] - cam[3], x[1] - cam[4], x[2] - cam[5]]);
    let u = q[0] / q[2];
    let v = q[1] / q[2];
    let r2 = u * u + v * v;
    let distortion = 1.0 + cam[9] * r2 + cam[10] * r2 * r2;
    [w * (cam[6] * distortion * u + cam[7] - feat[0]), w * (cam[6] * distortion * v + cam[8] - feat[1])]
}

/// One row of the Jacobian, in parameter order: d/dcam, d/dx, d/dw.
pub type Row = ([f64; 11], [f64; 3], f64);

/// The Jacobian from relax: `NAME_jacobian`'s rows.
pub fn relax_jacobian(cam: [f64; 11], x: [f64; 3], w: f64, feat: &[f64; 2]) -> [Row; 2] {
    residual_jacobian(cam, x, w, feat).1
}

fn cross<T: Copy + Mul<Output = T> + Sub<Output = T>>(a: [T; 3], b: [T; 3]) -> [T; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

/// What the rotation's pullback needs from its forward pass.
struct Rotation {
    r: [f64; 3],
    p: [f64; 3],
    /// The angle, its sine and cosine, the unit axis and `k·p`; absent below the threshold.
    exact: Option<(f64, f64, f64, [f64; 3], f64)>,
}

impl Rotation {
    fn forward(r: [f64; 3], p: [f64; 3]) -> (Self, [f64; 3]) {
        let theta2 = relax::dot(r, r);
        if theta2 > f64::EPSILON {
            let theta = theta2.sqrt();
            let (s, c) = (theta.sin(), theta.cos());
            let k = r.map(|v| v / theta);
            let kp = relax::dot(k, p);
            let kxp = cross(k, p);
            let q = core::array::from_fn(|i| p[i] * c + kxp[i] * s + k[i] * kp * (1.0 - c));
            (Rotation { r, p, exact: Some((theta, s, c, k, kp)) }, q)
        } else {
            let rxp = cross(r, p);
            (Rotation { r, p, exact: None }, core::array::from_fn(|i| p[i] + rxp[i]))
        }
    }

    /// `(r̄, p̄)` for the cotangent `a` of the rotated point.
    fn pullback(&self, a: [f64; 3]) -> ([f64; 3], [f64; 3]) {
        let p = self.p;
        let Some((theta, s, c, k, kp)) = self.exact else {
            // q = p + r × p: a·(r × p) = r·(p × a) = p·(a × r).
            let axr = cross(a, self.r);
            return (cross(p, a), core::array::from_fn(|i| a[i] + axr[i]));
        };
        let ak = relax::dot(a, k);
        let axk = cross(a, k);
        let pxa = cross(p, a);
        let p_bar = core::array::from_fn(|i| c * a[i] + s * axk[i] + (1.0 - c) * ak * k[i]);
        let c_bar = relax::dot(a, p) - ak * kp;
        let s_bar = relax::dot(pxa, k);
        let k_bar: [f64; 3] = core::array::from_fn(|i| s * pxa[i] + (1.0 - c) * (kp * a[i] + ak * p[i]));
        let theta_bar = s_bar * c - c_bar * s;
        // k = r/θ and θ = |r|: r̄ = (k̄ − (k̄·k)k)/θ + θ̄k.
        let kk = relax::dot(k_bar, k);
        (core::array::from_fn(|i| (k_bar[i] - kk * k[i]) / theta + theta_bar * k[i]), p_bar)
    }
}

/// The residual and its Jacobian: one forward pass, then one pullback per output through what it stored.
pub fn hand(cam: &[f64; 11], x: &[f64; 3], w: f64, feat: &[f64; 2]) -> ([f64; 2], [[f64; P]; 2]) {
    let (rot, q) = Rotation::forward([cam[0], cam[1], cam[2]], core::array::from_fn(|i| x[i] - cam[3 + i]));
    let uv = [q[0] / q[2], q[1] / q[2]];
    let r2 = uv[0] * uv[0] + uv[1] * uv[1];
    let (f, k1, k2) = (cam[6], cam[9], cam[10]);
    let distortion = 1.0 + k1 * r2 + k2 * r2 * r2;
    let proj: [f64; 2] = core::array::from_fn(|o| f * distortion * uv[o] + cam[7 + o] - feat[o]);
    // d distortion / d(u, v) = 2(k1 + 2 k2 r2)·(u, v)
    let dd = 2.0 * (k1 + 2.0 * k2 * r2);
    let mut jac = [[0.0; P]; 2];
    for o in 0..2 {
        let row = &mut jac[o];
        let wf = w * f;
        // d residual_o / d(u, v), then through (u, v) = (q0, q1)/q2.
        let mut g = [wf * uv[o] * dd * uv[0], wf * uv[o] * dd * uv[1]];
        g[o] += wf * distortion;
        let a = [g[0] / q[2], g[1] / q[2], -(g[0] * uv[0] + g[1] * uv[1]) / q[2]];
        let (r_bar, p_bar) = rot.pullback(a);
        for i in 0..3 {
            row[i] = r_bar[i];
            row[3 + i] = -p_bar[i];
            row[11 + i] = p_bar[i];
        }
        row[6] = w * distortion * uv[o];
        row[7 + o] = w;
        row[9] = wf * uv[o] * r2;
        row[10] = wf * uv[o] * r2 * r2;
        row[14] = proj[o];
    }
    (proj.map(|v| w * v), jac)
}

/// The residual for the ports, generic over their number types: `re` reads a value, `trig`
/// gives `(√v, sin √v, cos √v)`.
fn port<T>(p: [T; P], feat: &[f64; 2], re: impl Fn(T) -> f64, trig: impl Fn(T) -> (T, T, T)) -> [T; 2]
where
    T: Copy + Add<Output = T> + Sub<Output = T> + Mul<Output = T> + Div<Output = T>,
    T: Add<f64, Output = T> + Sub<f64, Output = T> + Mul<f64, Output = T>,
{
    let r = [p[0], p[1], p[2]];
    let x: [T; 3] = core::array::from_fn(|i| p[11 + i] - p[3 + i]);
    let theta2 = r[0] * r[0] + r[1] * r[1] + r[2] * r[2];
    let q: [T; 3] = if re(theta2) > f64::EPSILON {
        let (theta, s, c) = trig(theta2);
        let k = r.map(|v| v / theta);
        let kp = (k[0] * x[0] + k[1] * x[1] + k[2] * x[2]) * (c * -1.0 + 1.0);
        let kxp = cross(k, x);
        core::array::from_fn(|i| x[i] * c + kxp[i] * s + k[i] * kp)
    } else {
        let rxp = cross(r, x);
        core::array::from_fn(|i| x[i] + rxp[i])
    };
    let (u, v) = (q[0] / q[2], q[1] / q[2]);
    let r2 = u * u + v * v;
    let distortion = p[9] * r2 + p[10] * r2 * r2 + 1.0;
    let w = p[14];
    [w * (p[6] * distortion * u + p[7] - feat[0]), w * (p[6] * distortion * v + p[8] - feat[1])]
}

/// A value and its tangent along one direction: `port` on it is forward mode written by hand
/// (each operation's tangent rule, inlined; no tangent vectors as num-dual's `DualSVec64`).
#[derive(Clone, Copy)]
struct Tangent {
    v: f64,
    d: f64,
}

impl Add for Tangent {
    type Output = Tangent;
    fn add(self, o: Tangent) -> Tangent {
        Tangent { v: self.v + o.v, d: self.d + o.d }
    }
}

impl Sub for Tangent {
    type Output = Tangent;
    fn sub(self, o: Tangent) -> Tangent {
        Tangent { v: self.v - o.v, d: self.d - o.d }
    }
}

impl Mul for Tangent {
    type Output = Tangent;
    fn mul(self, o: Tangent) -> Tangent {
        Tangent { v: self.v * o.v, d: self.d * o.v + self.v * o.d }
    }
}

impl Div for Tangent {
    type Output = Tangent;
    fn div(self, o: Tangent) -> Tangent {
        let q = self.v / o.v;
        Tangent { v: q, d: (self.d - q * o.d) / o.v }
    }
}

impl Add<f64> for Tangent {
    type Output = Tangent;
    fn add(self, c: f64) -> Tangent {
        Tangent { v: self.v + c, d: self.d }
    }
}

impl Sub<f64> for Tangent {
    type Output = Tangent;
    fn sub(self, c: f64) -> Tangent {
        Tangent { v: self.v - c, d: self.d }
    }
}

impl Mul<f64> for Tangent {
    type Output = Tangent;
    fn mul(self, c: f64) -> Tangent {
        Tangent { v: self.v * c, d: self.d * c }
    }
}

/// `(√v, sin √v, cos √v)` with their tangents; `sin_cos` once.
fn tangent_trig(theta2: Tangent) -> (Tangent, Tangent, Tangent) {
    let theta = theta2.v.sqrt();
    let dtheta = theta2.d / (2.0 * theta);
    let (s, c) = theta.sin_cos();
    (Tangent { v: theta, d: dtheta }, Tangent { v: s, d: c * dtheta }, Tangent { v: c, d: -s * dtheta })
}

/// The residual and its tangent along `v`, forward mode by hand.
fn hand_jvp(p: &[f64; P], v: &[f64; P], feat: &[f64; 2]) -> ([f64; 2], [f64; 2]) {
    let r = port(core::array::from_fn(|i| Tangent { v: p[i], d: v[i] }), feat, |t| t.v, tangent_trig);
    (r.map(|t| t.v), r.map(|t| t.d))
}

type Dl = DualSVec64<P>;

fn dual_trig(theta2: Dl) -> (Dl, Dl, Dl) {
    let theta = theta2.sqrt();
    (theta, theta.sin(), theta.cos())
}

fn tape_trig(theta2: Var<'_>) -> (Var<'_>, Var<'_>, Var<'_>) {
    let theta = theta2.sqrt();
    (theta, theta.sin(), theta.cos())
}

fn unflatten(p: &[f64]) -> ([f64; 11], [f64; 3], f64) {
    (core::array::from_fn(|i| p[i]), core::array::from_fn(|i| p[11 + i]), p[14])
}

/// The inputs every variant is timed at: camera, 3-D point, weight and observed feature.
fn inputs() -> ([f64; 11], [f64; 3], f64, [f64; 2]) {
    ([0.2, -0.3, 0.25, 0.1, 0.2, -5.0, 1.2, 0.01, -0.02, -0.1, 0.02], [0.3, -0.4, 0.2], 0.8, [0.05, -0.1])
}

/// The primal, relax's Jacobian, the hand-written one and relax's `_jvp` at the workload's point,
/// chained: each call's first rotation parameter is moved by `1e-300` times an output of the call
/// before (which leaves it as it is, as IEEE arithmetic cannot know), so that a call's work
/// starts only when the previous call's result is there. Timed, they give each variant's
/// latency, where the report's independent calls may overlap in the out-of-order core.
pub fn chained() -> [Box<dyn Fn()>; 4] {
    let (cam, x, w, feat) = inputs();
    let v = unflatten(&super::direction(P));
    let carry = move |moved: &Cell<f64>| {
        let mut at = cam;
        at[0] += moved.get();
        at
    };
    let [a, b, c, d] = [(); 4].map(|_| Cell::new(0.0));
    [
        Box::new(move || a.set(1e-300 * residual(carry(&a), x, w, &feat)[0])),
        Box::new(move || b.set(1e-300 * relax_jacobian(carry(&b), x, w, &feat)[1].0[0])),
        Box::new(move || c.set(1e-300 * hand(&carry(&c), &x, w, &feat).1[1][0])),
        Box::new(move || d.set(1e-300 * residual_jvp(carry(&d), x, w, &feat, v).1[0])),
    ]
}

pub fn workload() -> Workload {
    let name = "Bundle-adjustment residual, Jacobian (2 × 15)";
    let (cam, x, w, feat) = inputs();
    let flat = |cam: [f64; 11]| {
        let mut point = Vec::new();
        (cam, x, w).flatten_into(&mut point);
        point
    };
    let primal_at = move |p: &[f64]| {
        let (cam, x, w) = unflatten(p);
        residual(cam, x, w, &feat).to_vec()
    };
    // The small-angle branch, which the timed point does not take: at a zero rotation, checked
    // as every workload is at its point.
    let still = [0.0, 0.0, 0.0, 0.1, 0.2, -5.0, 1.2, 0.01, -0.02, -0.1, 0.02];
    let mut hand_still = Vec::new();
    hand(&still, &x, w, &feat).1.flatten_into(&mut hand_still);
    assert_close_to_fd(name, &hand_still, &fd_jacobian(primal_at, &flat(still)), 1e-5, 1e-7);
    let mut relax_still = Vec::new();
    relax_jacobian(still, x, w, &feat).flatten_into(&mut relax_still);
    assert_close(&format!("{name}/relax at a zero rotation"), &relax_still, &hand_still, 1e-8, 1e-10);

    let point = flat(cam);
    let p0: [f64; P] = core::array::from_fn(|i| point[i]);
    let direction = super::direction(P);
    let v = unflatten(&direction);
    let v0: [f64; P] = core::array::from_fn(|i| direction[i]);
    Workload {
        id: "bundle",
        name,
        params: P,
        primal: Box::new(move |out| emit(out, residual(cam, x, w, &feat))),
        relax: Box::new(move |out| emit(out, relax_jacobian(cam, x, w, &feat))),
        hand: Box::new(move |out| emit(out, hand(&cam, &x, w, &feat).1)),
        num_dual: Box::new(move |out| {
            let jac = jacobian(|p| nalgebra::SVector::from(port(p.into(), &feat, |v| v.re(), dual_trig)), &p0.into()).1;
            // nalgebra stores column by column: transpose into rows.
            emit(out, jac.transpose().as_slice().to_vec())
        }),
        tape: Box::new(move |out| {
            let t = Tape::new();
            let p = t.add_vars(&p0);
            let res = port(core::array::from_fn(|i| p[i]), &feat, |v| v.val, tape_trig);
            emit(out, [res[0].grad().wrt(&p), res[1].grad().wrt(&p)])
        }),
        // Two outputs: no Hessian-vector product.
        jvp: Box::new(move |out| emit(out, residual_jvp(cam, x, w, &feat, v).1)),
        hand_jvp: Some(Box::new(move |out| emit(out, hand_jvp(&p0, &v0, &feat).1))),
        hvp: None,
        primal_at: Box::new(primal_at),
        point,
        direction,
    }
}
