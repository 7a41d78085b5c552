//! The relaxed rules: pullbacks and pushforwards against central finite differences (temperature
//! included), their duality, values bit-identical between `r`, `r_vjp`, `r_jvp` (and a dual-number
//! evaluation of `r`), convergence to the hard operation at the derived rates, finite values and
//! derivatives on extreme input, and nonzero gradients where the hard operation has none.

use rand::RngExt;
use rand::rngs::StdRng;
use relax_core::*;
use relax_testkit::{POINTS, rng, uniform};

type D = Dual<f64>;

/// `[lo, hi)` uniformly.
#[derive(Clone, Copy)]
struct Dom(f64, f64);

/// One rule, instantiated at f64, `Dual<f64>` and f32; `p` holds its arguments, `t` last.
struct Rule {
    name: &'static str,
    /// Where the arguments other than `t` are drawn.
    dom: Vec<Dom>,
    value: fn(&[f64]) -> f64,
    vjp: fn(&[f64], f64) -> (f64, Vec<f64>),
    jvp: fn(&[f64], &[f64]) -> (f64, f64),
    dual: fn(&[D]) -> D,
    value32: fn(&[f32]) -> f32,
    vjp32: fn(&[f32], f32) -> (f32, Vec<f32>),
    jvp32: fn(&[f32], &[f32]) -> (f32, f32),
    /// The hard operation, of the arguments other than `t`.
    hard: fn(&[f64]) -> f64,
    /// The distance `δ` to the nearest tie or kink of the hard operation.
    delta: fn(&[f64]) -> f64,
    /// The bound on `|relaxed − hard|` at distance `δ` and temperature `t`, exponentially small.
    bound: fn(f64, f64) -> f64,
    /// `C` with `|relaxed − hard| ≤ C·t` at distance `δ` (for `t ≤ 1`).
    linear: fn(f64) -> f64,
}

macro_rules! rule {
    ($name:ident, $vjp:ident, $jvp:ident, ($($i:tt),+), [$($dom:expr),*],
     hard: $hard:expr, delta: $delta:expr, bound: $bound:expr, linear: $linear:expr) => {{
        fn value<T: Real>(p: &[T]) -> T {
            $name($(p[$i]),+)
        }
        fn vjp<T: Real>(p: &[T], dout: T) -> (T, Vec<T>) {
            let (v, g) = $vjp($(p[$i],)+ dout);
            (v, vec![$(g.$i),+])
        }
        fn jvp<T: Real>(p: &[T], tangent: &[T]) -> (T, T) {
            $jvp($(p[$i],)+ ($(tangent[$i],)+))
        }
        Rule {
            name: stringify!($name),
            dom: vec![$($dom),*],
            value: value::<f64>,
            vjp: vjp::<f64>,
            jvp: jvp::<f64>,
            dual: value::<D>,
            value32: value::<f32>,
            vjp32: vjp::<f32>,
            jvp32: jvp::<f32>,
            hard: $hard,
            delta: $delta,
            bound: $bound,
            linear: $linear,
        }
    }};
}

const X: Dom = Dom(-3.0, 3.0);
const LN_2: f64 = core::f64::consts::LN_2;
const E: f64 = core::f64::consts::E;

/// Distance to the nearest half-integer: the ties of `round`.
fn to_half_integer(x: f64) -> f64 {
    (x - x.floor() - 0.5).abs()
}

/// Distance to the nearest integer: the jumps of `floor` and `ceil`.
fn to_integer(x: f64) -> f64 {
    (x - x.round()).abs()
}

/// The soft rounding's bound `e^(−2δ/t)/tanh(1/(2t))` and its linear form for `t ≤ 1`.
fn round_bound(d: f64, t: f64) -> f64 {
    (-2.0 * d / t).exp() / (0.5 / t).tanh()
}
fn round_linear(d: f64) -> f64 {
    1.0 / (2.0 * E * d * 0.5_f64.tanh())
}

fn rules() -> Vec<Rule> {
    vec![
        rule!(relaxed_max, relaxed_max_vjp, relaxed_max_jvp, (0, 1, 2), [X, X],
            hard: |p| p[0].max(p[1]), delta: |p| (p[0] - p[1]).abs(),
            bound: |d, t| t * (-d / t).exp(), linear: |_| LN_2),
        rule!(relaxed_min, relaxed_min_vjp, relaxed_min_jvp, (0, 1, 2), [X, X],
            hard: |p| p[0].min(p[1]), delta: |p| (p[0] - p[1]).abs(),
            bound: |d, t| t * (-d / t).exp(), linear: |_| LN_2),
        rule!(relaxed_relu, relaxed_relu_vjp, relaxed_relu_jvp, (0, 1), [X],
            hard: |p| relu(p[0]), delta: |p| p[0].abs(),
            bound: |d, t| t * (-d / t).exp(), linear: |_| LN_2),
        rule!(relaxed_abs, relaxed_abs_vjp, relaxed_abs_jvp, (0, 1), [X],
            hard: |p| p[0].abs(), delta: |p| p[0].abs(),
            bound: |d, t| t * (-2.0 * d / t).exp(), linear: |_| LN_2),
        rule!(relaxed_signum, relaxed_signum_vjp, relaxed_signum_jvp, (0, 1), [X],
            hard: |p| p[0].signum(), delta: |p| p[0].abs(),
            bound: |d, t| 2.0 * (-2.0 * d / t).exp(), linear: |d| 1.0 / (E * d)),
        rule!(relaxed_clamp, relaxed_clamp_vjp, relaxed_clamp_jvp, (0, 1, 2, 3), [X, Dom(-2.0, -0.2), Dom(0.2, 2.0)],
            hard: |p| p[0].clamp(p[1], p[2]), delta: |p| (p[0] - p[1]).abs().min((p[0] - p[2]).abs()).min(p[2] - p[1]),
            bound: |d, t| 2.0 * t * (-d / t).exp(), linear: |_| LN_2),
        rule!(relaxed_gt, relaxed_gt_vjp, relaxed_gt_jvp, (0, 1, 2), [X, X],
            hard: |p| f64::from(u8::from(p[0] > p[1])), delta: |p| (p[0] - p[1]).abs(),
            bound: |d, t| (-d / t).exp(), linear: |d| 1.0 / (E * d)),
        rule!(relaxed_lt, relaxed_lt_vjp, relaxed_lt_jvp, (0, 1, 2), [X, X],
            hard: |p| f64::from(u8::from(p[0] < p[1])), delta: |p| (p[0] - p[1]).abs(),
            bound: |d, t| (-d / t).exp(), linear: |d| 1.0 / (E * d)),
        rule!(relaxed_round, relaxed_round_vjp, relaxed_round_jvp, (0, 1), [Dom(-5.0, 5.0)],
            hard: |p| p[0].round(), delta: |p| to_half_integer(p[0]), bound: round_bound, linear: round_linear),
        rule!(relaxed_floor, relaxed_floor_vjp, relaxed_floor_jvp, (0, 1), [Dom(-5.0, 5.0)],
            hard: |p| p[0].floor(), delta: |p| to_integer(p[0]), bound: round_bound, linear: round_linear),
        rule!(relaxed_ceil, relaxed_ceil_vjp, relaxed_ceil_jvp, (0, 1), [Dom(-5.0, 5.0)],
            hard: |p| p[0].ceil(), delta: |p| to_integer(p[0]), bound: round_bound, linear: round_linear),
    ]
}

fn log_uniform(r: &mut StdRng, lo: f64, hi: f64) -> f64 {
    uniform(r, lo.ln(), hi.ln()).exp()
}

/// The arguments, then a temperature in [0.05, 5].
fn moderate_point(r: &mut StdRng, rule: &Rule) -> Vec<f64> {
    let mut p: Vec<f64> = rule.dom.iter().map(|d| uniform(r, d.0, d.1)).collect();
    p.push(log_uniform(r, 0.05, 5.0));
    p
}

/// Central finite differences of `f` at `p` along `v`, with a step relative to `p`'s scale.
fn fd_along(f: fn(&[f64]) -> f64, p: &[f64], v: &[f64]) -> f64 {
    let h = 1e-6 * p.iter().fold(1.0_f64, |m, x| m.max(x.abs()));
    let at = |s: f64| f(&p.iter().zip(v).map(|(x, d)| x + s * h * d).collect::<Vec<_>>());
    (at(1.0) - at(-1.0)) / (2.0 * h)
}

fn unit(n: usize, i: usize) -> Vec<f64> {
    (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect()
}

#[track_caller]
fn assert_close(what: &str, got: f64, want: f64, rel: f64, abs: f64) {
    assert!((got - want).abs() <= rel * (got.abs() + want.abs()) + abs, "{what}: got {got:e}, expected {want:e}");
}

/// `r_vjp` against finite differences of `r` in every argument (`t` included), `r_jvp` against
/// finite differences along a random tangent, their duality, a dual-number evaluation of `r`,
/// and the values bit for bit.
#[test]
fn derivatives_against_finite_differences() {
    for (k, rule) in rules().iter().enumerate() {
        let mut r = rng(1000 + k as u64);
        for _ in 0..POINTS {
            let p = moderate_point(&mut r, rule);
            let n = p.len();
            let dout = uniform(&mut r, -2.0, 2.0);
            let tangent: Vec<f64> = (0..n).map(|_| uniform(&mut r, -1.0, 1.0)).collect();
            let at = format!("{} at {p:?}", rule.name);

            let value = (rule.value)(&p);
            let (v_vjp, g) = (rule.vjp)(&p, dout);
            let (v_jvp, dv) = (rule.jvp)(&p, &tangent);
            let dual = (rule.dual)(&p.iter().zip(&tangent).map(|(&v, &d)| Dual { v, d }).collect::<Vec<_>>());
            for other in [v_vjp, v_jvp, dual.v] {
                assert_eq!(other.to_bits(), value.to_bits(), "{at}: values");
            }
            for (i, gi) in g.iter().enumerate() {
                let want = dout * fd_along(rule.value, &p, &unit(n, i));
                assert_close(&format!("{at}: vjp entry {i}"), *gi, want, 1e-6, 1e-8);
            }
            assert_close(&format!("{at}: jvp along {tangent:?}"), dv, fd_along(rule.value, &p, &tangent), 1e-6, 1e-8);
            let pairing: f64 = g.iter().zip(&tangent).map(|(a, b)| a * b).sum();
            let scale: f64 = g.iter().zip(&tangent).map(|(a, b)| (a * b).abs()).sum();
            assert_close(
                &format!("{at}: ⟨vjp(dout), tangent⟩ = dout·jvp(tangent)"),
                pairing,
                dout * dv,
                0.0,
                1e-14 * scale,
            );
            assert_close(&format!("{at}: dual tangent vs jvp"), dual.d, dv, 1e-10, 1e-13);
        }
    }
}

/// The values are the table's definitions, computed here independently: relax's `logsumexp`,
/// `tanh`, `sigmoid`, and the soft rounding's closed form.
#[test]
fn values_match_their_definitions() {
    let mut r = rng(1050);
    for _ in 0..POINTS {
        let (a, b, x) = (uniform(&mut r, -3.0, 3.0), uniform(&mut r, -3.0, 3.0), uniform(&mut r, -5.0, 5.0));
        let t = log_uniform(&mut r, 0.05, 5.0);
        let close = |what: &str, got: f64, want: f64| {
            assert_close(&format!("{what} at {a}, {b}, {x}, t {t}"), got, want, 1e-15, 1e-15)
        };
        close("max", relaxed_max(a, b, t), logsumexp([a, b], t));
        close("min", relaxed_min(a, b, t), -logsumexp([-a, -b], t));
        close("relu", relaxed_relu(a, t), logsumexp([a, 0.0], t));
        close("abs", relaxed_abs(a, t), logsumexp([a, -a], t));
        close("signum", relaxed_signum(a, t), (a / t).tanh());
        close("gt", relaxed_gt(a, b, t), 1.0 / (1.0 + ((b - a) / t).exp()));
        close("lt", relaxed_lt(a, b, t), 1.0 / (1.0 + ((a - b) / t).exp()));
        let (lo, hi) = (a.min(b), a.max(b));
        close("clamp", relaxed_clamp(x, lo, hi, t), relaxed_min(relaxed_max(x, lo, t), hi, t));
        let soft_round =
            |x: f64| x.floor() + 0.5 + ((x - x.floor() - 0.5) / t).tanh() / (2.0 * (1.0 / (2.0 * t)).tanh());
        close("round", relaxed_round(x, t), soft_round(x));
        close("floor", relaxed_floor(x, t), soft_round(x - 0.5));
        close("ceil", relaxed_ceil(x, t), soft_round(x + 0.5));
    }
}

/// f32: the three forms bit-identical, derivatives close to f64's.
#[test]
fn f32_agrees_with_f64() {
    for (k, rule) in rules().iter().enumerate() {
        let mut r = rng(1100 + k as u64);
        for _ in 0..POINTS {
            let p32: Vec<f32> = moderate_point(&mut r, rule).into_iter().map(|x| x as f32).collect();
            let p: Vec<f64> = p32.iter().map(|&x| x.into()).collect();
            let tangent32: Vec<f32> = (0..p.len()).map(|_| uniform(&mut r, -1.0, 1.0) as f32).collect();
            let tangent: Vec<f64> = tangent32.iter().map(|&x| x.into()).collect();
            let value = (rule.value32)(&p32);
            let (v_vjp, g) = (rule.vjp32)(&p32, 1.0);
            let (v_jvp, dv) = (rule.jvp32)(&p32, &tangent32);
            assert_eq!((v_vjp.to_bits(), v_jvp.to_bits()), (value.to_bits(), value.to_bits()), "{}", rule.name);
            assert_close(rule.name, value.into(), (rule.value)(&p), 1e-6, 1e-6);
            let g64 = (rule.vjp)(&p, 1.0).1;
            for (a, b) in g.iter().zip(&g64) {
                assert_close(&format!("{} (f32) at {p32:?}", rule.name), f64::from(*a), *b, 1e-4, 1e-5);
            }
            assert_close(rule.name, dv.into(), (rule.jvp)(&p, &tangent).1, 1e-4, 1e-5);
        }
    }
}

/// At t = 1e-3, 1e-5, 1e-7 and points at least 0.01 from the hard operation's ties and kinks:
/// `|relaxed − hard| ≤ bound(δ, t)` (exponentially small) and `≤ C(δ)·t`, up to the rounding of
/// the value.
#[test]
fn convergence_to_the_hard_operation() {
    for (k, rule) in rules().iter().enumerate() {
        let mut r = rng(1200 + k as u64);
        for _ in 0..POINTS {
            let mut p = moderate_point(&mut r, rule);
            while (rule.delta)(&p) < 0.01 {
                p = moderate_point(&mut r, rule);
            }
            let args = p[..p.len() - 1].to_vec();
            let (hard, delta) = ((rule.hard)(&args), (rule.delta)(&args));
            let rounding = 4.0 * f64::EPSILON * hard.abs().max(1.0);
            for t in [1e-3, 1e-5, 1e-7] {
                *p.last_mut().unwrap() = t;
                let err = ((rule.value)(&p) - hard).abs();
                let at = format!("{} at {args:?}, t = {t:e}", rule.name);
                assert!(err <= (rule.bound)(delta, t) + rounding, "{at}: error {err:e}");
                assert!(err <= (rule.linear)(delta) * t + rounding, "{at}: error {err:e} above C·t");
            }
        }
    }
}

/// At a tie the smooth maxima are off by exactly `t·ln 2`, so that bound is tight and the error
/// is first order in `t`; their sign is the stated one everywhere.
#[test]
fn error_at_ties_and_its_sign() {
    let mut r = rng(1300);
    for _ in 0..POINTS {
        let (a, b) = (uniform(&mut r, -3.0, 3.0), uniform(&mut r, -3.0, 3.0));
        let t = log_uniform(&mut r, 1e-7, 1.0);
        let rounding = 4.0 * f64::EPSILON * a.abs().max(1.0);
        assert_close("max at a tie", relaxed_max(a, a, t) - a, t * LN_2, 0.0, rounding);
        assert_close("min at a tie", relaxed_min(a, a, t) - a, -t * LN_2, 0.0, rounding);
        assert_close("relu at 0", relaxed_relu(0.0, t), t * LN_2, 1e-15, 0.0);
        assert_close("abs at 0", relaxed_abs(0.0, t), t * LN_2, 1e-15, 0.0);
        let (m, n) = (relaxed_max(a, b, t) - a.max(b), relaxed_min(a, b, t) - a.min(b));
        assert!((0.0..=t * LN_2 + rounding).contains(&m) && (-t * LN_2 - rounding..=0.0).contains(&n));
        let x = uniform(&mut r, -3.0, 3.0);
        assert!((0.0..=t * LN_2).contains(&(relaxed_relu(x, t) - relu(x))));
        assert!((0.0..=t * LN_2 + rounding).contains(&(relaxed_abs(x, t) - x.abs())));
        let (lo, hi) = (uniform(&mut r, -2.0, 0.0), uniform(&mut r, 0.0, 2.0));
        assert!((relaxed_clamp(x, lo, hi, t) - x.clamp(lo, hi)).abs() <= t * LN_2 + rounding);
        // Soft rounding passes through the integers and the half-integers (the ties) exactly.
        let n = uniform(&mut r, -1e6, 1e6).round();
        assert_eq!((relaxed_round(n, t), relaxed_round(n + 0.5, t)), (n, n + 0.5));
    }
}

/// Exponentially distributed magnitudes in [1e-300, 1e300] (1e30 for f32), with random signs,
/// and the extremes of the type.
fn extreme(r: &mut StdRng, max_exp: f64, specials: &[f64]) -> f64 {
    if r.random_range(0..4) == 0 {
        return specials[r.random_range(0..specials.len())];
    }
    let m = 10f64.powf(uniform(r, -max_exp, max_exp));
    if r.random::<bool>() { m } else { -m }
}

/// Finite values, gradients and tangents for inputs up to the type's max and temperatures from
/// the smallest positive normal to 1e3, with the three values bit-identical.
#[test]
fn finite_on_extreme_input() {
    let specials = [0.0, 1.0, 0.5, f64::MAX, -f64::MAX, 1e300, -1e300, f64::MIN_POSITIVE];
    let temperatures = [f64::MIN_POSITIVE, 1e-300, 1e-12, 1e3];
    let specials32 = [0.0, 1.0, 0.5, f32::MAX, -f32::MAX, 1e30, -1e30, f32::MIN_POSITIVE];
    let temperatures32 = [f32::MIN_POSITIVE, 1e-30, 1e-12, 1e3];
    for (k, rule) in rules().iter().enumerate() {
        let mut r = rng(1400 + k as u64);
        for i in 0..4 * POINTS {
            let mut p: Vec<f64> = rule.dom.iter().map(|_| extreme(&mut r, 300.0, &specials)).collect();
            if rule.name == "relaxed_clamp" && p[1] > p[2] {
                p.swap(1, 2);
            }
            p.push(if i % 4 == 0 { temperatures[i / 4 % 4] } else { log_uniform(&mut r, 1e-12, 1e3) });
            let dout = uniform(&mut r, -2.0, 2.0);
            let tangent: Vec<f64> = (0..p.len()).map(|_| uniform(&mut r, -1.0, 1.0)).collect();
            let (value, (v_vjp, g), (v_jvp, dv)) = ((rule.value)(&p), (rule.vjp)(&p, dout), (rule.jvp)(&p, &tangent));
            assert!(value.is_finite() && dv.is_finite() && g.iter().all(|x| x.is_finite()), "{} at {p:?}", rule.name);
            assert!(v_vjp.to_bits() == value.to_bits() && v_jvp.to_bits() == value.to_bits(), "{} at {p:?}", rule.name);

            let mut p32: Vec<f32> =
                rule.dom.iter().map(|_| extreme(&mut r, 30.0, &specials32.map(f64::from)) as f32).collect();
            if rule.name == "relaxed_clamp" && p32[1] > p32[2] {
                p32.swap(1, 2);
            }
            p32.push(if i % 4 == 0 { temperatures32[i / 4 % 4] } else { log_uniform(&mut r, 1e-12, 1e3) as f32 });
            let tangent32: Vec<f32> = tangent.iter().map(|&x| x as f32).collect();
            let (value, (_, g), (_, dv)) =
                ((rule.value32)(&p32), (rule.vjp32)(&p32, 1.0), (rule.jvp32)(&p32, &tangent32));
            assert!(value.is_finite() && dv.is_finite() && g.iter().all(|x| x.is_finite()), "{} at {p32:?}", rule.name);
        }
    }
}

/// Where the hard operation's derivative is zero, the relaxed one is not, at moderate
/// temperatures and within 20 temperatures of the tie or kink.
#[test]
fn gradients_where_the_hard_operation_has_none() {
    let mut r = rng(1500);
    for _ in 0..POINTS {
        let t = log_uniform(&mut r, 0.1, 10.0);
        let (a, gap) = (uniform(&mut r, -3.0, 3.0), uniform(&mut r, -20.0, 20.0) * t);
        let (_, (da, db, dt)) = relaxed_gt_vjp(a + gap, a, t, 1.0);
        assert!(da > 0.0 && db < 0.0 && (dt != 0.0 || gap == 0.0), "relaxed_gt at gap {gap}, t {t}");
        let (_, (da, db, _)) = relaxed_lt_vjp(a + gap, a, t, 1.0);
        assert!(da < 0.0 && db > 0.0, "relaxed_lt");
        let (_, (da, db, _)) = relaxed_max_vjp(a + gap, a, t, 1.0);
        assert!(da > 0.0 && db > 0.0, "relaxed_max: both arguments get a share");
        let (_, (da, db, _)) = relaxed_min_vjp(a + gap, a, t, 1.0);
        assert!(da > 0.0 && db > 0.0, "relaxed_min: both arguments get a share");
        let (_, (dx, _)) = relaxed_relu_vjp(-gap.abs(), t, 1.0);
        assert!(dx > 0.0, "relaxed_relu below 0");
        let (_, (dx, _)) = relaxed_signum_vjp(gap, t, 1.0);
        assert!(dx > 0.0, "relaxed_signum");
        let (_, (dx, _, _, _)) = relaxed_clamp_vjp(1.0 + gap.abs(), -1.0, 1.0, t, 1.0);
        assert!(dx > 0.0, "relaxed_clamp above hi");
        let x = uniform(&mut r, -10.0, 10.0);
        let t = log_uniform(&mut r, 0.1, 2.0);
        for (name, dx) in [
            ("round", relaxed_round_vjp(x, t, 1.0).1.0),
            ("floor", relaxed_floor_vjp(x, t, 1.0).1.0),
            ("ceil", relaxed_ceil_vjp(x, t, 1.0).1.0),
        ] {
            assert!(dx > 0.0, "relaxed_{name} at {x}, t {t}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// blend

fn blend_flat<const N: usize, const M: usize>(p: &[f64]) -> Vec<f64> {
    let (a, b) = (nested::<N, M>(&p[1..]), nested::<N, M>(&p[1 + N * M..]));
    blend(p[0], a, b).as_flattened().to_vec()
}

fn nested<const N: usize, const M: usize>(p: &[f64]) -> [[f64; M]; N] {
    core::array::from_fn(|i| core::array::from_fn(|j| p[i * M + j]))
}

/// `blend` of `[[f64; 2]; 3]` arrays: pullback and pushforward against finite differences of
/// each output entry, duality, values equal to `s·a + (1 − s)·b` computed directly.
#[test]
fn blend_of_nested_arrays() {
    const N: usize = 3;
    const M: usize = 2;
    let mut r = rng(1600);
    for _ in 0..POINTS {
        let mut p = vec![uniform(&mut r, 0.0, 1.0)];
        p.extend((0..2 * N * M).map(|_| uniform(&mut r, -3.0, 3.0)));
        let (s, a, b) = (p[0], nested::<N, M>(&p[1..]), nested::<N, M>(&p[1 + N * M..]));
        let dout = nested::<N, M>(&(0..N * M).map(|_| uniform(&mut r, -2.0, 2.0)).collect::<Vec<_>>());
        let tangent: Vec<f64> = (0..p.len()).map(|_| uniform(&mut r, -1.0, 1.0)).collect();
        let (ta, tb) = (nested::<N, M>(&tangent[1..]), nested::<N, M>(&tangent[1 + N * M..]));

        let value = blend(s, a, b);
        let direct: [[f64; M]; N] =
            core::array::from_fn(|i| core::array::from_fn(|j| s * a[i][j] + (1.0 - s) * b[i][j]));
        assert_eq!(value, direct);
        let (v_vjp, (ds, da, db)) = blend_vjp(s, a, b, dout);
        let (v_jvp, dv) = blend_jvp(s, a, b, (tangent[0], ta, tb));
        assert!(v_vjp == value && v_jvp == value);

        // The gradient of ⟨dout, blend⟩ in every input, and the pushforward of each entry.
        let grad: Vec<f64> = [vec![ds], da.as_flattened().to_vec(), db.as_flattened().to_vec()].concat();
        let dout_flat = dout.as_flattened();
        let h = 1e-6;
        for (i, gi) in grad.iter().enumerate() {
            let (mut up, mut down) = (p.clone(), p.clone());
            up[i] += h;
            down[i] -= h;
            let fd: f64 = blend_flat::<N, M>(&up)
                .iter()
                .zip(blend_flat::<N, M>(&down))
                .zip(dout_flat)
                .map(|((u, d), w)| w * (u - d) / (2.0 * h))
                .sum();
            assert_close(&format!("blend vjp entry {i} at {p:?}"), *gi, fd, 1e-6, 1e-8);
        }
        let shifted = |sign: f64| -> Vec<f64> {
            blend_flat::<N, M>(&p.iter().zip(&tangent).map(|(x, d)| x + sign * h * d).collect::<Vec<_>>())
        };
        for (k, (u, d)) in shifted(1.0).iter().zip(shifted(-1.0)).enumerate() {
            assert_close(&format!("blend jvp entry {k}"), dv.as_flattened()[k], (u - d) / (2.0 * h), 1e-6, 1e-8);
        }
        let pairing: f64 = grad.iter().zip(&tangent).map(|(g, t)| g * t).sum();
        let dout_dv: f64 = dout_flat.iter().zip(dv.as_flattened()).map(|(w, d)| w * d).sum();
        assert_close("blend duality", pairing, dout_dv, 1e-13, 1e-13);
    }
}

/// The relaxed `if`: both arms blended by the relaxed comparison; a saturated weight gives the
/// chosen arm exactly, even when the other is infinite or NaN.
#[test]
fn relaxed_if_blends_the_arms() {
    // if x > 0.5 { x·x } else { 1 − x }, relaxed.
    let relaxed_if = |x: f64, t: f64| blend(relaxed_gt(x, 0.5, t), x * x, 1.0 - x);
    let mut r = rng(1700);
    for _ in 0..POINTS {
        let x = uniform(&mut r, -3.0, 3.0);
        if (x - 0.5).abs() < 0.01 {
            continue;
        }
        let hard = if x > 0.5 { x * x } else { 1.0 - x };
        // |s − [x > 0.5]| ≤ e^(−δ/t), times |A − B|.
        let t = 1e-3;
        let bound = (-(x - 0.5).abs() / t).exp() * (x * x - (1.0 - x)).abs();
        assert!((relaxed_if(x, t) - hard).abs() <= bound + 4.0 * f64::EPSILON * hard.abs().max(1.0));
        let (v, (ds, da, db)) = blend_vjp(1.0, x, f64::NAN, 1.0);
        assert_eq!((v, da, db), (x, 1.0, 0.0));
        assert!(ds.is_nan(), "⟨dout, a − b⟩ is what the formula gives");
        assert_eq!(blend(0.0, f64::INFINITY, x), x);
        assert_eq!(blend_jvp(0.0, [f64::NAN; 2], [x; 2], (0.0, [1.0; 2], [2.0; 2])), ([x; 2], [2.0; 2]));
    }
}
