//! Dual numbers: forward-mode derivatives, and with the pullbacks, Hessian-vector products.
//!
//! A [`Dual<T>`] carries a value `v` and a tangent `d`, the derivative of `v` along one direction.
//! Every operation computes its value with exactly the float operation `T` uses (so values are
//! bit-identical to the computation without duals) and its tangent by the chain rule. `Dual<T>` is
//! itself a [`Real`], so any code generic over `T: Real` runs on it, nested ones
//! (`Dual<Dual<f64>>`) included.
//!
//! Running a reverse sweep (the pullbacks of relax-core, or a generated `_vjp`) on dual inputs
//! `Dual { v: x, d: v }` gives, in the value parts, the gradient at `x` and, in the tangent parts,
//! its derivative along `v`: the Hessian-vector product `H·v` (forward over reverse).
//!
//! ```
//! use relax_core::{Dual, ops};
//! // f(a, b) = a²·b: its gradient is (2ab, a²), its Hessian [[2b, 2a], [2a, 0]].
//! fn grad<T: relax_core::Real>(a: T, b: T) -> (T, T) {
//!     let sq = a * a;
//!     let (_, (dsq, db)) = ops::mul_vjp(sq, b, T::one());
//!     let (_, (da1, da2)) = ops::mul_vjp(a, a, dsq);
//!     (da1 + da2, db)
//! }
//! let (a, b) = (3.0_f64, 2.0);
//! let (ga, gb) = grad(Dual { v: a, d: 1.0 }, Dual { v: b, d: 0.0 }); // direction v = (1, 0)
//! assert_eq!((ga.v, gb.v), (12.0, 9.0)); // the gradient
//! assert_eq!((ga.d, gb.d), (4.0, 6.0)); // H·(1, 0) = (2b, 2a)
//! ```
//!
//! Conventions:
//! * Comparisons (`==`, `<`, `partial_cmp`) look at the value only: branch and kink decisions
//!   follow the primal computation, so that the dual computation takes the same path and its
//!   values stay those of the plain one. [`Zero::is_zero`] is structural instead (value and
//!   tangent both zero): it says whether a `Dual` is the additive identity.
//! * At kinks the tangents follow relax's pullbacks: `abs'(0) = 0`; `max`/`min` split 0.5/0.5 at
//!   a tie (and ignore a NaN argument as the value does); `clamp` follows `x` for `lo ≤ x ≤ hi`
//!   and the active bound otherwise; `signum`, `floor`, `ceil`, `round`, `trunc` have tangent 0
//!   and `fract` passes it through.
//! * A method multiplies each argument's tangent by its partial derivative, and an argument whose
//!   tangent is exactly zero contributes exactly zero. So passive operands never pick up a NaN
//!   tangent where the partial derivative is infinite or undefined (`x.powf(2.0)` for `x < 0`
//!   would otherwise meet `ln x`, a constant `0.0.sqrt()` meets `1/0`); where an active tangent
//!   meets such a point, the result is what the formula gives (`sqrt` at 0: infinite). The
//!   arithmetic operators use the plain product and quotient rules.
//! * Conversions (`NumCast`, `ToPrimitive`) convert the value; a converted-in number has tangent 0.

use core::cmp::Ordering;
use core::fmt;
use core::iter::{Product, Sum};
use core::num::FpCategory;
use core::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Rem, RemAssign, Sub, SubAssign};
use num_traits::{Float, FloatConst, Num, NumCast, One, ToPrimitive, Zero};

use crate::loss::sign;
use crate::{AddScaled, Coordinates, Differentiable, Real, Tangent};

/// A dual number `v + d·ε` with `ε² = 0`: a value and its tangent (directional derivative).
///
/// ```
/// use relax_core::Dual;
/// use relax_core::num_traits::Float;
/// let x = Dual { v: 0.5_f64, d: 1.0 };
/// let y = x.sin() * x;
/// assert_eq!(y.v, 0.5_f64.sin() * 0.5); // the value, bit for bit
/// assert!((y.d - (0.5_f64.cos() * 0.5 + 0.5_f64.sin())).abs() < 1e-15); // d/dx (x·sin x)
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Dual<T> {
    /// The value.
    pub v: T,
    /// The tangent: the derivative of the value along the direction being pushed forward.
    pub d: T,
}

impl<T: Real> Dual<T> {
    /// `v` with tangent zero.
    #[inline(always)]
    fn passive(v: T) -> Self {
        Dual { v, d: T::zero() }
    }
}

/// `dx·∂`, where an exactly zero tangent contributes exactly zero (and `∂` is not evaluated).
#[inline(always)]
fn chain<T: Real>(dx: T, partial: impl FnOnce() -> T) -> T {
    if dx.is_zero() { T::zero() } else { dx * partial() }
}

/// How generated code turns a passive operand into the active float type: a float into a
/// [`Dual`] with tangent zero, a float or a `Dual` into itself, arrays (nested too) elementwise,
/// and a reference into what it points to, lifted.
///
/// Type inference finds the target where the use fixes it (`let y: Dual<f64> = Lift::lift(2.0)`,
/// an argument of a generic rule); beside an operator it needs the target spelled out
/// (`Lift::<Dual<f64>>::lift(2.0) * x`), since a dual also combines with a plain float directly
/// (`x * 2.0`, `x > 0.0`: the float is a constant).
///
/// ```
/// use relax_core::{Dual, Lift};
/// let x = Dual { v: 3.0_f64, d: 1.0 };
/// let y = x * Lift::<Dual<f64>>::lift(2.0);
/// assert_eq!((y.v, y.d), (6.0, 2.0));
/// assert_eq!((x * 2.0).d, 2.0);
/// let xs: [Dual<f64>; 2] = Lift::lift(&[1.0, 2.0]);
/// assert_eq!((xs[1].v, xs[1].d), (2.0, 0.0));
/// ```
pub trait Lift<Target> {
    /// `self` as a `Target`.
    fn lift(self) -> Target;
}

/// Each impl by value and through a reference (a blanket `impl Lift<B> for &A` would overlap
/// with `Lift<Dual<T>> for T`, since downstream crates may implement traits for `&_`).
macro_rules! lift {
    ($([$($g:tt)*] $from:ty => $to:ty, |$x:ident| $body:expr;)*) => {$(
        impl<$($g)*> Lift<$to> for $from {
            #[inline(always)]
            fn lift(self) -> $to {
                let $x = self;
                $body
            }
        }
        impl<$($g)*> Lift<$to> for &$from {
            #[inline(always)]
            fn lift(self) -> $to {
                (*self).lift()
            }
        }
    )*};
}
lift! {
    [T: Real] T => Dual<T>, |x| Dual::passive(x);
    [T: Real] Dual<T> => Dual<T>, |x| x;
    [] f64 => f64, |x| x;
    [] f32 => f32, |x| x;
    [A: Lift<B> + Copy, B, const N: usize] [A; N] => [B; N], |x| x.map(A::lift);
}

// ---------------------------------------------------------------------------------------------
// Arithmetic.

impl<T: Real> Add for Dual<T> {
    type Output = Self;
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Dual { v: self.v + o.v, d: self.d + o.d }
    }
}

impl<T: Real> Sub for Dual<T> {
    type Output = Self;
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        Dual { v: self.v - o.v, d: self.d - o.d }
    }
}

impl<T: Real> Mul for Dual<T> {
    type Output = Self;
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        Dual { v: self.v * o.v, d: self.d * o.v + self.v * o.d }
    }
}

impl<T: Real> Div for Dual<T> {
    type Output = Self;
    /// `(a/b)' = (a' − (a/b)·b')/b`.
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        let q = self.v / o.v;
        Dual { v: q, d: (self.d - q * o.d) / o.v }
    }
}

impl<T: Real> Rem for Dual<T> {
    type Output = Self;
    /// `a % b = a − n·b` with the integer `n = trunc(a/b)` locally constant: `(a % b)' = a' − n·b'`.
    #[inline(always)]
    fn rem(self, o: Self) -> Self {
        let r = self.v % o.v;
        Dual { v: r, d: self.d - chain(o.d, || (self.v - r) / o.v) }
    }
}

impl<T: Real> Neg for Dual<T> {
    type Output = Self;
    #[inline(always)]
    fn neg(self) -> Self {
        Dual { v: -self.v, d: -self.d }
    }
}

macro_rules! assign_op {
    ($($trait:ident $method:ident $op:tt;)*) => {$(
        impl<T: Real> $trait for Dual<T> {
            #[inline(always)]
            fn $method(&mut self, o: Self) {
                *self = *self $op o;
            }
        }
    )*};
}
assign_op! {
    AddAssign add_assign +;
    SubAssign sub_assign -;
    MulAssign mul_assign *;
    DivAssign div_assign /;
    RemAssign rem_assign %;
}

impl<T: Real> Sum for Dual<T> {
    /// Starts from `T`'s own empty sum and adds in order, as `T`'s `Sum` does.
    #[inline]
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        let empty: T = core::iter::empty::<T>().sum();
        iter.fold(Dual { v: empty, d: empty }, |a, b| a + b)
    }
}

impl<'a, T: Real> Sum<&'a Dual<T>> for Dual<T> {
    #[inline]
    fn sum<I: Iterator<Item = &'a Self>>(iter: I) -> Self {
        iter.copied().sum()
    }
}

impl<T: Real> Product for Dual<T> {
    /// Starts from one and multiplies in order, as `T`'s `Product` does.
    #[inline]
    fn product<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Dual { v: T::one(), d: T::zero() }, |a, b| a * b)
    }
}

impl<'a, T: Real> Product<&'a Dual<T>> for Dual<T> {
    #[inline]
    fn product<I: Iterator<Item = &'a Self>>(iter: I) -> Self {
        iter.copied().product()
    }
}

// ---------------------------------------------------------------------------------------------
// Comparisons, formatting, the num-traits basics.

impl<T: Real> PartialEq for Dual<T> {
    /// Compares the values only: branch decisions follow the primal computation.
    #[inline(always)]
    fn eq(&self, o: &Self) -> bool {
        self.v == o.v
    }
}

impl<T: Real> PartialOrd for Dual<T> {
    /// Orders by the values only: branch and kink decisions follow the primal computation.
    #[inline(always)]
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        self.v.partial_cmp(&o.v)
    }
    #[inline(always)]
    fn lt(&self, o: &Self) -> bool {
        self.v < o.v
    }
    #[inline(always)]
    fn le(&self, o: &Self) -> bool {
        self.v <= o.v
    }
    #[inline(always)]
    fn gt(&self, o: &Self) -> bool {
        self.v > o.v
    }
    #[inline(always)]
    fn ge(&self, o: &Self) -> bool {
        self.v >= o.v
    }
}

impl<T: fmt::Display> fmt::Display for Dual<T> {
    /// `v + dε`, each part with the formatter's options.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.v, f)?;
        f.write_str(" + ")?;
        fmt::Display::fmt(&self.d, f)?;
        f.write_str("ε")
    }
}

impl<T: Real> Zero for Dual<T> {
    #[inline(always)]
    fn zero() -> Self {
        Dual { v: T::zero(), d: T::zero() }
    }
    /// Structural: value and tangent both zero (unlike `==`, which compares values).
    #[inline(always)]
    fn is_zero(&self) -> bool {
        self.v.is_zero() && self.d.is_zero()
    }
}

impl<T: Real> One for Dual<T> {
    #[inline(always)]
    fn one() -> Self {
        Self::passive(T::one())
    }
}

impl<T: Real> Num for Dual<T> {
    type FromStrRadixErr = T::FromStrRadixErr;
    fn from_str_radix(s: &str, radix: u32) -> Result<Self, Self::FromStrRadixErr> {
        T::from_str_radix(s, radix).map(Self::passive)
    }
}

macro_rules! to_primitive {
    ($($method:ident -> $t:ty;)*) => {
        impl<T: Real> ToPrimitive for Dual<T> {
            $(
                #[inline(always)]
                fn $method(&self) -> Option<$t> {
                    self.v.$method()
                }
            )*
        }
    };
}
to_primitive! {
    to_isize -> isize; to_i8 -> i8; to_i16 -> i16; to_i32 -> i32; to_i64 -> i64; to_i128 -> i128;
    to_usize -> usize; to_u8 -> u8; to_u16 -> u16; to_u32 -> u32; to_u64 -> u64; to_u128 -> u128;
    to_f32 -> f32; to_f64 -> f64;
}

impl<T: Real> NumCast for Dual<T> {
    /// `T`'s conversion of `n` (for a `Dual`, of its value), with tangent zero.
    #[inline(always)]
    fn from<N: ToPrimitive>(n: N) -> Option<Self> {
        <T as NumCast>::from(n).map(Self::passive)
    }
}

macro_rules! float_consts {
    ($($c:ident)*) => {
        impl<T: Real> FloatConst for Dual<T> {
            $(
                #[inline(always)]
                fn $c() -> Self {
                    Self::passive(T::$c())
                }
            )*
        }
    };
}
float_consts!(E FRAC_1_PI FRAC_1_SQRT_2 FRAC_2_PI FRAC_2_SQRT_PI FRAC_PI_2 FRAC_PI_3 FRAC_PI_4 FRAC_PI_6 FRAC_PI_8
    LN_10 LN_2 LOG10_E LOG2_E PI SQRT_2 TAU LOG10_2 LOG2_10);

// ---------------------------------------------------------------------------------------------
// Float.

/// Constants: tangent zero.
macro_rules! constants {
    ($($c:ident)*) => {$(
        #[inline(always)]
        fn $c() -> Self {
            Self::passive(T::$c())
        }
    )*};
}

/// Predicates and decompositions: of the value.
macro_rules! of_value {
    ($($m:ident -> $t:ty;)*) => {$(
        #[inline(always)]
        fn $m(self) -> $t {
            self.v.$m()
        }
    )*};
}

/// Piecewise constant: tangent zero.
macro_rules! flat {
    ($($m:ident)*) => {$(
        #[inline(always)]
        fn $m(self) -> Self {
            Self::passive(self.v.$m())
        }
    )*};
}

/// Linear maps: the same map applied to the tangent.
macro_rules! linear {
    ($($m:ident)*) => {$(
        #[inline(always)]
        fn $m(self) -> Self {
            Dual { v: self.v.$m(), d: self.d.$m() }
        }
    )*};
}

/// Smooth unary methods: `d·f'(x)`, the derivative written in terms of `x` and the value `y`.
macro_rules! unary {
    ($($m:ident => |$x:ident, $y:ident| $partial:expr;)*) => {$(
        #[inline(always)]
        fn $m(self) -> Self {
            let $x = self.v;
            let $y = $x.$m();
            Dual { v: $y, d: chain(self.d, || $partial) }
        }
    )*};
}

impl<T: Real> Float for Dual<T> {
    constants!(nan infinity neg_infinity neg_zero min_value min_positive_value epsilon max_value);

    of_value! {
        is_nan -> bool; is_infinite -> bool; is_finite -> bool; is_normal -> bool; is_subnormal -> bool;
        classify -> FpCategory; is_sign_positive -> bool; is_sign_negative -> bool;
        integer_decode -> (u64, i16, i8);
    }

    flat!(floor ceil round trunc signum);

    linear!(to_degrees to_radians);

    /// `x − trunc(x)`: tangent passed through.
    #[inline(always)]
    fn fract(self) -> Self {
        Dual { v: self.v.fract(), d: self.d }
    }

    unary! {
        abs => |x, y| sign(x);
        exp => |x, y| y;
        exp2 => |x, y| y * T::LN_2();
        exp_m1 => |x, y| x.exp();
        ln => |x, y| x.recip();
        ln_1p => |x, y| (T::one() + x).recip();
        log2 => |x, y| (x * T::LN_2()).recip();
        log10 => |x, y| (x * T::LN_10()).recip();
        sqrt => |x, y| (y + y).recip();
        cbrt => |x, y| (T::from_usize(3) * y * y).recip();
        recip => |x, y| -(y * y);
        sin => |x, y| x.cos();
        cos => |x, y| -x.sin();
        tan => |x, y| T::one() + y * y;
        asin => |x, y| ((T::one() - x) * (T::one() + x)).sqrt().recip();
        acos => |x, y| -((T::one() - x) * (T::one() + x)).sqrt().recip();
        atan => |x, y| (T::one() + x * x).recip();
        sinh => |x, y| x.cosh();
        cosh => |x, y| x.sinh();
        tanh => |x, y| T::one() - y * y;
        asinh => |x, y| x.hypot(T::one()).recip();
        acosh => |x, y| ((x - T::one()).sqrt() * (x + T::one()).sqrt()).recip();
        atanh => |x, y| ((T::one() - x) * (T::one() + x)).recip();
    }

    /// `(sin x, cos x)` from one `sin_cos` of the value.
    #[inline(always)]
    fn sin_cos(self) -> (Self, Self) {
        let (s, c) = self.v.sin_cos();
        (Dual { v: s, d: chain(self.d, || c) }, Dual { v: c, d: chain(self.d, || -s) })
    }

    /// `xⁿ`: `n·xⁿ⁻¹·d` (tangent 0 for `n = 0`).
    #[inline(always)]
    fn powi(self, n: i32) -> Self {
        let x = self.v;
        let partial = || {
            let lower = match n.checked_sub(1) {
                Some(m) => x.powi(m),
                None => x.powi(n) / x,
            };
            T::select(<f64 as From<i32>>::from(n), n as f32) * lower
        };
        Dual { v: x.powi(n), d: if n == 0 { T::zero() } else { chain(self.d, partial) } }
    }

    /// `xʸ`: `y·xʸ⁻¹·dx + xʸ·ln x·dy`.
    #[inline(always)]
    fn powf(self, n: Self) -> Self {
        let (x, y) = (self.v, n.v);
        let v = x.powf(y);
        Dual { v, d: chain(self.d, || y * x.powf(y - T::one())) + chain(n.d, || v * x.ln()) }
    }

    /// `ln x / ln b`: `dx/(x·ln b) − log_b(x)·db/(b·ln b)`.
    #[inline(always)]
    fn log(self, base: Self) -> Self {
        let (x, b) = (self.v, base.v);
        let v = x.log(b);
        Dual { v, d: chain(self.d, || (x * b.ln()).recip()) - chain(base.d, || v / (b * b.ln())) }
    }

    /// `atan2(y, x)`: `(x·dy − y·dx)/(x² + y²)`, scaled by the hypotenuse so it cannot overflow.
    #[inline(always)]
    fn atan2(self, other: Self) -> Self {
        let (y, x) = (self.v, other.v);
        let h = y.hypot(x);
        Dual { v: y.atan2(x), d: chain(self.d, || x / h / h) - chain(other.d, || y / h / h) }
    }

    /// `√(a² + b²)`: `(a·da + b·db)/h`.
    #[inline(always)]
    fn hypot(self, other: Self) -> Self {
        let (a, b) = (self.v, other.v);
        let h = a.hypot(b);
        Dual { v: h, d: chain(self.d, || a / h) + chain(other.d, || b / h) }
    }

    /// `a·b + c` (fused value): `da·b + a·db + dc`.
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        Dual { v: self.v.mul_add(a.v, b.v), d: self.d * a.v + self.v * a.d + b.d }
    }

    /// The tangent of the larger argument, half of each at a tie; a NaN argument is ignored.
    #[inline(always)]
    fn max(self, other: Self) -> Self {
        let (a, b) = (self.v, other.v);
        let d = if a > b || b.is_nan() {
            self.d
        } else if b > a || a.is_nan() {
            other.d
        } else {
            (self.d + other.d) * T::select(0.5, 0.5)
        };
        Dual { v: a.max(b), d }
    }

    /// The tangent of the smaller argument, half of each at a tie; a NaN argument is ignored.
    #[inline(always)]
    fn min(self, other: Self) -> Self {
        let m = (-self).max(-other);
        Dual { v: self.v.min(other.v), d: -m.d }
    }

    /// The tangent of `x` for `lo ≤ x ≤ hi`, else of the active bound. Panics as `T::clamp` does.
    #[inline(always)]
    fn clamp(self, lo: Self, hi: Self) -> Self {
        let v = self.v.clamp(lo.v, hi.v);
        let d = if self.v < lo.v {
            lo.d
        } else if self.v > hi.v {
            hi.d
        } else {
            self.d
        };
        Dual { v, d }
    }

    /// `max(a − b, 0)`: `da − db` where `a > b`, else 0.
    #[inline(always)]
    fn abs_sub(self, other: Self) -> Self {
        let d = if self.v > other.v { self.d - other.d } else { T::zero() };
        Dual { v: Float::abs_sub(self.v, other.v), d }
    }

    /// `|x|` with the sign of `sign`: `±dx` (the sign contributes nothing).
    #[inline(always)]
    fn copysign(self, sign: Self) -> Self {
        let v = self.v.copysign(sign.v);
        Dual { v, d: if v.is_sign_negative() == self.v.is_sign_negative() { self.d } else { -self.d } }
    }
}

// ---------------------------------------------------------------------------------------------
// relax's traits.

/// The zero tangent is `−0.0` in both parts, the additive identity of [`Tangent`] (while
/// [`Zero::zero`], a value, is `+0.0` in both).
impl<T: Real> Tangent for Dual<T> {
    #[inline(always)]
    fn zero_tangent() -> Self {
        Dual { v: T::zero_tangent(), d: T::zero_tangent() }
    }
    #[inline(always)]
    fn zero_like(&self) -> Self {
        Self::zero_tangent()
    }
    /// `+0.0` in both parts, as for floats: a `memset` for an array of duals.
    #[inline(always)]
    fn zero_to_overwrite() -> Self {
        Dual { v: T::zero_to_overwrite(), d: T::zero_to_overwrite() }
    }
    #[inline(always)]
    fn add_tangent(&mut self, other: Self) {
        *self += other;
    }
    #[inline(always)]
    fn sub_tangent(&mut self, other: Self) {
        *self -= other;
    }
}

impl<T: Real> AddScaled<Dual<T>> for Dual<T> {
    #[inline(always)]
    fn add_scaled(&mut self, k: Self, other: Self) {
        *self += k * other;
    }
    #[inline(always)]
    fn scale(&mut self, k: Self) {
        *self = k * *self;
    }
}

impl<T: Real> Differentiable for Dual<T> {
    type Scalar = Dual<T>;
}

/// The coordinates of the value, then those of the tangent.
impl<T: Real> Coordinates for Dual<T> {
    fn for_each_coordinate(&self, f: &mut dyn FnMut(f64)) {
        self.v.for_each_coordinate(f);
        self.d.for_each_coordinate(f);
    }
    fn map_coordinates(&mut self, f: &mut dyn FnMut(f64) -> f64) {
        self.v.map_coordinates(f);
        self.d.map_coordinates(f);
    }
}

impl<T: Real> Real for Dual<T> {
    /// `T`'s literal, tangent zero.
    #[inline(always)]
    fn select(v64: f64, v32: f32) -> Self {
        Self::passive(T::select(v64, v32))
    }

    #[inline(always)]
    fn from_usize(n: usize) -> Self {
        Self::passive(T::from_usize(n))
    }

    /// Draws exactly what `T` draws (the RNG advances identically), tangent zero.
    #[cfg(feature = "rand")]
    #[inline]
    fn standard_normal<R: rand::Rng + ?Sized>(rng: &mut R) -> Self {
        Self::passive(T::standard_normal(rng))
    }

    /// Draws exactly what `T` draws (the RNG advances identically), tangent zero.
    #[cfg(feature = "rand")]
    #[inline]
    fn open01<R: rand::Rng + ?Sized>(rng: &mut R) -> Self {
        Self::passive(T::open01(rng))
    }
}

// ---------------------------------------------------------------------------------------------
// Plain floats beside duals: what passive expressions of a function run on duals compare with
// and compute (`x > 0.0`, `stop_gradient(x) * 2.0`), the float taken as a constant.

// A constant's tangent is zero: its sum and difference keep the dual's tangent, its product and
// quotient scale it (`(a·c)' = a'·c`: two products where a dual product takes four, the zero
// tangent's products being ones IEEE arithmetic cannot drop). The sweeps of `NAME_hvp` use these
// for data operands (tests/dual.rs checks them against the lifted forms).
macro_rules! mixed_ops {
    ($($op:ident $method:ident |$a:ident, $c:ident| $value:expr),*) => {$(
        impl<T: Real> $op<T> for Dual<T> {
            type Output = Dual<T>;
            #[inline(always)]
            fn $method(self, $c: T) -> Dual<T> {
                let $a = self;
                $value
            }
        }
    )*};
}
mixed_ops!(
    Add add |a, c| Dual { v: a.v + c, d: a.d },
    Sub sub |a, c| Dual { v: a.v - c, d: a.d },
    Mul mul |a, c| Dual { v: a.v * c, d: a.d * c },
    Div div |a, c| Dual { v: a.v / c, d: a.d / c }
);

/// `dot(a, c)` of duals with a constant array (data), as `dot` computes it with `c` lifted to
/// duals (the value bit for bit), without lifting it or multiplying its zero tangents. The
/// constant may be duals itself: a `stop_gradient` of differentiated values, which `_hvp`'s
/// sweeps compute on duals (likewise for the other constant forms below).
///
/// ```
/// use relax_core::{Dual, dual::dot_constant};
/// let a = [Dual { v: 1.0_f64, d: 1.0 }, Dual { v: 2.0, d: 0.0 }];
/// assert_eq!(dot_constant(a, [3.0, 4.0]), Dual { v: 11.0, d: 3.0 });
/// ```
#[inline]
pub fn dot_constant<T: Real, C: Copy, const N: usize>(a: [Dual<T>; N], c: [C; N]) -> Dual<T>
where
    Dual<T>: Mul<C, Output = Dual<T>>,
{
    a.iter().zip(c).fold(-Dual::<T>::zero(), |s, (&u, v)| s + u * v)
}

/// The cotangent of `a` in [`dot_constant`]`(a, c)`: `dout·c`, the first of
/// [`dot_pullback`](crate::dot_pullback)'s cotangents with `c` lifted.
///
/// ```
/// use relax_core::{Dual, dual::dot_constant_pullback};
/// let dout = Dual { v: 2.0_f64, d: 1.0 };
/// assert_eq!(dot_constant_pullback([3.0, 4.0], dout), [Dual { v: 6.0, d: 3.0 }, Dual { v: 8.0, d: 4.0 }]);
/// ```
#[inline]
pub fn dot_constant_pullback<T: Real, C: Copy, const N: usize>(c: [C; N], dout: Dual<T>) -> [Dual<T>; N]
where
    Dual<T>: Mul<C, Output = Dual<T>>,
{
    crate::arrays::from_index(|i| dout * c[i])
}

/// The cotangent of the dual `a` in `a·c` or `c·a` for a constant `c`: `dout·c`, the active side
/// of [`ops::mul_pullback`](crate::ops::mul_pullback) with `c` lifted, without the products with
/// its zero tangent.
///
/// ```
/// use relax_core::{Dual, dual::mul_constant_pullback};
/// assert_eq!(mul_constant_pullback(3.0, Dual { v: 2.0_f64, d: 1.0 }), Dual { v: 6.0, d: 3.0 });
/// ```
#[inline(always)]
pub fn mul_constant_pullback<T: Real, C>(c: C, dout: Dual<T>) -> Dual<T>
where
    Dual<T>: Mul<C, Output = Dual<T>>,
{
    dout * c
}

/// The cotangent of the dual `a` in `a / c` for a constant `c`: `dout·(1/c)`, as
/// [`ops::div_constant_pullback`](crate::ops::div_constant_pullback).
///
/// ```
/// use relax_core::{Dual, dual::div_constant_pullback};
/// assert_eq!(div_constant_pullback(2.0, Dual { v: 3.0_f64, d: 1.0 }), Dual { v: 1.5, d: 0.5 });
/// ```
#[inline(always)]
pub fn div_constant_pullback<T: Real, C: Real>(c: C, dout: Dual<T>) -> Dual<T>
where
    Dual<T>: Mul<C, Output = Dual<T>>,
{
    dout * (C::one() / c)
}

macro_rules! mixed_ops_left {
    ($($t:ty),*) => {$(
        impl Add<Dual<$t>> for $t {
            type Output = Dual<$t>;
            #[inline(always)]
            fn add(self, o: Dual<$t>) -> Dual<$t> {
                Dual { v: self + o.v, d: o.d }
            }
        }
        impl Sub<Dual<$t>> for $t {
            type Output = Dual<$t>;
            #[inline(always)]
            fn sub(self, o: Dual<$t>) -> Dual<$t> {
                Dual::passive(self) - o
            }
        }
        impl Mul<Dual<$t>> for $t {
            type Output = Dual<$t>;
            #[inline(always)]
            fn mul(self, o: Dual<$t>) -> Dual<$t> {
                Dual { v: self * o.v, d: self * o.d }
            }
        }
        impl Div<Dual<$t>> for $t {
            type Output = Dual<$t>;
            #[inline(always)]
            fn div(self, o: Dual<$t>) -> Dual<$t> {
                Dual::passive(self) / o
            }
        }
        impl PartialEq<Dual<$t>> for $t {
            #[inline(always)]
            fn eq(&self, o: &Dual<$t>) -> bool {
                *self == o.v
            }
        }
        impl PartialOrd<Dual<$t>> for $t {
            #[inline(always)]
            fn partial_cmp(&self, o: &Dual<$t>) -> Option<Ordering> {
                self.partial_cmp(&o.v)
            }
        }
    )*};
}
mixed_ops_left!(f32, f64);

impl<T: Real> PartialEq<T> for Dual<T> {
    /// Compares the value only.
    #[inline(always)]
    fn eq(&self, o: &T) -> bool {
        self.v == *o
    }
}

impl<T: Real> PartialOrd<T> for Dual<T> {
    /// Orders by the value only.
    #[inline(always)]
    fn partial_cmp(&self, o: &T) -> Option<Ordering> {
        self.v.partial_cmp(o)
    }
}

/// The values of duals: what passive code of an `hvp` function (a condition, a `stop_gradient`
/// argument) reads of its differentiated values on the sweeps on dual numbers, so that it runs
/// as in the function (on floats: a float function called on them type-checks) and its values
/// carry no tangent, as `stop_gradient`'s zero derivative says. `#[derive(Differentiable)]`
/// implements it for the struct over `Dual<T>` of a struct with [`SeedStruct`].
///
/// ```
/// use relax_core::{Dual, dual::Primal};
/// let x = [Dual { v: 1.5_f64, d: 2.0 }, Dual { v: -0.5, d: 1.0 }];
/// assert_eq!(x.primal(), [1.5, -0.5]);
/// assert_eq!((&x[0]).primal(), 1.5);
/// assert_eq!((x[1], [x[0]]).primal(), (-0.5, [1.5]));
/// ```
pub trait Primal {
    /// The same shape of floats.
    type Primal;
    /// The values.
    fn primal(self) -> Self::Primal;
}

impl<T: Real> Primal for Dual<T> {
    type Primal = T;
    #[inline(always)]
    fn primal(self) -> T {
        self.v
    }
}

impl<A: Primal + Copy, const N: usize> Primal for [A; N] {
    type Primal = [A::Primal; N];
    #[inline(always)]
    fn primal(self) -> [A::Primal; N] {
        self.map(A::primal)
    }
}

impl<A: Primal + Copy> Primal for &A {
    type Primal = A::Primal;
    #[inline(always)]
    fn primal(self) -> A::Primal {
        (*self).primal()
    }
}

/// Tuples (a differentiable callee's several outputs), element by element.
macro_rules! primal_tuples {
    ($(($($name:ident),+)),+) => {$(
        impl<$($name: Primal),+> Primal for ($($name,)+) {
            type Primal = ($($name::Primal,)+);
            #[inline(always)]
            #[allow(non_snake_case)]
            fn primal(self) -> Self::Primal {
                let ($($name,)+) = self;
                ($($name.primal(),)+)
            }
        }
    )+};
}
primal_tuples!((A), (A, B), (A, B, C), (A, B, C, D), (A, B, C, D, E), (A, B, C, D, E, F));

/// A data argument of a call in the sweeps on dual numbers (`NAME_hvp`'s): itself, or, where the
/// callee differentiates that parameter and so takes a dual, a float (or an array of them) lifted
/// with zero tangents: `f(x, 0.5)` calls `f`'s form on duals with `Dual::passive(0.5)`. The
/// callee's parameter type decides which (the identity for anything, the lift for floats and
/// arrays of them; `#[derive(Differentiable)]` implements the lift for a struct with [`Seed`],
/// to the struct over duals).
///
/// ```
/// use relax_core::{Dual, dual::IntoDual};
/// let d: Dual<f64> = 0.5.into_dual();
/// assert_eq!((d.v, d.d), (0.5, 0.0));
/// let n: usize = 3.into_dual();
/// let a: [Dual<f32>; 2] = [1.0_f32, 2.0].into_dual();
/// assert_eq!((n, a[1].v, a[1].d), (3, 2.0, 0.0));
/// ```
pub trait IntoDual<D> {
    /// `self` as the callee takes it.
    fn into_dual(self) -> D;
}

impl<V> IntoDual<V> for V {
    #[inline(always)]
    fn into_dual(self) -> V {
        self
    }
}

impl<T: Real> IntoDual<Dual<T>> for T {
    #[inline(always)]
    fn into_dual(self) -> Dual<T> {
        Dual::passive(self)
    }
}

impl<T: Real, const N: usize> IntoDual<[Dual<T>; N]> for [T; N] {
    #[inline(always)]
    fn into_dual(self) -> [Dual<T>; N] {
        <[T; N] as Seed>::constant(self)
    }
}

impl<T: Real, const M: usize, const N: usize> IntoDual<[[Dual<T>; M]; N]> for [[T; M]; N] {
    #[inline(always)]
    fn into_dual(self) -> [[Dual<T>; M]; N] {
        <[[T; M]; N] as Seed>::constant(self)
    }
}

/// A value of a float type or a (nested) array of one, and its dual counterpart: how
/// `NAME_hvp` seeds its differentiated parameters with the direction `v` and splits the dual
/// gradient into the gradient and the Hessian-vector product. `#[derive(Differentiable)]`
/// implements it for a struct generic over its float type `T: Real` (its dual counterpart is the
/// same struct over `Dual<T>`; data fields are copied into it and are `Default` in a split
/// tangent), where `T` has no other bound and only the differentiated fields mention it.
///
/// ```
/// use relax_core::dual::Seed;
/// let x = <[f64; 2] as Seed>::seed([1.0, 2.0], [0.5, 0.0]);
/// assert_eq!((x[0].v, x[0].d, x[1].d), (1.0, 0.5, 0.0));
/// assert_eq!(<[f64; 2] as Seed>::split(x), ([1.0, 2.0], [0.5, 0.0]));
/// ```
pub trait Seed: Sized {
    /// The same shape of duals.
    type Dual;
    /// Values `value` with tangents `tangent`.
    fn seed(value: Self, tangent: Self) -> Self::Dual;
    /// The values and the tangents.
    fn split(dual: Self::Dual) -> (Self, Self);
    /// [`seed`](Self::seed) written into `out`, row by row of a nested array without a
    /// temporary per row.
    fn seed_into(value: &Self, tangent: &Self, out: &mut Self::Dual);
    /// [`split`](Self::split) written into `values` and `tangents`.
    fn split_into(dual: &Self::Dual, values: &mut Self, tangents: &mut Self);
    /// `value` with tangent zero: a constant of the dual shape.
    fn constant(value: Self) -> Self::Dual;
    /// [`constant`](Self::constant) written into `out`.
    fn constant_into(value: &Self, out: &mut Self::Dual);
    /// [`split_into`](Self::split_into) for every element of slices of one length. An array
    /// passes its elements' slices flattened, so a nested array of duals is split in one loop
    /// over its duals, which the compiler vectorises.
    ///
    /// ```
    /// use relax_core::dual::Seed;
    /// let duals = [<[f64; 2] as Seed>::seed([1.0, 2.0], [0.5, 0.25]); 2];
    /// let (mut values, mut tangents) = ([[0.0; 2]; 2], [[0.0; 2]; 2]);
    /// <[f64; 2] as Seed>::split_slice(&duals, &mut values, &mut tangents);
    /// assert_eq!((values, tangents), ([[1.0, 2.0]; 2], [[0.5, 0.25]; 2]));
    /// ```
    #[inline(always)]
    fn split_slice(duals: &[Self::Dual], values: &mut [Self], tangents: &mut [Self]) {
        for ((x, v), d) in duals.iter().zip(values).zip(tangents) {
            Self::split_into(x, v, d);
        }
    }
}

/// A parameter struct, or an array of them, that `NAME_hvp` runs on dual numbers: its [`Seed`]
/// under another name. `#[derive(Differentiable)]` implements both for a struct generic over its
/// float type `T: Real`, where `T` has no other bound and only the differentiated fields mention
/// it. The generated code names a struct's dual form through this trait, which floats do not
/// have, so that `hvp` with a struct without one is an error about it at the parameter's type
/// (through `Seed`, rustc would try the impl for floats and go on to a cascade of errors).
/// The guide's forward-mode chapter runs `hvp` with a parameter struct.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot hold dual numbers, which `hvp` differentiates on",
    label = "no `relax::dual::SeedStruct`",
    note = "`#[derive(Differentiable)]` gives a struct `relax::dual::Seed` and `SeedStruct` when it is generic over \
            its float type `T: Real`, `T` has no other bound and no `#[no_derivative]` field mentions `T`"
)]
pub trait SeedStruct: Sized {
    /// [`Seed::Dual`].
    type Dual;
    /// [`Seed::seed`].
    fn seed(value: Self, tangent: Self) -> Self::Dual;
    /// [`Seed::split`].
    fn split(dual: Self::Dual) -> (Self, Self);
}

impl<A: SeedStruct + Seed + Copy + Tangent, const N: usize> SeedStruct for [A; N]
where
    <A as Seed>::Dual: Copy + Tangent,
{
    type Dual = [<A as Seed>::Dual; N];
    #[inline(always)]
    fn seed(v: Self, d: Self) -> Self::Dual {
        <Self as Seed>::seed(v, d)
    }
    #[inline(always)]
    fn split(x: Self::Dual) -> (Self, Self) {
        <Self as Seed>::split(x)
    }
}

impl<T: Real> Seed for T {
    type Dual = Dual<T>;
    #[inline(always)]
    fn seed(v: T, d: T) -> Dual<T> {
        Dual { v, d }
    }
    #[inline(always)]
    fn split(x: Dual<T>) -> (T, T) {
        (x.v, x.d)
    }
    #[inline(always)]
    fn seed_into(v: &T, d: &T, out: &mut Dual<T>) {
        *out = Dual { v: *v, d: *d };
    }
    #[inline(always)]
    fn split_into(x: &Dual<T>, v: &mut T, d: &mut T) {
        (*v, *d) = (x.v, x.d);
    }
    #[inline(always)]
    fn constant(v: T) -> Dual<T> {
        Dual::passive(v)
    }
    #[inline(always)]
    fn constant_into(v: &T, out: &mut Dual<T>) {
        *out = Dual::passive(*v);
    }
}

// Written in place into zeros (a `memset`): through `core::array::from_fn` or `map`, called out
// of line (see `crate::arrays`), seeding and splitting a 16 × 16 matrix took 3 981 instructions,
// more than the two-layer network's whole gradient; through a temporary per row, twice that.
// Split through the flattened `split_slice`, a nested array is one loop over its duals: row by
// row, LLVM unrolled the rows and copied an 8 × 8 matrix's split through the stack twice, a
// tenth of the layer workload's `_hvp` time.
impl<A: Seed + Copy + Tangent, const N: usize> Seed for [A; N]
where
    A::Dual: Copy + Tangent,
{
    type Dual = [A::Dual; N];
    #[inline(always)]
    fn seed(v: Self, d: Self) -> [A::Dual; N] {
        let mut out = <[A::Dual; N]>::zero_to_overwrite();
        Self::seed_into(&v, &d, &mut out);
        out
    }
    #[inline(always)]
    fn split(x: [A::Dual; N]) -> (Self, Self) {
        let (mut v, mut d) = (Self::zero_to_overwrite(), Self::zero_to_overwrite());
        Self::split_into(&x, &mut v, &mut d);
        (v, d)
    }
    #[inline(always)]
    fn seed_into(v: &Self, d: &Self, out: &mut [A::Dual; N]) {
        for i in 0..N {
            A::seed_into(&v[i], &d[i], &mut out[i]);
        }
    }
    #[inline(always)]
    fn split_into(x: &[A::Dual; N], v: &mut Self, d: &mut Self) {
        A::split_slice(x, v, d);
    }
    #[inline(always)]
    fn constant(v: Self) -> [A::Dual; N] {
        let mut out = <[A::Dual; N]>::zero_to_overwrite();
        Self::constant_into(&v, &mut out);
        out
    }
    #[inline(always)]
    fn constant_into(v: &Self, out: &mut [A::Dual; N]) {
        for i in 0..N {
            A::constant_into(&v[i], &mut out[i]);
        }
    }
    #[inline(always)]
    fn split_slice(x: &[[A::Dual; N]], v: &mut [Self], d: &mut [Self]) {
        A::split_slice(x.as_flattened(), v.as_flattened_mut(), d.as_flattened_mut());
    }
}
