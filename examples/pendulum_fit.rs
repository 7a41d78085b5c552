//! A damped pendulum's length, damping and release angle, fitted to a noisy recording of its
//! swing. The parameters are one struct (`#[derive(Differentiable)]`), its gradient a value of the
//! same struct; the simulation is a `while` loop over time (semi-implicit Euler) inside a
//! method of the experiment, differentiated through every step (`max_iter` bounds the storage of
//! the loop's states); Adam descends on the squared error between simulated and observed angles.
#[path = "support/plot.rs"]
mod plot;

use rand::SeedableRng;
use rand::rngs::StdRng;
use relax::Coordinates;
use relax::prelude::*;

/// The physical parameters: what the fit moves.
#[derive(Clone, Copy, Debug, Differentiable)]
pub struct Pendulum {
    /// Length, m.
    pub length: f64,
    /// Damping rate, 1/s.
    pub damping: f64,
    /// The angle it is released from (at rest), rad.
    pub theta0: f64,
}

impl Pendulum {
    /// The angular acceleration at angle `theta` and angular velocity `omega`:
    /// `−(g/L)·sin θ − c·ω`.
    #[differentiable(wrt(p, theta, omega))]
    pub fn acceleration(p: Pendulum, theta: f64, omega: f64, gravity: f64) -> f64 {
        -(gravity / p.length) * theta.sin() - p.damping * omega
    }
}

/// How the swing is recorded: data, never differentiated.
pub struct Experiment<const M: usize> {
    /// m/s².
    pub gravity: f64,
    /// The integration step, s.
    pub dt: f64,
    /// Integration steps between two observations.
    pub every: usize,
}

/// Observations: one angle every 0.1 s for 4 s.
pub const OBSERVATIONS: usize = 40;
pub const EXPERIMENT: Experiment<OBSERVATIONS> = Experiment { gravity: 9.81, dt: 0.01, every: 10 };
pub const TRUTH: Pendulum = Pendulum { length: 1.5, damping: 0.35, theta0: 1.2 };
/// Where the fit starts: a guess off by about a third in each parameter.
pub const START: Pendulum = Pendulum { length: 1.0, damping: 0.2, theta0: 0.8 };
/// Adam's steps: the fit has converged (its gradient is at rounding level) well before.
pub const STEPS: usize = 1000;
/// The standard deviation of the angle sensor's noise, rad.
pub const NOISE: f64 = 0.03;

impl<const M: usize> Experiment<M> {
    /// The recording's length, s.
    pub fn duration(&self) -> f64 {
        (M * self.every) as f64 * self.dt
    }

    /// The angle after every `every` steps, from release until `duration()`.
    #[differentiable(wrt(p), max_iter = 512)]
    pub fn simulate(&self, p: Pendulum) -> [f64; M] {
        let t_end = self.duration();
        let mut angles = [0.0; M];
        let mut theta = p.theta0;
        let mut omega = 0.0;
        let mut t = 0.0;
        let mut step = 0;
        // Half a step of slack: `t` accumulates rounding errors.
        while t + 0.5 * self.dt < t_end {
            omega += self.dt * Pendulum::acceleration(p, theta, omega, self.gravity);
            theta += self.dt * omega;
            t += self.dt;
            step += 1;
            if step % self.every == 0 {
                angles[step / self.every - 1] = theta;
            }
        }
        angles
    }

    /// The mean squared difference between the simulated and the observed angles.
    #[differentiable(wrt(p), max_iter = 512)]
    pub fn loss(&self, p: Pendulum, observed: &[f64; M]) -> f64 {
        let angles = self.simulate(p);
        let mut total = 0.0;
        for i in 0..M {
            let r = angles[i] - observed[i];
            total += r * r;
        }
        total / M as f64
    }
}

/// The true swing plus N(0, NOISE²) sensor noise.
pub fn observe(seed: u64) -> [f64; OBSERVATIONS] {
    let mut rng = StdRng::seed_from_u64(seed);
    EXPERIMENT.simulate(TRUTH).map(|theta| theta + NOISE * normal_noise::<f64>(&mut rng))
}

/// Adam (rates 0.9 and 0.999) from `START`, on any struct with derived `Differentiable`: its
/// float coordinates are the fit's unknowns. Returns the fit and the loss at every step.
pub fn fit(observed: &[f64; OBSERVATIONS], steps: usize, rate: f64) -> (Pendulum, Vec<f64>) {
    let (beta1, beta2, eps) = (0.9, 0.999, 1e-8);
    let mut p = START;
    let (mut m, mut v) = ([0.0; 3], [0.0; 3]);
    let mut losses = Vec::with_capacity(steps);
    for k in 1..=steps {
        let (loss, grad) = EXPERIMENT.loss_grad(p, observed);
        losses.push(loss);
        let mut i = 0;
        grad.for_each_coordinate(&mut |g| {
            m[i] = beta1 * m[i] + (1.0 - beta1) * g;
            v[i] = beta2 * v[i] + (1.0 - beta2) * g * g;
            i += 1;
        });
        let (c1, c2) = (1.0 - beta1.powi(k as i32), 1.0 - beta2.powi(k as i32));
        let mut i = 0;
        p.map_coordinates(&mut |x| {
            let step = rate * (m[i] / c1) / ((v[i] / c2).sqrt() + eps);
            i += 1;
            x - step
        });
    }
    (p, losses)
}

/// The root-mean-square difference between a pendulum's swing and the true one, rad.
pub fn swing_error(p: Pendulum) -> f64 {
    let (a, b) = (EXPERIMENT.simulate(p), EXPERIMENT.simulate(TRUTH));
    (a.iter().zip(&b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / OBSERVATIONS as f64).sqrt()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let observed = observe(7);
    println!(
        "A damped pendulum recorded every 0.1 s for {} s, with N(0, {NOISE}²) noise on each angle.\n",
        EXPERIMENT.duration()
    );
    let (p, losses) = fit(&observed, STEPS, 0.01);
    println!("  parameter        truth    start      fit");
    for (name, t, s, f) in [
        ("length (m)", TRUTH.length, START.length, p.length),
        ("damping (1/s)", TRUTH.damping, START.damping, p.damping),
        ("theta0 (rad)", TRUTH.theta0, START.theta0, p.theta0),
    ] {
        println!("  {name:<14} {t:7.3}  {s:7.3}  {f:7.3}");
    }
    let (loss, grad) = EXPERIMENT.loss_grad(p, &observed);
    println!("\nLoss {:.4} at the start, {loss:.6} after {STEPS} Adam steps; its gradient there:", losses[0]);
    println!("  {grad:?}");
    println!(
        "RMS residual {:.4} rad (the true parameters': {:.4}; the noise: {NOISE}). The fitted swing is {:.4} rad RMS \
         from the true one: the {OBSERVATIONS} observations average the noise down.",
        loss.sqrt(),
        EXPERIMENT.loss(TRUTH, &observed).sqrt(),
        swing_error(p)
    );

    // The swing at every integration step, for the plot.
    let fine = Experiment::<{ OBSERVATIONS * 10 }> { gravity: EXPERIMENT.gravity, dt: EXPERIMENT.dt, every: 1 };
    let curve =
        |q: Pendulum| fine.simulate(q).iter().enumerate().map(|(k, &a)| ((k + 1) as f64 * fine.dt, a)).collect();
    let times = (1..=OBSERVATIONS).map(|k| k as f64 * 0.1);
    let series = [
        plot::Series::scatter("observed", times.zip(observed).collect()),
        plot::Series::line("truth", curve(TRUTH)),
        plot::Series::line("start", curve(START)),
        plot::Series::line("fit", curve(p)),
    ];
    let path =
        plot::svg("pendulum_fit", "A damped pendulum fitted to a noisy recording", ("t (s)", "angle (rad)"), &series)?;
    println!("plot: {path}");
    Ok(())
}
