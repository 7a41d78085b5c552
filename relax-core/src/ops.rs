//! Pullbacks of arithmetic and of the float methods that `#[differentiable]` accepts.
//!
//! Each `NAME_vjp(args…, dout) -> (value, G)` has the layout of the rules' pullbacks. The value is
//! computed exactly as the operator or method computes it. Conventions at kinks, as in PyTorch and
//! JAX: `abs'(0) = 0`; `max`/`min` split the gradient evenly at a tie; `clamp` passes it to `x` for
//! `lo ≤ x ≤ hi` and to the active bound otherwise. Where a method has no derivative (`sqrt` at 0,
//! `powf` with base 0) the gradient is what its formula gives.
//!
//! ```
//! use relax_core::ops;
//! assert_eq!(ops::mul_vjp(3.0_f64, 4.0, 1.0), (12.0, (4.0, 3.0)));
//! assert_eq!(ops::abs_vjp(0.0_f64, 1.0), (0.0, 0.0));
//! assert_eq!(ops::max_vjp(1.0_f64, 1.0, 1.0), (1.0, (0.5, 0.5)));
//! ```

use crate::Real;
use crate::loss::sign;

/// `a + b`: `(dout, dout)`.
#[inline(always)]
pub fn add_vjp<T: Real>(a: T, b: T, dout: T) -> (T, (T, T)) {
    (a + b, (dout, dout))
}

/// `a − b`: `(dout, −dout)`.
#[inline(always)]
pub fn sub_vjp<T: Real>(a: T, b: T, dout: T) -> (T, (T, T)) {
    (a - b, (dout, -dout))
}

/// `a·b`: `(dout·b, dout·a)`.
#[inline(always)]
pub fn mul_vjp<T: Real>(a: T, b: T, dout: T) -> (T, (T, T)) {
    (a * b, (dout * b, dout * a))
}

/// `a / b`: `(dout/b, −dout·a/b²)`.
#[inline(always)]
pub fn div_vjp<T: Real>(a: T, b: T, dout: T) -> (T, (T, T)) {
    let q = a / b;
    (q, (dout / b, -dout * q / b))
}

/// `−a`: `−dout`.
#[inline(always)]
pub fn neg_vjp<T: Real>(a: T, dout: T) -> (T, T) {
    (-a, -dout)
}

macro_rules! unary {
    ($($(#[$doc:meta])* $name:ident => |$x:ident, $y:ident| $d:expr;)*) => {$(
        $(#[$doc])*
        #[inline(always)]
        pub fn $name<T: Real>($x: T, dout: T) -> (T, T) {
            let $y = unary!(@value $name, $x);
            let _ = &$y;
            ($y, dout * ($d))
        }
    )*};
    (@value exp_vjp, $x:ident) => { $x.exp() };
    (@value exp2_vjp, $x:ident) => { $x.exp2() };
    (@value exp_m1_vjp, $x:ident) => { $x.exp_m1() };
    (@value ln_vjp, $x:ident) => { $x.ln() };
    (@value ln_1p_vjp, $x:ident) => { $x.ln_1p() };
    (@value log2_vjp, $x:ident) => { $x.log2() };
    (@value log10_vjp, $x:ident) => { $x.log10() };
    (@value sqrt_vjp, $x:ident) => { $x.sqrt() };
    (@value cbrt_vjp, $x:ident) => { $x.cbrt() };
    (@value recip_vjp, $x:ident) => { $x.recip() };
    (@value sin_vjp, $x:ident) => { $x.sin() };
    (@value cos_vjp, $x:ident) => { $x.cos() };
    (@value tan_vjp, $x:ident) => { $x.tan() };
    (@value asin_vjp, $x:ident) => { $x.asin() };
    (@value acos_vjp, $x:ident) => { $x.acos() };
    (@value atan_vjp, $x:ident) => { $x.atan() };
    (@value sinh_vjp, $x:ident) => { $x.sinh() };
    (@value cosh_vjp, $x:ident) => { $x.cosh() };
    (@value tanh_vjp, $x:ident) => { $x.tanh() };
    (@value abs_vjp, $x:ident) => { $x.abs() };
}

unary! {
    /// `eˣ`: `dout·eˣ`.
    exp_vjp => |x, y| y;
    /// `2ˣ`: `dout·ln 2·2ˣ`.
    exp2_vjp => |x, y| y * T::LN_2();
    /// `eˣ − 1`: `dout·eˣ`.
    exp_m1_vjp => |x, y| x.exp();
    /// `ln x`: `dout/x`.
    ln_vjp => |x, y| x.recip();
    /// `ln(1 + x)`: `dout/(1 + x)`.
    ln_1p_vjp => |x, y| (T::one() + x).recip();
    /// `log₂ x`: `dout/(x·ln 2)`.
    log2_vjp => |x, y| (x * T::LN_2()).recip();
    /// `log₁₀ x`: `dout/(x·ln 10)`.
    log10_vjp => |x, y| (x * T::LN_10()).recip();
    /// `√x`: `dout/(2√x)` (infinite at 0).
    sqrt_vjp => |x, y| (y + y).recip();
    /// `∛x`: `dout/(3·∛x²)`.
    cbrt_vjp => |x, y| (T::from_usize(3) * y * y).recip();
    /// `1/x`: `−dout/x²`.
    recip_vjp => |x, y| -(y * y);
    /// `sin x`: `dout·cos x`.
    sin_vjp => |x, y| x.cos();
    /// `cos x`: `−dout·sin x`.
    cos_vjp => |x, y| -x.sin();
    /// `tan x`: `dout·(1 + tan² x)`.
    tan_vjp => |x, y| T::one() + y * y;
    /// `asin x`: `dout/√(1 − x²)`.
    asin_vjp => |x, y| (T::one() - x * x).sqrt().recip();
    /// `acos x`: `−dout/√(1 − x²)`.
    acos_vjp => |x, y| -(T::one() - x * x).sqrt().recip();
    /// `atan x`: `dout/(1 + x²)`.
    atan_vjp => |x, y| (T::one() + x * x).recip();
    /// `sinh x`: `dout·cosh x`.
    sinh_vjp => |x, y| x.cosh();
    /// `cosh x`: `dout·sinh x`.
    cosh_vjp => |x, y| x.sinh();
    /// `tanh x`: `dout·(1 − tanh² x)`.
    tanh_vjp => |x, y| T::one() - y * y;
    /// `|x|`: `dout·sign(x)`, with `sign(0) = 0`.
    abs_vjp => |x, y| sign(x);
}

/// `xⁿ` for an integer `n` (not differentiated): `dout·n·xⁿ⁻¹`.
#[inline(always)]
pub fn powi_vjp<T: Real>(x: T, n: i32, dout: T) -> (T, T) {
    (x.powi(n), dout * T::select(f64::from(n), n as f32) * x.powi(n - 1))
}

/// `xʸ`: `(dout·y·xʸ⁻¹, dout·xʸ·ln x)`.
#[inline(always)]
pub fn powf_vjp<T: Real>(x: T, y: T, dout: T) -> (T, (T, T)) {
    let v = x.powf(y);
    (v, (dout * y * x.powf(y - T::one()), dout * v * x.ln()))
}

/// `atan2(y, x)`: `(dout·x/(x² + y²), −dout·y/(x² + y²))`.
#[inline(always)]
pub fn atan2_vjp<T: Real>(y: T, x: T, dout: T) -> (T, (T, T)) {
    let r2 = x * x + y * y;
    (y.atan2(x), (dout * x / r2, -dout * y / r2))
}

/// `√(a² + b²)`: `(dout·a/h, dout·b/h)`.
#[inline(always)]
pub fn hypot_vjp<T: Real>(a: T, b: T, dout: T) -> (T, (T, T)) {
    let h = a.hypot(b);
    (h, (dout * a / h, dout * b / h))
}

/// `a·b + c` (fused): `(dout·b, dout·a, dout)`.
#[inline(always)]
pub fn mul_add_vjp<T: Real>(a: T, b: T, c: T, dout: T) -> (T, (T, T, T)) {
    (a.mul_add(b, c), (dout * b, dout * a, dout))
}

/// `max(a, b)`: the gradient goes to the larger argument, split evenly at a tie (a NaN argument
/// is ignored, as `max` ignores it).
#[inline(always)]
pub fn max_vjp<T: Real>(a: T, b: T, dout: T) -> (T, (T, T)) {
    let z = T::zero();
    let g = if a > b || b.is_nan() {
        (dout, z)
    } else if b > a || a.is_nan() {
        (z, dout)
    } else {
        let h = dout * T::select(0.5, 0.5);
        (h, h)
    };
    (a.max(b), g)
}

/// `min(a, b)`: the gradient goes to the smaller argument, split evenly at a tie.
#[inline(always)]
pub fn min_vjp<T: Real>(a: T, b: T, dout: T) -> (T, (T, T)) {
    let (_, (db, da)) = max_vjp(-b, -a, dout);
    (a.min(b), (da, db))
}

/// `x.clamp(lo, hi)`: the gradient goes to `x` for `lo ≤ x ≤ hi`, else to the bound that is
/// active.
#[inline(always)]
pub fn clamp_vjp<T: Real>(x: T, lo: T, hi: T, dout: T) -> (T, (T, T, T)) {
    let z = T::zero();
    let g = if x < lo {
        (z, dout, z)
    } else if x > hi {
        (z, z, dout)
    } else {
        (dout, z, z)
    };
    (x.clamp(lo, hi), g)
}
