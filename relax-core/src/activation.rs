//! Scalar activations: ReLU and its smooth relaxation softplus, whose derivative is the sigmoid.
//!
//! Each has its pullback `NAME_vjp` and its pushforward `NAME_jvp`; for these functions of one
//! scalar both are the same product, `derivative·(dout or dx)`. `NAME_pullback(x, y, dout)` is
//! the cotangent alone, from `x` and the value `y` (the sigmoid's from `y` alone), and
//! `NAME_vjp` is `(y, NAME_pullback(x, y, dout))`.

use crate::Real;

/// ReLU: `max(0, x)`.
///
/// Derivative: 1 for `x > 0`, else 0 (the subgradient convention `relu'(0) = 0`).
///
/// ```
/// assert_eq!(relax_core::relu(-2.0_f64), 0.0);
/// assert_eq!(relax_core::relu(1.5_f64), 1.5);
/// ```
#[inline]
pub fn relu<T: Real>(x: T) -> T {
    if x > T::zero() { x } else { T::zero() }
}

/// The cotangent of [`relu`]: `dout · [x > 0]`, the zero being `−0.0` (see
/// [`Tangent`](crate::Tangent)).
///
/// ```
/// assert_eq!(relax_core::relu_pullback(2.0_f64, 2.0, 0.5), 0.5);
/// assert_eq!(relax_core::relu_pullback(-1.0_f64, 0.0, 0.5).to_bits(), (-0.0_f64).to_bits());
/// ```
#[inline]
pub fn relu_pullback<T: Real>(x: T, y: T, dout: T) -> T {
    let _ = y;
    if x > T::zero() { dout } else { T::zero_tangent() }
}

/// Pullback of [`relu`]: `(relu(x), dout · [x > 0])`.
///
/// ```
/// assert_eq!(relax_core::relu_vjp(0.0_f64, 1.0), (0.0, 0.0));
/// ```
#[inline]
pub fn relu_vjp<T: Real>(x: T, dout: T) -> (T, T) {
    let y = relu(x);
    (y, relu_pullback(x, y, dout))
}

/// Pushforward of [`relu`]: `(relu(x), dx · [x > 0])`, with `relu'(0) = 0`.
///
/// ```
/// assert_eq!(relax_core::relu_jvp(2.0_f64, 0.5), (2.0, 0.5));
/// assert_eq!(relax_core::relu_jvp(0.0_f64, 1.0), (0.0, 0.0));
/// ```
#[inline]
pub fn relu_jvp<T: Real>(x: T, dx: T) -> (T, T) {
    relu_vjp(x, dx)
}

/// Softplus: `ln(1 + eˣ)`, a relaxation of ReLU that is differentiable everywhere.
///
/// Computed as `max(x, 0) + ln(1 + e^-|x|)`, which neither overflows nor loses the tail for any
/// finite `x`. Derivative: `sigmoid(x)`.
///
/// ```
/// let y = relax_core::softplus(0.0_f64);
/// assert!((y - core::f64::consts::LN_2).abs() < 1e-15);
/// assert_eq!(relax_core::softplus(f64::MAX), f64::MAX);
/// ```
#[inline]
pub fn softplus<T: Real>(x: T) -> T {
    x.max(T::zero()) + (-x.abs()).exp().ln_1p()
}

/// The cotangent of [`softplus`]: `dout · sigmoid(x)` (from `x`: from the value it would take an
/// `exp_m1`, which costs what the sigmoid costs).
///
/// ```
/// assert_eq!(relax_core::softplus_pullback(0.0_f64, core::f64::consts::LN_2, 2.0), 1.0);
/// ```
#[inline]
pub fn softplus_pullback<T: Real>(x: T, y: T, dout: T) -> T {
    let _ = y;
    dout * sigmoid(x)
}

/// Pullback of [`softplus`]: `(softplus(x), dout · sigmoid(x))`.
///
/// ```
/// assert_eq!(relax_core::softplus_vjp(0.0_f64, 2.0).1, 1.0);
/// ```
#[inline]
pub fn softplus_vjp<T: Real>(x: T, dout: T) -> (T, T) {
    let y = softplus(x);
    (y, softplus_pullback(x, y, dout))
}

/// Pushforward of [`softplus`]: `(softplus(x), dx · sigmoid(x))`.
///
/// ```
/// assert_eq!(relax_core::softplus_jvp(0.0_f64, 2.0).1, 1.0);
/// ```
#[inline]
pub fn softplus_jvp<T: Real>(x: T, dx: T) -> (T, T) {
    softplus_vjp(x, dx)
}

/// Sigmoid: `1 / (1 + e^-x)`.
///
/// Evaluated through `e^-|x|` on both sides, so it never overflows. Derivative: `s(1 − s)`,
/// computed from `s` (no second exponential), as PyTorch and JAX do: where `1 − s` is below the
/// rounding of `s` (`x` beyond about 37 for `f64`, 17 for `f32`), it is 0 or off by at most
/// `ε/2` absolutely, like `tanh`'s `1 − y²`.
///
/// ```
/// assert_eq!(relax_core::sigmoid(0.0_f64), 0.5);
/// assert_eq!(relax_core::sigmoid(-1e300_f64), 0.0);
/// ```
#[inline]
pub fn sigmoid<T: Real>(x: T) -> T {
    // `e^-|x|` spelled per side (not through `abs`, whose derivative at 0 is taken as 0), so that
    // the same code run on dual numbers has the right slope at 0.
    if x >= T::zero() {
        T::one() / (T::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::one() + e)
    }
}

/// The cotangent of [`sigmoid`] from its value `s`: `dout · s(1 − s)`.
///
/// ```
/// assert_eq!(relax_core::sigmoid_pullback(0.0_f64, 0.5, 1.0), 0.25);
/// ```
#[inline]
pub fn sigmoid_pullback<T: Real>(x: T, s: T, dout: T) -> T {
    let _ = x;
    dout * s * (T::one() - s)
}

/// Pullback of [`sigmoid`]: `(s, dout · s(1 − s))`.
///
/// ```
/// assert_eq!(relax_core::sigmoid_vjp(0.0_f64, 1.0), (0.5, 0.25));
/// ```
#[inline]
pub fn sigmoid_vjp<T: Real>(x: T, dout: T) -> (T, T) {
    let s = sigmoid(x);
    (s, sigmoid_pullback(x, s, dout))
}

/// Pushforward of [`sigmoid`]: `(s, dx · s(1 − s))`.
///
/// ```
/// assert_eq!(relax_core::sigmoid_jvp(0.0_f64, 2.0), (0.5, 0.5));
/// ```
#[inline]
pub fn sigmoid_jvp<T: Real>(x: T, dx: T) -> (T, T) {
    sigmoid_vjp(x, dx)
}
