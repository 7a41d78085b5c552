//! The checks the firmware runs: each prints what it compared and returns whether it passed.

use cortex_m_semihosting::hprintln;
use rand_pcg::Pcg32;
use relax::Coordinates;
use relax::prelude::*;
use relax::rand::Rng;
use relax_embedded::TRUE_PARAMS;

use crate::classifier::{CLASSES, FEATURES, INPUTS, LABELS};
use crate::compared::{self, CHOICE_COSTS, CHOICE_LOGITS, CHOICE_TEMPERATURE};
use crate::expected;
use crate::figures::measured;
use crate::linearizer::{self, Linearizer};
use crate::newton::{self, NEWTON_STEPS, TRUE_CURVE};
use crate::thermostat::{self, TEMPERATURE};

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
    Check {
        name: "settling_loss_hvp and _jvp match differences of _grad and of the loss",
        run: settling_matches_differences,
    },
    Check { name: "Newton-CG on settling_loss_hvp converges and matches the host", run: newton_matches_host },
    Check {
        name: "linearizer_loss_grad (a parameter struct) matches finite differences",
        run: linearizer_grad_matches_differences,
    },
    Check { name: "linearizer training matches the host", run: linearizer_training_matches_host },
    Check {
        name: "thermostat_cost_relaxed_grad matches finite differences",
        run: thermostat_relaxed_grad_matches_differences,
    },
    Check {
        name: "thermostat_cost_st_grad is the original's value with the relaxed gradient",
        run: thermostat_st_grad_is_straight_through,
    },
    Check {
        name: "thermostat tuning by thermostat_cost_st_grad matches the host",
        run: thermostat_tuning_matches_host,
    },
    Check {
        name: "thermostat_cost_relaxed_grad's stack over the primal's is its storage plus a frame",
        run: thermostat_storage_bounds_stack,
    },
];

/// What a gradient's stack may use beyond the primal's and the bytes its adjoint stores
/// (`NAME_STORAGE_BYTES`): the adjoint's own frame, its cotangents, temporaries and saved
/// registers.
const FRAME_OVERHEAD: usize = 256;

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

/// Device results against the host's, as pairs of arrays: the largest [`relative_error`], and
/// whether all are bit-identical.
fn against_host(pairs: &[(&[f32], &[f32])]) -> (f32, bool) {
    let error = pairs.iter().map(|(device, host)| max_relative_error(device, host)).fold(0.0, f32::max);
    (error, pairs.iter().all(|(device, host)| bit_identical(device, host)))
}

/// How [`against_host`] found the results.
fn identity(identical: bool) -> &'static str {
    if identical { "bit-identical" } else { "differs" }
}

/// A uniform draw in `[lo, hi)` from the top 24 bits of a `u32` (every value exact in f32).
fn uniform(rng: &mut Pcg32, lo: f32, hi: f32) -> f32 {
    lo + (hi - lo) * (rng.next_u32() >> 8) as f32 / (1u32 << 24) as f32
}

/// Central-difference step. The difference is divided by the step actually taken, `up − down`, so
/// the rounding of `x ± h` does not matter.
const STEP: f32 = 1.0 / 256.0;

/// Central-difference step for the relaxed thermostat, whose cost bends on the scale of the
/// temperature divided by the gain's lever `setpoint − room` (up to 6 °C): about 0.1 in the gain.
/// With [`STEP`] the truncation error reaches 2e-3 of the gradient at low gains; half of it
/// quarters that, and doubles the rounding error, about 1e-6 of the cost divided by `2h = 2⁻⁸`,
/// 3e-4. The largest error seen on a 120 × 120 grid of the checked range is 7e-4.
const THERMOSTAT_STEP: f32 = 1.0 / 512.0;

/// Tolerance of a gradient against central differences in f32, relative to `1 + |gradient|`.
/// Rounding: each loss sums up to 32 rounded terms, so `f(x ± h)` is off by up to about 32 ulps of
/// `|f| ≲ 5`, 1e-5, which dividing by `2h = 2⁻⁷` makes about 1e-3 at worst. Truncation:
/// `h²/6·|f'''| ≈ 2.5e-6·|f'''|` on smooth pieces; where a Huber residual crosses its kink inside
/// the step, the difference mixes the two pieces' slopes, an error below `h` divided by the 32
/// points the loss averages, about 1e-4. A wrong gradient (a missing term, a sign) is off by a
/// partial derivative's size, 0.05 to 5 here. The other losses checked are alike (means of 16 to
/// 24 rounded terms, smooth); the largest errors seen are below 3e-4.
const DIFFERENCE_TOLERANCE: f32 = 3e-3;

/// Largest error of `grad` against central differences of `f` at `x` with step `step`, relative to
/// `1 + |grad|`.
fn difference_error<const D: usize>(f: impl Fn([f32; D]) -> f32, x: [f32; D], grad: [f32; D], step: f32) -> f32 {
    (0..D)
        .map(|i| {
            let (mut up, mut down) = (x, x);
            up[i] += step;
            down[i] -= step;
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
    let (error, identical) = against_host(&[(&device.params, &host.params), (&[device.loss], &[host.loss])]);
    // Independent of either run: the reference readings were made with TRUE_PARAMS and 0.01 of noise.
    let from_truth = max_relative_error(&device.params, &TRUE_PARAMS);
    hprintln!(
        "  fitted {:?}, loss {:e} ({} steps); host: {}, max relative error {:e}; from the true {:?}: {:e}",
        device.params,
        device.loss,
        compared::CALIBRATION_STEPS,
        identity(identical),
        error,
        TRUE_PARAMS,
        from_truth
    );
    error <= HOST_TOLERANCE && from_truth <= 0.02
}

/// `grad` against central differences of `f` with step `step` at [`POINTS_PER_CHECK`] points drawn
/// by `draw` from a PCG32 seeded with `seed`, and the value `grad` returns against `f`'s, bit for bit.
fn gradient_matches_differences<const D: usize>(
    seed: u64,
    step: f32,
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
        worst = worst.max(difference_error(&f, x, g, step));
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
        STEP,
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
        STEP,
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
        let (error, same) = against_host(&[(&[d.cost, d.dt], &[h.cost, h.dt]), (&d.dlogits, &h.dlogits)]);
        (worst, identical) = (worst.max(error), identical && same);
    }
    let mean_cost = device.iter().map(|d| d.cost).sum::<f32>() / device.len() as f32;
    hprintln!(
        "  {} draws (mean cost {mean_cost}): host {}, max relative error {worst:e}",
        device.len(),
        identity(identical)
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

/// `x` rounded to a multiple of 2⁻¹², exact in f32 for `|x| < 2¹¹`: a point from which the steps
/// `±STEP·v` of [`settling_matches_differences`] (multiples of 2⁻¹¹) land exactly.
fn on_grid(x: f32) -> f32 {
    (x * 4096.0).round() / 4096.0
}

/// Tolerance of `H·v` against central differences of the gradient along `v`, relative to
/// `1 + |H·v|`. Rounding: the gradient is a mean of 24 products `r·∂r/∂p`, each below about 20,
/// so `g(p ± h·v)` is off by a few ulps of 20, about 1e-5, which dividing by `2h = 2⁻⁷` makes
/// 1e-3. Truncation: `h²/6·|D³g[v, v, v]|`, with `h²/6 = 2.5e-6` and third derivatives of the
/// gradient up to about `a·t⁴·e^(−bt) ≲ 200` here, 5e-4. A wrong `H·v` (a missing term) is off by
/// an entry of `H`, 0.1 to 10. The largest error seen is 7e-5.
const HVP_TOLERANCE: f32 = 3e-3;

/// `settling_loss_hvp` at 64 random points and directions: `H·v` against central differences of
/// `settling_loss_grad` along `v`, its gradient bit for bit against `_grad`'s; the tangent of
/// `settling_loss_jvp` against central differences of the loss along `v` and against `g·v`; every
/// value bit for bit against the primal's. Points and directions lie on grids on which `p ± h·v`
/// is exact, so the difference divides by the step actually taken.
fn settling_matches_differences() -> bool {
    let (ts, ys) = newton::readings();
    let mut rng = Pcg32::new(4, 1);
    let (mut hvp_worst, mut jvp_worst, mut jvp_dot_worst, mut values_match) = (0.0f32, 0.0f32, 0.0f32, true);
    for _ in 0..POINTS_PER_CHECK {
        let p = [uniform(&mut rng, 1.0, 4.0), uniform(&mut rng, 0.3, 1.5), uniform(&mut rng, 0.0, 2.0)].map(on_grid);
        let v: [f32; 3] = core::array::from_fn(|_| (uniform(&mut rng, -8.0, 8.0) as i32) as f32 / 8.0);
        let primal = measured::settling_loss(p, &ts, &ys);
        let (grad_value, g) = measured::settling_loss_grad(p, &ts, &ys);
        let (hvp_value, hvp_g, hv) = measured::settling_loss_hvp(p, &ts, &ys, v);
        let (jvp_value, tangent) = measured::settling_loss_jvp(p, &ts, &ys, v);
        values_match &= bit_identical(&[grad_value, hvp_value, jvp_value], &[primal; 3]) && bit_identical(&hvp_g, &g);
        let up: [f32; 3] = core::array::from_fn(|i| p[i] + STEP * v[i]);
        let down: [f32; 3] = core::array::from_fn(|i| p[i] - STEP * v[i]);
        let (g_up, g_down) =
            (measured::settling_loss_grad(up, &ts, &ys).1, measured::settling_loss_grad(down, &ts, &ys).1);
        for i in 0..3 {
            let difference = (g_up[i] - g_down[i]) / (2.0 * STEP);
            hvp_worst = hvp_worst.max((difference - hv[i]).abs() / (1.0 + hv[i].abs()));
        }
        let difference =
            (measured::settling_loss(up, &ts, &ys) - measured::settling_loss(down, &ts, &ys)) / (2.0 * STEP);
        jvp_worst = jvp_worst.max((difference - tangent).abs() / (1.0 + tangent.abs()));
        jvp_dot_worst = jvp_dot_worst.max(relative_error(tangent, dot(g, v)));
    }
    hprintln!(
        "  {POINTS_PER_CHECK} points: H·v max error {hvp_worst:e} (tolerance {HVP_TOLERANCE:e}); jvp tangent against \
         differences {jvp_worst:e} (tolerance {DIFFERENCE_TOLERANCE:e}), against g·v {jvp_dot_worst:e}; values and \
         gradients bit-identical to the primal's and _grad's: {values_match}"
    );
    // The tangent and `g·v` are the same sum rounded in another order: a few ulps of terms up to 20.
    hvp_worst <= HVP_TOLERANCE && jvp_worst <= DIFFERENCE_TOLERANCE && jvp_dot_worst <= 1e-5 && values_match
}

/// Newton's fit against the host's, and converged: the largest gradient coordinate at the floor
/// of f32 rounding within [`NEWTON_STEPS`] steps, and the fitted curve near the true one.
fn newton_matches_host() -> bool {
    let (device, host) = (compared::newton_fit(), expected::NEWTON);
    let (error, identical) = against_host(&[
        (&device.params, &host.params),
        (&device.losses, &host.losses),
        (&device.gradients, &host.gradients),
    ]);
    let from_truth = max_relative_error(&device.params, &TRUE_CURVE);
    hprintln!("  largest gradient coordinate before each step: {:?}", device.gradients);
    hprintln!(
        "  fitted {:?}, loss {:e} ({NEWTON_STEPS} steps, {} Hessian-vector products); host: {}, max relative error \
         {error:e}; from the true {TRUE_CURVE:?}: {from_truth:e}",
        device.params,
        device.losses[NEWTON_STEPS],
        device.hvps,
        identity(identical)
    );
    // Converged: the gradient, a mean of 24 products `r·∂r/∂p` with residuals `r` of about 0.01
    // and `|∂r/∂p| ≲ 5` at the fit, is exact to about 1e-7; from 0.13 at the start, Newton's
    // quadratic convergence gets there in a few steps (gradient descent with its largest stable
    // fixed step takes over a hundred).
    // The readings have a noise of 0.01, which moves the fit by about that much.
    let converged = device.gradients[NEWTON_STEPS] <= 1e-6 && device.gradients[0] >= 0.1;
    error <= HOST_TOLERANCE && device.hvps == host.hvps && converged && from_truth <= 0.02
}

/// The coordinates of a [`Linearizer`] (its `#[no_derivative]` input scale is not one).
const LINEARIZER_COORDINATES: usize = 3 * linearizer::HIDDEN + 1;

/// A linearizer's coordinates as a flat array, in the order `Coordinates` visits them.
fn linearizer_flat(net: Linearizer) -> [f32; LINEARIZER_COORDINATES] {
    let (mut flat, mut i) = ([0.0; LINEARIZER_COORDINATES], 0);
    net.for_each_coordinate(&mut |c| {
        flat[i] = c as f32;
        i += 1;
    });
    flat
}

/// The inverse of [`linearizer_flat`], with the input scale of [`linearizer::initial`].
fn linearizer_from_flat(flat: [f32; LINEARIZER_COORDINATES]) -> Linearizer {
    let (mut net, mut i) = (linearizer::initial(), 0);
    net.map_coordinates(&mut |_| {
        i += 1;
        f64::from(flat[i - 1])
    });
    net
}

/// The gradient of the linearizer's loss, a `Linearizer` itself, against central differences at
/// random parameters; its `#[no_derivative]` field is zero, its value the primal's bit for bit.
fn linearizer_grad_matches_differences() -> bool {
    let (raw, targets) = linearizer::samples();
    let scale_is_data = linearizer::initial().coordinate_count() == LINEARIZER_COORDINATES
        && measured::linearizer_loss_grad(linearizer::initial(), &raw, &targets).1.input_scale == 0.0;
    hprintln!("  input_scale is data (not a coordinate, zero in the gradient): {scale_is_data}");
    scale_is_data
        && gradient_matches_differences(
            5,
            STEP,
            |rng| core::array::from_fn(|_| uniform(rng, -2.0, 2.0)),
            |flat| measured::linearizer_loss(linearizer_from_flat(flat), &raw, &targets),
            |flat| {
                let (value, grad) = measured::linearizer_loss_grad(linearizer_from_flat(flat), &raw, &targets);
                (value, linearizer_flat(grad))
            },
        )
}

/// The trained linearizer against the host's, its input scale carried unchanged, and its loss
/// well below the untrained one's.
fn linearizer_training_matches_host() -> bool {
    let ((net, loss), (host_net, host_loss)) = (compared::linearizer_training(), expected::LINEARIZER);
    let (error, identical) = against_host(&[
        (&linearizer_flat(net), &linearizer_flat(host_net)),
        (&[loss, net.input_scale], &[host_loss, host_net.input_scale]),
    ]);
    let (raw, targets) = linearizer::samples();
    let initial = measured::linearizer_loss(linearizer::initial(), &raw, &targets);
    hprintln!(
        "  loss {initial:e} -> {loss:e} in {} steps; host: {}, max relative error {error:e}",
        linearizer::TRAINING_STEPS,
        identity(identical)
    );
    // The untrained network is nearly constant: its loss is the targets' variance; a 1-4-1 tanh
    // network fits the smooth saturating curve to a small fraction of it.
    error <= HOST_TOLERANCE && net.input_scale == linearizer::initial().input_scale && loss <= initial / 50.0
}

/// The relaxed thermostat's gradient at [`TEMPERATURE`] against central differences at random
/// setpoints and gains, its value bit for bit against `thermostat_cost_relaxed`'s.
fn thermostat_relaxed_grad_matches_differences() -> bool {
    let outside = thermostat::outside();
    // Gains up to 3: an hour maps the room's temperature with slope `0.9 − 0.5·gain·round'·s`
    // (`round'` up to 1.3 at t = 0.5, `s` the switch's weight), which passes −1 above a gain of
    // 2.9: the relaxed simulation then amplifies a perturbation hour after hour and its cost gets
    // too steep for a difference (its gradient still right).
    gradient_matches_differences(
        6,
        THERMOSTAT_STEP,
        |rng| [uniform(rng, 17.0, 23.0), uniform(rng, 0.25, 3.0)],
        |[setpoint, gain]| measured::thermostat_cost_relaxed(setpoint, gain, &outside, TEMPERATURE),
        |[setpoint, gain]| {
            let (value, (d_setpoint, d_gain)) =
                measured::thermostat_cost_relaxed_grad(setpoint, gain, &outside, TEMPERATURE);
            (value, [d_setpoint, d_gain])
        },
    )
}

/// `thermostat_cost_st_grad` at random setpoints and gains: its value is the original function's
/// and its gradient `thermostat_cost_relaxed_grad`'s, bit for bit; and both stay finite, at
/// temperatures down to the smallest positive normal.
fn thermostat_st_grad_is_straight_through() -> bool {
    let outside = thermostat::outside();
    let mut rng = Pcg32::new(7, 1);
    let (mut values_match, mut gradients_match, mut finite, mut hard_differs) = (true, true, true, 0);
    for _ in 0..POINTS_PER_CHECK {
        let (setpoint, gain) = (uniform(&mut rng, 17.0, 23.0), uniform(&mut rng, 0.25, 4.0));
        for t in [TEMPERATURE, 1e-6, f32::MIN_POSITIVE] {
            let (value, (ds, dg)) = measured::thermostat_cost_st_grad(setpoint, gain, &outside, t);
            let (relaxed, (rds, rdg)) = measured::thermostat_cost_relaxed_grad(setpoint, gain, &outside, t);
            let hard = measured::thermostat_cost(setpoint, gain, &outside);
            values_match &= value.to_bits() == hard.to_bits();
            gradients_match &= bit_identical(&[ds, dg], &[rds, rdg]);
            finite &= [value, ds, dg, relaxed, rds, rdg].iter().all(|x| x.is_finite());
            hard_differs += usize::from(t == TEMPERATURE && relaxed != hard);
        }
    }
    hprintln!(
        "  {POINTS_PER_CHECK} points at t = {TEMPERATURE}, 1e-6 and {:e}: values the original's: {values_match}; \
         gradients the relaxed ones: {gradients_match}; finite: {finite}; relaxed value differs from the original's \
         at t = {TEMPERATURE}: {hard_differs}/{POINTS_PER_CHECK}",
        f32::MIN_POSITIVE
    );
    // The last count shows that the two values compared are not the same function's.
    values_match && gradients_match && finite && hard_differs == POINTS_PER_CHECK
}

/// Straight-through tuning of the thermostat and both gradients at fixed points against the
/// host's, and the tuning lowers the original function's cost tenfold.
fn thermostat_tuning_matches_host() -> bool {
    let (device, host) = (compared::thermostat_tuning(), expected::TUNING);
    let (mut error, mut identical) = against_host(&[(&device.params, &host.params), (&device.costs, &host.costs)]);
    for (d, h) in compared::thermostat_gradients().iter().zip(&expected::THERMOSTAT_GRADIENTS) {
        let (point_error, same) = against_host(&[(&d.relaxed, &h.relaxed), (&d.straight_through, &h.straight_through)]);
        (error, identical) = (error.max(point_error), identical && same);
    }
    let (first, last) = (device.costs[0], device.costs[thermostat::TUNING_STEPS]);
    let [setpoint, gain] = device.params;
    hprintln!(
        "  cost {first} -> {last} in {} steps (setpoint {setpoint} °C, gain {gain}); with the gradients at {} points: \
         host {}, max relative error {error:e}",
        thermostat::TUNING_STEPS,
        compared::THERMOSTAT_POINTS.len(),
        identity(identical)
    );
    error <= HOST_TOLERANCE && last <= first / 10.0
}

/// The stack `thermostat_cost_relaxed_grad` uses beyond `thermostat_cost_relaxed` is within
/// `THERMOSTAT_COST_RELAXED_STORAGE_BYTES` (the bytes its adjoint stores: a day of hourly values)
/// plus [`FRAME_OVERHEAD`].
fn thermostat_storage_bounds_stack() -> bool {
    let outside = thermostat::outside();
    let primal = crate::stack::stack_bytes(|| {
        measured::thermostat_cost_relaxed(20.0, 1.0, core::hint::black_box(&outside), TEMPERATURE)
    });
    let grad = crate::stack::stack_bytes(|| {
        measured::thermostat_cost_relaxed_grad(20.0, 1.0, core::hint::black_box(&outside), TEMPERATURE)
    });
    let storage = thermostat::THERMOSTAT_COST_RELAXED_STORAGE_BYTES;
    let growth = grad.saturating_sub(primal);
    hprintln!("  stack {grad} - {primal} = {growth} bytes; storage {storage} + frame {FRAME_OVERHEAD}");
    growth <= storage + FRAME_OVERHEAD
}
