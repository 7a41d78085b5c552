//! A thermistor calibrated by a lookup table. The sensor's reading (the divider voltage, a
//! fraction of the supply) falls steeply and nonlinearly as the temperature rises; the reading is
//! turned into degrees by linear interpolation in a table of `K` knots spread over the readings,
//! and the table's entries are fitted by gradient descent to noisy reference measurements.
//!
//! The interpolation finds its segment with `floor` and a cast to `usize`, which
//! `#[differentiable]` cannot differentiate (the gradient of `floor` is zero almost everywhere).
//! Its derivative is declared instead (`vjp = lut_vjp`: the slope of the segment in the reading,
//! the two interpolation weights in the table), checked against finite differences with
//! `relax::check`, and the loss, a plain `#[differentiable]` function, calls `lut` like any rule.
#[path = "support/plot.rs"]
mod plot;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use relax::check::check_vjp;
use relax::prelude::*;

/// Knots of the table.
pub const K: usize = 24;
/// The readings the table covers: knot `k` is at `V_MIN + k·STEP`.
pub const V_MIN: f64 = 0.10;
pub const V_MAX: f64 = 0.92;
pub const STEP: f64 = (V_MAX - V_MIN) / (K - 1) as f64;
/// Reference measurements.
pub const M: usize = 400;
/// The temperatures calibrated, in °C.
pub const T_RANGE: (f64, f64) = (-20.0, 80.0);

/// The thermistor (β = 3950 K, 10 kΩ at 25 °C) over a 10 kΩ resistor: the reading at `t` °C.
pub fn reading(t: f64) -> f64 {
    let r = (3950.0 * (1.0 / (t + 273.15) - 1.0 / 298.15)).exp();
    r / (r + 1.0)
}

/// The exact inverse of [`reading`]: the temperature at reading `v`, in °C.
pub fn temperature(v: f64) -> f64 {
    1.0 / (1.0 / 298.15 + (v / (1.0 - v)).ln() / 3950.0) - 273.15
}

/// The segment `i` of reading `v` (clamped to the table: outside it the end segments extend) and
/// the position `f ∈ [0, 1)` in it.
fn segment(v: f64) -> (usize, f64) {
    let x = (v - V_MIN) / STEP;
    let i = (x.floor().max(0.0) as usize).min(K - 2);
    (i, x - i as f64)
}

/// The temperature the table gives at reading `v`: linear interpolation between its knots.
#[differentiable(vjp = lut_vjp)]
pub fn lut(v: f64, table: [f64; K]) -> f64 {
    let (i, f) = segment(v);
    table[i] + f * (table[i + 1] - table[i])
}

/// The declared pullback: `∂/∂v` is the segment's slope, `∂/∂table` the interpolation weights
/// `1 − f` and `f` of the segment's two knots (zero elsewhere).
pub fn lut_vjp(v: f64, table: [f64; K], dout: f64) -> (f64, (f64, [f64; K])) {
    let (i, f) = segment(v);
    let mut d_table = [0.0; K];
    d_table[i] = (1.0 - f) * dout;
    d_table[i + 1] = f * dout;
    let slope = (table[i + 1] - table[i]) / STEP;
    (table[i] + f * (table[i + 1] - table[i]), (slope * dout, d_table))
}

/// Gradient descent's steps and rate.
pub const STEPS: usize = 1000;
pub const RATE: f64 = 3.0;

/// The smoothness weight: second differences of the table, so that knots with few measurements
/// follow their neighbours.
const SMOOTHNESS: f64 = 1e-3;

/// Mean squared error of the table on the measurements, plus the smoothness penalty.
#[differentiable(wrt(table))]
pub fn loss(table: [f64; K], vs: &[f64; M], ts: &[f64; M]) -> f64 {
    let mut total = 0.0;
    for j in 0..M {
        let e = lut(vs[j], table) - ts[j];
        total += e * e;
    }
    let mut rough = 0.0;
    for k in 1..K - 1 {
        let c = table[k - 1] - 2.0 * table[k] + table[k + 1];
        rough += c * c;
    }
    total / (M as f64) + SMOOTHNESS * rough
}

/// Reference measurements: temperatures uniform over [`T_RANGE`], the reading with noise of
/// 0.002 (0.2% of the supply) and the reference thermometer's of 0.1 °C.
pub fn measurements(seed: u64) -> ([f64; M], [f64; M]) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut vs = [0.0; M];
    let mut ts = [0.0; M];
    for j in 0..M {
        let t = rng.random_range(T_RANGE.0..T_RANGE.1);
        vs[j] = reading(t) + 0.002 * normal_noise::<f64>(&mut rng);
        ts[j] = t + 0.1 * normal_noise::<f64>(&mut rng);
    }
    (vs, ts)
}

/// The two-point calibration a table replaces: the straight line through the readings at the ends
/// of the range, as knots.
pub fn two_point() -> [f64; K] {
    let (v0, v1) = (reading(T_RANGE.0), reading(T_RANGE.1));
    let slope = (T_RANGE.1 - T_RANGE.0) / (v1 - v0);
    core::array::from_fn(|k| T_RANGE.0 + slope * (V_MIN + k as f64 * STEP - v0))
}

/// Gradient descent from the two-point calibration: the table and the loss before each step.
pub fn fit(vs: &[f64; M], ts: &[f64; M], steps: usize, rate: f64) -> ([f64; K], Vec<f64>) {
    let mut table = two_point();
    let mut curve = Vec::with_capacity(steps);
    for _ in 0..steps {
        let (l, g) = loss_grad(table, vs, ts);
        curve.push(l);
        for k in 0..K {
            table[k] -= rate * g[k];
        }
    }
    (table, curve)
}

/// The mean squared error a perfect table would leave: the reference thermometer's noise plus the
/// reading's noise seen through the sensitivity `dT/dv`, averaged over the temperatures.
pub fn noise_floor(n: usize) -> f64 {
    let sum: f64 = grid(n)
        .map(|t| {
            let v = reading(t);
            let sensitivity = (temperature(v + 1e-6) - temperature(v - 1e-6)) / 2e-6;
            0.1f64.powi(2) + (0.002 * sensitivity).powi(2)
        })
        .sum();
    sum / n as f64
}

/// `n` temperatures evenly over [`T_RANGE`].
fn grid(n: usize) -> impl Iterator<Item = f64> {
    (0..n).map(move |j| T_RANGE.0 + (T_RANGE.1 - T_RANGE.0) * j as f64 / (n - 1) as f64)
}

/// The root-mean-square and the largest error in °C of a table against the true temperature, on
/// `n` temperatures evenly over [`T_RANGE`].
pub fn errors(table: [f64; K], n: usize) -> (f64, f64) {
    let (mut sum, mut max) = (0.0, 0.0f64);
    for t in grid(n) {
        let e = (lut(reading(t), table) - t).abs();
        sum += e * e;
        max = max.max(e);
    }
    ((sum / n as f64).sqrt(), max)
}

/// The declared pullback against central finite differences with relax's checker, at `n` random
/// readings and tables (away from the knots, where the slope jumps).
pub fn check_declared(n: usize, seed: u64) -> usize {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut checked = 0;
    while checked < n {
        let v = rng.random_range(V_MIN..V_MAX);
        let f = segment(v).1;
        if !(1e-3..1.0 - 1e-3).contains(&f) {
            continue;
        }
        let table: [f64; K] = core::array::from_fn(|_| rng.random_range(-20.0..80.0));
        check_vjp(|(v, table)| lut(v, table), |(v, table), d| lut_vjp(v, table, d), (v, table)).assert_ok();
        checked += 1;
    }
    checked
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!(
        "the declared pullback of `lut` checked against finite differences at {} points\n",
        check_declared(100, 1)
    );
    let (vs, ts) = measurements(7);
    let (table, curve) = fit(&vs, &ts, STEPS, RATE);
    println!(
        "{M} reference measurements from {} to {} °C; a table of {K} knots by gradient descent:",
        T_RANGE.0, T_RANGE.1
    );
    for step in [0, 10, 30, 100, 300, STEPS - 1] {
        println!("  step {step:>4}  loss {:.4}", curve[step]);
    }
    println!("  the measurement noise alone leaves {:.4}", noise_floor(1001));
    println!("\n  reading   true °C   table °C   sensitivity °C per 0.01 (true, table)");
    for t in [-20.0, 0.0, 25.0, 50.0, 80.0] {
        let v = reading(t);
        // The table's sensitivity is the declared derivative in the reading.
        let (value, (slope, _)) = lut_grad(v, table);
        let true_slope = (temperature(v + 1e-6) - temperature(v - 1e-6)) / 2e-6;
        println!("  {v:.4}   {t:7.2}   {value:8.2}   {:7.2}  {:7.2}", true_slope / 100.0, slope / 100.0);
    }
    let (line, fitted) = (errors(two_point(), 1001), errors(table, 1001));
    println!(
        "\nError over the range (RMS, largest): two-point line {:.2} °C, {:.2} °C; fitted table {:.2} °C, {:.2} °C.",
        line.0, line.1, fitted.0, fitted.1
    );
    println!("The table's sensitivity, its declared derivative in the reading, is a segment's slope: within 10%");
    println!("of the true one from 0 to 50 °C, off by up to 25% at the ends, where the curve bends most.");
    let mut series = vec![plot::Series::scatter("measurements", vs.iter().copied().zip(ts.iter().copied()).collect())];
    let curve_of = |f: &dyn Fn(f64) -> f64| {
        (0..=200).map(|j| V_MIN + (V_MAX - V_MIN) * j as f64 / 200.0).map(|v| (v, f(v))).collect()
    };
    series.push(plot::Series::line("exact inverse", curve_of(&temperature)));
    series.push(plot::Series::line("two-point line", curve_of(&|v| lut(v, two_point()))));
    series.push(plot::Series::line("fitted table", curve_of(&|v| lut(v, table))));
    let path = plot::svg("lookup_table", "Thermistor calibration by a lookup table", ("reading", "°C"), &series)?;
    println!("plot: {path}");
    Ok(())
}
