//! Rules of relax, generated gradients, tangents and Hessian-vector products in a `#![no_std]`
//! staticlib with its own panic handler and no allocator.
#![no_std]
// The functions are written the way relax's language reads best: index loops.
#![allow(clippy::needless_range_loop)]

use relax::prelude::*;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}

/// Softmax, its pullback and a straight-through estimate, in f32.
#[unsafe(no_mangle)]
pub extern "C" fn relax_rules_f32(x: &[f32; 4], t: f32, out: &mut [f32; 4]) -> f32 {
    let (y, (dx, dt)) = softmax_vjp(*x, t, [1.0, 0.0, 0.0, 0.0]);
    *out = dx;
    y[0] + dt + st_argmax(*x, t) + softplus(x[0]) + huber(x[1], 1.0)
}

/// Gumbel noise drawn by a caller-supplied RNG (feature `rand`).
#[cfg(feature = "rand")]
#[unsafe(no_mangle)]
pub extern "C" fn relax_gumbel_f64(seed: u64) -> f64 {
    struct Xorshift(u64);
    impl relax::rand::TryRng for Xorshift {
        type Error = core::convert::Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            self.try_next_u64().map(|v| (v >> 32) as u32)
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            Ok(self.0)
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
            for b in dst {
                *b = self.try_next_u64()? as u8;
            }
            Ok(())
        }
    }
    let mut rng = Xorshift(seed | 1);
    let g: [f64; 4] = gumbel_noise(&mut rng);
    st_gumbel_argmax([0.0, 1.0, 2.0, 3.0], 0.5, &mut rng) + g[0] + normal_noise::<f64>(&mut rng)
}

/// A loop, arrays, softmax and a straight-through estimate, differentiated in f32.
#[differentiable]
fn readout<T: Real, const N: usize>(w: [T; N], x: &[[T; N]; 4], t: T) -> T {
    let mut logits = [0.0; 4];
    for k in 0..4 {
        let mut s = 0.0;
        for i in 0..N {
            s += w[i] * x[k][i];
        }
        logits[k] = s.tanh();
    }
    let p = softmax(logits, t);
    let hard = st_one_hot(logits, t);
    p[0] * 2.0 + hard[1] - soft_argmax(logits, t) * 0.5
}

/// One gradient step on `readout`'s weights.
#[unsafe(no_mangle)]
pub extern "C" fn relax_readout_step(w: &mut [f32; 3], x: &[[f32; 3]; 4]) -> f32 {
    let (value, (dw, _)) = readout_grad(*w, x, 0.5);
    for i in 0..3 {
        w[i] -= 0.1 * dw[i];
    }
    value
}

/// The embedded example's calibration loop, for a target's C code to call.
#[unsafe(no_mangle)]
pub extern "C" fn relax_calibrate(out: &mut [f32; 3]) -> f32 {
    let (truth, readings) = relax_embedded::reference();
    *out = relax_embedded::calibrate(&truth, &readings, 3000, 0, |_, _, _| {});
    relax_embedded::calibration_loss(*out, &truth, &readings)
}

/// A parameter struct with a data field.
#[derive(Clone, Copy, Differentiable)]
pub struct Readout<T: Real, const N: usize> {
    w: [T; N],
    #[no_derivative]
    steps: u32,
}

/// `readout` of a parameter struct: the struct is differentiated, its gradient a `Readout`.
#[differentiable(wrt(p))]
fn readout_of<T: Real, const N: usize>(p: Readout<T, N>, x: &[[T; N]; 4], t: T) -> T {
    let mut w = p.w;
    w[0] = w[0] * 0.5 + w[N - 1] * 0.5;
    readout(w, x, t)
}

/// `readout_of`'s gradient step on a parameter struct, through the derived `AddScaled`.
#[unsafe(no_mangle)]
pub extern "C" fn relax_readout_struct_step(p: &mut Readout<f32, 3>, x: &[[f32; 3]; 4]) -> f32 {
    let (value, grad) = readout_of_grad(*p, x, 0.5);
    relax::AddScaled::add_scaled(p, -0.1, grad);
    p.steps += 1;
    value
}

/// A spring whose methods are differentiated; its fields are data.
pub struct Spring<T> {
    stiffness: T,
    rest: T,
}

impl<T: Real> Spring<T> {
    /// Relaxes `x` towards the rest length in a `while` on an active condition (its storage
    /// bounded by `max_iter`), then an energy chosen by a `match` on data.
    #[differentiable(real = T, max_iter = 64)]
    fn settle(&self, x: T, mode: u8) -> T {
        let mut y = x;
        let mut steps = 0;
        while (y - self.rest).abs() > 0.01 && steps < 64 {
            y = y - 0.5 * self.stiffness * (y - self.rest) + 0.001 * y * y;
            steps += 1;
        }
        match mode {
            0 => 0.5 * self.stiffness * y * y,
            1 => (y - self.rest).abs() + x * x,
            _ => y * x,
        }
    }
}

/// The value plus the derivative of [`Spring::settle`], for a target's C code to call.
#[unsafe(no_mangle)]
pub extern "C" fn relax_spring_settle(x: f32, mode: u8) -> f32 {
    let spring = Spring { stiffness: 0.8, rest: 1.0 };
    let (value, dx) = spring.settle_grad(x, mode);
    value + dx
}

/// Horner's recurrence over coefficients of run-time length, differentiated: the loop stores,
/// within `max_iter`, and the coefficients' gradient goes into the caller's buffer.
#[differentiable(wrt(c, x), max_iter = 8)]
fn horner<T: Real>(c: &[T], x: T) -> T {
    let mut p = 0.0;
    for v in c {
        p = p * x + *v;
    }
    p
}

/// The value plus the derivative in `x` of [`horner`] on the first `n` of the coefficients (at
/// most 8); their gradient into `d_c`.
#[unsafe(no_mangle)]
pub extern "C" fn relax_horner_grad(c: &[f32; 8], n: usize, x: f32, d_c: &mut [f32; 8]) -> f32 {
    let n = n.min(8);
    let (value, dx) = horner_grad(&c[..n], x, &mut d_c[..n]);
    value + dx
}

/// `hvp` with a parameter struct: its sweeps run on the struct over dual numbers (the derived
/// `Seed`).
#[differentiable(wrt(p), hvp)]
fn readout_energy<T: Real, const N: usize>(p: Readout<T, N>, x: &[T; N]) -> T {
    let mut e = 0.0;
    for i in 0..N {
        e += softplus(p.w[i] * x[i]);
    }
    e
}

/// `readout_energy`'s Hessian times `v`, in f32, written into `hv`.
#[unsafe(no_mangle)]
pub extern "C" fn relax_readout_curvature(
    p: &Readout<f32, 3>,
    x: &[f32; 3],
    v: &Readout<f32, 3>,
    hv: &mut Readout<f32, 3>,
) {
    (_, _, *hv) = readout_energy_hvp(*p, x, *v);
}

/// A smooth loss with curvature: forward mode and, with `hvp`, Hessian-vector products.
#[differentiable(hvp)]
fn smooth<T: Real>(w: [T; 3], x: &[[T; 3]; 4]) -> T {
    let mut total = 0.0;
    for k in 0..4 {
        let mut s = 0.0;
        for i in 0..3 {
            s += w[i] * x[k][i];
        }
        total += softplus(s);
    }
    total + logsumexp(w, 0.5)
}

/// `smooth`'s derivative along `v` (forward mode) and its Hessian times `v`, in f32.
#[unsafe(no_mangle)]
pub extern "C" fn relax_smooth_directional(w: &[f32; 3], x: &[[f32; 3]; 4], v: &[f32; 3], hv: &mut [f32; 3]) -> f32 {
    let (_, along) = smooth_jvp(*w, x, *v);
    (_, _, *hv) = smooth_hvp(*w, x, *v);
    along
}

/// A two-link arm's tip: `jacobian` gives its 2 × 2 Jacobian from one forward sweep.
#[differentiable(jacobian)]
fn tip<T: Real>(angles: [T; 2]) -> [T; 2] {
    let total = angles[0] + angles[1];
    [angles[0].cos() + 0.5 * total.cos(), angles[0].sin() + 0.5 * total.sin()]
}

/// The tip of [`tip`] into `at` and its Jacobian (row by row) into `jacobian`, in f32.
#[unsafe(no_mangle)]
pub extern "C" fn relax_tip_jacobian(angles: &[f32; 2], at: &mut [f32; 2], jacobian: &mut [[f32; 2]; 2]) {
    (*at, *jacobian) = tip_jacobian(*angles);
}
