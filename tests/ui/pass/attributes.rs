//! `cfg`, lint levels, `inline`, `deprecated` and `doc` are copied onto the generated functions;
//! `no_mangle` is not (a second exported symbol of the same name would not link).
#![deny(warnings)]
use relax::prelude::*;

/// Documented, allowed to have a non-snake name, exported unmangled.
#[differentiable]
#[allow(non_snake_case)]
#[unsafe(no_mangle)]
pub fn Scaled(x: f64) -> f64 {
    3.0 * x
}

#[differentiable]
#[inline]
#[deprecated(note = "use `Scaled`")]
pub fn old(x: f64) -> f64 {
    x * x
}

#[differentiable]
#[cfg(any())]
pub fn compiled_out(x: f64) -> f64 {
    x
}

fn main() {
    assert_eq!(Scaled_grad(2.0), (6.0, 3.0));
    #[allow(deprecated)]
    let (v, g) = old_grad(3.0);
    assert_eq!((v, g), (9.0, 6.0));
}
