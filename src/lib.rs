//! relax: automatic differentiation at compile time, with rules for the functions gradient
//! descent cannot use as they are.
//!
//! Put [`#[differentiable]`](macro@differentiable) on a plain numeric function over floats and
//! fixed-size float arrays and get, beside it, reverse-mode gradient code: a forward sweep that
//! keeps what it needs in local variables, and an adjoint sweep that calls the pullbacks of
//! [relax-core](relax_core). It allocates nothing, uses no `unsafe`, and runs on `#![no_std]`.
//!
//! ```
//! use relax::prelude::*;
//!
//! /// Mean Huber loss of a line through the data.
//! #[differentiable]
//! fn loss(w: f64, b: f64, xs: &[f64; 6], ys: &[f64; 6]) -> f64 {
//!     let mut total = 0.0;
//!     for i in 0..6 {
//!         total += huber(w * xs[i] + b - ys[i], 1.0);
//!     }
//!     total / 6.0
//! }
//!
//! // y = 2x + 1, and one outlier.
//! let (xs, ys) = ([0.0, 1.0, 2.0, 3.0, 4.0, 5.0], [1.0, 3.0, 5.0, 7.0, 9.0, 40.0]);
//! let (mut w, mut b) = (0.0, 0.0);
//! for _ in 0..2000 {
//!     let (_, (dw, db)) = loss_grad(w, b, &xs, &ys);
//!     w -= 0.1 * dw;
//!     b -= 0.1 * db;
//! }
//! // Close to the line through the five inliers (least squares gives w ≈ 6.1, b ≈ -4.5).
//! assert!((w - 2.0).abs() < 0.5 && (b - 1.0).abs() < 0.5, "w = {w}, b = {b}");
//! assert_eq!(loss_grad(w, b, &xs, &ys).0, loss(w, b, &xs, &ys)); // the same value, bit for bit
//! ```
//!
//! # Relaxations, reparameterisations, straight-through
//!
//! Gradient descent needs functions that are continuous and differentiable almost everywhere.
//! Three ideas extend its reach, and each rule of relax is one of them:
//!
//! * A **relaxation** replaces a function by a smooth approximation: [`softplus`] for [`relu`],
//!   [`softmax`](softmax()) with a temperature for a one-hot `argmax`, [`soft_argmax`] and [`soft_max`] for
//!   the index and value of the maximum, [`huber`] and [`smooth_l1`] for `|x|`. Lower temperatures
//!   are closer to the hard function and have larger, noisier gradients.
//! * A **reparameterisation** moves the randomness of a sample into an input that does not depend
//!   on the parameters: `normal_rsample(mu, sigma, rng)` is `mu + sigma·z` with `z ~ N(0, 1)`
//!   ([`normal_reparam`]); Gumbel-max draws a categorical sample as `argmax(logits + g)`
//!   ([`categorical_sample_with`]), and Gumbel-softmax relaxes it ([`gumbel_softmax_with`]).
//! * A **straight-through** estimator uses a hard value forward and a soft gradient backward:
//!   [`straight_through(hard, soft)`](straight_through()), [`st_argmax`], [`st_one_hot`], and
//!   [`st_gumbel_softmax_with`] (PyTorch's `hard=True`). It is biased but has low variance.
//! * Where nothing is differentiable, the **score function** estimates the gradient of an
//!   expected loss: [`reinforce`] and [`reinforce_baseline`] return the loss as their value and
//!   `∇loss + (loss − b)·∇log_prob` as their gradient. Unbiased, and of high variance: a baseline
//!   helps.
//!
//! Which to use: a relaxation when the soft output is acceptable downstream; straight-through when
//! the forward pass must stay discrete; reparameterisation whenever the sampler allows it (the
//! lowest variance); REINFORCE for anything else, with a baseline.
//!
//! # Derivative conventions at kinks
//!
//! As PyTorch and JAX: `relu'(0) = 0`, `abs'(0) = 0`, `sign(0) = 0` wherever a sign appears;
//! `a.max(b)` and `a.min(b)` split the gradient evenly at a tie; `x.clamp(lo, hi)` passes it to `x`
//! for `lo ≤ x ≤ hi` and to the active bound otherwise; where a method has no derivative (`sqrt`
//! at 0, `powf` with base 0) the gradient is what its formula gives. Operations whose derivative
//! is zero almost everywhere (`round`, `floor`, `ceil`, `trunc`, `fract`, `signum`, float `%`, an
//! integer computed from active floats and cast back) are compile errors on differentiated values
//! unless wrapped in [`stop_gradient`] or used as the hard half of [`straight_through`](straight_through()).
//!
//! # The generated functions
//!
//! For `fn loss(w: f64, b: f64, xs: &[f64; 8]) -> Out`, with the original's visibility, generics
//! and `cfg`, lint, `inline`, `deprecated` and `doc` attributes:
//!
//! | function | signature | |
//! |---|---|---|
//! | `loss_grad` | `(w, b, xs) -> (Out, G)` | value and gradient, when `Out` is a float |
//! | `loss_vjp` | `(w, b, xs, dout: Out) -> (Out, G)` | value and vector-Jacobian product, for any `Out` |
//!
//! `G` has one gradient per differentiated parameter, in parameter order (or `wrt` order), and a
//! single one bare (as `jax.value_and_grad`). The differentiated parameters are those passed by
//! value whose type is `f32`, `f64`, a type parameter bounded by [`Real`], or a (nested) array of
//! one; everything else is data. `#[differentiable(wrt(x, w))]` names them explicitly and may name
//! a reference to a float array, whose gradient is an owned array. `crate = path` names the
//! `relax` crate when it is re-exported elsewhere.
//!
//! The value returned is the original's bit for bit; an RNG is advanced exactly as the original
//! advances it; side effects on data happen once; calls of other differentiable functions run
//! their forward work once (through the split form `NAME__differentiable`, which returns the
//! value and a pullback closure). One exception is the compiler's, not relax's: LLVM evaluates a
//! math function of constants at compile time (`0.47_f32.tanh()`, `tanh(bump(0.74))` once `bump`
//! is inlined), and at `f32` its result can be one unit in the last place from the platform's
//! `tanhf` at run time; where the original and a generated function fold different constant
//! subexpressions (one inlines a call the other keeps), their `f32` values can differ by that
//! unit. What depends on the inputs runs at run time in both, and `f64` on glibc is folded with
//! the `tanh` it runs, so neither is affected.
//!
//! # Checking gradients
//!
//! [`check::check_vjp`] tests a pullback against central finite differences of the function, at
//! a point you choose: the generated `_vjp`, a rule's, or one you wrote by hand
//! ([`check::check_jvp`] does the same for a pushforward). Pass the differentiated parameters as
//! one value (a tuple for several); the report says where the worst mismatch is.
//!
//! ```
//! use relax::check::check_vjp;
//! use relax::prelude::*;
//!
//! #[differentiable]
//! fn loss(w: f64, b: f64, xs: &[f64; 3]) -> f64 {
//!     let mut total = 0.0;
//!     for i in 0..3 {
//!         total += huber(w * xs[i] + b, 1.0);
//!     }
//!     total
//! }
//!
//! let xs = [0.5, -1.0, 2.0];
//! check_vjp(|(w, b)| loss(w, b, &xs), |(w, b), d| loss_vjp(w, b, &xs, d), (0.5, 1.0)).assert_ok();
//! // A pullback with the two gradients swapped fails.
//! let swapped = |(w, b), d| {
//!     let (v, (dw, db)) = loss_vjp(w, b, &xs, d);
//!     (v, (db, dw))
//! };
//! let report = check_vjp(|(w, b)| loss(w, b, &xs), swapped, (0.5, 1.0));
//! assert!(!report.is_ok(), "{report}");
//! ```
//!
//! # Parameter structs
//!
//! [`#[derive(Differentiable)]`](derive@Differentiable) makes a struct of floats, (nested) arrays
//! of them and other such structs a value that can be differentiated
//! ([`Differentiable`](trait@Differentiable)); its gradient is a value of the same type. Fields
//! marked `#[no_derivative]` are data: carried unchanged in a value, `Default::default()` in a
//! gradient. A struct parameter is differentiated when named in `wrt(…)`; unnamed, it is data.
//! A type parameter without bounds that a differentiated field holds (`struct Params<T> { w:
//! [T; 2] }`) is the struct's float type, `T: Real` on the derived impls. Generic code bounds on
//! the trait:
//!
//! ```
//! use relax::prelude::*;
//! use relax::Tangent;
//!
//! #[derive(Clone, Copy, Differentiable)]
//! struct Layer<T: Real, const N: usize> {
//!     w: [[T; N]; N],
//!     b: [T; N],
//!     #[no_derivative]
//!     steps: usize,
//! }
//!
//! /// One step of gradient descent, for any differentiable parameter.
//! fn step<P: Differentiable>(p: &mut P, grad: P, lr: P::Scalar) {
//!     p.add_scaled(-lr, grad);
//! }
//!
//! let mut p = Layer { w: [[1.0_f32, 0.0], [0.0, 1.0]], b: [0.5, -0.5], steps: 3 };
//! let mut g = p.zero_like(); // zero floats, and `steps: 0`
//! g.b = [1.0, 1.0];
//! step(&mut p, g, 0.5);
//! assert_eq!(p.b, [0.0, -1.0]);
//! assert_eq!((p.w, p.steps), ([[1.0, 0.0], [0.0, 1.0]], 3)); // the data is kept
//! ```
//!
//! # The supported language (for active code)
//!
//! Code that computes from data alone is copied as written, whatever Rust it is. Code that
//! depends on a differentiated parameter may use: `let` (names, tuples of names, type
//! annotations; version 0.2 destructures more, below), `let mut`, reassignment and `+= -= *= /=`; `+ - * /` and unary `-`; integer→float
//! `as` casts of data; array literals `[a, b]` and `[e; N]`; indexing for reading and writing
//! (`y[i] = …`, `m[i][j]`); `*r` to copy an array out of a reference; `for i in lo..hi` and
//! `for v in xs`; `if`/`else` as expression or statement with any condition; a final expression or
//! `return`, anywhere; the float methods `exp exp2 exp_m1 ln ln_1p log2 log10 sqrt cbrt recip powi
//! powf sin cos tan asin acos atan atan2 sinh cosh tanh abs max min clamp hypot mul_add` (also by
//! path: `f64::exp(x)`, `T::max(a, b)`, and passed to `map` or `fold`: `.fold(x0, T::max)`); the
//! rules of [`prelude`]; and calls of other `#[differentiable]` functions, by name or path.
//! Anything else on active values is a compile error at the construct, saying what to write
//! instead. In a function generic over `T: Real`, unsuffixed float literals and `e as T` mean
//! `T`'s value (the original is rewritten the same way). Version 0.2 adds:
//!
//! - methods: the attribute on a method or associated function of an inherent `impl` (generic
//!   too; `real = T` declares the impl's float type); the receiver is data; `self.f(x)`,
//!   `Self::f(x)` and `obj.f(x)` of differentiable methods compose;
//! - parameter structs (above) named in `wrt(p)`: field reads (`p.w[i]`), writes to fields of
//!   `mut` bindings, struct literals, struct outputs (`_vjp` takes a struct cotangent, `_jvp` a
//!   struct tangent);
//! - `match` on data (any patterns, guards on data), as statement or expression, with active arms;
//! - `while`, `loop`, `break` and `continue` (labelled too), with any condition: the derivative is
//!   that of the path taken;
//! - the loops and patterns of idiomatic Rust: `for` over `xs.iter()`, `&xs`, `ys.iter_mut()`
//!   (written through, `*y = …`), `xs.windows(k)` and `xs.chunks_exact(k)` (read by index,
//!   `w[0]`), `.copied()`,
//!   `.cloned()`, `.into_iter()`, `.enumerate()`, `.zip(ys)` and `.rev()` of arrays, slices and
//!   fields, with `.skip(k)`, `.take(n)`, `.step_by(k)` and a last `.filter(p)` (the body under
//!   `if p(&item)`) too (`for (i, (&w, x)) in
//!   p.w.iter().zip(xs).enumerate()`: each is the index loop it walks, so its adjoint walks the
//!   items backwards), and over `lo..=hi` and `(lo..hi).rev()`;
//!   `.sum()` and `.product()` of such a chain with at most one `.map(|x| …)`
//!   (`w.iter().zip(xs).map(|(&a, &b)| a * b).sum::<T>()`), its `.fold(init, |acc, x| …)`, an
//!   array's `.map(|x| …)`, `let y: [T; N] = core::array::from_fn(|i| …)` (nested too) and
//!   `chain.for_each(|x| …)`: each the loop it is, bit for bit what the library computes;
//!   destructuring `let`s of active tuples, arrays and structs, nested (`let [a, b, ..] = x;`, `let Spring { k, rest: [r0, _] } = s;`);
//!   `if let P = e` on data (also `if let P = e && c`), as the `match` it is; blocks with a value
//!   (`let z = { let t = a * b; t * t };`, `s += { … };`, `a * { …; t } + b`), as their
//!   statements (inside an expression, where that keeps the order of side effects: not after a
//!   macro, `&mut` or a method that may change its receiver in the same expression); local
//!   closures without `move` (`let sq = |v: f64| v * v;`, then `sq(x[0]) + sq(x[1])`, in a
//!   `map`'s closure or a condition too), inlined where they are called (a call where a name the
//!   closure reads was declared again after it is an error);
//! - the option `max_iter = N` for a loop that stores per iteration and has no compile-time bound
//!   (below); running past N iterations panics, naming the function and the option;
//! - slices `xs: &[T]` named in `wrt` (`xs[i]`, `xs.len()`, `for v in xs`): the gradient goes into
//!   a buffer `d_xs: &mut [T]` passed after the other arguments (after `dout`), overwritten; a
//!   buffer of another length panics;
//! - forward mode, `NAME_jvp(args…, tangent: G) -> (Out, Out)`, for every function without slices
//!   in `wrt`;
//! - second order with the option `hvp`: `NAME_hvp(args…, v: G) -> (Out, G, G)`, the value, the
//!   gradient and the Hessian-vector product (every differentiable callee needs `hvp` too; a
//!   parameter struct in `wrt` is generic over its float type, see [`guide::forward_mode`]);
//! - Jacobians with the option `jacobian`, for an output `[T; N]`: `NAME_jacobian(args…) ->
//!   (Out, [G; N])`, the value and row `i` the gradient of output component `i`, from one forward
//!   sweep and, for up to four rows, one adjoint sweep with a lane per row (every differentiable
//!   callee needs `jacobian` too; see [`guide::forward_mode`]).
//!
//! ```
//! use relax::prelude::*;
//!
//! #[derive(Clone, Copy, Differentiable)]
//! struct Spring {
//!     k: f64,
//!     rest: f64,
//! }
//!
//! struct Score {
//!     mode: u8,
//! }
//!
//! impl Score {
//!     /// Relaxes `x` towards the rest length while it is more than 1e-3 away, then scores it.
//!     #[differentiable(wrt(s, x), max_iter = 64)]
//!     fn settle(&self, s: Spring, x: f64) -> f64 {
//!         let mut y = x;
//!         let mut steps = 0;
//!         while (y - s.rest).abs() > 1e-3 && steps < 64 {
//!             y -= 0.5 * s.k * (y - s.rest);
//!             steps += 1;
//!         }
//!         match self.mode {
//!             0 => y * y,
//!             _ => y * x,
//!         }
//!     }
//! }
//!
//! /// Half the squared norm of a slice of any length.
//! #[differentiable(wrt(xs))]
//! fn energy(xs: &[f64]) -> f64 {
//!     let mut e = 0.0;
//!     for v in xs {
//!         e += v * v;
//!     }
//!     0.5 * e
//! }
//!
//! // y ends within 1e-3 of the rest length 1: the score is about 1, its derivative in `rest` about 2.
//! let (value, (ds, _dx)) = Score { mode: 0 }.settle_grad(Spring { k: 0.8, rest: 1.0 }, 3.0);
//! assert!((value - 1.0).abs() < 1e-2 && (ds.rest - 2.0).abs() < 1e-2);
//! let mut d_xs = [f64::NAN; 3];
//! let (_, ()) = energy_grad(&[1.0, -2.0, 0.5], &mut d_xs);
//! assert_eq!(d_xs, [1.0, -2.0, 0.5]); // the gradient of ½‖x‖² is x
//! ```
//!
//! Code as it is usually written, with a local closure, a block with a value and a `filter`:
//!
//! ```
//! use relax::prelude::*;
//!
//! /// The norm of the positive part of `x`, smoothed by `eps`.
//! #[differentiable]
//! fn positive_norm(x: [f64; 3], eps: f64) -> f64 {
//!     let sq = |v: f64| v * v;
//!     let total = x.iter().filter(|v| **v > 0.0).map(|&v| sq(v)).sum::<f64>();
//!     let r = {
//!         let t = total + sq(eps);
//!         t.sqrt()
//!     };
//!     r - eps
//! }
//!
//! let (value, (dx, deps)) = positive_norm_grad([3.0, -1.0, 4.0], 0.0);
//! assert_eq!(value, 5.0);
//! // x / ‖x‖ where x is positive, 0 elsewhere
//! assert!(dx.iter().zip([0.6, 0.0, 0.8]).all(|(d, want)| (d - want).abs() < 1e-15));
//! assert_eq!(deps, -1.0);
//! ```
//!
//! # Loops and their stack
//!
//! A loop whose only effect on differentiated values is an accumulation into one variable
//! (`total += huber(w * xs[i] + b - ys[i], 1.0)`) runs each iteration's adjoint right after the
//! iteration, for a unit cotangent of the accumulator, and adds it into a preaccumulated gradient
//! per input: one pass, like a hand-written gradient, and nothing stored, also over a slice of
//! runtime length and with sampling inside. Where an input's one read reaches the sum through a
//! product with another input's element at the same indices (or at the first of them, or with
//! another input that is one float), or a quotient by one, through additions of data and
//! negations only (`mu` in
//! `(xs[n][d] - mu[k][d]) * inv[k][d]`), that factor is the same in every
//! iteration: the iterations add the rest, and the preaccumulated gradient is multiplied (divided)
//! by the factor's elements once, after the loop, as a hand-written gradient sums first. Except where each iteration of a `for j in lo..N`
//! loop (`N` known at compile time) reads its own part of every input (`w[j][i]`, `b[j]`: a
//! layer's rows): those preaccumulated gradients would be as large as the inputs, so such a loop
//! is stored as below, as a hand-written layer keeps its activations. The adjoint of any other
//! loop runs backwards over the iterations and recomputes each iteration's temporaries from its
//! inputs. It stores, per iteration, only the variables the loop both reads and writes (such as
//! `p` in `p *= x[i]`), an early `return`'s flag, the noise it samples, and, where the loop has a
//! compile-time bound and is not nested in another, the values of its library calls (`tanh`,
//! `exp`, `sin`, …: loading one back is cheaper than computing it again): `size_of` of each,
//! times the loop's bound, on the stack of the generated function. That needs a compile-time
//! bound (a literal, a `const`, a const generic, `xs.len()` or `for v in xs` of an array) or the
//! option `max_iter = N`; otherwise the error says what to change. Beside such a function,
//! `NAME_STORAGE_BYTES` is the bytes its gradient keeps between the sweeps, for sizing a stack;
//! for a function with generic parameters, which a `const` cannot have, or a method,
//! `const fn NAME_storage_bytes::<…>()` gives it for one choice of them
//! (`Model::cost_storage_bytes()` for a method):
//!
//! ```
//! # use relax::prelude::*;
//! #[differentiable]
//! fn product(x: [f64; 16]) -> f64 {
//!     let mut p = 1.0;
//!     for i in 0..16 {
//!         p = (p * x[i]).sin();
//!     }
//!     p
//! }
//! // `p` and its sine at each of the 16 iterations, and `x`, which the adjoint reads.
//! assert!(PRODUCT_STORAGE_BYTES >= 2 * 16 * 8 + 16 * 8);
//!
//! #[differentiable]
//! fn product_of<T: Real, const N: usize>(x: [T; N]) -> T {
//!     let mut p = T::one();
//!     for i in 0..N {
//!         p = (p * x[i]).sin();
//!     }
//!     p
//! }
//! const F32_BYTES: usize = product_of_storage_bytes::<f32, 16>();
//! assert!(F32_BYTES >= 2 * 16 * 4 + 16 * 4);
//! assert_eq!(product_of_storage_bytes::<f64, 16>(), PRODUCT_STORAGE_BYTES);
//! ```
//!
//! # What the attribute generates
//!
//! For
//!
//! ```
//! # use relax::prelude::*;
//! #[differentiable]
//! fn loss(w: f64, xs: &[f64; 3]) -> f64 {
//!     let mut total = 0.0;
//!     for i in 0..3 {
//!         total += (w * xs[i]).sin();
//!     }
//!     total * w
//! }
//! # assert_eq!(loss_grad(0.5, &[1.0, 2.0, 3.0]).0, loss(0.5, &[1.0, 2.0, 3.0]));
//! ```
//!
//! it generates (as `cargo expand` shows it):
//!
//! ```ignore
//! // The split form, which other differentiable functions call with `ReturnPullback`.
//! #[doc(hidden)]
//! #[allow(unused, deprecated, non_snake_case)]
//! #[cfg_attr(clippy, allow(clippy::all, clippy::pedantic, clippy::nursery))]
//! fn loss__differentiable<'__relax_ref1, __RelaxEnd: ::relax::tangent::SweepsEnd<f64, f64, (f64, ())>>(
//!     w: f64,
//!     xs: &'__relax_ref1 [f64; 3],
//!     __end: __RelaxEnd,
//! ) -> __RelaxEnd::Out<impl ::core::ops::FnOnce(f64) -> (f64, ()) + use<'__relax_ref1, __RelaxEnd>> {
//!     let __t0 = 0.0;
//!     let mut total = __t0;
//!     let __t2 = 0;
//!     let __t3 = 3;
//!     let __one1 = ::relax::tangent::one_like(&total);
//!     let mut __j1_0 = ::relax::Tangent::zero_like(&w);
//!     // A range loop counts a cursor (cheaper for rustc to check than a `for` over a range).
//!     let mut __i1 = __t2;
//!     while __i1 < __t3 {
//!         let __t1 = __i1;
//!         __i1 += 1;
//!         let i = __t1;
//!         let __t4 = w;
//!         let __t5 = xs[i];
//!         let __t6 = __t4 * __t5;
//!         let __t7 = __t6.sin();
//!         total += __t7;
//!         // The iteration's adjoint for a unit cotangent of `total`, added into the Jacobian; an
//!         // adjoint with one contribution is declared where it gets it, and the cotangent of a
//!         // product with data reads the data alone.
//!         {
//!             let __d7 = __one1;
//!             let __d6 = ::relax::ops::sin_pullback(__t6, __t7, __d7);
//!             ::relax::Tangent::add_tangent(
//!                 &mut __j1_0,
//!                 ::relax::ops::mul_constant_pullback(::relax::IntoPrimal::into_primal(__t5), __d6),
//!             );
//!         }
//!     }
//!     let __t8 = total;
//!     let __t9 = w;
//!     let __t10 = __t8 * __t9;
//!     // The value and the pullback: a caller's `ReturnPullback` returns both, `loss_vjp`'s
//!     // `ApplyPullback` applies the pullback.
//!     __end.end(__t10, #[inline(always)] move |__dout: f64| {
//!         let mut __b0: f64 = ::relax::Tangent::zero_tangent();
//!         let mut __b2 = ::relax::Tangent::zero_like(&__t0);
//!         let __d10 = __dout;
//!         let __g = ::relax::ops::mul_pullback(__t8, __t9, __t10, __d10);
//!         // Nothing was added to these adjoints yet: assigned (−0.0 + g is g).
//!         __b2 = __g.0;
//!         __b0 = __g.1;
//!         // `total * w` gave `__b0` a part already: the loop's Jacobian is added to it (with no
//!         // such part, the Jacobian, scaled in place, would become `__b0`).
//!         ::relax::AddScaled::add_scaled(&mut __b0, __b2, __j1_0);
//!         (__b0, ())
//!     })
//! }
//! #[doc = " Value and vector-Jacobian product of [`loss`] (generated by `#[differentiable]`): `dout` is the cotangent of the output; the gradients come one per differentiated parameter, in order."]
//! fn loss_vjp(w: f64, xs: &[f64; 3], dout: f64) -> (f64, f64) {
//!     let (__v, __c) = loss__differentiable(w, xs, ::relax::tangent::ApplyPullback(dout));
//!     (__v, __c.0)
//! }
//! #[doc = " Value and gradient of [`loss`] (generated by `#[differentiable]`)."]
//! fn loss_grad(w: f64, xs: &[f64; 3]) -> (f64, f64) {
//!     loss_vjp(w, xs, ::relax::num_traits::One::one())
//! }
//! ```
//!
//! (each function also carries `#[inline]` and the lint `allow`s shown on the first). The sweeps
//! are written once, generic over how they end ([`SweepsEnd`](relax_core::tangent::SweepsEnd)), so
//! that rustc checks one copy of them. The pullback's captured state (here numbers; elsewhere an array
//! passed by value, a loop's per-iteration storage, a softmax's residual) moves into the closure,
//! once per call, in `loss_vjp` too.
//!
//! `loss_vjp`, `loss_grad` and `loss_jvp` (which calls the hidden forward-mode form `loss__jvp`) call
//! their siblings where the attribute can tell how to name them: it reads the function's source file
//! to see whether the function is an item of the file or of a `mod` (`loss__differentiable`) or of
//! an inherent `impl` (`Self::loss__differentiable`). Where it cannot tell (a function a macro
//! writes, one inside a block), and for differentiated slices (whose pullback takes the gradient
//! buffers), the split form only returns the pullback and `loss_vjp` holds its own copy of the
//! sweeps, which compiles to the same code but makes rustc check it again.
//!
//! Cargo builds proc macros without optimisation, in release builds too: a crate with many
//! `#[differentiable]` functions builds faster with the macro optimised, by setting `opt-level = 3`
//! under `[profile.release.build-override]` (and `[profile.dev.build-override]`) in its
//! `Cargo.toml` (README, "Performance": about a tenth of the time the attribute adds).
//!
//! # no_std
//!
//! Build with `default-features = false, features = ["libm"]` (add `rand` for the rules that take
//! an RNG): relax, relax-core and the generated code then need neither `std` nor an allocator. The
//! prelude brings `num_traits::Float` into scope, so float methods resolve through `libm`. Targets
//! with their own entropy source pass noise to the explicit-noise rules ([`normal_reparam`], the
//! `_with` rules).
#![cfg_attr(not(feature = "std"), no_std)]

pub use relax_core::*;
pub use relax_macros::{Differentiable, differentiable};

#[cfg(feature = "std")]
pub mod check;

pub mod guide;

/// Everything a differentiable function needs: the attribute, every rule with its `_vjp`, `Real`,
/// `Differentiable` (the derive and the trait), and `num_traits::Float` (as `_`) so that float
/// methods resolve on no_std too.
pub mod prelude {
    pub use relax_core::num_traits::Float as _;
    pub use relax_core::relaxed::*;
    pub use relax_core::{
        Differentiable, Real, activation::*, loss::*, sampling::*, score::*, softmax::*, straight_through::*,
    };
    pub use relax_macros::{Differentiable, differentiable};
}

/// README's Rust examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
