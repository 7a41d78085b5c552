//! Stack figures of each primal and its generated `_grad`, measured on the device by painting.
//!
//! Every measured function is an `#[inline(never)]` monomorphic function in [`measured`]: its code
//! has a symbol of its own, whose size `sizes.sh` reads from the ELF (`NAME` beside `NAME_grad`),
//! and calls to it are real calls whose stack [`stack_bytes`] can measure.

use core::hint::black_box;

use crate::classifier::{CLASSES, FEATURES, INPUTS, LABELS};
use crate::compared::{self, CHOICE_COSTS, CHOICE_LOGITS, CHOICE_TEMPERATURE};
use crate::stack::stack_bytes;

/// The primals and gradients measured, monomorphic and never inlined. The checks call these too,
/// so the code measured is the code checked.
pub mod measured {
    use rand_pcg::Pcg32;
    use relax_embedded::POINTS;

    use crate::classifier::{self, CLASSES, FEATURES, SAMPLES};
    use crate::compared;

    /// [`relax_embedded::calibration_loss`].
    #[inline(never)]
    pub fn calibration_loss(p: [f32; 3], truth: &[f32; POINTS], readings: &[f32; POINTS]) -> f32 {
        relax_embedded::calibration_loss(p, truth, readings)
    }

    /// [`relax_embedded::calibration_loss_grad`].
    #[inline(never)]
    pub fn calibration_loss_grad(p: [f32; 3], truth: &[f32; POINTS], readings: &[f32; POINTS]) -> (f32, [f32; 3]) {
        relax_embedded::calibration_loss_grad(p, truth, readings)
    }

    /// [`classifier::classifier_loss`].
    #[inline(never)]
    pub fn classifier_loss(
        w: [[f32; FEATURES]; CLASSES],
        inputs: &[[f32; FEATURES]; SAMPLES],
        labels: &[usize; SAMPLES],
    ) -> f32 {
        classifier::classifier_loss(w, inputs, labels)
    }

    /// [`classifier::classifier_loss_grad`].
    #[inline(never)]
    pub fn classifier_loss_grad(
        w: [[f32; FEATURES]; CLASSES],
        inputs: &[[f32; FEATURES]; SAMPLES],
        labels: &[usize; SAMPLES],
    ) -> (f32, [[f32; FEATURES]; CLASSES]) {
        classifier::classifier_loss_grad(w, inputs, labels)
    }

    /// [`compared::choice_cost`] with a PCG32.
    #[inline(never)]
    pub fn choice_cost(logits: [f32; 4], t: f32, costs: &[f32; 4], rng: &mut Pcg32) -> f32 {
        compared::choice_cost(logits, t, costs, rng)
    }

    /// [`compared::choice_cost_grad`] with a PCG32.
    #[inline(never)]
    pub fn choice_cost_grad(logits: [f32; 4], t: f32, costs: &[f32; 4], rng: &mut Pcg32) -> (f32, ([f32; 4], f32)) {
        compared::choice_cost_grad(logits, t, costs, rng)
    }
}

/// Stack high-water marks of one call of a primal and one of its `_grad`, in bytes.
pub struct StackFigures {
    /// The primal's.
    pub primal: usize,
    /// The gradient's.
    pub grad: usize,
}

/// A primal and its `_grad`: `stack` sets up inputs in its own frame and measures one call of each
/// with [`stack_bytes`], inputs through `black_box` so that no constant is folded into the
/// measured code.
pub struct Workload {
    /// The primal's name; its gradient is `NAME_grad`.
    pub name: &'static str,
    /// Measures both.
    pub stack: fn() -> StackFigures,
}

/// Every measured primal and gradient.
pub const WORKLOADS: &[Workload] = &[
    Workload {
        name: "calibration_loss",
        stack: || {
            let (truth, readings) = relax_embedded::reference();
            let args = || (black_box([1.0, 0.0, 0.0]), black_box(&truth), black_box(&readings));
            StackFigures {
                primal: stack_bytes(|| {
                    let (p, truth, readings) = args();
                    measured::calibration_loss(p, truth, readings)
                }),
                grad: stack_bytes(|| {
                    let (p, truth, readings) = args();
                    measured::calibration_loss_grad(p, truth, readings)
                }),
            }
        },
    },
    Workload {
        name: "classifier_loss",
        stack: || {
            let args = || (black_box([[0.1; FEATURES]; CLASSES]), black_box(&INPUTS), black_box(&LABELS));
            StackFigures {
                primal: stack_bytes(|| {
                    let (w, inputs, labels) = args();
                    measured::classifier_loss(w, inputs, labels)
                }),
                grad: stack_bytes(|| {
                    let (w, inputs, labels) = args();
                    measured::classifier_loss_grad(w, inputs, labels)
                }),
            }
        },
    },
    Workload {
        name: "choice_cost",
        stack: || {
            let mut rng = compared::choice_rng();
            let args = || (black_box(CHOICE_LOGITS), black_box(CHOICE_TEMPERATURE), black_box(&CHOICE_COSTS));
            StackFigures {
                primal: stack_bytes(|| {
                    let (logits, t, costs) = args();
                    measured::choice_cost(logits, t, costs, black_box(&mut rng))
                }),
                grad: stack_bytes(|| {
                    let (logits, t, costs) = args();
                    measured::choice_cost_grad(logits, t, costs, black_box(&mut rng))
                }),
            }
        },
    },
];
