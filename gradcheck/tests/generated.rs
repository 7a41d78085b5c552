//! Every generated function: the value of `_grad` is the original's bit for bit, and the gradient
//! agrees with central finite differences at random points; `_jvp` keeps the value and agrees
//! with `_vjp`; `_hvp` keeps the value and the gradient, and its `H·v` agrees with finite
//! differences of the gradient; those with `jacobian` run their pullbacks in lanes for a caller's rows. Every
//! generated `relaxed` function: its relaxation tends to it as t → 0, and straight-through keeps
//! its value.

use relax_testkit::{assert_close_to_fd, fd, fd_along, fd_with_step};

/// A point in [−1.5, 1.5)^5 from a counter (no RNG dependency needed here).
fn point(k: u64) -> [f64; 5] {
    let mut s = k.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    core::array::from_fn(|_| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64 * 3.0 - 1.5
    })
}

/// Richardson's extrapolation of central differences at steps `h` and `h/2`: `(4·fd_half − fd)/3`,
/// whose error is O(h⁴) where each one's is O(h²). A generated function can be curved on the
/// step's scale (a relaxed one at a moderate temperature, say), where the error of `fd` alone
/// exceeds the comparison's tolerance even though `fd` and `fd_half` agree to 1e-4.
fn extrapolated(fd: &[f64], fd_half: &[f64]) -> Vec<f64> {
    fd.iter().zip(fd_half).map(|(a, b)| (4.0 * b - a) / 3.0).collect()
}

#[test]
fn generated_functions_match_finite_differences() {
    let mut checked = 0;
    for (name, f, grad) in relax_gradcheck::FUNCTIONS {
        let eval = |p: &[f64]| f([p[0], p[1], p[2], p[3]], p[4]);
        for k in 0..20 {
            let p = point(k + 1);
            let (v, (gx, ga)) = grad([p[0], p[1], p[2], p[3]], p[4]);
            let want = eval(&p);
            assert!(
                v.to_bits() == want.to_bits() || (v.is_nan() && want.is_nan()),
                "{name} at {p:?}: value {v} vs {want}"
            );
            let g = [gx[0], gx[1], gx[2], gx[3], ga];
            // Where a generated function grows huge (repeated doubling in nested loops), finite
            // differences lose the digits the comparison needs: such points are not checked.
            if want.abs() > 1e6 || g.iter().any(|v| v.abs() > 1e6) {
                continue;
            }
            let fd = fd(eval, &p);
            // A branch or a kink within a step of the point makes finite differences meaningless:
            // skip points where they disagree with themselves at half the step.
            let fd_half = fd_with_step(eval, &p, 0.5e-6);
            if (0..5).any(|i| (fd[i] - fd_half[i]).abs() > 1e-4 * (1.0 + fd[i].abs())) {
                continue;
            }
            assert_close_to_fd(&format!("{name} at {p:?}"), &g, &extrapolated(&fd, &fd_half), 1e-5, 1e-7);
            checked += 1;
        }
    }
    assert!(checked > relax_gradcheck::FUNCTIONS.len() * 15, "only {checked} points were away from branches and kinks");
}

/// The generic functions at f32: `_grad`'s value is the original's bit for bit.
#[test]
fn generic_functions_at_f32_keep_their_values() {
    for (name, f, grad) in relax_gradcheck::FUNCTIONS_F32 {
        for k in 0..20 {
            let p = point(k + 1).map(|v| v as f32);
            let (v, _) = grad([p[0], p[1], p[2], p[3]], p[4]);
            let want = f([p[0], p[1], p[2], p[3]], p[4]);
            assert!(
                v.to_bits() == want.to_bits() || (v.is_nan() && want.is_nan()),
                "{name}::<f32> at {p:?}: value {v} vs {want}"
            );
        }
    }
}

/// Every generated function in forward mode, at 20 points with random directions and cotangents:
/// `_jvp`'s and `_vjp`'s values are the original's bit for bit, and they agree,
/// `<dout, J·v> = <Jᵀ·dout, v>` (to rounding; `_vjp` itself is checked against finite differences
/// above).
#[test]
fn jvp_agrees_with_vjp_and_keeps_the_value() {
    for (name, f, jvp, vjp) in relax_gradcheck::FORWARD {
        for k in 0..20 {
            let (p, q) = (point(k + 1), point(k + 1000));
            let (x, a) = ([p[0], p[1], p[2], p[3]], p[4]);
            let (dx, da, dout) = ([q[0], q[1], q[2], q[3]], q[4], q[0] - q[1]);
            let want = f(x, a);
            let ((value, tangent), (vjp_value, (gx, ga))) = (jvp(x, a, (dx, da)), vjp(x, a, dout));
            for v in [value, vjp_value] {
                assert!(
                    v.to_bits() == want.to_bits() || (v.is_nan() && want.is_nan()),
                    "{name} at {p:?}: value {v} vs {want}"
                );
            }
            // A value that overflowed (repeated squaring in nested loops) has no derivative for
            // the two modes to agree on: a zero tangent times the infinite value is NaN in
            // forward mode, where reverse mode may route a finite cotangent around it.
            if !want.is_finite() {
                continue;
            }
            let terms = [dout * tangent, gx[0] * dx[0], gx[1] * dx[1], gx[2] * dx[2], gx[3] * dx[3], ga * da];
            let backward: f64 = terms[1..].iter().sum();
            let size = terms.iter().map(|t| t.abs()).sum::<f64>() + dout.abs() * q.iter().map(|v| v.abs()).sum::<f64>();
            assert!(
                (terms[0] - backward).abs() <= 1e-12 * size,
                "{name} at {p:?} along {q:?}, dout {dout}: <dout, Jv> = {:e}, <J^T dout, v> = {backward:e}",
                terms[0]
            );
        }
    }
}

/// Every generated function in second order (all but the `relaxed` ones with hard operations),
/// at 20 points with random directions: `_hvp`'s value is the original's and its gradient
/// `_grad`'s, bit for bit;
/// `H·v` agrees with finite differences of `_grad` along `v` (where they agree with themselves at
/// half the step) and `<u, H·v> = <v, H·u>` (a Hessian is symmetric).
#[test]
fn hvp_matches_finite_differences_of_the_gradient() {
    on_large_stack(check_hvp);
}

/// Runs `check` in a thread of 16 MB of stack: unoptimised (`cargo test`'s debug build), the
/// largest functions' sweeps on duals, and their adjoints in lanes, keep more than a test
/// thread's 2 MB (4 MB suffice; optimised, 2 MB do).
fn on_large_stack(check: fn()) {
    let checks = std::thread::Builder::new().stack_size(16 << 20).spawn(check).expect("a thread");
    checks.join().expect("the checks pass");
}

fn check_hvp() {
    let mut checked = 0;
    for (name, f, grad, hvp) in relax_gradcheck::HESSIAN {
        let flat = |g: ([f64; 4], f64)| [g.0[0], g.0[1], g.0[2], g.0[3], g.1];
        let split = |q: &[f64]| ([q[0], q[1], q[2], q[3]], q[4]);
        let gradient = |q: &[f64]| flat(grad(split(q).0, q[4]).1).to_vec();
        for k in 0..20 {
            let (p, v, u) = (point(k + 1), point(k + 2000), point(k + 3000));
            let (x, a) = split(&p);
            let (value, g, hv) = hvp(x, a, split(&v));
            let (want, want_g) = (f(x, a), grad(x, a).1);
            for (what, got, want) in
                [("value", [value].to_vec(), [want].to_vec()), ("gradient", flat(g).to_vec(), flat(want_g).to_vec())]
            {
                assert!(
                    got.iter().zip(&want).all(|(g, w)| g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan())),
                    "{name} at {p:?}: _hvp {what} {got:?} vs {want:?}"
                );
            }
            let (hv, hu) = (flat(hv), flat(hvp(x, a, split(&u)).2));
            if want.abs() > 1e6 || hv.iter().chain(&flat(g)).any(|h| !h.is_finite() || h.abs() > 1e6) {
                continue;
            }
            let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(a, b)| a * b).sum::<f64>();
            let (uhv, vhu) = (dot(&u, &hv), dot(&v, &hu));
            let size = u.iter().zip(&hv).chain(v.iter().zip(&hu)).map(|(a, b)| (a * b).abs()).sum::<f64>();
            assert!((uhv - vhu).abs() <= 1e-9 * (1.0 + size), "{name} at {p:?}: <u, Hv> = {uhv:e}, <v, Hu> = {vhu:e}");
            let fd = fd_along(&gradient, &p, &v);
            let half: Vec<f64> = v.iter().map(|x| 0.5 * x).collect();
            let fd_half: Vec<f64> = fd_along(&gradient, &p, &half).iter().map(|x| 2.0 * x).collect();
            if fd.iter().zip(&fd_half).any(|(a, b)| (a - b).abs() > 1e-4 * (1.0 + a.abs())) {
                continue;
            }
            assert_close_to_fd(
                &format!("{name} at {p:?} along {v:?}: H·v"),
                &hv,
                &extrapolated(&fd, &fd_half),
                1e-5,
                1e-6,
            );
            checked += 1;
        }
    }
    assert!(checked > relax_gradcheck::HESSIAN.len() * 15, "only {checked} points were away from branches and kinks");
}

/// The callers of the functions with `jacobian` (`rows{k}`: the callee at `(x, a)` and at
/// `(reversed x, a/2)`), whose two rows run the callee's pullback in lanes: each row is the
/// caller's `_vjp` of its unit cotangent bit for bit, and the callee's gradient (checked against
/// finite differences above) by the chain rule.
#[test]
fn jacobian_rows_run_pullbacks_in_lanes() {
    on_large_stack(check_rows);
}

fn check_rows() {
    assert!(relax_gradcheck::ROWS.len() >= 10, "only {} callers", relax_gradcheck::ROWS.len());
    for (name, grad, jacobian, vjp) in relax_gradcheck::ROWS {
        for k in 0..20 {
            let p = point(k + 1);
            let (x, a) = ([p[0], p[1], p[2], p[3]], p[4]);
            let (value, rows) = jacobian(x, a);
            for (i, e) in [[1.0, -0.0], [-0.0, 1.0]].into_iter().enumerate() {
                let (v, (gx, ga)) = vjp(x, a, e);
                let bits = |w: &[f64]| w.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&value), bits(&v), "{name} at {p:?}: value");
                assert_eq!(bits(&rows[i].0), bits(&gx), "{name} at {p:?}: row {i} against _vjp");
                assert_eq!(rows[i].1.to_bits(), ga.to_bits(), "{name} at {p:?}: row {i} against _vjp");
            }
            let (_, (gx, ga)) = grad(x, a);
            let (_, (hx, ha)) = grad([x[3], x[2], x[1], x[0]], 0.5 * a);
            let want = [[gx[0], gx[1], gx[2], gx[3], ga], [hx[3], hx[2], hx[1], hx[0], 0.5 * ha]];
            for (i, want) in want.iter().enumerate() {
                let row = [rows[i].0[0], rows[i].0[1], rows[i].0[2], rows[i].0[3], rows[i].1];
                for (r, w) in row.iter().zip(want) {
                    let same = r == w || (r.is_nan() && w.is_nan()) || (r - w).abs() <= 1e-12 * w.abs();
                    assert!(same, "{name} at {p:?}: row {i} {row:?}, the callee's gradient {want:?}");
                }
            }
        }
    }
}

/// The generic functions at f32: `_jvp`'s value is the original's bit for bit.
#[test]
fn generic_jvp_at_f32_keeps_the_value() {
    for (name, f, jvp, _) in relax_gradcheck::FORWARD_F32 {
        for k in 0..20 {
            let (p, q) = (point(k + 1).map(|v| v as f32), point(k + 1000).map(|v| v as f32));
            let (value, _) = jvp([p[0], p[1], p[2], p[3]], p[4], ([q[0], q[1], q[2], q[3]], q[4]));
            let want = f([p[0], p[1], p[2], p[3]], p[4]);
            assert!(
                value.to_bits() == want.to_bits() || (value.is_nan() && want.is_nan()),
                "{name}::<f32> at {p:?}: _jvp value {value} vs {want}"
            );
        }
    }
}

/// Every `relaxed` function (hard operations: rounding, comparisons made numbers, `argmax`,
/// `max`, `abs`, `if` on active values …) at 20 points:
/// - straight-through: `_st_grad`'s value is the original's bit for bit and its gradient is
///   `_relaxed_grad`'s, at temperatures from 1e-12 to 1e3; the relaxed value is finite wherever
///   the original is, and so is the gradient wherever it is at t = 0.5;
/// - `_relaxed_grad`'s value is `_relaxed`'s bit for bit, its gradient agrees with finite
///   differences of `_relaxed` (at t = 0.5, where the relaxed function is smooth on the step's
///   scale) and with `_relaxed_jvp` (`<dout, J·v> = <Jᵀ·dout, v>`);
/// - where the original is flat in a coordinate (its finite differences vanish), the relaxed
///   gradient often is not;
/// - as t → 0 the relaxed value tends to the original's, the error shrinking in proportion to t
///   (or faster) from 1e-3 to 1e-5 to 1e-7, at all points but those within reach of a tie or a
///   kink (at most one in ten).
#[test]
fn relaxed_functions_tend_to_the_original_and_keep_it_straight_through() {
    let (mut converging, mut points, mut checked, mut revived) = (0, 0, 0, 0);
    for (name, f, relaxed, relaxed_grad, st_grad, relaxed_jvp, relaxed_vjp) in relax_gradcheck::RELAXED {
        for k in 0..20 {
            let (p, q) = (point(k + 1), point(k + 1000));
            let (x, a) = ([p[0], p[1], p[2], p[3]], p[4]);
            let want = f(x, a);
            let flat = |(gx, ga): ([f64; 4], f64)| [gx[0], gx[1], gx[2], gx[3], ga].map(f64::to_bits);
            // A generated program may overflow a value its result does not depend on: its
            // gradient is then 0·∞, NaN, at every temperature. The temperature must not add any.
            let moderate = flat(relaxed_grad(x, a, 0.5).1).iter().all(|&g| f64::from_bits(g).is_finite());
            for t in [1e-12, 1e-6, 1e-3, 0.5, 1e3] {
                let (st_value, st_gradient) = st_grad(x, a, t);
                let (value, gradient) = relaxed_grad(x, a, t);
                assert!(
                    st_value.to_bits() == want.to_bits() || (st_value.is_nan() && want.is_nan()),
                    "{name} at {p:?}, t = {t}: _st_grad's value {st_value} vs {want}"
                );
                assert_eq!(
                    flat(st_gradient),
                    flat(gradient),
                    "{name} at {p:?}, t = {t}: _st_grad's gradient is _relaxed_grad's"
                );
                assert_eq!(
                    value.to_bits(),
                    relaxed(x, a, t).to_bits(),
                    "{name} at {p:?}, t = {t}: _relaxed_grad's value"
                );
                if want.is_finite() {
                    let g = flat(gradient).map(f64::from_bits);
                    assert!(
                        value.is_finite() && (!moderate || g.iter().all(|v| v.is_finite())),
                        "{name} at {p:?}, t = {t}: relaxed value {value}, gradient {g:?}"
                    );
                }
            }
            if !want.is_finite() || want.abs() > 1e6 || !moderate {
                continue;
            }
            points += 1;
            let err = |t: f64| (relaxed(x, a, t) - want).abs();
            let floor = 1e-13 * (1.0 + want.abs());
            let (e3, e5, e7) = (err(1e-3), err(1e-5), err(1e-7));
            if e5 <= 0.05 * e3 + floor && e7 <= 0.05 * e5 + floor {
                converging += 1;
            }
            // The relaxed function at t = 0.5 against finite differences and forward mode.
            let smooth = |p: &[f64]| relaxed([p[0], p[1], p[2], p[3]], p[4], 0.5);
            let (_, (gx, ga)) = relaxed_grad(x, a, 0.5);
            let g = [gx[0], gx[1], gx[2], gx[3], ga];
            // Where the hard function is flat in a coordinate (its finite differences vanish), the
            // relaxed gradient is not, somewhere.
            let hard = |p: &[f64]| f([p[0], p[1], p[2], p[3]], p[4]);
            let flat_hard = fd(hard, &p);
            revived += (0..5).filter(|&i| flat_hard[i] == 0.0 && g[i] != 0.0).count();
            let fd = fd(smooth, &p);
            let fd_half = fd_with_step(smooth, &p, 0.5e-6);
            if g.iter().all(|v| v.abs() < 1e6)
                && (0..5).all(|i| (fd[i] - fd_half[i]).abs() <= 1e-4 * (1.0 + fd[i].abs()))
            {
                assert_close_to_fd(&format!("{name}_relaxed at {p:?}"), &g, &extrapolated(&fd, &fd_half), 1e-5, 1e-7);
                checked += 1;
            }
            let (dx, da, dout) = ([q[0], q[1], q[2], q[3]], q[4], q[0] - q[1]);
            let ((_, tangent), (_, (vx, va))) = (relaxed_jvp(x, a, 0.5, (dx, da)), relaxed_vjp(x, a, 0.5, dout));
            let terms = [dout * tangent, vx[0] * dx[0], vx[1] * dx[1], vx[2] * dx[2], vx[3] * dx[3], va * da];
            let backward: f64 = terms[1..].iter().sum();
            let size = terms.iter().map(|t| t.abs()).sum::<f64>() + dout.abs() * q.iter().map(|v| v.abs()).sum::<f64>();
            assert!((terms[0] - backward).abs() <= 1e-12 * size, "{name}_relaxed at {p:?}: _jvp and _vjp disagree");
        }
    }
    assert!(converging * 10 >= points * 9, "only {converging} of {points} points converge as t -> 0");
    assert!(checked * 10 >= points * 8, "only {checked} of {points} points were checked against finite differences");
    // Hard operations are a part of each function: a tenth of the points is a floor far below
    // what the default seed gives (523 coordinates at 800 points).
    assert!(revived * 10 >= points, "the relaxed gradient revived only {revived} flat coordinates at {points} points");
}
