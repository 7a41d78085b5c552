//! The checks the firmware runs: each prints what it compared and returns whether it passed.

use cortex_m_semihosting::hprintln;
use rand_pcg::Pcg32;
use relax::prelude::*;
use relax::rand::Rng;
use relax_embedded::TRUE_PARAMS;

use crate::classifier::{CLASSES, FEATURES, INPUTS, LABELS};
use crate::compared::{self, CHOICE_COSTS, CHOICE_LOGITS, CHOICE_TEMPERATURE};
use crate::expected;
use crate::figures::measured;

/// A named check.
pub struct Check {
    /// What it checks, printed before its result.
    pub name: &'static str,
    /// Runs it: `true` when it passed.
    pub run: fn() -> bool,
}

/// Every check, in the order they run.
pub const CHECKS: &[Check] = &[
    Check { name: "calibration matches the host", run: calibration_matches_host },
    Check { name: "calibration_loss_grad matches finite differences", run: calibration_grad_matches_differences },
    Check { name: "classifier_loss_grad matches finite differences", run: classifier_grad_matches_differences },
    Check { name: "straight-through Gumbel-softmax matches the host", run: gumbel_draws_match_host },
    Check { name: "straight-through Gumbel-softmax matches its rule", run: gumbel_draws_match_rule },
    Check { name: "softmax_vjp matches its closed form", run: softmax_vjp_matches_closed_form },
];

/// Largest relative error allowed against the host's results (and against a rule's own pullback).
/// The Cortex-M4F's single-precision FPU and x86_64's SSE both round every `+ − × ÷ √` as IEEE 754
/// says, and both sides run the same code with the same `libm` functions, so the results are
/// expected bit-identical (the output says whether they are); the tolerance leaves room for another
/// instruction selection (a fused multiply-add on one side changes a result by about an ulp per
/// operation, which gradient descent's contraction damps), not for a wrong computation.
const HOST_TOLERANCE: f32 = 1e-5;

/// `|a − b|` relative to `max(1, |b|)`.
fn relative_error(a: f32, b: f32) -> f32 {
    (a - b).abs() / b.abs().max(1.0)
}

/// Largest [`relative_error`] over two arrays.
fn max_relative_error(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| relative_error(*x, *y)).fold(0.0, f32::max)
}

/// Whether every entry of `a` is bit-identical to `b`'s.
fn bit_identical(a: &[f32], b: &[f32]) -> bool {
    a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// A uniform draw in `[lo, hi)` from the top 24 bits of a `u32` (every value exact in f32).
fn uniform(rng: &mut Pcg32, lo: f32, hi: f32) -> f32 {
    lo + (hi - lo) * (rng.next_u32() >> 8) as f32 / (1u32 << 24) as f32
}

/// Central-difference step. The difference is divided by the step actually taken, `up − down`, so
/// the rounding of `x ± h` does not matter.
const STEP: f32 = 1.0 / 256.0;

/// Tolerance of a gradient against central differences in f32, relative to `1 + |gradient|`.
/// Rounding: each loss sums up to 32 rounded terms, so `f(x ± h)` is off by up to about 32 ulps of
/// `|f| ≲ 5`, 1e-5, which dividing by `2h = 2⁻⁷` makes about 1e-3 at worst. Truncation:
/// `h²/6·|f'''| ≈ 2.5e-6·|f'''|` on smooth pieces; where a Huber residual crosses its kink inside
/// the step, the difference mixes the two pieces' slopes, an error below `h` divided by the 32
/// points the loss averages, about 1e-4. A wrong gradient (a missing term, a sign) is off by a
/// partial derivative's size, 0.05 to 5 here.
const DIFFERENCE_TOLERANCE: f32 = 3e-3;

/// Largest error of `grad` against central differences of `f` at `x`, relative to `1 + |grad|`.
fn difference_error<const D: usize>(f: impl Fn([f32; D]) -> f32, x: [f32; D], grad: [f32; D]) -> f32 {
    (0..D)
        .map(|i| {
            let (mut up, mut down) = (x, x);
            up[i] += STEP;
            down[i] -= STEP;
            let difference = (f(up) - f(down)) / (up[i] - down[i]);
            (difference - grad[i]).abs() / (1.0 + grad[i].abs())
        })
        .fold(0.0, f32::max)
}

/// Points drawn per gradient check.
const POINTS_PER_CHECK: usize = 64;

/// The calibration's fitted parameters and loss against the host's, and near the true parameters.
fn calibration_matches_host() -> bool {
    let device = compared::calibration();
    let host = expected::CALIBRATION;
    let error = max_relative_error(&device.params, &host.params).max(relative_error(device.loss, host.loss));
    let identical = bit_identical(&device.params, &host.params) && bit_identical(&[device.loss], &[host.loss]);
    // Independent of either run: the reference readings were made with TRUE_PARAMS and 0.01 of noise.
    let from_truth = max_relative_error(&device.params, &TRUE_PARAMS);
    hprintln!(
        "  fitted {:?}, loss {:e} ({} steps); host: {}, max relative error {:e}; from the true {:?}: {:e}",
        device.params,
        device.loss,
        compared::CALIBRATION_STEPS,
        if identical { "bit-identical" } else { "differs" },
        error,
        TRUE_PARAMS,
        from_truth
    );
    error <= HOST_TOLERANCE && from_truth <= 0.02
}

/// `grad` against central differences of `f` at [`POINTS_PER_CHECK`] points drawn by `draw` from a
/// PCG32 seeded with `seed`, and the value `grad` returns against `f`'s, bit for bit.
fn gradient_matches_differences<const D: usize>(
    seed: u64,
    draw: impl Fn(&mut Pcg32) -> [f32; D],
    f: impl Fn([f32; D]) -> f32,
    grad: impl Fn([f32; D]) -> (f32, [f32; D]),
) -> bool {
    let mut rng = Pcg32::new(seed, 1);
    let (mut worst, mut values_match) = (0.0f32, true);
    for _ in 0..POINTS_PER_CHECK {
        let x = draw(&mut rng);
        let (value, g) = grad(x);
        values_match &= value.to_bits() == f(x).to_bits();
        worst = worst.max(difference_error(&f, x, g));
    }
    hprintln!(
        "  {POINTS_PER_CHECK} points: max error {worst:e} (tolerance {DIFFERENCE_TOLERANCE:e}); \
         values bit-identical to the primal's: {values_match}"
    );
    worst <= DIFFERENCE_TOLERANCE && values_match
}

/// The generated gradient of the calibration's Huber loss against central differences.
fn calibration_grad_matches_differences() -> bool {
    let (truth, readings) = relax_embedded::reference();
    gradient_matches_differences(
        1,
        |rng| [uniform(rng, 0.0, 3.0), uniform(rng, -1.0, 1.0), uniform(rng, -1.0, 1.0)],
        |p| measured::calibration_loss(p, &truth, &readings),
        |p| measured::calibration_loss_grad(p, &truth, &readings),
    )
}

/// Weights as one flat array, for finite differences.
fn flatten(w: [[f32; FEATURES]; CLASSES]) -> [f32; FEATURES * CLASSES] {
    core::array::from_fn(|i| w[i / FEATURES][i % FEATURES])
}

/// The inverse of [`flatten`].
fn unflatten(flat: [f32; FEATURES * CLASSES]) -> [[f32; FEATURES]; CLASSES] {
    core::array::from_fn(|k| core::array::from_fn(|i| flat[k * FEATURES + i]))
}

/// The generated gradient of the classifier's cross-entropy against central differences.
fn classifier_grad_matches_differences() -> bool {
    gradient_matches_differences(
        2,
        |rng| core::array::from_fn(|_| uniform(rng, -2.0, 2.0)),
        |flat| measured::classifier_loss(unflatten(flat), &INPUTS, &LABELS),
        |flat| {
            let (value, grad) = measured::classifier_loss_grad(unflatten(flat), &INPUTS, &LABELS);
            (value, flatten(grad))
        },
    )
}

/// Successive draws of the straight-through estimator's cost and gradient against the host's.
fn gumbel_draws_match_host() -> bool {
    let (device, host) = (compared::choice_draws(), expected::DRAWS);
    let (mut worst, mut identical) = (0.0f32, true);
    for (d, h) in device.iter().zip(&host) {
        let (d_all, h_all) = ([d.cost, d.dt], [h.cost, h.dt]);
        worst = worst.max(max_relative_error(&d_all, &h_all)).max(max_relative_error(&d.dlogits, &h.dlogits));
        identical &= bit_identical(&d_all, &h_all) && bit_identical(&d.dlogits, &h.dlogits);
    }
    let mean_cost = device.iter().map(|d| d.cost).sum::<f32>() / device.len() as f32;
    hprintln!(
        "  {} draws (mean cost {mean_cost}): host {}, max relative error {worst:e}",
        device.len(),
        if identical { "bit-identical" } else { "differs" }
    );
    worst <= HOST_TOLERANCE
}

/// Each draw of the generated gradient against the rule it is made of: the same Gumbel noise drawn
/// from a copy of the RNG, through `st_gumbel_softmax_with_vjp` with the costs as the cotangent;
/// the value equals the primal's for the same RNG state, and all three RNGs end in the same state.
fn gumbel_draws_match_rule() -> bool {
    let mut rng = compared::choice_rng();
    let (mut worst, mut values_match, mut rngs_match) = (0.0f32, true, true);
    for _ in 0..compared::DRAWS {
        let (mut primal_rng, mut noise_rng) = (rng.clone(), rng.clone());
        let (cost, (dlogits, dt)) =
            measured::choice_cost_grad(CHOICE_LOGITS, CHOICE_TEMPERATURE, &CHOICE_COSTS, &mut rng);
        let primal = measured::choice_cost(CHOICE_LOGITS, CHOICE_TEMPERATURE, &CHOICE_COSTS, &mut primal_rng);
        let g = gumbel_noise::<f32, 4>(&mut noise_rng);
        let (choice, (rule_dlogits, _, rule_dt)) =
            st_gumbel_softmax_with_vjp(CHOICE_LOGITS, g, CHOICE_TEMPERATURE, CHOICE_COSTS);
        values_match &= cost.to_bits() == primal.to_bits() && cost == dot(choice, CHOICE_COSTS);
        rngs_match &= rng == primal_rng && rng == noise_rng;
        worst = worst.max(max_relative_error(&dlogits, &rule_dlogits)).max(relative_error(dt, rule_dt));
    }
    hprintln!(
        "  {} draws: max relative error {worst:e}; values match: {values_match}; RNGs advanced alike: {rngs_match}",
        compared::DRAWS
    );
    worst <= HOST_TOLERANCE && values_match && rngs_match
}

/// `softmax_vjp` at random points against `dx_i = s_i·(v_i − s·v)/t` and `dt = −(dx·x)/t`, and
/// finite at extremes: logits up to `f32::MAX`, temperatures down to the smallest positive normal.
fn softmax_vjp_matches_closed_form() -> bool {
    let mut rng = Pcg32::new(3, 1);
    let mut worst = 0.0f32;
    for _ in 0..POINTS_PER_CHECK {
        let x: [f32; 4] = core::array::from_fn(|_| uniform(&mut rng, -4.0, 4.0));
        let v: [f32; 4] = core::array::from_fn(|_| uniform(&mut rng, -1.0, 1.0));
        let t = uniform(&mut rng, 0.25, 2.0);
        let (s, (dx, dt)) = softmax_vjp(x, t, v);
        let sv = dot(s, v);
        let expected_dx: [f32; 4] = core::array::from_fn(|i| s[i] * (v[i] - sv) / t);
        let expected_dt = -dot(expected_dx, x) / t;
        worst = worst.max(max_relative_error(&dx, &expected_dx)).max(relative_error(dt, expected_dt));
    }
    let max = f32::MAX;
    let extremes = [([max, 0.75 * max, 0.5 * max, 0.25 * max], f32::MIN_POSITIVE), ([max, max, 0.25 * max, 0.0], 1.0)];
    let finite = extremes.iter().all(|(x, t)| {
        let (s, (dx, dt)) = softmax_vjp(*x, *t, [1.0, -1.0, 0.5, 0.0]);
        s.iter().chain(&dx).all(|v| v.is_finite()) && dt.is_finite()
    });
    hprintln!("  {POINTS_PER_CHECK} points: max relative error {worst:e}; finite at the extremes: {finite}");
    // The closed form and the rule round differently: a few ulps of values up to 1/t = 4.
    worst <= 1e-5 && finite
}
