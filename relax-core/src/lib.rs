//! The rules of [relax](https://docs.rs/relax): differentiable relaxations and reparameterisations,
//! each an ordinary function (its value) with its pullback `NAME_vjp` and its pushforward
//! `NAME_jvp` beside it.
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
//! Beside it, `r_pullback(args…, value, dout) -> G` gives the cotangents alone, from the
//! arguments and the value already computed (the sigmoid's from `s` as `dout·s(1 − s)`, a
//! straight-through rule's without computing its hard value); `r_vjp` is
//! `(value, r_pullback(args…, value, dout))`, so the two agree bit for bit:
//!
//! ```
//! use relax_core::{sigmoid, sigmoid_pullback, sigmoid_vjp};
//! let s = sigmoid(0.5_f64);
//! assert_eq!(sigmoid_pullback(0.5, s, 2.0), 2.0 * s * (1.0 - s));
//! assert_eq!(sigmoid_vjp(0.5, 2.0), (s, sigmoid_pullback(0.5, s, 2.0)));
//! ```
//!
//! A cotangent that nothing flows into is `−0.0`, the zero of [`Tangent`]: the exact additive
//! identity (`−0.0 + x` is `x` bit for bit), so that adding it costs nothing after
//! optimisation. It equals `0.0` and prints as `-0`.
//!
//! A pushforward `r_jvp(args…, tangent) -> (value, dvalue)` takes, in place of `dout`, one tangent
//! per float argument with the layout of the pullback's cotangents, and returns the value (the
//! same bits as `r(args…)`) and the output's tangent `J·tangent`:
//!
//! ```
//! use relax_core::{huber_jvp, softmax_jvp};
//! let (value, d) = huber_jvp(3.0_f64, 1.0, (1.0, 2.0));
//! assert_eq!((value, d), (2.5, 1.0 + 2.0 * 2.0));
//! let (y, dy) = softmax_jvp([0.0_f64, 0.0], 1.0, ([1.0, 0.0], 0.0));
//! assert_eq!((y, dy), ([0.5, 0.5], [0.25, -0.25]));
//! ```
//!
//! Families of rules live in one module each: [`activation`], [`loss`], [`softmax`](mod@softmax),
//! [`straight_through`](mod@straight_through), [`sampling`], [`score`], and [`relaxed`] the smooth surrogates of
//! `#[differentiable(relaxed)]`. [`ops`] holds the pullbacks and pushforwards of arithmetic and of the float methods,
//! [`tangent`] the traits the `#[differentiable]` attribute builds on, and [`dual`] the dual numbers of
//! Hessian-vector products.
#![no_std]
#![warn(missing_docs)]

#[cfg(feature = "std")]
extern crate alloc;

#[cfg(not(any(feature = "std", feature = "libm")))]
compile_error!("relax-core needs float math: enable the `std` feature (default) or `libm` for no_std");

pub mod activation;
mod arrays;
pub mod dual;
pub mod loss;
pub mod ops;
mod real;
pub mod relaxed;
pub mod sampling;
pub mod score;
pub mod softmax;
pub mod straight_through;
pub mod tangent;

pub use activation::*;
pub use dual::{Dual, Lift};
pub use loss::*;
pub use real::Real;
pub use relaxed::*;
pub use sampling::*;
pub use score::*;
pub use softmax::*;
pub use straight_through::*;
pub use tangent::{
    AddCotangent, AddScaled, Coordinates, Differentiable, ForItem, IntoPrimal, IntoReal, PositionTangent, Tangent,
};

pub use num_traits;
#[cfg(feature = "rand")]
pub use rand;
