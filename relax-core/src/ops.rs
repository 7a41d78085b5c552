//! Pullbacks and pushforwards of arithmetic and of the float methods that `#[differentiable]`
//! accepts.
//!
//! Each `NAME_vjp(args…, dout) -> (value, G)` has the layout of the rules' pullbacks, and each
//! `NAME_jvp(args…, tangent) -> (value, dvalue)` that of their pushforwards (`tangent` laid out as
//! `G`). The value is computed exactly as the operator or method computes it. Conventions at
//! kinks, as in PyTorch and JAX, the same in both directions: `abs'(0) = 0`; `max`/`min` split the
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
//! ```

use crate::Real;
use crate::loss::sign;

/// `a + b`: `(dout, dout)`.
#[inline(always)]
pub fn add_vjp<T: Real>(a: T, b: T, dout: T) -> (T, (T, T)) {
    (a + b, (dout, dout))
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

/// `a − b`: `(dout, −dout)`.
#[inline(always)]
pub fn sub_vjp<T: Real>(a: T, b: T, dout: T) -> (T, (T, T)) {
    (a - b, (dout, -dout))
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

/// `a·b`: `(dout·b, dout·a)`.
#[inline(always)]
pub fn mul_vjp<T: Real>(a: T, b: T, dout: T) -> (T, (T, T)) {
    (a * b, (dout * b, dout * a))
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

/// `a / b`: `(dout/b, −dout·a/b²)`.
#[inline(always)]
pub fn div_vjp<T: Real>(a: T, b: T, dout: T) -> (T, (T, T)) {
    let q = a / b;
    (q, (dout / b, -dout * q / b))
}

/// `a / b`: `da/b − db·a/b²`, with `a/b²` computed as `(a/b)/b`.
///
/// ```
/// assert_eq!(relax_core::ops::div_jvp(1.0_f64, 2.0, (1.0, 1.0)), (0.5, 0.25));
/// ```
#[inline(always)]
pub fn div_jvp<T: Real>(a: T, b: T, (da, db): (T, T)) -> (T, T) {
    let q = a / b;
    (q, da / b - db * q / b)
}

/// `−a`: `−dout`.
#[inline(always)]
pub fn neg_vjp<T: Real>(a: T, dout: T) -> (T, T) {
    (-a, -dout)
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
    ($($(#[$doc:meta])* $method:ident: $vjp:ident, $jvp:ident => |$x:ident, $y:ident| $d:expr;)*) => {$(
        $(#[$doc])*
        ///
        /// Pullback: `(value, dout·derivative)`.
        #[inline(always)]
        pub fn $vjp<T: Real>($x: T, dout: T) -> (T, T) {
            let $y = $x.$method();
            let _ = &$y;
            ($y, dout * ($d))
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
    /// `eˣ`, derivative `eˣ`.
    exp: exp_vjp, exp_jvp => |x, y| y;
    /// `2ˣ`, derivative `ln 2·2ˣ`.
    exp2: exp2_vjp, exp2_jvp => |x, y| y * T::LN_2();
    /// `eˣ − 1`, derivative `eˣ`.
    exp_m1: exp_m1_vjp, exp_m1_jvp => |x, y| x.exp();
    /// `ln x`, derivative `1/x`.
    ln: ln_vjp, ln_jvp => |x, y| x.recip();
    /// `ln(1 + x)`, derivative `1/(1 + x)`.
    ln_1p: ln_1p_vjp, ln_1p_jvp => |x, y| (T::one() + x).recip();
    /// `log₂ x`, derivative `1/(x·ln 2)`.
    log2: log2_vjp, log2_jvp => |x, y| (x * T::LN_2()).recip();
    /// `log₁₀ x`, derivative `1/(x·ln 10)`.
    log10: log10_vjp, log10_jvp => |x, y| (x * T::LN_10()).recip();
    /// `√x`, derivative `1/(2√x)` (infinite at 0).
    sqrt: sqrt_vjp, sqrt_jvp => |x, y| (y + y).recip();
    /// `∛x`, derivative `1/(3·∛x²)`.
    cbrt: cbrt_vjp, cbrt_jvp => |x, y| (T::from_usize(3) * y * y).recip();
    /// `1/x`, derivative `−1/x²`.
    recip: recip_vjp, recip_jvp => |x, y| -(y * y);
    /// `sin x`, derivative `cos x`.
    sin: sin_vjp, sin_jvp => |x, y| x.cos();
    /// `cos x`, derivative `−sin x`.
    cos: cos_vjp, cos_jvp => |x, y| -x.sin();
    /// `tan x`, derivative `1 + tan² x`.
    tan: tan_vjp, tan_jvp => |x, y| T::one() + y * y;
    /// `asin x`, derivative `1/√(1 − x²)`.
    asin: asin_vjp, asin_jvp => |x, y| (T::one() - x * x).sqrt().recip();
    /// `acos x`, derivative `−1/√(1 − x²)`.
    acos: acos_vjp, acos_jvp => |x, y| -(T::one() - x * x).sqrt().recip();
    /// `atan x`, derivative `1/(1 + x²)`.
    atan: atan_vjp, atan_jvp => |x, y| (T::one() + x * x).recip();
    /// `sinh x`, derivative `cosh x`.
    sinh: sinh_vjp, sinh_jvp => |x, y| x.cosh();
    /// `cosh x`, derivative `sinh x`.
    cosh: cosh_vjp, cosh_jvp => |x, y| x.sinh();
    /// `tanh x`, derivative `1 − tanh² x`.
    tanh: tanh_vjp, tanh_jvp => |x, y| T::one() - y * y;
    /// `|x|`, derivative `sign(x)`, with `sign(0) = 0`.
    abs: abs_vjp, abs_jvp => |x, y| sign(x);
}

/// `xⁿ` for an integer `n` (not differentiated): `dout·n·xⁿ⁻¹`.
#[inline(always)]
pub fn powi_vjp<T: Real>(x: T, n: i32, dout: T) -> (T, T) {
    (x.powi(n), dout * T::select(f64::from(n), n as f32) * x.powi(n - 1))
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

/// `xʸ`: `(dout·y·xʸ⁻¹, dout·xʸ·ln x)`.
#[inline(always)]
pub fn powf_vjp<T: Real>(x: T, y: T, dout: T) -> (T, (T, T)) {
    let v = x.powf(y);
    (v, (dout * y * x.powf(y - T::one()), dout * v * x.ln()))
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

/// `atan2(y, x)`: `(dout·x/(x² + y²), −dout·y/(x² + y²))`.
#[inline(always)]
pub fn atan2_vjp<T: Real>(y: T, x: T, dout: T) -> (T, (T, T)) {
    let r2 = x * x + y * y;
    (y.atan2(x), (dout * x / r2, -dout * y / r2))
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

/// `√(a² + b²)`: `(dout·a/h, dout·b/h)`.
#[inline(always)]
pub fn hypot_vjp<T: Real>(a: T, b: T, dout: T) -> (T, (T, T)) {
    let h = a.hypot(b);
    (h, (dout * a / h, dout * b / h))
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

/// `a·b + c` (fused): `(dout·b, dout·a, dout)`.
#[inline(always)]
pub fn mul_add_vjp<T: Real>(a: T, b: T, c: T, dout: T) -> (T, (T, T, T)) {
    (a.mul_add(b, c), (dout * b, dout * a, dout))
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

/// `max(a, b)`: the gradient goes to the larger argument, split evenly at a tie (a NaN argument
/// is ignored, as `max` ignores it).
#[inline(always)]
pub fn max_vjp<T: Real>(a: T, b: T, dout: T) -> (T, (T, T)) {
    let z = T::zero();
    let g = match max_follows(a, b) {
        Follows::A => (dout, z),
        Follows::B => (z, dout),
        Follows::Both => {
            let h = dout * T::select(0.5, 0.5);
            (h, h)
        }
    };
    (a.max(b), g)
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

/// `min(a, b)`: the gradient goes to the smaller argument, split evenly at a tie.
#[inline(always)]
pub fn min_vjp<T: Real>(a: T, b: T, dout: T) -> (T, (T, T)) {
    let (_, (db, da)) = max_vjp(-b, -a, dout);
    (a.min(b), (da, db))
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

/// `x.clamp(lo, hi)`: the gradient goes to `x` for `lo ≤ x ≤ hi`, else to the bound that is
/// active.
#[inline(always)]
pub fn clamp_vjp<T: Real>(x: T, lo: T, hi: T, dout: T) -> (T, (T, T, T)) {
    let z = T::zero();
    let g = match clamp_follows(x, lo, hi) {
        Clamped::Lo => (z, dout, z),
        Clamped::Hi => (z, z, dout),
        Clamped::X => (dout, z, z),
    };
    (x.clamp(lo, hi), g)
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
