//! The softmax family: softmax with a temperature as the relaxation of a one-hot `argmax`, and the
//! soft argmax and soft max built from it; `argmax`/`one_hot` (their hard counterparts) and the
//! reductions `sum`, `mean`, `dot`.
//!
//! Every rule here shifts by the maximum and divides the shifted logits by the temperature,
//! `(x_i − max)/t`, so it stays finite for huge logits and for temperatures down to the smallest
//! positive normal. A temperature `t ≤ 0` violates the precondition (`debug_assert!`).

use crate::Real;

/// `z_i = (x_i − max)/t`, `e_i = e^(z_i)` and `s = Σ e_i`.
#[inline]
fn shifted<T: Real, const N: usize>(x: &[T; N], t: T) -> ([T; N], [T; N], T) {
    debug_assert!(t > T::zero(), "relax: the temperature must be positive");
    let m = x.iter().fold(T::neg_infinity(), |m, &v| m.max(v));
    let z = x.map(|v| (v - m) / t);
    let e = z.map(T::exp);
    let s = e.iter().fold(T::zero(), |s, &v| s + v);
    (z, e, s)
}

/// Softmax with temperature: `softmax(x, t)_i = e^(x_i/t) / Σ_j e^(x_j/t)`, max-shifted.
///
/// As `t → 0` it tends to the one-hot `argmax`; derivative: the full Jacobian
/// `∂y_i/∂x_j = y_i(δ_ij − y_j)/t`, and with respect to `t`, `−Σ_j (∂y_i/∂x_j)·x_j/t`.
///
/// ```
/// let y = relax_core::softmax([1.1_f64, 4.0, -0.1, 2.3], 1.0);
/// assert!((y[1] - 0.797).abs() < 5e-4);
/// ```
#[inline]
pub fn softmax<T: Real, const N: usize>(x: [T; N], t: T) -> [T; N] {
    let (_, e, s) = shifted(&x, t);
    e.map(|v| v / s)
}

/// Pullback of [`softmax`]: `(y, (dx, dt))` with `g_i = y_i(dout_i − y·dout)`, `dx = g/t`,
/// `dt = −Σ g_i z_i / t` where `z_i = (x_i − max)/t` (terms with `y_i = 0` contribute 0).
///
/// ```
/// let (y, (dx, dt)) = relax_core::softmax_vjp([0.0_f64, 0.0], 1.0, [1.0, 0.0]);
/// assert_eq!(y, [0.5, 0.5]);
/// assert_eq!(dx, [0.25, -0.25]);
/// assert_eq!(dt, 0.0);
/// ```
#[inline]
pub fn softmax_vjp<T: Real, const N: usize>(x: [T; N], t: T, dout: [T; N]) -> ([T; N], ([T; N], T)) {
    let (z, e, s) = shifted(&x, t);
    let y = e.map(|v| v / s);
    let inner = dot(y, dout);
    let g: [T; N] = core::array::from_fn(|i| y[i] * (dout[i] - inner));
    let dt = -(0..N).filter(|&i| g[i] != T::zero()).fold(T::zero(), |a, i| a + g[i] * z[i]) / t;
    (y, (g.map(|v| v / t), dt))
}

/// Log-softmax with temperature: `x_i/t − logsumexp(x/t)`, computed as `z_i − ln Σ e^(z_j)` with
/// `z_i = (x_i − max)/t`.
///
/// Derivative: `∂/∂x_j = (δ_ij − softmax(x, t)_j)/t`.
///
/// ```
/// let y = relax_core::log_softmax([0.0_f64, 0.0], 1.0);
/// assert!((y[0] + core::f64::consts::LN_2).abs() < 1e-15);
/// ```
#[inline]
pub fn log_softmax<T: Real, const N: usize>(x: [T; N], t: T) -> [T; N] {
    let (z, _, s) = shifted(&x, t);
    let ls = s.ln();
    z.map(|v| v - ls)
}

/// Pullback of [`log_softmax`]: `dz_i = dout_i − y_i Σ dout`, `dx = dz/t`, `dt = −Σ dz_i z_i / t`.
///
/// ```
/// let (_, (dx, _)) = relax_core::log_softmax_vjp([0.0_f64, 0.0], 1.0, [1.0, 0.0]);
/// assert_eq!(dx, [0.5, -0.5]);
/// ```
#[inline]
pub fn log_softmax_vjp<T: Real, const N: usize>(x: [T; N], t: T, dout: [T; N]) -> ([T; N], ([T; N], T)) {
    let (z, e, s) = shifted(&x, t);
    let ls = s.ln();
    let total = sum(dout);
    let dz: [T; N] = core::array::from_fn(|i| dout[i] - e[i] / s * total);
    let dt = -(0..N).filter(|&i| dz[i] != T::zero()).fold(T::zero(), |a, i| a + dz[i] * z[i]) / t;
    (z.map(|v| v - ls), (dz.map(|v| v / t), dt))
}

/// Log-sum-exp with temperature: `t·ln Σ e^(x_i/t)`, computed as `max + t·ln Σ e^(z_i)`: a smooth
/// maximum that tends to `max(x)` as `t → 0`.
///
/// Derivative: `softmax(x, t)` with respect to `x`; `ln Σ e^(z_i) − Σ y_i z_i` (the entropy of
/// `y = softmax(x, t)`) with respect to `t`.
///
/// ```
/// let v = relax_core::logsumexp([1.0_f64, 1.0], 1.0);
/// assert!((v - (1.0 + core::f64::consts::LN_2)).abs() < 1e-15);
/// ```
#[inline]
pub fn logsumexp<T: Real, const N: usize>(x: [T; N], t: T) -> T {
    let m = x.iter().fold(T::neg_infinity(), |m, &v| m.max(v));
    let (_, _, s) = shifted(&x, t);
    m + t * s.ln()
}

/// Pullback of [`logsumexp`]: `(value, (dout·softmax(x, t), dout·(ln Σ e^(z_i) − Σ y_i z_i)))`.
///
/// ```
/// let (_, (dx, _)) = relax_core::logsumexp_vjp([3.0_f64, 3.0], 0.5, 2.0);
/// assert_eq!(dx, [1.0, 1.0]);
/// ```
#[inline]
pub fn logsumexp_vjp<T: Real, const N: usize>(x: [T; N], t: T, dout: T) -> (T, ([T; N], T)) {
    let (z, e, s) = shifted(&x, t);
    let y = e.map(|v| v / s);
    let yz = (0..N).filter(|&i| y[i] != T::zero()).fold(T::zero(), |a, i| a + y[i] * z[i]);
    (logsumexp(x, t), (y.map(|v| dout * v), dout * (s.ln() - yz)))
}

/// The indices `[0, 1, …, N − 1]` as `T`.
#[inline]
fn indices<T: Real, const N: usize>() -> [T; N] {
    core::array::from_fn(T::from_usize)
}

/// Soft argmax: `softmax(x, t) · [0, 1, …, N − 1]`, a float that tends to `argmax(x)` as `t → 0`.
///
/// Derivative: that of the dot product through [`softmax_vjp`].
///
/// ```
/// let v = relax_core::soft_argmax([1.1_f64, 4.0, -0.1, 2.3], 1.0);
/// assert!((v - 1.2606).abs() < 5e-5);
/// ```
#[inline]
pub fn soft_argmax<T: Real, const N: usize>(x: [T; N], t: T) -> T {
    dot(softmax(x, t), indices())
}

/// Pullback of [`soft_argmax`]: `softmax_vjp(x, t, dout·[0, 1, …])`.
///
/// ```
/// let (v, (dx, _)) = relax_core::soft_argmax_vjp([0.0_f64, 0.0], 1.0, 1.0);
/// assert_eq!((v, dx), (0.5, [-0.25, 0.25]));
/// ```
#[inline]
pub fn soft_argmax_vjp<T: Real, const N: usize>(x: [T; N], t: T, dout: T) -> (T, ([T; N], T)) {
    let idx = indices::<T, N>();
    let (y, g) = softmax_vjp(x, t, idx.map(|i| dout * i));
    (dot(y, idx), g)
}

/// Soft max: `softmax(x, t) · x`, a smooth maximum that tends to `max(x)` as `t → 0`.
///
/// Derivative: `dout·softmax(x, t)` directly plus the pullback of `softmax` with cotangent
/// `dout·x`.
///
/// ```
/// let v = relax_core::soft_max([1.1_f64, 4.0, -0.1, 2.3], 1.0);
/// assert!((v - 3.571).abs() < 5e-4);
/// ```
#[inline]
pub fn soft_max<T: Real, const N: usize>(x: [T; N], t: T) -> T {
    dot(softmax(x, t), x)
}

/// Pullback of [`soft_max`].
///
/// ```
/// let (v, (dx, _)) = relax_core::soft_max_vjp([1.0_f64, 1.0], 1.0, 1.0);
/// assert_eq!((v, dx), (1.0, [0.5, 0.5]));
/// ```
#[inline]
pub fn soft_max_vjp<T: Real, const N: usize>(x: [T; N], t: T, dout: T) -> (T, ([T; N], T)) {
    let (y, (dx, dt)) = softmax_vjp(x, t, x.map(|v| dout * v));
    (dot(y, x), (core::array::from_fn(|i| dx[i] + dout * y[i]), dt))
}

/// The index of the first maximum of `x`. NaN entries are never chosen unless all are NaN (then
/// 0). Not differentiated: it returns an integer (see [`st_argmax`](crate::st_argmax) and
/// [`soft_argmax`] for its relaxations).
///
/// ```
/// assert_eq!(relax_core::argmax([1.1_f64, 4.0, -0.1, 2.3]), 1);
/// ```
#[inline]
pub fn argmax<T: Real, const N: usize>(x: [T; N]) -> usize {
    let mut best: Option<usize> = None;
    for (i, &v) in x.iter().enumerate() {
        if !v.is_nan() && best.is_none_or(|b| v > x[b]) {
            best = Some(i);
        }
    }
    best.unwrap_or(0)
}

/// The one-hot vector with 1 at `k` and 0 elsewhere; constant (no gradient).
///
/// # Panics
/// If `k ≥ N`.
///
/// ```
/// assert_eq!(relax_core::one_hot::<f64, 3>(1), [0.0, 1.0, 0.0]);
/// ```
#[inline]
pub fn one_hot<T: Real, const N: usize>(k: usize) -> [T; N] {
    assert!(k < N, "one_hot: index {k} out of range for {N} categories");
    core::array::from_fn(|i| if i == k { T::one() } else { T::zero() })
}

/// `Σ x_i`. Derivative: 1 for every entry.
///
/// ```
/// assert_eq!(relax_core::sum([1.0_f64, 2.0, 3.0]), 6.0);
/// ```
#[inline]
pub fn sum<T: Real, const N: usize>(x: [T; N]) -> T {
    x.iter().fold(T::zero(), |a, &v| a + v)
}

/// Pullback of [`sum`]: `(Σ x_i, [dout; N])`.
///
/// ```
/// assert_eq!(relax_core::sum_vjp([1.0_f64, 2.0], 3.0), (3.0, [3.0, 3.0]));
/// ```
#[inline]
pub fn sum_vjp<T: Real, const N: usize>(x: [T; N], dout: T) -> (T, [T; N]) {
    (sum(x), [dout; N])
}

/// `Σ x_i / N`. Derivative: `1/N` for every entry.
///
/// ```
/// assert_eq!(relax_core::mean([1.0_f64, 2.0, 3.0]), 2.0);
/// ```
#[inline]
pub fn mean<T: Real, const N: usize>(x: [T; N]) -> T {
    sum(x) / T::from_usize(N)
}

/// Pullback of [`mean`]: `(mean(x), [dout/N; N])`.
///
/// ```
/// assert_eq!(relax_core::mean_vjp([1.0_f64, 3.0], 1.0), (2.0, [0.5, 0.5]));
/// ```
#[inline]
pub fn mean_vjp<T: Real, const N: usize>(x: [T; N], dout: T) -> (T, [T; N]) {
    (mean(x), [dout / T::from_usize(N); N])
}

/// `a · b = Σ a_i b_i`. Derivative: `b` with respect to `a`, `a` with respect to `b`.
///
/// ```
/// assert_eq!(relax_core::dot([1.0_f64, 2.0], [3.0, 4.0]), 11.0);
/// ```
#[inline]
pub fn dot<T: Real, const N: usize>(a: [T; N], b: [T; N]) -> T {
    a.iter().zip(&b).fold(T::zero(), |s, (&u, &v)| s + u * v)
}

/// Pullback of [`dot`]: `(a·b, (dout·b, dout·a))`.
///
/// ```
/// assert_eq!(relax_core::dot_vjp([1.0_f64], [3.0], 2.0), (3.0, ([6.0], [2.0])));
/// ```
#[inline]
pub fn dot_vjp<T: Real, const N: usize>(a: [T; N], b: [T; N], dout: T) -> (T, ([T; N], [T; N])) {
    (dot(a, b), (b.map(|v| dout * v), a.map(|v| dout * v)))
}
