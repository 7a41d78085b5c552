//! Control flow in combination: loops inside branches inside loops (with per-iteration storage,
//! fused accumulations and branch-local bindings), early returns deep inside loops and branches,
//! tuple-returning calls in loops, branches in runtime-length loops, and `for v in a` over an
//! array the loop changes, passive arrays a loop changes through methods and `&mut`, and a
//! log pushed to inside loops. Gradients against finite differences, values bit for bit.
#![deny(warnings)]
#![allow(clippy::needless_range_loop, clippy::assign_op_pattern)]

mod common;
use common::*;
use relax::prelude::*;

#[differentiable]
fn branchy_loops(x: [f64; 4], c: f64) -> f64 {
    let mut s = 0.0;
    if c > 0.0 {
        let k = x[0] * c;
        let mut p = 1.0;
        for i in 0..4 {
            p *= x[i] + k;
        }
        s = p;
    } else {
        for i in 0..4 {
            s += x[i] * c;
        }
    }
    for j in 0..2 {
        if s > 1.0 {
            s = s * 0.5 + x[j];
        } else {
            let q = s * 2.0;
            for i in 0..2 {
                s += q * x[i];
            }
        }
    }
    s
}

#[differentiable]
fn deep_return(x: [f64; 4], c: f64) -> f64 {
    let mut s = c;
    if c > 0.0 {
        for i in 0..4 {
            s = s * x[i] + 1.0;
            if s > 3.0 {
                if x[i] > 0.0 {
                    return s * 2.0;
                }
                s = s - 1.0;
            }
        }
    }
    s + x[0]
}

#[differentiable]
fn pair(a: f64, b: f64) -> (f64, f64) {
    (a * b, a - b)
}

#[differentiable]
fn tuples_in_loop(x: [f64; 3]) -> f64 {
    let mut s = 0.0;
    for i in 0..3 {
        let (p, q) = pair(x[i], x[(i + 1) % 3]);
        s += p * q;
    }
    s
}

#[differentiable]
fn slice_with_branch(w: f64, xs: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..xs.len() {
        if xs[i] > 0.0 {
            s += (w * xs[i]).tanh();
        } else {
            s -= w * w * xs[i];
        }
    }
    s
}

#[differentiable]
fn iterate_modified(x: [f64; 4]) -> f64 {
    let mut a = x;
    let mut s = 0.0;
    for v in a {
        a[3] = a[3] * v;
        s += v * a[3];
    }
    s + a[3]
}

/// 200 random points in [−1.5, 1.5)^n.
fn check(name: &str, n: usize, f: impl Fn(&[f64]) -> f64, g: impl Fn(&[f64]) -> (f64, Vec<f64>)) {
    let mut r = rng(9);
    for _ in 0..200 {
        let p = point(&mut r, n, -1.5, 1.5);
        let (v, grad) = g(&p);
        assert_same_bits(name, &[v], &[f(&p)]);
        assert_grad(name, &grad, &fd(&f, &p));
    }
}

#[test]
fn combinations_of_loops_branches_returns_and_calls() {
    check(
        "branchy_loops",
        5,
        |p| branchy_loops(arr(p), p[4]),
        |p| {
            let (v, g) = branchy_loops_grad(arr(p), p[4]);
            (v, g.flat())
        },
    );
    check(
        "deep_return",
        5,
        |p| deep_return(arr(p), p[4] + 1.0),
        |p| {
            let (v, g) = deep_return_grad(arr(p), p[4] + 1.0);
            (v, g.flat())
        },
    );
    check(
        "tuples_in_loop",
        3,
        |p| tuples_in_loop(arr(p)),
        |p| {
            let (v, g) = tuples_in_loop_grad(arr(p));
            (v, g.to_vec())
        },
    );
    let xs = [0.5, -1.0, 2.0, -0.3, 0.0];
    check(
        "slice_with_branch",
        1,
        |p| slice_with_branch(p[0], &xs),
        |p| {
            let (v, g) = slice_with_branch_grad(p[0], &xs);
            (v, vec![g])
        },
    );
    check(
        "iterate_modified",
        4,
        |p| iterate_modified(arr(p)),
        |p| {
            let (v, g) = iterate_modified_grad(arr(p));
            (v, g.to_vec())
        },
    );
}

#[differentiable]
fn rotating(x: [f64; 3]) -> f64 {
    let mut buf = [1.0, 2.0, 3.0];
    let mut s = 0.0;
    for i in 0..3 {
        s = s * 0.5 + x[i] * buf[0];
        buf.rotate_left(1);
    }
    s
}

fn bump(b: &mut [f64; 3]) {
    b[0] += 1.0;
}

#[differentiable]
fn bumping(x: [f64; 3]) -> f64 {
    let mut buf = [1.0, 2.0, 3.0];
    let mut s = 0.0;
    for i in 0..3 {
        s = s * 0.5 + x[i] * buf[0];
        bump(&mut buf);
    }
    s
}

#[test]
fn passive_arrays_changed_by_methods_and_mut_references() {
    let mut r = rng(3);
    for _ in 0..20 {
        let p = point(&mut r, 3, -1.5, 1.5);
        let (v, g) = rotating_grad(arr(&p));
        assert_same_bits("rotating", &[v], &[rotating(arr(&p))]);
        assert_grad("rotating", &g, &fd(|q| rotating(arr(q)), &p));
        let (v, g) = bumping_grad(arr(&p));
        assert_same_bits("bumping", &[v], &[bumping(arr(&p))]);
        assert_grad("bumping", &g, &fd(|q| bumping(arr(q)), &p));
    }
}

/// A fused loop and a recomputed one that only push to a log.
#[differentiable]
fn logging(w: f64, xs: &[f64; 3]) -> f64 {
    let mut log = Vec::new();
    let mut s = 0.0;
    for i in 0..xs.len() {
        s += (w * xs[i]).sin();
        log.push(i);
    }
    let mut p = 1.0;
    for i in 0..xs.len() {
        p = p * (w + xs[i]);
        log.push(i);
    }
    (s + p) * log.len() as f64
}

#[test]
fn logging_inside_a_runtime_length_loop() {
    let xs = [0.5, -1.0, 2.0];
    for w in [0.3, -1.2, 2.0] {
        let (v, g) = logging_grad(w, &xs);
        assert_same_bits("logging", &[v], &[logging(w, &xs)]);
        assert_grad("logging", &[g], &fd(|q| logging(q[0], &xs), &[w]));
    }
}

/// Writes whose value reads the binding being written.
#[differentiable]
#[allow(clippy::self_assignment)]
fn self_writes(x: f64) -> f64 {
    let mut s = x * x;
    s = s;
    s += s;
    s -= s * 0.25;
    s *= s;
    s
}

#[test]
fn writes_that_read_their_own_binding() {
    check(
        "self_writes",
        1,
        |p| self_writes(p[0]),
        |p| {
            let (v, g) = self_writes_grad(p[0]);
            (v, vec![g])
        },
    );
}

/// Fused loops whose inputs other code also reads: after the loop (the loop's scaled Jacobian is
/// added to what that code gave), before it (the Jacobian becomes the adjoint), in two loops in
/// turn, through a whole read, and in a branch.
#[differentiable(wrt(w, c))]
fn shared_inputs(w: [f64; 3], c: f64, xs: &[f64; 4]) -> f64 {
    let before = w[1] * c;
    let mut s = 0.0;
    for x in xs {
        s += (w[0] * x + w[2]).tanh() * c;
    }
    let mut t = 0.0;
    for i in 0..4 {
        t += w[i % 3] * xs[i];
    }
    let mut u = before;
    if s > 0.0 {
        for x in xs {
            u += (w[1] - x).sin();
        }
    } else {
        u += dot(w, w);
    }
    s * t + u * w[2] + dot(w, [1.0, 2.0, 3.0]) + c
}

#[test]
fn fused_loops_with_inputs_read_elsewhere() {
    let xs = [0.3, -1.2, 0.8, 2.0];
    check(
        "shared_inputs",
        4,
        |p| shared_inputs([p[0], p[1], p[2]], p[3], &xs),
        |p| {
            let (v, (gw, gc)) = shared_inputs_grad([p[0], p[1], p[2]], p[3], &xs);
            (v, vec![gw[0], gw[1], gw[2], gc])
        },
    );
}

/// A layer: iteration `j` reads row `w[j]` and `b[j]` only. With its compile-time bound it
/// stores its `tanh`s per iteration rather than preaccumulate Jacobians as large as `w`.
#[differentiable(wrt(w, b))]
fn rows(w: [[f64; 3]; 4], b: [f64; 4], x: &[f64; 3]) -> f64 {
    let mut out = 0.0;
    for j in 0..4 {
        let mut z = b[j];
        for i in 0..3 {
            z += w[j][i] * x[i];
        }
        let a = z.tanh();
        out += a * a.exp() - (b[j] * 0.5).sin();
    }
    (0.1 * out).tanh()
}

/// The same loop with a runtime bound: fused.
#[differentiable(wrt(w, b))]
fn rows_runtime(w: [[f64; 3]; 4], b: [f64; 4], x: &[f64; 3], n: usize) -> f64 {
    let mut out = 0.0;
    for j in 0..n {
        let mut z = b[j];
        for i in 0..3 {
            z += w[j][i] * x[i];
        }
        let a = z.tanh();
        out += a * a.exp() - (b[j] * 0.5).sin();
    }
    (0.1 * out).tanh()
}

/// Iteration `j` also reads a neighbour's row: the parts overlap, the loop stays fused.
#[differentiable(wrt(w, b))]
fn overlapping_rows(w: [[f64; 3]; 4], b: [f64; 4], x: &[f64; 3]) -> f64 {
    let mut out = 0.0;
    for j in 0..4 {
        let mut z = b[j] + w[(j + 1) % 4][0];
        for i in 0..3 {
            z += w[j][i] * x[i];
        }
        out += z.tanh();
    }
    (0.1 * out).tanh()
}

#[test]
fn loops_over_their_own_parts_of_the_inputs() {
    let x = [0.4, -1.1, 0.7];
    let params = |p: &[f64]| -> ([[f64; 3]; 4], [f64; 4]) {
        (core::array::from_fn(|j| core::array::from_fn(|i| p[3 * j + i])), core::array::from_fn(|j| p[12 + j]))
    };
    let flat = |(gw, gb): ([[f64; 3]; 4], [f64; 4])| -> Vec<f64> { gw.iter().flatten().chain(&gb).copied().collect() };
    type Rows = ([[f64; 3]; 4], [f64; 4]);
    type Value<'a> = &'a dyn Fn(Rows) -> f64;
    type Grad<'a> = &'a dyn Fn(Rows) -> (f64, Rows);
    let cases: [(&str, Value, Grad); 3] = [
        ("rows", &|(w, b)| rows(w, b, &x), &|(w, b)| rows_grad(w, b, &x)),
        ("rows_runtime", &|(w, b)| rows_runtime(w, b, &x, 4), &|(w, b)| rows_runtime_grad(w, b, &x, 4)),
        ("overlapping_rows", &|(w, b)| overlapping_rows(w, b, &x), &|(w, b)| overlapping_rows_grad(w, b, &x)),
    ];
    for (name, f, grad) in cases {
        check(
            name,
            16,
            |p| f(params(p)),
            |p| {
                let (v, g) = grad(params(p));
                (v, flat(g))
            },
        );
    }
    // The stored form keeps a `tanh`, an `exp` and a `sin` per iteration: its storage constant
    // exists and holds at least them.
    assert!(ROWS_STORAGE_BYTES >= 4 * 3 * core::mem::size_of::<f64>());
}

// -- reads whose adjoint is assigned (relax-macros/src/sole.rs) --------------------------------
// Each function reads `w` at places the loops around name; those that reach a place more than
// once, or read `w` twice, must add their adjoints, the others assign them.

/// Nested loops, each naming its variable in the index (assigned), part of `w` not read (its
/// gradient stays zero), a read in a branch and an item of `for v in u` (assigned).
#[differentiable]
fn sole_reads(w: [[f64; 4]; 3], u: [f64; 4], x: &[f64; 4]) -> f64 {
    let mut s = 0.0;
    for j in 0..2 {
        let mut h = 0.0;
        for i in 0..4 {
            h += w[j][i] * x[i];
        }
        s += h.tanh();
    }
    for k in 0..4 {
        if x[k] > 0.0 {
            s += w[2][k] * w[2][k];
        }
    }
    for v in u {
        s += v.sin();
    }
    s
}

/// A loop around the read that does not name it (two passes reach each place), two reads of one
/// parameter, a `while` loop's index, a name declared twice, a `match` arm binding the loop's name.
#[allow(clippy::match_single_binding, unused_variables)]
#[differentiable]
fn shared_places(w: [f64; 4], a: [f64; 4], b: [f64; 4], c: [f64; 4], n: usize) -> f64 {
    let mut s = 0.0;
    for pass in 0..2 {
        for i in 0..4 {
            s += w[i] * (pass as f64 + 1.5);
        }
    }
    for i in 0..4 {
        s += a[i] * a[i] + a[i];
    }
    let mut k = 0;
    while k < 4 {
        s += b[k].exp();
        k += 1;
    }
    for m in 0..4 {
        match n {
            m => s += c[m] * 0.5,
        }
    }
    s
}

#[test]
fn assigned_and_added_adjoints() {
    let x = [0.4, -1.1, 0.7, 0.2];
    check(
        "sole_reads",
        16,
        |p| {
            sole_reads(
                core::array::from_fn(|j| core::array::from_fn(|i| p[4 * j + i])),
                [p[12], p[13], p[14], p[15]],
                &x,
            )
        },
        |p| {
            let (v, (gw, gu)) = sole_reads_grad(
                core::array::from_fn(|j| core::array::from_fn(|i| p[4 * j + i])),
                [p[12], p[13], p[14], p[15]],
                &x,
            );
            (v, gw.iter().flatten().chain(&gu).copied().collect())
        },
    );
    let quad = |p: &[f64], k: usize| -> [f64; 4] { core::array::from_fn(|i| p[4 * k + i]) };
    check(
        "shared_places",
        16,
        |p| shared_places(quad(p, 0), quad(p, 1), quad(p, 2), quad(p, 3), 2),
        |p| {
            let (v, (gw, ga, gb, gc)) = shared_places_grad(quad(p, 0), quad(p, 1), quad(p, 2), quad(p, 3), 2);
            (v, [gw, ga, gb, gc].iter().flatten().copied().collect())
        },
    );
}

/// Sampling in a loop from an RNG the function owns (a local, not copyable): each iteration's
/// draw is stored for the adjoint, never drawn again, and the RNG itself is not copied.
#[differentiable]
fn owned_rng(mu: f64, sigma: f64) -> f64 {
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(7);
    let mut s = 0.5;
    for _ in 0..4 {
        s += normal_rsample(mu, sigma, &mut rng) * s + gumbel_softmax([mu, sigma, 0.5], 0.7, &mut rng)[1];
    }
    let after = normal_rsample(s, 0.1, &mut rng);
    after * mu
}

/// A copyable RNG (a linear congruential generator): a snapshot of it before the loop would draw
/// the first iteration's noise again in every iteration of the adjoint.
#[derive(Clone, Copy)]
struct Lcg(u64);

impl rand::TryRng for Lcg {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok((self.try_next_u64()? >> 32) as u32)
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        Ok(self.0)
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for b in dst {
            *b = (self.try_next_u64()? >> 56) as u8;
        }
        Ok(())
    }
}

#[differentiable]
fn owned_copy_rng(mu: f64, sigma: f64) -> f64 {
    let mut rng = Lcg(11);
    let mut s = 0.5;
    for _ in 0..4 {
        s += normal_rsample(mu, sigma, &mut rng) * s;
    }
    s
}

#[test]
fn sampling_from_an_owned_rng_in_a_loop() {
    check(
        "owned_copy_rng",
        2,
        |p| owned_copy_rng(p[0], p[1]),
        |p| {
            let (v, (gm, gs)) = owned_copy_rng_grad(p[0], p[1]);
            (v, vec![gm, gs])
        },
    );
    check(
        "owned_rng",
        2,
        |p| owned_rng(p[0], p[1]),
        |p| {
            let (v, (gm, gs)) = owned_rng_grad(p[0], p[1]);
            (v, vec![gm, gs])
        },
    );
    // Forward mode draws as the original does.
    let (v, _) = owned_rng_jvp(0.3, 0.7, (1.0, 0.0));
    assert_eq!(v.to_bits(), owned_rng(0.3, 0.7).to_bits());
}

/// Draws after an inner loop that may return early, in an outer loop: the adjoint replays each
/// iteration's exit (a passive `return`, a flag only) before the draw, so that it loads exactly
/// the draws that ran. In a branch, where the exit flag and the return slot are declared out of
/// the adjoint's scope (at the top level the adjoint writes the same fresh local for the slot).
#[differentiable(max_iter = 8)]
fn exit_then_draw<R: rand::Rng>(x: [f64; 4], a: f64, rng: &mut R) -> f64 {
    let mut s = 0.5;
    if a < 2.0 {
        for i in 0..4 {
            let mut n = 0;
            loop {
                n += 1;
                if n > 2 {
                    break;
                }
                s = s * 0.9 + x[i] * a;
                if s > 1.2 {
                    return -0.37;
                }
            }
            s += 0.1 * normal_rsample(x[i] * a, 0.5, rng);
        }
    }
    s
}

#[test]
fn draws_after_an_early_exit_of_an_inner_loop() {
    let seeded = || <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(3);
    let returned = core::cell::Cell::new(0);
    check(
        "exit_then_draw",
        5,
        |p| exit_then_draw([p[0], p[1], p[2], p[3]], p[4], &mut seeded()),
        |p| {
            let (v, (gx, ga)) = exit_then_draw_grad([p[0], p[1], p[2], p[3]], p[4], &mut seeded());
            returned.set(returned.get() + usize::from(v == -0.37));
            (v, gx.iter().chain([&ga]).copied().collect())
        },
    );
    // Both ways out are taken among the points.
    assert!((1..200).contains(&returned.get()), "{} of 200 points returned early", returned.get());
}

/// Range loops that start past zero, and runtime ranges that run no iteration (`lo == hi`,
/// `lo > hi`): the adjoint walks back exactly the indices the forward sweep ran.
#[differentiable(wrt(x), max_iter = 6)]
fn offset_ranges(x: [f64; 6], lo: usize, hi: usize) -> f64 {
    let mut s = 0.5;
    for i in 2..5 {
        s = (s * x[i]).sin() + x[i - 2];
    }
    for i in lo..hi {
        s = (s + x[i]).tanh() * x[i];
    }
    s
}

#[test]
fn ranges_past_zero_and_empty_ranges() {
    for (lo, hi) in [(0, 6), (1, 4), (3, 3), (5, 2)] {
        check(
            &format!("offset_ranges {lo}..{hi}"),
            6,
            |p| offset_ranges(arr(p), lo, hi),
            |p| {
                let (v, g) = offset_ranges_grad(arr(p), lo, hi);
                (v, g.to_vec())
            },
        );
        // Forward mode runs the same loops: its tangent is the gradient's product with the
        // direction (the gradient checked against finite differences above).
        let mut r = rng(11);
        for _ in 0..50 {
            let (x, v): ([f64; 6], [f64; 6]) = (arr(&point(&mut r, 6, -1.5, 1.5)), arr(&point(&mut r, 6, -1.0, 1.0)));
            let (value, tangent) = offset_ranges_jvp(x, lo, hi, v);
            let (_, g) = offset_ranges_grad(x, lo, hi);
            assert_same_bits("offset_ranges_jvp", &[value], &[offset_ranges(x, lo, hi)]);
            let expected: f64 = g.iter().zip(&v).map(|(g, v)| g * v).sum();
            assert!(
                (tangent - expected).abs() <= 1e-12 * (1.0 + expected.abs()),
                "{lo}..{hi}: {tangent} vs {expected}"
            );
        }
    }
}
