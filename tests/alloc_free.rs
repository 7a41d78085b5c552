//! Zero heap allocations in every generated gradient, `_jvp` and `_hvp`: a counting global
//! allocator, armed only around the calls on this thread.
#![deny(warnings)]
// The fixtures are written the way relax's language reads best: index loops.
#![allow(clippy::needless_range_loop)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use common::fns::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use relax::prelude::*;

struct Counting;

thread_local! {
    /// Whether allocations on this thread are counted, and how many were. Per thread, so that
    /// tests running in parallel do not see each other's allocations.
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

fn count_one() {
    if ARMED.with(Cell::get) {
        COUNT.with(|c| c.set(c.get() + 1));
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `f` on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    let before = COUNT.with(Cell::get);
    ARMED.with(|a| a.set(true));
    f();
    ARMED.with(|a| a.set(false));
    COUNT.with(Cell::get) - before
}

#[test]
fn the_counter_sees_allocations() {
    assert!(allocations(|| drop(std::hint::black_box(vec![1u8; 64]))) >= 1);
}

// -- version 0.2's control flow and methods --------------------------------------------------

/// Data of a differentiable method.
struct Model {
    scale: f64,
}

impl Model {
    /// A method whose loop stores and breaks on an active condition.
    #[differentiable]
    fn grow(&self, x: f64, a: [f64; 4]) -> f64 {
        let mut p = x;
        for i in 0..4 {
            p = p * a[i] * self.scale + x;
            if p > 4.0 {
                break;
            }
        }
        p
    }
}

/// A `while` of run-time length that stores, and samples, within `max_iter`.
#[differentiable(max_iter = 16)]
fn while_with_storage<R: Rng>(mu: f64, sigma: f64, n: usize, rng: &mut R) -> f64 {
    let mut p = mu;
    let mut k = 0;
    while k < n {
        p = p.sin() * sigma + normal_rsample(mu, sigma, rng) * 0.1;
        k += 1;
    }
    p
}

/// `match` statement and expression on data in a loop that stores.
#[differentiable]
fn match_in_loop(x: f64, modes: &[u8; 4]) -> f64 {
    let mut s = x;
    for i in 0..4 {
        let k = match modes[i] {
            0 => s * x,
            1 => s.sin(),
            _ => s + 1.0,
        };
        match modes[i] {
            2 => continue,
            _ => s = k * 0.5,
        }
    }
    s
}

/// `break 'outer` from an inner loop, both storing.
#[differentiable(wrt(x))]
fn labelled_break(x: [f64; 3], lim: f64) -> f64 {
    let mut s = 0.5;
    'outer: for i in 0..3 {
        for j in 0..3 {
            s = s * x[j] + x[i];
            if s > lim {
                break 'outer;
            }
        }
    }
    s
}

/// A nested parameter struct with a data field.
#[derive(Clone, Copy, Differentiable)]
struct Params {
    w: [f64; 3],
    head: Head,
    #[no_derivative]
    steps: usize,
}

#[derive(Clone, Copy, Differentiable)]
struct Head {
    a: f64,
    b: f64,
}

/// A struct in `wrt`, written in a loop that stores, and returned.
#[differentiable(wrt(p))]
fn struct_step(p: Params, x: &[f64; 3]) -> Params {
    let mut q = p;
    for i in 0..3 {
        q.w[i] = (q.w[i] * x[i] + q.head.b).tanh();
        q.head.a += q.w[i] * q.head.a;
    }
    q
}

/// A scalar of the struct returned by a call; the data field bounds an accumulation.
#[differentiable(wrt(p))]
fn struct_loss(p: Params, x: &[f64; 3]) -> f64 {
    let q = struct_step(p, x);
    let steps = stop_gradient(p.steps);
    let mut total = q.head.a * q.w[0];
    for k in 0..steps {
        total += q.w[k % 3] * Head { a: q.head.b, b: 0.5 }.a;
    }
    total
}

/// A slice in `wrt`, in a run-time loop that stores (under `max_iter`).
#[differentiable(wrt(c, x), max_iter = 32)]
fn slice_horner(c: &[f64], x: f64) -> f64 {
    let mut p = 0.0;
    for i in 0..c.len() {
        p = p * x + c[i];
    }
    p
}

/// One call of a generated gradient, reduced to a float.
type Gradient<'a> = Box<dyn FnMut() -> f64 + 'a>;

#[test]
fn generated_gradients_allocate_nothing() {
    let xs = [[0.5, -1.0, 0.2], [1.0, 0.3, -0.7], [-0.2, 0.8, 1.5], [0.0, -0.4, 0.9]];
    let (ys, data) = ([0.3, -0.2, 0.9, 0.1], [0.5, -1.0, 2.0, 0.25]);
    let (sx, sy) = ([0.1, 0.7, -1.3], [0.3, 0.2, -1.0]);
    let mut rng = StdRng::seed_from_u64(1);
    let mut walk_rng = StdRng::seed_from_u64(3);
    let x = 0.3;
    let params = Params { w: [0.5, -1.0, 0.25], head: Head { a: 1.5, b: -0.5 }, steps: 3 };
    let (coefficients, mut d_c) = ([0.5; 20], vec![f64::NAN; 20]);
    let calls: Vec<(&str, Gradient<'_>)> = vec![
        ("arith", Box::new(|| arith_grad(x, 0.7).0)),
        ("methods_a", Box::new(|| methods_a_grad(x, 0.2).0)),
        ("methods_b", Box::new(|| methods_b_grad(x, 0.3).0)),
        ("methods_c", Box::new(|| methods_c_grad(x, 0.1).1.0)),
        ("mutation", Box::new(|| mutation_grad(x, 1.2).0)),
        ("arrays", Box::new(|| arrays_vjp([x, 1.0, 2.0], [1.0, 0.5]).1[0])),
        ("matvec", Box::new(|| matvec_vjp([[x; 3]; 2], [1.0; 3], [1.0; 2]).1.1[0])),
        ("through_ref", Box::new(|| through_ref_grad(&[x, 1.0, 2.0], 0.5).0)),
        ("product", Box::new(|| product_grad([x; 5]).0)),
        ("logistic_map", Box::new(|| logistic_map_grad::<10>(3.0, 0.3).0)),
        ("for_each", Box::new(|| for_each_grad([x; 4], 0.5).0)),
        ("for_each_data", Box::new(|| for_each_data_grad(x, 0.1, &data).0)),
        ("slice_loss", Box::new(|| slice_loss_grad(x, 0.1, &sx, &sy).0)),
        ("branch_in_loop", Box::new(|| branch_in_loop_grad([x; 6], 0.5).0)),
        ("counter_in_loop", Box::new(|| counter_in_loop_grad([x; 4]).0)),
        ("branches", Box::new(|| branches_grad(x, 0.3).0)),
        ("early_return", Box::new(|| early_return_grad(x).0)),
        ("mse f64", Box::new(|| mse_grad([x; 4], 0.5).0)),
        ("mse f32", Box::new(|| mse_grad([x as f32; 3], 0.5).0 as f64)),
        ("tuple_let", Box::new(|| tuple_let_grad(x).0)),
        ("call_in_loop", Box::new(|| call_in_loop_grad([x; 3], &xs, &ys).0)),
        ("sample_in_loop", Box::new(|| sample_in_loop_grad(x, 0.5, &mut rng).0)),
        ("scalar_rules", Box::new(|| scalar_rules_grad(x, 0.8).0)),
        ("score", Box::new(|| score_grad(x, 0.1, 0.2, 0.3).0)),
        ("softmax_rules", Box::new(|| softmax_rules_grad([x, 0.1, 0.2, 0.3], 0.7).0)),
        ("straight_through_rules", Box::new(|| straight_through_rules_grad([x, 0.1, 0.2, 0.3], 0.7).0)),
        ("gumbel_rules", Box::new(|| gumbel_rules_grad([x; 4], [0.1; 4], 0.5).0)),
        ("st_gumbel_rules", Box::new(|| st_gumbel_rules_grad([x; 4], [0.1, 0.2, 0.3, 0.4], 0.5).0)),
        ("Model::grow", Box::new(|| Model { scale: 1.2 }.grow_grad(x, [3.0; 4]).1.0)),
        ("while_with_storage", Box::new(|| while_with_storage_grad(x, 0.5, 16, &mut walk_rng).1.0)),
        ("match_in_loop", Box::new(|| match_in_loop_grad(x, &[0, 2, 1, 3]).1)),
        ("labelled_break", Box::new(|| labelled_break_grad([x, 1.5, 2.0], 1.0).1[0])),
        ("struct_loss", Box::new(|| struct_loss_grad(params, &[x, 0.5, 1.0]).1.head.a)),
        ("struct_step_vjp", Box::new(|| struct_step_vjp(params, &[x, 0.5, 1.0], params).1.w[1])),
        ("struct_step_jvp", Box::new(|| struct_step_jvp(params, &[x, 0.5, 1.0], params).1.w[1])),
        ("slice_horner", Box::new(move || slice_horner_grad(&coefficients, x, &mut d_c).1)),
    ];
    for (name, mut f) in calls {
        let n = allocations(|| _ = std::hint::black_box(f()));
        assert_eq!(n, 0, "{name}_grad allocated {n} times");
    }
    let mut rng = StdRng::seed_from_u64(2);
    let n = allocations(|| _ = std::hint::black_box(sampled_rules_grad([x; 4], 0.5, 0.2, &mut rng).0));
    assert_eq!(n, 0, "sampled_rules_grad allocated {n} times");
}

// -- forward mode and second order ------------------------------------------------------------

/// A loop that stores, rules with curvature, a branch.
#[differentiable(hvp)]
fn curvature(x: [f64; 4], t: f64) -> f64 {
    let mut p = 1.0;
    for i in 0..4 {
        p *= 1.0 + 0.5 * x[i].tanh();
    }
    let s = if x[0] > 0.0 { softplus(x[1] * t) } else { huber(x[2], 0.5) };
    p * s + logsumexp(x, t) + softmax(x, t)[1]
}

/// Composition of `hvp` functions, generic, sampling.
#[differentiable(hvp)]
fn composed_curvature<T: Real, R: Rng>(x: [T; 4], t: T, rng: &mut R) -> T {
    let z = normal_rsample(x[0], t, rng);
    z * x[1] + sigmoid(x[2] * x[3])
}

#[differentiable(hvp)]
fn outer_curvature(x: [f64; 4], t: f64, rng: &mut StdRng) -> f64 {
    curvature(x, t) * composed_curvature(x, t, rng)
}

/// A parameter struct generic over its float type, in `wrt` of a function with `hvp`.
#[derive(Clone, Copy, Differentiable)]
struct Stiffness<T: Real> {
    k: [T; 3],
    #[no_derivative]
    rounds: usize,
}

#[differentiable(hvp, wrt(s))]
fn stiff_energy<T: Real>(s: Stiffness<T>, x: &[T; 3]) -> T {
    let mut e = s.k[0] * s.k[1];
    for i in 0..3 {
        e += s.k[i] * x[i] * x[i] * (s.k[i] * x[i]).tanh();
    }
    e
}

#[test]
fn forward_mode_and_hessian_vector_products_allocate_nothing() {
    let xs = [[0.5, -1.0, 0.2], [1.0, 0.3, -0.7], [-0.2, 0.8, 1.5], [0.0, -0.4, 0.9]];
    let ys = [0.3, -0.2, 0.9, 0.1];
    let (sx, sy) = ([0.1, 0.7, -1.3], [0.3, 0.2, -1.0]);
    let mut rng = StdRng::seed_from_u64(1);
    let mut walk_rng = StdRng::seed_from_u64(3);
    let (mut hvp_rng, mut outer_rng) = (StdRng::seed_from_u64(4), StdRng::seed_from_u64(5));
    let x = 0.3;
    let calls: Vec<(&str, Gradient<'_>)> = vec![
        ("arith_jvp", Box::new(|| arith_jvp(x, 0.7, (1.0, 0.5)).1)),
        ("methods_a_jvp", Box::new(|| methods_a_jvp(x, 0.2, (1.0, 0.5)).1)),
        ("methods_b_jvp", Box::new(|| methods_b_jvp(x, 0.3, (1.0, 0.5)).1)),
        ("methods_c_jvp", Box::new(|| methods_c_jvp(x, 0.1, (1.0, 0.5)).1)),
        ("matvec_jvp", Box::new(|| matvec_jvp([[x; 3]; 2], [1.0; 3], ([[1.0; 3]; 2], [0.5; 3])).1[0])),
        ("outer_product_jvp", Box::new(|| outer_product_jvp([x; 3], [1.0; 2], ([1.0; 3], [0.5; 2])).1[2][1])),
        ("through_ref_jvp", Box::new(|| through_ref_jvp(&[x, 1.0, 2.0], 0.5, [1.0; 3]).1)),
        ("product_jvp", Box::new(|| product_jvp([x; 5], [1.0; 5]).1)),
        ("logistic_map_jvp", Box::new(|| logistic_map_jvp::<10>(3.0, 0.3, (1.0, 0.5)).1)),
        ("slice_loss_jvp", Box::new(|| slice_loss_jvp(x, 0.1, &sx, &sy, (1.0, 0.5)).1)),
        ("branch_in_loop_jvp", Box::new(|| branch_in_loop_jvp([x; 6], 0.5, ([1.0; 6], 0.5)).1)),
        ("first_above_jvp", Box::new(|| first_above_jvp([x; 6], 0.2, ([1.0; 6], 0.5)).1)),
        ("mse_jvp f32", Box::new(|| mse_jvp([x as f32; 3], 0.5, ([1.0; 3], 0.5)).1 as f64)),
        ("composed_shapes_jvp", Box::new(|| composed_shapes_jvp([x, 0.5, 1.0], [1.0; 3]).1)),
        ("call_in_loop_jvp", Box::new(|| call_in_loop_jvp([x; 3], &xs, &ys, [1.0; 3]).1)),
        ("sample_in_loop_jvp", Box::new(|| sample_in_loop_jvp(x, 0.5, &mut rng, (1.0, 0.5)).1)),
        ("scalar_rules_jvp", Box::new(|| scalar_rules_jvp(x, 0.8, (1.0, 0.5)).1)),
        ("softmax_rules_jvp", Box::new(|| softmax_rules_jvp([x, 0.1, 0.2, 0.3], 0.7, ([1.0; 4], 0.5)).1)),
        (
            "straight_through_rules_jvp",
            Box::new(|| straight_through_rules_jvp([x, 0.1, 0.2, 0.3], 0.7, ([1.0; 4], 0.5)).1),
        ),
        ("Model::grow_jvp", Box::new(|| Model { scale: 1.2 }.grow_jvp(x, [3.0; 4], (1.0, [0.5; 4])).1)),
        (
            "while_with_storage_jvp past max_iter",
            Box::new(|| while_with_storage_jvp(x, 0.5, 64, &mut walk_rng, (1.0, 0.5)).1),
        ),
        ("match_in_loop_jvp", Box::new(|| match_in_loop_jvp(x, &[0, 2, 1, 3], 1.0).1)),
        ("labelled_break_jvp", Box::new(|| labelled_break_jvp([x, 1.5, 2.0], 1.0, [1.0; 3]).1)),
        ("curvature_hvp", Box::new(|| curvature_hvp([x, 0.1, -0.4, 0.8], 0.7, ([1.0; 4], 0.5)).2.1)),
        (
            "composed_curvature_hvp f32",
            Box::new(|| composed_curvature_hvp([x as f32; 4], 0.7, &mut hvp_rng, ([1.0; 4], 0.5)).2.1 as f64),
        ),
        (
            "stiff_energy_hvp f32",
            Box::new(|| {
                let s = Stiffness { k: [x as f32, 0.5, -0.2], rounds: 2 };
                stiff_energy_hvp(s, &[0.3, -0.1, 0.7], Stiffness { k: [1.0; 3], rounds: 0 }).2.k[1] as f64
            }),
        ),
        (
            "outer_curvature_hvp",
            Box::new(|| outer_curvature_hvp([x, 0.1, -0.4, 0.8], 0.7, &mut outer_rng, ([1.0; 4], 0.5)).2.1),
        ),
    ];
    for (name, mut f) in calls {
        let n = allocations(|| _ = std::hint::black_box(f()));
        assert_eq!(n, 0, "{name} allocated {n} times");
    }
}

/// A callee with `jacobian` in a loop that stores (its pullbacks are kept per iteration and
/// cloned per row), and more rows than are written out.
#[differentiable(jacobian)]
fn spin(a: f64, p: [f64; 2]) -> [f64; 2] {
    let (s, c) = (a.sin(), a.cos());
    [c * p[0] - s * p[1], s * p[0] + c * p[1]]
}

#[differentiable(jacobian)]
fn spun(a: [f64; 3], p: [f64; 2]) -> [f64; 5] {
    let mut q = p;
    for k in 0..3 {
        q = spin(a[k], q);
        q[1] = q[1].tanh();
    }
    [q[0], q[1], q[0] * q[1], a[0], sigmoid(a[1] + a[2])]
}

#[test]
fn jacobians_allocate_nothing() {
    let calls: Vec<(&str, Gradient<'_>)> = vec![
        ("spin_jacobian", Box::new(|| spin_jacobian(0.4, [1.0, -0.5]).1[1].0)),
        ("spun_jacobian", Box::new(|| spun_jacobian([0.4, -0.2, 0.9], [1.0, -0.5]).1[4].0[2])),
    ];
    for (name, mut f) in calls {
        let n = allocations(|| _ = std::hint::black_box(f()));
        assert_eq!(n, 0, "{name} allocated {n} times");
    }
}
