//! Stack figures of each primal and of the functions generated from it, measured on the device by
//! painting.
//!
//! Every measured function is an `#[inline(never)]` monomorphic function in [`measured`]: its code
//! has a symbol of its own, whose size `sizes.sh` reads from the ELF (`NAME` beside `NAME_grad`,
//! `NAME_hvp`, …), and calls to it are real calls whose stack [`stack_bytes`] can measure.

use core::hint::black_box;

use crate::classifier::{CLASSES, FEATURES, INPUTS, LABELS};
use crate::compared::{self, CHOICE_COSTS, CHOICE_LOGITS, CHOICE_TEMPERATURE};
use crate::stack::stack_bytes;
use crate::{linearizer, newton, thermostat};

/// The primals and generated functions measured, monomorphic and never inlined. The checks call
/// these too, so the code measured is the code checked.
pub mod measured {
    use rand_pcg::Pcg32;
    use relax_embedded::POINTS;

    use crate::classifier::{self, CLASSES, FEATURES, SAMPLES};
    use crate::linearizer::{self, Linearizer};
    use crate::thermostat::{self, HOURS};
    use crate::{compared, newton};

    /// The classifier's weights.
    type Weights = [[f32; FEATURES]; CLASSES];
    /// The settling curve's sample times or readings.
    type Samples = [f32; newton::SAMPLES];
    /// The linearizer's raw ADC counts.
    type Counts = [u16; linearizer::SAMPLES];
    /// The linearizer's targets.
    type Targets = [f32; linearizer::SAMPLES];

    /// An `#[inline(never)]` wrapper of each function `$module::$name`, with its signature.
    macro_rules! wrappers {
        ($module:ident: $( $name:ident($($arg:ident: $t:ty),*) -> $out:ty; )*) => {$(
            #[doc = concat!("[`", stringify!($module), "::", stringify!($name), "`].")]
            #[inline(never)]
            pub fn $name($($arg: $t),*) -> $out {
                $module::$name($($arg),*)
            }
        )*};
    }

    wrappers! {
        relax_embedded:
        calibration_loss(p: [f32; 3], truth: &[f32; POINTS], readings: &[f32; POINTS]) -> f32;
        calibration_loss_grad(p: [f32; 3], truth: &[f32; POINTS], readings: &[f32; POINTS]) -> (f32, [f32; 3]);
    }
    wrappers! {
        classifier:
        classifier_loss(w: Weights, inputs: &[[f32; FEATURES]; SAMPLES], labels: &[usize; SAMPLES]) -> f32;
        classifier_loss_grad(
            w: Weights,
            inputs: &[[f32; FEATURES]; SAMPLES],
            labels: &[usize; SAMPLES]
        ) -> (f32, Weights);
    }
    wrappers! {
        compared:
        choice_cost(logits: [f32; 4], t: f32, costs: &[f32; 4], rng: &mut Pcg32) -> f32;
        choice_cost_grad(logits: [f32; 4], t: f32, costs: &[f32; 4], rng: &mut Pcg32) -> (f32, ([f32; 4], f32));
    }
    wrappers! {
        newton:
        settling_loss(p: [f32; 3], ts: &Samples, ys: &Samples) -> f32;
        settling_loss_grad(p: [f32; 3], ts: &Samples, ys: &Samples) -> (f32, [f32; 3]);
        settling_loss_jvp(p: [f32; 3], ts: &Samples, ys: &Samples, v: [f32; 3]) -> (f32, f32);
        settling_loss_hvp(p: [f32; 3], ts: &Samples, ys: &Samples, v: [f32; 3]) -> (f32, [f32; 3], [f32; 3]);
    }
    wrappers! {
        linearizer:
        linearizer_loss(net: Linearizer, raw: &Counts, targets: &Targets) -> f32;
        linearizer_loss_grad(net: Linearizer, raw: &Counts, targets: &Targets) -> (f32, Linearizer);
    }
    wrappers! {
        thermostat:
        thermostat_cost(setpoint: f32, gain: f32, outside: &[f32; HOURS]) -> f32;
        thermostat_cost_relaxed(setpoint: f32, gain: f32, outside: &[f32; HOURS], t: f32) -> f32;
        thermostat_cost_relaxed_grad(setpoint: f32, gain: f32, outside: &[f32; HOURS], t: f32) -> (f32, (f32, f32));
        thermostat_cost_st_grad(setpoint: f32, gain: f32, outside: &[f32; HOURS], t: f32) -> (f32, (f32, f32));
    }
}

/// Measures the stack of measured functions, reporting each by name with its bytes: it sets up
/// inputs in its own frame and measures one call of each with [`stack_bytes`].
pub type Workload = fn(report: &mut dyn FnMut(&'static str, usize));

/// Reports the stack bytes of one call of `measured::$f` under its name, each argument through
/// `black_box` so that no constant is folded into the measured code. The arguments are evaluated
/// inside the measured closure: give it variables and constants, whose evaluation takes no stack.
macro_rules! measure {
    ($report:ident, $f:ident($($arg:expr),* $(,)?)) => {
        $report(stringify!($f), stack_bytes(|| measured::$f($(black_box($arg)),*)))
    };
}

/// Every measured function, in the order of their names: each primal before the functions
/// generated from it.
pub const WORKLOADS: &[Workload] = &[
    |report| {
        let (truth, readings) = relax_embedded::reference();
        measure!(report, calibration_loss([1.0, 0.0, 0.0], &truth, &readings));
        measure!(report, calibration_loss_grad([1.0, 0.0, 0.0], &truth, &readings));
    },
    |report| {
        let mut rng = compared::choice_rng();
        measure!(report, choice_cost(CHOICE_LOGITS, CHOICE_TEMPERATURE, &CHOICE_COSTS, &mut rng));
        measure!(report, choice_cost_grad(CHOICE_LOGITS, CHOICE_TEMPERATURE, &CHOICE_COSTS, &mut rng));
    },
    |report| {
        let w = [[0.1; FEATURES]; CLASSES];
        measure!(report, classifier_loss(w, &INPUTS, &LABELS));
        measure!(report, classifier_loss_grad(w, &INPUTS, &LABELS));
    },
    |report| {
        let ((raw, targets), net) = (linearizer::samples(), linearizer::initial());
        measure!(report, linearizer_loss(net, &raw, &targets));
        measure!(report, linearizer_loss_grad(net, &raw, &targets));
    },
    |report| {
        let (ts, ys) = newton::readings();
        let (p, v) = (newton::start(&ys), [1.0, 0.0, 0.0]);
        measure!(report, settling_loss(p, &ts, &ys));
        measure!(report, settling_loss_grad(p, &ts, &ys));
        measure!(report, settling_loss_hvp(p, &ts, &ys, v));
        measure!(report, settling_loss_jvp(p, &ts, &ys, v));
    },
    |report| {
        let outside = thermostat::outside();
        let (setpoint, gain, t) = (20.0, 1.0, thermostat::TEMPERATURE);
        measure!(report, thermostat_cost(setpoint, gain, &outside));
        measure!(report, thermostat_cost_relaxed(setpoint, gain, &outside, t));
        measure!(report, thermostat_cost_relaxed_grad(setpoint, gain, &outside, t));
        measure!(report, thermostat_cost_st_grad(setpoint, gain, &outside, t));
    },
];
