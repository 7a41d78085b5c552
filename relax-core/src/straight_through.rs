//! `stop_gradient` and straight-through estimators: a hard value forward, a soft gradient backward.
//!
//! In forward mode likewise: each `NAME_jvp` returns the hard value and the tangent of the soft
//! surrogate (zero for `stop_gradient`).
//!
//! Each rule also has `NAME_pullback(args…, value, dout)`, the cotangents alone: for the
//! straight-through rules it never computes the hard value (`argmax`, `one_hot`), which the
//! caller already has. The zero cotangents are [`Tangent`]'s zero, `−0.0`.

use crate::softmax::{argmax, one_hot, soft_argmax_jvp, soft_argmax_vjp, softmax_jvp, softmax_vjp};
use crate::{Real, Tangent};

/// `v` itself (a scalar or an array); its derivative is zero.
///
/// Inside a `#[differentiable]` function it makes any expression passive, which is how to use an
/// operation without a useful gradient (`stop_gradient(x.round())`).
///
/// ```
/// assert_eq!(relax_core::stop_gradient(2.5_f64), 2.5);
/// ```
#[inline(always)]
pub fn stop_gradient<V>(v: V) -> V {
    v
}

/// The cotangent of [`stop_gradient`]: zero (`−0.0` in every float).
///
/// ```
/// let d = relax_core::stop_gradient_pullback(2.5_f64, 2.5, 1.0);
/// assert_eq!(d.to_bits(), (-0.0_f64).to_bits());
/// ```
#[inline(always)]
pub fn stop_gradient_pullback<V: Tangent>(v: V, value: V, dout: V) -> V {
    let _ = (v, value);
    dout.zero_like()
}

/// Pullback of [`stop_gradient`]: `(v, 0)`.
///
/// ```
/// assert_eq!(relax_core::stop_gradient_vjp([1.0_f64, 2.0], [3.0, 4.0]), ([1.0, 2.0], [0.0, 0.0]));
/// ```
#[inline(always)]
pub fn stop_gradient_vjp<V: Tangent>(v: V, dout: V) -> (V, V) {
    let value = stop_gradient(v);
    (value, stop_gradient_pullback(v, value, dout))
}

/// Pushforward of [`stop_gradient`]: `(v, 0)`.
///
/// ```
/// assert_eq!(relax_core::stop_gradient_jvp(2.5_f64, 1.0), (2.5, 0.0));
/// ```
#[inline(always)]
pub fn stop_gradient_jvp<V: Tangent>(v: V, dv: V) -> (V, V) {
    (v, dv.zero_like())
}

/// The straight-through operator: exactly `hard` forward, the gradient of `soft` backward.
///
/// The lecture's `soft + stop_gradient(hard − soft)`, without its rounding: the value is `hard`
/// bit for bit. Derivative: 0 with respect to `hard`, 1 with respect to `soft`.
///
/// ```
/// let x = 2.7_f64;
/// assert_eq!(relax_core::straight_through(x.round(), x), 3.0);
/// ```
#[inline(always)]
pub fn straight_through<V>(hard: V, soft: V) -> V {
    let _ = soft;
    hard
}

/// The cotangents of [`straight_through`]: `(0, dout)`.
///
/// ```
/// assert_eq!(relax_core::straight_through_pullback(3.0_f64, 2.7, 3.0, 1.5), (0.0, 1.5));
/// ```
#[inline(always)]
pub fn straight_through_pullback<V: Tangent>(hard: V, soft: V, value: V, dout: V) -> (V, V) {
    let _ = (hard, soft, value);
    (dout.zero_like(), dout)
}

/// Pullback of [`straight_through`]: `(hard, (0, dout))`.
///
/// ```
/// assert_eq!(relax_core::straight_through_vjp(3.0_f64, 2.7, 1.5), (3.0, (0.0, 1.5)));
/// ```
#[inline(always)]
pub fn straight_through_vjp<V: Tangent>(hard: V, soft: V, dout: V) -> (V, (V, V)) {
    let value = straight_through(hard, soft);
    (value, straight_through_pullback(hard, soft, value, dout))
}

/// Pushforward of [`straight_through`]: `(hard, dsoft)`.
///
/// ```
/// assert_eq!(relax_core::straight_through_jvp(3.0_f64, 2.7, (9.0, 1.5)), (3.0, 1.5));
/// ```
#[inline(always)]
pub fn straight_through_jvp<V: Tangent>(hard: V, soft: V, (dhard, dsoft): (V, V)) -> (V, V) {
    let _ = (soft, dhard);
    (hard, dsoft)
}

/// Straight-through argmax: `argmax(x)` as `T` forward, the gradient of
/// [`soft_argmax(x, t)`](crate::soft_argmax) backward.
///
/// ```
/// assert_eq!(relax_core::st_argmax([1.1_f64, 4.0, -0.1, 2.3], 0.5), 1.0);
/// ```
#[inline]
pub fn st_argmax<T: Real, const N: usize>(x: [T; N], t: T) -> T {
    debug_assert!(t > T::zero(), "relax: the temperature must be positive");
    T::from_usize(argmax(x))
}

/// The cotangents of [`st_argmax`]: `soft_argmax_vjp(x, t, dout).1`; the hard `value` is not
/// used (nor computed again).
///
/// ```
/// let (dx, _) = relax_core::st_argmax_pullback([0.0_f64, 0.0], 1.0, 0.0, 1.0);
/// assert_eq!(dx, [-0.25, 0.25]);
/// ```
#[inline]
pub fn st_argmax_pullback<T: Real, const N: usize>(x: [T; N], t: T, value: T, dout: T) -> ([T; N], T) {
    let _ = value;
    soft_argmax_vjp(x, t, dout).1
}

/// Pullback of [`st_argmax`]: `(argmax(x) as T, soft_argmax_vjp(x, t, dout).1)`.
///
/// ```
/// let (v, (dx, _)) = relax_core::st_argmax_vjp([0.0_f64, 0.0], 1.0, 1.0);
/// assert_eq!((v, dx), (0.0, [-0.25, 0.25]));
/// ```
#[inline]
pub fn st_argmax_vjp<T: Real, const N: usize>(x: [T; N], t: T, dout: T) -> (T, ([T; N], T)) {
    let value = st_argmax(x, t);
    (value, st_argmax_pullback(x, t, value, dout))
}

/// Pushforward of [`st_argmax`]: `(argmax(x) as T, soft_argmax_jvp(x, t, (dx, dt)).1)`.
///
/// ```
/// let (v, d) = relax_core::st_argmax_jvp([0.0_f64, 0.0], 1.0, ([0.0, 1.0], 0.0));
/// assert_eq!((v, d), (0.0, 0.25));
/// ```
#[inline]
pub fn st_argmax_jvp<T: Real, const N: usize>(x: [T; N], t: T, tangent: ([T; N], T)) -> (T, T) {
    (st_argmax(x, t), soft_argmax_jvp(x, t, tangent).1)
}

/// Straight-through one-hot: `one_hot(argmax(x))` forward, the gradient of
/// [`softmax(x, t)`](crate::softmax()) backward.
///
/// ```
/// assert_eq!(relax_core::st_one_hot([1.1_f64, 4.0, -0.1, 2.3], 1.0), [0.0, 1.0, 0.0, 0.0]);
/// ```
#[inline]
pub fn st_one_hot<T: Real, const N: usize>(x: [T; N], t: T) -> [T; N] {
    debug_assert!(t > T::zero(), "relax: the temperature must be positive");
    one_hot(argmax(x))
}

/// The cotangents of [`st_one_hot`]: `softmax_vjp(x, t, dout).1`; the hard `value` is not used
/// (nor computed again).
///
/// ```
/// let (dx, _) = relax_core::st_one_hot_pullback([0.0_f64, 0.0], 1.0, [1.0, 0.0], [1.0, 0.0]);
/// assert_eq!(dx, [0.25, -0.25]);
/// ```
#[inline]
pub fn st_one_hot_pullback<T: Real, const N: usize>(x: [T; N], t: T, value: [T; N], dout: [T; N]) -> ([T; N], T) {
    let _ = value;
    softmax_vjp(x, t, dout).1
}

/// Pullback of [`st_one_hot`]: `(one_hot(argmax(x)), softmax_vjp(x, t, dout).1)`.
///
/// ```
/// let (v, (dx, _)) = relax_core::st_one_hot_vjp([0.0_f64, 0.0], 1.0, [1.0, 0.0]);
/// assert_eq!((v, dx), ([1.0, 0.0], [0.25, -0.25]));
/// ```
#[inline]
pub fn st_one_hot_vjp<T: Real, const N: usize>(x: [T; N], t: T, dout: [T; N]) -> ([T; N], ([T; N], T)) {
    let value = st_one_hot(x, t);
    (value, st_one_hot_pullback(x, t, value, dout))
}

/// Pushforward of [`st_one_hot`]: `(one_hot(argmax(x)), softmax_jvp(x, t, (dx, dt)).1)`.
///
/// ```
/// let (v, d) = relax_core::st_one_hot_jvp([0.0_f64, 0.0], 1.0, ([1.0, 0.0], 0.0));
/// assert_eq!((v, d), ([1.0, 0.0], [0.25, -0.25]));
/// ```
#[inline]
pub fn st_one_hot_jvp<T: Real, const N: usize>(x: [T; N], t: T, tangent: ([T; N], T)) -> ([T; N], [T; N]) {
    (st_one_hot(x, t), softmax_jvp(x, t, tangent).1)
}
