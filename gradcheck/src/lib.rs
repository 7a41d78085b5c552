//! Random `#[differentiable]` functions over `(x: [f64; 4], a: f64)`, generated from a seeded
//! grammar of relax's supported language by `build.rs`: nested loops (`for` over ranges, arrays
//! and iterator chains, a `filter` among them, `while`, `loop`, labelled) that store state,
//! `break` and `continue` under active conditions, fused accumulations, branches and `match` as
//! statements and expressions, early returns in branches and loops, blocks with a value, local
//! closures, arrays written and read, parameter structs built, written and passed on, methods
//! and associated functions, a declared derivative, float methods and rules; every other function
//! is generic over `T: Real`, every fourth takes a parameter struct and some are methods. Besides,
//! `relaxed` functions with hard operations (rounding, comparisons made numbers, `argmax`, `max`,
//! `abs`, `if` on active values), and `relaxed` ones without, which keep their own gradients
//! (through the relaxed helpers' smooth forms). `tests/generated.rs` checks each one. The build reads the
//! grammar's seed from `RELAX_GRADCHECK_SEED` (an integer; unset, the default seed): CI runs the
//! default, and ten seeds passed when the grammar last changed and when the `g{k}` functions
//! took `hvp` (the smooth `relaxed` ones with `hvp`: seeds 1 and 2; with loops over iterator
//! chains: seeds 1 to 4; with blocks, closures and `filter`: the default seed, seeds 2 and 3,
//! and seed 1 but for one `_grad` value at f32 two ulps from the original's, in release builds
//! only; the same body is as far off with stop 45's macro in a crate of its own).
#![allow(unused_mut, unused_variables, unused_assignments, unused_parens, unused_labels, unreachable_code, clippy::all)]

use rand::SeedableRng;
use rand::rngs::StdRng;
use relax::prelude::*;

/// Helpers the generated functions call: a tuple output, and a reference in `wrt`. The free
/// helpers without calls are `relaxed` too, so that the `relaxed` functions may call them (a
/// `relaxed` function's callees must be). All take `jacobian`, so that every third generated
/// function may take it too (its callees must), and `hvp`, which every generated function takes.
#[differentiable(relaxed, jacobian, hvp)]
pub fn pair<T: Real>(u: T, v: T) -> (T, T) {
    ((u * v).tanh(), u - 0.5 * v)
}

#[differentiable(wrt(w), relaxed, jacobian, hvp)]
pub fn weigh<T: Real>(w: &[T; 4], c: T) -> T {
    (w[0] * c + w[1] - w[2] * w[3]).tanh()
}

/// A declared derivative: the body is not transformed, `cube_pullback` gives the derivative.
#[differentiable(vjp = cube_pullback, jacobian, hvp)]
pub fn cube<T: Real>(x: T) -> T {
    x * x * x
}

/// The pullback of [`cube`]: `3x²·dout`; differentiable, for `cube`'s `hvp` (the forward mode
/// of its declared pullback).
#[differentiable]
pub fn cube_pullback<T: Real>(x: T, dout: T) -> (T, T) {
    (x * x * x, (x + x + x) * x * dout)
}

/// A parameter struct: built, written and passed on by the generated functions, and the
/// differentiated parameter of every fourth one.
#[derive(Clone, Copy, Debug, Differentiable)]
pub struct Gp<T: Real> {
    /// Weights.
    pub w: [T; 4],
    /// A bias.
    pub b: T,
    /// Data carried along.
    #[no_derivative]
    pub k: usize,
}

/// A struct parameter in `wrt`, composed.
#[differentiable(wrt(p, z), relaxed, jacobian, hvp)]
pub fn gp_score<T: Real>(p: Gp<T>, z: T) -> T {
    (p.w[1] * z).tanh() + p.b * 0.5 - p.w[3] * p.w[0]
}

/// A struct output: its cotangent flows back through `_vjp`.
#[differentiable(wrt(p, z), relaxed, jacobian, hvp)]
pub fn gp_shift<T: Real>(p: Gp<T>, z: T) -> Gp<T> {
    let mut q = p;
    q.b = q.b * 0.5 + z.tanh();
    q.w[0] = q.w[0] + z * 0.1;
    q
}

/// Data with methods: the receiver of the generated methods and of the ones they call.
#[derive(Clone, Copy, Debug)]
pub struct Model<T> {
    /// A scale read as data.
    pub scale: T,
}

/// The `Model` the generated methods are called on.
pub const MODEL: Model<f64> = Model { scale: 0.8 };

impl<T: Real> Model<T> {
    /// A method reading its receiver as data and calling an associated function.
    #[differentiable(real = T, jacobian, hvp)]
    pub fn squash(&self, z: T) -> T {
        self.scale * z.tanh() + Self::bump(z)
    }

    /// An associated function.
    #[differentiable(real = T, jacobian, hvp)]
    pub fn bump(z: T) -> T {
        z / (1.0 + z * z)
    }
}

include!(concat!(env!("OUT_DIR"), "/generated.rs"));
