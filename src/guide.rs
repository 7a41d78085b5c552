//! The guide's chapters beyond the crate documentation.

/// Forward mode (`NAME_jvp`), second order (`NAME_hvp`), dual numbers, and which derivative to
/// ask for.
pub mod forward_mode {
    #![doc = include_str!("guide/forward_mode.md")]
}
