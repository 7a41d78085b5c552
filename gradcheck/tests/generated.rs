//! Every generated function: the value of `_grad` is the original's bit for bit, and the gradient
//! agrees with central finite differences at random points.

use relax_testkit::{assert_close_to_fd, fd, fd_with_step};

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
            assert_close_to_fd(&format!("{name} at {p:?}"), &g, &fd, 1e-5, 1e-7);
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
