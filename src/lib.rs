//! relax: compile-time reverse-mode automatic differentiation, with rules for the functions
//! gradient descent cannot use as they are.
#![cfg_attr(not(feature = "std"), no_std)]

pub use relax_core::*;
pub use relax_macros::differentiable;

/// Everything a differentiable function needs: the attribute, every rule with its `_vjp`, `Real`,
/// and `num_traits::Float` (as `_`) so that float methods resolve on no_std too.
pub mod prelude {
    pub use relax_core::num_traits::Float as _;
    pub use relax_core::{Real, activation::*, loss::*, sampling::*, score::*, softmax::*, straight_through::*};
    pub use relax_macros::differentiable;
}
