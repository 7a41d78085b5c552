//! The generated functions wherever the function sits: at the top of the file, in a `mod`, in an
//! inherent `impl` (with and without a receiver), in an `impl` or a module a `macro_rules!` writes,
//! with a name a macro passes in. Where the attribute can tell (a file's items, a `mod`'s, an
//! `impl`'s), `NAME_grad` and `NAME_jvp` call `NAME_vjp` and `NAME__jvp`; elsewhere they hold
//! their own copies. Either way: `NAME_grad` is `NAME_vjp` with cotangent one, bit for bit, the
//! gradient matches finite differences, and `NAME_jvp` agrees with it (`<1, J·v> = <∇f, v>`).
#![deny(warnings)]
mod common;
use common::*;
use relax::prelude::*;

#[differentiable]
fn top(x: f64, y: f64) -> f64 {
    (x * y).sin() + x.exp() * 0.5
}

mod inner {
    use relax::prelude::*;

    #[differentiable(wrt(y, x))]
    pub fn reordered(x: f64, k: f64, y: [f64; 2]) -> f64 {
        x * y[0] * y[1] + k * (x - y[1]).tanh()
    }

    #[differentiable]
    pub fn generic<T: Real, const N: usize>(x: [T; N], t: T) -> T {
        logsumexp(x, t) * t
    }
}

struct Spring {
    rest: f64,
}

impl Spring {
    #[differentiable]
    fn energy(k: f64, x: f64) -> f64 {
        0.5 * k * x * x
    }

    #[differentiable]
    fn stretched(&self, k: f64, x: f64) -> f64 {
        Self::energy(k, x - self.rest) + self.tension(x)
    }

    #[differentiable]
    fn tension(&self, x: f64) -> f64 {
        (x - self.rest).abs() * 0.1
    }
}

macro_rules! spring_impl {
    ($ty:ident, $name:ident) => {
        struct $ty;
        impl $ty {
            #[differentiable]
            fn $name(k: f64, x: f64) -> f64 {
                0.5 * k * x * x * x
            }

            #[differentiable]
            fn literal(k: f64, x: f64) -> f64 {
                k.exp() * x
            }
        }
    };
}
spring_impl!(Cubic, cubic);

macro_rules! free_fn {
    ($name:ident) => {
        #[differentiable]
        fn $name(x: f64, y: f64) -> f64 {
            x.powi(3) - y * x
        }
    };
}
free_fn!(from_macro);

// A generic function a macro writes: its split form returns the pullback (the attribute cannot
// name its sweeps), and takes the type of the sweeps' end all the same, which a caller's
// turbofish leaves to inference.
macro_rules! generic_fn {
    ($name:ident) => {
        #[differentiable]
        fn $name<T: Real, const N: usize>(x: [T; N], s: T) -> T {
            let mut total = s * s;
            for i in 0..N {
                total += (x[i] * s).sin();
            }
            total
        }
    };
}
generic_fn!(macro_generic);

#[differentiable]
fn calls_macro_generic(x: [f64; 3], s: f64) -> f64 {
    macro_generic::<f64, 3>(x, s) * s
}

/// `grad` is `vjp` with cotangent one bit for bit, matches finite differences of `f`, and `jvp`
/// along a random direction agrees with it.
fn check(
    name: &str,
    n: usize,
    f: impl Fn(&[f64]) -> f64,
    grad: impl Fn(&[f64]) -> (f64, Vec<f64>),
    vjp: impl Fn(&[f64]) -> (f64, Vec<f64>),
    jvp: impl Fn(&[f64], &[f64]) -> (f64, f64),
) {
    let mut r = rng(7);
    for _ in 0..100 {
        let p = point(&mut r, n, -1.5, 1.5);
        let ((v, g), (vv, gv)) = (grad(&p), vjp(&p));
        assert_same_bits(
            &format!("{name}_grad against {name}_vjp"),
            &[&[v][..], &g].concat(),
            &[&[vv][..], &gv].concat(),
        );
        assert_same_bits(&format!("{name} value"), &[v], &[f(&p)]);
        assert_grad(name, &g, &fd(&f, &p));
        let d = direction(&mut r, n);
        let (vj, jv) = jvp(&p, &d);
        assert_same_bits(&format!("{name}_jvp value"), &[vj], &[v]);
        assert_dual(&format!("{name}_jvp"), &d, &[jv], &[1.0], &g);
    }
}

/// [`check`] for a function of two floats and its generated functions.
fn check_pair(
    name: &str,
    f: impl Fn(f64, f64) -> f64,
    grad: impl Fn(f64, f64) -> (f64, (f64, f64)),
    vjp: impl Fn(f64, f64, f64) -> (f64, (f64, f64)),
    jvp: impl Fn(f64, f64, (f64, f64)) -> (f64, f64),
) {
    let pair = |(v, (a, b)): (f64, (f64, f64))| (v, vec![a, b]);
    check(
        name,
        2,
        |p| f(p[0], p[1]),
        |p| pair(grad(p[0], p[1])),
        |p| pair(vjp(p[0], p[1], 1.0)),
        |p, d| jvp(p[0], p[1], (d[0], d[1])),
    );
}

#[test]
fn at_the_top_of_the_file() {
    check_pair("top", top, top_grad, top_vjp, top_jvp);
    check_pair("from_macro", from_macro, from_macro_grad, from_macro_vjp, from_macro_jvp);
}

#[test]
fn calling_a_generic_function_a_macro_writes_with_a_turbofish() {
    let flat = |(v, (dx, ds)): (f64, ([f64; 3], f64))| (v, vec![dx[0], dx[1], dx[2], ds]);
    check(
        "calls_macro_generic",
        4,
        |p| calls_macro_generic([p[0], p[1], p[2]], p[3]),
        |p| flat(calls_macro_generic_grad([p[0], p[1], p[2]], p[3])),
        |p| flat(calls_macro_generic_vjp([p[0], p[1], p[2]], p[3], 1.0)),
        |p, d| calls_macro_generic_jvp([p[0], p[1], p[2]], p[3], ([d[0], d[1], d[2]], d[3])),
    );
}

#[test]
fn in_a_module() {
    // `wrt(y, x)`: the gradient and the tangent are `(dy, dx)`; `k` is held.
    let k = 0.7;
    let flat = |(v, (dy, dx)): (f64, ([f64; 2], f64))| (v, vec![dy[0], dy[1], dx]);
    check(
        "reordered",
        3,
        |p| inner::reordered(p[2], k, [p[0], p[1]]),
        |p| flat(inner::reordered_grad(p[2], k, [p[0], p[1]])),
        |p| flat(inner::reordered_vjp(p[2], k, [p[0], p[1]], 1.0)),
        |p, d| inner::reordered_jvp(p[2], k, [p[0], p[1]], ([d[0], d[1]], d[2])),
    );
    check(
        "generic",
        4,
        |p| inner::generic([p[0], p[1], p[2]], p[3].abs() + 0.2),
        |p| {
            let (v, (dx, dt)) = inner::generic_grad([p[0], p[1], p[2]], p[3].abs() + 0.2);
            (v, vec![dx[0], dx[1], dx[2], dt * p[3].signum()])
        },
        |p| {
            let (v, (dx, dt)) = inner::generic_vjp([p[0], p[1], p[2]], p[3].abs() + 0.2, 1.0);
            (v, vec![dx[0], dx[1], dx[2], dt * p[3].signum()])
        },
        |p, d| inner::generic_jvp([p[0], p[1], p[2]], p[3].abs() + 0.2, ([d[0], d[1], d[2]], d[3] * p[3].signum())),
    );
    let (v32, (g32, _)) = inner::generic_grad([0.5_f32, -1.0], 0.8);
    let (v64, (g64, _)) = inner::generic_grad([0.5_f64, -1.0], 0.8);
    assert!((f64::from(v32) - v64).abs() < 1e-6 && (f64::from(g32[0]) - g64[0]).abs() < 1e-6);
}

#[test]
fn in_impl_blocks() {
    check_pair("Spring::energy", Spring::energy, Spring::energy_grad, Spring::energy_vjp, Spring::energy_jvp);
    let s = Spring { rest: 0.3 };
    check_pair(
        "Spring::stretched",
        |k, x| s.stretched(k, x),
        |k, x| s.stretched_grad(k, x),
        |k, x, d| s.stretched_vjp(k, x, d),
        |k, x, t| s.stretched_jvp(k, x, t),
    );
    check_pair("Cubic::cubic", Cubic::cubic, Cubic::cubic_grad, Cubic::cubic_vjp, Cubic::cubic_jvp);
    check_pair("Cubic::literal", Cubic::literal, Cubic::literal_grad, Cubic::literal_vjp, Cubic::literal_jvp);
}
