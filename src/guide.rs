//! The guide's chapters beyond the crate documentation.

/// User-declared derivatives (`vjp = …`, `jvp = …`), checking them, and rule coverage in
/// compile-fail tests.
pub mod declared_derivatives {
    #![doc = include_str!("guide/declared_derivatives.md")]
}

/// Forward mode (`NAME_jvp`), second order (`NAME_hvp`), dual numbers, and which derivative to
/// ask for.
pub mod forward_mode {
    #![doc = include_str!("guide/forward_mode.md")]
}

/// Automatic relaxation (`#[differentiable(relaxed)]`): the relaxation table, error bounds as
/// `t → 0`, annealing, straight-through, calls, and what is an error.
pub mod relaxed_mode {
    #![doc = include_str!("guide/relaxed_mode.md")]
}
