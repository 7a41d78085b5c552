//! The `#[differentiable]` attribute of [relax](https://docs.rs/relax): reverse-mode automatic
//! differentiation by source transformation. See the `relax` crate for the guide.
//!
//! The stages, one module each: `options` and `signature` read the attribute and the
//! signature, `lower` turns the body into the intermediate form of `ir` (using the table in
//! `rules`), `forward` and `adjoint` generate the two sweeps, and `emit` assembles the
//! generated functions.

mod adjoint;
mod emit;
mod expand;
mod forward;
mod generic;
mod ir;
mod lower;
mod names;
mod normalize;
mod options;
mod rules;
mod signature;
#[cfg(test)]
mod tests;

use proc_macro::TokenStream;

/// Generates reverse-mode gradient code beside a numeric function: `NAME_vjp` (value and
/// vector-Jacobian product) and, for a scalar output, `NAME_grad` (value and gradient).
///
/// See the `relax` crate's documentation for the supported language and the gradient layout.
#[proc_macro_attribute]
pub fn differentiable(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(args.into(), item.into()).into()
}
