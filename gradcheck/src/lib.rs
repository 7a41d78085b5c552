//! Random `#[differentiable]` functions over `(x: [f64; 4], a: f64)`, generated from a seeded
//! grammar of relax's supported language by `build.rs`: nested loops that store state, fused
//! accumulations, branches as statements and expressions, early returns in branches and loops,
//! arrays written and read, float methods and rules; every other function is generic over
//! `T: Real`. `tests/generated.rs` checks each one.
#![allow(unused_mut, unused_variables, unused_parens, unreachable_code, clippy::all)]

use relax::prelude::*;

/// Helpers the generated functions call: a tuple output, and a reference in `wrt`.
#[differentiable]
pub fn pair<T: Real>(u: T, v: T) -> (T, T) {
    ((u * v).tanh(), u - 0.5 * v)
}

#[differentiable(wrt(w))]
pub fn weigh<T: Real>(w: &[T; 4], c: T) -> T {
    (w[0] * c + w[1] - w[2] * w[3]).tanh()
}

include!(concat!(env!("OUT_DIR"), "/generated.rs"));
