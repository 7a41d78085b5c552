//! Sampling through reparameterisation: Gaussian samples as `mu + sigma·z`, categorical samples by
//! Gumbel-max, relaxed by Gumbel-softmax and its straight-through form.
//!
//! Every rule that draws noise has an explicit-noise form (`normal_reparam`, the `_with` rules)
//! that takes the noise as an argument: that is the form that is differentiated (also with respect
//! to the noise), and the one to use on a target that brings its own entropy. The forms that take
//! `rng: &mut (impl rand::Rng + ?Sized)` (feature `rand`) are exactly the explicit form applied to
//! the noise they draw.
//!
//! The explicit-noise forms have a pullback `NAME_vjp` and a pushforward `NAME_jvp`; the
//! straight-through ones differentiate their soft surrogate in both directions. Each also has
//! `NAME_pullback(args…, value, dout)`, the cotangents alone from the arguments and the value
//! (the straight-through ones never compute the hard value again).

use crate::Real;
use crate::softmax::{
    argmax, one_hot, soft_argmax_jvp, soft_argmax_vjp, softmax, softmax_cotangent_first, softmax_jvp,
    softmax_jvp_first, softmax_pullback, softmax_values, softmax_vjp,
};

/// The reparameterised Gaussian sample `mu + sigma·z`, for `z` a draw of N(0, 1).
///
/// Derivative: 1 with respect to `mu`, `z` with respect to `sigma`, `sigma` with respect to `z`.
///
/// ```
/// assert_eq!(relax_core::normal_reparam(1.0_f64, 2.0, 0.5), 2.0);
/// ```
#[inline(always)]
pub fn normal_reparam<T: Real>(mu: T, sigma: T, z: T) -> T {
    mu + sigma * z
}

/// The cotangents of [`normal_reparam`]: `(dout, dout·z, dout·sigma)`.
///
/// ```
/// assert_eq!(relax_core::normal_reparam_pullback(1.0_f64, 2.0, 0.5, 2.0, 1.0), (1.0, 0.5, 2.0));
/// ```
#[inline(always)]
pub fn normal_reparam_pullback<T: Real>(mu: T, sigma: T, z: T, value: T, dout: T) -> (T, T, T) {
    let _ = (mu, value);
    (dout, dout * z, dout * sigma)
}

/// Pullback of [`normal_reparam`]: `(mu + sigma·z, (dout, dout·z, dout·sigma))`.
///
/// ```
/// assert_eq!(relax_core::normal_reparam_vjp(1.0_f64, 2.0, 0.5, 1.0), (2.0, (1.0, 0.5, 2.0)));
/// ```
#[inline(always)]
pub fn normal_reparam_vjp<T: Real>(mu: T, sigma: T, z: T, dout: T) -> (T, (T, T, T)) {
    let value = normal_reparam(mu, sigma, z);
    (value, normal_reparam_pullback(mu, sigma, z, value, dout))
}

/// Pushforward of [`normal_reparam`]: `(mu + sigma·z, dmu + dsigma·z + sigma·dz)`.
///
/// ```
/// assert_eq!(relax_core::normal_reparam_jvp(1.0_f64, 2.0, 0.5, (1.0, 2.0, 0.25)), (2.0, 2.5));
/// ```
#[inline(always)]
pub fn normal_reparam_jvp<T: Real>(mu: T, sigma: T, z: T, (dmu, dsigma, dz): (T, T, T)) -> (T, T) {
    (normal_reparam(mu, sigma, z), dmu + dsigma * z + sigma * dz)
}

/// The Gumbel(0, 1) variate `−ln(−ln u)` of a uniform `u` in (0, 1).
///
/// Derivative: `−1/(u·ln u)`.
///
/// ```
/// let g = relax_core::gumbel_from_uniform(0.5_f64);
/// assert!((g - 0.366_512_920_581_664_3).abs() < 1e-15);
/// ```
#[inline]
pub fn gumbel_from_uniform<T: Real>(u: T) -> T {
    -(-u.ln()).ln()
}

/// The cotangent of [`gumbel_from_uniform`]: `−dout/(u·ln u)` (from `u`: the value would need an
/// exponential).
///
/// ```
/// let d = relax_core::gumbel_from_uniform_pullback(0.5_f64, 0.366_512_920_581_664_3, 1.0);
/// assert!((d - 1.0 / (0.5 * core::f64::consts::LN_2)).abs() < 1e-12);
/// ```
#[inline]
pub fn gumbel_from_uniform_pullback<T: Real>(u: T, value: T, dout: T) -> T {
    let _ = value;
    -dout / (u * u.ln())
}

/// Pullback of [`gumbel_from_uniform`]: `(−ln(−ln u), −dout/(u·ln u))`.
///
/// ```
/// let (_, d) = relax_core::gumbel_from_uniform_vjp(0.5_f64, 1.0);
/// assert!((d - 1.0 / (0.5 * core::f64::consts::LN_2)).abs() < 1e-12);
/// ```
#[inline]
pub fn gumbel_from_uniform_vjp<T: Real>(u: T, dout: T) -> (T, T) {
    let value = gumbel_from_uniform(u);
    (value, gumbel_from_uniform_pullback(u, value, dout))
}

/// Pushforward of [`gumbel_from_uniform`]: `(−ln(−ln u), −du/(u·ln u))`, the pullback's product.
///
/// ```
/// let (_, d) = relax_core::gumbel_from_uniform_jvp(0.5_f64, 1.0);
/// assert!((d - 1.0 / (0.5 * core::f64::consts::LN_2)).abs() < 1e-12);
/// ```
#[inline]
pub fn gumbel_from_uniform_jvp<T: Real>(u: T, du: T) -> (T, T) {
    gumbel_from_uniform_vjp(u, du)
}

/// `logits + g`, elementwise, in place (see `crate::arrays`).
#[inline]
fn perturbed<T: Real, const N: usize>(logits: [T; N], g: [T; N]) -> [T; N] {
    let mut y = logits;
    for (v, &g) in y.iter_mut().zip(&g) {
        *v += g;
    }
    y
}

/// Gumbel-softmax with explicit noise: `softmax(logits + g, t)`, a relaxed one-hot sample.
///
/// Derivative: that of `softmax` at `logits + g`, identical for `logits` and `g`, and with respect
/// to `t`.
///
/// ```
/// let y = relax_core::gumbel_softmax_with([0.0_f64, 0.0], [1.0, 1.0], 1.0);
/// assert_eq!(y, [0.5, 0.5]);
/// ```
#[inline]
pub fn gumbel_softmax_with<T: Real, const N: usize>(logits: [T; N], g: [T; N], t: T) -> [T; N] {
    softmax(perturbed(logits, g), t)
}

/// The cotangents of [`gumbel_softmax_with`] from its arguments and its value `y`:
/// `softmax_pullback(logits + g, t, y, dout)`, the same for `logits` and `g`, without computing
/// the exponentials again.
///
/// ```
/// use relax_core::{gumbel_softmax_with, gumbel_softmax_with_pullback};
/// let (l, g) = ([0.0_f64, 0.0], [0.0, 0.0]);
/// let y = gumbel_softmax_with(l, g, 1.0);
/// let (dl, dg, _) = gumbel_softmax_with_pullback(l, g, 1.0, y, [1.0, 0.0]);
/// assert_eq!((dl, dg), ([0.25, -0.25], [0.25, -0.25]));
/// ```
#[inline]
pub fn gumbel_softmax_with_pullback<T: Real, const N: usize>(
    logits: [T; N],
    g: [T; N],
    t: T,
    y: [T; N],
    dout: [T; N],
) -> ([T; N], [T; N], T) {
    let (dx, dt) = softmax_pullback(perturbed(logits, g), t, y, dout);
    (dx, dx, dt)
}

/// [`gumbel_softmax_with_pullback`] with the noise and the temperature constant: `dlogits` alone,
/// from the value `y` (neither the perturbed logits nor their exponentials again).
///
/// ```
/// let y = [0.5_f64, 0.5];
/// assert_eq!(relax_core::gumbel_softmax_with_pullback_first([0.0, 0.0], [0.0; 2], 1.0, y, [1.0, 0.0]), [0.25, -0.25]);
/// ```
#[inline]
pub fn gumbel_softmax_with_pullback_first<T: Real, const N: usize>(
    logits: [T; N],
    g: [T; N],
    t: T,
    y: [T; N],
    dout: [T; N],
) -> [T; N] {
    let _ = (logits, g);
    softmax_cotangent_first(&y, t, dout.iter().copied())
}

/// Pullback of [`gumbel_softmax_with`]: `(y, (dlogits, dg, dt))` with `dlogits = dg`, from one
/// computation of the softmax (see [`softmax_vjp`]).
///
/// ```
/// let (_, (dl, dg, _)) = relax_core::gumbel_softmax_with_vjp([0.0_f64, 0.0], [0.0, 0.0], 1.0, [1.0, 0.0]);
/// assert_eq!((dl, dg), ([0.25, -0.25], [0.25, -0.25]));
/// ```
#[inline]
pub fn gumbel_softmax_with_vjp<T: Real, const N: usize>(
    logits: [T; N],
    g: [T; N],
    t: T,
    dout: [T; N],
) -> ([T; N], ([T; N], [T; N], T)) {
    let (y, (dx, dt)) = softmax_vjp(perturbed(logits, g), t, dout);
    (y, (dx, dx, dt))
}

/// Pushforward of [`gumbel_softmax_with`]: the tangent of `softmax` at `logits + g` along
/// `(dlogits + dg, dt)`.
///
/// ```
/// let (y, d) = relax_core::gumbel_softmax_with_jvp([0.0_f64, 0.0], [0.0, 0.0], 1.0, ([1.0, 0.0], [1.0, 0.0], 0.0));
/// assert_eq!((y, d), ([0.5, 0.5], [0.5, -0.5]));
/// ```
#[inline]
pub fn gumbel_softmax_with_jvp<T: Real, const N: usize>(
    logits: [T; N],
    g: [T; N],
    t: T,
    (dlogits, dg, dt): ([T; N], [T; N], T),
) -> ([T; N], [T; N]) {
    softmax_jvp(perturbed(logits, g), t, (perturbed(dlogits, dg), dt))
}

/// [`gumbel_softmax_with_jvp`] with the noise and the temperature constant: the tangent of
/// `softmax` at `logits + g` along `dlogits`.
///
/// ```
/// let (y, d) = relax_core::gumbel_softmax_with_jvp_first([0.0_f64, 0.0], [0.0; 2], 1.0, [1.0, 0.0]);
/// assert_eq!((y, d), ([0.5, 0.5], [0.25, -0.25]));
/// ```
#[inline]
pub fn gumbel_softmax_with_jvp_first<T: Real, const N: usize>(
    logits: [T; N],
    g: [T; N],
    t: T,
    dlogits: [T; N],
) -> ([T; N], [T; N]) {
    softmax_jvp_first(perturbed(logits, g), t, dlogits)
}

/// Straight-through Gumbel-softmax with explicit noise: `one_hot(argmax(logits + g))` forward,
/// the gradient of [`gumbel_softmax_with`] backward (PyTorch's `hard=True`).
///
/// ```
/// let y = relax_core::st_gumbel_softmax_with([0.0_f64, 1.0], [0.5, 0.0], 1.0);
/// assert_eq!(y, [0.0, 1.0]);
/// ```
#[inline]
pub fn st_gumbel_softmax_with<T: Real, const N: usize>(logits: [T; N], g: [T; N], t: T) -> [T; N] {
    debug_assert!(t > T::zero(), "relax: the temperature must be positive");
    one_hot(argmax(perturbed(logits, g)))
}

/// The cotangents of [`st_gumbel_softmax_with`]: those of [`gumbel_softmax_with_vjp`]; the hard
/// `value` is not used (nor computed again).
///
/// ```
/// let (dl, _, _) = relax_core::st_gumbel_softmax_with_pullback([0.0_f64, 0.0], [0.0; 2], 1.0, [1.0, 0.0], [1.0, 0.0]);
/// assert_eq!(dl, [0.25, -0.25]);
/// ```
#[inline]
pub fn st_gumbel_softmax_with_pullback<T: Real, const N: usize>(
    logits: [T; N],
    g: [T; N],
    t: T,
    value: [T; N],
    dout: [T; N],
) -> ([T; N], [T; N], T) {
    let _ = value;
    gumbel_softmax_with_vjp(logits, g, t, dout).1
}

/// [`st_gumbel_softmax_with_pullback`] with the noise and the temperature constant: `dlogits`
/// alone.
///
/// ```
/// let d = relax_core::st_gumbel_softmax_with_pullback_first([0.0_f64, 0.0], [0.0; 2], 1.0, [1.0, 0.0], [1.0, 0.0]);
/// assert_eq!(d, [0.25, -0.25]);
/// ```
#[inline]
pub fn st_gumbel_softmax_with_pullback_first<T: Real, const N: usize>(
    logits: [T; N],
    g: [T; N],
    t: T,
    value: [T; N],
    dout: [T; N],
) -> [T; N] {
    let _ = value;
    softmax_cotangent_first(&softmax_values(perturbed(logits, g), t), t, dout.iter().copied())
}

/// Pullback of [`st_gumbel_softmax_with`]: the hard value and the gradient of
/// [`gumbel_softmax_with_vjp`].
///
/// ```
/// let (y, (dl, _, _)) = relax_core::st_gumbel_softmax_with_vjp([0.0_f64, 0.0], [0.0, 0.0], 1.0, [1.0, 0.0]);
/// assert_eq!((y, dl), ([1.0, 0.0], [0.25, -0.25]));
/// ```
#[inline]
pub fn st_gumbel_softmax_with_vjp<T: Real, const N: usize>(
    logits: [T; N],
    g: [T; N],
    t: T,
    dout: [T; N],
) -> ([T; N], ([T; N], [T; N], T)) {
    let value = st_gumbel_softmax_with(logits, g, t);
    (value, st_gumbel_softmax_with_pullback(logits, g, t, value, dout))
}

/// Pushforward of [`st_gumbel_softmax_with`]: the hard value and the tangent of
/// [`gumbel_softmax_with_jvp`].
///
/// ```
/// let (y, d) = relax_core::st_gumbel_softmax_with_jvp([0.0_f64, 0.0], [0.0, 0.0], 1.0, ([1.0, 0.0], [0.0; 2], 0.0));
/// assert_eq!((y, d), ([1.0, 0.0], [0.25, -0.25]));
/// ```
#[inline]
pub fn st_gumbel_softmax_with_jvp<T: Real, const N: usize>(
    logits: [T; N],
    g: [T; N],
    t: T,
    tangent: ([T; N], [T; N], T),
) -> ([T; N], [T; N]) {
    (st_gumbel_softmax_with(logits, g, t), gumbel_softmax_with_jvp(logits, g, t, tangent).1)
}

/// [`st_gumbel_softmax_with_jvp`] with the noise and the temperature constant.
///
/// ```
/// let (y, d) = relax_core::st_gumbel_softmax_with_jvp_first([0.0_f64, 0.0], [0.0, 0.0], 1.0, [1.0, 0.0]);
/// assert_eq!((y, d), ([1.0, 0.0], [0.25, -0.25]));
/// ```
#[inline]
pub fn st_gumbel_softmax_with_jvp_first<T: Real, const N: usize>(
    logits: [T; N],
    g: [T; N],
    t: T,
    dlogits: [T; N],
) -> ([T; N], [T; N]) {
    (st_gumbel_softmax_with(logits, g, t), gumbel_softmax_with_jvp_first(logits, g, t, dlogits).1)
}

/// Straight-through Gumbel argmax with explicit noise: `argmax(logits + g)` as `T` forward, the
/// gradient of `soft_argmax(logits + g, t)` backward.
///
/// ```
/// assert_eq!(relax_core::st_gumbel_argmax_with([0.0_f64, 1.0], [0.5, 0.0], 1.0), 1.0);
/// ```
#[inline]
pub fn st_gumbel_argmax_with<T: Real, const N: usize>(logits: [T; N], g: [T; N], t: T) -> T {
    debug_assert!(t > T::zero(), "relax: the temperature must be positive");
    T::from_usize(argmax(perturbed(logits, g)))
}

/// The cotangents of [`st_gumbel_argmax_with`]: `(dlogits, dg, dt)` from [`soft_argmax_vjp`] at
/// `logits + g`; the hard `value` is not used (nor computed again).
///
/// ```
/// let (dl, dg, _) = relax_core::st_gumbel_argmax_with_pullback([0.0_f64, 0.0], [0.0; 2], 1.0, 0.0, 1.0);
/// assert_eq!((dl, dg), ([-0.25, 0.25], [-0.25, 0.25]));
/// ```
#[inline]
pub fn st_gumbel_argmax_with_pullback<T: Real, const N: usize>(
    logits: [T; N],
    g: [T; N],
    t: T,
    value: T,
    dout: T,
) -> ([T; N], [T; N], T) {
    let _ = value;
    let (_, (dx, dt)) = soft_argmax_vjp(perturbed(logits, g), t, dout);
    (dx, dx, dt)
}

/// Pullback of [`st_gumbel_argmax_with`]: `(argmax as T, (dlogits, dg, dt))` from
/// [`soft_argmax_vjp`] at `logits + g`.
///
/// ```
/// let (v, (dl, dg, _)) = relax_core::st_gumbel_argmax_with_vjp([0.0_f64, 0.0], [0.0, 0.0], 1.0, 1.0);
/// assert_eq!((v, dl, dg), (0.0, [-0.25, 0.25], [-0.25, 0.25]));
/// ```
#[inline]
pub fn st_gumbel_argmax_with_vjp<T: Real, const N: usize>(
    logits: [T; N],
    g: [T; N],
    t: T,
    dout: T,
) -> (T, ([T; N], [T; N], T)) {
    let value = st_gumbel_argmax_with(logits, g, t);
    (value, st_gumbel_argmax_with_pullback(logits, g, t, value, dout))
}

/// Pushforward of [`st_gumbel_argmax_with`]: `(argmax as T, d)` with `d` the tangent of
/// [`soft_argmax`](crate::soft_argmax) at `logits + g` along `(dlogits + dg, dt)`.
///
/// ```
/// let (v, d) = relax_core::st_gumbel_argmax_with_jvp([0.0_f64, 0.0], [0.0, 0.0], 1.0, ([0.0, 1.0], [0.0; 2], 0.0));
/// assert_eq!((v, d), (0.0, 0.25));
/// ```
#[inline]
pub fn st_gumbel_argmax_with_jvp<T: Real, const N: usize>(
    logits: [T; N],
    g: [T; N],
    t: T,
    (dlogits, dg, dt): ([T; N], [T; N], T),
) -> (T, T) {
    let (_, d) = soft_argmax_jvp(perturbed(logits, g), t, (perturbed(dlogits, dg), dt));
    (st_gumbel_argmax_with(logits, g, t), d)
}

/// A categorical sample by Gumbel-max with explicit noise: `argmax(logits + g)`. With `g` i.i.d.
/// Gumbel(0, 1) it is distributed as `softmax(logits)`. Not differentiated.
///
/// ```
/// assert_eq!(relax_core::categorical_sample_with([0.0_f64, 1.0], [2.0, 0.0]), 0);
/// ```
#[inline]
pub fn categorical_sample_with<T: Real, const N: usize>(logits: [T; N], g: [T; N]) -> usize {
    argmax(perturbed(logits, g))
}

#[cfg(feature = "rand")]
mod with_rng {
    use super::*;
    use rand::Rng;

    /// One draw of N(0, 1) (ziggurat, from `rand_distr`). Not differentiated.
    ///
    /// ```
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    /// let z: f64 = relax_core::normal_noise(&mut rng);
    /// assert!(z.is_finite());
    /// ```
    #[inline]
    pub fn normal_noise<T: Real>(rng: &mut (impl Rng + ?Sized)) -> T {
        T::standard_normal(rng)
    }

    /// A reparameterised draw of N(mu, sigma²): `normal_reparam(mu, sigma, normal_noise(rng))`.
    ///
    /// Derivative: 1 with respect to `mu`, `z` with respect to `sigma`, for the `z` drawn.
    ///
    /// ```
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    /// let y: f64 = relax_core::normal_rsample(3.0, 0.0, &mut rng);
    /// assert_eq!(y, 3.0);
    /// ```
    #[inline]
    pub fn normal_rsample<T: Real>(mu: T, sigma: T, rng: &mut (impl Rng + ?Sized)) -> T {
        normal_reparam(mu, sigma, normal_noise(rng))
    }

    /// `N` i.i.d. Gumbel(0, 1) draws, each `gumbel_from_uniform(u)` of a uniform `u` drawn in the
    /// open interval (0, 1), so every entry is finite. Not differentiated.
    ///
    /// ```
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    /// let g = relax_core::gumbel_noise::<f64, 8>(&mut rng);
    /// assert!(g.iter().all(|v| v.is_finite()));
    /// ```
    #[inline]
    pub fn gumbel_noise<T: Real, const N: usize>(rng: &mut (impl Rng + ?Sized)) -> [T; N] {
        core::array::from_fn(|_| gumbel_from_uniform(T::open01(rng)))
    }

    /// Gumbel-softmax: `gumbel_softmax_with(logits, gumbel_noise(rng), t)`.
    ///
    /// ```
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    /// let y = relax_core::gumbel_softmax([0.0_f64, 1.0, 2.0], 0.5, &mut rng);
    /// assert!((y.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    /// ```
    #[inline]
    pub fn gumbel_softmax<T: Real, const N: usize>(logits: [T; N], t: T, rng: &mut (impl Rng + ?Sized)) -> [T; N] {
        gumbel_softmax_with(logits, gumbel_noise(rng), t)
    }

    /// Straight-through Gumbel-softmax: `st_gumbel_softmax_with(logits, gumbel_noise(rng), t)`.
    ///
    /// ```
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    /// let y = relax_core::st_gumbel_softmax([0.0_f64, 1.0, 2.0], 0.5, &mut rng);
    /// assert_eq!(y.iter().sum::<f64>(), 1.0);
    /// ```
    #[inline]
    pub fn st_gumbel_softmax<T: Real, const N: usize>(logits: [T; N], t: T, rng: &mut (impl Rng + ?Sized)) -> [T; N] {
        st_gumbel_softmax_with(logits, gumbel_noise(rng), t)
    }

    /// Straight-through Gumbel argmax: `st_gumbel_argmax_with(logits, gumbel_noise(rng), t)`.
    ///
    /// ```
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    /// let k = relax_core::st_gumbel_argmax([0.0_f64, 1.0, 2.0], 0.5, &mut rng);
    /// assert!(k == 0.0 || k == 1.0 || k == 2.0);
    /// ```
    #[inline]
    pub fn st_gumbel_argmax<T: Real, const N: usize>(logits: [T; N], t: T, rng: &mut (impl Rng + ?Sized)) -> T {
        st_gumbel_argmax_with(logits, gumbel_noise(rng), t)
    }

    /// A categorical sample distributed as `softmax(logits)`, by Gumbel-max:
    /// `categorical_sample_with(logits, gumbel_noise(rng))`. Not differentiated.
    ///
    /// ```
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    /// assert!(relax_core::categorical_sample([0.0_f64, 1.0, 2.0], &mut rng) < 3);
    /// ```
    #[inline]
    pub fn categorical_sample<T: Real, const N: usize>(logits: [T; N], rng: &mut (impl Rng + ?Sized)) -> usize {
        categorical_sample_with(logits, gumbel_noise(rng))
    }
}
#[cfg(feature = "rand")]
pub use with_rng::*;
