//! Version 0.2's control flow and methods under `deny(warnings)`: `while`, `loop`, labelled
//! `break` and `continue`, `match` on data, returns in loops, `max_iter`, methods of a generic
//! impl with `real = T`. `main` calls only the originals: the generated functions nobody calls
//! warn about nothing either.
#![deny(warnings)]
#![allow(clippy::needless_range_loop)]
use relax::prelude::*;

enum Mode {
    Scale(f64),
    Skip,
    Stop,
}

#[differentiable(max_iter = 8)]
fn controls(x: f64, modes: &[Mode], n: usize) -> f64 {
    let mut s = x;
    let mut i = 0;
    while i < modes.len() {
        match modes[i] {
            Mode::Scale(k) if k > 0.0 => s = s * k + x,
            Mode::Scale(_) => s = s.sin(),
            Mode::Skip => {
                i += 1;
                continue;
            }
            Mode::Stop => break,
        }
        i += 1;
    }
    let mut k = 0;
    'outer: loop {
        for j in 0..3 {
            s = s * x + j as f64;
            if s > 10.0 {
                break 'outer;
            }
            if k == n {
                return s;
            }
        }
        k += 1;
    }
    let y = match n {
        0 => s,
        m => s * m as f64,
    };
    y * x
}

struct Spring<T> {
    stiffness: T,
}

impl<T: Real> Spring<T> {
    #[differentiable(real = T)]
    fn energy(&self, x: T) -> T {
        0.5 * self.stiffness * x * x
    }

    #[differentiable(real = T, max_iter = 16)]
    fn settle(&self, x: T) -> T {
        let mut y = x;
        while y.abs() > 0.1 {
            y = y * 0.5;
        }
        self.energy(y) + Self::offset(x)
    }

    #[differentiable(real = T)]
    fn offset(x: T) -> T {
        x * 2.0
    }
}

fn main() {
    let modes = [Mode::Scale(0.5), Mode::Skip, Mode::Scale(-1.0), Mode::Stop];
    let spring = Spring { stiffness: 2.0_f32 };
    assert!(controls(0.5, &modes, 2).is_finite() && spring.settle(3.0).is_finite());
}
