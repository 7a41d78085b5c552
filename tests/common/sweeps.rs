//! The checks of a function in every mode: `_jvp` against finite differences along random
//! directions, `_vjp` by its duality with `_jvp`, `_hvp` against finite differences of `_grad`.

use super::*;
use rand::rngs::StdRng;

/// Points each check passes.
const POINTS: usize = 100;

/// At `p` along `v`: `value` is `f(p)` bit for bit and `tangent` matches finite differences of `f`
/// along `v`. Returns false (and checks no tangent) where finite differences at two steps
/// disagree: a branch or a kink lies within the step.
#[track_caller]
pub fn check_tangent(
    name: &str,
    p: &[f64],
    v: &[f64],
    f: &dyn Fn(&[f64]) -> Vec<f64>,
    value: &[f64],
    tangent: &[f64],
) -> bool {
    let at = format!("{name} at {p:?} along {v:?}");
    assert_same_bits(&format!("{at}: value"), value, &f(p));
    let fd = fd_along(f, p, v);
    // Half the step: the direction halved, the difference doubled.
    let half: Vec<f64> = v.iter().map(|x| 0.5 * x).collect();
    let fd_half = fd_along(f, p, &half).iter().map(|x| 2.0 * x).collect::<Vec<_>>();
    if fd.iter().zip(&fd_half).any(|(a, b)| (a - b).abs() > 1e-4 * (1.0 + a.abs())) {
        return false;
    }
    assert_grad(&at, tangent, &fd);
    true
}

/// [`check_tangent`] at `POINTS` points (`sample` draws them, `draw` one more for the caller),
/// with [`direction`]s; at most one point in five may be replaced for a jump in finite
/// differences. `point_check` runs further checks at each point.
#[track_caller]
pub fn check_points<V: Flat, D: Flat>(
    name: &str,
    seed: u64,
    sample: impl Fn(&mut StdRng) -> Vec<f64>,
    f: impl Fn(&[f64]) -> V,
    jvp: impl Fn(&[f64], &[f64]) -> (V, D),
    mut point_check: impl FnMut(&mut StdRng, &[f64], &[f64], &[f64]),
) {
    let mut r = rng(seed);
    let flat = |q: &[f64]| f(q).flat();
    let (mut checked, mut replaced) = (0, 0);
    while checked < POINTS {
        let p = sample(&mut r);
        let v = direction(&mut r, p.len());
        let (value, tangent) = jvp(&p, &v);
        let tangent = tangent.flat();
        point_check(&mut r, &p, &v, &tangent);
        if check_tangent(name, &p, &v, &flat, &value.flat(), &tangent) {
            checked += 1;
        } else {
            replaced += 1;
            assert!(replaced <= POINTS / 5, "{name}: finite differences jump at too many points");
        }
    }
}

/// `_jvp` alone: value bits and tangent against finite differences, at `POINTS` points.
#[track_caller]
pub fn check_forward<V: Flat, D: Flat>(
    name: &str,
    seed: u64,
    sample: impl Fn(&mut StdRng) -> Vec<f64>,
    f: impl Fn(&[f64]) -> V,
    jvp: impl Fn(&[f64], &[f64]) -> (V, D),
) {
    check_points(name, seed, sample, f, jvp, |_, _, _, _| {});
}

/// [`check_forward`], and at each point the duality with `vjp` for a cotangent in `[−2, 2)`
/// (whose value must be the original's bit for bit too).
#[track_caller]
pub fn check<V: Flat, D: Flat, G: Flat>(
    name: &str,
    seed: u64,
    sample: impl Fn(&mut StdRng) -> Vec<f64>,
    f: impl Fn(&[f64]) -> V,
    jvp: impl Fn(&[f64], &[f64]) -> (V, D),
    vjp: impl Fn(&[f64], &[f64]) -> (V, G),
) {
    let dual = |r: &mut StdRng, p: &[f64], v: &[f64], tangent: &[f64]| {
        let want = f(p).flat();
        let dout = point(r, want.len(), -2.0, 2.0);
        let (value, g) = vjp(p, &dout);
        assert_same_bits(&format!("{name} at {p:?}: _vjp value"), &value.flat(), &want);
        assert_dual(&format!("{name} at {p:?}"), v, tangent, &dout, &g.flat());
    };
    check_points(name, seed, sample, &f, jvp, dual);
}

/// Every mode of a function with a scalar value: [`check`] (`_jvp`, `_vjp`) with `seed` and
/// [`check_hvp`] (`_grad`, `_hvp`) with `seed + 1`, at points of `sample`.
#[track_caller]
#[allow(clippy::too_many_arguments)] // one closure per generated function, in the order of their use
pub fn check_every_mode<D: Flat, G: Flat>(
    name: &str,
    seed: u64,
    sample: impl Fn(&mut StdRng) -> Vec<f64>,
    f: impl Fn(&[f64]) -> f64,
    jvp: impl Fn(&[f64], &[f64]) -> (f64, D),
    vjp: impl Fn(&[f64], &[f64]) -> (f64, G),
    grad: impl Fn(&[f64]) -> (f64, G),
    hvp: impl Fn(&[f64], &[f64]) -> (f64, G, G),
) {
    check(name, seed, &sample, &f, jvp, vjp);
    check_hvp(name, seed + 1, &sample, &f, grad, hvp);
}

/// Points of `[lo, hi)^n`.
pub fn cube(n: usize, lo: f64, hi: f64) -> impl Fn(&mut StdRng) -> Vec<f64> {
    move |r| point(r, n, lo, hi)
}

/// At `POINTS` points from `sample`, along [`direction`]s `v` and `u`: `hvp`'s value is
/// `f`'s and its gradient `grad`'s, bit for bit; `H·v` matches finite differences of `grad` along
/// `v` (except within a step of a branch: at most one point in five); and `<u, H·v> = <v, H·u>`.
#[track_caller]
pub fn check_hvp<G: Flat>(
    name: &str,
    seed: u64,
    sample: impl Fn(&mut StdRng) -> Vec<f64>,
    f: impl Fn(&[f64]) -> f64,
    grad: impl Fn(&[f64]) -> (f64, G),
    hvp: impl Fn(&[f64], &[f64]) -> (f64, G, G),
) {
    check_gradient_field(name, seed, true, sample, f, |_, q| grad(q), hvp);
}

/// [`check_hvp`] for a gradient that may not be the derivative of the value (straight-through
/// estimators, `stop_gradient`): `H·v` at `p` against finite differences of `grad(p, ·)`, the
/// gradient with the values `stop_gradient` takes at `p` held, with `<u, Hv> = <v, Hu>` only
/// where `symmetric`.
pub fn check_gradient_field<G: Flat>(
    name: &str,
    seed: u64,
    symmetric: bool,
    sample: impl Fn(&mut StdRng) -> Vec<f64>,
    f: impl Fn(&[f64]) -> f64,
    grad: impl Fn(&[f64], &[f64]) -> (f64, G),
    hvp: impl Fn(&[f64], &[f64]) -> (f64, G, G),
) {
    let mut r = rng(seed);
    let (mut checked, mut replaced) = (0, 0);
    while checked < POINTS {
        let p = sample(&mut r);
        let gradient = |q: &[f64]| grad(&p, q).1.flat();
        let (v, u) = (direction(&mut r, p.len()), direction(&mut r, p.len()));
        let (value, g, hv) = hvp(&p, &v);
        assert_same_bits(&format!("{name} at {p:?}: _hvp value"), &[value], &[f(&p)]);
        let (g, hv, hu) = (g.flat(), hv.flat(), hvp(&p, &u).2.flat());
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(a, b)| a * b).sum::<f64>();
        if symmetric {
            assert_close(
                &format!("{name} at {p:?}: <u, Hv> vs <v, Hu>"),
                &[dot(&u, &hv)],
                &[dot(&v, &hu)],
                1e-12,
                1e-12,
            );
        }
        if check_tangent(&format!("{name}: gradient and H·v"), &p, &v, &gradient, &g, &hv) {
            checked += 1;
        } else {
            replaced += 1;
            assert!(replaced <= POINTS / 5, "{name}: finite differences jump at too many points");
        }
    }
}
