//! Pullbacks and pushforwards of arithmetic and of the float methods that `#[differentiable]`
//! accepts.
//!
//! Each `NAME_vjp(args…, dout) -> (value, G)` has the layout of the rules' pullbacks, and each
//! `NAME_jvp(args…, tangent) -> (value, dvalue)` that of their pushforwards (`tangent` laid out as
//! `G`). The value is computed exactly as the operator or method computes it.
//!
//! Each `NAME_pullback(args…, value, dout) -> G` gives the cotangents alone from the arguments
//! and the value already computed, which it uses where that saves work (`exp`: `dout·y`, `tanh`:
//! `dout·(1 − y²)`, `sqrt`: `dout/(2y)`, `div`: from the quotient); `NAME_vjp` is
//! `let y = NAME(args…); (y, NAME_pullback(args…, y, dout))`, so the two agree bit for bit.
//! Where the cotangents need less than the arguments and the value, a form takes only what they
//! need (`add_cotangents(dout)`, `tanh_pullback_from_value(y, dout)`, `mul_constant_pullback(c,
//! dout)` for a product with a constant): a caller that recomputes values for its adjoint (a
//! loop's adjoint in `#[differentiable]` code) then need not recompute the others. A
//! derivative `1/d` is computed as `dout/d` (one rounding). A cotangent that nothing flows into
//! (`max`, `min`, `clamp` to the other arguments) is `−0.0`, [`Tangent`](crate::Tangent)'s zero.
//! Conventions at kinks, as in PyTorch and JAX, the same in both directions: `abs'(0) = 0`; `max`/`min` split the
//! gradient evenly at a tie (the tangent there is the mean of the two); `clamp` passes it to `x`
//! for `lo ≤ x ≤ hi` and to the active bound otherwise. Where a method has no derivative (`sqrt`
//! at 0, `powf` with base 0) the derivative is what its formula gives.
//!
//! ```
//! use relax_core::ops;
//! assert_eq!(ops::mul_vjp(3.0_f64, 4.0, 1.0), (12.0, (4.0, 3.0)));
//! assert_eq!(ops::mul_jvp(3.0_f64, 4.0, (1.0, 2.0)), (12.0, 10.0));
//! assert_eq!(ops::abs_vjp(0.0_f64, 1.0), (0.0, 0.0));
//! assert_eq!(ops::abs_jvp(-2.0_f64, 1.0), (2.0, -1.0));
//! assert_eq!(ops::max_vjp(1.0_f64, 1.0, 1.0), (1.0, (0.5, 0.5)));
//! assert_eq!(ops::max_jvp(1.0_f64, 1.0, (1.0, 3.0)), (1.0, 2.0));
//! assert_eq!(ops::exp_jvp(0.0_f64, 2.0), (1.0, 2.0));
//! assert_eq!(ops::sqrt_jvp(4.0_f64, 1.0), (2.0, 0.25));
//! let y = 0.5_f64.tanh();
//! assert_eq!(ops::tanh_pullback(0.5, y, 2.0), 2.0 * (1.0 - y * y));
//! assert_eq!(ops::tanh_vjp(0.5, 2.0), (y, ops::tanh_pullback(0.5, y, 2.0)));
//! ```

use crate::Real;
use crate::loss::sign;

/// `a + b`: the cotangents `(dout, dout)`.
#[inline(always)]
pub fn add_pullback<T: Real>(a: T, b: T, sum: T, dout: T) -> (T, T) {
    let _ = (a, b, sum);
    add_cotangents(dout)
}

/// [`add_pullback`] from `dout` alone, which is all it reads: `(dout, dout)`.
///
/// ```
/// assert_eq!(relax_core::ops::add_cotangents(2.0_f64), (2.0, 2.0));
/// ```
#[inline(always)]
pub fn add_cotangents<T: Real>(dout: T) -> (T, T) {
    (dout, dout)
}

/// `a + b`: `(dout, dout)`.
#[inline(always)]
pub fn add_vjp<T: Real>(a: T, b: T, dout: T) -> (T, (T, T)) {
    let sum = a + b;
    (sum, add_pullback(a, b, sum, dout))
}

/// `a + b`: `da + db`.
///
/// ```
/// assert_eq!(relax_core::ops::add_jvp(1.0_f64, 2.0, (0.5, 0.25)), (3.0, 0.75));
/// ```
#[inline(always)]
pub fn add_jvp<T: Real>(a: T, b: T, (da, db): (T, T)) -> (T, T) {
    (a + b, da + db)
}

/// [`add_jvp`] with `b` constant: `(a + b, da)`.
#[inline(always)]
pub fn add_jvp_first<T: Real>(a: T, b: T, da: T) -> (T, T) {
    (a + b, da)
}

/// [`add_jvp`] with `a` constant: `(a + b, db)`.
#[inline(always)]
pub fn add_jvp_second<T: Real>(a: T, b: T, db: T) -> (T, T) {
    (a + b, db)
}

/// `a − b`: the cotangents `(dout, −dout)`.
#[inline(always)]
pub fn sub_pullback<T: Real>(a: T, b: T, difference: T, dout: T) -> (T, T) {
    let _ = (a, b, difference);
    sub_cotangents(dout)
}

/// [`sub_pullback`] from `dout` alone, which is all it reads: `(dout, −dout)`.
///
/// ```
/// assert_eq!(relax_core::ops::sub_cotangents(2.0_f64), (2.0, -2.0));
/// ```
#[inline(always)]
pub fn sub_cotangents<T: Real>(dout: T) -> (T, T) {
    (dout, -dout)
}

/// `a − b`: `(dout, −dout)`.
#[inline(always)]
pub fn sub_vjp<T: Real>(a: T, b: T, dout: T) -> (T, (T, T)) {
    let difference = a - b;
    (difference, sub_pullback(a, b, difference, dout))
}

/// `a − b`: `da − db`.
///
/// ```
/// assert_eq!(relax_core::ops::sub_jvp(1.0_f64, 2.0, (0.5, 0.25)), (-1.0, 0.25));
/// ```
#[inline(always)]
pub fn sub_jvp<T: Real>(a: T, b: T, (da, db): (T, T)) -> (T, T) {
    (a - b, da - db)
}

/// [`sub_jvp`] with `b` constant: `(a − b, da)`.
#[inline(always)]
pub fn sub_jvp_first<T: Real>(a: T, b: T, da: T) -> (T, T) {
    (a - b, da)
}

/// [`sub_jvp`] with `a` constant: `(a − b, −db)`.
#[inline(always)]
pub fn sub_jvp_second<T: Real>(a: T, b: T, db: T) -> (T, T) {
    (a - b, -db)
}

/// `a·b`: the cotangents `(dout·b, dout·a)`.
#[inline(always)]
pub fn mul_pullback<T: Real>(a: T, b: T, product: T, dout: T) -> (T, T) {
    let _ = product;
    (mul_constant_pullback(b, dout), mul_constant_pullback(a, dout))
}

/// The cotangent of `a` in `a·c` or `c·a` for a constant `c`: `dout·c`, the one of
/// [`mul_pullback`]'s cotangents that does not read `a`.
///
/// ```
/// assert_eq!(relax_core::ops::mul_constant_pullback(3.0_f64, 2.0), 6.0);
/// assert_eq!(relax_core::ops::mul_constant_pullback(3.0_f64, 2.0), relax_core::ops::mul_pullback(5.0, 3.0, 15.0, 2.0).0);
/// ```
#[inline(always)]
pub fn mul_constant_pullback<T: Real>(c: T, dout: T) -> T {
    dout * c
}

/// `a·b`: `(dout·b, dout·a)`.
#[inline(always)]
pub fn mul_vjp<T: Real>(a: T, b: T, dout: T) -> (T, (T, T)) {
    let product = a * b;
    (product, mul_pullback(a, b, product, dout))
}

/// `a·b`: `da·b + db·a`.
///
/// ```
/// assert_eq!(relax_core::ops::mul_jvp(3.0_f64, 4.0, (1.0, 0.0)), (12.0, 4.0));
/// ```
#[inline(always)]
pub fn mul_jvp<T: Real>(a: T, b: T, (da, db): (T, T)) -> (T, T) {
    (a * b, da * b + db * a)
}

/// [`mul_jvp`] with `b` constant: `(a·b, da·b)`; forward mode calls it for a product with data,
/// which the two-sided form would pay a second product for.
#[inline(always)]
pub fn mul_jvp_first<T: Real>(a: T, b: T, da: T) -> (T, T) {
    (a * b, da * b)
}

/// [`mul_jvp`] with `a` constant: `(a·b, db·a)`.
#[inline(always)]
pub fn mul_jvp_second<T: Real>(a: T, b: T, db: T) -> (T, T) {
    (a * b, db * a)
}

/// `q = a / b`: the cotangents `(dout/b, −dout·a/b²)`, as `dout·(1/b)` and `−(dout·q)·(1/b)`.
///
/// Multiplied by the reciprocal rather than divided: `1/b` depends on the forward sweep only, so
/// the division runs while the adjoint sweep computes `dout`, and a pullback run once per
/// Jacobian row shares it (the bundle residual's Jacobian: its adjoint's critical path had two
/// divisions in a row per rotation). Each cotangent is one rounding from the quotient's; for a
/// subnormal `|b| < 2⁻¹⁰²²` (f64) the reciprocal overflows to ±∞.
#[inline(always)]
pub fn div_pullback<T: Real>(a: T, b: T, q: T, dout: T) -> (T, T) {
    let _ = a;
    let r = T::one() / b;
    (dout * r, -(dout * q) * r)
}

/// The cotangent of `a` in `a / c` for a constant `c`: `dout·(1/c)`, the first of
/// [`div_pullback`]'s cotangents (in a loop, the reciprocal of a constant is taken once).
///
/// ```
/// assert_eq!(relax_core::ops::div_constant_pullback(4.0_f64, 2.0), 0.5);
/// ```
#[inline(always)]
pub fn div_constant_pullback<T: Real>(c: T, dout: T) -> T {
    dout * (T::one() / c)
}

/// `a / b`: `(dout/b, −dout·a/b²)`.
#[inline(always)]
pub fn div_vjp<T: Real>(a: T, b: T, dout: T) -> (T, (T, T)) {
    let q = a / b;
    (q, div_pullback(a, b, q, dout))
}

/// `a / b`: `da/b − db·a/b²`, taken as `(da − db·q)·(1/b)` with `q = a/b`: one division for the
/// tangent, by a reciprocal that reads `b` alone, so that quotients by one divisor share it (as
/// [`div_pullback`]'s cotangents do; the rotation's `r/θ`, the projection's `q/q₂`). The tangent
/// is one rounding from `da/b − db·q/b`.
///
/// ```
/// assert_eq!(relax_core::ops::div_jvp(1.0_f64, 2.0, (1.0, 1.0)), (0.5, 0.25));
/// ```
#[inline(always)]
pub fn div_jvp<T: Real>(a: T, b: T, (da, db): (T, T)) -> (T, T) {
    let q = a / b;
    (q, (da - db * q) * (T::one() / b))
}

/// [`div_jvp`] with `b` constant: `(a/b, da·(1/b))` (in a loop, the reciprocal of a constant is
/// taken once, as in [`div_constant_pullback`]).
#[inline(always)]
pub fn div_jvp_first<T: Real>(a: T, b: T, da: T) -> (T, T) {
    (a / b, da * (T::one() / b))
}

/// [`div_jvp`] with `a` constant: `(a/b, −db·q·(1/b))`.
#[inline(always)]
pub fn div_jvp_second<T: Real>(a: T, b: T, db: T) -> (T, T) {
    let q = a / b;
    (q, -(db * q) * (T::one() / b))
}

/// `−a`: the cotangent `−dout`.
#[inline(always)]
pub fn neg_pullback<T: Real>(a: T, negated: T, dout: T) -> T {
    let _ = (a, negated);
    neg_cotangent(dout)
}

/// [`neg_pullback`] from `dout` alone, which is all it reads: `−dout`.
///
/// ```
/// assert_eq!(relax_core::ops::neg_cotangent(2.0_f64), -2.0);
/// ```
#[inline(always)]
pub fn neg_cotangent<T: Real>(dout: T) -> T {
    -dout
}

/// `−a`: `−dout`.
#[inline(always)]
pub fn neg_vjp<T: Real>(a: T, dout: T) -> (T, T) {
    let negated = -a;
    (negated, neg_pullback(a, negated, dout))
}

/// `−a`: `−da`.
///
/// ```
/// assert_eq!(relax_core::ops::neg_jvp(1.0_f64, 2.0), (-1.0, -2.0));
/// ```
#[inline(always)]
pub fn neg_jvp<T: Real>(a: T, da: T) -> (T, T) {
    neg_vjp(a, da)
}

macro_rules! unary {
    ($(
        $(#[$doc:meta])*
        $method:ident: $pullback:ident $(/ $from_value:ident)?, $vjp:ident, $jvp:ident
            => |$x:ident, $y:ident, $dout:ident| $d:expr;
    )*) => {$(
        $(#[$doc])*
        ///
        /// The cotangent `dout·derivative`, from `x` and the value `y`.
        #[inline(always)]
        pub fn $pullback<T: Real>($x: T, $y: T, $dout: T) -> T {
            let _ = (&$x, &$y);
            $d
        }

        $(
            #[doc = concat!("[`", stringify!($pullback), "`] from the value `y` alone, which is all its formula reads.")]
            #[inline(always)]
            pub fn $from_value<T: Real>($y: T, $dout: T) -> T {
                $d
            }
        )?

        $(#[$doc])*
        ///
        /// Pullback: `(value, dout·derivative)`.
        #[inline(always)]
        pub fn $vjp<T: Real>(x: T, dout: T) -> (T, T) {
            let y = x.$method();
            (y, $pullback(x, y, dout))
        }

        $(#[$doc])*
        ///
        /// Pushforward: `(value, dx·derivative)`, the pullback's product (one scalar in, one out).
        #[inline(always)]
        pub fn $jvp<T: Real>($x: T, dx: T) -> (T, T) {
            $vjp($x, dx)
        }
    )*};
}

unary! {
    /// `y = eˣ`, derivative `eˣ = y`.
    exp: exp_pullback / exp_pullback_from_value, exp_vjp, exp_jvp => |x, y, dout| dout * y;
    /// `y = 2ˣ`, derivative `ln 2·2ˣ = ln 2·y`.
    exp2: exp2_pullback / exp2_pullback_from_value, exp2_vjp, exp2_jvp => |x, y, dout| dout * (y * T::LN_2());
    /// `y = eˣ − 1`, derivative `eˣ = y + 1` (no second exponential; for `x` below about −37
    /// (`f64`) it rounds to 0, off by less than `ε/2`).
    exp_m1: exp_m1_pullback / exp_m1_pullback_from_value, exp_m1_vjp, exp_m1_jvp => |x, y, dout| dout * (y + T::one());
    /// `ln x`, derivative `1/x`.
    ln: ln_pullback, ln_vjp, ln_jvp => |x, y, dout| dout / x;
    /// `ln(1 + x)`, derivative `1/(1 + x)`.
    ln_1p: ln_1p_pullback, ln_1p_vjp, ln_1p_jvp => |x, y, dout| dout / (T::one() + x);
    /// `log₂ x`, derivative `1/(x·ln 2)`.
    log2: log2_pullback, log2_vjp, log2_jvp => |x, y, dout| dout / (x * T::LN_2());
    /// `log₁₀ x`, derivative `1/(x·ln 10)`.
    log10: log10_pullback, log10_vjp, log10_jvp => |x, y, dout| dout / (x * T::LN_10());
    /// `y = √x`, derivative `1/(2√x) = 1/(2y)` (infinite at 0), taken as `dout·(1/(2y))`: the
    /// division reads the value only and runs before `dout` is known (see [`div_pullback`]).
    sqrt: sqrt_pullback / sqrt_pullback_from_value, sqrt_vjp, sqrt_jvp => |x, y, dout| dout * (T::one() / (y + y));
    /// `y = ∛x`, derivative `1/(3·∛x²) = 1/(3y²)`.
    cbrt: cbrt_pullback / cbrt_pullback_from_value, cbrt_vjp, cbrt_jvp => |x, y, dout| dout / (T::from_usize(3) * y * y);
    /// `y = 1/x`, derivative `−1/x² = −y²`.
    recip: recip_pullback / recip_pullback_from_value, recip_vjp, recip_jvp => |x, y, dout| dout * -(y * y);
    /// `sin x`, derivative `cos x` (see [`sin_cos_pullback`] for a function that has both).
    sin: sin_pullback, sin_vjp, sin_jvp => |x, y, dout| dout * x.cos();
    /// `cos x`, derivative `−sin x` (see [`sin_cos_pullback`] for a function that has both).
    cos: cos_pullback, cos_vjp, cos_jvp => |x, y, dout| dout * -x.sin();
    /// `y = tan x`, derivative `1 + tan² x = 1 + y²`.
    tan: tan_pullback / tan_pullback_from_value, tan_vjp, tan_jvp => |x, y, dout| dout * (T::one() + y * y);
    /// `asin x`, derivative `1/√(1 − x²)`.
    asin: asin_pullback, asin_vjp, asin_jvp => |x, y, dout| dout / (T::one() - x * x).sqrt();
    /// `acos x`, derivative `−1/√(1 − x²)`.
    acos: acos_pullback, acos_vjp, acos_jvp => |x, y, dout| -dout / (T::one() - x * x).sqrt();
    /// `atan x`, derivative `1/(1 + x²)`.
    atan: atan_pullback, atan_vjp, atan_jvp => |x, y, dout| dout / (T::one() + x * x);
    /// `sinh x`, derivative `cosh x`.
    sinh: sinh_pullback, sinh_vjp, sinh_jvp => |x, y, dout| dout * x.cosh();
    /// `cosh x`, derivative `sinh x`.
    cosh: cosh_pullback, cosh_vjp, cosh_jvp => |x, y, dout| dout * x.sinh();
    /// `y = tanh x`, derivative `1 − tanh² x = 1 − y²`.
    tanh: tanh_pullback / tanh_pullback_from_value, tanh_vjp, tanh_jvp => |x, y, dout| dout * (T::one() - y * y);
    /// `|x|`, derivative `sign(x)`, with `sign(0) = 0`.
    abs: abs_pullback, abs_vjp, abs_jvp => |x, y, dout| dout * sign(x);
}

/// `x.sin_cos() = (s, c)`: the cotangent `ds·c − dc·s` of `x` for the cotangents `(ds, dc)` of
/// `(sin x, cos x)`, from the values alone. A function that takes both the sine and the cosine of
/// one `x` (a rotation) computes them with one `sin_cos` and needs no third or fourth
/// trigonometric function for its adjoint, as [`sin_pullback`] plus [`cos_pullback`] would.
///
/// ```
/// use relax_core::ops::{cos_vjp, sin_cos_pullback, sin_cos_vjp, sin_vjp};
/// let x = 0.7_f64;
/// let (sc, dx) = sin_cos_vjp(x, (2.0, 3.0));
/// assert_eq!(sc, x.sin_cos());
/// assert_eq!(dx, sin_cos_pullback(x, sc, (2.0, 3.0)));
/// assert!((dx - (sin_vjp(x, 2.0).1 + cos_vjp(x, 3.0).1)).abs() < 1e-15);
/// ```
#[inline(always)]
pub fn sin_cos_pullback<T: Real>(x: T, (s, c): (T, T), (ds, dc): (T, T)) -> T {
    let _ = x;
    ds * c - dc * s
}

/// The cotangent `dout·cos x` of `x` in `sin x`, from `cos x` where the caller computed it too
/// (a rotation takes both): [`sin_pullback`] without a second trigonometric function.
///
/// ```
/// let x = 0.7_f64;
/// assert_eq!(relax_core::ops::sin_pullback_from_cos(x.cos(), 2.0), relax_core::ops::sin_vjp(x, 2.0).1);
/// ```
#[inline(always)]
pub fn sin_pullback_from_cos<T: Real>(cos: T, dout: T) -> T {
    dout * cos
}

/// The cotangent `−dout·sin x` of `x` in `cos x`, from `sin x` where the caller computed it too:
/// [`cos_pullback`] without a second trigonometric function.
///
/// ```
/// let x = 0.7_f64;
/// assert_eq!(relax_core::ops::cos_pullback_from_sin(x.sin(), 2.0), relax_core::ops::cos_vjp(x, 2.0).1);
/// ```
#[inline(always)]
pub fn cos_pullback_from_sin<T: Real>(sin: T, dout: T) -> T {
    dout * -sin
}

/// `x.sin_cos() = (sin x, cos x)`: `((s, c), ds·c − dc·s)`.
#[inline(always)]
pub fn sin_cos_vjp<T: Real>(x: T, dout: (T, T)) -> ((T, T), T) {
    let sc = x.sin_cos();
    (sc, sin_cos_pullback(x, sc, dout))
}

/// `x.sin_cos() = (s, c)`: the tangent `(dx·c, −dx·s)`.
///
/// ```
/// assert_eq!(relax_core::ops::sin_cos_jvp(0.0_f64, 2.0), ((0.0, 1.0), (2.0, -0.0)));
/// ```
#[inline(always)]
pub fn sin_cos_jvp<T: Real>(x: T, dx: T) -> ((T, T), (T, T)) {
    let (s, c) = x.sin_cos();
    ((s, c), (dx * c, -dx * s))
}

/// `y = xⁿ` for an integer `n` (not differentiated): the cotangent `dout·n·xⁿ⁻¹` (from `x`:
/// `n·y/x` would fail at 0).
#[inline(always)]
pub fn powi_pullback<T: Real>(x: T, n: i32, y: T, dout: T) -> T {
    let _ = y;
    dout * T::select(f64::from(n), n as f32) * x.powi(n - 1)
}

/// `xⁿ` for an integer `n` (not differentiated): `dout·n·xⁿ⁻¹`.
#[inline(always)]
pub fn powi_vjp<T: Real>(x: T, n: i32, dout: T) -> (T, T) {
    let y = x.powi(n);
    (y, powi_pullback(x, n, y, dout))
}

/// `xⁿ` for an integer `n` (not differentiated, not in the tangent): `dx·n·xⁿ⁻¹`.
///
/// ```
/// assert_eq!(relax_core::ops::powi_jvp(2.0_f64, 3, 0.5), (8.0, 6.0));
/// ```
#[inline(always)]
pub fn powi_jvp<T: Real>(x: T, n: i32, dx: T) -> (T, T) {
    powi_vjp(x, n, dx)
}

/// `v = xʸ`: the cotangents `(dout·y·xʸ⁻¹, dout·v·ln x)` (`xʸ⁻¹` computed as such: `v/x`
/// would fail at 0).
#[inline(always)]
pub fn powf_pullback<T: Real>(x: T, y: T, v: T, dout: T) -> (T, T) {
    (dout * y * x.powf(y - T::one()), dout * v * x.ln())
}

/// `xʸ`: `(dout·y·xʸ⁻¹, dout·xʸ·ln x)`.
#[inline(always)]
pub fn powf_vjp<T: Real>(x: T, y: T, dout: T) -> (T, (T, T)) {
    let v = x.powf(y);
    (v, powf_pullback(x, y, v, dout))
}

/// `xʸ`: `dx·y·xʸ⁻¹ + dy·xʸ·ln x`.
///
/// A term whose tangent is exactly 0 is 0, even where its partial derivative is not finite
/// (`ln x` for `x ≤ 0`, `xʸ⁻¹` at `x = 0`): so `x.powf(2.0)` has the tangent `2x·dx` at `x = 0`
/// and `(−2.0).powf(y)` is differentiable in `x` at integer `y`, with a constant exponent or base.
///
/// ```
/// assert_eq!(relax_core::ops::powf_jvp(0.0_f64, 2.0, (1.0, 0.0)), (0.0, 0.0));
/// assert_eq!(relax_core::ops::powf_jvp(2.0_f64, 3.0, (1.0, 0.0)), (8.0, 12.0));
/// ```
#[inline(always)]
pub fn powf_jvp<T: Real>(x: T, y: T, (dx, dy): (T, T)) -> (T, T) {
    let z = T::zero();
    let v = x.powf(y);
    let along_x = if dx == z { z } else { dx * y * x.powf(y - T::one()) };
    let along_y = if dy == z { z } else { dy * v * x.ln() };
    (v, along_x + along_y)
}

/// `atan2(y, x)`: the cotangents `(dout·x/(x² + y²), −dout·y/(x² + y²))`.
#[inline(always)]
pub fn atan2_pullback<T: Real>(y: T, x: T, angle: T, dout: T) -> (T, T) {
    let _ = angle;
    let r2 = x * x + y * y;
    (dout * x / r2, -dout * y / r2)
}

/// `atan2(y, x)`: `(dout·x/(x² + y²), −dout·y/(x² + y²))`.
#[inline(always)]
pub fn atan2_vjp<T: Real>(y: T, x: T, dout: T) -> (T, (T, T)) {
    let angle = y.atan2(x);
    (angle, atan2_pullback(y, x, angle, dout))
}

/// `atan2(y, x)`: `dy·x/(x² + y²) − dx·y/(x² + y²)`.
///
/// ```
/// assert_eq!(relax_core::ops::atan2_jvp(0.0_f64, 1.0, (1.0, 0.0)), (0.0, 1.0));
/// ```
#[inline(always)]
pub fn atan2_jvp<T: Real>(y: T, x: T, (dy, dx): (T, T)) -> (T, T) {
    let r2 = x * x + y * y;
    (y.atan2(x), dy * x / r2 - dx * y / r2)
}

/// `h = √(a² + b²)`: the cotangents `(dout·a/h, dout·b/h)`, from `h`.
#[inline(always)]
pub fn hypot_pullback<T: Real>(a: T, b: T, h: T, dout: T) -> (T, T) {
    (dout * a / h, dout * b / h)
}

/// `√(a² + b²)`: `(dout·a/h, dout·b/h)`.
#[inline(always)]
pub fn hypot_vjp<T: Real>(a: T, b: T, dout: T) -> (T, (T, T)) {
    let h = a.hypot(b);
    (h, hypot_pullback(a, b, h, dout))
}

/// `h = √(a² + b²)`: `da·a/h + db·b/h`.
///
/// ```
/// assert_eq!(relax_core::ops::hypot_jvp(3.0_f64, 4.0, (5.0, 0.0)), (5.0, 3.0));
/// ```
#[inline(always)]
pub fn hypot_jvp<T: Real>(a: T, b: T, (da, db): (T, T)) -> (T, T) {
    let h = a.hypot(b);
    (h, da * a / h + db * b / h)
}

/// `a·b + c` (fused): the cotangents `(dout·b, dout·a, dout)`.
#[inline(always)]
pub fn mul_add_pullback<T: Real>(a: T, b: T, c: T, value: T, dout: T) -> (T, T, T) {
    let _ = (c, value);
    (dout * b, dout * a, dout)
}

/// `a·b + c` (fused): `(dout·b, dout·a, dout)`.
#[inline(always)]
pub fn mul_add_vjp<T: Real>(a: T, b: T, c: T, dout: T) -> (T, (T, T, T)) {
    let value = a.mul_add(b, c);
    (value, mul_add_pullback(a, b, c, value, dout))
}

/// `a·b + c` (fused): `da·b + db·a + dc`.
///
/// ```
/// assert_eq!(relax_core::ops::mul_add_jvp(2.0_f64, 3.0, 1.0, (1.0, 1.0, 1.0)), (7.0, 6.0));
/// ```
#[inline(always)]
pub fn mul_add_jvp<T: Real>(a: T, b: T, c: T, (da, db, dc): (T, T, T)) -> (T, T) {
    (a.mul_add(b, c), da * b + db * a + dc)
}

/// Which argument `max(a, b)` follows: the larger one, the other if one is NaN (as `max` ignores
/// a NaN), both at a tie.
enum Follows {
    A,
    B,
    Both,
}

#[inline(always)]
fn max_follows<T: Real>(a: T, b: T) -> Follows {
    if a > b || b.is_nan() {
        Follows::A
    } else if b > a || a.is_nan() {
        Follows::B
    } else {
        Follows::Both
    }
}

/// `max(a, b)`: the cotangents, `dout` to the larger argument and `−0.0` to the other, `dout/2`
/// to both at a tie (a NaN argument is ignored, as `max` ignores it).
#[inline(always)]
pub fn max_pullback<T: Real>(a: T, b: T, max: T, dout: T) -> (T, T) {
    let _ = max;
    let z = T::zero_tangent();
    match max_follows(a, b) {
        Follows::A => (dout, z),
        Follows::B => (z, dout),
        Follows::Both => {
            let h = dout * T::select(0.5, 0.5);
            (h, h)
        }
    }
}

/// `max(a, b)`: the gradient goes to the larger argument, split evenly at a tie (a NaN argument
/// is ignored, as `max` ignores it).
#[inline(always)]
pub fn max_vjp<T: Real>(a: T, b: T, dout: T) -> (T, (T, T)) {
    let max = a.max(b);
    (max, max_pullback(a, b, max, dout))
}

/// `max(a, b)`: the tangent of the larger argument, the mean `(da + db)/2` at a tie (a NaN
/// argument is ignored, as `max` ignores it).
///
/// ```
/// assert_eq!(relax_core::ops::max_jvp(1.0_f64, 2.0, (5.0, 7.0)), (2.0, 7.0));
/// ```
#[inline(always)]
pub fn max_jvp<T: Real>(a: T, b: T, (da, db): (T, T)) -> (T, T) {
    let d = match max_follows(a, b) {
        Follows::A => da,
        Follows::B => db,
        Follows::Both => {
            let half = T::select(0.5, 0.5);
            da * half + db * half
        }
    };
    (a.max(b), d)
}

/// `min(a, b)`: the cotangents, as [`max_pullback`] gives them for `max(−b, −a)`.
#[inline(always)]
pub fn min_pullback<T: Real>(a: T, b: T, min: T, dout: T) -> (T, T) {
    let (db, da) = max_pullback(-b, -a, -min, dout);
    (da, db)
}

/// `min(a, b)`: the gradient goes to the smaller argument, split evenly at a tie.
#[inline(always)]
pub fn min_vjp<T: Real>(a: T, b: T, dout: T) -> (T, (T, T)) {
    let min = a.min(b);
    (min, min_pullback(a, b, min, dout))
}

/// `min(a, b)`: the tangent of the smaller argument, the mean at a tie.
///
/// ```
/// assert_eq!(relax_core::ops::min_jvp(1.0_f64, 2.0, (5.0, 7.0)), (1.0, 5.0));
/// ```
#[inline(always)]
pub fn min_jvp<T: Real>(a: T, b: T, (da, db): (T, T)) -> (T, T) {
    let (_, d) = max_jvp(-b, -a, (-db, -da));
    (a.min(b), -d)
}

/// The argument `x.clamp(lo, hi)` follows: `x` for `lo ≤ x ≤ hi`, else the active bound.
enum Clamped {
    X,
    Lo,
    Hi,
}

#[inline(always)]
fn clamp_follows<T: Real>(x: T, lo: T, hi: T) -> Clamped {
    if x < lo {
        Clamped::Lo
    } else if x > hi {
        Clamped::Hi
    } else {
        Clamped::X
    }
}

/// `x.clamp(lo, hi)`: the cotangents, `dout` to `x` for `lo ≤ x ≤ hi`, else to the bound that
/// is active, and `−0.0` to the other two.
#[inline(always)]
pub fn clamp_pullback<T: Real>(x: T, lo: T, hi: T, clamped: T, dout: T) -> (T, T, T) {
    let _ = clamped;
    let z = T::zero_tangent();
    match clamp_follows(x, lo, hi) {
        Clamped::Lo => (z, dout, z),
        Clamped::Hi => (z, z, dout),
        Clamped::X => (dout, z, z),
    }
}

/// `x.clamp(lo, hi)`: the gradient goes to `x` for `lo ≤ x ≤ hi`, else to the bound that is
/// active.
#[inline(always)]
pub fn clamp_vjp<T: Real>(x: T, lo: T, hi: T, dout: T) -> (T, (T, T, T)) {
    let clamped = x.clamp(lo, hi);
    (clamped, clamp_pullback(x, lo, hi, clamped, dout))
}

/// `x.clamp(lo, hi)`: `dx` for `lo ≤ x ≤ hi`, else the tangent of the bound that is active.
///
/// ```
/// assert_eq!(relax_core::ops::clamp_jvp(3.0_f64, 0.0, 1.0, (1.0, 2.0, 4.0)), (1.0, 4.0));
/// ```
#[inline(always)]
pub fn clamp_jvp<T: Real>(x: T, lo: T, hi: T, (dx, dlo, dhi): (T, T, T)) -> (T, T) {
    let d = match clamp_follows(x, lo, hi) {
        Clamped::Lo => dlo,
        Clamped::Hi => dhi,
        Clamped::X => dx,
    };
    (x.clamp(lo, hi), d)
}
