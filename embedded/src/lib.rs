//! Sensor calibration on a microcontroller: fit the gain, offset and cubic distortion of a sensor
//! to reference readings, in f32, by gradient descent on a Huber loss. `#![no_std]`, no allocator:
//! relax's generated gradient runs on the stack.
//!
//! The `embedded` example runs this same loop on the host; `no-std-check/` links it into a
//! `#![no_std]` staticlib with its own panic handler.
#![no_std]

use relax::prelude::*;

/// Reference points per calibration.
pub const POINTS: usize = 32;

/// The sensor model: `reading = gain·x + offset + k3·x³`, for a true value `x` in [−1, 1].
pub fn model(p: [f32; 3], x: f32) -> f32 {
    p[0] * x + p[1] + p[2] * x * x * x
}

/// Mean Huber loss of the model's readings against the measured ones: robust to the odd glitch.
#[differentiable(wrt(p))]
pub fn calibration_loss(p: [f32; 3], truth: &[f32; POINTS], readings: &[f32; POINTS]) -> f32 {
    let mut total = 0.0;
    for i in 0..POINTS {
        let x = truth[i];
        total += huber(p[0] * x + p[1] + p[2] * x * x * x - readings[i], 0.05);
    }
    total / (POINTS as f32)
}

/// Reference readings of a sensor with gain 1.8, offset −0.25 and distortion 0.3, with a
/// deterministic wiggle as noise and one glitch: what a test rig would record.
pub fn reference() -> ([f32; POINTS], [f32; POINTS]) {
    let truth: [f32; POINTS] = core::array::from_fn(|i| -1.0 + 2.0 * i as f32 / (POINTS - 1) as f32);
    let readings = core::array::from_fn(|i| {
        let glitch = if i == 7 { 2.0 } else { 0.0 };
        model(TRUE_PARAMS, truth[i]) + 0.01 * (7.3 * i as f32).sin() + glitch
    });
    (truth, readings)
}

/// The parameters [`reference()`] was generated with.
pub const TRUE_PARAMS: [f32; 3] = [1.8, -0.25, 0.3];

/// Gradient descent from `[1, 0, 0]`, calling `progress(step, loss, params)` every `every`
/// steps. Returns the fitted parameters.
pub fn calibrate(
    truth: &[f32; POINTS],
    readings: &[f32; POINTS],
    steps: usize,
    every: usize,
    mut progress: impl FnMut(usize, f32, [f32; 3]),
) -> [f32; 3] {
    let mut p = [1.0, 0.0, 0.0];
    for step in 0..=steps {
        let (loss, grad) = calibration_loss_grad(p, truth, readings);
        if every > 0 && step % every == 0 {
            progress(step, loss, p);
        }
        for k in 0..3 {
            p[k] -= 0.5 * grad[k];
        }
    }
    p
}
