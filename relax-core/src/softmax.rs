//! The softmax family: softmax with a temperature as the relaxation of a one-hot `argmax`, and the
//! soft argmax and soft max built from it; `argmax`/`one_hot` (their hard counterparts) and the
//! reductions `sum`, `mean`, `dot`.
//!
//! Every rule here shifts by the maximum and divides the shifted logits by the temperature,
//! `(x_i − max)/t`, so it stays finite for huge logits and for temperatures down to the smallest
//! positive normal. A temperature `t ≤ 0` violates the precondition (`debug_assert!`).
//!
//! Each rule has its pullback `NAME_vjp` (also split into `NAME_fwd` and `NAME_bwd` around a
//! [`SoftmaxResidual`]) and its pushforward `NAME_jvp`, both from the same forward computation.
//! [`softmax_pullback`] gives softmax's cotangents from its value alone (no exponential), and
//! `sum`, `mean`, `dot` have `NAME_pullback(args…, value, dout)` like the arithmetic in
//! [`ops`](crate::ops).
//!
//! The sums here (`sum`, `dot`, the normaliser) start from `−0.0`, the additive identity, as
//! `Iterator::sum` does for floats: `sum([−0.0])` is `−0.0`, and so is the sum of no entries.

use crate::Real;
use crate::arrays::from_index;

/// What the softmax family's pullbacks need from the forward computation, so that the adjoint
/// does not compute the softmax again: `y = softmax(x, t)`, the maximum and `Σ e^(z_i)` of the
/// shifted logits `z_i = (x_i − max)/t`, and `x`, `t` themselves.
///
/// The logits are kept in `x: X`, `[T; N]` by default. The `_first` forms of softmax, logsumexp
/// and soft argmax (the temperature constant) read no logits: their forwards
/// `NAME_fwd_first` keep none (`X = ()`), half the residual, and every function of these three
/// rules that reads no logits takes either residual.
///
/// ```
/// let (y, r) = relax_core::softmax_fwd([0.0_f64, 0.0], 1.0);
/// assert_eq!(y, [0.5, 0.5]);
/// assert_eq!(relax_core::softmax_bwd(&r, [1.0, 0.0]), ([0.25, -0.25], 0.0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SoftmaxResidual<T, const N: usize, X = [T; N]> {
    /// `softmax(x, t)`.
    pub y: [T; N],
    /// `Σ e^(z_i)`.
    pub sum: T,
    /// The maximum of `x`.
    pub max: T,
    /// The logits (`()` in the residual of `NAME_fwd_first`).
    pub x: X,
    /// The temperature.
    pub t: T,
}

impl<T: Real, const N: usize> SoftmaxResidual<T, N> {
    /// The shifted logit `z_i = (x_i − max)/t`, bit for bit the exponent of `y_i`'s numerator.
    ///
    /// Computed again rather than kept: only the temperature's cotangents and tangents and
    /// `log_softmax` read the shifted logits, and keeping them cost every rule of the family a
    /// pass over memory.
    ///
    /// ```
    /// let (_, r) = relax_core::softmax_fwd([1.0_f64, 3.0], 0.5);
    /// assert_eq!((r.shifted_logit(0), r.shifted_logit(1)), (-4.0, 0.0));
    /// ```
    #[inline]
    pub fn shifted_logit(&self, i: usize) -> T {
        shift(self.x[i], self.max, self.t)
    }
}

// Arrays are built by index loops (see `crate::arrays`), not by `map` and `from_fn`.

/// `(x − max)/t`.
#[inline(always)]
fn shift<T: Real>(x: T, max: T, t: T) -> T {
    (x - max) / t
}

/// The maximum of `x`.
#[inline]
fn maximum<T: Real, const N: usize>(x: &[T; N], t: T) -> T {
    debug_assert!(t > T::zero(), "relax: the temperature must be positive");
    // `v > m` rather than `max`: the same maximum, NaN entries skipped (only a zero maximum's sign
    // may differ, and `e^(±0)` is 1), in one `maxsd` per entry where `max`'s NaN handling takes
    // five more instructions.
    x.iter().fold(T::neg_infinity(), |m, &v| if v > m { v } else { m })
}

/// The max-shifted softmax and what its pullbacks need.
#[inline]
fn forward<T: Real, const N: usize>(x: [T; N], t: T) -> SoftmaxResidual<T, N> {
    let (max, (y, sum)) = normalized_exp(&x, t);
    SoftmaxResidual { y, sum, max, x, t }
}

/// [`forward`] without the logits, for the `_first` forms that read none.
#[inline]
fn forward_first<T: Real, const N: usize>(x: &[T; N], t: T) -> SoftmaxResidual<T, N, ()> {
    let (max, (y, sum)) = normalized_exp(x, t);
    SoftmaxResidual { y, sum, max, x: (), t }
}

/// The maximum, `e^(z_i) / Σ_j e^(z_j)` and the sum, for the shifted logits `z_i = (x_i − max)/t`
/// (not kept: each becomes its exponential in place).
#[inline(always)]
fn normalized_exp<T: Real, const N: usize>(x: &[T; N], t: T) -> (T, ([T; N], T)) {
    let max = maximum(x, t);
    // Shifted in one loop (which vectorises), exponentiated in another: one loop around the `exp`
    // calls would keep `max` and `t` on the stack across each call. One array throughout: each
    // further array is one more pass over memory to zero it or to move it.
    let mut y = [T::zero(); N];
    for (v, &logit) in y.iter_mut().zip(x) {
        *v = shift(logit, max, t);
    }
    for v in &mut y {
        *v = v.exp();
    }
    let sum = sum_of(&y);
    // One division and N products rather than N divisions (the readout's 512 logits: 1.01–1.06
    // → 0.95–1.00 of the hand-written gradient's time), one rounding from `e_i/sum`; `sum ≥ 1`
    // (the largest term is `e⁰`), so its reciprocal never overflows nor goes subnormal.
    let inv = T::one() / sum;
    for v in &mut y {
        *v *= inv;
    }
    (max, (y, sum))
}

/// The softmax alone, bit for bit [`forward`]'s `y`, without building the residual (its copy of
/// the logits).
#[inline]
pub(crate) fn softmax_values<T: Real, const N: usize>(x: [T; N], t: T) -> [T; N] {
    normalized_exp(&x, t).1.0
}

/// `Σ g_i z_i` over the entries with `g_i ≠ 0`, the shifted logits `z_i = (x_i − max)/t` computed
/// on the way: where `y_i` underflowed to 0, `z_i` may be −∞.
#[inline]
fn weighted_z<T: Real, const N: usize>(g: &[T; N], x: &[T; N], max: T, t: T) -> T {
    // A select rather than a filter, so the loop vectorises.
    g.iter().zip(x).fold(-T::zero(), |a, (&g, &x)| a + if g == T::zero() { T::zero() } else { g * shift(x, max, t) })
}

/// `y_i·(dx_i − z_i·dt)`, 0 where `y_i = 0` (there `z_i` may be −∞): `t·y_i` times the tangent of
/// `z_i` along `(dx, dt)`, up to the tangent of the shift, which every rule here cancels.
#[inline]
fn weighted_tangent<T: Real, const N: usize>(r: &SoftmaxResidual<T, N>, dx: &[T; N], dt: T) -> [T; N] {
    let mut w = *dx;
    for (i, v) in w.iter_mut().enumerate() {
        *v = if r.y[i] == T::zero() { T::zero() } else { r.y[i] * (*v - r.shifted_logit(i) * dt) };
    }
    w
}

/// [`softmax_tangent`] with `t` constant: `w_i = y_i·dx_i`, no shifted logits read.
#[inline]
fn softmax_tangent_first<T: Real, const N: usize, X>(r: &SoftmaxResidual<T, N, X>, dx: &[T; N]) -> [T; N] {
    let mut w = *dx;
    for (v, &y) in w.iter_mut().zip(&r.y) {
        *v *= y;
    }
    let total = sum(w);
    let inv_t = r.t.recip();
    for (v, &y) in w.iter_mut().zip(&r.y) {
        *v = (*v - y * total) * inv_t;
    }
    w
}

/// The tangent of [`softmax`] along `(dx, dt)`: with `w = weighted_tangent`,
/// `dy_i = (w_i − y_i Σ w) / t`, the same centring as [`softmax_bwd`] (so that a one-hot `y` at a
/// tiny `t` has the tangent 0, not ∞ − ∞).
#[inline]
fn softmax_tangent<T: Real, const N: usize>(r: &SoftmaxResidual<T, N>, dx: &[T; N], dt: T) -> [T; N] {
    let mut w = weighted_tangent(r, dx, dt);
    let total = sum(w);
    let inv_t = r.t.recip();
    for (v, &y) in w.iter_mut().zip(&r.y) {
        *v = (*v - y * total) * inv_t;
    }
    w
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
    softmax_values(x, t)
}

/// [`softmax`] and its residual.
#[inline]
pub fn softmax_fwd<T: Real, const N: usize>(x: [T; N], t: T) -> ([T; N], SoftmaxResidual<T, N>) {
    let r = forward(x, t);
    (softmax_from(&r), r)
}

/// [`softmax_fwd`] for [`softmax_bwd_first`] alone: the residual keeps no logits.
///
/// ```
/// let (y, r) = relax_core::softmax_fwd_first([0.0_f64, 0.0], 1.0);
/// assert_eq!(y, [0.5, 0.5]);
/// assert_eq!(relax_core::softmax_bwd_first(&r, [1.0, 0.0]), [0.25, -0.25]);
/// ```
#[inline]
pub fn softmax_fwd_first<T: Real, const N: usize>(x: [T; N], t: T) -> ([T; N], SoftmaxResidual<T, N, ()>) {
    let r = forward_first(&x, t);
    (softmax_from(&r), r)
}

/// [`softmax`] from a residual of the same `x` and `t`.
#[inline]
pub fn softmax_from<T: Real, const N: usize, X>(r: &SoftmaxResidual<T, N, X>) -> [T; N] {
    r.y
}

/// The cotangents of [`softmax`] from its residual: `g_i = y_i(dout_i − y·dout)`, `dx = g/t`,
/// `dt = −Σ g_i z_i / t` (terms with `y_i = 0` contribute 0).
#[inline]
pub fn softmax_bwd<T: Real, const N: usize>(r: &SoftmaxResidual<T, N>, dout: [T; N]) -> ([T; N], T) {
    softmax_cotangents(&r.y, (&r.x, r.max), r.t, dout.iter().copied())
}

/// [`softmax_bwd`] with `t` constant (its cotangent unused): `dx` alone, without the pass over
/// the shifted logits that the temperature's cotangent takes.
///
/// ```
/// let (_, r) = relax_core::softmax_fwd([0.0_f64, 0.0], 1.0);
/// assert_eq!(relax_core::softmax_bwd_first(&r, [1.0, 0.0]), [0.25, -0.25]);
/// ```
#[inline]
pub fn softmax_bwd_first<T: Real, const N: usize, X>(r: &SoftmaxResidual<T, N, X>, dout: [T; N]) -> [T; N] {
    softmax_cotangent_first(&r.y, r.t, dout.iter().copied())
}

/// [`softmax_bwd_first`] added to `acc` as it is computed: bit for bit
/// `Tangent::add_tangent(acc, softmax_bwd_first(r, dout))`, without building the array.
///
/// ```
/// let (_, r) = relax_core::softmax_fwd([0.0_f64, 0.0], 1.0);
/// let mut acc = [1.0, 1.0];
/// relax_core::softmax_bwd_first_add(&r, [1.0, 0.0], &mut acc);
/// assert_eq!(acc, [1.25, 0.75]);
/// ```
#[inline]
pub fn softmax_bwd_first_add<T: Real, const N: usize, X>(r: &SoftmaxResidual<T, N, X>, dout: [T; N], acc: &mut [T; N]) {
    softmax_cotangent_first_into(&r.y, r.t, dout.iter().copied(), |_| -T::zero(), acc, Put::Add);
}

/// How a `NAME_bwd_first` form puts each entry of its cotangent where it goes: `NAME_bwd_first`
/// writes a fresh array, `NAME_bwd_first_add` adds to an adjoint in the same pass.
#[derive(Clone, Copy)]
enum Put {
    Write,
    Add,
}

impl Put {
    #[inline(always)]
    fn put<T: Real>(self, slot: &mut T, g: T) {
        match self {
            Put::Write => *slot = g,
            Put::Add => *slot += g,
        }
    }
}

/// [`softmax_bwd`] from `y`, the logits and their maximum (for the shifted logits), `t`, and
/// `dout`'s entries in order. `dout` is an iterator so that rules whose cotangent is a function of
/// the index or of `x` (soft argmax, soft max) do not build it as an array first.
#[inline(always)]
fn softmax_cotangents<T: Real, const N: usize>(
    y: &[T; N],
    (x, max): (&[T; N], T),
    t: T,
    dout: impl Iterator<Item = T> + Clone,
) -> ([T; N], T) {
    let inner = dot_with(y, dout.clone());
    let mut g = *y;
    for (g, d) in g.iter_mut().zip(dout) {
        *g *= d - inner;
    }
    let inv_t = t.recip();
    let dt = -weighted_z(&g, x, max, t) * inv_t;
    for v in &mut g {
        *v *= inv_t;
    }
    (g, dt)
}

/// [`softmax_cotangents`] without the temperature's: `dx` alone, from `y` alone.
#[inline(always)]
pub(crate) fn softmax_cotangent_first<T: Real, const N: usize>(
    y: &[T; N],
    t: T,
    dout: impl Iterator<Item = T> + Clone,
) -> [T; N] {
    let mut g = *y;
    softmax_cotangent_first_into(y, t, dout, |_| -T::zero(), &mut g, Put::Write);
    g
}

/// [`softmax_cotangent_first`] plus `extra(i)` in each entry (−0.0, the exact identity, for
/// none), put into `out`.
#[inline(always)]
fn softmax_cotangent_first_into<T: Real, const N: usize>(
    y: &[T; N],
    t: T,
    dout: impl Iterator<Item = T> + Clone,
    extra: impl Fn(usize) -> T,
    out: &mut [T; N],
    put: Put,
) {
    let inner = dot_with(y, dout.clone());
    let inv_t = t.recip();
    for (i, ((o, &y), d)) in out.iter_mut().zip(y).zip(dout).enumerate() {
        put.put(o, y * (d - inner) * inv_t + extra(i));
    }
}

/// [`dot`] of `a` with the entries of `b` in order.
#[inline(always)]
fn dot_with<T: Real, const N: usize>(a: &[T; N], b: impl Iterator<Item = T>) -> T {
    a.iter().zip(b).fold(-T::zero(), |s, (&u, v)| s + u * v)
}

/// The cotangents of [`softmax`] from its arguments and its value `y = softmax(x, t)`: those of
/// [`softmax_bwd`], bit for bit, without computing the exponentials again (only the shifted
/// logits `(x_i − max)/t`).
///
/// ```
/// use relax_core::{softmax, softmax_pullback, softmax_vjp};
/// let (x, t, dout) = ([1.0_f64, -2.0, 0.5], 0.7, [0.3, 1.0, -1.0]);
/// let y = softmax(x, t);
/// assert_eq!(softmax_pullback(x, t, y, dout), softmax_vjp(x, t, dout).1);
/// ```
#[inline]
pub fn softmax_pullback<T: Real, const N: usize>(x: [T; N], t: T, y: [T; N], dout: [T; N]) -> ([T; N], T) {
    softmax_cotangents(&y, (&x, maximum(&x, t)), t, dout.iter().copied())
}

/// Pullback of [`softmax`]: `(y, (dx, dt))`, see [`softmax_bwd`].
///
/// ```
/// let (y, (dx, dt)) = relax_core::softmax_vjp([0.0_f64, 0.0], 1.0, [1.0, 0.0]);
/// assert_eq!(y, [0.5, 0.5]);
/// assert_eq!(dx, [0.25, -0.25]);
/// assert_eq!(dt, 0.0);
/// ```
#[inline]
pub fn softmax_vjp<T: Real, const N: usize>(x: [T; N], t: T, dout: [T; N]) -> ([T; N], ([T; N], T)) {
    let (y, r) = softmax_fwd(x, t);
    (y, softmax_bwd(&r, dout))
}

/// Pushforward of [`softmax`]: `(y, dy)` with `dy_i = y_i(u_i − Σ_j y_j u_j)` for
/// `u_i = dx_i/t − x_i·dt/t²`, the tangent of `x_i/t`.
///
/// ```
/// let (y, dy) = relax_core::softmax_jvp([0.0_f64, 0.0], 1.0, ([1.0, 0.0], 0.0));
/// assert_eq!((y, dy), ([0.5, 0.5], [0.25, -0.25]));
/// let (_, dy) = relax_core::softmax_jvp([0.0_f64, 0.0], 1.0, ([1.0, 1.0], 0.0));
/// assert_eq!(dy, [0.0, 0.0]); // shifting every logit changes nothing
/// ```
#[inline]
pub fn softmax_jvp<T: Real, const N: usize>(x: [T; N], t: T, (dx, dt): ([T; N], T)) -> ([T; N], [T; N]) {
    let (y, r) = softmax_fwd(x, t);
    (y, softmax_jvp_from(&r, (dx, dt)))
}

/// The tangent of [`softmax_jvp`] from a residual of the same `x` and `t`: a function that takes
/// several rules of the family on the same logits computes the softmax once for all their
/// tangents (`NAME_fwd`, then `NAME_from` and `NAME_jvp_from` of each).
///
/// ```
/// let (_, r) = relax_core::softmax_fwd([0.0_f64, 0.0], 1.0);
/// assert_eq!(relax_core::softmax_jvp_from(&r, ([1.0, 0.0], 0.0)), [0.25, -0.25]);
/// ```
#[inline]
pub fn softmax_jvp_from<T: Real, const N: usize>(r: &SoftmaxResidual<T, N>, (dx, dt): ([T; N], T)) -> [T; N] {
    softmax_tangent(r, &dx, dt)
}

/// [`softmax_jvp`] with `t` constant (its tangent zero, as it is for a literal):
/// `dy_i = y_i(dx_i − Σ_j y_j dx_j)/t`, without the terms in `dt`.
///
/// ```
/// let (y, dy) = relax_core::softmax_jvp_first([0.0_f64, 0.0], 1.0, [1.0, 0.0]);
/// assert_eq!((y, dy), ([0.5, 0.5], [0.25, -0.25]));
/// ```
#[inline]
pub fn softmax_jvp_first<T: Real, const N: usize>(x: [T; N], t: T, dx: [T; N]) -> ([T; N], [T; N]) {
    let (y, r) = softmax_fwd_first(x, t);
    (y, softmax_jvp_first_from(&r, dx))
}

/// The tangent of [`softmax_jvp_first`] from a residual of the same `x` and `t`, either kind.
///
/// ```
/// let (_, r) = relax_core::softmax_fwd_first([0.0_f64, 0.0], 1.0);
/// assert_eq!(relax_core::softmax_jvp_first_from(&r, [1.0, 0.0]), [0.25, -0.25]);
/// ```
#[inline]
pub fn softmax_jvp_first_from<T: Real, const N: usize, X>(r: &SoftmaxResidual<T, N, X>, dx: [T; N]) -> [T; N] {
    softmax_tangent_first(r, &dx)
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
    log_softmax_fwd(x, t).0
}

/// [`log_softmax`] and its residual.
#[inline]
pub fn log_softmax_fwd<T: Real, const N: usize>(x: [T; N], t: T) -> ([T; N], SoftmaxResidual<T, N>) {
    let r = forward(x, t);
    (log_softmax_from(&r), r)
}

/// [`log_softmax`] from a residual of the same `x` and `t`.
#[inline]
pub fn log_softmax_from<T: Real, const N: usize>(r: &SoftmaxResidual<T, N>) -> [T; N] {
    let ls = r.sum.ln();
    from_index(|i| r.shifted_logit(i) - ls)
}

/// The cotangents of [`log_softmax`]: `dz_i = dout_i − y_i Σ dout`, `dx = dz/t`,
/// `dt = −Σ dz_i z_i / t`.
#[inline]
pub fn log_softmax_bwd<T: Real, const N: usize>(r: &SoftmaxResidual<T, N>, dout: [T; N]) -> ([T; N], T) {
    let total = sum(dout);
    let mut dz = dout;
    for (v, &y) in dz.iter_mut().zip(&r.y) {
        *v -= y * total;
    }
    let inv_t = r.t.recip();
    let dt = -weighted_z(&dz, &r.x, r.max, r.t) * inv_t;
    for v in &mut dz {
        *v *= inv_t;
    }
    (dz, dt)
}

/// [`log_softmax_bwd`] with `t` constant: `dx` alone.
///
/// ```
/// let (_, r) = relax_core::log_softmax_fwd([0.0_f64, 0.0], 1.0);
/// assert_eq!(relax_core::log_softmax_bwd_first(&r, [1.0, 0.0]), [0.5, -0.5]);
/// ```
#[inline]
pub fn log_softmax_bwd_first<T: Real, const N: usize>(r: &SoftmaxResidual<T, N>, dout: [T; N]) -> [T; N] {
    let mut dz = dout;
    log_softmax_cotangent_first_into(r, &dout, &mut dz, Put::Write);
    dz
}

/// [`log_softmax_bwd_first`] added to `acc` as it is computed: bit for bit
/// `Tangent::add_tangent(acc, log_softmax_bwd_first(r, dout))`, without building the array.
///
/// ```
/// let (_, r) = relax_core::log_softmax_fwd([0.0_f64, 0.0], 1.0);
/// let mut acc = [1.0, 1.0];
/// relax_core::log_softmax_bwd_first_add(&r, [1.0, 0.0], &mut acc);
/// assert_eq!(acc, [1.5, 0.5]);
/// ```
#[inline]
pub fn log_softmax_bwd_first_add<T: Real, const N: usize>(r: &SoftmaxResidual<T, N>, dout: [T; N], acc: &mut [T; N]) {
    log_softmax_cotangent_first_into(r, &dout, acc, Put::Add);
}

/// `(dout_i − y_i Σ dout)/t`, put into `out`.
#[inline(always)]
fn log_softmax_cotangent_first_into<T: Real, const N: usize>(
    r: &SoftmaxResidual<T, N>,
    dout: &[T; N],
    out: &mut [T; N],
    put: Put,
) {
    let total = sum(*dout);
    let inv_t = r.t.recip();
    for ((o, &d), &y) in out.iter_mut().zip(dout).zip(&r.y) {
        put.put(o, (d - y * total) * inv_t);
    }
}

/// Pullback of [`log_softmax`], see [`log_softmax_bwd`].
///
/// ```
/// let (_, (dx, _)) = relax_core::log_softmax_vjp([0.0_f64, 0.0], 1.0, [1.0, 0.0]);
/// assert_eq!(dx, [0.5, -0.5]);
/// ```
#[inline]
pub fn log_softmax_vjp<T: Real, const N: usize>(x: [T; N], t: T, dout: [T; N]) -> ([T; N], ([T; N], T)) {
    let (v, r) = log_softmax_fwd(x, t);
    (v, log_softmax_bwd(&r, dout))
}

/// Pushforward of [`log_softmax`]: `dl_i = u_i − Σ_j y_j u_j` with `u_i = dx_i/t − x_i·dt/t²`
/// and `y = softmax(x, t)`.
///
/// ```
/// let (_, dl) = relax_core::log_softmax_jvp([0.0_f64, 0.0], 1.0, ([1.0, 0.0], 0.0));
/// assert_eq!(dl, [0.5, -0.5]);
/// ```
#[inline]
pub fn log_softmax_jvp<T: Real, const N: usize>(x: [T; N], t: T, (dx, dt): ([T; N], T)) -> ([T; N], [T; N]) {
    let (v, r) = log_softmax_fwd(x, t);
    (v, log_softmax_jvp_from(&r, (dx, dt)))
}

/// The tangent of [`log_softmax_jvp`] from a residual of the same `x` and `t`.
///
/// ```
/// let (_, r) = relax_core::log_softmax_fwd([0.0_f64, 0.0], 1.0);
/// assert_eq!(relax_core::log_softmax_jvp_from(&r, ([1.0, 0.0], 0.0)), [0.5, -0.5]);
/// ```
#[inline]
pub fn log_softmax_jvp_from<T: Real, const N: usize>(r: &SoftmaxResidual<T, N>, (dx, dt): ([T; N], T)) -> [T; N] {
    let centre = sum(weighted_tangent(r, &dx, dt));
    let inv_t = r.t.recip();
    let mut dl = dx;
    for (i, d) in dl.iter_mut().enumerate() {
        *d = (*d - r.shifted_logit(i) * dt - centre) * inv_t;
    }
    dl
}

/// [`log_softmax_jvp`] with `t` constant: `dl_i = (dx_i − Σ_j y_j dx_j)/t`.
///
/// ```
/// let (_, dl) = relax_core::log_softmax_jvp_first([0.0_f64, 0.0], 1.0, [1.0, 0.0]);
/// assert_eq!(dl, [0.5, -0.5]);
/// ```
#[inline]
pub fn log_softmax_jvp_first<T: Real, const N: usize>(x: [T; N], t: T, dx: [T; N]) -> ([T; N], [T; N]) {
    let (v, r) = log_softmax_fwd(x, t);
    (v, log_softmax_jvp_first_from(&r, dx))
}

/// The tangent of [`log_softmax_jvp_first`] from a residual of the same `x` and `t`, either kind.
///
/// ```
/// let (_, r) = relax_core::softmax_fwd_first([0.0_f64, 0.0], 1.0);
/// assert_eq!(relax_core::log_softmax_jvp_first_from(&r, [1.0, 0.0]), [0.5, -0.5]);
/// ```
#[inline]
pub fn log_softmax_jvp_first_from<T: Real, const N: usize, X>(r: &SoftmaxResidual<T, N, X>, dx: [T; N]) -> [T; N] {
    let centre = dot(r.y, dx);
    let inv_t = r.t.recip();
    let mut dl = dx;
    for d in &mut dl {
        *d = (*d - centre) * inv_t;
    }
    dl
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
    logsumexp_fwd(x, t).0
}

/// [`logsumexp`] and its residual.
#[inline]
pub fn logsumexp_fwd<T: Real, const N: usize>(x: [T; N], t: T) -> (T, SoftmaxResidual<T, N>) {
    let r = forward(x, t);
    (logsumexp_from(&r), r)
}

/// [`logsumexp_fwd`] for [`logsumexp_bwd_first`] alone: the residual keeps no logits.
///
/// ```
/// let (v, r) = relax_core::logsumexp_fwd_first([3.0_f64, 3.0], 0.5);
/// assert_eq!(v, relax_core::logsumexp([3.0, 3.0], 0.5));
/// assert_eq!(relax_core::logsumexp_bwd_first(&r, 2.0), [1.0, 1.0]);
/// ```
#[inline]
pub fn logsumexp_fwd_first<T: Real, const N: usize>(x: [T; N], t: T) -> (T, SoftmaxResidual<T, N, ()>) {
    let r = forward_first(&x, t);
    (logsumexp_from(&r), r)
}

/// [`logsumexp`] from a residual of the same `x` and `t`.
#[inline]
pub fn logsumexp_from<T: Real, const N: usize, X>(r: &SoftmaxResidual<T, N, X>) -> T {
    r.max + r.t * r.sum.ln()
}

/// The cotangents of [`logsumexp`]: `(dout·y, dout·(ln Σ e^(z_i) − Σ y_i z_i))`.
#[inline]
pub fn logsumexp_bwd<T: Real, const N: usize>(r: &SoftmaxResidual<T, N>, dout: T) -> ([T; N], T) {
    let mut dx = r.y;
    for v in &mut dx {
        *v = dout * *v;
    }
    (dx, dout * (r.sum.ln() - weighted_z(&r.y, &r.x, r.max, r.t)))
}

/// [`logsumexp_bwd`] with `t` constant: `dx = dout·softmax(x, t)` alone.
///
/// ```
/// let (_, r) = relax_core::logsumexp_fwd([3.0_f64, 3.0], 0.5);
/// assert_eq!(relax_core::logsumexp_bwd_first(&r, 2.0), [1.0, 1.0]);
/// ```
#[inline]
pub fn logsumexp_bwd_first<T: Real, const N: usize, X>(r: &SoftmaxResidual<T, N, X>, dout: T) -> [T; N] {
    let mut dx = r.y;
    logsumexp_cotangent_first_into(r, dout, &mut dx, Put::Write);
    dx
}

/// [`logsumexp_bwd_first`] added to `acc` as it is computed: bit for bit
/// `Tangent::add_tangent(acc, logsumexp_bwd_first(r, dout))`, without building the array.
///
/// ```
/// let (_, r) = relax_core::logsumexp_fwd([3.0_f64, 3.0], 0.5);
/// let mut acc = [1.0, -1.0];
/// relax_core::logsumexp_bwd_first_add(&r, 2.0, &mut acc);
/// assert_eq!(acc, [2.0, 0.0]);
/// ```
#[inline]
pub fn logsumexp_bwd_first_add<T: Real, const N: usize, X>(r: &SoftmaxResidual<T, N, X>, dout: T, acc: &mut [T; N]) {
    logsumexp_cotangent_first_into(r, dout, acc, Put::Add);
}

/// `dout·y_i`, put into `out`.
#[inline(always)]
fn logsumexp_cotangent_first_into<T: Real, const N: usize, X>(
    r: &SoftmaxResidual<T, N, X>,
    dout: T,
    out: &mut [T; N],
    put: Put,
) {
    for (o, &y) in out.iter_mut().zip(&r.y) {
        put.put(o, dout * y);
    }
}

/// Pullback of [`logsumexp`], see [`logsumexp_bwd`].
///
/// ```
/// let (_, (dx, _)) = relax_core::logsumexp_vjp([3.0_f64, 3.0], 0.5, 2.0);
/// assert_eq!(dx, [1.0, 1.0]);
/// ```
#[inline]
pub fn logsumexp_vjp<T: Real, const N: usize>(x: [T; N], t: T, dout: T) -> (T, ([T; N], T)) {
    let (v, r) = logsumexp_fwd(x, t);
    (v, logsumexp_bwd(&r, dout))
}

/// Pushforward of [`logsumexp`]: `y·dx + (ln Σ e^(z_i) − Σ y_i z_i)·dt` with `y = softmax(x, t)`.
///
/// ```
/// let (_, d) = relax_core::logsumexp_jvp([3.0_f64, 3.0], 0.5, ([1.0, 3.0], 0.0));
/// assert_eq!(d, 2.0);
/// ```
#[inline]
pub fn logsumexp_jvp<T: Real, const N: usize>(x: [T; N], t: T, (dx, dt): ([T; N], T)) -> (T, T) {
    let (v, r) = logsumexp_fwd(x, t);
    (v, logsumexp_jvp_from(&r, (dx, dt)))
}

/// The tangent of [`logsumexp_jvp`] from a residual of the same `x` and `t`.
///
/// ```
/// let (_, r) = relax_core::logsumexp_fwd([3.0_f64, 3.0], 0.5);
/// assert_eq!(relax_core::logsumexp_jvp_from(&r, ([1.0, 3.0], 0.0)), 2.0);
/// ```
#[inline]
pub fn logsumexp_jvp_from<T: Real, const N: usize>(r: &SoftmaxResidual<T, N>, (dx, dt): ([T; N], T)) -> T {
    dot(r.y, dx) + (r.sum.ln() - weighted_z(&r.y, &r.x, r.max, r.t)) * dt
}

/// [`logsumexp_jvp`] with `t` constant: `y·dx`.
///
/// ```
/// let (_, d) = relax_core::logsumexp_jvp_first([3.0_f64, 3.0], 0.5, [1.0, 3.0]);
/// assert_eq!(d, 2.0);
/// ```
#[inline]
pub fn logsumexp_jvp_first<T: Real, const N: usize>(x: [T; N], t: T, dx: [T; N]) -> (T, T) {
    let (v, r) = logsumexp_fwd_first(x, t);
    (v, logsumexp_jvp_first_from(&r, dx))
}

/// The tangent of [`logsumexp_jvp_first`] from a residual of the same `x` and `t`, either kind.
///
/// ```
/// let (_, r) = relax_core::logsumexp_fwd_first([3.0_f64, 3.0], 0.5);
/// assert_eq!(relax_core::logsumexp_jvp_first_from(&r, [1.0, 3.0]), 2.0);
/// ```
#[inline]
pub fn logsumexp_jvp_first_from<T: Real, const N: usize, X>(r: &SoftmaxResidual<T, N, X>, dx: [T; N]) -> T {
    dot(r.y, dx)
}

/// `0, 1, 2, …` without end. The index is counted in `T` (exact below 2²⁴ for `f32`, 2⁵³ for
/// `f64`, so equal to `i as T`), which is cheaper than converting every `usize`.
#[inline]
fn indices<T: Real>() -> impl Iterator<Item = T> + Clone {
    core::iter::successors(Some(T::zero()), |&i| Some(i + T::one()))
}

/// `v · [0, 1, …, N − 1]`, as [`dot`] computes it.
#[inline]
fn dot_indices<T: Real, const N: usize>(v: &[T; N]) -> T {
    dot_with(v, indices())
}

/// Soft argmax: `softmax(x, t) · [0, 1, …, N − 1]`, a float that tends to `argmax(x)` as `t → 0`.
///
/// Derivative: that of the dot product through [`softmax_bwd`].
///
/// ```
/// let v = relax_core::soft_argmax([1.1_f64, 4.0, -0.1, 2.3], 1.0);
/// assert!((v - 1.2606).abs() < 5e-5);
/// ```
#[inline]
pub fn soft_argmax<T: Real, const N: usize>(x: [T; N], t: T) -> T {
    soft_argmax_fwd(x, t).0
}

/// [`soft_argmax`] and its residual.
#[inline]
pub fn soft_argmax_fwd<T: Real, const N: usize>(x: [T; N], t: T) -> (T, SoftmaxResidual<T, N>) {
    let r = forward(x, t);
    (soft_argmax_from(&r), r)
}

/// [`soft_argmax_fwd`] for [`soft_argmax_bwd_first`] alone: the residual keeps no logits.
///
/// ```
/// let (v, r) = relax_core::soft_argmax_fwd_first([0.0_f64, 0.0], 1.0);
/// assert_eq!(v, 0.5);
/// assert_eq!(relax_core::soft_argmax_bwd_first(&r, 1.0), [-0.25, 0.25]);
/// ```
#[inline]
pub fn soft_argmax_fwd_first<T: Real, const N: usize>(x: [T; N], t: T) -> (T, SoftmaxResidual<T, N, ()>) {
    let r = forward_first(&x, t);
    (soft_argmax_from(&r), r)
}

/// [`soft_argmax`] from a residual of the same `x` and `t`.
#[inline]
pub fn soft_argmax_from<T: Real, const N: usize, X>(r: &SoftmaxResidual<T, N, X>) -> T {
    dot_indices(&r.y)
}

/// The cotangents of [`soft_argmax`]: `softmax_bwd(r, dout·[0, 1, …])`.
#[inline]
pub fn soft_argmax_bwd<T: Real, const N: usize>(r: &SoftmaxResidual<T, N>, dout: T) -> ([T; N], T) {
    softmax_cotangents(&r.y, (&r.x, r.max), r.t, indices().map(move |i| dout * i))
}

/// [`soft_argmax_bwd`] with `t` constant: `dx` alone.
///
/// ```
/// let (_, r) = relax_core::soft_argmax_fwd([0.0_f64, 0.0], 1.0);
/// assert_eq!(relax_core::soft_argmax_bwd_first(&r, 1.0), [-0.25, 0.25]);
/// ```
#[inline]
pub fn soft_argmax_bwd_first<T: Real, const N: usize, X>(r: &SoftmaxResidual<T, N, X>, dout: T) -> [T; N] {
    softmax_cotangent_first(&r.y, r.t, indices().map(move |i| dout * i))
}

/// [`soft_argmax_bwd_first`] added to `acc` as it is computed: bit for bit
/// `Tangent::add_tangent(acc, soft_argmax_bwd_first(r, dout))`, without building the array.
///
/// ```
/// let (_, r) = relax_core::soft_argmax_fwd([0.0_f64, 0.0], 1.0);
/// let mut acc = [1.0, 1.0];
/// relax_core::soft_argmax_bwd_first_add(&r, 1.0, &mut acc);
/// assert_eq!(acc, [0.75, 1.25]);
/// ```
#[inline]
pub fn soft_argmax_bwd_first_add<T: Real, const N: usize, X>(r: &SoftmaxResidual<T, N, X>, dout: T, acc: &mut [T; N]) {
    softmax_cotangent_first_into(&r.y, r.t, indices().map(move |i| dout * i), |_| -T::zero(), acc, Put::Add);
}

/// Pullback of [`soft_argmax`], see [`soft_argmax_bwd`].
///
/// ```
/// let (v, (dx, _)) = relax_core::soft_argmax_vjp([0.0_f64, 0.0], 1.0, 1.0);
/// assert_eq!((v, dx), (0.5, [-0.25, 0.25]));
/// ```
#[inline]
pub fn soft_argmax_vjp<T: Real, const N: usize>(x: [T; N], t: T, dout: T) -> (T, ([T; N], T)) {
    let (v, r) = soft_argmax_fwd(x, t);
    (v, soft_argmax_bwd(&r, dout))
}

/// Pushforward of [`soft_argmax`]: `[0, 1, …, N − 1] · dy` for `dy` the tangent of
/// `softmax(x, t)` (see [`softmax_jvp`]).
///
/// ```
/// let (v, d) = relax_core::soft_argmax_jvp([0.0_f64, 0.0], 1.0, ([0.0, 1.0], 0.0));
/// assert_eq!((v, d), (0.5, 0.25));
/// ```
#[inline]
pub fn soft_argmax_jvp<T: Real, const N: usize>(x: [T; N], t: T, (dx, dt): ([T; N], T)) -> (T, T) {
    let (v, r) = soft_argmax_fwd(x, t);
    (v, soft_argmax_jvp_from(&r, (dx, dt)))
}

/// The tangent of [`soft_argmax_jvp`] from a residual of the same `x` and `t`.
///
/// ```
/// let (_, r) = relax_core::soft_argmax_fwd([0.0_f64, 0.0], 1.0);
/// assert_eq!(relax_core::soft_argmax_jvp_from(&r, ([0.0, 1.0], 0.0)), 0.25);
/// ```
#[inline]
pub fn soft_argmax_jvp_from<T: Real, const N: usize>(r: &SoftmaxResidual<T, N>, (dx, dt): ([T; N], T)) -> T {
    dot_indices(&softmax_tangent(r, &dx, dt))
}

/// [`soft_argmax_jvp`] with `t` constant.
///
/// ```
/// let (v, d) = relax_core::soft_argmax_jvp_first([0.0_f64, 0.0], 1.0, [0.0, 1.0]);
/// assert_eq!((v, d), (0.5, 0.25));
/// ```
#[inline]
pub fn soft_argmax_jvp_first<T: Real, const N: usize>(x: [T; N], t: T, dx: [T; N]) -> (T, T) {
    let (v, r) = soft_argmax_fwd_first(x, t);
    (v, soft_argmax_jvp_first_from(&r, dx))
}

/// The tangent of [`soft_argmax_jvp_first`] from a residual of the same `x` and `t`, either kind.
///
/// ```
/// let (_, r) = relax_core::soft_argmax_fwd_first([0.0_f64, 0.0], 1.0);
/// assert_eq!(relax_core::soft_argmax_jvp_first_from(&r, [0.0, 1.0]), 0.25);
/// ```
#[inline]
pub fn soft_argmax_jvp_first_from<T: Real, const N: usize, X>(r: &SoftmaxResidual<T, N, X>, dx: [T; N]) -> T {
    dot_indices(&softmax_tangent_first(r, &dx))
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
    soft_max_fwd(x, t).0
}

/// [`soft_max`] and its residual.
#[inline]
pub fn soft_max_fwd<T: Real, const N: usize>(x: [T; N], t: T) -> (T, SoftmaxResidual<T, N>) {
    let r = forward(x, t);
    (soft_max_from(&r), r)
}

/// [`soft_max`] from a residual of the same `x` and `t`.
#[inline]
pub fn soft_max_from<T: Real, const N: usize>(r: &SoftmaxResidual<T, N>) -> T {
    dot_of(&r.y, &r.x)
}

/// The cotangents of [`soft_max`]: `softmax_bwd(r, dout·x)` plus `dout·y` for `x`.
#[inline]
pub fn soft_max_bwd<T: Real, const N: usize>(r: &SoftmaxResidual<T, N>, dout: T) -> ([T; N], T) {
    let (mut dx, dt) = softmax_cotangents(&r.y, (&r.x, r.max), r.t, r.x.iter().map(|&x| dout * x));
    for (v, &y) in dx.iter_mut().zip(&r.y) {
        *v += dout * y;
    }
    (dx, dt)
}

/// [`soft_max_bwd`] with `t` constant: `dx` alone.
///
/// ```
/// let (_, r) = relax_core::soft_max_fwd([1.0_f64, 1.0], 1.0);
/// assert_eq!(relax_core::soft_max_bwd_first(&r, 2.0), [1.0, 1.0]);
/// ```
#[inline]
pub fn soft_max_bwd_first<T: Real, const N: usize>(r: &SoftmaxResidual<T, N>, dout: T) -> [T; N] {
    let mut dx = r.y;
    soft_max_cotangent_first_into(r, dout, &mut dx, Put::Write);
    dx
}

/// [`soft_max_bwd_first`] added to `acc` as it is computed: bit for bit
/// `Tangent::add_tangent(acc, soft_max_bwd_first(r, dout))`, without building the array.
///
/// ```
/// let (_, r) = relax_core::soft_max_fwd([1.0_f64, 1.0], 1.0);
/// let mut acc = [1.0, -1.0];
/// relax_core::soft_max_bwd_first_add(&r, 2.0, &mut acc);
/// assert_eq!(acc, [2.0, 0.0]);
/// ```
#[inline]
pub fn soft_max_bwd_first_add<T: Real, const N: usize>(r: &SoftmaxResidual<T, N>, dout: T, acc: &mut [T; N]) {
    soft_max_cotangent_first_into(r, dout, acc, Put::Add);
}

/// `softmax_bwd_first(r, dout·x) + dout·y`, put into `out`.
#[inline(always)]
fn soft_max_cotangent_first_into<T: Real, const N: usize>(
    r: &SoftmaxResidual<T, N>,
    dout: T,
    out: &mut [T; N],
    put: Put,
) {
    let x = r.x.iter().map(move |&x| dout * x);
    softmax_cotangent_first_into(&r.y, r.t, x, |i| dout * r.y[i], out, put);
}

/// Pullback of [`soft_max`], see [`soft_max_bwd`].
///
/// ```
/// let (v, (dx, _)) = relax_core::soft_max_vjp([1.0_f64, 1.0], 1.0, 1.0);
/// assert_eq!((v, dx), (1.0, [0.5, 0.5]));
/// ```
#[inline]
pub fn soft_max_vjp<T: Real, const N: usize>(x: [T; N], t: T, dout: T) -> (T, ([T; N], T)) {
    let (v, r) = soft_max_fwd(x, t);
    (v, soft_max_bwd(&r, dout))
}

/// Pushforward of [`soft_max`]: `dy · x + y · dx` for `y = softmax(x, t)` and `dy` its tangent
/// (see [`softmax_jvp`]).
///
/// ```
/// let (v, d) = relax_core::soft_max_jvp([1.0_f64, 1.0], 1.0, ([1.0, 3.0], 0.0));
/// assert_eq!((v, d), (1.0, 2.0));
/// ```
#[inline]
pub fn soft_max_jvp<T: Real, const N: usize>(x: [T; N], t: T, (dx, dt): ([T; N], T)) -> (T, T) {
    let (v, r) = soft_max_fwd(x, t);
    (v, soft_max_jvp_from(&r, (dx, dt)))
}

/// The tangent of [`soft_max_jvp`] from a residual of the same `x` and `t`.
///
/// ```
/// let (_, r) = relax_core::soft_max_fwd([1.0_f64, 1.0], 1.0);
/// assert_eq!(relax_core::soft_max_jvp_from(&r, ([1.0, 3.0], 0.0)), 2.0);
/// ```
#[inline]
pub fn soft_max_jvp_from<T: Real, const N: usize>(r: &SoftmaxResidual<T, N>, (dx, dt): ([T; N], T)) -> T {
    dot(softmax_tangent(r, &dx, dt), r.x) + dot(r.y, dx)
}

/// [`soft_max_jvp`] with `t` constant.
///
/// ```
/// let (v, d) = relax_core::soft_max_jvp_first([1.0_f64, 1.0], 1.0, [1.0, 3.0]);
/// assert_eq!((v, d), (1.0, 2.0));
/// ```
#[inline]
pub fn soft_max_jvp_first<T: Real, const N: usize>(x: [T; N], t: T, dx: [T; N]) -> (T, T) {
    let (v, r) = soft_max_fwd(x, t);
    (v, soft_max_jvp_first_from(&r, dx))
}

/// The tangent of [`soft_max_jvp_first`] from a residual of the same `x` and `t`.
///
/// ```
/// let (_, r) = relax_core::soft_max_fwd([1.0_f64, 1.0], 1.0);
/// assert_eq!(relax_core::soft_max_jvp_first_from(&r, [1.0, 3.0]), 2.0);
/// ```
#[inline]
pub fn soft_max_jvp_first_from<T: Real, const N: usize>(r: &SoftmaxResidual<T, N>, dx: [T; N]) -> T {
    dot(softmax_tangent_first(r, &dx), r.x) + dot(r.y, dx)
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
    // The best value kept beside its index, not loaded again per entry.
    let mut best: Option<(usize, T)> = None;
    for (i, &v) in x.iter().enumerate() {
        if !v.is_nan() && best.is_none_or(|(_, m)| v > m) {
            best = Some((i, v));
        }
    }
    best.map_or(0, |(i, _)| i)
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
    let mut v = [T::zero(); N];
    v[k] = T::one();
    v
}

/// `Σ x_i`, added from `−0.0` in order (so `sum([−0.0])` is `−0.0`). Derivative: 1 for every
/// entry.
///
/// ```
/// assert_eq!(relax_core::sum([1.0_f64, 2.0, 3.0]), 6.0);
/// ```
#[inline]
pub fn sum<T: Real, const N: usize>(x: [T; N]) -> T {
    sum_of(&x)
}

/// [`sum`] of an array the caller keeps, not passed by value.
#[inline(always)]
fn sum_of<T: Real, const N: usize>(x: &[T; N]) -> T {
    x.iter().fold(-T::zero(), |a, &v| a + v)
}

/// The cotangent of [`sum`] from its arguments and value: `[dout; N]`.
///
/// ```
/// assert_eq!(relax_core::sum_pullback([1.0_f64, 2.0], 3.0, 0.5), [0.5, 0.5]);
/// ```
#[inline]
pub fn sum_pullback<T: Real, const N: usize>(x: [T; N], value: T, dout: T) -> [T; N] {
    let _ = (x, value);
    [dout; N]
}

/// Pullback of [`sum`]: `(Σ x_i, [dout; N])`.
///
/// ```
/// assert_eq!(relax_core::sum_vjp([1.0_f64, 2.0], 3.0), (3.0, [3.0, 3.0]));
/// ```
#[inline]
pub fn sum_vjp<T: Real, const N: usize>(x: [T; N], dout: T) -> (T, [T; N]) {
    let value = sum(x);
    (value, sum_pullback(x, value, dout))
}

/// Pushforward of [`sum`]: `(Σ x_i, Σ dx_i)`.
///
/// ```
/// assert_eq!(relax_core::sum_jvp([1.0_f64, 2.0], [3.0, 4.0]), (3.0, 7.0));
/// ```
#[inline]
pub fn sum_jvp<T: Real, const N: usize>(x: [T; N], dx: [T; N]) -> (T, T) {
    (sum(x), sum(dx))
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

/// The cotangent of [`mean`] from its arguments and value: `[dout/N; N]`.
///
/// ```
/// assert_eq!(relax_core::mean_pullback([1.0_f64, 3.0], 2.0, 1.0), [0.5, 0.5]);
/// ```
#[inline]
pub fn mean_pullback<T: Real, const N: usize>(x: [T; N], value: T, dout: T) -> [T; N] {
    let _ = (x, value);
    [dout / T::from_usize(N); N]
}

/// Pullback of [`mean`]: `(mean(x), [dout/N; N])`.
///
/// ```
/// assert_eq!(relax_core::mean_vjp([1.0_f64, 3.0], 1.0), (2.0, [0.5, 0.5]));
/// ```
#[inline]
pub fn mean_vjp<T: Real, const N: usize>(x: [T; N], dout: T) -> (T, [T; N]) {
    let value = mean(x);
    (value, mean_pullback(x, value, dout))
}

/// Pushforward of [`mean`]: `(mean(x), mean(dx))`.
///
/// ```
/// assert_eq!(relax_core::mean_jvp([1.0_f64, 3.0], [1.0, 2.0]), (2.0, 1.5));
/// ```
#[inline]
pub fn mean_jvp<T: Real, const N: usize>(x: [T; N], dx: [T; N]) -> (T, T) {
    (mean(x), mean(dx))
}

/// `a · b = Σ a_i b_i`, added from `−0.0` in order. Derivative: `b` with respect to `a`, `a` with
/// respect to `b`.
///
/// ```
/// assert_eq!(relax_core::dot([1.0_f64, 2.0], [3.0, 4.0]), 11.0);
/// ```
#[inline]
pub fn dot<T: Real, const N: usize>(a: [T; N], b: [T; N]) -> T {
    dot_of(&a, &b)
}

/// [`dot`] of arrays the caller keeps.
#[inline(always)]
fn dot_of<T: Real, const N: usize>(a: &[T; N], b: &[T; N]) -> T {
    a.iter().zip(b).fold(-T::zero(), |s, (&u, &v)| s + u * v)
}

/// The cotangents of [`dot`] from its arguments and value: `(dout·b, dout·a)`.
///
/// ```
/// assert_eq!(relax_core::dot_pullback([1.0_f64], [3.0], 3.0, 2.0), ([6.0], [2.0]));
/// ```
#[inline]
pub fn dot_pullback<T: Real, const N: usize>(a: [T; N], b: [T; N], value: T, dout: T) -> ([T; N], [T; N]) {
    let _ = value;
    let (mut da, mut db) = (b, a);
    for (u, v) in da.iter_mut().zip(&mut db) {
        (*u, *v) = (dout * *u, dout * *v);
    }
    (da, db)
}

/// Pullback of [`dot`]: `(a·b, (dout·b, dout·a))`.
///
/// ```
/// assert_eq!(relax_core::dot_vjp([1.0_f64], [3.0], 2.0), (3.0, ([6.0], [2.0])));
/// ```
#[inline]
pub fn dot_vjp<T: Real, const N: usize>(a: [T; N], b: [T; N], dout: T) -> (T, ([T; N], [T; N])) {
    let value = dot(a, b);
    (value, dot_pullback(a, b, value, dout))
}

/// Pushforward of [`dot`]: `(a·b, da·b + a·db)`.
///
/// ```
/// assert_eq!(relax_core::dot_jvp([1.0_f64, 2.0], [3.0, 4.0], ([1.0, 0.0], [0.0, 1.0])), (11.0, 5.0));
/// ```
#[inline]
pub fn dot_jvp<T: Real, const N: usize>(a: [T; N], b: [T; N], (da, db): ([T; N], [T; N])) -> (T, T) {
    (dot(a, b), dot(da, b) + dot(a, db))
}

/// [`dot_jvp`] with `b` constant: `(a·b, da·b)`.
///
/// ```
/// assert_eq!(relax_core::dot_jvp_first([1.0_f64, 2.0], [3.0, 4.0], [1.0, 0.0]), (11.0, 3.0));
/// ```
#[inline]
pub fn dot_jvp_first<T: Real, const N: usize>(a: [T; N], b: [T; N], da: [T; N]) -> (T, T) {
    (dot(a, b), dot(da, b))
}

/// [`dot_jvp`] with `a` constant: `(a·b, a·db)`.
///
/// ```
/// assert_eq!(relax_core::dot_jvp_second([1.0_f64, 2.0], [3.0, 4.0], [0.0, 1.0]), (11.0, 2.0));
/// ```
#[inline]
pub fn dot_jvp_second<T: Real, const N: usize>(a: [T; N], b: [T; N], db: [T; N]) -> (T, T) {
    (dot(a, b), dot(a, db))
}
