//! Gradient checks: a pullback (`_vjp`) or a pushforward (`_jvp`) against central finite
//! differences of the function it differentiates, for your own tests (as PyTorch's `gradcheck` and
//! JAX's `check_grads`).
//!
//! The differentiated parameters are passed as one value `P` (a float, an array, a tuple of them,
//! anything [`Coordinates`]) and the function's output is `O`. [`check_vjp`] calls the pullback
//! with several cotangents; [`check_jvp`] calls the pushforward with several directions. Each
//! compares, coordinate by coordinate, with the same product of the central-difference Jacobian,
//! checks that the value returned beside the derivative is the function's own bit for bit, and
//! returns a [`Report`] of the worst mismatch: where it is, both values, the point.
//!
//! ```
//! use relax::check::check_vjp;
//! use relax::prelude::*;
//!
//! #[differentiable]
//! fn loss(w: f64, b: f64, xs: &[f64; 3]) -> f64 {
//!     let mut total = 0.0;
//!     for i in 0..3 {
//!         total += softplus(w * xs[i] + b);
//!     }
//!     total
//! }
//!
//! let xs = [0.5, -1.0, 2.0];
//! for at in [(0.5, 1.0), (-2.0, 0.25), (3.0, -1.5)] {
//!     check_vjp(|(w, b)| loss(w, b, &xs), |(w, b), dout| loss_vjp(w, b, &xs, dout), at).assert_ok();
//! }
//! ```
//!
//! A wrong pullback is caught, and the report says where:
//!
//! ```
//! use relax::check::check_vjp;
//!
//! let f = |(x, y): (f64, f64)| x * y.sin();
//! // ∂/∂y is x·cos(y): the cosine is missing.
//! let wrong = |(x, y): (f64, f64), d: f64| (f((x, y)), (d * y.sin(), d * x));
//! let report = check_vjp(f, wrong, (2.0, 0.5));
//! assert!(!report.is_ok());
//! let worst = report.worst.as_ref().unwrap();
//! assert_eq!((worst.coordinate, worst.path.as_str()), (1, ".1"));
//! // vjp check failed at [2.0, 0.5]: 8 coordinates compared, the worst is gradient coordinate 1
//! // (`.1`): pullback 2e0, finite differences 1.7551651237939436e0 (relative error 1.2e-1; …
//! println!("{report}");
//! ```
//!
//! Finite differences are meaningless at a kink or a branch: check at points a step away from
//! them. The step and the tolerance default to values that fit the float type (`f32` as soon as a
//! parameter or output coordinate is one) and are set with [`Options`].

use std::fmt;

use relax_core::Coordinates;

/// At most this many coordinates: every basis vector is a probe too (the whole Jacobian is
/// compared), besides the random ones.
const BASIS_PROBES_UP_TO: usize = 16;

/// How close a derivative must be to its finite differences: `|a − fd| ≤ rel·(|a| + |fd|) + abs`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    /// The relative part.
    pub rel: f64,
    /// The absolute part, for entries near zero.
    pub abs: f64,
}

impl Tolerance {
    /// `|a − b|` as a multiple of what the tolerance allows: at most 1 passes, and anything
    /// not finite is infinitely far.
    fn excess(&self, a: f64, b: f64) -> f64 {
        if a == b {
            return 0.0;
        }
        let excess = (a - b).abs() / (self.rel * (a.abs() + b.abs()) + self.abs);
        if excess.is_nan() { f64::INFINITY } else { excess }
    }
}

impl fmt::Display for Tolerance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:e}·(|a| + |fd|) + {:e}", self.rel, self.abs)
    }
}

/// The step and tolerance of the checks, and how many random probes they use. Unset values take
/// the float type's defaults: for `f64`, the relative step `1e-6` and the tolerance
/// `1e-6·(|a| + |fd|) + 1e-8`; for `f32`, `4e-3` and `1e-2·(|a| + |fd|) + 1e-3`. An output much
/// larger than its derivatives makes finite differences lose digits: raise `abs` for it.
///
/// ```
/// use relax::check::Options;
/// let cube = |x: f64| x * x * x;
/// let report = Options::new().step(1e-5).tolerance(1e-5, 1e-8).check_vjp(cube, |x, d| (cube(x), d * 3.0 * x * x), 1.5);
/// report.assert_ok();
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Options {
    step: Option<f64>,
    tolerance: Option<Tolerance>,
    random_probes: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options { step: None, tolerance: None, random_probes: 3 }
    }
}

/// The defaults of one float type.
#[derive(Clone, Copy)]
struct Precision {
    step: f64,
    tolerance: Tolerance,
}

// Measured on the rules and on an output 10³ times its derivative, at random points: the worst
// `|a − fd| / (|a| + |fd| + 1)` was 1.5e-8 for f64 at the step 1e-6, 6e-4 for f32 at 4e-3 (near
// the cube root of f32's epsilon, where truncation and rounding errors balance).
const F64: Precision = Precision { step: 1e-6, tolerance: Tolerance { rel: 1e-6, abs: 1e-8 } };
const F32: Precision = Precision { step: 4e-3, tolerance: Tolerance { rel: 1e-2, abs: 1e-3 } };

impl Options {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// The relative step: coordinate `x` is moved by `±step·max(|x|, 1)`.
    pub fn step(self, step: f64) -> Self {
        Options { step: Some(step), ..self }
    }

    /// The tolerance `|a − fd| ≤ rel·(|a| + |fd|) + abs`.
    pub fn tolerance(self, rel: f64, abs: f64) -> Self {
        Options { tolerance: Some(Tolerance { rel, abs }), ..self }
    }

    /// The number of random cotangents (for a vjp) or directions (for a jvp), besides the basis
    /// vectors of an output or parameter of at most 16 coordinates. Default 3.
    pub fn random_probes(self, n: usize) -> Self {
        Options { random_probes: n, ..self }
    }

    /// The central-difference Jacobian of `f` at `at`: row `k`, column `i` is `∂f_k/∂x_i`, over
    /// the float coordinates of the output and of the parameters, each column from
    /// `(f(x + h·e_i) − f(x − h·e_i)) / 2h` with `h = step·max(|x_i|, 1)` (the step actually
    /// taken, after rounding to the coordinate's type).
    pub fn numerical_jacobian<P, O>(&self, f: impl Fn(P) -> O, at: P) -> Vec<Vec<f64>>
    where
        P: Coordinates + Clone,
        O: Coordinates + Clone,
    {
        let value = f(at.clone());
        let step = self.step.unwrap_or(precision(&at, &value).step);
        jacobian(&f, &at, &coordinates(&at), value.coordinate_count(), step)
    }

    /// Checks the pullback `vjp(at, dout) -> (f(at), dout·J)` of `f` at `at`: see [`check_vjp`].
    pub fn check_vjp<P, O>(&self, f: impl Fn(P) -> O, vjp: impl Fn(P, O) -> (O, P), at: P) -> Report
    where
        P: Coordinates + Clone,
        O: Coordinates + Clone,
    {
        let value = f(at.clone());
        let mut check = Check::new(self, Mode::Vjp, &f, &at, &value);
        for probe in check.probes(&value) {
            let dout = with_coordinates(&value, probe.vector());
            // The cotangent as the output's type holds it (rounded to f32 where it is one).
            let u = coordinates(&dout);
            let (returned, gradient) = vjp(at.clone(), dout);
            check.value(&returned, &value);
            let numeric: Vec<f64> =
                (0..check.x.len()).map(|i| u.iter().zip(&check.jacobian).map(|(u, row)| u * row[i]).sum()).collect();
            check.compare(probe, &gradient, &numeric, &at);
        }
        check.report
    }

    /// Checks the pushforward `jvp(at, v) -> (f(at), J·v)` of `f` at `at`: see [`check_jvp`].
    pub fn check_jvp<P, O>(&self, f: impl Fn(P) -> O, jvp: impl Fn(P, P) -> (O, O), at: P) -> Report
    where
        P: Coordinates + Clone,
        O: Coordinates + Clone,
    {
        let value = f(at.clone());
        let mut check = Check::new(self, Mode::Jvp, &f, &at, &value);
        for probe in check.probes(&at) {
            let direction = with_coordinates(&at, probe.vector());
            let v = coordinates(&direction);
            let (returned, tangent) = jvp(at.clone(), direction);
            check.value(&returned, &value);
            let numeric: Vec<f64> =
                check.jacobian.iter().map(|row| row.iter().zip(&v).map(|(j, v)| j * v).sum()).collect();
            check.compare(probe, &tangent, &numeric, &value);
        }
        check.report
    }
}

/// Checks the pullback `vjp` of `f` at `at` with the default [`Options`]: for every cotangent
/// (each basis vector of a small output, and three random ones), `vjp(at, dout)` must return
/// `f(at)` bit for bit and the gradient `dout·J` within the tolerance of central differences.
///
/// `P` holds the differentiated parameters (a tuple for several), `O` the output; with relax's
/// generated functions, `vjp` is a closure over `NAME_vjp`:
/// `check_vjp(|(w, b)| loss(w, b, &xs), |(w, b), d| loss_vjp(w, b, &xs, d), (0.5, 1.0))`.
pub fn check_vjp<P, O>(f: impl Fn(P) -> O, vjp: impl Fn(P, O) -> (O, P), at: P) -> Report
where
    P: Coordinates + Clone,
    O: Coordinates + Clone,
{
    Options::default().check_vjp(f, vjp, at)
}

/// Checks the pushforward `jvp` of `f` at `at` with the default [`Options`]: for every direction
/// `v` (each basis vector of a small parameter, and three random ones), `jvp(at, v)` must return
/// `f(at)` bit for bit and the tangent `J·v` within the tolerance of central differences.
///
/// ```
/// use relax::check::check_jvp;
/// let f = |[x, y]: [f64; 2]| [x * y, x.exp()];
/// let jvp = |[x, y]: [f64; 2], [dx, dy]: [f64; 2]| (f([x, y]), [y * dx + x * dy, x.exp() * dx]);
/// check_jvp(f, jvp, [0.5, -2.0]).assert_ok();
/// ```
pub fn check_jvp<P, O>(f: impl Fn(P) -> O, jvp: impl Fn(P, P) -> (O, O), at: P) -> Report
where
    P: Coordinates + Clone,
    O: Coordinates + Clone,
{
    Options::default().check_jvp(f, jvp, at)
}

/// The central-difference Jacobian of `f` at `at` with the default step: see
/// [`Options::numerical_jacobian`].
///
/// ```
/// let j = relax::check::numerical_jacobian(|[x, y]: [f64; 2]| x * y, [3.0, 2.0]);
/// assert!((j[0][0] - 2.0).abs() < 1e-8 && (j[0][1] - 3.0).abs() < 1e-8);
/// ```
pub fn numerical_jacobian<P, O>(f: impl Fn(P) -> O, at: P) -> Vec<Vec<f64>>
where
    P: Coordinates + Clone,
    O: Coordinates + Clone,
{
    Options::default().numerical_jacobian(f, at)
}

/// Which derivative a report is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A pullback: the compared coordinates are the gradient's (the parameters').
    Vjp,
    /// A pushforward: the compared coordinates are the output tangent's.
    Jvp,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Vjp => "vjp",
            Mode::Jvp => "jvp",
        }
    }
    fn derivative(self) -> &'static str {
        match self {
            Mode::Vjp => "pullback",
            Mode::Jvp => "pushforward",
        }
    }
    fn compared(self) -> &'static str {
        match self {
            Mode::Vjp => "gradient",
            Mode::Jvp => "output tangent",
        }
    }
    fn probe(self) -> &'static str {
        match self {
            Mode::Vjp => "cotangent",
            Mode::Jvp => "direction",
        }
    }
    fn probed(self) -> &'static str {
        match self {
            Mode::Vjp => "output",
            Mode::Jvp => "parameter",
        }
    }
}

/// What a derivative was called with: a cotangent (vjp) or a direction (jvp).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Probe {
    /// The basis vector of one coordinate of the output (vjp) or the parameters (jvp).
    Basis {
        /// Its index.
        coordinate: usize,
        /// Where it is (`.1[3]`), when the type says.
        path: String,
        /// The vector.
        vector: Vec<f64>,
    },
    /// A pseudo-random vector with entries in [−1, 1).
    Random(Vec<f64>),
}

impl Probe {
    /// The probe's coordinates.
    pub fn vector(&self) -> &[f64] {
        match self {
            Probe::Basis { vector, .. } | Probe::Random(vector) => vector,
        }
    }
}

/// One coordinate of a derivative beside its finite differences.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Comparison {
    /// The cotangent or direction the derivative was called with.
    pub probe: Probe,
    /// The index of the coordinate: of the gradient (the parameters) for a vjp, of the output
    /// tangent for a jvp.
    pub coordinate: usize,
    /// Where it is (`.1[3]`), when the type says.
    pub path: String,
    /// The derivative's value.
    pub analytic: f64,
    /// The finite differences' value.
    pub numeric: f64,
}

impl Comparison {
    /// `|analytic − numeric| / max(|analytic|, |numeric|)`; 0 when both are 0.
    pub fn relative_error(&self) -> f64 {
        if self.analytic == self.numeric {
            return 0.0;
        }
        (self.analytic - self.numeric).abs() / self.analytic.abs().max(self.numeric.abs())
    }
}

/// A value returned beside the derivative that is not the function's.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ValueMismatch {
    /// The output coordinate.
    pub coordinate: usize,
    /// Where it is (`.1[3]`), when the type says.
    pub path: String,
    /// What the derivative returned.
    pub returned: f64,
    /// What the function returned.
    pub original: f64,
}

/// The outcome of a check: the worst coordinate and whether it is within the tolerance.
/// `Display` says what was compared, where the worst mismatch is and at which point.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Report {
    /// Which derivative was checked.
    pub mode: Mode,
    /// The parameters' coordinates.
    pub point: Vec<f64>,
    /// The relative step of the finite differences.
    pub step: f64,
    /// The tolerance applied.
    pub tolerance: Tolerance,
    /// How many coordinates were compared, over all probes.
    pub comparisons: usize,
    /// The comparison that used most of its tolerance (the first among equals).
    pub worst: Option<Comparison>,
    /// The first value that was not the function's, if any.
    pub value_mismatch: Option<ValueMismatch>,
}

impl Report {
    /// Something was compared, every value is the function's, and every coordinate is within
    /// the tolerance.
    pub fn is_ok(&self) -> bool {
        self.comparisons > 0
            && self.value_mismatch.is_none()
            && self.worst.as_ref().is_some_and(|w| self.tolerance.excess(w.analytic, w.numeric) <= 1.0)
    }

    /// Panics with the report unless [`is_ok`](Self::is_ok).
    #[track_caller]
    pub fn assert_ok(&self) {
        assert!(self.is_ok(), "{self}");
    }
}

/// Up to this many coordinates of a vector are printed.
const PRINTED: usize = 8;

/// `[1, 2.5]`, or the first few coordinates and how many there are.
struct Vector<'a>(&'a [f64]);

impl fmt::Display for Vector<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[")?;
        for (i, c) in self.0.iter().take(PRINTED).enumerate() {
            write!(f, "{}{c:?}", if i > 0 { ", " } else { "" })?;
        }
        if self.0.len() > PRINTED {
            write!(f, ", … ({} coordinates)", self.0.len())?;
        }
        write!(f, "]")
    }
}

/// ` (`.1[3]`)`, or nothing for an empty path.
struct Path<'a>(&'a str);

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() { Ok(()) } else { write!(f, " (`{}`)", self.0) }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = self.mode;
        let verdict = if self.is_ok() { "passed" } else { "failed" };
        write!(f, "{} check {verdict} at {}", mode.name(), Vector(&self.point))?;
        if let Some(m) = &self.value_mismatch {
            return write!(
                f,
                ": the {} returns the value {:?} at output coordinate {}{}, the function {:?} (they must be equal bit for bit)",
                mode.derivative(),
                m.returned,
                m.coordinate,
                Path(&m.path),
                m.original
            );
        }
        let Some(w) = &self.worst else {
            return write!(f, ": nothing to compare (no float coordinates)");
        };
        write!(
            f,
            ": {} coordinates compared, the worst is {} coordinate {}{}: {} {:e}, finite differences {:e} \
             (relative error {:.1e}; tolerance {}, step {:e}), for ",
            self.comparisons,
            mode.compared(),
            w.coordinate,
            Path(&w.path),
            mode.derivative(),
            w.analytic,
            w.numeric,
            w.relative_error(),
            self.tolerance,
            self.step
        )?;
        match &w.probe {
            Probe::Basis { coordinate, path, .. } => {
                write!(f, "the basis {} at {} coordinate {coordinate}{}", mode.probe(), mode.probed(), Path(path))
            }
            Probe::Random(v) => write!(f, "the random {} {}", mode.probe(), Vector(v)),
        }
    }
}

/// A check under way: the point, the finite-difference Jacobian and the report so far.
struct Check {
    x: Vec<f64>,
    jacobian: Vec<Vec<f64>>,
    random_probes: usize,
    report: Report,
}

impl Check {
    fn new<P: Coordinates + Clone, O: Coordinates + Clone>(
        options: &Options,
        mode: Mode,
        f: &impl Fn(P) -> O,
        at: &P,
        value: &O,
    ) -> Check {
        let defaults = precision(at, value);
        let step = options.step.unwrap_or(defaults.step);
        let x = coordinates(at);
        Check {
            jacobian: jacobian(f, at, &x, value.coordinate_count(), step),
            random_probes: options.random_probes,
            report: Report {
                mode,
                point: x.clone(),
                step,
                tolerance: options.tolerance.unwrap_or(defaults.tolerance),
                comparisons: 0,
                worst: None,
                value_mismatch: None,
            },
            x,
        }
    }

    /// The basis vectors of `like` if it is small, then the random vectors.
    fn probes<T: Coordinates>(&self, like: &T) -> Vec<Probe> {
        let n = like.coordinate_count();
        let mut probes = Vec::new();
        if n <= BASIS_PROBES_UP_TO {
            probes.extend((0..n).map(|k| Probe::Basis {
                coordinate: k,
                path: path(like, k),
                vector: (0..n).map(|i| if i == k { 1.0 } else { 0.0 }).collect(),
            }));
        }
        // A fixed seed: a check gives the same report every time.
        let mut state = 0x5eed_c4ec_u64;
        probes.extend((0..self.random_probes).map(|_| Probe::Random((0..n).map(|_| uniform(&mut state)).collect())));
        probes
    }

    /// Records the first output coordinate where `returned` is not `value` bit for bit.
    fn value<O: Coordinates>(&mut self, returned: &O, value: &O) {
        let (r, v) = (coordinates(returned), coordinates(value));
        assert_eq!(r.len(), v.len(), "the derivative's value has another number of coordinates than the function's");
        if self.report.value_mismatch.is_some() {
            return;
        }
        if let Some(k) = (0..v.len()).find(|&k| r[k].to_bits() != v[k].to_bits() && !(r[k].is_nan() && v[k].is_nan())) {
            self.report.value_mismatch =
                Some(ValueMismatch { coordinate: k, path: path(value, k), returned: r[k], original: v[k] });
        }
    }

    /// Compares `analytic`'s coordinates (shaped like `shape`) with `numeric`, keeping the worst.
    fn compare<T: Coordinates>(&mut self, probe: Probe, analytic: &T, numeric: &[f64], shape: &T) {
        let analytic = coordinates(analytic);
        assert_eq!(analytic.len(), numeric.len(), "the derivative has another number of coordinates than expected");
        let tolerance = self.report.tolerance;
        let mut worst = self.report.worst.as_ref().map_or(-1.0, |w| tolerance.excess(w.analytic, w.numeric));
        let mut worse = None;
        for (i, (&a, &n)) in analytic.iter().zip(numeric).enumerate() {
            let excess = tolerance.excess(a, n);
            if excess > worst {
                (worst, worse) = (excess, Some((i, a, n)));
            }
        }
        if let Some((i, analytic, numeric)) = worse {
            self.report.worst = Some(Comparison { probe, coordinate: i, path: path(shape, i), analytic, numeric });
        }
        self.report.comparisons += numeric.len();
    }
}

/// The defaults of `f32` if a coordinate of `at` or `value` is one, else those of `f64`.
fn precision<P: Coordinates + Clone, O: Coordinates + Clone>(at: &P, value: &O) -> Precision {
    if holds_f32(at) || holds_f32(value) { F32 } else { F64 }
}

/// A value between 1 and 2 that `f32` cannot hold but `f64` can.
const NOT_F32: f64 = 1.0 + 1.0 / (1u64 << 40) as f64;

/// Whether a coordinate of `v` rounds like an `f32`.
fn holds_f32<T: Coordinates + Clone>(v: &T) -> bool {
    let mut probe = v.clone();
    probe.map_coordinates(&mut |_| NOT_F32);
    let mut rounded = false;
    probe.for_each_coordinate(&mut |c| rounded |= c != NOT_F32);
    rounded
}

fn coordinates<T: Coordinates + ?Sized>(v: &T) -> Vec<f64> {
    let mut out = Vec::new();
    v.for_each_coordinate(&mut |c| out.push(c));
    out
}

/// `like` with its coordinates replaced by `values`.
fn with_coordinates<T: Coordinates + Clone>(like: &T, values: &[f64]) -> T {
    let mut v = like.clone();
    let mut values = values.iter();
    v.map_coordinates(&mut |c| values.next().copied().unwrap_or(c));
    v
}

/// `at` with coordinate `i` set to `c`, and `c` as `at`'s type holds it.
fn moved<P: Coordinates + Clone>(at: &P, i: usize, c: f64) -> (P, f64) {
    let mut p = at.clone();
    let mut k = 0;
    p.map_coordinates(&mut |old| {
        k += 1;
        if k - 1 == i { c } else { old }
    });
    let (mut k, mut held) = (0, c);
    p.for_each_coordinate(&mut |v| {
        if k == i {
            held = v;
        }
        k += 1;
    });
    (p, held)
}

/// Rows per output coordinate, columns per parameter coordinate.
fn jacobian<P: Coordinates + Clone, O: Coordinates>(
    f: &impl Fn(P) -> O,
    at: &P,
    x: &[f64],
    outputs: usize,
    step: f64,
) -> Vec<Vec<f64>> {
    let mut rows = vec![vec![0.0; x.len()]; outputs];
    for (i, &xi) in x.iter().enumerate() {
        let h = step * xi.abs().max(1.0);
        let ((up, u), (down, d)) = (moved(at, i, xi + h), moved(at, i, xi - h));
        let (fu, fd) = (coordinates(&f(up)), coordinates(&f(down)));
        for (row, (a, b)) in rows.iter_mut().zip(fu.iter().zip(&fd)) {
            row[i] = (a - b) / (u - d);
        }
    }
    rows
}

fn path<T: Coordinates + ?Sized>(v: &T, index: usize) -> String {
    let mut out = String::new();
    // Writing to a `String` cannot fail.
    let _ = v.write_coordinate_path(index, &mut out);
    out
}

/// A pseudo-random number in [−1, 1) (splitmix64).
fn uniform(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
}
