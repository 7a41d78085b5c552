//! Stack high-water marks by painting: fill the free stack below the caller with a pattern, make
//! the call, and find the lowest word the call overwrote.

use core::hint::black_box;
use core::ptr;

/// The pattern painted below the stack pointer (cortex-m-rt's `paint-stack` value).
const PAINT: u32 = 0xcccc_cccc;

/// Bytes painted below the stack pointer: more than any measured call may use.
pub const WINDOW: usize = 16 * 1024;

unsafe extern "C" {
    /// The lowest address of the stack, from cortex-m-rt's `link.x`.
    static _stack_end: u32;
}

/// Stack bytes `call` uses below this function's frame: its whole high-water mark, frames of
/// whatever it calls included. `call` is inlined here (a generic closure), so what it calls (an
/// `#[inline(never)]` function) starts right at this frame's stack pointer.
///
/// Panics if the call used all of [`WINDOW`] (it may have used more) or if the stack has less
/// room than [`WINDOW`] left.
#[inline(never)]
pub fn stack_bytes<R>(call: impl FnOnce() -> R) -> usize {
    let sp = cortex_m::register::msp::read() as usize;
    let bottom = sp - WINDOW;
    assert!(bottom >= ptr::addr_of!(_stack_end) as usize, "less than {WINDOW} bytes of stack left");
    // SAFETY: [bottom, sp) lies between the bottom of the stack and this frame's stack pointer:
    // free stack that nothing else owns (no interrupt is enabled), word-aligned as the stack
    // pointer is.
    unsafe {
        for addr in (bottom..sp).step_by(4) {
            ptr::write_volatile(addr as *mut u32, PAINT);
        }
    }
    black_box(call());
    // SAFETY: as above; the call has returned, and this frame reads only memory below it.
    let lowest = (bottom..sp).step_by(4).find(|&addr| unsafe { ptr::read_volatile(addr as *const u32) } != PAINT);
    let used = lowest.map_or(0, |addr| sp - addr);
    assert!(used < WINDOW, "the call used the whole {WINDOW}-byte window");
    used
}
