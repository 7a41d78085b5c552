//! The rules of [relax](https://docs.rs/relax): differentiable relaxations and reparameterisations,
//! each an ordinary function (its value) with its pullback `NAME_vjp` beside it.
//!
//! `#![no_std]` and allocation-free. Every rule is generic over [`Real`] (`f32`, `f64`), takes and
//! returns arrays by value, and is reachable at the crate root (`relax_core::softplus`).
//!
//! A pullback `r_vjp(args…, dout) -> (value, G)` returns the rule's value and one cotangent per
//! float argument, in argument order; a single cotangent is not wrapped in a tuple:
//!
//! ```
//! use relax_core::{huber_vjp, softplus_vjp};
//! let (value, dx) = softplus_vjp(0.0_f64, 1.0);
//! assert!((value - core::f64::consts::LN_2).abs() < 1e-15 && dx == 0.5);
//! let (value, (dx, ddelta)) = huber_vjp(3.0_f64, 1.0, 1.0);
//! assert_eq!((value, dx, ddelta), (2.5, 1.0, 2.0));
//! ```
//!
//! Families of rules live in one module each: [`activation`], [`loss`], [`softmax`](mod@softmax),
//! [`straight_through`](mod@straight_through), [`sampling`], [`score`]. [`ops`] holds the pullbacks of arithmetic and of
//! the float methods, and [`tangent`] the traits the `#[differentiable]` attribute builds on.
#![no_std]
#![warn(missing_docs)]

#[cfg(not(any(feature = "std", feature = "libm")))]
compile_error!("relax-core needs float math: enable the `std` feature (default) or `libm` for no_std");

pub mod activation;
pub mod loss;
pub mod ops;
mod real;
pub mod sampling;
pub mod score;
pub mod softmax;
pub mod straight_through;
pub mod tangent;

pub use activation::*;
pub use loss::*;
pub use real::Real;
pub use sampling::*;
pub use score::*;
pub use softmax::*;
pub use straight_through::*;
pub use tangent::{AddCotangent, AddScaled, Differentiable, ForItem, IntoPrimal, IntoReal, Tangent};

pub use num_traits;
#[cfg(feature = "rand")]
pub use rand;
