//! A linear classifier with a softmax cross-entropy loss: nested loops over samples, classes and
//! features, and a rule of the softmax family, differentiated for the Cortex-M4F.

use relax::prelude::*;

/// Input features per sample.
pub const FEATURES: usize = 4;
/// Classes.
pub const CLASSES: usize = 3;
/// Training samples.
pub const SAMPLES: usize = 8;

/// Training inputs: readings of four sensors.
pub const INPUTS: [[f32; FEATURES]; SAMPLES] = [
    [0.9, -0.2, 0.1, 0.4],
    [0.7, 0.1, -0.3, 0.5],
    [-0.5, 0.8, 0.2, -0.1],
    [-0.3, 0.9, -0.4, 0.2],
    [0.1, -0.6, 0.9, -0.7],
    [0.2, -0.4, 0.6, -0.9],
    [0.8, 0.3, 0.5, 0.1],
    [-0.6, -0.1, 0.7, 0.3],
];

/// The class of each training input.
pub const LABELS: [usize; SAMPLES] = [0, 0, 1, 1, 2, 2, 0, 2];

/// Mean cross-entropy of a linear classifier with weights `w` (one row per class) on `inputs`.
#[differentiable(wrt(w))]
pub fn classifier_loss(
    w: [[f32; FEATURES]; CLASSES],
    inputs: &[[f32; FEATURES]; SAMPLES],
    labels: &[usize; SAMPLES],
) -> f32 {
    let mut total = 0.0;
    for s in 0..SAMPLES {
        let mut logits = [0.0; CLASSES];
        for k in 0..CLASSES {
            let mut z = 0.0;
            for i in 0..FEATURES {
                z += w[k][i] * inputs[s][i];
            }
            logits[k] = z;
        }
        let log_p = log_softmax(logits, 1.0);
        total -= log_p[labels[s]];
    }
    total / SAMPLES as f32
}
