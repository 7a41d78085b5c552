//! Tune a thermostat through its hard, piecewise-constant cost with `#[differentiable(relaxed)]`.
//!
//! A heater with four power levels runs below its setpoint at `gain·(setpoint − room)` rounded
//! to a level; a day is simulated hour by hour. The cost (the room's squared distance from 20 °C
//! plus the energy) is piecewise constant in the setpoint and the gain: the `if room < setpoint`
//! switch and the `round` make its gradient zero wherever it exists, so plain gradient descent
//! does not move (and the attribute does not even generate `cost_grad`). The relaxation
//! `cost_relaxed(…, t)` blends the switch by a sigmoid and rounds softly; gradient descent on it
//! with the temperature annealed from 1 to 0.01 lowers the hard cost, and so does the
//! straight-through gradient (`cost_st_grad`: the hard cost's value, the relaxed gradient) at a
//! fixed temperature.
#[path = "support/plot.rs"]
mod plot;

use relax::prelude::*;

/// Simulated hours.
pub const HOURS: usize = 24;

/// The room temperature the cost is measured against, °C.
pub const TARGET: f64 = 20.0;

/// Mean over a day of the room's squared distance from [`TARGET`], plus the heating energy, for a
/// thermostat with `setpoint` (°C) and `gain` (power levels per °C below the setpoint). Each
/// hour the room loses a tenth of its difference to the outside and gains 0.5 °C per level.
#[differentiable(relaxed, wrt(setpoint, gain))]
pub fn cost(setpoint: f64, gain: f64, outside: &[f64; HOURS]) -> f64 {
    let mut room = 16.0;
    let mut cost = 0.0;
    for outdoor in outside {
        let mut power = 0.0;
        if room < setpoint {
            power = (gain * (setpoint - room)).round().min(4.0);
        }
        room += 0.1 * (outdoor - room) + 0.5 * power;
        cost += (room - TARGET) * (room - TARGET) + 0.05 * power;
    }
    cost / HOURS as f64
}

/// The outside temperature over the day, °C: 4 at night, 12 in the afternoon.
pub fn outside() -> [f64; HOURS] {
    core::array::from_fn(|hour| 8.0 - 4.0 * (core::f64::consts::TAU * (hour as f64 + 9.0) / HOURS as f64).sin())
}

/// The starting thermostat: a low setpoint and a weak gain (the room stays cold).
pub const START: [f64; 2] = [17.0, 0.3];

/// Gradient steps of each run.
pub const STEPS: usize = 300;

/// The step size of gradient descent (on gradients clipped to length 1).
pub const RATE: f64 = 0.05;

/// One step of gradient descent from `p` along `g`, clipped to length 1.
fn descend(p: [f64; 2], g: (f64, f64)) -> [f64; 2] {
    let norm = g.0.hypot(g.1).max(1.0);
    [p[0] - RATE * g.0 / norm, p[1] - RATE * g.1 / norm]
}

/// A point of a run: the temperature, the relaxed cost, the hard cost.
#[derive(Clone, Copy, Debug)]
pub struct Record {
    /// The temperature of the step.
    pub t: f64,
    /// `cost_relaxed` at the step's parameters and temperature.
    pub relaxed: f64,
    /// `cost` at the step's parameters.
    pub hard: f64,
}

/// The temperature at `step` of an annealed run: from 1 to 0.01, geometrically.
pub fn temperature(step: usize) -> f64 {
    0.01f64.powf(step as f64 / (STEPS - 1) as f64)
}

/// [`STEPS`] steps along `cost_relaxed_grad` with the annealed [`temperature`]; the parameters
/// reached and a record per step.
pub fn annealed(outside: &[f64; HOURS]) -> ([f64; 2], Vec<Record>) {
    let mut p = START;
    let mut records = Vec::new();
    for step in 0..STEPS {
        let t = temperature(step);
        let (relaxed, g) = cost_relaxed_grad(p[0], p[1], outside, t);
        records.push(Record { t, relaxed, hard: cost(p[0], p[1], outside) });
        p = descend(p, g);
    }
    (p, records)
}

/// [`STEPS`] steps along the straight-through `cost_st_grad` at the fixed temperature `t`; the
/// parameters reached.
pub fn straight_through(outside: &[f64; HOURS], t: f64) -> [f64; 2] {
    let mut p = START;
    for _ in 0..STEPS {
        let (_, g) = cost_st_grad(p[0], p[1], outside, t);
        p = descend(p, g);
    }
    p
}

/// The hard cost's gradient by central differences (the only one there is: `cost_grad` is not
/// generated), at `p`: zero wherever the cost is flat.
pub fn hard_gradient(outside: &[f64; HOURS], p: [f64; 2]) -> (f64, f64) {
    let h = 1e-6;
    let slope = |dp: [f64; 2]| {
        (cost(p[0] + dp[0], p[1] + dp[1], outside) - cost(p[0] - dp[0], p[1] - dp[1], outside)) / (2.0 * h)
    };
    (slope([h, 0.0]), slope([0.0, h]))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let outside = outside();
    let start = cost(START[0], START[1], &outside);
    println!("A thermostat over a day: setpoint {} °C, gain {} levels/°C; hard cost {start:.3}.\n", START[0], START[1]);
    let (ds, dg) = hard_gradient(&outside, START);
    println!("Hard gradient (central differences; cost_grad is not generated): ({ds}, {dg}): no descent.\n");

    let (annealed_p, records) = annealed(&outside);
    println!("Annealed relaxation, {STEPS} steps along cost_relaxed_grad:");
    println!("  {:>6}  {:>12}  {:>10}", "t", "relaxed cost", "hard cost");
    for step in (0..STEPS).step_by(STEPS / 6).chain([STEPS - 1]) {
        let Record { t, relaxed, hard } = records[step];
        println!("  {t:>6.3}  {relaxed:>12.4}  {hard:>10.4}");
    }
    let annealed_cost = cost(annealed_p[0], annealed_p[1], &outside);
    println!("  -> setpoint {:.2} °C, gain {:.2}: hard cost {annealed_cost:.4}\n", annealed_p[0], annealed_p[1]);

    let fixed_t = 0.5;
    let st_p = straight_through(&outside, fixed_t);
    let st_cost = cost(st_p[0], st_p[1], &outside);
    println!("Straight-through at t = {fixed_t}, {STEPS} steps along cost_st_grad:");
    println!("  -> setpoint {:.2} °C, gain {:.2}: hard cost {st_cost:.4}\n", st_p[0], st_p[1]);

    let log_t = |r: &Record| r.t.log10();
    let level = |name: &str, y: f64| plot::Series::line(name, vec![(0.0, y), (-2.0, y)]);
    let series = [
        plot::Series::line("relaxed cost (annealed)", records.iter().map(|r| (log_t(r), r.relaxed)).collect()),
        plot::Series::line("hard cost (annealed)", records.iter().map(|r| (log_t(r), r.hard)).collect()),
        level("hard cost at the start", start),
        level("final hard cost, straight-through at t = 0.5", st_cost),
    ];
    let path = plot::svg("relaxed_control", "Tuning a thermostat by relaxation", ("log10 t", "cost"), &series)?;
    println!("plot: {path}");

    if annealed_cost >= start || st_cost >= start {
        eprintln!(
            "the relaxed tuning did not improve the hard cost: {start} -> annealed {annealed_cost}, straight-through {st_cost}"
        );
        std::process::exit(1);
    }
    Ok(())
}
