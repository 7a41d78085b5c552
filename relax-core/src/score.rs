//! The score-function (REINFORCE) estimator, as a DiCE-style surrogate: its value is the loss, its
//! gradient the score-function estimate.

use crate::Real;

/// REINFORCE surrogate: the value is exactly `loss`; the gradient is `∇loss + loss·∇log_prob`.
///
/// `log_prob` is the log-probability of the sample that produced `loss`; differentiating through
/// it gives an unbiased (high-variance) estimate of the gradient of the expected loss.
///
/// ```
/// assert_eq!(relax_core::reinforce(2.5_f64, -0.7), 2.5);
/// assert_eq!(relax_core::reinforce_vjp(2.5_f64, -0.7, 1.0), (2.5, (1.0, 2.5)));
/// ```
#[inline(always)]
pub fn reinforce<T: Real>(loss: T, log_prob: T) -> T {
    let _ = log_prob;
    loss
}

/// The cotangents of [`reinforce`]: `(dout, dout·loss)`.
///
/// ```
/// assert_eq!(relax_core::reinforce_pullback(-1.0_f64, 0.0, -1.0, 2.0), (2.0, -2.0));
/// ```
#[inline(always)]
pub fn reinforce_pullback<T: Real>(loss: T, log_prob: T, value: T, dout: T) -> (T, T) {
    let _ = (log_prob, value);
    (dout, dout * loss)
}

/// Pullback of [`reinforce`]: `(loss, (dout, dout·loss))`.
///
/// ```
/// assert_eq!(relax_core::reinforce_vjp(-1.0_f64, 0.0, 2.0), (-1.0, (2.0, -2.0)));
/// ```
#[inline(always)]
pub fn reinforce_vjp<T: Real>(loss: T, log_prob: T, dout: T) -> (T, (T, T)) {
    let value = reinforce(loss, log_prob);
    (value, reinforce_pullback(loss, log_prob, value, dout))
}

/// Pushforward of [`reinforce`]: `(loss, dloss + loss·dlog_prob)`, the tangent of the DiCE
/// surrogate whose gradient [`reinforce_vjp`] gives.
///
/// ```
/// assert_eq!(relax_core::reinforce_jvp(2.5_f64, -0.7, (1.0, 2.0)), (2.5, 6.0));
/// ```
#[inline(always)]
pub fn reinforce_jvp<T: Real>(loss: T, log_prob: T, (dloss, dlog_prob): (T, T)) -> (T, T) {
    (reinforce(loss, log_prob), dloss + loss * dlog_prob)
}

/// REINFORCE with a baseline: the value is exactly `loss`; the gradient is
/// `∇loss + (loss − b)·∇log_prob`, which has the same mean as [`reinforce`]'s and, with a good
/// baseline `b` (such as a running mean of the loss), a smaller variance. `b` gets no gradient.
///
/// ```
/// assert_eq!(relax_core::reinforce_baseline_vjp(2.5_f64, -0.7, 1.0, 1.0), (2.5, (1.0, 1.5, 0.0)));
/// ```
#[inline(always)]
pub fn reinforce_baseline<T: Real>(loss: T, log_prob: T, b: T) -> T {
    let _ = (log_prob, b);
    loss
}

/// The cotangents of [`reinforce_baseline`]: `(dout, dout·(loss − b), 0)`, the zero being
/// `−0.0` (see [`Tangent`](crate::Tangent)).
///
/// ```
/// assert_eq!(relax_core::reinforce_baseline_pullback(1.0_f64, 0.0, 3.0, 1.0, 1.0), (1.0, -2.0, 0.0));
/// ```
#[inline(always)]
pub fn reinforce_baseline_pullback<T: Real>(loss: T, log_prob: T, b: T, value: T, dout: T) -> (T, T, T) {
    let _ = (log_prob, value);
    (dout, dout * (loss - b), T::zero_tangent())
}

/// Pullback of [`reinforce_baseline`]: `(loss, (dout, dout·(loss − b), 0))`.
///
/// ```
/// assert_eq!(relax_core::reinforce_baseline_vjp(1.0_f64, 0.0, 3.0, 1.0).1, (1.0, -2.0, 0.0));
/// ```
#[inline(always)]
pub fn reinforce_baseline_vjp<T: Real>(loss: T, log_prob: T, b: T, dout: T) -> (T, (T, T, T)) {
    let value = reinforce_baseline(loss, log_prob, b);
    (value, reinforce_baseline_pullback(loss, log_prob, b, value, dout))
}

/// Pushforward of [`reinforce_baseline`]: `(loss, dloss + (loss − b)·dlog_prob)`; the tangent of
/// `b` does not enter.
///
/// ```
/// assert_eq!(relax_core::reinforce_baseline_jvp(2.5_f64, -0.7, 1.0, (1.0, 2.0, 9.0)), (2.5, 4.0));
/// ```
#[inline(always)]
pub fn reinforce_baseline_jvp<T: Real>(loss: T, log_prob: T, b: T, (dloss, dlog_prob, _): (T, T, T)) -> (T, T) {
    (reinforce_baseline(loss, log_prob, b), dloss + (loss - b) * dlog_prob)
}
