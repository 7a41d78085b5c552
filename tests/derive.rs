//! `#[derive(Differentiable)]`: on named, tuple, generic, const generic and nested structs, in f64
//! and f32, the derived `Tangent` and `AddScaled` act coordinate by coordinate (compared with the
//! coordinates read out by hand), `#[no_derivative]` fields are kept by `+=`, `-=` and scaling and
//! `Default::default()` in a zero; generic code bounded by `Differentiable` runs gradient descent
//! on them; and derived structs pass through `#[differentiable]` functions as data.
#![deny(warnings)]
mod common;
use common::*;
use relax::prelude::*;
use relax::{AddCotangent, Tangent};

/// The structs, under clippy's pedantic and nursery lints: the generated impls trigger none.
mod shapes {
    #![warn(clippy::pedantic, clippy::nursery)]
    #![allow(clippy::struct_field_names)]
    use relax::prelude::*;

    #[derive(Clone, Copy, Debug, Differentiable)]
    pub struct Line {
        pub w: f64,
        pub b: f64,
    }

    #[derive(Clone, Copy, Debug, Differentiable)]
    pub struct Layer<T: Real, const N: usize> {
        pub w: [[T; N]; N],
        pub b: [T; N],
        #[no_derivative]
        pub steps: usize,
    }

    #[derive(Clone, Copy, Debug, Differentiable)]
    pub struct Head<T>
    where
        T: Real,
    {
        pub w: T,
    }

    /// Nested generic structs, an array of them, and float and reference data.
    #[derive(Clone, Copy, Debug, Differentiable)]
    pub struct Net<T: Real, const N: usize> {
        pub layers: [Layer<T, N>; 2],
        pub head: Head<T>,
        #[no_derivative]
        pub lr: T,
        #[no_derivative]
        pub name: &'static str,
    }

    /// Only nested fields: the float type comes from the first.
    #[derive(Clone, Copy, Debug, Differentiable)]
    pub struct Lines {
        pub first: Line,
        pub rest: [Line; 2],
    }

    #[derive(Clone, Copy, Debug, Differentiable)]
    pub struct Pair(pub f32, pub [f32; 2], #[no_derivative] pub u8);

    /// Any `Differentiable` parameter inside, and a data type parameter.
    #[derive(Clone, Copy, Debug, Differentiable)]
    pub struct Tagged<P: Differentiable, K> {
        pub p: P,
        #[no_derivative]
        pub tag: Option<K>,
    }

    pub mod reexport {
        pub use relax as engine;
    }

    /// `relax` under another path.
    #[derive(Clone, Copy, Debug, Differentiable)]
    #[relax(crate = reexport::engine)]
    pub struct Renamed {
        pub x: [f64; 2],
    }
}
use shapes::*;

/// A struct's coordinates in its float type and its data as integers, read out by hand.
trait Coords: Differentiable {
    fn coords(&self) -> Vec<Self::Scalar>;
    fn data(&self) -> Vec<u64>;
}

impl Coords for Line {
    fn coords(&self) -> Vec<f64> {
        vec![self.w, self.b]
    }
    fn data(&self) -> Vec<u64> {
        Vec::new()
    }
}

impl<T: Real, const N: usize> Coords for Layer<T, N> {
    fn coords(&self) -> Vec<T> {
        self.w.iter().flatten().chain(&self.b).copied().collect()
    }
    fn data(&self) -> Vec<u64> {
        vec![self.steps as u64]
    }
}

impl<T: Real, const N: usize> Coords for Net<T, N> {
    fn coords(&self) -> Vec<T> {
        let mut c: Vec<T> = self.layers.iter().flat_map(Coords::coords).collect();
        c.push(self.head.w);
        c
    }
    fn data(&self) -> Vec<u64> {
        let mut d: Vec<u64> = self.layers.iter().flat_map(Coords::data).collect();
        d.extend([self.lr.to_f64().map_or(u64::MAX, f64::to_bits), self.name.len() as u64]);
        d
    }
}

impl Coords for Lines {
    fn coords(&self) -> Vec<f64> {
        [self.first.w, self.first.b].into_iter().chain(self.rest.iter().flat_map(|l| [l.w, l.b])).collect()
    }
    fn data(&self) -> Vec<u64> {
        Vec::new()
    }
}

impl Coords for Pair {
    fn coords(&self) -> Vec<f32> {
        vec![self.0, self.1[0], self.1[1]]
    }
    fn data(&self) -> Vec<u64> {
        vec![u64::from(self.2)]
    }
}

impl Coords for Tagged<Line, i32> {
    fn coords(&self) -> Vec<f64> {
        self.p.coords()
    }
    fn data(&self) -> Vec<u64> {
        vec![self.tag.map_or(u64::MAX, |t| u64::from(t.unsigned_abs()))]
    }
}

/// Builds a value from coordinates, read in the order of `Coords::coords`, and data.
trait Build: Coords {
    fn build(c: &mut impl Iterator<Item = Self::Scalar>, data: u64) -> Self;
}

impl Build for Line {
    fn build(c: &mut impl Iterator<Item = f64>, _: u64) -> Self {
        Line { w: c.next().unwrap(), b: c.next().unwrap() }
    }
}

impl<T: Real, const N: usize> Build for Layer<T, N> {
    fn build(c: &mut impl Iterator<Item = T>, data: u64) -> Self {
        let w = core::array::from_fn(|_| core::array::from_fn(|_| c.next().unwrap()));
        let b = core::array::from_fn(|_| c.next().unwrap());
        Layer { w, b, steps: data as usize }
    }
}

impl<T: Real, const N: usize> Build for Net<T, N> {
    fn build(c: &mut impl Iterator<Item = T>, data: u64) -> Self {
        let layers = [Layer::build(c, data), Layer::build(c, data + 1)];
        let head = Head { w: c.next().unwrap() };
        Net { layers, head, lr: T::from_usize(data as usize + 2), name: ["a", "bc", "def"][data as usize % 3] }
    }
}

impl Build for Lines {
    fn build(c: &mut impl Iterator<Item = f64>, data: u64) -> Self {
        Lines { first: Line::build(c, data), rest: [Line::build(c, data), Line::build(c, data)] }
    }
}

impl Build for Pair {
    fn build(c: &mut impl Iterator<Item = f32>, data: u64) -> Self {
        Pair(c.next().unwrap(), [c.next().unwrap(), c.next().unwrap()], data as u8)
    }
}

impl Build for Tagged<Line, i32> {
    fn build(c: &mut impl Iterator<Item = f64>, data: u64) -> Self {
        Tagged { p: Line::build(c, data), tag: Some(data as i32 - 1) }
    }
}

/// A random value with `n` coordinates in [-2, 2] and the data `data`.
fn random<P: Build>(r: &mut rand::rngs::StdRng, n: usize, data: u64) -> P {
    let c: Vec<P::Scalar> =
        point(r, n, -2.0, 2.0).into_iter().map(|v| <P::Scalar as Real>::select(v, v as f32)).collect();
    let mut it = c.into_iter();
    let p = P::build(&mut it, data);
    assert!(it.next().is_none(), "{n} coordinates is more than the value has");
    p
}

/// At 200 random pairs `a`, `b` (data 3 and 4) and scales `k`: the zeros are zero with default
/// data, and `+=`, `-=`, `+= k·` are those of the coordinates, bit for bit, keeping `a`'s data.
fn check_coordinatewise<P: Build + core::fmt::Debug>(name: &str, n: usize, default_data: &[u64], seed: u64) {
    let mut r = rng(seed);
    let zero = <P::Scalar as Real>::select(0.0, 0.0);
    for _ in 0..200 {
        let (a, b): (P, P) = (random(&mut r, n, 3), random(&mut r, n, 4));
        let k = point(&mut r, 1, -3.0, 3.0)[0];
        let k = <P::Scalar as Real>::select(k, k as f32);
        let (ca, cb) = (a.coords(), b.coords());
        assert_eq!(ca.len(), n, "{name}: coordinates");
        for z in [P::zero_tangent(), a.zero_like()] {
            assert!(z.coords().iter().all(|&v| v == zero), "{name}: zero {z:?}");
            assert_eq!(z.data(), default_data, "{name}: a zero's data is Default::default()");
        }
        let expect = |op: &dyn Fn(P::Scalar, P::Scalar) -> P::Scalar| -> Vec<P::Scalar> {
            ca.iter().zip(&cb).map(|(&x, &y)| op(x, y)).collect()
        };
        let (mut add, mut sub, mut scaled) = (a, a, a);
        add.add_tangent(b);
        sub.sub_tangent(b);
        scaled.add_scaled(k, b);
        for (what, got, want) in [
            ("add_tangent", add, expect(&|x, y| x + y)),
            ("sub_tangent", sub, expect(&|x, y| x - y)),
            ("add_scaled", scaled, expect(&|x, y| x + k * y)),
        ] {
            assert_eq!(got.coords(), want, "{name}: {what}");
            assert_eq!(got.data(), a.data(), "{name}: {what} keeps the data");
        }
        // The attribute's accumulation goes through `AddCotangent`: the same `+=`.
        let mut acc = a;
        acc.add_cotangent(b);
        assert_eq!(acc.coords(), add.coords(), "{name}: add_cotangent");
    }
}

#[test]
fn derived_traits_act_coordinate_by_coordinate() {
    check_coordinatewise::<Line>("Line", 2, &[], 1);
    check_coordinatewise::<Layer<f64, 3>>("Layer<f64, 3>", 12, &[0], 2);
    check_coordinatewise::<Layer<f32, 2>>("Layer<f32, 2>", 6, &[0], 3);
    let net_zero_data = |lr_bits: u64| vec![0, 0, lr_bits, 0];
    check_coordinatewise::<Net<f64, 2>>("Net<f64, 2>", 13, &net_zero_data(0.0_f64.to_bits()), 4);
    check_coordinatewise::<Net<f32, 3>>("Net<f32, 3>", 25, &net_zero_data(0.0_f64.to_bits()), 5);
    check_coordinatewise::<Lines>("Lines", 6, &[], 6);
    check_coordinatewise::<Pair>("Pair", 3, &[0], 7);
    check_coordinatewise::<Tagged<Line, i32>>("Tagged", 2, &[u64::MAX], 8);
}

#[test]
fn the_float_type_comes_from_the_fields() {
    fn scalar<P: Differentiable>() -> &'static str {
        core::any::type_name::<P::Scalar>()
    }
    assert_eq!(scalar::<Line>(), "f64");
    assert_eq!(scalar::<Layer<f32, 4>>(), "f32");
    assert_eq!(scalar::<[Net<f32, 1>; 2]>(), "f32");
    assert_eq!(scalar::<Lines>(), "f64");
    assert_eq!(scalar::<Pair>(), "f32");
    assert_eq!(scalar::<Tagged<Pair, u8>>(), "f32");
    assert_eq!(scalar::<Renamed>(), "f64");
    assert_eq!(scalar::<[[f64; 2]; 3]>(), "f64");
    // Every `Real` is `Differentiable`, its own float type.
    fn real<T: Real>() -> &'static str {
        scalar::<T>()
    }
    assert_eq!(real::<f32>(), "f32");
}

/// Gradient descent written once for anything differentiable.
fn descend<P: Differentiable>(p: &mut P, grad: P, lr: P::Scalar) {
    p.add_scaled(-lr, grad);
}

#[test]
fn generic_code_bounded_by_differentiable_descends() {
    // ½‖p − target‖² has gradient p − target: each step with rate ½ halves the distance, so after
    // 60 steps it is 2⁻⁶⁰ of the start (under 2⁻⁵⁸ for starts in [-2, 2]); data stays put.
    let mut r = rng(9);
    for _ in 0..50 {
        let target: Net<f64, 2> = random(&mut r, 13, 1);
        let mut p: Net<f64, 2> = random(&mut r, 13, 2);
        let start = p;
        for _ in 0..60 {
            let mut g = p;
            g.sub_tangent(target);
            descend(&mut p, g, 0.5);
        }
        for (a, b) in p.coords().iter().zip(target.coords()) {
            assert!((a - b).abs() <= 4.0 * 2f64.powi(-60) + 1e-15, "{a} vs {b}");
        }
        assert_eq!(p.data(), start.data());
    }
    let mut w = [[1.0_f32, -2.0], [0.5, 4.0]];
    descend(&mut w, [[2.0, 2.0], [1.0, -4.0]], 0.5);
    assert_eq!(w, [[0.0, -3.0], [0.0, 6.0]]);
}

// ---- derived structs as data of differentiable functions ---------------------------------------

#[derive(Clone, Copy, Differentiable)]
struct Config {
    scale: f64,
    offset: [f64; 3],
    #[no_derivative]
    passes: usize,
}

#[differentiable]
fn fit(w: [f64; 3], cfg: &Config, xs: &[f64; 3]) -> f64 {
    let s = cfg.scale;
    let passes = cfg.passes as f64;
    let mut acc = 0.0;
    for i in 0..3 {
        let o = cfg.offset[i];
        acc += (w[i] * xs[i] * s + o).sin();
    }
    acc * passes
}

#[differentiable]
fn fit_by_value(w: [f64; 3], cfg: Config, xs: &[f64; 3]) -> f64 {
    let o = cfg.offset;
    let mut acc = 0.0;
    for i in 0..3 {
        acc += w[i] * xs[i] * o[i];
    }
    acc * acc * cfg.scale
}

#[test]
fn derived_structs_pass_through_differentiable_functions_as_data() {
    let mut r = rng(10);
    let xs = [0.5, -1.0, 1.5];
    for _ in 0..100 {
        let p = point(&mut r, 7, -1.5, 1.5);
        let cfg = Config { scale: p[3], offset: arr::<3>(&p[4..]), passes: 2 };
        let (v, g) = fit_grad(arr::<3>(&p), &cfg, &xs);
        assert_same_bits("fit", &[v], &[fit(arr::<3>(&p), &cfg, &xs)]);
        assert_grad("fit", &g.flat(), &fd(|q| fit(arr::<3>(q), &cfg, &xs), &p[..3]));
        let (v, g) = fit_by_value_grad(arr::<3>(&p), cfg, &xs);
        assert_same_bits("fit_by_value", &[v], &[fit_by_value(arr::<3>(&p), cfg, &xs)]);
        assert_grad("fit_by_value", &g.flat(), &fd(|q| fit_by_value(arr::<3>(q), cfg, &xs), &p[..3]));
    }
}

/// A bound of the float type beyond `Real`, which `Dual<T>` need not meet.
trait Marked {}
impl Marked for f64 {}

/// A struct whose float type has another bound: derived as any other, without the form on dual
/// numbers (`Seed`, for `hvp`), which would need `Dual<T>: Marked`.
#[derive(Clone, Copy, Differentiable)]
struct MarkedPair<T: Real + Marked> {
    w: [T; 2],
}

#[differentiable(wrt(p))]
fn marked_norm(p: MarkedPair<f64>) -> f64 {
    p.w[0] * p.w[0] + p.w[1] * p.w[1]
}

#[test]
fn a_float_type_with_another_bound_still_derives() {
    let (value, g) = marked_norm_grad(MarkedPair { w: [3.0, -4.0] });
    assert_eq!((value, g.w), (25.0, [6.0, -8.0]));
}

/// A struct generic over its float type without bounds, as the ecosystem writes structs (the
/// bounds where it is used): `T: Real` is implied for the derived impls, `hvp` included. The
/// type parameter of a data field is left alone.
#[derive(Clone, Copy, Debug, Differentiable)]
struct Unbounded<T, D> {
    w: [T; 2],
    b: T,
    #[no_derivative]
    tag: D,
}

#[differentiable(hvp, wrt(p))]
fn unbounded_loss<T: Real>(p: Unbounded<T, u8>, x: T) -> T {
    (p.w[0] * x + p.w[1]).tanh() + p.b * p.b * x
}

#[test]
fn a_struct_without_bounds_has_its_float_type_implied() {
    let at = |q: &[f64]| Unbounded { w: [q[0], q[1]], b: q[2], tag: 7 };
    let flat = |p: Unbounded<f64, u8>| vec![p.w[0], p.w[1], p.b];
    check_every_mode(
        "unbounded_loss",
        31,
        cube(3, -1.5, 1.5),
        |q| unbounded_loss(at(q), 0.7),
        |q, v| unbounded_loss_jvp(at(q), 0.7, at(v)),
        |q, d| {
            let (value, g) = unbounded_loss_vjp(at(q), 0.7, d[0]);
            (value, flat(g))
        },
        |q| {
            let (value, g) = unbounded_loss_grad(at(q), 0.7);
            (value, flat(g))
        },
        |q, v| {
            let (value, g, h) = unbounded_loss_hvp(at(q), 0.7, at(v));
            (value, flat(g), flat(h))
        },
    );
    let (_, g) = unbounded_loss_grad(at(&[0.1, 0.2, 0.3]), 0.7);
    assert_eq!(g.tag, 0, "a data field of a gradient is Default::default()");
    let p32 = Unbounded { w: [0.1_f32, 0.2], b: 0.3, tag: 7 };
    let (value32, g32) = unbounded_loss_grad(p32, 0.7);
    assert_eq!(value32.to_bits(), unbounded_loss(p32, 0.7).to_bits());
    assert!((g32.b - 2.0 * 0.3 * 0.7).abs() < 1e-6, "d/db of b²·x is 2·b·x: {}", g32.b);
}
