//! Arrays built by index loops.
//!
//! `core::array::from_fn` and `<[T; N]>::map` are called out of line in generic code (through
//! `try_from_fn`/`try_map`): in an adjoint the optimiser then can neither vectorise them nor drop
//! a cotangent that nobody reads, and registers spill around the call. A loop that writes into an
//! array of zeros inlines; where the array is an argument taken by value, the rules instead
//! overwrite that argument in place.

use crate::Real;

/// `[f(0), f(1), …, f(N − 1)]`, computed in that order.
#[inline(always)]
pub(crate) fn from_index<T: Real, const N: usize>(mut f: impl FnMut(usize) -> T) -> [T; N] {
    let mut out = [T::zero(); N];
    for (i, v) in out.iter_mut().enumerate() {
        *v = f(i);
    }
    out
}
