use core::fmt::{Debug, Display};
use core::iter::{Product, Sum};
use core::ops::{AddAssign, DivAssign, MulAssign, SubAssign};
use num_traits::{Float, FloatConst};

use crate::tangent::Differentiable;

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
    impl<T: super::Real> Sealed for crate::Dual<T> {}
}

/// The float types relax differentiates: `f32` and `f64`, and the dual numbers [`Dual<T>`](crate::Dual)
/// over them (for forward mode and Hessian-vector products).
///
/// A [`num_traits::Float`] plus what the rules and the generated code need. Sealed: relax's
/// numerics (stable forms, noise generation) are written for IEEE binary32 and binary64.
///
/// ```
/// use relax_core::Real;
/// fn half<T: Real>(x: T) -> T {
///     x * T::select(0.5, 0.5)
/// }
/// assert_eq!(half(3.0_f32), 1.5);
/// ```
pub trait Real:
    Float
    + FloatConst
    + Differentiable<Scalar = Self>
    + Default
    + Debug
    + Display
    + Send
    + Sync
    + Sum
    + Product
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + 'static
    + sealed::Sealed
{
    /// `v64` for `f64`, `v32` for `f32`: how the attribute spells an unsuffixed literal or an
    /// `as` cast in a function generic over `T: Real`, so that each type gets exactly the value
    /// its own literal (or cast) would have.
    fn select(v64: f64, v32: f32) -> Self;

    /// `n as Self`.
    fn from_usize(n: usize) -> Self;

    /// One draw of the standard normal distribution.
    #[cfg(feature = "rand")]
    fn standard_normal<R: rand::Rng + ?Sized>(rng: &mut R) -> Self;

    /// One draw of the uniform distribution on the open interval (0, 1).
    #[cfg(feature = "rand")]
    fn open01<R: rand::Rng + ?Sized>(rng: &mut R) -> Self;
}

macro_rules! impl_real {
    ($t:ident, ($a:ident, $b:ident) => $pick:ident) => {
        impl Real for $t {
            #[inline(always)]
            fn select($a: f64, $b: f32) -> Self {
                let _ = ($a, $b);
                $pick
            }
            #[inline(always)]
            fn from_usize(n: usize) -> Self {
                n as $t
            }
            #[cfg(feature = "rand")]
            #[inline]
            fn standard_normal<R: rand::Rng + ?Sized>(rng: &mut R) -> Self {
                rand::distr::Distribution::<$t>::sample(&rand_distr::StandardNormal, rng)
            }
            #[cfg(feature = "rand")]
            #[inline]
            fn open01<R: rand::Rng + ?Sized>(rng: &mut R) -> Self {
                rand::distr::Distribution::<$t>::sample(&rand::distr::Open01, rng)
            }
        }
    };
}
impl_real!(f64, (v64, v32) => v64);
impl_real!(f32, (v64, v32) => v32);
