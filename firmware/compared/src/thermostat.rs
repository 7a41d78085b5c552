//! A relaxed function on the device: a thermostat that switches a heater with four power levels
//! on below its setpoint, simulated over a day. Its cost is piecewise constant in the gain (the
//! power is rounded to a level) and jumps where the switch flips: its gradient is zero or
//! undefined everywhere, and `#[differentiable(relaxed)]` does not generate it (the function has a
//! `round`); it generates the smooth version, `thermostat_cost_relaxed`, with its gradients, and
//! `thermostat_cost_st_grad`, the original's value with the relaxed gradient.

use relax::prelude::*;

/// Simulated hours.
pub const HOURS: usize = 24;

/// The room temperature the cost is measured against, °C.
pub const TARGET: f32 = 20.0;

/// Mean squared deviation of the room from [`TARGET`] over a day, plus the heating energy, for a
/// thermostat with `setpoint` (°C) and `gain` (power levels per °C below the setpoint): below
/// the setpoint the heater runs at `gain·(setpoint − room)` rounded to a level, at most 4. Each
/// hour the room loses a tenth of its difference to the outside and gains 0.5 °C per level.
#[differentiable(relaxed, wrt(setpoint, gain))]
pub fn thermostat_cost(setpoint: f32, gain: f32, outside: &[f32; HOURS]) -> f32 {
    let mut room = 16.0;
    let mut cost = 0.0;
    for outdoor in outside {
        let mut power = 0.0;
        if room < setpoint {
            power = (gain * (setpoint - room)).round().min(4.0);
        }
        room += 0.1 * (outdoor - room) + 0.5 * power;
        cost += (room - TARGET) * (room - TARGET) + 0.05 * power;
    }
    cost / HOURS as f32
}

/// The outside temperature over the day, °C: 4 at night, 12 in the afternoon.
pub fn outside() -> [f32; HOURS] {
    core::array::from_fn(|hour| 8.0 - 4.0 * (core::f32::consts::TAU * (hour as f32 + 9.0) / HOURS as f32).sin())
}

/// The temperature of the relaxation the device uses: a soft switch over about ±0.5 °C.
pub const TEMPERATURE: f32 = 0.5;

/// Gradient steps of the tuning.
pub const TUNING_STEPS: usize = 40;

/// A thermostat tuned by straight-through gradients.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tuning {
    /// The setpoint and gain reached.
    pub params: [f32; 2],
    /// The cost (the original function's, as `_st_grad` returns it) before each step, and after the last.
    pub costs: [f32; TUNING_STEPS + 1],
}

/// [`TUNING_STEPS`] steps of gradient descent on the setpoint and gain from 18 °C and 0.5 levels
/// per °C, each step along `thermostat_cost_st_grad`'s gradient at [`TEMPERATURE`].
pub fn tune(outside: &[f32; HOURS]) -> Tuning {
    let [mut setpoint, mut gain] = [18.0, 0.5];
    let mut costs = [0.0; TUNING_STEPS + 1];
    for (step, cost) in costs.iter_mut().enumerate() {
        let (value, (d_setpoint, d_gain)) = thermostat_cost_st_grad(setpoint, gain, outside, TEMPERATURE);
        *cost = value;
        if step < TUNING_STEPS {
            setpoint -= 0.02 * d_setpoint;
            gain -= 0.02 * d_gain;
        }
    }
    Tuning { params: [setpoint, gain], costs }
}
