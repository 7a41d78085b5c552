//! Each example's claim, asserted: the examples are included as modules and their functions
//! called on small sizes.
#![deny(warnings)]
#![allow(dead_code)]
// Each example brings its own copy of the plot helper.
#![allow(clippy::duplicate_mod)]

#[path = "../examples/huber_vs_l2.rs"]
mod huber_vs_l2;

#[path = "../examples/discrete_choice.rs"]
mod discrete_choice;

#[path = "../examples/gaussian_reparam.rs"]
mod gaussian_reparam;

#[path = "../examples/soft_argmax_keypoint.rs"]
mod soft_argmax_keypoint;

#[path = "../examples/lookup_table.rs"]
mod lookup_table;
#[path = "../examples/newton.rs"]
mod newton;
#[path = "../examples/pendulum_fit.rs"]
mod pendulum_fit;
#[path = "../examples/relaxed_control.rs"]
mod relaxed_control;

#[test]
fn robust_losses_fit_the_line_through_outliers_better_than_squared_error() {
    for seed in 0..3 {
        let (xs, ys) = huber_vs_l2::data(seed);
        let [(_, w2, b2), (_, wh, bh), (_, ws, bs)] = huber_vs_l2::fits(&xs, &ys);
        let (e2, eh, es) = (huber_vs_l2::error((w2, b2)), huber_vs_l2::error((wh, bh)), huber_vs_l2::error((ws, bs)));
        assert!(eh < 0.5 * e2 && es < 0.5 * e2, "seed {seed}: huber {eh}, smooth_l1 {es}, squared {e2}");
        assert!(eh < 0.25 && es < 0.25, "seed {seed}: huber {eh}, smooth_l1 {es}");
    }
}

#[test]
fn baseline_and_straight_through_have_lower_variance_than_reinforce() {
    let theta = [0.3, -0.2, 0.1, 0.0];
    let (_, exact) = discrete_choice::expected_cost(theta);
    let n = 20_000;
    let (st_mean, st_var) = discrete_choice::gradient_statistics(0, theta, n, 1);
    let (rf_mean, rf_var) = discrete_choice::gradient_statistics(1, theta, n, 2);
    let (bl_mean, bl_var) = discrete_choice::gradient_statistics(2, theta, n, 3);
    assert!(bl_var < 0.5 * rf_var, "baseline {bl_var} vs REINFORCE {rf_var}");
    assert!(st_var < 0.5 * rf_var, "straight-through {st_var} vs REINFORCE {rf_var}");
    // REINFORCE (with or without a baseline) is unbiased: its mean is within 5 standard errors.
    for (mean, var) in [(rf_mean, rf_var), (bl_mean, bl_var)] {
        let se = (var / n as f64).sqrt();
        for i in 0..4 {
            assert!((mean[i] - exact[i]).abs() < 5.0 * se, "mean {mean:?} vs exact {exact:?}");
        }
    }
    let _ = st_mean;
    for which in 0..3 {
        let curve = discrete_choice::train(which, 400, 0.2, 7);
        assert!(
            curve[curve.len() - 1] < 0.3,
            "{}: final expected cost {}",
            discrete_choice::ESTIMATORS[which],
            curve[curve.len() - 1]
        );
    }
}

#[test]
fn the_reparameterisation_trick_has_lower_variance_than_the_score_function() {
    let at = (1.0, 0.5);
    let (_, exact) = gaussian_reparam::exact(at.0, at.1);
    let n = 20_000;
    let (rp_mean, rp_var) = gaussian_reparam::gradient_statistics(true, at, n, 1);
    let (sf_mean, sf_var) = gaussian_reparam::gradient_statistics(false, at, n, 2);
    assert!(rp_var < 0.2 * sf_var, "reparameterised {rp_var} vs score function {sf_var}");
    for (mean, var) in [(rp_mean, rp_var), (sf_mean, sf_var)] {
        let se = (var / n as f64).sqrt();
        for i in 0..2 {
            assert!((mean[i] - exact[i]).abs() < 5.0 * se, "mean {mean:?} vs exact {exact:?}");
        }
    }
    let (_, (mu, sigma)) = gaussian_reparam::train(true, 2000, 0.01, 5);
    assert!((mu - 3.0).abs() < 0.15 && (sigma - 0.5f64.sqrt()).abs() < 0.1, "mu {mu}, sigma {sigma}");
}

#[test]
fn a_learned_filter_locates_the_peak_better_than_the_raw_signal() {
    let raw = soft_argmax_keypoint::hard_error([0.0, 1.0, 0.0], 20, 1);
    for straight_through in [false, true] {
        let (w, _) = soft_argmax_keypoint::train(straight_through, 600, 2);
        let learned = soft_argmax_keypoint::hard_error(w, 20, 1);
        assert!(learned < 0.75 * raw, "straight-through {straight_through}: {learned} vs raw {raw}");
    }
}

#[test]
fn the_embedded_calibration_recovers_the_sensor() {
    let (truth, readings) = relax_embedded::reference();
    let p = relax_embedded::calibrate(&truth, &readings, 3000, 0, |_, _, _| {});
    for k in 0..3 {
        assert!((p[k] - relax_embedded::TRUE_PARAMS[k]).abs() < 0.02, "{p:?} vs {:?}", relax_embedded::TRUE_PARAMS);
    }
}

#[test]
fn the_pendulum_fit_recovers_the_physical_parameters() {
    use pendulum_fit::*;
    let error = |fit: f64, truth: f64| (fit - truth).abs() / truth;
    // The start is off by a third in each parameter.
    assert!(error(START.length, TRUTH.length) > 0.3 && error(START.damping, TRUTH.damping) > 0.3);
    for seed in 0..4 {
        let observed = observe(seed);
        let (p, losses) = fit(&observed, STEPS, 0.01);
        let (loss, grad) = EXPERIMENT.loss_grad(p, &observed);
        // Converged: a minimum of the loss, at least as good as the truth on these observations,
        // which it explains down to the noise.
        assert!(grad.length.abs() + grad.damping.abs() + grad.theta0.abs() < 1e-9, "seed {seed}: gradient {grad:?}");
        assert!(loss <= EXPERIMENT.loss(TRUTH, &observed) && loss < 1e-2 * losses[0], "seed {seed}: loss {loss}");
        assert!((0.5 * NOISE..1.5 * NOISE).contains(&loss.sqrt()), "seed {seed}: RMS residual {}", loss.sqrt());
        // Near the truth: the swing within half the noise of one observation, each parameter
        // within a few per cent (damping, the weakest in 4 s of data, within 10%).
        assert!(swing_error(p) < 0.5 * NOISE, "seed {seed}: swing error {}", swing_error(p));
        assert!(error(p.length, TRUTH.length) < 0.02, "seed {seed}: {p:?}");
        assert!(error(p.damping, TRUTH.damping) < 0.1, "seed {seed}: {p:?}");
        assert!(error(p.theta0, TRUTH.theta0) < 0.03, "seed {seed}: {p:?}");
    }
}

#[test]
fn a_fitted_lookup_table_calibrates_the_thermistor_to_the_noise() {
    use lookup_table::*;
    assert_eq!(check_declared(100, 3), 100);
    let floor = noise_floor(1001);
    let line = errors(two_point(), 1001);
    assert!(line.0 > 5.0, "the two-point line's RMS error {}", line.0);
    for seed in 0..3 {
        let (vs, ts) = measurements(seed);
        let (table, curve) = fit(&vs, &ts, STEPS, RATE);
        // Gradient descent on a quadratic at a stable rate: the loss never rises (but by rounding).
        assert!(curve.windows(2).all(|w| w[1] <= w[0] * (1.0 + 1e-12)), "seed {seed}: the loss rises");
        let last = curve[STEPS - 1];
        assert!(last < 1.4 * floor, "seed {seed}: loss {last} against the noise floor {floor}");
        let (rms, max) = errors(table, 1001);
        assert!(rms < 0.2 && max < 1.0 && rms < line.0 / 20.0, "seed {seed}: RMS {rms}, largest {max}");
        // The sensitivity: a segment's slope, within 10% mid-range and 25% at the ends.
        for (t, within) in [(-20.0, 0.25), (0.0, 0.1), (25.0, 0.1), (50.0, 0.1), (80.0, 0.25)] {
            let v = reading(t);
            let slope = lut_grad(v, table).1.0;
            let exact = (temperature(v + 1e-6) - temperature(v - 1e-6)) / 2e-6;
            assert!((slope / exact - 1.0).abs() < within, "seed {seed}: sensitivity {slope} against {exact} at {t} °C");
        }
    }
}

#[test]
fn newton_cg_on_hessian_vector_products_takes_far_fewer_steps_than_gradient_descent() {
    for seed in 1..4 {
        let (xs, ys) = newton::classification(seed);
        let n = newton::newton_cg(&xs, &ys, |_, _, _| {});
        let d = newton::gradient_descent(&xs, &ys, 1_000_000);
        assert!(n.converged && d.converged, "seed {seed}: {n:?}, {d:?}");
        assert!(n.iterations <= 15, "seed {seed}: Newton-CG took {} steps", n.iterations);
        assert!(d.iterations > 100 * n.iterations, "seed {seed}: {} vs {} steps", d.iterations, n.iterations);
        // The same minimiser: where central differences of the loss vanish.
        let at = n.w.to_vec();
        let slope = relax_testkit::fd(|q| newton::loss(relax_testkit::arr(q), &xs, &ys), &at);
        assert!(slope.iter().all(|g| g.abs() < 1e-7), "seed {seed}: finite differences {slope:?} at {at:?}");
        for i in 0..newton::F {
            assert!((n.w[i] - d.w[i]).abs() < 1e-5, "seed {seed}: {:?} vs {:?}", n.w, d.w);
        }
        // Gradient descent's `L` bounds the curvature `vᵀHv / vᵀv` (from `loss_hvp`) everywhere.
        let curvature = newton::largest_curvature(&xs);
        let mut r = relax_testkit::rng(seed);
        for _ in 0..100 {
            let w = relax_testkit::arr(&relax_testkit::point(&mut r, newton::F, -0.3, 0.3));
            let v: [f64; newton::F] = relax_testkit::arr(&relax_testkit::point(&mut r, newton::F, -1.0, 1.0));
            let (_, _, hv) = newton::loss_hvp(w, &xs, &ys, v);
            let rayleigh = relax::dot(hv, v) / relax::dot(v, v);
            assert!(0.0 < rayleigh && rayleigh <= curvature, "seed {seed}: {rayleigh} vs L = {curvature}");
        }
    }
}

#[test]
fn gauss_newton_on_jvp_columns_recovers_the_growth_curve() {
    for seed in 1..4 {
        let (ts, ys) = newton::growth(seed);
        let start = newton::initial_guess(&ts, &ys);
        let (p, steps) = newton::gauss_newton(start, &ts, &ys, |_, _, _| {});
        assert!(steps <= 10, "seed {seed}: {steps} steps");
        for i in 0..4 {
            assert!((p[i] - newton::CURVE[i]).abs() < 0.1, "seed {seed}: {p:?} vs {:?}", newton::CURVE);
        }
        // The columns from `_jvp` are the Jacobian's: against finite differences, and against its
        // rows from `_vjp` (one call per sample) and from `_jacobian` (one call for all).
        let columns = newton::jacobian_columns(start, &ts, &ys);
        let (_, rows) = newton::residuals_jacobian(start, &ts, &ys);
        let numeric = relax::check::numerical_jacobian(|q: [f64; 4]| newton::residuals(q, &ts, &ys), start);
        for k in 0..newton::N {
            let unit = core::array::from_fn(|i| if i == k { 1.0 } else { 0.0 });
            let (_, row) = newton::residuals_vjp(start, &ts, &ys, unit);
            let column: Vec<f64> = columns.iter().map(|c| c[k]).collect();
            relax_testkit::assert_close("columns vs rows", &column, &row, 1e-14, 1e-15);
            relax_testkit::assert_close("columns vs _jacobian's rows", &column, &rows[k], 1e-14, 1e-15);
            relax_testkit::assert_grad("columns vs finite differences", &column, &numeric[k]);
        }
    }
}

#[test]
fn relaxation_tunes_the_thermostat_whose_hard_gradient_is_zero() {
    use relaxed_control::*;
    let outside = outside();
    let start = cost(START[0], START[1], &outside);
    // The hard cost is flat at the start: no gradient to descend.
    assert_eq!(hard_gradient(&outside, START), (0.0, 0.0));
    let (p, records) = annealed(&outside);
    // Annealed to t = 0.01, the relaxed cost is the hard one within a per cent.
    let last = records[STEPS - 1];
    assert!((last.t - 0.01).abs() < 1e-12 && (last.relaxed - last.hard).abs() < 0.01 * last.hard, "{last:?}");
    // Both the relaxed and the straight-through descent cut the hard cost more than tenfold.
    let annealed_cost = cost(p[0], p[1], &outside);
    assert!(annealed_cost < start / 10.0, "annealed: {start} -> {annealed_cost}");
    let st = straight_through(&outside, 0.5);
    let st_cost = cost(st[0], st[1], &outside);
    assert!(st_cost < start / 10.0, "straight-through: {start} -> {st_cost}");
}
