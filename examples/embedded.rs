//! The embedded calibration loop (crate `relax-embedded`, `#![no_std]` and allocator-free) run on
//! the host: fit a sensor's gain, offset and cubic distortion in f32.
use relax_embedded::{TRUE_PARAMS, calibrate, reference};

fn main() {
    let (truth, readings) = reference();
    println!("Calibrating a sensor (gain, offset, cubic term) from 32 reference readings, one of them a glitch.\n");
    let p = calibrate(&truth, &readings, 3000, 500, |step, loss, p| {
        println!("  step {step:4}: loss {loss:.6}   gain {:.4}  offset {:.4}  k3 {:.4}", p[0], p[1], p[2]);
    });
    println!("\n           gain     offset    k3");
    println!("  true     {:.4}   {:.4}   {:.4}", TRUE_PARAMS[0], TRUE_PARAMS[1], TRUE_PARAMS[2]);
    println!("  fitted   {:.4}   {:.4}   {:.4}", p[0], p[1], p[2]);
    println!("\nThe same loop builds for no_std targets without an allocator (see no-std-check/).");
}
