//! Models with differentiable methods, shared by the tests of methods in reverse and forward mode:
//! springs read as data (`&self`, `self`, `obj.f(x)`, associated functions) and an integrator
//! whose `&mut self` methods count their steps, and a pendulum generic over its float type.

// The models are written the way relax's language reads best: index loops, `v = v - …`.
#![allow(clippy::needless_range_loop, clippy::assign_op_pattern)]

use relax::prelude::*;

/// A free differentiable function, called from a method.
#[differentiable]
pub fn soft_gap(a: f64, b: f64) -> f64 {
    (a - b).tanh() * a
}

/// Data of its methods: their fields are read, never differentiated.
#[derive(Clone, Copy, Debug)]
pub struct Spring {
    pub stiffness: f64,
    pub rest: f64,
}

impl Spring {
    /// `&self`, reading fields as data.
    #[differentiable]
    pub fn energy(&self, x: f64) -> f64 {
        let d = x - self.rest;
        0.5 * self.stiffness * d * d
    }

    /// An associated function calling a free one.
    #[differentiable]
    pub fn coupling(a: f64, b: f64) -> f64 {
        soft_gap(a, b) + a * b
    }

    /// `self.energy` in a loop that breaks on an active condition, and `Self::coupling`.
    #[differentiable]
    pub fn chain(&self, x: [f64; 4]) -> f64 {
        let mut e = 0.0;
        for i in 0..4 {
            e = e * 0.5 + self.energy(x[i]);
            if e > 3.0 {
                break;
            }
        }
        e + Self::coupling(x[0], x[3])
    }

    /// `self` by value.
    #[differentiable]
    pub fn force(self, x: f64) -> f64 {
        -self.stiffness * (x - self.rest) + Self::coupling(x, self.rest)
    }
}

/// `obj.method(x)` of data values from a free function: an element of an array of them, and a
/// reference; a composition chain free → method → method and associated → free.
#[differentiable]
pub fn springs(x: [f64; 4], all: &[Spring; 4], one: &Spring) -> f64 {
    let mut s = 0.0;
    for i in 0..4 {
        s += all[i].energy(x[i]);
    }
    s + one.chain(x) * 0.25 + one.force(x[1])
}

/// A simulation whose methods count their steps: `&mut self` changes data.
pub struct Integrator {
    pub dt: f64,
    pub steps: usize,
}

impl Integrator {
    /// One counted step.
    #[differentiable]
    pub fn kick(&mut self, x: f64, v: f64) -> f64 {
        self.steps += 1;
        v - self.dt * x.sin()
    }

    /// `n` steps of a pendulum in a `while` that stores them, each counted, then one `self.kick`.
    #[differentiable(max_iter = 32)]
    pub fn run(&mut self, x0: f64, v0: f64, n: usize) -> f64 {
        let (mut x, mut v) = (x0, v0);
        let mut k = 0;
        while k < n {
            v = v - self.dt * x.sin();
            x = x + self.dt * v;
            self.steps += 1;
            k += 1;
        }
        let v = self.kick(x, v);
        x * x + v
    }

    /// `self.kick` in an accumulation loop and in a branch.
    #[differentiable]
    pub fn kicks(&mut self, x: f64, v: f64) -> f64 {
        let mut s = 0.0;
        for _ in 0..3 {
            s += self.kick(x, v);
        }
        if x > 0.0 { s * self.kick(v, x) } else { s }
    }
}

/// A pendulum of any float type (`real = T` declares the impl's parameter a float type), for the
/// generic impls in reverse and forward mode.
#[derive(Clone, Copy)]
pub struct Pendulum<T> {
    pub length: T,
    pub gravity: T,
}

impl<T: Real> Pendulum<T> {
    /// Energy, with literals and an `as T` cast rewritten for `T`.
    #[differentiable(real = T)]
    pub fn energy(&self, theta: T, omega: T) -> T {
        0.5 * omega * omega + self.gravity / self.length * (1.0 - theta.cos()) * (2 as T) * 0.5
    }

    #[differentiable(real = T)]
    pub fn damping(omega: T) -> T {
        1.0 / (1.0 + omega * omega)
    }

    /// Semi-implicit Euler until the pendulum swings back through zero (an active `break`),
    /// composed with `self.energy` and `Self::damping`.
    #[differentiable(real = T)]
    pub fn swing(&self, theta: T, omega: T) -> T {
        let (mut th, mut om) = (theta, omega);
        for _ in 0..30 {
            om = om - 0.05 * self.gravity / self.length * th.sin();
            th = th + 0.05 * om;
            if th < 0.0 {
                break;
            }
        }
        self.energy(th, om) * Self::damping(om) + th
    }

    /// A `while` on an active condition with `max_iter`.
    #[differentiable(real = T, max_iter = 400)]
    pub fn steps_to_fall(&self, theta: T) -> T {
        let mut th = theta;
        let mut om = 0.0;
        while th > 0.1 {
            om = om - 0.01 * self.gravity / self.length * th.sin();
            th = th + 0.01 * om;
        }
        th + om
    }
}
