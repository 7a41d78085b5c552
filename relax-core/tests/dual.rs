//! Dual numbers: every float method and operator against central finite differences (first order
//! with `Dual<f64>`, second order with `Dual<Dual<f64>>`), values bit-identical to the plain
//! type's; then relax's generic pullbacks run on duals, whose tangents must be Hessian-vector
//! products (finite differences of the pullbacks' cotangents).

use num_traits::{Float, FloatConst, ToPrimitive, Zero};
use rand::rngs::StdRng;
use rand::{Rng, RngExt};
use relax_core::*;
use relax_testkit::{POINTS, rng, uniform};

type D = Dual<f64>;
type DD = Dual<Dual<f64>>;

/// `v` as `T`: how a constant is spelled in code generic over `T: Real`.
fn c<T: Real>(v: f64) -> T {
    T::select(v, v as f32)
}

/// Where an argument is drawn: uniformly in `[lo, hi]`, or with a random sign in `±[lo, hi]`.
#[derive(Clone, Copy)]
enum Dom {
    R(f64, f64),
    S(f64, f64),
}

impl Dom {
    fn draw(self, r: &mut StdRng) -> f64 {
        match self {
            Dom::R(lo, hi) => uniform(r, lo, hi),
            Dom::S(lo, hi) => uniform(r, lo, hi) * if r.random::<bool>() { 1.0 } else { -1.0 },
        }
    }
}

fn draw_point(r: &mut StdRng, dom: &[Dom]) -> Vec<f64> {
    dom.iter().map(|d| d.draw(r)).collect()
}

/// A direction whose entries are each exactly zero with probability 1/3 (a passive argument),
/// and otherwise uniform in [−1, 1]; never all zero.
fn draw_direction(r: &mut StdRng, n: usize) -> Vec<f64> {
    loop {
        let v: Vec<f64> = (0..n).map(|_| if r.random_range(0..3) == 0 { 0.0 } else { uniform(r, -1.0, 1.0) }).collect();
        if v.iter().any(|&x| x != 0.0) {
            return v;
        }
    }
}

fn same_bits(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fn step(p: &[f64]) -> f64 {
    1e-6 * p.iter().fold(1.0_f64, |m, x| m.max(x.abs()))
}

/// Central finite differences of `f` (vector-valued) at `p` along `v`.
fn fd_along(f: &dyn Fn(&[f64]) -> Vec<f64>, p: &[f64], v: &[f64]) -> Vec<f64> {
    let h = step(p);
    let at = |s: f64| -> Vec<f64> { f(&p.iter().zip(v).map(|(x, d)| x + s * h * d).collect::<Vec<_>>()) };
    at(1.0).iter().zip(at(-1.0)).map(|(u, d)| (u - d) / (2.0 * h)).collect()
}

#[track_caller]
fn assert_close(what: &str, got: f64, want: f64, rel: f64, abs: f64) {
    assert!(
        (got - want).abs() <= rel * (got.abs() + want.abs()) + abs,
        "{what}: got {got:e}, finite differences {want:e}"
    );
}

fn dual(p: &[f64], v: &[f64]) -> Vec<D> {
    p.iter().zip(v).map(|(&x, &d)| Dual { v: x, d }).collect()
}

/// `p + v·ε₁ + v·ε₂`: the outer tangent of the inner tangent is `vᵀ∇²f v`.
fn dual2(p: &[f64], v: &[f64]) -> Vec<DD> {
    p.iter().zip(v).map(|(&x, &d)| Dual { v: Dual { v: x, d }, d: Dual { v: d, d: 0.0 } }).collect()
}

/// A scalar function of the float methods and operators, instantiated at every type.
struct Case {
    name: &'static str,
    dom: Vec<Dom>,
    f: fn(&[f64]) -> f64,
    fd: fn(&[D]) -> D,
    fdd: fn(&[DD]) -> DD,
    f32: fn(&[f32]) -> f32,
    fd32: fn(&[Dual<f32>]) -> Dual<f32>,
}

macro_rules! cases {
    ($($name:literal [$($dom:expr),+] => |$p:ident| $body:expr;)*) => {
        vec![$({
            fn f<T: Real>($p: &[T]) -> T {
                $body
            }
            Case {
                name: $name,
                dom: vec![$($dom),+],
                f: f::<f64>,
                fd: f::<D>,
                fdd: f::<DD>,
                f32: f::<f32>,
                fd32: f::<Dual<f32>>,
            }
        }),*]
    };
}

use Dom::{R, S};

fn cases() -> Vec<Case> {
    cases! {
        "add" [R(-3.0, 3.0), R(-3.0, 3.0)] => |p| p[0] + p[1];
        "sub" [R(-3.0, 3.0), R(-3.0, 3.0)] => |p| p[0] - p[1];
        "mul" [R(-3.0, 3.0), R(-3.0, 3.0)] => |p| p[0] * p[1];
        "div" [R(-3.0, 3.0), S(0.2, 3.0)] => |p| p[0] / p[1];
        "rem" [R(-10.0, 10.0), S(0.5, 3.0)] => |p| p[0] % p[1];
        "neg" [R(-3.0, 3.0)] => |p| -p[0];
        "assign ops" [R(-3.0, 3.0), S(0.2, 3.0)] => |p| {
            let mut y = p[0];
            y += p[1];
            y *= p[0];
            y -= p[1];
            y /= p[1];
            y = y % c(1.7);
            y
        };
        "sum" [R(-3.0, 3.0), R(-3.0, 3.0), R(-3.0, 3.0)] => |p| p.iter().copied().sum::<T>() * p[0];
        "exp" [R(-20.0, 20.0)] => |p| p[0].exp();
        "exp2" [R(-20.0, 20.0)] => |p| p[0].exp2();
        "exp_m1" [R(-5.0, 5.0)] => |p| p[0].exp_m1();
        "ln" [R(0.05, 50.0)] => |p| p[0].ln();
        "ln_1p" [R(-0.9, 50.0)] => |p| p[0].ln_1p();
        "log2" [R(0.05, 50.0)] => |p| p[0].log2();
        "log10" [R(0.05, 50.0)] => |p| p[0].log10();
        "log" [R(0.1, 10.0), R(1.5, 10.0)] => |p| p[0].log(p[1]);
        "sqrt" [R(0.01, 100.0)] => |p| p[0].sqrt();
        "cbrt" [S(0.01, 10.0)] => |p| p[0].cbrt();
        "recip" [S(0.1, 10.0)] => |p| p[0].recip();
        "powi 3" [R(-3.0, 3.0)] => |p| p[0].powi(3);
        "powi -2" [S(0.2, 3.0)] => |p| p[0].powi(-2);
        "powi 1" [R(-3.0, 3.0)] => |p| p[0].powi(1);
        "powi 0" [R(-3.0, 3.0)] => |p| p[0].powi(0) * p[0];
        "powf" [R(0.1, 5.0), R(-3.0, 3.0)] => |p| p[0].powf(p[1]);
        "powf, constant exponent, negative base" [R(-3.0, 3.0)] => |p| p[0].powf(c(2.0));
        "sin" [R(-10.0, 10.0)] => |p| p[0].sin();
        "cos" [R(-10.0, 10.0)] => |p| p[0].cos();
        "tan" [R(-1.4, 1.4)] => |p| p[0].tan();
        "sin_cos.0" [R(-10.0, 10.0)] => |p| p[0].sin_cos().0;
        "sin_cos.1" [R(-10.0, 10.0)] => |p| p[0].sin_cos().1;
        "asin" [R(-0.95, 0.95)] => |p| p[0].asin();
        "acos" [R(-0.95, 0.95)] => |p| p[0].acos();
        "atan" [R(-20.0, 20.0)] => |p| p[0].atan();
        "atan2" [R(-3.0, 3.0), R(-3.0, 3.0)] => |p| p[0].atan2(p[1]);
        "sinh" [R(-10.0, 10.0)] => |p| p[0].sinh();
        "cosh" [R(-10.0, 10.0)] => |p| p[0].cosh();
        "tanh" [R(-20.0, 20.0)] => |p| p[0].tanh();
        "asinh" [R(-50.0, 50.0)] => |p| p[0].asinh();
        "acosh" [R(1.05, 50.0)] => |p| p[0].acosh();
        "atanh" [R(-0.95, 0.95)] => |p| p[0].atanh();
        "hypot" [R(-3.0, 3.0), R(-3.0, 3.0)] => |p| p[0].hypot(p[1]);
        "mul_add" [R(-3.0, 3.0), R(-3.0, 3.0), R(-3.0, 3.0)] => |p| p[0].mul_add(p[1], p[2]);
        "abs" [S(1e-3, 5.0)] => |p| p[0].abs() * p[0];
        "signum" [S(1e-3, 5.0)] => |p| p[0].signum() * p[0];
        "floor" [R(-5.0, 5.0)] => |p| p[0].floor() + p[0];
        "ceil" [R(-5.0, 5.0)] => |p| p[0].ceil() * p[0];
        "round" [R(-5.0, 5.0)] => |p| p[0].round() * p[0];
        "trunc" [R(-5.0, 5.0)] => |p| p[0].trunc() * p[0];
        "fract" [R(-5.0, 5.0)] => |p| p[0].fract() * p[0];
        "max" [R(-3.0, 3.0), R(-3.0, 3.0)] => |p| p[0].max(p[1]) * p[0];
        "min" [R(-3.0, 3.0), R(-3.0, 3.0)] => |p| p[0].min(p[1]) * p[1];
        "clamp" [R(-3.0, 3.0), R(-2.0, -0.5), R(0.5, 2.0)] => |p| p[0].clamp(p[1], p[2]) * p[0];
        "abs_sub" [R(-3.0, 3.0), R(-3.0, 3.0)] => |p| Float::abs_sub(p[0], p[1]) * p[0];
        "copysign" [R(-3.0, 3.0), R(-3.0, 3.0)] => |p| p[0].copysign(p[1]) * p[0];
        "to_degrees" [R(-3.0, 3.0)] => |p| p[0].to_degrees();
        "to_radians" [R(-300.0, 300.0)] => |p| p[0].to_radians();
        "constants" [R(-3.0, 3.0)] => |p| p[0] * T::PI() + T::LN_2() * T::epsilon() + T::one();
    }
}

/// First order: the value bit for bit, the tangent against finite differences along a random
/// direction (whose zero entries are passive arguments); f32 likewise against f64's.
#[test]
fn methods_and_operators_first_order() {
    for (k, case) in cases().iter().enumerate() {
        let mut r = rng(100 + k as u64);
        for _ in 0..POINTS {
            let p = draw_point(&mut r, &case.dom);
            let v = draw_direction(&mut r, p.len());
            let y = (case.fd)(&dual(&p, &v));
            assert!(same_bits(y.v, (case.f)(&p)), "{}: value {} vs {} at {p:?}", case.name, y.v, (case.f)(&p));
            let want = fd_along(&|q| vec![(case.f)(q)], &p, &v)[0];
            assert_close(&format!("{} at {p:?} along {v:?}", case.name), y.d, want, 1e-6, 1e-8);

            let p32: Vec<f32> = p.iter().map(|&x| x as f32).collect();
            let v32: Vec<f32> = v.iter().map(|&x| x as f32).collect();
            let y32 = (case.fd32)(&p32.iter().zip(&v32).map(|(&x, &d)| Dual { v: x, d }).collect::<Vec<_>>());
            assert_eq!(y32.v.to_bits(), (case.f32)(&p32).to_bits(), "{} (f32): value at {p32:?}", case.name);
            let exact = (case.fd)(&dual(&p32.iter().map(|&x| <f64 as From<f32>>::from(x)).collect::<Vec<_>>(), &v)).d;
            assert_close(
                &format!("{} (f32) at {p32:?}", case.name),
                <f64 as From<f32>>::from(y32.d),
                exact,
                1e-4,
                1e-5,
            );
        }
    }
}

/// Second order with nested duals: the inner value bit for bit, both first-order parts equal, and
/// `vᵀ∇²f v` against finite differences of the first-order tangent.
#[test]
fn methods_and_operators_second_order() {
    for (k, case) in cases().iter().enumerate() {
        let mut r = rng(200 + k as u64);
        for _ in 0..POINTS {
            let p = draw_point(&mut r, &case.dom);
            let v = draw_direction(&mut r, p.len());
            let y = (case.fdd)(&dual2(&p, &v));
            assert!(same_bits(y.v.v, (case.f)(&p)), "{}: value", case.name);
            assert_eq!(y.v.d, y.d.v, "{} at {p:?}: the two first-order parts", case.name);
            let first = |q: &[f64]| vec![(case.fd)(&dual(q, &v)).d];
            let want = fd_along(&first, &p, &v)[0];
            assert_close(&format!("{} second order at {p:?} along {v:?}", case.name), y.d.d, want, 1e-5, 1e-7);
        }
    }
}

#[test]
fn kink_conventions_and_passive_operands() {
    let x = |v: f64, d: f64| Dual { v, d };
    assert_eq!(x(0.0, 1.0).abs().d, 0.0, "abs'(0) = 0");
    assert_eq!(x(-0.0, 1.0).abs().d, 0.0, "abs'(-0) = 0");
    assert_eq!(x(2.0, 1.0).abs().d, 1.0);
    assert_eq!(x(-2.0, 1.0).abs().d, -1.0);
    let m = x(1.0, 4.0).max(x(1.0, 2.0));
    assert_eq!((m.v, m.d), (1.0, 3.0), "max splits evenly at a tie");
    let m = x(1.0, 4.0).min(x(1.0, 2.0));
    assert_eq!((m.v, m.d), (1.0, 3.0), "min splits evenly at a tie");
    assert_eq!(x(f64::NAN, 5.0).max(x(1.0, 2.0)).d, 2.0, "max ignores a NaN argument");
    assert_eq!(x(1.0, 2.0).min(x(f64::NAN, 5.0)).d, 2.0, "min ignores a NaN argument");
    // clamp: x itself on [lo, hi] (both ends included), else the active bound.
    let (lo, hi) = (x(-1.0, 10.0), x(1.0, 20.0));
    assert_eq!(x(1.0, 1.0).clamp(lo, hi).d, 1.0);
    assert_eq!(x(-1.0, 1.0).clamp(lo, hi).d, 1.0);
    assert_eq!(x(2.0, 1.0).clamp(lo, hi).d, 20.0);
    assert_eq!(x(-2.0, 1.0).clamp(lo, hi).d, 10.0);
    for v in [-1.5, 0.0, 0.5, 2.0] {
        let t = x(v, 1.0);
        assert_eq!([t.floor().d, t.ceil().d, t.round().d, t.trunc().d, t.signum().d], [0.0; 5]);
        assert_eq!(t.fract().d, 1.0);
    }
    // sqrt at 0: what the formula gives (infinite slope) for an active argument...
    assert_eq!(x(0.0, 1.0).sqrt().d, f64::INFINITY);
    // ...and exactly zero for a passive one, as for every method whose derivative is singular.
    assert_eq!(x(0.0, 0.0).sqrt().d, 0.0);
    assert_eq!(x(0.0, 0.0).cbrt().d, 0.0);
    assert_eq!(x(1.0, 0.0).acos().d, 0.0);
    assert_eq!(x(1.0, 0.0).acosh().d, 0.0);
    assert_eq!(x(0.0, 0.0).hypot(x(0.0, 0.0)).d, 0.0);
    assert_eq!(x(0.0, 0.0).atan2(x(0.0, 0.0)).d, 0.0);
    assert_eq!(x(0.0, 1.0).powi(0).d, 0.0, "x⁰ is constant");
    // A constant exponent on a negative base: no ln of a negative number leaks into the tangent.
    let y = x(-2.0, 1.0).powf(x(3.0, 0.0));
    assert_eq!((y.v, y.d), (-8.0, 12.0));
    let y = x(0.0, 1.0).powf(x(2.0, 0.0));
    assert_eq!((y.v, y.d), (0.0, 0.0));
    // A passive divisor of `%`.
    assert_eq!((x(7.5, 1.0) % x(2.0, 0.0)).d, 1.0);
    assert_eq!((x(7.5, 0.0) % x(2.0, 1.0)).d, -3.0);
}

#[test]
fn comparisons_look_at_the_value_only() {
    let a = Dual { v: 1.0_f64, d: 5.0 };
    let b = Dual { v: 1.0, d: -3.0 };
    assert!(a == b);
    assert_eq!((a < b, a > b, a <= b, a >= b), (false, false, true, true));
    assert_eq!(a.partial_cmp(&b), Some(core::cmp::Ordering::Equal));
    assert!(Dual { v: 0.5, d: 9.0 } < a);
    let nan = Dual { v: f64::NAN, d: 0.0 };
    assert!(nan != nan && nan.partial_cmp(&a).is_none());
    // is_zero is structural: the additive identity has a zero tangent too.
    assert!(D::zero().is_zero() && !Dual { v: 0.0, d: 1.0 }.is_zero());
}

#[test]
fn predicates_conversions_constants_and_formatting() {
    let mut r = rng(300);
    let specials = [0.0, -0.0, 1.0, -2.5, f64::NAN, f64::INFINITY, -f64::INFINITY, f64::MIN_POSITIVE / 4.0, f64::MAX];
    let xs: Vec<f64> = specials.into_iter().chain((0..POINTS).map(|_| uniform(&mut r, -1e3, 1e3))).collect();
    for x in xs {
        let y = Dual { v: x, d: 3.0 };
        assert_eq!(
            (y.is_nan(), y.is_infinite(), y.is_finite(), y.is_normal(), y.is_subnormal()),
            (x.is_nan(), x.is_infinite(), x.is_finite(), x.is_normal(), x.is_subnormal())
        );
        assert_eq!((y.is_sign_positive(), y.is_sign_negative()), (x.is_sign_positive(), x.is_sign_negative()));
        assert_eq!(y.classify(), x.classify());
        assert_eq!(Float::integer_decode(y), Float::integer_decode(x));
        assert_eq!(
            (y.to_f64().map(f64::to_bits), y.to_f32().map(f32::to_bits), y.to_i64()),
            (Some(x.to_bits()), x.to_f32().map(f32::to_bits), x.to_i64())
        );
        let back = <D as num_traits::NumCast>::from(x);
        assert!(back.is_some_and(|b| same_bits(b.v, x) && b.d == 0.0));
    }
    let consts: [(fn() -> D, f64); 12] = [
        (D::nan, f64::NAN),
        (D::infinity, f64::INFINITY),
        (D::neg_infinity, f64::NEG_INFINITY),
        (D::neg_zero, -0.0),
        (D::min_value, f64::MIN),
        (D::min_positive_value, f64::MIN_POSITIVE),
        (D::epsilon, f64::EPSILON),
        (D::max_value, f64::MAX),
        (D::PI, core::f64::consts::PI),
        (D::TAU, core::f64::consts::TAU),
        (D::LOG2_10, core::f64::consts::LOG2_10),
        (|| D::select(0.1, 0.1), 0.1),
    ];
    for (k, (make, want)) in consts.into_iter().enumerate() {
        let y = make();
        assert!(same_bits(y.v, want) && y.d == 0.0, "constant {k}");
    }
    assert_eq!(D::from_usize(7).v, 7.0);
    assert_eq!(Dual::<f32>::select(0.1, 0.1).v, 0.1_f32);
    assert_eq!(format!("{}", Dual { v: 1.5, d: -2.0 }), "1.5 + -2ε");
    assert_eq!(format!("{:.2}", Dual { v: 1.0, d: 0.5 }), "1.00 + 0.50ε");
    // Sum: T's own fold, an empty sum and a sum of negative zeros included.
    for xs in [vec![], vec![-0.0], vec![-0.0, -0.0], vec![1e16, 1.0, -1e16, 0.5]] {
        let duals: D = xs.iter().map(|&x| Dual { v: x, d: 1.0 }).sum();
        assert!(same_bits(duals.v, xs.iter().copied().sum::<f64>()), "sum of {xs:?}");
        assert_eq!(duals.d, xs.len() as f64);
    }
}

/// The RNG draws of a `Dual` are `T`'s, and leave the generator in the same state.
#[test]
fn sampling_draws_what_the_value_type_draws() {
    let (mut a, mut b) = (rng(400), rng(400));
    for _ in 0..POINTS {
        let (x, y) = (D::standard_normal(&mut a), f64::standard_normal(&mut b));
        assert!(x.v.to_bits() == y.to_bits() && x.d == 0.0);
        let (x, y) = (Dual::<f32>::open01(&mut a), f32::open01(&mut b));
        assert!(x.v.to_bits() == y.to_bits() && x.d == 0.0);
        let g: [D; 3] = gumbel_noise(&mut a);
        let h: [f64; 3] = gumbel_noise(&mut b);
        assert_eq!(g.map(|v| v.v.to_bits()), h.map(f64::to_bits));
    }
    assert_eq!(a.next_u64(), b.next_u64());
}

#[test]
fn lift_infers_its_target() {
    let x = Dual { v: 3.0_f64, d: 1.0 };
    let two: D = Lift::lift(2.0);
    assert_eq!((two.v, two.d), (2.0, 0.0));
    // A plain float beside a dual is a constant: no lift needed, and none inferable.
    let y = x * 2.0;
    assert_eq!((y.v, y.d), (6.0, 2.0));
    let y = 2.0 - x;
    assert_eq!((y.v, y.d), (-1.0, -1.0));
    assert!(x > 2.0);
    assert!(1.0 < x);
    assert_eq!(x, 3.0);
    let y = Lift::<D>::lift(2.0) - x;
    assert_eq!((y.v, y.d), (-1.0, -1.0));
    let same: D = Lift::lift(x);
    assert_eq!((same.v, same.d), (3.0, 1.0));
    let plain: f64 = Lift::lift(2.5);
    assert_eq!(plain, 2.5);
    let singles: Vec<f32> = [1.5_f32, 2.5].iter().map(Lift::lift).collect();
    assert_eq!(singles, [1.5, 2.5]);
    let table = [[1.0, 2.0], [3.0, 4.0]];
    let lifted: [[D; 2]; 2] = Lift::lift(table);
    assert_eq!(lifted.map(|row| row.map(|v| (v.v, v.d))), [[(1.0, 0.0), (2.0, 0.0)], [(3.0, 0.0), (4.0, 0.0)]]);
    let rows: Vec<[D; 2]> = table.iter().map(Lift::lift).collect();
    assert_eq!((rows[1][0].v, rows[1][0].d), (3.0, 0.0));
    let nested: DD = Lift::lift(x);
    assert_eq!((nested.v.v, nested.v.d, nested.d.v), (3.0, 1.0, 0.0));
    let by_ref: Vec<D> = [x].iter().map(Lift::lift).collect();
    assert_eq!(by_ref[0].d, 1.0);
    let from_plain_refs: Vec<D> = [3.0].iter().map(Lift::lift).collect();
    assert_eq!(from_plain_refs[0].d, 0.0);
}

// ---------------------------------------------------------------------------------------------
// Pullbacks on dual numbers: Hessian-vector products.

/// Flattening a pullback's result into its floats.
trait Flat<T> {
    fn flat(self, out: &mut Vec<T>);
}
macro_rules! flat_scalar {
    ($($t:ty),*) => {$(
        impl Flat<$t> for $t {
            fn flat(self, out: &mut Vec<$t>) {
                out.push(self);
            }
        }
    )*};
}
flat_scalar!(f64, f32, D, Dual<f32>);
impl<T, V: Flat<T>, const N: usize> Flat<T> for [V; N] {
    fn flat(self, out: &mut Vec<T>) {
        for v in self {
            v.flat(out);
        }
    }
}
impl<T, A: Flat<T>, B: Flat<T>> Flat<T> for (A, B) {
    fn flat(self, out: &mut Vec<T>) {
        self.0.flat(out);
        self.1.flat(out);
    }
}
impl<T, A: Flat<T>, B: Flat<T>, C: Flat<T>> Flat<T> for (A, B, C) {
    fn flat(self, out: &mut Vec<T>) {
        self.0.flat(out);
        self.1.flat(out);
        self.2.flat(out);
    }
}
impl<T, A: Flat<T>, B: Flat<T>, C: Flat<T>, E: Flat<T>> Flat<T> for (A, B, C, E) {
    fn flat(self, out: &mut Vec<T>) {
        self.0.flat(out);
        self.1.flat(out);
        self.2.flat(out);
        self.3.flat(out);
    }
}

fn flat<T, V: Flat<T>>(v: V) -> Vec<T> {
    let mut out = Vec::new();
    v.flat(&mut out);
    out
}

fn arr<T: Real, const N: usize>(p: &[T]) -> [T; N] {
    core::array::from_fn(|i| p[i])
}

/// A pullback as a function of its floats (point and cotangent) to its floats (value and
/// cotangents), instantiated at f64, `Dual<f64>`, f32 and `Dual<f32>`.
struct Pullback {
    name: &'static str,
    dom: Vec<Dom>,
    f: fn(&[f64]) -> Vec<f64>,
    fd: fn(&[D]) -> Vec<D>,
    f32: fn(&[f32]) -> Vec<f32>,
    fd32: fn(&[Dual<f32>]) -> Vec<Dual<f32>>,
}

macro_rules! pullbacks {
    ($($name:literal [$($dom:expr),+] => |$p:ident| $body:expr;)*) => {
        vec![$({
            fn f<T: Real + Flat<T>>($p: &[T]) -> Vec<T> {
                flat($body)
            }
            Pullback { name: $name, dom: vec![$($dom),+], f: f::<f64>, fd: f::<D>, f32: f::<f32>, fd32: f::<Dual<f32>> }
        }),*]
    };
}

const X: Dom = R(-3.0, 3.0);
const TEMP: Dom = R(0.3, 3.0);
const G: Dom = R(-2.0, 2.0);

fn pullbacks() -> Vec<Pullback> {
    pullbacks! {
        "ops::mul_vjp" [X, X, G] => |p| ops::mul_vjp(p[0], p[1], p[2]);
        "ops::div_vjp" [X, S(0.3, 3.0), G] => |p| ops::div_vjp(p[0], p[1], p[2]);
        "ops::tanh_vjp" [X, G] => |p| ops::tanh_vjp(p[0], p[1]);
        "ops::exp_vjp" [X, G] => |p| ops::exp_vjp(p[0], p[1]);
        "ops::sqrt_vjp" [R(0.1, 5.0), G] => |p| ops::sqrt_vjp(p[0], p[1]);
        "ops::ln_vjp" [R(0.1, 5.0), G] => |p| ops::ln_vjp(p[0], p[1]);
        "ops::sin_vjp" [X, G] => |p| ops::sin_vjp(p[0], p[1]);
        "ops::abs_vjp" [S(1e-3, 3.0), G] => |p| ops::abs_vjp(p[0], p[1]);
        "ops::powf_vjp" [R(0.2, 3.0), X, G] => |p| ops::powf_vjp(p[0], p[1], p[2]);
        "ops::powi_vjp" [X, G] => |p| ops::powi_vjp(p[0], 3, p[1]);
        "ops::atan2_vjp" [X, X, G] => |p| ops::atan2_vjp(p[0], p[1], p[2]);
        "ops::hypot_vjp" [X, X, G] => |p| ops::hypot_vjp(p[0], p[1], p[2]);
        "ops::mul_add_vjp" [X, X, X, G] => |p| ops::mul_add_vjp(p[0], p[1], p[2], p[3]);
        "ops::max_vjp" [X, X, G] => |p| ops::max_vjp(p[0], p[1], p[2]);
        "ops::clamp_vjp" [X, R(-2.0, -0.5), R(0.5, 2.0), G] => |p| ops::clamp_vjp(p[0], p[1], p[2], p[3]);
        "relu_vjp" [S(1e-3, 3.0), G] => |p| relu_vjp(p[0], p[1]);
        "softplus_vjp" [R(-20.0, 20.0), G] => |p| softplus_vjp(p[0], p[1]);
        "sigmoid_vjp" [R(-20.0, 20.0), G] => |p| sigmoid_vjp(p[0], p[1]);
        "huber_vjp" [S(0.01, 3.0), R(0.2, 2.0), G] => |p| huber_vjp(p[0], p[1], p[2]);
        "smooth_l1_vjp" [S(0.01, 3.0), R(0.2, 2.0), G] => |p| smooth_l1_vjp(p[0], p[1], p[2]);
        "softmax_vjp" [X, X, X, X, TEMP, G, G, G, G] =>
            |p| softmax_vjp(arr::<T, 4>(p), p[4], arr::<T, 4>(&p[5..]));
        "log_softmax_vjp" [X, X, X, X, TEMP, G, G, G, G] =>
            |p| log_softmax_vjp(arr::<T, 4>(p), p[4], arr::<T, 4>(&p[5..]));
        "logsumexp_vjp" [X, X, X, X, TEMP, G] => |p| logsumexp_vjp(arr::<T, 4>(p), p[4], p[5]);
        "soft_argmax_vjp" [X, X, X, X, TEMP, G] => |p| soft_argmax_vjp(arr::<T, 4>(p), p[4], p[5]);
        "soft_max_vjp" [X, X, X, X, TEMP, G] => |p| soft_max_vjp(arr::<T, 4>(p), p[4], p[5]);
        "dot_vjp" [X, X, X, X, X, X, G] => |p| dot_vjp(arr::<T, 3>(p), arr::<T, 3>(&p[3..]), p[6]);
        "mean_vjp" [X, X, X, G] => |p| mean_vjp(arr::<T, 3>(p), p[3]);
        "normal_reparam_vjp" [X, R(0.1, 3.0), X, G] => |p| normal_reparam_vjp(p[0], p[1], p[2], p[3]);
        "gumbel_from_uniform_vjp" [R(0.05, 0.95), G] => |p| gumbel_from_uniform_vjp(p[0], p[1]);
        "gumbel_softmax_with_vjp" [X, X, X, X, X, X, TEMP, G, G, G] =>
            |p| gumbel_softmax_with_vjp(arr::<T, 3>(p), arr::<T, 3>(&p[3..]), p[6], arr::<T, 3>(&p[7..]));
        "reinforce_baseline_vjp" [X, X, X, G] => |p| reinforce_baseline_vjp(p[0], p[1], p[2], p[3]);
        "relaxed_max_vjp" [X, X, TEMP, G] => |p| relaxed_max_vjp(p[0], p[1], p[2], p[3]);
        "relaxed_gt_vjp" [X, X, TEMP, G] => |p| relaxed_gt_vjp(p[0], p[1], p[2], p[3]);
        "relaxed_round_vjp" [X, TEMP, G] => |p| relaxed_round_vjp(p[0], p[1], p[2]);
        "relaxed_clamp_vjp" [X, R(-2.0, -0.5), R(0.5, 2.0), TEMP, G] =>
            |p| relaxed_clamp_vjp(p[0], p[1], p[2], p[3], p[4]);
        "blend_vjp" [R(0.0, 1.0), X, X, X, X, G, G] =>
            |p| blend_vjp(p[0], arr::<T, 2>(&p[1..]), arr::<T, 2>(&p[3..]), arr::<T, 2>(&p[5..]));
    }
}

/// A pullback run on `x + v·ε` (its cotangent input included) returns, in the tangents, the
/// derivative of its outputs along `v`: for the cotangents, `H·v` plus the Jacobian applied to the
/// cotangent's own tangent. Checked against finite differences of the f64 pullback, with the
/// values bit for bit.
#[test]
fn pullbacks_on_duals_give_hessian_vector_products() {
    for (k, pb) in pullbacks().iter().enumerate() {
        let mut r = rng(500 + k as u64);
        for _ in 0..POINTS {
            let p = draw_point(&mut r, &pb.dom);
            let v = draw_direction(&mut r, p.len());
            let out = (pb.fd)(&dual(&p, &v));
            let plain = (pb.f)(&p);
            let want = fd_along(&|q| (pb.f)(q), &p, &v);
            assert_eq!(out.len(), plain.len());
            for (i, y) in out.iter().enumerate() {
                assert!(same_bits(y.v, plain[i]), "{}: output {i} value at {p:?}", pb.name);
                assert_close(&format!("{} output {i} at {p:?} along {v:?}", pb.name), y.d, want[i], 1e-6, 1e-8);
            }
        }
    }
}

/// The same in f32: values bit for bit with the f32 pullback, tangents close to f64's.
#[test]
fn pullbacks_on_f32_duals() {
    for (k, pb) in pullbacks().iter().enumerate() {
        let mut r = rng(600 + k as u64);
        for _ in 0..POINTS {
            let p: Vec<f32> = draw_point(&mut r, &pb.dom).into_iter().map(|x| x as f32).collect();
            let v = draw_direction(&mut r, p.len());
            let out = (pb.fd32)(&p.iter().zip(&v).map(|(&x, &d)| Dual { v: x, d: d as f32 }).collect::<Vec<_>>());
            let plain = (pb.f32)(&p);
            let exact = (pb.fd)(&dual(&p.iter().map(|&x| <f64 as From<f32>>::from(x)).collect::<Vec<_>>(), &v));
            for (i, y) in out.iter().enumerate() {
                assert_eq!(y.v.to_bits(), plain[i].to_bits(), "{} (f32): output {i} value at {p:?}", pb.name);
                assert_close(
                    &format!("{} (f32) output {i} at {p:?}", pb.name),
                    <f64 as From<f32>>::from(y.d),
                    exact[i].d,
                    1e-3,
                    1e-4,
                );
            }
        }
    }
}

/// A hand-written reverse-mode gradient of
/// `f(w, b) = logsumexp([tanh(w₀·b), w₁·w₂, softplus(w₂ − b)], 0.7) + huber(w₀ − 2b, 1)`:
/// a forward sweep, then the pullbacks in reverse order.
fn loss_grad<T: Real>(w: [T; 3], b: T) -> (T, [T; 4]) {
    let one = T::one();
    let a0 = w[0] * b;
    let h0 = a0.tanh();
    let h1 = w[1] * w[2];
    let a2 = w[2] - b;
    let h2 = softplus(a2);
    let (l, residual) = logsumexp_fwd([h0, h1, h2], c(0.7));
    let d = w[0] - b - b;
    let value = l + huber(d, one);

    let (dh, _) = logsumexp_bwd(&residual, one);
    let (_, (dd, _)) = huber_vjp(d, one, one);
    let (_, da2) = softplus_vjp(a2, dh[2]);
    let (_, (dw1, dw2)) = ops::mul_vjp(w[1], w[2], dh[1]);
    let (_, da0) = ops::tanh_vjp(a0, dh[0]);
    let (_, (dw0, db)) = ops::mul_vjp(w[0], b, da0);
    (value, [dw0 + dd, dw1, dw2 + da2, db - da2 - dd - dd])
}

fn loss<T: Real>(p: &[T]) -> T {
    loss_grad([p[0], p[1], p[2]], p[3]).0
}

#[test]
fn hand_written_reverse_mode_at_duals_is_a_hessian_vector_product() {
    let grad = |p: &[f64]| loss_grad([p[0], p[1], p[2]], p[3]).1.to_vec();
    let hvp = |p: &[f64], v: &[f64]| -> (f64, Vec<D>) {
        let x = dual(p, v);
        let (value, g) = loss_grad([x[0], x[1], x[2]], x[3]);
        assert_eq!(value.v.to_bits(), loss(p).to_bits());
        (value.d, g.to_vec())
    };
    let mut r = rng(700);
    for _ in 0..POINTS {
        let p: Vec<f64> = (0..4).map(|_| uniform(&mut r, -2.0, 2.0)).collect();
        let (u, v) = (draw_direction(&mut r, 4), draw_direction(&mut r, 4));
        // The gradient itself against finite differences of the loss.
        for i in 0..4 {
            let e: Vec<f64> = (0..4).map(|j| if i == j { 1.0 } else { 0.0 }).collect();
            assert_close("gradient", grad(&p)[i], fd_along(&|q| vec![loss(q)], &p, &e)[0], 1e-6, 1e-9);
        }
        let (dvalue, hv) = hvp(&p, &v);
        let want = fd_along(&grad, &p, &v);
        for i in 0..4 {
            assert_eq!(hv[i].v.to_bits(), grad(&p)[i].to_bits(), "the gradient, bit for bit");
            assert_close(&format!("H·v [{i}] at {p:?}"), hv[i].d, want[i], 1e-6, 1e-8);
        }
        // The value's tangent is the directional derivative ∇f·v, and the Hessian is symmetric.
        let directional: f64 = grad(&p).iter().zip(&v).map(|(g, d)| g * d).sum();
        assert_close("∇f·v", dvalue, directional, 1e-12, 1e-14);
        let (_, hu) = hvp(&p, &u);
        let u_hv: f64 = u.iter().zip(&hv).map(|(a, b)| a * b.d).sum();
        let v_hu: f64 = v.iter().zip(&hu).map(|(a, b)| a * b.d).sum();
        assert_close("uᵀHv = vᵀHu", u_hv, v_hu, 1e-12, 1e-14);
    }
    // f32: the same function at Dual<f32>, tangents close to the f64 Hessian-vector product.
    let mut r = rng(701);
    for _ in 0..POINTS {
        let p: Vec<f32> = (0..4).map(|_| uniform(&mut r, -2.0, 2.0) as f32).collect();
        let v = draw_direction(&mut r, 4);
        let x: Vec<Dual<f32>> = p.iter().zip(&v).map(|(&x, &d)| Dual { v: x, d: d as f32 }).collect();
        let (_, g) = loss_grad([x[0], x[1], x[2]], x[3]);
        let (_, exact) = hvp(&p.iter().map(|&x| <f64 as From<f32>>::from(x)).collect::<Vec<_>>(), &v);
        for i in 0..4 {
            assert_eq!(g[i].v.to_bits(), loss_grad([p[0], p[1], p[2]], p[3]).1[i].to_bits());
            assert_close("H·v (f32)", <f64 as From<f32>>::from(g[i].d), exact[i].d, 1e-3, 1e-4);
        }
    }
}

/// A dual with a plain float (a constant, the data of `NAME_hvp`'s sweeps) on either side: the
/// value bit for bit and the tangent equal (up to the sign of a zero) to those of the float lifted
/// to a dual with tangent zero, and the zero tangent's products are not taken: no NaN from an
/// infinite value times it.
#[test]
fn operations_with_constants_are_those_with_lifted_constants() {
    let mut r = rng(91);
    let same = |what: &str, got: D, want: D| {
        assert!(same_bits(got.v, want.v) && got.d == want.d, "{what}: {got:?} against the lifted {want:?}");
    };
    for _ in 0..POINTS {
        let a = Dual { v: uniform(&mut r, -3.0, 3.0), d: uniform(&mut r, -2.0, 2.0) };
        let c = uniform(&mut r, 0.5, 4.0) * if r.random::<bool>() { 1.0 } else { -1.0 };
        let lifted = Dual { v: c, d: 0.0 };
        same("a + c", a + c, a + lifted);
        same("a - c", a - c, a - lifted);
        same("a * c", a * c, a * lifted);
        same("a / c", a / c, a / lifted);
        same("c + a", c + a, lifted + a);
        same("c * a", c * a, lifted * a);
        let dout = Dual { v: uniform(&mut r, -2.0, 2.0), d: uniform(&mut r, -2.0, 2.0) };
        same(
            "mul_constant_pullback",
            dual::mul_constant_pullback(c, dout),
            ops::mul_pullback(a, lifted, a * lifted, dout).0,
        );
        same(
            "div_constant_pullback",
            dual::div_constant_pullback(c, dout),
            ops::div_pullback(a, lifted, a / lifted, dout).0,
        );
    }
    for _ in 0..POINTS {
        let a: [D; 5] = core::array::from_fn(|_| Dual { v: uniform(&mut r, -3.0, 3.0), d: uniform(&mut r, -2.0, 2.0) });
        let c: [f64; 5] = core::array::from_fn(|_| uniform(&mut r, -3.0, 3.0));
        let lifted = c.map(|v| Dual { v, d: 0.0 });
        same("dot_constant", dual::dot_constant(a, c), dot(a, lifted));
        let dout = Dual { v: uniform(&mut r, -2.0, 2.0), d: uniform(&mut r, -2.0, 2.0) };
        let full = dot_pullback(a, lifted, dot(a, lifted), dout).0;
        for (got, want) in dual::dot_constant_pullback(c, dout).into_iter().zip(full) {
            same("dot_constant_pullback", got, want);
        }
    }
    let infinite = Dual { v: f64::INFINITY, d: 1.0 };
    assert_eq!((infinite * 2.0).d, 2.0);
    assert_eq!((2.0 * infinite).d, 2.0);
}
