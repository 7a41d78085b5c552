//! `NAME_STORAGE_BYTES`: the bytes a gradient keeps between its sweeps, for functions whose
//! adjoint stores per-iteration values. Checked by what it must scale with: the values stored
//! per iteration, so doubling a loop's bound adds the bound times their size.
#![deny(warnings)]
#![allow(clippy::needless_range_loop)]

use core::mem::size_of;

use relax::prelude::*;

/// A recurrence over eight entries: `p` and its sine (a library call, kept rather than computed
/// again) are stored at every iteration.
#[differentiable(wrt(x))]
fn recurrence8(x: &[f64; 8]) -> f64 {
    let mut p = 1.0;
    for i in 0..8 {
        p = (p * x[i]).sin();
    }
    p
}

/// The same over sixteen.
#[differentiable(wrt(x))]
fn recurrence16(x: &[f64; 16]) -> f64 {
    let mut p = 1.0;
    for i in 0..16 {
        p = (p * x[i]).sin();
    }
    p
}

/// The same in `f32`, by value.
#[differentiable]
fn recurrence8_f32(x: [f32; 8]) -> f32 {
    let mut p = 1.0;
    for i in 0..8 {
        p = (p * x[i]).sin();
    }
    p
}

/// The same in `f32` over sixteen.
#[differentiable]
fn recurrence16_f32(x: [f32; 16]) -> f32 {
    let mut p = 1.0;
    for i in 0..16 {
        p = (p * x[i]).sin();
    }
    p
}

/// A `while` whose storage holds `max_iter = 32` iterations of `p`.
#[differentiable(max_iter = 32)]
fn iterate(x: f64, n: usize) -> f64 {
    let mut p = x;
    let mut k = 0;
    while k < n {
        p = p.sin() * x;
        k += 1;
    }
    p
}

/// The `f32` recurrence generic over the float: `recurrence8_generic_storage_bytes::<T>()`.
#[differentiable]
fn recurrence8_generic<T: Real>(x: [T; 8]) -> T {
    let mut p = T::one();
    for i in 0..8 {
        p = (p * x[i]).sin();
    }
    p
}

/// The `f32` recurrence over `N` entries: `recurrence_n_storage_bytes::<N>()`.
#[differentiable]
fn recurrence_n<const N: usize>(x: [f32; N]) -> f32 {
    let mut p = 1.0;
    for i in 0..N {
        p = (p * x[i]).sin();
    }
    p
}

/// Data a method reads through `self`.
struct Scales {
    x: [f64; 4],
}

impl Scales {
    /// A recurrence through `self`'s scales: `Scales::chain_storage_bytes()`.
    #[differentiable]
    fn chain(&self, w: [f64; 4]) -> f64 {
        let mut p = 1.0;
        for i in 0..4 {
            p = (p * w[i] * self.x[i]).sin();
        }
        p
    }
}

/// The method as a free function of the same data.
#[differentiable(wrt(w))]
fn chain(scales: &Scales, w: [f64; 4]) -> f64 {
    let mut p = 1.0;
    for i in 0..4 {
        p = (p * w[i] * scales.x[i]).sin();
    }
    p
}

#[test]
fn storage_grows_by_the_values_of_an_iteration() {
    // `p` and `sin`: two values per iteration.
    assert_eq!(RECURRENCE16_STORAGE_BYTES - RECURRENCE8_STORAGE_BYTES, 8 * 2 * size_of::<f64>());
    // By value, the adjoint keeps the parameter too: eight more entries of it.
    assert_eq!(
        RECURRENCE16_F32_STORAGE_BYTES - RECURRENCE8_F32_STORAGE_BYTES,
        8 * 2 * size_of::<f32>() + size_of::<[f32; 16]>() - size_of::<[f32; 8]>()
    );
    assert!(RECURRENCE8_F32_STORAGE_BYTES >= 8 * 2 * size_of::<f32>() + size_of::<[f32; 8]>());
    // A `while` has no bound of its own: it keeps `p` (up to `max_iter`) and computes the sine
    // again.
    assert!(ITERATE_STORAGE_BYTES >= 32 * size_of::<f64>());
}

#[test]
fn storage_is_what_the_gradient_needs() {
    // The constant is usable where a `const` is: sizing a buffer at compile time.
    const BUDGET: [u8; RECURRENCE8_STORAGE_BYTES] = [0; RECURRENCE8_STORAGE_BYTES];
    assert!(BUDGET.len() >= 8 * size_of::<f64>());
    // The functions it describes work as usual.
    let x = [0.5; 8];
    let (value, _) = recurrence8_grad(&x);
    assert_eq!(value.to_bits(), recurrence8(&x).to_bits());
    let (value, _) = iterate_grad(0.7, 32);
    assert_eq!(value.to_bits(), iterate(0.7, 32).to_bits());
}

#[test]
fn generic_functions_get_a_const_fn_of_their_parameters() {
    // Each choice of the parameters is the concrete function's number, usable in a `const`.
    const F32: usize = recurrence8_generic_storage_bytes::<f32>();
    assert_eq!(F32, RECURRENCE8_F32_STORAGE_BYTES);
    assert_eq!(recurrence_n_storage_bytes::<8>(), RECURRENCE8_F32_STORAGE_BYTES);
    assert_eq!(recurrence_n_storage_bytes::<16>(), RECURRENCE16_F32_STORAGE_BYTES);
    // In `f64` the stored values and the parameter take twice the bytes.
    assert_eq!(
        recurrence8_generic_storage_bytes::<f64>() - recurrence8_generic_storage_bytes::<f32>(),
        8 * 2 * (size_of::<f64>() - size_of::<f32>()) + size_of::<[f64; 8]>() - size_of::<[f32; 8]>()
    );
    // Inside a function body, where the attribute cannot name the split form: the same number.
    #[differentiable]
    fn nested8<T: Real>(x: [T; 8]) -> T {
        let mut p = T::one();
        for i in 0..8 {
            p = (p * x[i]).sin();
        }
        p
    }
    assert_eq!(nested8_storage_bytes::<f32>(), F32);
    let x = [0.5_f32; 8];
    assert_eq!(recurrence8_generic(x).to_bits(), recurrence8_f32(x).to_bits());
    assert_eq!(nested8(x).to_bits(), recurrence8_f32(x).to_bits());
    assert_eq!(recurrence_n(x).to_bits(), recurrence8_f32(x).to_bits());
}

#[test]
fn methods_get_a_const_fn_as_the_free_function_a_const() {
    const METHOD: usize = Scales::chain_storage_bytes();
    assert_eq!(METHOD, CHAIN_STORAGE_BYTES);
    let (scales, w) = (Scales { x: [0.5, 1.5, -0.25, 2.0] }, [0.3, -0.7, 1.1, 0.9]);
    assert_eq!(scales.chain(w).to_bits(), chain(&scales, w).to_bits());
}
