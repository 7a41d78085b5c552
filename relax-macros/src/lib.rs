//! The `#[differentiable]` attribute of [relax](https://docs.rs/relax): reverse-mode automatic
//! differentiation by source transformation. See the `relax` crate for the guide.
//!
//! The stages, one module each: `options` and `signature` read the attribute and the
//! signature; `normalize` rewrites early returns; `lower` (with `scope`, `stmts`, `exprs`,
//! `calls`, `control`) turns the body into the intermediate form of `ir`, using the one table
//! of rules and methods in `rules`, where `schedule` then sinks each read to its first use;
//! `forward` and `adjoint` generate the two sweeps (a loop's
//! adjoint recomputes what `liveness` finds it reads); `emit`
//! assembles the generated functions, which call each other where `placement` tells how to name
//! them; `expand` runs the pipeline and collects the errors.
//! `derive` is `#[derive(Differentiable)]`.

mod adjoint;
mod derive;
mod emit;
mod expand;
mod factor;
mod forward;
mod generic;
mod ir;
mod jvp;
mod liveness;
mod lower;
mod names;
mod normalize;
mod options;
mod placement;
mod relax;
mod rules;
mod schedule;
mod signature;
mod single;
mod sole;
#[cfg(test)]
mod tests;
mod values;

use proc_macro::TokenStream;

/// Generates reverse-mode gradient code beside a numeric function: `NAME_vjp` (value and
/// vector-Jacobian product) and, for a float output, `NAME_grad` (value and gradient).
///
/// ```ignore
/// use relax::prelude::*;
///
/// #[differentiable]
/// fn loss(w: f64, b: f64, xs: &[f64; 8], ys: &[f64; 8]) -> f64 {
///     let mut total = 0.0;
///     for i in 0..8 {
///         total += huber(w * xs[i] + b - ys[i], 1.0);
///     }
///     total / 8.0
/// }
/// // loss_grad(w, b, xs, ys) -> (f64, (f64, f64))
/// // loss_vjp(w, b, xs, ys, dout: f64) -> (f64, (f64, f64))
/// ```
///
/// By-value parameters of a float type (`f32`, `f64`, a `T: Real`, or arrays of them) are
/// differentiated; everything else is data. Options: `wrt(a, b)` names the differentiated
/// parameters and their order (references to float arrays included); `crate = path` names the
/// `relax` crate when it is re-exported. The `relax` crate's documentation describes the
/// supported language, the gradient layout and the generated code.
#[proc_macro_attribute]
pub fn differentiable(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(args.into(), item.into()).into()
}

/// Makes a struct of floats, (nested) arrays of them and other `Differentiable` structs a value
/// that `#[differentiable]` can differentiate (name it in `wrt(..)`): implements `Tangent`,
/// `AddScaled` by its float type, and `Differentiable`. Its gradient is a value of the same type.
///
/// ```ignore
/// use relax::prelude::*;
///
/// #[derive(Clone, Copy, Differentiable)]
/// struct Layer<T: Real, const N: usize> {
///     w: [[T; N]; N],
///     b: [T; N],
///     #[no_derivative]
///     steps: usize,
/// }
/// ```
///
/// The struct must be `Copy`. Fields marked `#[no_derivative]` are data (their type is
/// `Default + Copy`): carried unchanged in a value, `Default::default()` in a gradient or a zero,
/// untouched by `+=`, `-=` and scaling. Every other field is `f32`, `f64`, a type parameter bounded
/// by `Real`, a (nested) array of one, or a type that implements `Differentiable`, all of one
/// float type. That type is the one of the float fields, else the `Real` type parameter, else
/// that of the first nested struct (which must then be as public as the struct: it is named in
/// the `Scalar` of a public impl). `#[relax(crate = path)]` on the struct names the `relax` crate
/// when it is re-exported. The `relax` crate's documentation has a runnable example.
#[proc_macro_derive(Differentiable, attributes(no_derivative, relax))]
pub fn derive_differentiable(item: TokenStream) -> TokenStream {
    derive::expand(item.into()).into()
}
