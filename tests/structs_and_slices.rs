//! Parameter structs (`#[derive(Differentiable)]` named in `wrt`) and differentiated slices
//! (gradients into `&mut [T]` buffers) in active code: field reads and writes, struct literals
//! built and returned, structs in loops, branches, `match`, methods and composition, `_vjp` with
//! struct cotangents and `_jvp` with struct tangents; slices alone, beside scalars and structs,
//! several at once, read by `for v in xs`, `xs[i]` and `0..xs.len()` loops with and without
//! storage. Every function at 100 or more random points: the value bit for bit the original's,
//! the derivative against central finite differences of the original.
#![deny(warnings)]
// The fixtures are written the way relax's language reads best: index loops, `p = p * w`.
#![allow(clippy::needless_range_loop, clippy::assign_op_pattern)]

mod common;

use common::*;

use relax::Coordinates;
use relax::prelude::*;

const POINTS: usize = 100;

/// `template` with its float coordinates replaced by `c`, in order (its data kept).
fn with_coords<P: Coordinates>(mut template: P, c: &[f64]) -> P {
    assert_eq!(template.coordinate_count(), c.len(), "coordinates");
    let mut next = c.iter().copied();
    template.map_coordinates(&mut |_| next.next().unwrap());
    template
}

/// `f` at `POINTS` random points: the coordinates of `template` drawn from `[lo, hi)`. The value of
/// `grad` bit for bit `f`'s, its gradient (the coordinates of `G`, in order) against central
/// finite differences of `f`. A point where finite differences at two steps disagree (the path
/// taken changes within the step) is replaced by another; at most one point in five may be.
#[track_caller]
fn check<P: Coordinates + Copy, G: Coordinates>(
    name: &str,
    seed: u64,
    template: P,
    (lo, hi): (f64, f64),
    f: impl Fn(P) -> f64,
    grad: impl Fn(P) -> (f64, G),
) {
    let mut r = rng(seed);
    let n = template.coordinate_count();
    let of_coords = |q: &[f64]| f(with_coords(template, q));
    let (mut checked, mut replaced) = (0, 0);
    while checked < POINTS {
        let c = point(&mut r, n, lo, hi);
        let p = with_coords(template, &c);
        let (v, g) = grad(p);
        assert_same_bits(&format!("{name} value at {c:?}"), &[v], &[f(p)]);
        let (fd1, fd2) = (fd(of_coords, &c), fd_with_step(of_coords, &c, 1e-5));
        if fd1.iter().zip(&fd2).any(|(a, b)| (a - b).abs() > 1e-4 * (1.0 + a.abs())) {
            replaced += 1;
            assert!(replaced <= POINTS / 5, "{name}: finite differences jump at too many points");
            continue;
        }
        checked += 1;
        assert_grad(&format!("{name} at {c:?}"), &g.flat(), &fd1);
    }
}

/// A pullback at `p` with the cotangent `dout` of an output `O` (a struct, an array, a tuple):
/// the value's coordinates bit for bit `f(p)`'s, the gradient against finite differences of
/// `⟨f(p), dout⟩`.
#[track_caller]
fn check_pullback_at<P: Coordinates + Copy, O: Coordinates, G: Coordinates>(
    name: &str,
    p: P,
    dout: &O,
    f: impl Fn(P) -> O,
    (value, g): (O, G),
) {
    assert_same_bits(&format!("{name} value"), &value.flat(), &f(p).flat());
    let dout = dout.flat();
    let along = |q: &[f64]| f(with_coords(p, q)).flat().iter().zip(&dout).map(|(a, b)| a * b).sum();
    assert_grad(&format!("{name} at {:?}, dout {dout:?}", p.flat()), &g.flat(), &fd(along, &p.flat()));
}

/// A pushforward at `p` along `v` (of `p`'s layout): the value's coordinates bit for bit `f(p)`'s,
/// the tangent against finite differences of `f` along `v`.
#[track_caller]
fn check_pushforward_at<P: Coordinates + Copy, O: Coordinates>(
    name: &str,
    p: P,
    v: P,
    f: impl Fn(P) -> O,
    (value, tangent): (O, O),
) {
    assert_same_bits(&format!("{name} value"), &value.flat(), &f(p).flat());
    let of_coords = |q: &[f64]| f(with_coords(p, q)).flat();
    check_along(name, &p.flat(), &v.flat(), &of_coords, &tangent.flat());
}

/// The panic message of `f`, which must panic.
fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let payload = std::panic::catch_unwind(f).expect_err("a panic");
    match (payload.downcast_ref::<String>(), payload.downcast_ref::<&str>()) {
        (Some(s), _) => s.clone(),
        (_, Some(s)) => s.to_string(),
        _ => panic!("a panic without a message"),
    }
}

// -- the parameter structs -------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Differentiable)]
struct Line {
    w: f64,
    b: f64,
}

/// Generic over the float type and a length, with a data field.
#[derive(Clone, Copy, Debug, PartialEq, Differentiable)]
struct Layer<T: Real, const N: usize> {
    w: [[T; N]; N],
    b: [T; N],
    #[no_derivative]
    steps: usize,
}

/// Nested: an array of structs, a struct, and a float that is data.
#[derive(Clone, Copy, Debug, PartialEq, Differentiable)]
struct Net {
    layers: [Layer<f64, 2>; 2],
    head: Line,
    #[no_derivative]
    gain: f64,
}

/// A float field that is data.
#[derive(Clone, Copy, Debug, PartialEq, Differentiable)]
struct Scaled {
    w: f64,
    #[no_derivative]
    gain: f64,
}

const LINE: Line = Line { w: 0.0, b: 0.0 };
const XS: [f64; 6] = [0.5, -1.0, 1.5, 0.25, -0.75, 2.0];
const YS: [f64; 6] = [1.0, -0.5, 2.5, 0.0, -1.0, 3.5];

// -- field reads -----------------------------------------------------------------------------

/// Squared error of a line: field reads in a fused accumulation.
#[differentiable(wrt(p))]
fn line_loss(p: Line, xs: &[f64; 6], ys: &[f64; 6]) -> f64 {
    let mut total = 0.0;
    for i in 0..6 {
        let r = p.w * xs[i] + p.b - ys[i];
        total += r * r;
    }
    total / 6.0
}

/// A struct beside a scalar: `G` is `(Line, f64)`.
#[differentiable(wrt(p, s))]
fn line_and_scale(p: Line, s: f64, xs: &[f64; 6]) -> f64 {
    let mut total = 0.0;
    for i in 0..6 {
        total += softplus(s * (p.w * xs[i] + p.b));
    }
    total * p.w.cos()
}

/// Generic over the float type and the length.
#[differentiable(wrt(p))]
fn layer_out<T: Real, const N: usize>(p: Layer<T, N>, x: &[T; N]) -> T {
    let mut total = 0.0;
    for i in 0..N {
        let mut a = p.b[i];
        for j in 0..N {
            a += p.w[i][j] * x[j];
        }
        total += a.tanh() * x[i];
    }
    total
}

/// The data field as a loop bound: `stop_gradient` says it is data (a macro sees tokens, and
/// `p.steps` reads a differentiated parameter).
#[differentiable(wrt(p))]
fn repeat(p: Layer<f64, 2>, x: &[f64; 2]) -> f64 {
    let steps = stop_gradient(p.steps);
    let mut total = 0.0;
    for k in 0..steps {
        total += (p.w[k % 2][0] * x[0] + p.w[k % 2][1] * x[1] + p.b[k % 2]).sin();
    }
    total
}

/// Nested structs: `p.layers[k].w[i][j]`, `p.head.w`, and the data `p.gain`.
#[differentiable(wrt(p))]
fn net_out(p: Net, x: &[f64; 2]) -> f64 {
    let mut h = *x;
    for k in 0..2 {
        let mut next = [0.0; 2];
        for i in 0..2 {
            let mut a = p.layers[k].b[i];
            for j in 0..2 {
                a += p.layers[k].w[i][j] * h[j];
            }
            next[i] = a.tanh();
        }
        h = next;
    }
    (p.head.w * (h[0] + h[1]) + p.head.b) * p.gain
}

/// A data field written from active values: data in the output.
#[differentiable(wrt(p))]
fn scale_data(p: Scaled) -> Scaled {
    Scaled { w: p.w, gain: p.gain * p.w }
}

/// An array of structs differentiated.
#[differentiable(wrt(lines))]
fn lines_out(lines: [Line; 3], x: f64) -> f64 {
    let mut y = x;
    for k in 0..3 {
        y = (lines[k].w * y + lines[k].b).sin();
    }
    y
}

#[test]
fn field_reads() {
    check("line_loss", 1, LINE, (-2.0, 2.0), |p| line_loss(p, &XS, &YS), |p| line_loss_grad(p, &XS, &YS));
    check(
        "line_and_scale",
        2,
        (LINE, 0.0),
        (-2.0, 2.0),
        |(p, s)| line_and_scale(p, s, &XS),
        |(p, s)| line_and_scale_grad(p, s, &XS),
    );
    let x3 = [0.5, -1.0, 0.75];
    let layer = Layer::<f64, 3> { w: [[0.0; 3]; 3], b: [0.0; 3], steps: 3 };
    check("layer_out", 3, layer, (-1.5, 1.5), |p| layer_out(p, &x3), |p| layer_out_grad(p, &x3));
    let net = Net { layers: [Layer { w: [[0.0; 2]; 2], b: [0.0; 2], steps: 1 }; 2], head: LINE, gain: 1.5 };
    let x2 = [0.8, -0.4];
    check("net_out", 4, net, (-1.5, 1.5), |p| net_out(p, &x2), |p| net_out_grad(p, &x2));
    check("lines_out", 5, [LINE; 3], (-1.5, 1.5), |l| lines_out(l, 0.7), |l| lines_out_grad(l, 0.7));
}

#[test]
fn data_fields_are_carried_in_values_and_default_in_gradients() {
    let x = [0.3, -0.6];
    for steps in 0..8 {
        let layer = Layer { w: [[0.0; 2]; 2], b: [0.0; 2], steps };
        check("repeat", 6 + steps as u64, layer, (-1.5, 1.5), |p| repeat(p, &x), |p| repeat_grad(p, &x));
        assert_eq!(repeat_grad(layer, &x).1.steps, 0, "a data field of a gradient is Default::default()");
    }
}

/// A float field that is data, read in active code: Default in the gradient and in the output's
/// tangent, and a tangent's data field moves nothing (SPEC: data, `Default::default()` in a
/// gradient).
#[test]
fn float_data_fields_have_no_derivative() {
    let net = Net {
        layers: [Layer { w: [[0.5, -0.25], [0.75, 1.0]], b: [0.1, -0.2], steps: 7 }; 2],
        head: Line { w: 1.0, b: 0.5 },
        gain: 2.5,
    };
    let (_, g) = net_out_grad(net, &[0.2, 0.4]);
    assert_eq!((g.gain, g.layers[0].steps, g.layers[1].steps), (0.0, 0, 0));
    assert!(g.head.w != 0.0 && g.layers[0].w[0][0] != 0.0);
    // Along a direction that moves only the data, nothing moves.
    let only_data = Net { gain: 1.0, ..with_coords(net, &[0.0; 14]) };
    assert_eq!(net_out_jvp(net, &[0.2, 0.4], only_data).1, 0.0);
    let (value, tangent) = scale_data_jvp(Scaled { w: 1.5, gain: 2.0 }, Scaled { w: 1.0, gain: 0.0 });
    assert_eq!((value.gain, tangent.gain), (3.0, 0.0));
    // A tangent's integer data does not reach the output's tangent either.
    let l = Layer { w: [[0.5; 2]; 2], b: [0.25; 2], steps: 5 };
    let (value, tangent) = scale_layer_jvp(l, 0.5, (l, 1.0));
    assert_eq!((value.steps, tangent.steps), (5, 0));
}

#[test]
fn generic_structs_in_f32() {
    // f32 against the same function in f64: the value bit for bit the original's, the gradient
    // within f32's rounding of the f64 gradient.
    let mut r = rng(7);
    for _ in 0..POINTS {
        let c = point(&mut r, 12, -1.5, 1.5);
        let x = arr::<3>(&point(&mut r, 3, -1.0, 1.0));
        let p64 = with_coords(Layer::<f64, 3> { w: [[0.0; 3]; 3], b: [0.0; 3], steps: 2 }, &c);
        let p32 = with_coords(Layer::<f32, 3> { w: [[0.0; 3]; 3], b: [0.0; 3], steps: 2 }, &c);
        let x32 = x.map(|v| v as f32);
        let (v, g) = layer_out_grad(p32, &x32);
        assert_eq!(v.to_bits(), layer_out(p32, &x32).to_bits(), "layer_out f32 value");
        assert_eq!(g.steps, 0);
        assert_close("layer_out f32", &g.flat(), &layer_out_grad(p64, &x).1.flat(), 1e-4, 1e-5);
    }
}

// -- field writes and struct literals --------------------------------------------------------

/// Writes to fields of `mut` bindings, of a `mut` parameter, and into a literal's array fields.
#[differentiable(wrt(p, x))]
fn field_writes(mut p: Line, x: f64) -> f64 {
    let mut q = p;
    q.w = q.w * x + q.b;
    q.b *= q.w;
    q.b += x.sin();
    p.w -= 0.5 * q.b;
    let mut l = Layer::<f64, 2> { w: [[x; 2]; 2], b: [q.w, p.w], steps: 3 };
    l.w[0][1] = l.b[0] * l.b[1];
    l.b[1] -= l.w[0][1] * p.b;
    q.w * q.b + l.w[0][1] + l.b[1] * l.w[1][1]
}

/// One step of a map on lines: a struct literal returned.
#[differentiable(wrt(p, x))]
fn step(p: Line, x: f64) -> Line {
    Line { w: p.w - 0.1 * x * p.b, b: p.b * p.w.tanh() + x }
}

/// A generic struct returned: its data field carried from the input.
#[differentiable(wrt(p, s))]
fn scale_layer(p: Layer<f64, 2>, s: f64) -> Layer<f64, 2> {
    let mut q = p;
    for i in 0..2 {
        q.b[i] = q.b[i] * s + q.w[i][i];
        for j in 0..2 {
            q.w[i][j] *= s.exp();
        }
    }
    q
}

/// A tuple of a struct and a float.
#[differentiable(wrt(p))]
fn split(p: Line, x: f64) -> (Line, f64) {
    let q = Line { b: p.w * x, w: p.b };
    (q, q.w * q.b)
}

#[test]
fn field_writes_and_struct_literals() {
    check("field_writes", 10, (LINE, 0.0), (-1.5, 1.5), |(p, x)| field_writes(p, x), |(p, x)| field_writes_grad(p, x));
    let mut r = rng(11);
    for _ in 0..POINTS {
        let (p, x) = with_coords((LINE, 0.0), &point(&mut r, 3, -2.0, 2.0));
        let dout = with_coords(LINE, &point(&mut r, 2, -1.0, 1.0));
        check_pullback_at("step_vjp", (p, x), &dout, |(p, x)| step(p, x), step_vjp(p, x, dout));

        let c = point(&mut r, 7, -1.5, 1.5);
        let template = (Layer { w: [[0.0; 2]; 2], b: [0.0; 2], steps: 9 }, 0.0);
        let (l, s) = with_coords(template, &c);
        let dout = with_coords(Layer { steps: 4, ..template.0 }, &point(&mut r, 6, -1.0, 1.0));
        let (value, g) = scale_layer_vjp(l, s, dout);
        assert_eq!((value.steps, g.0.steps), (9, 0), "the data is carried in the value, Default in the gradient");
        check_pullback_at("scale_layer_vjp", (l, s), &dout, |(l, s)| scale_layer(l, s), (value, g));

        let dout = with_coords((LINE, 0.0), &point(&mut r, 3, -1.0, 1.0));
        check_pullback_at("split_vjp", p, &dout, |p| split(p, x), split_vjp(p, x, dout));
    }
}

// -- structs in loops, branches and match ----------------------------------------------------

/// A struct carried through a loop that stores every iteration.
#[differentiable(wrt(p))]
fn iterate(p: Line, xs: &[f64; 6]) -> f64 {
    let mut s = p;
    for i in 0..6 {
        s = Line { w: s.w * s.b.tanh() + xs[i], b: s.b - 0.2 * s.w * s.w.sin() };
    }
    s.w + s.b
}

/// Field writes in a `while` of run-time length that stores, under `max_iter`.
#[differentiable(wrt(p), max_iter = 12)]
fn settle(p: Line, n: usize) -> f64 {
    let mut s = p;
    let mut k = 0;
    while k < n {
        s.w = 0.5 * s.w + s.b.sin();
        s.b = s.b * 0.9 + 0.1 * s.w * s.w;
        k += 1;
    }
    s.w * s.b
}

/// A struct-valued `if` on an active condition, then a `match` on data with active arms.
#[differentiable(wrt(p))]
fn pick(p: Line, x: f64, mode: u8) -> f64 {
    let q = if p.w > p.b { Line { w: p.b, b: p.w } } else { p };
    match mode {
        0 => q.w * x + q.b,
        1 => (q.w - q.b).powi(2),
        _ => {
            let e = Line { w: q.w.exp(), b: q.b };
            e.w * e.b
        }
    }
}

/// A `match` building a struct in a loop with storage, and a `break` on an active condition.
#[differentiable(wrt(p))]
fn walk(p: Line, modes: &[u8; 5]) -> f64 {
    let mut s = p;
    for i in 0..5 {
        s = match modes[i] {
            0 => Line { w: s.b, b: s.w },
            1 => Line { w: s.w * s.b, b: s.b },
            _ => {
                let mut t = s;
                t.b = t.b.tanh() + t.w;
                t
            }
        };
        if s.w.abs() > 3.0 {
            break;
        }
    }
    s.w - s.b
}

#[test]
fn structs_in_loops_and_branches() {
    check("iterate", 20, LINE, (-1.5, 1.5), |p| iterate(p, &XS), |p| iterate_grad(p, &XS));
    for n in 0..=12 {
        check("settle", 21 + n as u64, LINE, (-1.5, 1.5), |p| settle(p, n), |p| settle_grad(p, n));
    }
    assert!(panic_message(|| _ = settle_grad(LINE, 13)).contains("max_iter = 12"));
    for mode in 0..3 {
        check("pick", 40 + mode as u64, LINE, (-2.0, 2.0), |p| pick(p, 0.7, mode), |p| pick_grad(p, 0.7, mode));
    }
    for (seed, modes) in [(43, [0, 1, 2, 1, 0]), (44, [2, 2, 1, 1, 0]), (45, [1, 0, 2, 0, 1])] {
        check("walk", seed, LINE, (-2.0, 2.0), |p| walk(p, &modes), |p| walk_grad(p, &modes));
    }
}

// -- methods and composition -----------------------------------------------------------------

/// The data of a fit; its methods differentiate a `Line`.
struct Fit {
    xs: [f64; 6],
    ys: [f64; 6],
    decay: f64,
}

impl Fit {
    /// Squared error of `p` on `self`'s points.
    #[differentiable(wrt(p))]
    fn loss(&self, p: Line) -> f64 {
        let mut total = 0.0;
        for i in 0..6 {
            let r = Self::predict(p, self.xs[i]) - self.ys[i];
            total += r * r;
        }
        total
    }

    /// An associated function.
    #[differentiable(wrt(p, x))]
    fn predict(p: Line, x: f64) -> f64 {
        p.w * x + p.b
    }

    /// The loss plus a penalty, after one step of `step` (a struct from a call).
    #[differentiable(wrt(p))]
    fn penalised(&self, p: Line) -> f64 {
        let q = step(p, self.decay);
        self.loss(q) + self.decay * (q.w * q.w + q.b * q.b)
    }
}

/// `p` applied to `x`.
#[differentiable(wrt(p, x))]
fn apply(p: Line, x: f64) -> f64 {
    (p.w * x + p.b).tanh()
}

/// Calls taking and returning structs, nested.
#[differentiable(wrt(p, q, x))]
fn compose(p: Line, q: Line, x: f64) -> f64 {
    let s = step(p, x);
    let t = step(step(q, apply(s, x)), s.w);
    apply(q, apply(s, x)) + apply(p, s.b) * t.b
}

#[test]
fn methods_and_composition() {
    let fit = Fit { xs: XS, ys: YS, decay: 0.3 };
    check("Fit::loss", 50, LINE, (-2.0, 2.0), |p| fit.loss(p), |p| fit.loss_grad(p));
    check("Fit::penalised", 51, LINE, (-2.0, 2.0), |p| fit.penalised(p), |p| fit.penalised_grad(p));
    check("Fit::predict", 52, (LINE, 0.0), (-2.0, 2.0), |(p, x)| Fit::predict(p, x), |(p, x)| Fit::predict_grad(p, x));
    check(
        "compose",
        53,
        (LINE, LINE, 0.0),
        (-1.5, 1.5),
        |(p, q, x)| compose(p, q, x),
        |(p, q, x)| compose_grad(p, q, x),
    );
}

#[test]
fn forward_mode_with_struct_tangents() {
    let mut r = rng(60);
    let fit = Fit { xs: XS, ys: YS, decay: 0.3 };
    for _ in 0..POINTS {
        let (p, v) = (with_coords(LINE, &point(&mut r, 2, -2.0, 2.0)), with_coords(LINE, &point(&mut r, 2, -1.0, 1.0)));
        check_pushforward_at("line_loss_jvp", p, v, |p| line_loss(p, &XS, &YS), line_loss_jvp(p, &XS, &YS, v));
        check_pushforward_at("Fit::penalised_jvp", p, v, |p| fit.penalised(p), fit.penalised_jvp(p, v));
        check_pushforward_at("iterate_jvp", p, v, |p| iterate(p, &XS), iterate_jvp(p, &XS, v));
        let (x, dx) = (uniform(&mut r, -2.0, 2.0), uniform(&mut r, -1.0, 1.0));
        check_pushforward_at("step_jvp", (p, x), (v, dx), |(p, x)| step(p, x), step_jvp(p, x, (v, dx)));
        let c = point(&mut r, 14, -1.5, 1.5);
        let template = Net { layers: [Layer { w: [[0.0; 2]; 2], b: [0.0; 2], steps: 2 }; 2], head: LINE, gain: 0.5 };
        // The tangent's data field 0: see `float_data_fields_have_no_derivative`.
        let dnet = with_coords(Net { gain: 0.0, ..template }, &point(&mut r, 14, -1.0, 1.0));
        let net = with_coords(template, &c);
        let x2 = [0.8, -0.4];
        check_pushforward_at("net_out_jvp", net, dnet, |p| net_out(p, &x2), net_out_jvp(net, &x2, dnet));
        let (l, s) = (with_coords(Layer { w: [[0.0; 2]; 2], b: [0.0; 2], steps: 5 }, &c[..6]), c[6]);
        let dl = with_coords(Layer { steps: 0, ..l }, &point(&mut r, 6, -1.0, 1.0));
        let (value, tangent) = scale_layer_jvp(l, s, (dl, 0.3));
        assert_eq!((value.steps, tangent.steps), (5, 0), "data in the value, Default in the tangent");
        check_pushforward_at("scale_layer_jvp", (l, s), (dl, 0.3), |(l, s)| scale_layer(l, s), (value, tangent));
    }
}

// -- slices in wrt -----------------------------------------------------------------------------

/// A slice alone: `G` is `()`, the gradient goes into `d_xs`.
#[differentiable(wrt(xs))]
fn sum_sines(xs: &[f64]) -> f64 {
    let mut s = 0.0;
    for v in xs {
        s += v * v.sin();
    }
    s
}

/// A slice beside scalars: `G` is `(f64, f64)`, the buffer after the other arguments.
#[differentiable(wrt(w, b, xs))]
fn fit_slice(w: f64, b: f64, xs: &[f64], ys: &[f64]) -> f64 {
    let mut total = 0.0;
    for i in 0..xs.len() {
        let r = w * xs[i] + b - ys[i];
        total += r * r;
    }
    total / xs.len() as f64
}

/// Two slices with a scalar between in `wrt`: `G` is `s`'s, the buffers `d_a`, `d_b`.
#[differentiable(wrt(a, s, b))]
fn weighted_dot(a: &[f64], b: &[f64], s: f64) -> f64 {
    let mut total = 0.0;
    for i in 0..a.len() {
        total += (a[i] * b[i] * s).tanh();
    }
    total + a[0] * b[b.len() - 1]
}

/// Slices named in `wrt` in the other order than the parameters': buffers `d_b`, `d_a`.
#[differentiable(wrt(b, a))]
fn swapped(a: &[f64], b: &[f64]) -> f64 {
    let mut total = 0.0;
    for i in 0..a.len() {
        total += 2.0 * a[i] + 3.0 * b[i] * b[i];
    }
    total
}

/// Horner's recurrence over slice coefficients: a loop of run-time length that stores.
#[differentiable(wrt(c, x), max_iter = 16)]
fn horner(c: &[f64], x: f64) -> f64 {
    let mut p = 0.0;
    for i in 0..c.len() {
        p = p * x + c[i];
    }
    p
}

/// `for v in xs` storing, and a `while` on an active condition reading `xs[i]`.
#[differentiable(wrt(xs), max_iter = 16)]
fn product_then_grow(xs: &[f64], lim: f64) -> f64 {
    let mut p = 1.0;
    for v in xs {
        p = p * v + 0.5 * p.sin();
    }
    let mut s = 1.0;
    let mut i = 0;
    while i < xs.len() && s < lim {
        s = s * (1.0 + xs[i] * xs[i]);
        i += 1;
    }
    p + s
}

/// An array output from a slice: the mean and the variance.
#[differentiable(wrt(xs))]
fn moments(xs: &[f64]) -> [f64; 2] {
    let mut m = [0.0; 2];
    for v in xs {
        m[0] += v;
        m[1] += v * v;
    }
    let n = xs.len() as f64;
    let mean = m[0] / n;
    [mean, m[1] / n - mean * mean]
}

/// A struct and a slice.
#[differentiable(wrt(p, xs))]
fn line_through(p: Line, xs: &[f64], ys: &[f64]) -> f64 {
    let mut total = 0.0;
    for i in 0..xs.len() {
        total += huber(apply(p, xs[i]) - ys[i], 0.5);
    }
    total
}

/// Generic over the float type.
#[differentiable(wrt(xs))]
fn norm<T: Real>(xs: &[T]) -> T {
    let mut s = 0.0;
    for i in 0..xs.len() {
        s += xs[i] * xs[i];
    }
    s.sqrt()
}

impl Fit {
    /// A method with a slice of weights besides a struct.
    #[differentiable(wrt(p, ws))]
    fn weighted(&self, p: Line, ws: &[f64]) -> f64 {
        let mut total = 0.0;
        for i in 0..ws.len() {
            let r = Self::predict(p, self.xs[i]) - self.ys[i];
            total += ws[i] * ws[i] * r * r;
        }
        total
    }
}

/// A buffer of `n` NaNs: every check passes it filled with garbage, so each gradient is written
/// over it.
fn garbage(n: usize) -> Vec<f64> {
    vec![f64::NAN; n]
}

/// The value bit for bit `f(p)`'s and the gradient against finite differences of `f`, where `p`
/// concatenates every differentiated input (scalars and slices) in the order of `g`.
#[track_caller]
fn check_flat(name: &str, p: &[f64], value: f64, g: &[f64], f: impl Fn(&[f64]) -> f64) {
    assert_same_bits(&format!("{name} value at {p:?}"), &[value], &[f(p)]);
    assert_grad(&format!("{name} at {p:?}"), g, &fd(f, p));
}

#[test]
fn slices_alone_beside_scalars_and_several() {
    let mut r = rng(70);
    for case in 0..2 * POINTS {
        let n = case % 13;
        let xs = point(&mut r, n, -2.0, 2.0);
        let mut d_xs = garbage(n);
        let (v, ()) = sum_sines_grad(&xs, &mut d_xs);
        check_flat("sum_sines", &xs, v, &d_xs, sum_sines);

        let n = n.max(1);
        let (xs, ys) = (point(&mut r, n, -2.0, 2.0), point(&mut r, n, -2.0, 2.0));
        let (w, b) = (uniform(&mut r, -2.0, 2.0), uniform(&mut r, -2.0, 2.0));
        let mut d_xs = garbage(n);
        let (v, (dw, db)) = fit_slice_grad(w, b, &xs, &ys, &mut d_xs);
        let p: Vec<f64> = [w, b].into_iter().chain(xs.iter().copied()).collect();
        let g: Vec<f64> = [dw, db].into_iter().chain(d_xs.iter().copied()).collect();
        check_flat("fit_slice", &p, v, &g, |q| fit_slice(q[0], q[1], &q[2..], &ys));

        let (a, b, s) = (point(&mut r, n, -1.5, 1.5), point(&mut r, n, -1.5, 1.5), uniform(&mut r, -1.5, 1.5));
        let (mut d_a, mut d_b) = (garbage(n), garbage(n));
        let (v, ds) = weighted_dot_grad(&a, &b, s, &mut d_a, &mut d_b);
        // `wrt(a, s, b)`: a's coordinates, s, then b's.
        let p: Vec<f64> = a.iter().chain([s].iter()).chain(&b).copied().collect();
        let g: Vec<f64> = d_a.iter().chain([ds].iter()).chain(&d_b).copied().collect();
        check_flat("weighted_dot", &p, v, &g, |q| weighted_dot(&q[..n], &q[n + 1..], q[n]));
    }
}

/// SPEC: one buffer per differentiated slice "in `wrt` order, named `d_<param>`".
#[test]
fn buffers_follow_the_wrt_order() {
    let mut r = rng(74);
    for case in 0..POINTS {
        let n = 1 + case % 6;
        let (a, b) = (point(&mut r, n, -2.0, 2.0), point(&mut r, n, -2.0, 2.0));
        let (mut d_b, mut d_a) = (garbage(n), garbage(n));
        let (v, ()) = swapped_grad(&a, &b, &mut d_b, &mut d_a);
        assert_same_bits("swapped value", &[v], &[swapped(&a, &b)]);
        // d/da_i = 2, d/db_i = 6 b_i.
        assert_eq!(d_a, vec![2.0; n], "d_a");
        assert_eq!(d_b, b.iter().map(|b| 6.0 * b).collect::<Vec<_>>(), "d_b");
    }
}

#[test]
fn slices_in_loops_with_storage() {
    let mut r = rng(71);
    let mut checked = 0;
    for case in 0..2 * POINTS {
        let n = case % 17;
        let (c, x) = (point(&mut r, n, -1.5, 1.5), uniform(&mut r, -1.2, 1.2));
        let mut d_c = garbage(n);
        let (v, dx) = horner_grad(&c, x, &mut d_c);
        let p: Vec<f64> = c.iter().chain([x].iter()).copied().collect();
        let g: Vec<f64> = d_c.iter().chain([dx].iter()).copied().collect();
        check_flat("horner", &p, v, &g, |q| horner(&q[..n], q[n]));
        // The closed form of the derivative in the coefficient c_i: x^(n−1−i).
        let powers: Vec<f64> = (0..n).map(|i| x.powi((n - 1 - i) as i32)).collect();
        assert_close("horner against x^(n-1-i)", &d_c, &powers, 1e-14, 1e-15);

        let xs = point(&mut r, n, -1.5, 1.5);
        let lim = uniform(&mut r, 1.0, 6.0);
        let f = |q: &[f64]| product_then_grow(q, lim);
        let mut d_xs = garbage(n);
        let (v, ()) = product_then_grow_grad(&xs, lim, &mut d_xs);
        // Skip points where the `while` stops within the finite differences' step.
        let (fd1, fd2) = (fd(f, &xs), fd_with_step(f, &xs, 1e-5));
        if fd1.iter().zip(&fd2).all(|(a, b)| (a - b).abs() <= 1e-4 * (1.0 + a.abs())) {
            check_flat("product_then_grow", &xs, v, &d_xs, f);
            checked += 1;
        }
    }
    assert!(checked >= POINTS, "product_then_grow checked at {checked} points");
    // Past `max_iter` the gradient panics, naming the function and the option.
    let message = panic_message(|| _ = horner_grad(&[0.5; 17], 0.5, &mut [0.0; 17]));
    assert!(message.contains("`horner`") && message.contains("max_iter = 16"), "{message}");
}

#[test]
fn slice_pullbacks_with_a_cotangent() {
    let mut r = rng(72);
    for case in 0..POINTS {
        let n = 1 + case % 12;
        let xs = point(&mut r, n, -2.0, 2.0);
        let dout = uniform(&mut r, -3.0, 3.0);
        let mut d_xs = garbage(n);
        let (v, ()) = sum_sines_vjp(&xs, dout, &mut d_xs);
        assert_same_bits("sum_sines_vjp value", &[v], &[sum_sines(&xs)]);
        assert_grad(&format!("sum_sines_vjp at {xs:?}, dout {dout}"), &d_xs, &fd(|q| dout * sum_sines(q), &xs));

        let dout = arr::<2>(&point(&mut r, 2, -1.0, 1.0));
        let mut d_xs = garbage(n);
        let (v, ()) = moments_vjp(&xs, dout, &mut d_xs);
        assert_same_bits("moments_vjp value", &v, &moments(&xs));
        let along = |q: &[f64]| moments(q).iter().zip(&dout).map(|(a, b)| a * b).sum();
        assert_grad(&format!("moments_vjp at {xs:?}"), &d_xs, &fd(along, &xs));
    }
}

#[test]
fn slices_with_structs_methods_and_generics() {
    let mut r = rng(73);
    let fit = Fit { xs: XS, ys: YS, decay: 0.3 };
    for case in 0..POINTS {
        let n = case % 7;
        let (xs, ys) = (point(&mut r, n, -2.0, 2.0), point(&mut r, n, -2.0, 2.0));
        let p = with_coords(LINE, &point(&mut r, 2, -1.5, 1.5));
        let mut d_xs = garbage(n);
        let (v, g) = line_through_grad(p, &xs, &ys, &mut d_xs);
        let flat: Vec<f64> = p.flat().into_iter().chain(xs.iter().copied()).collect();
        let g: Vec<f64> = g.flat().into_iter().chain(d_xs).collect();
        check_flat("line_through", &flat, v, &g, |q| line_through(with_coords(LINE, &q[..2]), &q[2..], &ys));

        let ws = point(&mut r, n, -1.5, 1.5);
        let mut d_ws = garbage(n);
        let (v, g) = fit.weighted_grad(p, &ws, &mut d_ws);
        let flat: Vec<f64> = p.flat().into_iter().chain(ws.iter().copied()).collect();
        let g: Vec<f64> = g.flat().into_iter().chain(d_ws).collect();
        check_flat("Fit::weighted", &flat, v, &g, |q| fit.weighted(with_coords(LINE, &q[..2]), &q[2..]));

        let xs = point(&mut r, n + 1, -2.0, 2.0);
        let mut d_xs = garbage(n + 1);
        let (v, ()) = norm_grad(&xs, &mut d_xs);
        check_flat("norm f64", &xs, v, &d_xs, norm);
        // The closed form: x / |x|.
        assert_close("norm against x/|x|", &d_xs, &xs.iter().map(|x| x / v).collect::<Vec<_>>(), 1e-15, 0.0);
        let xs32: Vec<f32> = xs.iter().map(|&x| x as f32).collect();
        let mut d32 = vec![f32::NAN; n + 1];
        let (v32, ()) = norm_grad(&xs32, &mut d32);
        assert_eq!(v32.to_bits(), norm(&xs32).to_bits(), "norm f32 value");
        let want: Vec<f64> = xs32.iter().map(|&x| f64::from(x) / f64::from(v32)).collect();
        assert_close("norm f32", &d32.iter().map(|&d| f64::from(d)).collect::<Vec<_>>(), &want, 1e-6, 1e-7);
    }
}

#[test]
fn a_buffer_of_the_wrong_length_panics_naming_it() {
    let (xs, ys) = ([0.5, -1.0, 2.0], [1.0, 0.0, -1.0]);
    for len in [0, 2, 4, 7] {
        let message = panic_message(|| _ = sum_sines_grad(&xs, &mut vec![0.0; len]));
        for part in ["`sum_sines`", "`d_xs`", &len.to_string(), "`xs` 3"] {
            assert!(message.contains(part), "{part:?} is not in {message:?}");
        }
        let message = panic_message(|| _ = fit_slice_vjp(1.0, 0.5, &xs, &ys, 2.0, &mut vec![0.0; len]));
        assert!(message.contains("`d_xs`") && message.contains(&len.to_string()), "{message}");
        // Either buffer of two: the message names that one.
        let message = panic_message(|| _ = weighted_dot_grad(&xs, &ys, 0.5, &mut [0.0; 3], &mut vec![0.0; len]));
        assert!(message.contains("`d_b`") && !message.contains("`d_a`"), "{message}");
        let message = panic_message(|| _ = weighted_dot_grad(&xs, &ys, 0.5, &mut vec![0.0; len], &mut [0.0; 3]));
        assert!(message.contains("`d_a`") && !message.contains("`d_b`"), "{message}");
    }
}
