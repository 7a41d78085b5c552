//! The smooth surrogates of `#[differentiable(relaxed)]`.
//!
//! In a function marked `#[differentiable(relaxed)]` the attribute also generates `NAME_relaxed`,
//! with a temperature `t > 0` as a new last parameter, in which every hard operation on active
//! values (one whose derivative is zero almost everywhere or that has a kink) is replaced by the
//! smooth rule of this module. The macro never derives these rules itself: it calls them, and
//! their pullbacks and pushforwards below. Each rule `r` has beside it
//! `r_vjp(args…, dout) -> (value, G)` and `r_jvp(args…, tangent) -> (value, dvalue)` (`G` and
//! `tangent` hold one entry per float argument, in order), and the three return bit-identical
//! values; `r_pullback(args…, value, dout) -> G` gives `r_vjp`'s cotangents alone, bit for bit.
//! Every float argument is differentiated, the temperature included. A temperature `t ≤ 0`
//! violates the precondition (`debug_assert!`).
//!
//! | hard (on active values) | rule | relaxed at temperature `t` |
//! |---|---|---|
//! | `a.max(b)` | [`relaxed_max`] | `logsumexp([a, b], t) = t·ln(e^(a/t) + e^(b/t))` |
//! | `a.min(b)` | [`relaxed_min`] | `−logsumexp([−a, −b], t)` |
//! | `relu(x)` | [`relaxed_relu`] | `logsumexp([x, 0], t)` (softplus at scale `t`) |
//! | `x.abs()` | [`relaxed_abs`] | `logsumexp([x, −x], t)` |
//! | `x.signum()` | [`relaxed_signum`] | `tanh(x/t)` |
//! | `x.clamp(lo, hi)` | [`relaxed_clamp`] | `relaxed_min(relaxed_max(x, lo, t), hi, t)` |
//! | `a > b`, `a >= b` made a number | [`relaxed_gt`] | `sigmoid((a − b)/t)` |
//! | `a < b`, `a <= b` made a number | [`relaxed_lt`] | `sigmoid((b − a)/t)` |
//! | `x.round()` | [`relaxed_round`] | `⌊x⌋ + ½ + tanh(r/t)/(2·tanh(1/(2t)))`, `r = x − ⌊x⌋ − ½` |
//! | `x.floor()` | [`relaxed_floor`] | `relaxed_round(x − ½, t)` |
//! | `x.ceil()` | [`relaxed_ceil`] | `relaxed_round(x + ½, t)` |
//! | `if a > b {A} else {B}` | [`relaxed_gt`] and [`blend`] | `s·A + (1 − s)·B` with `s = relaxed_gt(a, b, t)` for every binding the arms write |
//!
//! The soft rounding is smooth everywhere (its pieces meet with equal values and slopes at the
//! integers), equal to `x` at every integer, and tends to `x` itself as `t → ∞`.
//!
//! # How close to the hard operation
//!
//! As `t → 0⁺` each rule tends to its hard operation at every point off its ties and kinks. With
//! `δ` the distance to the nearest tie or kink (`|a − b|`, `|x|`, or for the roundings the distance
//! to the nearest half-integer (`round`) or integer (`floor`, `ceil`)):
//!
//! | rule | error `relaxed − hard` |
//! |---|---|
//! | `relaxed_max`, `relaxed_relu`, `relaxed_abs` | in `[0, t·ln 2]` everywhere, and `≤ t·e^(−δ/t)` (`e^(−2δ/t)` for `abs`) |
//! | `relaxed_min` | in `[−t·ln 2, 0]` everywhere, and `≥ −t·e^(−δ/t)` |
//! | `relaxed_clamp` | in `[−t·ln 2, t·ln 2]` everywhere (for `lo ≤ hi`) |
//! | `relaxed_signum` | `|·| = 1 − tanh(δ/t) ≤ 2e^(−2δ/t) ≤ t/(e·δ)` |
//! | `relaxed_gt`, `relaxed_lt` | `|·| = sigmoid(−δ/t) ≤ e^(−δ/t) ≤ t/(e·δ)` |
//! | `relaxed_round`, `relaxed_floor`, `relaxed_ceil` | `|·| ≤ e^(−2δ/t)/tanh(1/(2t)) ≤ t/(2e·δ·tanh(½))` for `t ≤ 1` |
//!
//! So the error is at most proportional to `t` (and exponentially small in `1/t` off the ties and
//! kinks). Where the hard operation's derivative is zero (`relaxed_gt`, the roundings, `signum`)
//! or one-sided, the relaxed gradient is nonzero for every `t > 0` at which it does not underflow.
//!
//! # Extreme input
//!
//! Values and derivatives stay finite for finite inputs up to the type's max and temperatures from
//! the smallest positive normal up: the log-sum-exp is shifted by its maximum (`(min − max)/t`),
//! the sigmoid and tanh saturate instead of overflowing, and a weight that is exactly zero
//! contributes exactly zero (never `0·∞`).
//!
//! ```
//! use relax_core::{relaxed_gt, relaxed_gt_vjp, relaxed_max};
//! let t = 0.1_f64;
//! assert!((relaxed_max(1.0, 3.0, t) - 3.0) <= t * core::f64::consts::LN_2);
//! // `a > b` has derivative zero almost everywhere; its relaxation does not.
//! let (s, (da, db, _dt)) = relaxed_gt_vjp(1.0, 1.2, t, 1.0);
//! assert!(s > 0.0 && s < 0.5 && da > 0.0 && db < 0.0);
//! assert_eq!(s, relaxed_gt(1.0, 1.2, t));
//! assert_eq!(relax_core::relaxed_gt_pullback(1.0, 1.2, t, s, 1.0), (da, db, _dt));
//! ```

use crate::Real;
use crate::activation::sigmoid;

/// `sech²(u) = 1 − tanh²(u)`, as `4e/(1 + e)²` with `e = e^(−2|u|)`: accurate in the tails,
/// where `1 − tanh²` cancels, and exactly 0 (never NaN) for infinite `u`.
#[inline]
pub(crate) fn sech2<T: Real>(u: T) -> T {
    let a = u.abs();
    let e = (-(a + a)).exp();
    let s = T::one() + e;
    T::from_usize(4) * e / (s * s)
}

/// `w·x`, exactly zero when the weight `w` is exactly zero (also for an infinite or NaN `x`).
#[inline(always)]
fn weighted<T: Real>(w: T, x: T) -> T {
    if w.is_zero() { T::zero() } else { w * x }
}

#[inline(always)]
fn check_temperature<T: Real>(t: T) {
    debug_assert!(t > T::zero(), "relax: the temperature must be positive");
}

/// Scaling and contracting a tuple of partial derivatives: how `r_vjp` and `r_jvp` are built
/// from one computation of the value and its partials.
trait Partials<T>: Copy {
    /// Each partial times `dout`: the cotangents.
    fn scale(self, dout: T) -> Self;
    /// `Σ partial_i · tangent_i`: the output's tangent.
    fn contract(self, tangent: Self) -> T;
}

macro_rules! partials {
    ($(($($i:tt),+))*) => {$(
        impl<T: Real> Partials<T> for ($(partials!(@T $i),)+) {
            #[inline(always)]
            fn scale(self, dout: T) -> Self {
                ($(dout * self.$i,)+)
            }
            #[inline(always)]
            fn contract(self, tangent: Self) -> T {
                -T::zero() $(+ self.$i * tangent.$i)+
            }
        }
    )*};
    (@T $i:tt) => { T };
}
partials!((0, 1)(0, 1, 2)(0, 1, 2, 3));

/// The value and partial derivatives of `t·ln(e^(a/t) + e^(b/t))`, computed as
/// `max + t·ln(1 + e^z)` with `z = (min − max)/t ≤ 0`: the weights of `a` and `b` (the softmax of
/// `[a, b]/t`) and, with respect to `t`, the entropy `ln(1 + e^z) − w_min·z` of those weights.
#[inline]
fn logsumexp2<T: Real>(a: T, b: T, t: T) -> (T, (T, T, T)) {
    check_temperature(t);
    let a_is_max = a >= b;
    let (max, min) = if a_is_max { (a, b) } else { (b, a) };
    let z = (min - max) / t;
    let e = z.exp();
    let log_sum = e.ln_1p();
    let w_min = e / (T::one() + e);
    let w_max = (T::one() + e).recip();
    let dt = log_sum - weighted(w_min, z);
    let (da, db) = if a_is_max { (w_max, w_min) } else { (w_min, w_max) };
    (max + t * log_sum, (da, db, dt))
}

#[inline]
fn relaxed_max_parts<T: Real>(a: T, b: T, t: T) -> (T, (T, T, T)) {
    logsumexp2(a, b, t)
}

#[inline]
fn relaxed_min_parts<T: Real>(a: T, b: T, t: T) -> (T, (T, T, T)) {
    let (v, (da, db, dt)) = logsumexp2(-a, -b, t);
    (-v, (da, db, -dt))
}

#[inline]
fn relaxed_relu_parts<T: Real>(x: T, t: T) -> (T, (T, T)) {
    let (v, (dx, _, dt)) = logsumexp2(x, T::zero(), t);
    (v, (dx, dt))
}

#[inline]
fn relaxed_abs_parts<T: Real>(x: T, t: T) -> (T, (T, T)) {
    let (v, (dx, dneg, dt)) = logsumexp2(x, -x, t);
    (v, (dx - dneg, dt))
}

#[inline]
fn relaxed_signum_parts<T: Real>(x: T, t: T) -> (T, (T, T)) {
    check_temperature(t);
    let u = x / t;
    let s2 = sech2(u);
    (u.tanh(), (s2 / t, -weighted(s2, u) / t))
}

#[inline]
fn relaxed_clamp_parts<T: Real>(x: T, lo: T, hi: T, t: T) -> (T, (T, T, T, T)) {
    let (m, (mx, mlo, mt)) = relaxed_max_parts(x, lo, t);
    let (v, (dm, dhi, dt)) = relaxed_min_parts(m, hi, t);
    (v, (dm * mx, dm * mlo, dhi, dt + dm * mt))
}

#[inline]
fn relaxed_gt_parts<T: Real>(a: T, b: T, t: T) -> (T, (T, T, T)) {
    check_temperature(t);
    let u = (a - b) / t;
    let s = sigmoid(u);
    let slope = s * sigmoid(-u);
    let du = slope / t;
    (s, (du, -du, -weighted(slope, u) / t))
}

#[inline]
fn relaxed_lt_parts<T: Real>(a: T, b: T, t: T) -> (T, (T, T, T)) {
    let (v, (db, da, dt)) = relaxed_gt_parts(b, a, t);
    (v, (da, db, dt))
}

/// Soft rounding with its partials. With `u = r/t`, `c = 1/(2t)`, `k = tanh c`:
/// `∂/∂x = sech²(u)/(2kt)` and `∂/∂t = (−u·sech²(u)/(2k) + tanh(u)·c·sech²(c)/(2k²))/t`.
#[inline]
fn relaxed_round_parts<T: Real>(x: T, t: T) -> (T, (T, T)) {
    check_temperature(t);
    let half = T::select(0.5, 0.5);
    let floor = x.floor();
    let u = (x - floor - half) / t;
    let c = (t + t).recip();
    let k = c.tanh();
    let two_k = k + k;
    let tanh_u = u.tanh();
    let s2 = sech2(u);
    let dt = (weighted(tanh_u, weighted(sech2(c), c) / k) - weighted(s2, u)) / two_k / t;
    (floor + half + tanh_u / two_k, (s2 / (two_k * t), dt))
}

#[inline]
fn relaxed_floor_parts<T: Real>(x: T, t: T) -> (T, (T, T)) {
    relaxed_round_parts(x - T::select(0.5, 0.5), t)
}

#[inline]
fn relaxed_ceil_parts<T: Real>(x: T, t: T) -> (T, (T, T)) {
    relaxed_round_parts(x + T::select(0.5, 0.5), t)
}

/// Each rule `r` from `r_parts(args…) -> (value, partials)`: the value, the cotangents (partials
/// times `dout`), the pullback (the value with them) and the pushforward (partials contracted with
/// the tangent).
macro_rules! rules {
    ($(
        $(#[$doc:meta])* fn $name:ident($($arg:ident),+) by $parts:ident;
        fn $pullback:ident;
        $(#[$vjp_doc:meta])* fn $vjp:ident;
        $(#[$jvp_doc:meta])* fn $jvp:ident;
    )*) => {$(
        $(#[$doc])*
        #[inline]
        pub fn $name<T: Real>($($arg: T),+) -> T {
            $parts($($arg),+).0
        }

        #[doc = concat!(
            "The cotangents of [`", stringify!($name), "`]: the second component of [`", stringify!($vjp), "`]. ",
            "The partial derivatives do not follow from the value, which is not used."
        )]
        #[inline]
        pub fn $pullback<T: Real>($($arg: T,)+ value: T, dout: T) -> ($(rules!(@T $arg),)+) {
            let _ = value;
            $parts($($arg),+).1.scale(dout)
        }

        $(#[$vjp_doc])*
        #[inline]
        pub fn $vjp<T: Real>($($arg: T,)+ dout: T) -> (T, ($(rules!(@T $arg),)+)) {
            let (value, partials) = $parts($($arg),+);
            (value, partials.scale(dout))
        }

        $(#[$jvp_doc])*
        #[inline]
        pub fn $jvp<T: Real>($($arg: T,)+ tangent: ($(rules!(@T $arg),)+)) -> (T, T) {
            let (value, partials) = $parts($($arg),+);
            (value, partials.contract(tangent))
        }
    )*};
    (@T $arg:ident) => { T };
}

rules! {
    /// Relaxed maximum: `logsumexp([a, b], t) = t·ln(e^(a/t) + e^(b/t))`, computed as
    /// `max + t·ln(1 + e^((min − max)/t))`.
    ///
    /// Derivative: the weights `softmax([a, b], t)` with respect to `a` and `b`, and their
    /// entropy `ln(1 + e^z) − w_min·z` (`z = (min − max)/t`) with respect to `t`. It exceeds
    /// `a.max(b)` by at most `t·ln 2` (at a tie).
    ///
    /// ```
    /// let v = relax_core::relaxed_max(1.0_f64, 1.0, 0.5);
    /// assert!((v - (1.0 + 0.5 * core::f64::consts::LN_2)).abs() < 1e-15);
    /// assert_eq!(relax_core::relaxed_max(1e300_f64, -1e300, 1e-300), 1e300);
    /// ```
    fn relaxed_max(a, b, t) by relaxed_max_parts;
    fn relaxed_max_pullback;
    /// Pullback of [`relaxed_max`]: `(value, (dout·w_a, dout·w_b, dout·H))`, with the weights
    /// `w = softmax([a, b], t)` and their entropy `H`.
    ///
    /// ```
    /// let (_, (da, db, dt)) = relax_core::relaxed_max_vjp(2.0_f64, 2.0, 1.0, 1.0);
    /// assert_eq!((da, db), (0.5, 0.5));
    /// assert!((dt - core::f64::consts::LN_2).abs() < 1e-15);
    /// ```
    fn relaxed_max_vjp;
    /// Pushforward of [`relaxed_max`]: `(value, w_a·ȧ + w_b·ḃ + H·ṫ)`.
    ///
    /// ```
    /// let (v, dv) = relax_core::relaxed_max_jvp(2.0_f64, 2.0, 1.0, (1.0, 3.0, 0.0));
    /// assert_eq!((v, dv), (relax_core::relaxed_max(2.0, 2.0, 1.0), 2.0));
    /// ```
    fn relaxed_max_jvp;

    /// Relaxed minimum: `−logsumexp([−a, −b], t) = −t·ln(e^(−a/t) + e^(−b/t))`.
    ///
    /// Derivative: the weights `softmax([−a, −b], t)` with respect to `a` and `b`, and minus
    /// their entropy with respect to `t`. It falls short of `a.min(b)` by at most `t·ln 2`.
    ///
    /// ```
    /// let v = relax_core::relaxed_min(0.0_f64, 10.0, 0.1);
    /// assert!(v <= 0.0 && v > -1e-40);
    /// ```
    fn relaxed_min(a, b, t) by relaxed_min_parts;
    fn relaxed_min_pullback;
    /// Pullback of [`relaxed_min`]: `(value, (dout·w_a, dout·w_b, −dout·H))`.
    ///
    /// ```
    /// let (_, (da, db, _)) = relax_core::relaxed_min_vjp(0.0_f64, 10.0, 0.1, 1.0);
    /// assert_eq!(da, 1.0);
    /// assert!(db > 0.0 && db < 1e-40);
    /// ```
    fn relaxed_min_vjp;
    /// Pushforward of [`relaxed_min`]: `(value, w_a·ȧ + w_b·ḃ − H·ṫ)`.
    ///
    /// ```
    /// let (_, dv) = relax_core::relaxed_min_jvp(3.0_f64, 3.0, 1.0, (2.0, 0.0, 0.0));
    /// assert_eq!(dv, 1.0);
    /// ```
    fn relaxed_min_jvp;

    /// Relaxed ReLU: `logsumexp([x, 0], t) = t·ln(1 + e^(x/t))`, softplus at scale `t`.
    ///
    /// Derivative: `sigmoid(x/t)` with respect to `x` (nonzero for negative `x`, where ReLU's is
    /// zero); the entropy of `[sigmoid(x/t), sigmoid(−x/t)]` with respect to `t`. It exceeds
    /// `relu(x)` by at most `t·ln 2` (at 0).
    ///
    /// ```
    /// let v = relax_core::relaxed_relu(0.0_f64, 2.0);
    /// assert!((v - 2.0 * core::f64::consts::LN_2).abs() < 1e-15);
    /// ```
    fn relaxed_relu(x, t) by relaxed_relu_parts;
    fn relaxed_relu_pullback;
    /// Pullback of [`relaxed_relu`]: `(value, (dout·sigmoid(x/t), dout·H))`.
    ///
    /// ```
    /// let (_, (dx, _)) = relax_core::relaxed_relu_vjp(-1.0_f64, 1.0, 1.0);
    /// assert!((dx - relax_core::sigmoid(-1.0)).abs() < 1e-16);
    /// ```
    fn relaxed_relu_vjp;
    /// Pushforward of [`relaxed_relu`]: `(value, sigmoid(x/t)·ẋ + H·ṫ)`.
    ///
    /// ```
    /// let (_, dv) = relax_core::relaxed_relu_jvp(0.0_f64, 1.0, (1.0, 0.0));
    /// assert_eq!(dv, 0.5);
    /// ```
    fn relaxed_relu_jvp;

    /// Relaxed absolute value: `logsumexp([x, −x], t) = t·ln(e^(x/t) + e^(−x/t))`.
    ///
    /// Derivative: `tanh(x/t)` with respect to `x`; the entropy of the weights of `x` and `−x`
    /// with respect to `t`. It exceeds `|x|` by at most `t·ln 2` (at 0).
    ///
    /// ```
    /// let v = relax_core::relaxed_abs(-3.0_f64, 0.01);
    /// assert_eq!(v, 3.0);
    /// ```
    fn relaxed_abs(x, t) by relaxed_abs_parts;
    fn relaxed_abs_pullback;
    /// Pullback of [`relaxed_abs`]: `(value, (dout·tanh(x/t), dout·H))`.
    ///
    /// ```
    /// let (_, (dx, _)) = relax_core::relaxed_abs_vjp(0.5_f64, 1.0, 1.0);
    /// assert!((dx - 0.5_f64.tanh()).abs() < 1e-15);
    /// ```
    fn relaxed_abs_vjp;
    /// Pushforward of [`relaxed_abs`]: `(value, tanh(x/t)·ẋ + H·ṫ)`.
    ///
    /// ```
    /// let (_, dv) = relax_core::relaxed_abs_jvp(0.0_f64, 1.0, (1.0, 0.0));
    /// assert_eq!(dv, 0.0);
    /// ```
    fn relaxed_abs_jvp;

    /// Relaxed sign: `tanh(x/t)`.
    ///
    /// Derivative: `sech²(x/t)/t` with respect to `x` (where `signum`'s is zero); `−sech²(x/t)·x/t²`
    /// with respect to `t`. `sech²` is computed as `4e/(1 + e)²`, `e = e^(−2|x|/t)`, so it keeps
    /// its precision in the tails.
    ///
    /// ```
    /// assert_eq!(relax_core::relaxed_signum(0.0_f64, 1.0), 0.0);
    /// assert_eq!(relax_core::relaxed_signum(-2.0_f64, 0.01), -1.0);
    /// ```
    fn relaxed_signum(x, t) by relaxed_signum_parts;
    fn relaxed_signum_pullback;
    /// Pullback of [`relaxed_signum`]: `(tanh(x/t), (dout·sech²(x/t)/t, −dout·sech²(x/t)·x/t²))`.
    ///
    /// ```
    /// assert_eq!(relax_core::relaxed_signum_vjp(0.0_f64, 0.5, 1.0), (0.0, (2.0, 0.0)));
    /// ```
    fn relaxed_signum_vjp;
    /// Pushforward of [`relaxed_signum`].
    ///
    /// ```
    /// assert_eq!(relax_core::relaxed_signum_jvp(0.0_f64, 0.5, (1.0, 1.0)), (0.0, 2.0));
    /// ```
    fn relaxed_signum_jvp;

    /// Relaxed clamp: `relaxed_min(relaxed_max(x, lo, t), hi, t)`.
    ///
    /// Derivative: by the chain rule through [`relaxed_max`] and [`relaxed_min`]; every argument
    /// gets a nonzero share. For `lo ≤ hi` it is within `t·ln 2` of `x.clamp(lo, hi)`.
    ///
    /// ```
    /// let v = relax_core::relaxed_clamp(5.0_f64, 0.0, 1.0, 0.01);
    /// assert!((v - 1.0).abs() < 1e-12);
    /// ```
    fn relaxed_clamp(x, lo, hi, t) by relaxed_clamp_parts;
    fn relaxed_clamp_pullback;
    /// Pullback of [`relaxed_clamp`]: `(value, (dx, dlo, dhi, dt))`.
    ///
    /// ```
    /// let (_, (dx, dlo, dhi, _)) = relax_core::relaxed_clamp_vjp(0.5_f64, 0.0, 1.0, 0.05, 1.0);
    /// assert!(dx > 0.99 && dlo > 0.0 && dhi > 0.0);
    /// assert!((dx + dlo + dhi - 1.0).abs() < 1e-15); // a shift of everything shifts the value
    /// ```
    fn relaxed_clamp_vjp;
    /// Pushforward of [`relaxed_clamp`].
    ///
    /// ```
    /// let (_, dv) = relax_core::relaxed_clamp_jvp(0.5_f64, 0.0, 1.0, 0.05, (1.0, 1.0, 1.0, 0.0));
    /// assert!((dv - 1.0).abs() < 1e-15);
    /// ```
    fn relaxed_clamp_jvp;

    /// Relaxed comparison `a > b` (and `a >= b`) made a number: `sigmoid((a − b)/t)`.
    ///
    /// Derivative: with `s' = s(1 − s)`, `s'/t` with respect to `a`, `−s'/t` with respect to `b`,
    /// `−s'·(a − b)/t²` with respect to `t`: nonzero where the comparison's is zero.
    ///
    /// ```
    /// assert_eq!(relax_core::relaxed_gt(1.0_f64, 1.0, 0.3), 0.5);
    /// assert_eq!(relax_core::relaxed_gt(1.0_f64, -1.0, 1e-3), 1.0);
    /// ```
    fn relaxed_gt(a, b, t) by relaxed_gt_parts;
    fn relaxed_gt_pullback;
    /// Pullback of [`relaxed_gt`]: `(s, (dout·s'/t, −dout·s'/t, −dout·s'·(a − b)/t²))`.
    ///
    /// ```
    /// assert_eq!(relax_core::relaxed_gt_vjp(1.0_f64, 1.0, 0.5, 1.0), (0.5, (0.5, -0.5, 0.0)));
    /// ```
    fn relaxed_gt_vjp;
    /// Pushforward of [`relaxed_gt`].
    ///
    /// ```
    /// assert_eq!(relax_core::relaxed_gt_jvp(1.0_f64, 1.0, 0.5, (1.0, 0.0, 7.0)), (0.5, 0.5));
    /// ```
    fn relaxed_gt_jvp;

    /// Relaxed comparison `a < b` (and `a <= b`) made a number: `sigmoid((b − a)/t)`.
    ///
    /// Derivative: that of [`relaxed_gt`] with `a` and `b` exchanged.
    ///
    /// ```
    /// assert!(relax_core::relaxed_lt(1.0_f64, 2.0, 0.1) > 0.9999);
    /// ```
    fn relaxed_lt(a, b, t) by relaxed_lt_parts;
    fn relaxed_lt_pullback;
    /// Pullback of [`relaxed_lt`]: `(s, (−dout·s'/t, dout·s'/t, −dout·s'·(b − a)/t²))`.
    ///
    /// ```
    /// assert_eq!(relax_core::relaxed_lt_vjp(1.0_f64, 1.0, 0.5, 1.0), (0.5, (-0.5, 0.5, 0.0)));
    /// ```
    fn relaxed_lt_vjp;
    /// Pushforward of [`relaxed_lt`].
    ///
    /// ```
    /// assert_eq!(relax_core::relaxed_lt_jvp(1.0_f64, 1.0, 0.5, (1.0, 0.0, 0.0)), (0.5, -0.5));
    /// ```
    fn relaxed_lt_jvp;

    /// Soft rounding: with `r = x − ⌊x⌋ − ½`, `⌊x⌋ + ½ + tanh(r/t)/(2·tanh(1/(2t)))`.
    ///
    /// Smooth for every `t > 0` (the pieces meet at the integers, where it equals `x`, with equal
    /// slopes), a staircase as `t → 0` and the identity as `t → ∞`. Derivative with `u = r/t`,
    /// `c = 1/(2t)`, `k = tanh c`: `sech²(u)/(2kt)` with respect to `x`, and
    /// `(tanh(u)·c·sech²(c)/k − u·sech²(u))/(2kt)` with respect to `t`.
    ///
    /// ```
    /// assert_eq!(relax_core::relaxed_round(3.0_f64, 0.2), 3.0);
    /// assert_eq!(relax_core::relaxed_round(2.5_f64, 0.2), 2.5);
    /// assert!((relax_core::relaxed_round(2.8_f64, 0.01) - 3.0).abs() < 1e-15);
    /// ```
    fn relaxed_round(x, t) by relaxed_round_parts;
    fn relaxed_round_pullback;
    /// Pullback of [`relaxed_round`].
    ///
    /// ```
    /// let (_, (dx, dt)) = relax_core::relaxed_round_vjp(2.3_f64, 0.25, 1.0);
    /// assert!(dx > 0.0 && dt > 0.0); // 2.3 rounds down: warmer moves the value up towards 2.3
    /// ```
    fn relaxed_round_vjp;
    /// Pushforward of [`relaxed_round`].
    ///
    /// ```
    /// let (v, dv) = relax_core::relaxed_round_jvp(2.5_f64, 0.5, (1.0, 0.0));
    /// assert_eq!(v, 2.5);
    /// assert!((dv - 1.0 / (0.5 * 2.0 * 1.0_f64.tanh())).abs() < 1e-15); // sech²(0)/(2kt)
    /// ```
    fn relaxed_round_jvp;

    /// Soft floor: `relaxed_round(x − ½, t)`, the staircase through the integers shifted down by ½.
    ///
    /// Derivative: that of [`relaxed_round`] at `x − ½`.
    ///
    /// ```
    /// assert!((relax_core::relaxed_floor(2.7_f64, 0.01) - 2.0).abs() < 1e-15);
    /// ```
    fn relaxed_floor(x, t) by relaxed_floor_parts;
    fn relaxed_floor_pullback;
    /// Pullback of [`relaxed_floor`].
    ///
    /// ```
    /// let (_, (dx, _)) = relax_core::relaxed_floor_vjp(2.0_f64, 0.5, 1.0);
    /// assert!(dx > 1.0); // steepest at the integers, where floor jumps
    /// ```
    fn relaxed_floor_vjp;
    /// Pushforward of [`relaxed_floor`].
    ///
    /// ```
    /// let (v, dv) = relax_core::relaxed_floor_jvp(2.0_f64, 0.5, (0.0, 1.0));
    /// assert_eq!((v, dv), (1.5, 0.0));
    /// ```
    fn relaxed_floor_jvp;

    /// Soft ceiling: `relaxed_round(x + ½, t)`.
    ///
    /// Derivative: that of [`relaxed_round`] at `x + ½`.
    ///
    /// ```
    /// assert!((relax_core::relaxed_ceil(2.3_f64, 0.01) - 3.0).abs() < 1e-15);
    /// ```
    fn relaxed_ceil(x, t) by relaxed_ceil_parts;
    fn relaxed_ceil_pullback;
    /// Pullback of [`relaxed_ceil`].
    ///
    /// ```
    /// let (_, (dx, _)) = relax_core::relaxed_ceil_vjp(2.3_f64, 0.5, 1.0);
    /// assert!(dx > 0.0);
    /// ```
    fn relaxed_ceil_vjp;
    /// Pushforward of [`relaxed_ceil`].
    ///
    /// ```
    /// let (v, _) = relax_core::relaxed_ceil_jvp(2.0_f64, 0.5, (1.0, 0.0));
    /// assert_eq!(v, 2.5);
    /// ```
    fn relaxed_ceil_jvp;
}

/// What the relaxed `if` blends: a float or a (nested) array of floats. Implemented for every
/// [`Real`] and for arrays of `Blend` values; [`blend`], [`blend_pullback`], [`blend_vjp`] and
/// [`blend_jvp`] call it.
pub trait Blend<T: Real>: Copy {
    /// `s·a + (1 − s)·b`, elementwise.
    fn blend(s: T, a: Self, b: Self) -> Self;
    /// The cotangents `(⟨dout, a − b⟩, s·dout, (1 − s)·dout)`.
    fn blend_pullback(s: T, a: Self, b: Self, dout: Self) -> (T, Self, Self);
    /// The value and the cotangents of [`blend_pullback`](Self::blend_pullback).
    #[inline(always)]
    fn blend_vjp(s: T, a: Self, b: Self, dout: Self) -> (Self, (T, Self, Self)) {
        (Self::blend(s, a, b), Self::blend_pullback(s, a, b, dout))
    }
    /// The value and `ṡ·(a − b) + s·ȧ + (1 − s)·ḃ`.
    fn blend_jvp(s: T, a: Self, b: Self, tangent: (T, Self, Self)) -> (Self, Self);
}

impl<T: Real> Blend<T> for T {
    #[inline(always)]
    fn blend(s: T, a: T, b: T) -> T {
        weighted(s, a) + weighted(T::one() - s, b)
    }
    #[inline(always)]
    fn blend_pullback(s: T, a: T, b: T, dout: T) -> (T, T, T) {
        (weighted(dout, a - b), s * dout, (T::one() - s) * dout)
    }
    #[inline(always)]
    fn blend_jvp(s: T, a: T, b: T, (ds, da, db): (T, T, T)) -> (T, T) {
        (Self::blend(s, a, b), weighted(ds, a - b) + Self::blend(s, da, db))
    }
}

// Index loops over arrays by value, not `core::array::from_fn` (see `crate::arrays`).
impl<T: Real, V: Blend<T>, const N: usize> Blend<T> for [V; N] {
    #[inline]
    fn blend(s: T, a: Self, b: Self) -> Self {
        let mut value = a;
        for i in 0..N {
            value[i] = V::blend(s, a[i], b[i]);
        }
        value
    }
    #[inline]
    fn blend_pullback(s: T, a: Self, b: Self, dout: Self) -> (T, Self, Self) {
        let (mut ds, mut da, mut db) = (T::zero_tangent(), a, b);
        for i in 0..N {
            let (dsi, dai, dbi) = V::blend_pullback(s, a[i], b[i], dout[i]);
            (da[i], db[i]) = (dai, dbi);
            ds += dsi;
        }
        (ds, da, db)
    }
    #[inline]
    fn blend_jvp(s: T, a: Self, b: Self, (ds, da, db): (T, Self, Self)) -> (Self, Self) {
        let (mut value, mut dvalue) = (a, a);
        for i in 0..N {
            (value[i], dvalue[i]) = V::blend_jvp(s, a[i], b[i], (ds, da[i], db[i]));
        }
        (value, dvalue)
    }
}

/// The relaxed `if`: `s·a + (1 − s)·b` for a float or a (nested) array of floats, with the weight
/// `s = relaxed_gt(…)` (or `relaxed_lt`) of the condition. A weight that is exactly 0 or 1 (a
/// saturated sigmoid) gives exactly the chosen arm: the other contributes exactly zero, even if it
/// is infinite or NaN.
///
/// Derivative: `⟨dout, a − b⟩` with respect to `s`, `s` with respect to `a`, `1 − s` with respect
/// to `b`.
///
/// ```
/// use relax_core::{blend, relaxed_gt};
/// let s = relaxed_gt(2.0_f64, 1.0, 0.5);
/// let y = blend(s, [1.0, 10.0], [3.0, 20.0]);
/// assert!((y[0] - (3.0 - 2.0 * s)).abs() < 1e-15);
/// assert_eq!(blend(1.0_f64, 4.0, f64::NAN), 4.0);
/// ```
#[inline]
pub fn blend<T: Real, V: Blend<T>>(s: T, a: V, b: V) -> V {
    V::blend(s, a, b)
}

/// The cotangents of [`blend`]: `(⟨dout, a − b⟩, s·dout, (1 − s)·dout)` (the value is not
/// needed).
///
/// ```
/// let (ds, da, db) = relax_core::blend_pullback(0.25_f64, [2.0, 4.0], [1.0, 0.0], [1.25, 1.0], [1.0, 1.0]);
/// assert_eq!((ds, da, db), (5.0, [0.25, 0.25], [0.75, 0.75]));
/// ```
#[inline]
pub fn blend_pullback<T: Real, V: Blend<T>>(s: T, a: V, b: V, value: V, dout: V) -> (T, V, V) {
    let _ = value;
    V::blend_pullback(s, a, b, dout)
}

/// Pullback of [`blend`]: `(value, (⟨dout, a − b⟩, s·dout, (1 − s)·dout))`.
///
/// ```
/// let (v, (ds, da, db)) = relax_core::blend_vjp(0.25_f64, [2.0, 4.0], [1.0, 0.0], [1.0, 1.0]);
/// assert_eq!(v, [1.25, 1.0]);
/// assert_eq!((ds, da, db), (5.0, [0.25, 0.25], [0.75, 0.75]));
/// ```
#[inline]
pub fn blend_vjp<T: Real, V: Blend<T>>(s: T, a: V, b: V, dout: V) -> (V, (T, V, V)) {
    V::blend_vjp(s, a, b, dout)
}

/// Pushforward of [`blend`]: `(value, ṡ·(a − b) + s·ȧ + (1 − s)·ḃ)`.
///
/// ```
/// let (v, dv) = relax_core::blend_jvp(0.5_f64, 2.0, 1.0, (1.0, 0.0, 2.0));
/// assert_eq!((v, dv), (1.5, 2.0));
/// ```
#[inline]
pub fn blend_jvp<T: Real, V: Blend<T>>(s: T, a: V, b: V, tangent: (T, V, V)) -> (V, V) {
    V::blend_jvp(s, a, b, tangent)
}
