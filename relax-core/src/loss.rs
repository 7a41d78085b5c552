//! Robust losses: Huber and smooth L1, relaxations of `|x|` that are quadratic near the origin.
//!
//! Each has `NAME_pullback(x, delta, value, dout)`, the cotangents alone (the value is not
//! needed), and `NAME_vjp` is the value with it.

use crate::Real;

/// `sign(x)` with `sign(±0) = +0` (and `sign(NaN) = +0`).
///
/// Branch-free: `[x > 0] − [x < 0]`, each a select between constants that compiles to a compare
/// and a mask, rather than two compares and two branches.
#[inline]
pub(crate) fn sign<T: Real>(x: T) -> T {
    let (zero, one) = (T::zero(), T::one());
    let positive = if x > zero { one } else { zero };
    let negative = if x < zero { one } else { zero };
    positive - negative
}

/// Huber loss: `0.5x²` if `|x| < delta`, else `delta·(|x| − 0.5·delta)`.
///
/// Derivative with respect to `x`: `x` inside, `delta·sign(x)` outside; with respect to `delta`:
/// 0 inside, `|x| − delta` outside. At `|x| = delta` the outside formulas apply (both agree there).
/// Computed branch-free as `s·(x − 0.5·s)` with `s = x` clamped to `[−delta, delta]` (the slope),
/// which is the two formulas bit for bit but for the sign of one zero: for `delta > 0`,
/// `huber(−0.0, delta)` is `−0.0`.
///
/// ```
/// assert_eq!(relax_core::huber(0.5_f64, 1.0), 0.125);
/// assert_eq!(relax_core::huber(3.0_f64, 1.0), 2.5);
/// ```
#[inline]
pub fn huber<T: Real>(x: T, delta: T) -> T {
    let half = T::select(0.5, 0.5);
    if delta > T::zero() {
        // Both pieces as `s·(x − 0.5·s)` with `s` the slope, `x` clamped to `[−delta, delta]`:
        // branch-free, bit for bit the two formulas (inside, `x − 0.5x` is exactly `0.5x`, so the
        // product is `0.5x²` rounded once; outside, `±delta·(x ∓ 0.5·delta)`) but for the sign
        // of a zero at `x = −0`, and the slope is the one the derivative takes, computed once
        // where a gradient needs both. The test of `delta` folds away for a constant one.
        let s = huber_slope(x, delta);
        s * (x - half * s)
    } else {
        delta * (x.abs() - half * delta)
    }
}

/// Huber's derivative with respect to `x`, `x` inside and `delta·sign(x)` outside. For
/// `delta > 0` that is `x` clamped to `[−delta, delta]`, with neither a branch on `x` nor a sign
/// (for a NaN `x` it is `−delta`); the test of `delta` folds away for a constant one.
#[inline(always)]
fn huber_slope<T: Real>(x: T, delta: T) -> T {
    if delta > T::zero() { x.max(-delta).min(delta) } else { delta * sign(x) }
}

/// The cotangents of [`huber`]: `(d/dx, d/ddelta) · dout`, that is `(dout·x, 0)` inside (the
/// zero being `−0.0`, see [`Tangent`](crate::Tangent)) and
/// `(dout·delta·sign(x), dout·(|x| − delta))` outside.
///
/// ```
/// assert_eq!(relax_core::huber_pullback(-3.0_f64, 2.0, 4.0, 1.0), (-2.0, 1.0));
/// ```
#[inline]
pub fn huber_pullback<T: Real>(x: T, delta: T, value: T, dout: T) -> (T, T) {
    let _ = value;
    let a = x.abs();
    let ddelta = if a < delta { T::zero_tangent() } else { dout * (a - delta) };
    (dout * huber_slope(x, delta), ddelta)
}

/// [`huber_pullback`] with `delta` constant (its cotangent unused): `dout·d/dx` alone.
///
/// ```
/// assert_eq!(relax_core::huber_pullback_first(-3.0_f64, 2.0, 4.0, 1.0), -2.0);
/// ```
#[inline]
pub fn huber_pullback_first<T: Real>(x: T, delta: T, value: T, dout: T) -> T {
    let _ = value;
    dout * huber_slope(x, delta)
}

/// Pullback of [`huber`]: `(value, (d/dx, d/ddelta) · dout)`.
///
/// ```
/// assert_eq!(relax_core::huber_vjp(-3.0_f64, 2.0, 1.0), (4.0, (-2.0, 1.0)));
/// ```
#[inline]
pub fn huber_vjp<T: Real>(x: T, delta: T, dout: T) -> (T, (T, T)) {
    let value = huber(x, delta);
    (value, huber_pullback(x, delta, value, dout))
}

/// Pushforward of [`huber`]: `(value, d/dx·dx + d/ddelta·ddelta)`, that is `x·dx` inside and
/// `delta·sign(x)·dx + (|x| − delta)·ddelta` outside (also at `|x| = delta`).
///
/// ```
/// assert_eq!(relax_core::huber_jvp(0.5_f64, 1.0, (2.0, 1.0)), (0.125, 1.0));
/// assert_eq!(relax_core::huber_jvp(-3.0_f64, 2.0, (1.0, 1.0)), (4.0, -1.0));
/// ```
#[inline]
pub fn huber_jvp<T: Real>(x: T, delta: T, (dx, ddelta): (T, T)) -> (T, T) {
    let a = x.abs();
    let along_x = dx * huber_slope(x, delta);
    (huber(x, delta), if a < delta { along_x } else { along_x + ddelta * (a - delta) })
}

/// Smooth L1 loss: `0.5x²/beta` if `|x| < beta`, else `|x| − 0.5·beta`; exactly `|x|` for
/// `beta = 0`.
///
/// Derivative with respect to `x`: `x/beta` inside, `sign(x)` outside (`sign(0) = 0`); with
/// respect to `beta`: `−0.5(x/beta)²` inside, `−0.5` outside. The inside branch is computed as
/// `0.5·x·(x/beta)`, which cannot overflow where the value is representable.
///
/// ```
/// assert_eq!(relax_core::smooth_l1(0.5_f64, 1.0), 0.125);
/// assert_eq!(relax_core::smooth_l1(-2.5_f64, 0.0), 2.5);
/// ```
#[inline]
pub fn smooth_l1<T: Real>(x: T, beta: T) -> T {
    let a = x.abs();
    if a < beta { T::select(0.5, 0.5) * x * (x / beta) } else { a - T::select(0.5, 0.5) * beta }
}

/// The cotangents of [`smooth_l1`]: `(d/dx, d/dbeta) · dout`, that is
/// `(dout·x/beta, −dout·0.5(x/beta)²)` inside and `(dout·sign(x), −0.5·dout)` outside.
///
/// ```
/// assert_eq!(relax_core::smooth_l1_pullback(3.0_f64, 1.0, 2.5, 1.0), (1.0, -0.5));
/// ```
#[inline]
pub fn smooth_l1_pullback<T: Real>(x: T, beta: T, value: T, dout: T) -> (T, T) {
    let _ = value;
    let half = T::select(0.5, 0.5);
    if x.abs() < beta {
        let r = x / beta;
        (dout * r, -dout * half * r * r)
    } else {
        (dout * sign(x), -dout * half)
    }
}

/// [`smooth_l1_pullback`] with `beta` constant: `dout·d/dx` alone.
///
/// ```
/// assert_eq!(relax_core::smooth_l1_pullback_first(0.5_f64, 1.0, 0.125, 2.0), 1.0);
/// ```
#[inline]
pub fn smooth_l1_pullback_first<T: Real>(x: T, beta: T, value: T, dout: T) -> T {
    let _ = value;
    dout * if x.abs() < beta { x / beta } else { sign(x) }
}

/// Pullback of [`smooth_l1`]: `(value, (d/dx, d/dbeta) · dout)`.
///
/// ```
/// assert_eq!(relax_core::smooth_l1_vjp(3.0_f64, 1.0, 1.0), (2.5, (1.0, -0.5)));
/// ```
#[inline]
pub fn smooth_l1_vjp<T: Real>(x: T, beta: T, dout: T) -> (T, (T, T)) {
    let value = smooth_l1(x, beta);
    (value, smooth_l1_pullback(x, beta, value, dout))
}

/// [`huber_jvp`] with `delta` constant (its tangent zero, as it is for a literal): `(value,
/// d/dx·dx)`, without the product with `delta`'s zero tangent.
///
/// ```
/// assert_eq!(relax_core::huber_jvp_first(-3.0_f64, 2.0, 1.0), (4.0, -2.0));
/// ```
#[inline]
pub fn huber_jvp_first<T: Real>(x: T, delta: T, dx: T) -> (T, T) {
    (huber(x, delta), dx * huber_slope(x, delta))
}

/// Pushforward of [`smooth_l1`]: `(value, d/dx·dx + d/dbeta·dbeta)`, that is
/// `(x/beta)·dx − 0.5(x/beta)²·dbeta` inside and `sign(x)·dx − 0.5·dbeta` outside.
///
/// ```
/// assert_eq!(relax_core::smooth_l1_jvp(3.0_f64, 1.0, (1.0, 1.0)), (2.5, 0.5));
/// assert_eq!(relax_core::smooth_l1_jvp(0.5_f64, 1.0, (1.0, 0.0)), (0.125, 0.5));
/// ```
#[inline]
pub fn smooth_l1_jvp<T: Real>(x: T, beta: T, (dx, dbeta): (T, T)) -> (T, T) {
    let half = T::select(0.5, 0.5);
    if x.abs() < beta {
        let r = x / beta;
        (smooth_l1(x, beta), dx * r - dbeta * half * r * r)
    } else {
        (smooth_l1(x, beta), dx * sign(x) - dbeta * half)
    }
}

/// [`smooth_l1_jvp`] with `beta` constant: `(value, d/dx·dx)`.
///
/// ```
/// assert_eq!(relax_core::smooth_l1_jvp_first(0.5_f64, 1.0, 1.0), (0.125, 0.5));
/// ```
#[inline]
pub fn smooth_l1_jvp_first<T: Real>(x: T, beta: T, dx: T) -> (T, T) {
    let slope = if x.abs() < beta { x / beta } else { sign(x) };
    (smooth_l1(x, beta), dx * slope)
}
