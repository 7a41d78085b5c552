//! The computations whose results the firmware compares with the host's. The firmware's `build.rs`
//! runs this crate on the host (x86_64) for the expected values; the firmware runs it on the
//! Cortex-M4F. It is `#![no_std]`, so that float methods (`x.exp()`, `x.tanh()`) are `libm`'s on
//! both sides: in a `std` crate they would be the host's own, which differ from `libm`'s in the
//! last bit for some inputs.
#![no_std]

pub mod linearizer;
pub mod newton;
pub mod thermostat;

use rand_pcg::Pcg32;
use relax::prelude::*;
use relax::rand::Rng;

use crate::linearizer::Linearizer;
use crate::newton::NewtonFit;
use crate::thermostat::{TEMPERATURE, Tuning};

/// Gradient-descent steps of the calibration, as in the `embedded` example.
pub const CALIBRATION_STEPS: usize = 3000;

/// Where a calibration ends.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Calibration {
    /// Fitted gain, offset and cubic term.
    pub params: [f32; 3],
    /// The Huber loss at `params`.
    pub loss: f32,
}

/// `relax_embedded::calibrate` on its reference readings, and the loss where it ends.
pub fn calibration() -> Calibration {
    let (truth, readings) = relax_embedded::reference();
    let params = relax_embedded::calibrate(&truth, &readings, CALIBRATION_STEPS, 0, |_, _, _| {});
    Calibration { params, loss: relax_embedded::calibration_loss(params, &truth, &readings) }
}

/// What choosing each of four options costs.
pub const CHOICE_COSTS: [f32; 4] = [1.0, 0.2, 0.6, 0.9];
/// The logits the options are drawn from.
pub const CHOICE_LOGITS: [f32; 4] = [0.5, 0.1, -0.3, 0.8];
/// The Gumbel-softmax temperature.
pub const CHOICE_TEMPERATURE: f32 = 0.5;
/// Draws compared with the host's.
pub const DRAWS: usize = 16;

/// The cost of one option drawn by straight-through Gumbel-softmax: the forward pass picks one
/// option, the gradient is that of the relaxed (softmax) choice, with respect to the logits and
/// the temperature.
#[differentiable(wrt(logits, t))]
pub fn choice_cost<R: Rng>(logits: [f32; 4], t: f32, costs: &[f32; 4], rng: &mut R) -> f32 {
    dot(st_gumbel_softmax(logits, t, rng), *costs)
}

/// The seeded RNG the draws come from: PCG32 (64-bit state), the same sequence on every platform.
pub fn choice_rng() -> Pcg32 {
    Pcg32::new(0xcafe_f00d_d15e_a5e5, 0x0a02_bdbf_7bb3_c0a7)
}

/// One draw's cost and gradient.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Draw {
    /// The cost of the option drawn.
    pub cost: f32,
    /// Its gradient with respect to the logits.
    pub dlogits: [f32; 4],
    /// Its gradient with respect to the temperature.
    pub dt: f32,
}

/// [`DRAWS`] successive draws of [`choice_cost_grad`] from [`choice_rng`].
pub fn choice_draws() -> [Draw; DRAWS] {
    let mut rng = choice_rng();
    core::array::from_fn(|_| {
        let (cost, (dlogits, dt)) = choice_cost_grad(CHOICE_LOGITS, CHOICE_TEMPERATURE, &CHOICE_COSTS, &mut rng);
        Draw { cost, dlogits, dt }
    })
}

/// Newton's fit of the settling curve to its readings ([`newton::newton`]).
pub fn newton_fit() -> NewtonFit {
    let (ts, ys) = newton::readings();
    newton::newton(&ts, &ys)
}

/// The linearizer after training ([`linearizer::train`]), and its loss.
pub fn linearizer_training() -> (Linearizer, f32) {
    let (raw, targets) = linearizer::samples();
    let net = linearizer::train(&raw, &targets);
    (net, linearizer::linearizer_loss(net, &raw, &targets))
}

/// The thermostat tuned by straight-through gradients ([`thermostat::tune`]).
pub fn thermostat_tuning() -> Tuning {
    thermostat::tune(&thermostat::outside())
}

/// Setpoints and gains where the relaxed thermostat's gradients are compared with the host's:
/// heater mostly off, switching often, saturated.
pub const THERMOSTAT_POINTS: [[f32; 2]; 4] = [[17.0, 0.5], [20.0, 1.0], [21.0, 2.0], [23.0, 4.0]];

/// The relaxed and straight-through gradients of the thermostat's cost at one point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ThermostatGradients {
    /// `thermostat_cost_relaxed_grad`: the relaxed cost and its gradient (setpoint, gain).
    pub relaxed: [f32; 3],
    /// `thermostat_cost_st_grad`: the original cost and the relaxed gradient.
    pub straight_through: [f32; 3],
}

/// Both gradients at each of [`THERMOSTAT_POINTS`], at [`TEMPERATURE`].
pub fn thermostat_gradients() -> [ThermostatGradients; THERMOSTAT_POINTS.len()] {
    let outside = thermostat::outside();
    THERMOSTAT_POINTS.map(|[setpoint, gain]| {
        let (v, (ds, dg)) = thermostat::thermostat_cost_relaxed_grad(setpoint, gain, &outside, TEMPERATURE);
        let (sv, (sds, sdg)) = thermostat::thermostat_cost_st_grad(setpoint, gain, &outside, TEMPERATURE);
        ThermostatGradients { relaxed: [v, ds, dg], straight_through: [sv, sds, sdg] }
    })
}
