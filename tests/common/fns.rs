//! Differentiable functions covering every construct of the supported language and every rule.
//! Shared by the finite-difference tests and the allocation test.

// The fixtures are written the way relax's language reads best: index loops, `w = w * 2.0`.
#![allow(clippy::needless_range_loop, clippy::assign_op_pattern)]
use rand::Rng;
use relax::prelude::*;

// -- arithmetic, methods, mutation ------------------------------------------------------------

#[differentiable]
pub fn arith(x: f64, y: f64) -> f64 {
    let a = x * y - x / (y + 3.0);
    let b = -a + 2.0 * x;
    a * b - y
}

#[differentiable]
pub fn methods_a(x: f64, y: f64) -> f64 {
    let q = y * y + 1.0;
    x.exp() + x.exp2() + x.exp_m1() + q.ln() + q.ln_1p() + q.log2() + q.log10() + q.sqrt() + q.cbrt() + q.recip()
}

#[differentiable]
pub fn methods_b(x: f64, y: f64) -> f64 {
    let s = x * 0.3;
    x.sin() * y.cos() + s.tan() + s.asin() + s.acos() + x.atan() + x.atan2(y) + s.sinh() + s.cosh() + x.tanh()
}

#[differentiable]
pub fn methods_c(x: f64, y: f64) -> f64 {
    let q = y * y + 1.0;
    x.powi(3) + q.powf(x) + x.hypot(y) + x.mul_add(y, x) + x.abs() + x.max(y) + x.min(y) + x.clamp(-0.5, 0.5)
}

#[differentiable]
pub fn mutation(x: f64, y: f64) -> f64 {
    let mut s = x;
    s *= y;
    s += x * x;
    s -= y;
    s /= 2.0 + y * y;
    s = s * s + 1.0;
    let s = s.sqrt() * x; // shadowing
    s
}

// -- arrays -----------------------------------------------------------------------------------

#[differentiable]
pub fn arrays(v: [f64; 3]) -> [f64; 2] {
    let mut y = [0.0; 2];
    y[0] = v[0] * v[1];
    y[1] = v[2].sin();
    y[0] += v[2];
    let z = [v[0], v[1] * 2.0, 1.0];
    y[1] *= z[1];
    let r = [z[0] * 0.5; 2];
    y[0] -= r[1];
    y
}

#[differentiable]
pub fn matvec(m: [[f64; 3]; 2], x: [f64; 3]) -> [f64; 2] {
    let mut y = [0.0; 2];
    for i in 0..2 {
        for j in 0..3 {
            y[i] += m[i][j] * x[j];
        }
    }
    y
}

/// Element writes into a nested array that reads its old value, inside nested loops.
#[differentiable]
pub fn outer_product(a: [f64; 3], b: [f64; 2]) -> [[f64; 2]; 3] {
    let mut m = [[0.5; 2]; 3];
    for i in 0..3 {
        for j in 0..2 {
            m[i][j] = a[i] * b[j] + m[i][j] * a[i];
        }
    }
    m
}

/// A tuple output with an integer part: its cotangent is ignored.
#[differentiable]
pub fn value_and_index(x: [f64; 3]) -> (f64, usize) {
    (x[0] * x[1] + x[2].sin(), argmax(x))
}

/// `wrt` a reference, and `*r` copying the array out of it.
#[differentiable(wrt(x))]
pub fn through_ref(x: &[f64; 3], k: f64) -> f64 {
    let y = *x;
    y[0] * y[1] * k + x[2].exp()
}

// -- loops ------------------------------------------------------------------------------------

/// A product: the loop reads what it writes, so each iteration's `p` is stored.
#[differentiable]
pub fn product(x: [f64; 5]) -> f64 {
    let mut p = 1.0;
    for i in 0..5 {
        p *= x[i];
    }
    p
}

/// A recurrence with a const-generic bound.
#[differentiable]
pub fn logistic_map<const STEPS: usize>(a: f64, x0: f64) -> f64 {
    let mut x = x0;
    for _ in 0..STEPS {
        x = a * x * (1.0 - x);
    }
    x
}

#[differentiable]
pub fn for_each(xs: [f64; 4], w: f64) -> f64 {
    let mut s = 0.0;
    for v in xs {
        s += (v * w).tanh();
    }
    s
}

/// `for v in xs` over data behind a reference: `v` is `&f64`.
#[differentiable]
pub fn for_each_data(w: f64, b: f64, xs: &[f64; 4]) -> f64 {
    let mut s = 0.0;
    for v in xs {
        s += (w * v + b).powi(2);
    }
    s
}

/// A loop over a slice of runtime length: an accumulation, so nothing is stored.
#[differentiable]
pub fn slice_loss(w: f64, b: f64, xs: &[f64], ys: &[f64]) -> f64 {
    let mut total = 0.0;
    for i in 0..xs.len() {
        let r = w * xs[i] + b - ys[i];
        total += smooth_l1(r, 0.5);
    }
    total / (xs.len() as f64)
}

#[differentiable]
pub fn branch_in_loop(x: [f64; 6], t: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..6 {
        if x[i] > 0.0 {
            s += x[i] * t;
        } else {
            s = s * 0.5 + x[i];
        }
    }
    s
}

/// A passive counter in the loop, read by the active code.
#[differentiable]
pub fn counter_in_loop(x: [f64; 4]) -> f64 {
    let mut k = 1.0;
    let mut s = 0.0;
    for i in 0..4 {
        s += x[i] * k;
        k += 1.0;
    }
    s * s
}

/// A `while` on an active condition: Heron's square root, to a relative tolerance.
#[differentiable(max_iter = 64)]
pub fn heron_sqrt(a: f64) -> f64 {
    let mut y = a;
    let mut err = a;
    while err > 1e-9 * a {
        y = 0.5 * (y + a / y);
        err = (y * y - a).abs();
    }
    y
}

/// `loop` with an active `break`: the first iterate of `y ↦ y²/2 + 1 + x/10` above `lim`.
#[differentiable(wrt(x), max_iter = 32)]
pub fn escape(x: f64, lim: f64) -> f64 {
    let mut y = x;
    loop {
        y = y * y * 0.5 + 1.0 + 0.1 * x;
        if y > lim {
            break;
        }
    }
    y.ln()
}

/// `continue` on an active condition: iterations whose candidate is negative change nothing.
#[differentiable]
pub fn skip_negative(x: [f64; 6], w: f64) -> f64 {
    let mut p = 1.0;
    for i in 0..6 {
        let q = p * w + x[i];
        if q < 0.0 {
            continue;
        }
        p = q * 0.8 + 0.1 * x[i] * p;
    }
    p
}

/// `break 'rows` and `continue 'rows` from the inner loop.
#[differentiable(wrt(x))]
pub fn labelled_exits(x: [f64; 4], lim: f64) -> f64 {
    let mut s = 0.25;
    'rows: for i in 0..4 {
        for j in 0..4 {
            s = s * x[j] + x[i] * 0.5;
            if s > lim {
                break 'rows;
            }
            if s < -lim {
                s = s * 0.5;
                continue 'rows;
            }
        }
        s = s * 0.9 + 0.1;
    }
    s * s
}

// -- branches and returns ---------------------------------------------------------------------

#[differentiable]
pub fn branches(x: f64, y: f64) -> f64 {
    let z = if x > y { x * y } else { x + y };
    let mut w = z;
    if z > 0.5 {
        w = w * 2.0;
    } else if z < -0.5 {
        w -= y;
    } else {
        w += 1.0;
    }
    w * x
}

#[differentiable]
pub fn early_return(x: f64) -> f64 {
    if x < 0.0 {
        return -x * x;
    }
    let y = (x + 1.0).sqrt();
    if y > 1.5 {
        return y * x;
    }
    y * 3.0
}

/// The first partial sum of squares above `limit`, scaled, or the total: `return` in a loop.
#[differentiable]
pub fn first_above(x: [f64; 6], limit: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..6 {
        s += x[i] * x[i];
        if s > limit {
            return s * limit;
        }
    }
    s - limit
}

/// `return` from a nested loop.
#[differentiable]
pub fn nested_return(m: [[f64; 3]; 3]) -> f64 {
    let mut acc = 1.0;
    for i in 0..3 {
        for j in 0..3 {
            acc = acc * m[i][j] + 0.5;
            if acc > 4.0 {
                return acc.sqrt();
            }
        }
    }
    acc
}

// -- generics ---------------------------------------------------------------------------------

#[differentiable]
pub fn mse<T: Real, const N: usize>(x: [T; N], w: T) -> T {
    let mut acc = 0.0;
    for i in 0..N {
        let e = x[i] * w - 1.0;
        acc += e * e;
    }
    acc / (N as T)
}

/// A `where` clause, a `mut` parameter that is written, and a parameter named `dout`.
#[differentiable]
pub fn odd_signature<T>(mut x: T, dout: T) -> T
where
    T: Real,
{
    x *= x + 1.0;
    x + dout * 0.5
}

// -- composition ---

/// A passive early return, a typed array `let`, a branch with a constant arm, `-x[0]`.
#[differentiable]
pub fn mixed_shapes(x: [f64; 3], n: usize) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let y: [f64; 2] = [x[0] * x[1], -x[2]];
    let z = if n > 5 { 1.0 } else { y[0] + y[1] };
    let mut p = 1.0;
    for i in 1..3 {
        p *= x[i] + z;
    }
    p - x[0]
}

#[differentiable(wrt(v))]
pub fn norm_of(v: &[f64; 3]) -> f64 {
    (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt()
}

/// Indexing a callee's array result, `&x` to a `wrt` reference, a turbofish call.
#[differentiable]
pub fn composed_shapes(x: [f64; 3]) -> f64 {
    let a = arrays(x)[1];
    let b = norm_of(&x);
    let c = mse::<f64, 3>(x, 0.5);
    a * b + c
}

/// A differentiable call that samples, inside a loop that is not an accumulation.
#[differentiable]
pub fn sampled_calls_in_loop<R: Rng>(mu: f64, sigma: f64, rng: &mut R) -> f64 {
    let mut p = 1.0;
    for _ in 0..3 {
        p *= 1.0 + 0.1 * noisy_apit(mu, sigma, rng);
    }
    p
}

#[differentiable]
pub fn polar_pair(x: f64) -> (f64, f64) {
    (x.sin(), x.cos() * x)
}

#[differentiable]
pub fn tuple_let(x: f64) -> f64 {
    let (a, b) = polar_pair(x);
    a * b
}

#[differentiable]
pub fn neuron(w: [f64; 3], x: &[f64; 3]) -> f64 {
    dot(w, *x).tanh()
}

/// Calls of a differentiable function inside a loop (recomputed in the adjoint).
#[differentiable]
pub fn call_in_loop(w: [f64; 3], xs: &[[f64; 3]; 4], ys: &[f64; 4]) -> f64 {
    let mut s = 0.0;
    for i in 0..4 {
        let e = neuron(w, &xs[i]) - ys[i];
        s += e * e;
    }
    s
}

/// Noise drawn inside a loop: stored in the forward sweep, reused in the adjoint.
#[differentiable]
pub fn sample_in_loop<R: Rng>(mu: f64, sigma: f64, rng: &mut R) -> f64 {
    let mut s = 0.0;
    for _ in 0..8 {
        let y = normal_rsample(mu, sigma, rng);
        s += y * y * mu;
    }
    s
}

/// An RNG taken as `&mut impl Rng` (argument-position `impl Trait`).
#[differentiable]
pub fn noisy_apit(mu: f64, sigma: f64, rng: &mut impl Rng) -> f64 {
    let y = normal_rsample(mu, sigma, rng);
    y * y + mu
}

// -- every rule -------------------------------------------------------------------------------

#[differentiable]
pub fn scalar_rules(x: f64, d: f64) -> f64 {
    relu(x)
        + softplus(x * d) * sigmoid(d)
        + huber(x, d)
        + smooth_l1(x - d, d * 0.5)
        + normal_reparam(x, d, 0.3)
        + gumbel_from_uniform(sigmoid(x))
}

/// The score-function surrogate of `E[(x − c)²]` for `x ~ N(theta, 1)`, with and without a
/// baseline: the value is the loss, the gradient `(x − c)²·∂log p/∂theta` (plus `b`'s none).
#[differentiable]
pub fn score(theta: f64, x: f64, c: f64, b: f64) -> f64 {
    let log_prob = -0.5 * (x - theta) * (x - theta);
    let loss = stop_gradient((x - c) * (x - c));
    reinforce(loss, log_prob) + reinforce_baseline(loss, log_prob, b)
}

#[differentiable]
pub fn softmax_rules(x: [f64; 4], t: f64) -> f64 {
    let p = softmax(x, t);
    let l = log_softmax(x, t);
    p[0] * l[1] + logsumexp(x, t) + soft_argmax(x, t) * soft_max(x, t) + sum(p) * mean(x) + dot(p, x)
}

/// Softmax-family rules on the same logits share one softmax, but not across a write of the
/// logits, nor from outside a loop that writes them after reading them.
#[differentiable]
pub fn residual_boundaries(x: [f64; 4], t: f64) -> f64 {
    let mut y = x;
    let a = soft_max(y, t) + logsumexp(y, t);
    y[0] = y[0] * 2.0;
    let b = soft_max(y, t);
    let mut s = 0.0;
    for i in 0..3 {
        s += logsumexp(y, t) * x[i];
        y[1] += 0.5;
    }
    a + b + s + soft_argmax(y, t)
}

/// Temperatures from data that changes through a method call between two rules: no sharing.
#[differentiable]
pub fn temperatures_from_data(x: [f64; 3], mut temps: Vec<f64>) -> f64 {
    let a = logsumexp(x, temps[0]);
    temps.reverse();
    a + logsumexp(x, temps[0])
}

#[differentiable]
pub fn straight_through_rules(x: [f64; 4], t: f64) -> f64 {
    let h = st_one_hot(x, t);
    let k = st_argmax(x, t);
    let r = straight_through(x[0].round(), x[0]);
    dot(h, x) + k * x[1] + r * x[2] + stop_gradient(x[3] * x[3]) * x[3]
}

#[differentiable]
pub fn gumbel_rules(logits: [f64; 4], g: [f64; 4], t: f64) -> f64 {
    let s = gumbel_softmax_with(logits, g, t);
    dot(s, [1.0, 2.0, 3.0, 4.0]) * logits[0]
}

/// Straight-through Gumbel rules: hard values, the soft rules' gradients.
#[differentiable]
pub fn st_gumbel_rules(logits: [f64; 4], g: [f64; 4], t: f64) -> f64 {
    let h = st_gumbel_softmax_with(logits, g, t);
    let k = st_gumbel_argmax_with(logits, g, t);
    dot(h, [1.0, 2.0, 3.0, 4.0]) + k * 0.5
}

#[differentiable]
pub fn sampled_rules<R: Rng>(logits: [f64; 4], t: f64, mu: f64, rng: &mut R) -> f64 {
    let a = gumbel_softmax(logits, t, rng);
    let b = st_gumbel_softmax(logits, t, rng);
    let c = st_gumbel_argmax(logits, t, rng);
    let z = normal_rsample(mu, t, rng);
    dot(a, [1.0, -1.0, 2.0, 0.5]) + dot(b, logits) * c + z * mu
}

/// `stop_gradient(..)` makes any expression passive: an integer computed from a differentiated
/// value through it, a loop bound, an index.
#[differentiable]
pub fn through_stop_gradient(x: f64, w: [f64; 4]) -> f64 {
    let n = stop_gradient(x.abs()) as usize % 4;
    let mut s = x * (n as f64);
    for i in 0..stop_gradient(x.abs()) as usize % 3 {
        s += w[i] * x;
    }
    s + w[n]
}

// -- sine and cosine of one value --------------------------------------------------------------

/// The sine and cosine of one value (a rotation): each one's pullback takes the other's value.
/// Of the same temporary, of one binding read twice, in a loop and in a branch; and of a binding
/// written in between (two values: no sharing), and a sine alone.
#[differentiable]
pub fn rotations(a: f64, b: f64) -> f64 {
    let (s, c) = (a.sin(), a.cos());
    let mut x = s * b + c;
    let mut t = a * b;
    let st = t.sin();
    t += 0.5;
    let ct = t.cos();
    for k in 0..3 {
        let phi = x * 0.3 + k as f64;
        x = phi.cos() * b - phi.sin();
    }
    if b > 0.0 {
        x += (a - b).sin() * (a - b).cos();
    }
    x + st * ct + (b * 1.5).sin()
}
