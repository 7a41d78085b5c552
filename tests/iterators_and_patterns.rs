//! The loops and patterns of idiomatic Rust on differentiated values: `for` over `xs.iter()`,
//! `&xs`, `xs.iter_mut()` (written through), `xs.windows(k)`, `xs.chunks_exact(k)`, `.copied()`,
//! `.cloned()`, `.into_iter()`, `.enumerate()`, `.zip(ys)`, `.rev()`, `.skip(k)`, `.take(n)` and
//! `.step_by(k)`, and over `lo..=hi` and `(lo..hi).rev()`; `.sum()`, `.product()` and `.fold(..)`
//! of such chains, an array's `.map(..)`, `core::array::from_fn`; destructuring `let`s of tuples,
//! arrays and structs; `if let` (with `&& c`); blocks with a value (`let z = { …; t * t };`);
//! `chain.for_each(|x| …)`; `.filter(p)` last in a loop's or a fold's chain; local closures,
//! inlined where they are called.
//! Each function in every mode at random points:
//! `_jvp` against finite differences along random directions, `_vjp` by its duality with `_jvp`,
//! `_hvp` against finite differences of `_grad`, every value the original's bit for bit.
#![deny(warnings)]

mod common;

use common::*;
use relax::prelude::*;

/// A parameter struct, iterated over in an array and destructured.
#[derive(Clone, Copy, Debug, Differentiable)]
struct Spring<T: Real> {
    k: T,
    rest: [T; 2],
}

fn spring(p: &[f64]) -> Spring<f64> {
    Spring { k: p[0], rest: [p[1], p[2]] }
}

/// Items by reference, by a reference pattern, copied, cloned and by value.
#[differentiable(hvp)]
fn items(x: [f64; 4]) -> f64 {
    let mut s = 0.0;
    for v in x.iter() {
        s += v * v.sin();
    }
    for &v in &x {
        s += (v * 0.5).exp();
    }
    for v in x.iter().copied() {
        s += v * s.tanh();
    }
    for v in x.iter().cloned().rev() {
        s = s * 0.5 + v;
    }
    for v in x.iter().rev().copied() {
        s += v * v * s.sin();
    }
    for v in x.into_iter() {
        s += v.cos() * v;
    }
    s
}

/// Indices and pairs: a data array and a differentiated one zipped and enumerated, generic.
#[differentiable(hvp)]
fn weighted<T: Real>(w: [T; 3], xs: &[T; 3]) -> T {
    let mut s = T::zero();
    for (i, (wi, &x)) in w.iter().zip(xs).enumerate() {
        s += (*wi * x).tanh() * T::from(i + 1).unwrap();
    }
    for (k, &x) in xs.iter().enumerate() {
        s += w[k] * w[k] * x;
    }
    s
}

/// Rows of a matrix, each walked backwards with its column index.
#[differentiable(hvp)]
fn rows(w: [[f64; 3]; 2], x: [f64; 3]) -> f64 {
    let mut s = 0.0;
    for (r, row) in w.iter().enumerate() {
        for (j, wj) in row.iter().enumerate().rev() {
            s += (wj * x[j]).sin() * (r as f64 + 0.5);
        }
    }
    s
}

/// `zip` with a shorter data slice (the loop ends with it), and reversed before the `zip` (a
/// run-time trip count: the loop that stores per iteration needs `max_iter`).
#[differentiable(hvp, max_iter = 4)]
fn zipped(w: [f64; 4], ys: &[f64]) -> f64 {
    let mut s = 0.0;
    for (a, b) in w.iter().zip(ys.iter()) {
        s += (a - b) * (a - b);
    }
    for (a, &b) in w.iter().rev().zip(ys) {
        s += a * b * s.cos();
    }
    s
}

/// An array of parameter structs, zipped with data and destructured.
#[differentiable(hvp, wrt(springs))]
fn springs_energy(springs: [Spring<f64>; 2], ends: &[[f64; 2]; 2]) -> f64 {
    let mut e = 0.0;
    for (s, end) in springs.iter().zip(ends) {
        let Spring { k, rest: [r0, r1] } = *s;
        e += k * ((end[0] - r0) * (end[0] - r0) + (end[1] - r1) * (end[1] - r1));
    }
    e
}

/// A nested tuple, returned.
#[differentiable(hvp)]
fn nested(x: f64, y: f64) -> (f64, (f64, f64)) {
    (x * y, (x.sin(), y.exp()))
}

/// Destructuring `let`s: arrays (nested, with `_` and a final `..`), tuples (nested, from a
/// callee, with constant parts), structs.
#[differentiable(hvp, wrt(x, m, p))]
fn destructured(x: [f64; 3], m: [[f64; 2]; 2], p: Spring<f64>) -> f64 {
    let [a, b, c] = x;
    let [[m00, m01], [_, m11]] = m;
    let (u, [v, ..]) = (a * m11 - m01 * c, m[1]);
    let Spring { k, rest } = p;
    let (mut y, z) = (u * v + m00.sin(), k * rest[1]);
    y *= b;
    let (q, (s, _)) = nested(y, z);
    let (scale, (w, _, shift)) = (1.5, (q * c, 2, 0.25));
    q + s * rest[0] + scale * w + shift
}

/// `if let` on data, as statement and expression, with `&& c`, in a loop.
#[differentiable(hvp)]
fn if_lets(x: [f64; 2], scale: Option<f64>, every: Option<usize>) -> f64 {
    let mut s = if let Some(k) = scale { x[0] * k } else { x[0].sin() };
    for i in 0..6 {
        if let Some(n) = every
            && i % n == 0
        {
            s += x[1] * s.cos();
        } else if let Some(k) = scale {
            s *= k;
        }
    }
    s
}

#[test]
fn loops_over_iterator_chains() {
    check_every_mode(
        "items",
        1,
        cube(4, -1.5, 1.5),
        |p| items(arr(p)),
        |p, v| items_jvp(arr(p), arr(v)),
        |p, d| items_vjp(arr(p), d[0]),
        |p| items_grad(arr(p)),
        |p, v| items_hvp(arr(p), arr(v)),
    );
    let xs = [0.5, -1.25, 2.0];
    check_every_mode(
        "weighted",
        3,
        cube(3, -1.5, 1.5),
        |p| weighted(arr(p), &xs),
        |p, v| weighted_jvp(arr(p), &xs, arr(v)),
        |p, d| weighted_vjp(arr(p), &xs, d[0]),
        |p| weighted_grad(arr(p), &xs),
        |p, v| weighted_hvp(arr(p), &xs, arr(v)),
    );
    let (xs32, w32) = ([0.5_f32, -1.25, 2.0], [0.3_f32, -0.7, 1.1]);
    let (value, g) = weighted_grad(w32, &xs32);
    assert_eq!(value.to_bits(), weighted(w32, &xs32).to_bits(), "weighted::<f32> value");
    // In f32, a step of 1e-2: its truncation error (about 1e-5 here) above f32's rounding.
    let fd32 = fd_with_step(|q| weighted(arr::<3>(q).map(|v| v as f32), &xs32) as f64, &[0.3, -0.7, 1.1], 1e-2);
    assert_close("weighted::<f32> gradient", &g.map(f64::from), &fd32, 1e-3, 1e-3);
}

#[test]
fn loops_over_rows_zips_and_structs() {
    let matrix = |p: &[f64]| [arr::<3>(p), arr::<3>(&p[3..])];
    check_every_mode(
        "rows",
        5,
        cube(9, -1.5, 1.5),
        |p| rows(matrix(p), arr(&p[6..])),
        |p, v| rows_jvp(matrix(p), arr(&p[6..]), (matrix(v), arr(&v[6..]))),
        |p, d| rows_vjp(matrix(p), arr(&p[6..]), d[0]),
        |p| rows_grad(matrix(p), arr(&p[6..])),
        |p, v| rows_hvp(matrix(p), arr(&p[6..]), (matrix(v), arr(&v[6..]))),
    );
    for ys in [&[0.5, -1.0][..], &[0.5, -1.0, 1.5, 0.25, 2.0]] {
        check_every_mode(
            "zipped",
            7,
            cube(4, -1.5, 1.5),
            |p| zipped(arr(p), ys),
            |p, v| zipped_jvp(arr(p), ys, arr(v)),
            |p, d| zipped_vjp(arr(p), ys, d[0]),
            |p| zipped_grad(arr(p), ys),
            |p, v| zipped_hvp(arr(p), ys, arr(v)),
        );
    }
    let ends = [[1.0, -0.5], [0.25, 2.0]];
    let pair = |p: &[f64]| [spring(p), spring(&p[3..])];
    check_every_mode(
        "springs_energy",
        9,
        cube(6, -1.5, 1.5),
        |p| springs_energy(pair(p), &ends),
        |p, v| springs_energy_jvp(pair(p), &ends, pair(v)),
        |p, d| springs_energy_vjp(pair(p), &ends, d[0]),
        |p| springs_energy_grad(pair(p), &ends),
        |p, v| springs_energy_hvp(pair(p), &ends, pair(v)),
    );
}

#[test]
fn writing_through_iter_mut() {
    let matrix = |p: &[f64]| [arr::<3>(&p[3..]), arr::<3>(&p[6..])];
    check(
        "layer",
        26,
        cube(9, -1.5, 1.5),
        |p| layer(arr(p), matrix(p)),
        |p, v| layer_jvp(arr(p), matrix(p), (arr(v), matrix(v))),
        |p, d| layer_vjp(arr(p), matrix(p), arr(d)),
    );
    check_every_mode(
        "squashed_sum",
        27,
        cube(3, -1.5, 1.5),
        |p| squashed_sum(arr(p)),
        |p, v| squashed_sum_jvp(arr(p), arr(v)),
        |p, d| squashed_sum_vjp(arr(p), d[0]),
        |p| squashed_sum_grad(arr(p)),
        |p, v| squashed_sum_hvp(arr(p), arr(v)),
    );
}

#[test]
fn arrays_from_fn() {
    let matrix = |p: &[f64]| [arr::<3>(&p[3..]), arr::<3>(&p[6..])];
    check_every_mode(
        "filled",
        29,
        cube(9, -1.5, 1.5),
        |p| filled(arr(p), matrix(p)),
        |p, v| filled_jvp(arr(p), matrix(p), (arr(v), matrix(v))),
        |p, d| filled_vjp(arr(p), matrix(p), d[0]),
        |p| filled_grad(arr(p), matrix(p)),
        |p, v| filled_hvp(arr(p), matrix(p), (arr(v), matrix(v))),
    );
}

#[test]
fn skips_takes_and_strides() {
    check_every_mode(
        "strided",
        31,
        cube(7, -1.5, 1.5),
        |p| strided(arr(p), p[6]),
        |p, v| strided_jvp(arr(p), p[6], (arr(v), v[6])),
        |p, d| strided_vjp(arr(p), p[6], d[0]),
        |p| strided_grad(arr(p), p[6]),
        |p, v| strided_hvp(arr(p), p[6], (arr(v), v[6])),
    );
}

#[test]
fn windows_and_chunks() {
    check_every_mode(
        "windowed",
        33,
        cube(7, -1.5, 1.5),
        |p| windowed(arr(p), p[6]),
        |p, v| windowed_jvp(arr(p), p[6], (arr(v), v[6])),
        |p, d| windowed_vjp(arr(p), p[6], d[0]),
        |p| windowed_grad(arr(p), p[6]),
        |p, v| windowed_hvp(arr(p), p[6], (arr(v), v[6])),
    );
}

#[test]
fn destructuring_lets() {
    let args = |p: &[f64]| (arr::<3>(p), [arr::<2>(&p[3..]), arr::<2>(&p[5..])], spring(&p[7..]));
    check_every_mode(
        "destructured",
        11,
        cube(10, -1.5, 1.5),
        |p| {
            let (x, m, s) = args(p);
            destructured(x, m, s)
        },
        |p, v| {
            let ((x, m, s), (dx, dm, ds)) = (args(p), args(v));
            destructured_jvp(x, m, s, (dx, dm, ds))
        },
        |p, d| {
            let (x, m, s) = args(p);
            destructured_vjp(x, m, s, d[0])
        },
        |p| {
            let (x, m, s) = args(p);
            destructured_grad(x, m, s)
        },
        |p, v| {
            let ((x, m, s), (dx, dm, ds)) = (args(p), args(v));
            destructured_hvp(x, m, s, (dx, dm, ds))
        },
    );
}

/// Blocks with a value: a `let`'s, an assignment's, a statement's, an arm's, in a loop; blocks
/// that shadow a name read after them (`t`, `k`: in a macro and a struct's shorthand too).
#[differentiable(hvp)]
fn blocks(x: [f64; 3], a: f64) -> f64 {
    let t = x[0] * a;
    let z = {
        let t = x[1] * t;
        debug_assert!(t.is_finite(), "{}", t);
        t.sin() * t
    };
    let mut s = {
        let q = x[2] * x[2];
        q + z
    };
    s += {
        let t = t * 2.0;
        t * x[0]
    };
    {
        let w = s * a;
        s += w;
    }
    for (i, &xi) in x.iter().enumerate() {
        s = if i % 2 == 0 {
            let k = xi * s;
            k.tanh()
        } else {
            let k = s - xi;
            {
                let m = k * 0.5;
                m.sin() + k
            }
        };
    }
    let k = x[1] * 0.5;
    let spring = {
        let k = x[2] * k;
        Spring { k, rest: [t, k * k] }
    };
    s + t * spring.k + spring.rest[1] * k
}

#[test]
fn blocks_with_values() {
    check_every_mode(
        "blocks",
        17,
        cube(4, -1.5, 1.5),
        |p| blocks(arr(p), p[3]),
        |p, v| blocks_jvp(arr(p), p[3], (arr(v), v[3])),
        |p, d| blocks_vjp(arr(p), p[3], d[0]),
        |p| blocks_grad(arr(p), p[3]),
        |p, v| blocks_hvp(arr(p), p[3], (arr(v), v[3])),
    );
}

/// `for_each` over chains, its closure's body an expression or a block, writing through
/// `iter_mut` too; generic.
#[differentiable(hvp)]
fn each<T: Real>(x: [T; 3], a: T) -> T {
    let mut total = T::zero();
    x.iter().for_each(|v| total += v.exp() * a);
    x.iter().enumerate().for_each(|(i, &v)| {
        let t = v * total;
        total += t.sin() * T::from(i + 1).unwrap();
    });
    let mut y = [T::zero(); 3];
    y.iter_mut().zip(x.iter().rev()).for_each(|(o, &v)| *o = v * a + total);
    total * 0.1 + y[0] * y[2]
}

#[test]
fn for_each_closures() {
    check_every_mode(
        "each",
        19,
        cube(4, -1.5, 1.5),
        |p| each(arr(p), p[3]),
        |p, v| each_jvp(arr(p), p[3], (arr(v), v[3])),
        |p, d| each_vjp(arr(p), p[3], d[0]),
        |p| each_grad(arr(p), p[3]),
        |p, v| each_hvp(arr(p), p[3], (arr(v), v[3])),
    );
    let x = [0.3f32, -0.7, 1.1];
    assert_eq!(each_grad(x, 0.9f32).0.to_bits(), each(x, 0.9f32).to_bits());
}

/// Local closures: of one and two parameters, typed or not, with a declared return type, one
/// calling another, one changing what it captures (`FnMut`), called in operands, conditions (an
/// `else if`, a `while`), a `map`'s closure and a loop; and a block inside an expression. Generic.
#[differentiable(hvp, max_iter = 8)]
fn closures<T: Real>(x: [T; 3], a: T) -> T {
    let sq = |v: T| v * v;
    let k = x[2] * 0.5;
    let scaled = |u, w: T| -> T { u * k + w };
    let bump = |v| sq(v).sin() + scaled(v, a);
    let mut s = sq(x[0]) + sq(x[1] - x[2]) * scaled(x[1], x[0]);
    for (i, &xi) in x.iter().enumerate() {
        s += scaled(xi, s).sin() * T::from(i + 1).unwrap();
        if sq(xi) > T::from(0.5).unwrap() {
            s += bump(xi);
        } else if sq(s) > T::one() {
            s *= 0.5;
        }
    }
    {
        // Another `sq` for this block only: the closure is called again after it.
        let sq = a * 0.5;
        s += sq;
    }
    let mut acc = T::zero();
    let mut add = |v: T| acc += v * k;
    add(s);
    add(x[0] * a);
    let mut rounds = 0;
    while sq(s) > T::from(0.25).unwrap() && rounds < 3 {
        s = s * 0.7 + a * 0.01;
        rounds += 1;
    }
    s + acc
        + x.iter().map(|&v| sq(v)).sum::<T>()
        + a * {
            let t = bump(a);
            t * t
        }
}

#[test]
fn local_closures() {
    check_every_mode(
        "closures",
        21,
        cube(4, -1.5, 1.5),
        |p| closures(arr(p), p[3]),
        |p, v| closures_jvp(arr(p), p[3], (arr(v), v[3])),
        |p, d| closures_vjp(arr(p), p[3], d[0]),
        |p| closures_grad(arr(p), p[3]),
        |p, v| closures_hvp(arr(p), p[3], (arr(v), v[3])),
    );
    let x = [0.3f32, -0.7, 1.1];
    assert_eq!(closures_grad(x, 0.9f32).0.to_bits(), closures(x, 0.9f32).to_bits());
}

/// `.filter(p)` as a chain's last step, in loops (one that `break`s) and in a fold: on a
/// differentiated value (where the kept term vanishes to second order, so that the function stays
/// twice differentiable), on indices, on data zipped in; generic.
#[differentiable(hvp)]
fn filtered<T: Real>(x: [T; 4], ys: &[T; 4], t: T) -> T {
    let mut s = T::zero();
    for v in x.iter().filter(|v| **v > T::zero()) {
        s += *v * *v * *v * t;
    }
    for (i, &v) in x.iter().enumerate().filter(|(i, _)| i % 2 == 0) {
        s += v.sin() * T::from(i + 1).unwrap();
    }
    for (i, &v) in x.iter().enumerate().filter(|(i, _)| i % 2 == 1) {
        if i > 2 {
            break;
        }
        s *= v.cos();
    }
    for (a, &y) in x.iter().zip(ys).filter(|(_, y)| **y > T::one()) {
        s += *a * y * t;
    }
    s + x.iter().rev().skip(1).filter(|&&v| v < T::from(10.0).unwrap()).map(|v| *v * t).sum::<T>()
}

#[test]
fn filters() {
    let ys = [0.5, 2.0, 3.0, -1.0];
    check_every_mode(
        "filtered",
        23,
        cube(5, -1.5, 1.5),
        |p| filtered(arr(p), &ys, p[4]),
        |p, v| filtered_jvp(arr(p), &ys, p[4], (arr(v), v[4])),
        |p, d| filtered_vjp(arr(p), &ys, p[4], d[0]),
        |p| filtered_grad(arr(p), &ys, p[4]),
        |p, v| filtered_hvp(arr(p), &ys, p[4], (arr(v), v[4])),
    );
}

#[test]
fn if_let_on_data() {
    for (seed, scale, every) in [(13, Some(0.9), Some(2)), (14, None, Some(3)), (15, Some(1.1), None), (16, None, None)]
    {
        check_every_mode(
            "if_lets",
            seed,
            cube(2, -1.5, 1.5),
            |p| if_lets(arr(p), scale, every),
            |p, v| if_lets_jvp(arr(p), scale, every, arr(v)),
            |p, d| if_lets_vjp(arr(p), scale, every, d[0]),
            |p| if_lets_grad(arr(p), scale, every),
            |p, v| if_lets_hvp(arr(p), scale, every, arr(v)),
        );
    }
}

/// Horner's rule three ways: over reversed items, a reversed range, a reversed inclusive one; and
/// an inclusive range forwards.
#[differentiable(hvp)]
fn horner(c: [f64; 4], x: f64) -> f64 {
    let mut y = 0.0;
    for a in c.iter().rev() {
        y = y * x + a;
    }
    let mut z = 0.0;
    for i in (0..c.len()).rev() {
        z = z * x + c[i];
    }
    let mut u = 0.0;
    for i in (1..=3).rev() {
        u = u * x + c[i];
    }
    let mut v = 0.0;
    for k in 1..=2 {
        v += c[k] * c[k + 1];
    }
    y * z + u + v
}

/// Sums and products of iterator chains, mapped or not: each the loop that folds it, bit for bit.
#[differentiable(hvp)]
fn folds<T: Real>(w: [T; 3], xs: &[T; 3]) -> T {
    let dot: T = w.iter().zip(xs).map(|(&a, &b)| a * b).sum();
    let norm = w.iter().map(|v| *v * *v).sum::<T>().sqrt();
    let total: T = xs.iter().copied().sum();
    let squashed = w
        .iter()
        .map(|&v| {
            let t = v.sin();
            t * t
        })
        .sum::<T>();
    dot / norm + total * w.iter().copied().product::<T>() + squashed * 0.5
}

/// A fold and an array's `map`, each the loop it is.
#[differentiable(hvp)]
fn mapped(w: [f64; 3], xs: &[f64; 3]) -> f64 {
    let energy = w.iter().zip(xs).fold(0.5, |acc, (&a, &b)| acc * 0.9 + (a - b) * (a - b));
    let squashed = w.map(|v| v.tanh() * 2.0);
    let scaled = xs.map(|x| {
        let t = x * w[0];
        t * t
    });
    energy + dot(squashed, scaled) + sum(w.map(|v| v.exp()))
}

/// Float methods called by path (`T::sqrt(x)`), and passed by path to `map` and `fold`.
#[differentiable(hvp)]
fn by_path<T: Real>(x: [T; 3]) -> T {
    let largest = x.iter().copied().fold(T::neg_infinity(), T::max);
    T::sqrt(x[0] * x[0] + 1.0)
        + T::max(x[1], x[2]) * largest
        + x.map(T::exp)[1]
        + x.iter().copied().map(T::sin).sum::<T>()
}

/// Outputs written through `iter_mut()`, zipped with the rows of a matrix.
#[differentiable]
fn layer(x: [f64; 3], ws: [[f64; 3]; 2]) -> [f64; 2] {
    let mut out = [0.0; 2];
    for (o, w) in out.iter_mut().zip(ws.iter()) {
        *o = w.iter().zip(x.iter()).map(|(a, b)| a * b).sum::<f64>().tanh();
        *o += 0.5 * w[0];
    }
    out
}

/// A local array written through `&mut`, in second order.
#[differentiable(hvp)]
fn squashed_sum(w: [f64; 3]) -> f64 {
    let mut h = [0.0; 3];
    for (hi, &wi) in h.iter_mut().zip(&w) {
        *hi = wi.tanh() * wi;
    }
    for hi in &mut h {
        *hi *= 1.5 + *hi;
    }
    h.iter().sum::<f64>() * w[1]
}

/// Arrays filled by `core::array::from_fn` (nested for a matrix), their types declared.
#[differentiable(hvp)]
fn filled<T: Real>(x: [T; 3], m: [[T; 3]; 2]) -> T {
    let y: [T; 2] = core::array::from_fn(|r| {
        let row = m[r];
        dot(row, x).tanh()
    });
    let z: [[T; 2]; 2] = std::array::from_fn(|i| std::array::from_fn(|j| y[i] * y[j] + x[i + j]));
    y[0] + y[1] * z[0][1] - z[1][1] * z[1][0]
}

/// Neighbours, strides and windows of a chain: `skip`, `take`, `step_by` (the trapezoid rule, a
/// total variation, every other item). Their lengths are computed at run time: the fold, which
/// stores per iteration, needs `max_iter`.
#[differentiable(hvp, max_iter = 8)]
fn strided(y: [f64; 6], h: f64) -> f64 {
    let area: f64 = y.iter().zip(y.iter().skip(1)).map(|(a, b)| 0.5 * (a + b) * h).sum();
    let mut variation = 0.0;
    for (i, (a, b)) in y.iter().skip(1).zip(y.iter()).enumerate().take(4) {
        variation += ((a - b) * (a - b) + 0.01).sqrt() * (i as f64 + 1.0);
    }
    let evens: f64 = y.iter().step_by(2).map(|v| v.sin()).sum();
    let last_odds = y.iter().skip(1).step_by(2).rev().take(2).fold(1.0, |p, v| p * v);
    area + variation + evens * h + last_odds
}

/// Windows and chunks: the trapezoid rule, second differences, products of pairs.
#[differentiable(hvp)]
fn windowed(y: [f64; 6], h: f64) -> f64 {
    let mut area = 0.0;
    for w in y.windows(2) {
        area += 0.5 * (w[0] + w[1]) * h;
    }
    let mut bending = 0.0;
    for (i, w) in y.windows(3).enumerate() {
        let d = w[0] - 2.0 * w[1] + w[w.len() - 1];
        bending += d * d * (i as f64 + 1.0);
    }
    let pairs: f64 = y.chunks_exact(2).map(|c| c[0] * c[1].sin()).sum();
    area + bending + pairs
}

/// A differentiated slice walked by `.iter().enumerate()`: its gradient in the caller's buffer.
#[differentiable(wrt(xs))]
fn slice_sum(xs: &[f64], c: f64) -> f64 {
    let mut s = 0.0;
    for (i, x) in xs.iter().enumerate() {
        s += (x * c).sin() * (i as f64 + 1.0);
    }
    s
}

#[test]
fn reversed_and_inclusive_ranges() {
    check_every_mode(
        "horner",
        20,
        cube(5, -1.5, 1.5),
        |p| horner(arr(p), p[4]),
        |p, v| horner_jvp(arr(p), p[4], (arr(v), v[4])),
        |p, d| horner_vjp(arr(p), p[4], d[0]),
        |p| horner_grad(arr(p), p[4]),
        |p, v| horner_hvp(arr(p), p[4], (arr(v), v[4])),
    );
}

#[test]
fn folds_and_maps() {
    let xs = [0.5, -1.25, 2.0];
    let away_from_zero = |r: &mut rand::rngs::StdRng| {
        let mut p = point(r, 3, 0.3, 1.5);
        p[1] = -p[1];
        p
    };
    check_every_mode(
        "folds",
        18,
        away_from_zero,
        |p| folds(arr(p), &xs),
        |p, v| folds_jvp(arr(p), &xs, arr(v)),
        |p, d| folds_vjp(arr(p), &xs, d[0]),
        |p| folds_grad(arr(p), &xs),
        |p, v| folds_hvp(arr(p), &xs, arr(v)),
    );
    check_every_mode(
        "mapped",
        22,
        cube(3, -1.5, 1.5),
        |p| mapped(arr(p), &xs),
        |p, v| mapped_jvp(arr(p), &xs, arr(v)),
        |p, d| mapped_vjp(arr(p), &xs, d[0]),
        |p| mapped_grad(arr(p), &xs),
        |p, v| mapped_hvp(arr(p), &xs, arr(v)),
    );
    check_every_mode(
        "by_path",
        24,
        cube(3, -1.5, 1.5),
        |p| by_path(arr(p)),
        |p, v| by_path_jvp(arr(p), arr(v)),
        |p, d| by_path_vjp(arr(p), d[0]),
        |p| by_path_grad(arr(p)),
        |p, v| by_path_hvp(arr(p), arr(v)),
    );
    // A sum of negative zeros is −0.0, as `Sum` for floats folds from −0.0.
    #[differentiable]
    fn zero_sum(w: [f64; 2]) -> f64 {
        w.iter().map(|v| v * 0.0).sum()
    }
    let (value, _) = zero_sum_grad([-1.0, -2.0]);
    assert_same_bits("zero_sum value", &[value], &[zero_sum([-1.0, -2.0])]);
    assert!(value.is_sign_negative(), "−0.0 + −0.0 from −0.0");
    let (w32, xs32) = ([0.4_f32, -0.7, 1.1], [0.5_f32, -1.25, 2.0]);
    assert_eq!(folds_grad(w32, &xs32).0.to_bits(), folds(w32, &xs32).to_bits(), "folds::<f32> value");
}

#[test]
fn iterating_a_differentiated_slice() {
    let mut r = rng(17);
    for n in [1, 4, 9] {
        for _ in 0..POINTS / 3 {
            let p = point(&mut r, n, -1.5, 1.5);
            let mut d = vec![0.0; n];
            let value = slice_sum_grad(&p, 0.7, &mut d).0;
            assert_same_bits("slice_sum value", &[value], &[slice_sum(&p, 0.7)]);
            assert_grad("slice_sum", &d, &fd(|q| slice_sum(q, 0.7), &p));
        }
    }
}
