//! Random `#[differentiable]` functions over `(x: [f64; 4], a: f64)`, generated from a seeded
//! grammar of relax's supported language by `build.rs`: nested loops that store state, fused
//! accumulations, branches as statements and expressions, early returns in branches and loops,
//! arrays written and read, float methods and rules. `tests/generated.rs` checks each one.
#![allow(unused_mut, unused_variables, unused_parens, unreachable_code, clippy::all)]

use relax::prelude::*;

include!(concat!(env!("OUT_DIR"), "/generated.rs"));
