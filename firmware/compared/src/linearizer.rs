//! A parameter struct on the device: a tiny network (one input, [`HIDDEN`] tanh units, one output)
//! that linearises a sensor, turning raw ADC counts into the quantity measured, trained by
//! gradient descent on the gradient `linearizer_loss_grad` returns as a [`Linearizer`].

use relax::AddScaled;
use relax::prelude::*;

/// Hidden units.
pub const HIDDEN: usize = 4;
/// Calibration samples.
pub const SAMPLES: usize = 16;

/// The network's parameters, and the scale of its input, which is not trained.
#[derive(Clone, Copy, Debug, PartialEq, Differentiable)]
pub struct Linearizer {
    /// Input weight of each hidden unit.
    pub w1: [f32; HIDDEN],
    /// Bias of each hidden unit.
    pub b1: [f32; HIDDEN],
    /// Output weight of each hidden unit.
    pub w2: [f32; HIDDEN],
    /// Output bias.
    pub b2: f32,
    /// ADC counts to the network's input range: data, carried unchanged, zero in a gradient.
    #[no_derivative]
    pub input_scale: f32,
}

/// The network's output for a raw ADC reading.
#[differentiable(wrt(net))]
pub fn linearize(net: Linearizer, raw: u16) -> f32 {
    let x = raw as f32 * net.input_scale;
    let mut y = net.b2;
    for j in 0..HIDDEN {
        y += net.w2[j] * (net.w1[j] * x + net.b1[j]).tanh();
    }
    y
}

/// Mean squared error of [`linearize`] on the calibration samples.
#[differentiable(wrt(net))]
pub fn linearizer_loss(net: Linearizer, raw: &[u16; SAMPLES], targets: &[f32; SAMPLES]) -> f32 {
    let mut total = 0.0;
    for k in 0..SAMPLES {
        let r = linearize(net, raw[k]) - targets[k];
        total += r * r;
    }
    total / SAMPLES as f32
}

/// Calibration samples of a saturating sensor: raw counts spread over the 12-bit range, and the
/// quantity each one measures, `3x/(1 + 2x) − 0.5` for `x` the reading as a fraction of full scale.
pub fn samples() -> ([u16; SAMPLES], [f32; SAMPLES]) {
    let raw: [u16; SAMPLES] = core::array::from_fn(|k| (k * 4095 / (SAMPLES - 1)) as u16);
    let targets = core::array::from_fn(|k| {
        let x = raw[k] as f32 / 4095.0;
        3.0 * x / (1.0 + 2.0 * x) - 0.5
    });
    (raw, targets)
}

/// The untrained network: small fixed weights, input scaled to `[0, 1]`.
pub fn initial() -> Linearizer {
    Linearizer {
        w1: [1.0, -1.5, 2.0, -0.5],
        b1: [0.0, 0.5, -0.5, 0.25],
        w2: [0.1, -0.1, 0.1, -0.1],
        b2: 0.0,
        input_scale: 1.0 / 4095.0,
    }
}

/// Gradient-descent steps of the training.
pub const TRAINING_STEPS: usize = 500;
/// The step size.
const LEARNING_RATE: f32 = 0.5;

/// [`TRAINING_STEPS`] steps of gradient descent from [`initial`].
pub fn train(raw: &[u16; SAMPLES], targets: &[f32; SAMPLES]) -> Linearizer {
    let mut net = initial();
    for _ in 0..TRAINING_STEPS {
        let (_, grad) = linearizer_loss_grad(net, raw, targets);
        net.add_scaled(-LEARNING_RATE, grad);
    }
    net
}
