//! The guide: one chapter per module.

pub mod declared_derivatives {
    #![doc = include_str!("guide/declared_derivatives.md")]
}
