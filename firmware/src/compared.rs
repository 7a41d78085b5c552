//! The computations whose results the firmware compares with the host's. `build.rs` compiles this
//! same file for the host (x86_64, the same `libm` float math) and runs it for the expected values;
//! the firmware runs it on the Cortex-M4F.

use rand_pcg::Pcg32;
use relax::prelude::*;
use relax::rand::Rng;

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
