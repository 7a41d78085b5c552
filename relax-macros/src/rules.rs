//! The one table that maps rule and method names to relax-core: which arguments are
//! differentiated, and which pullback the adjoint sweep calls. Nothing here knows a derivative; the
//! pullbacks live in relax-core (`relax_core::NAME_vjp`, `relax_core::ops::NAME_vjp`).

/// How a rule treats one argument.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Arg {
    /// A float argument that is differentiated.
    Diff,
    /// A float argument whose cotangent is dropped (the hard half of `straight_through`).
    Hard,
    /// An RNG, passed through untouched.
    Rng,
}

/// How a rule is differentiated.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Form {
    /// The value is `NAME(args)`, the pullback `NAME_vjp(args…, dout) -> (value, G)` with one
    /// cotangent per float argument.
    Pullback,
    /// As `Pullback`, and the forward sweep keeps a residual: `(value, r) = NAME_fwd(args…)`, the
    /// cotangents are `NAME_bwd(&r, dout)` (the softmax family: the adjoint does not compute the
    /// softmax again).
    Split,
    /// Draws noise, then applies an explicit-noise rule: `explicit(args…)` with
    /// `noise(rng)` inserted at position `noise_at` (exactly what relax-core's RNG rules do).
    Sampled { noise: &'static str, explicit: &'static str, noise_at: usize },
    /// No derivative: the call is passive (an integer, a constant, `stop_gradient`, noise).
    Passive,
}

/// One rule of relax-core.
pub struct Rule {
    pub name: &'static str,
    pub args: &'static [Arg],
    pub form: Form,
    /// Forms for the first argument alone, which the sweeps call where the later arguments (a
    /// temperature, a threshold, the noise) are constant: the pushforward
    /// `NAME_jvp_first(args…, d_first)`, and the pullback `NAME_pullback_first(args…, value, dout)`
    /// or, for a split rule, `NAME_bwd_first(&residual, dout)`, the first argument's cotangent,
    /// and `NAME_bwd_first_add(&residual, dout, &mut adjoint)`, which adds it in place.
    pub first_forms: bool,
    /// A split rule whose `_first` pullbacks read less of the residual than the full ones: its
    /// forward `NAME_fwd_first(args…)` keeps only that (softmax, logsumexp and soft argmax keep no
    /// logits).
    pub first_forward: bool,
}

impl Rule {
    /// A rule of `form`, without `_first` forms.
    const fn of(name: &'static str, args: &'static [Arg], form: Form) -> Rule {
        Rule { name, args, form, first_forms: false, first_forward: false }
    }

    /// With [`Rule::first_forms`].
    const fn with_first_forms(self) -> Rule {
        Rule { first_forms: true, ..self }
    }

    /// With [`Rule::first_forward`].
    const fn with_first_forward(self) -> Rule {
        Rule { first_forward: true, ..self }
    }
}

use Arg::{Diff, Hard, Rng};

const fn pullback(name: &'static str, args: &'static [Arg]) -> Rule {
    Rule::of(name, args, Form::Pullback)
}

const fn split(name: &'static str, args: &'static [Arg]) -> Rule {
    Rule::of(name, args, Form::Split)
}

const fn passive(name: &'static str) -> Rule {
    Rule::of(name, &[], Form::Passive)
}

const fn sampled(
    name: &'static str,
    args: &'static [Arg],
    noise: &'static str,
    explicit: &'static str,
    noise_at: usize,
) -> Rule {
    Rule::of(name, args, Form::Sampled { noise, explicit, noise_at })
}

/// Every rule of SPEC.md's table.
pub const RULES: &[Rule] = &[
    pullback("relu", &[Diff]),
    pullback("softplus", &[Diff]),
    pullback("sigmoid", &[Diff]),
    pullback("huber", &[Diff, Diff]).with_first_forms(),
    pullback("smooth_l1", &[Diff, Diff]).with_first_forms(),
    split("softmax", &[Diff, Diff]).with_first_forms().with_first_forward(),
    split("log_softmax", &[Diff, Diff]).with_first_forms(),
    split("logsumexp", &[Diff, Diff]).with_first_forms().with_first_forward(),
    split("soft_argmax", &[Diff, Diff]).with_first_forms().with_first_forward(),
    split("soft_max", &[Diff, Diff]).with_first_forms(),
    pullback("sum", &[Diff]),
    pullback("mean", &[Diff]),
    pullback("dot", &[Diff, Diff]),
    pullback("straight_through", &[Hard, Diff]),
    pullback("st_argmax", &[Diff, Diff]),
    pullback("st_one_hot", &[Diff, Diff]),
    pullback("normal_reparam", &[Diff, Diff, Diff]),
    pullback("gumbel_from_uniform", &[Diff]),
    pullback("gumbel_softmax_with", &[Diff, Diff, Diff]).with_first_forms(),
    pullback("st_gumbel_softmax_with", &[Diff, Diff, Diff]).with_first_forms(),
    pullback("st_gumbel_argmax_with", &[Diff, Diff, Diff]),
    pullback("reinforce", &[Diff, Diff]),
    pullback("reinforce_baseline", &[Diff, Diff, Diff]),
    sampled("normal_rsample", &[Diff, Diff, Rng], "normal_noise", "normal_reparam", 2),
    sampled("gumbel_softmax", &[Diff, Diff, Rng], "gumbel_noise", "gumbel_softmax_with", 1),
    sampled("st_gumbel_softmax", &[Diff, Diff, Rng], "gumbel_noise", "st_gumbel_softmax_with", 1),
    sampled("st_gumbel_argmax", &[Diff, Diff, Rng], "gumbel_noise", "st_gumbel_argmax_with", 1),
    passive("stop_gradient"),
    passive("argmax"),
    passive("one_hot"),
    passive("normal_noise"),
    passive("gumbel_noise"),
    passive("categorical_sample"),
    passive("categorical_sample_with"),
];

/// Whether rule `name` has forms for its first argument alone (see [`Rule::first_forms`]).
pub fn has_first_forms(name: &str) -> bool {
    rule(name).is_some_and(|r| r.first_forms)
}

/// Of a rule call's float arguments (`float_args` marks them among `args`), the position of the
/// only active one, where exactly one is: the one-sided forms' case.
pub fn sole_active_float(args: &[crate::ir::Temp], float_args: &[bool], active: &[bool]) -> Option<usize> {
    let floats = args.iter().zip(float_args).filter(|(_, f)| **f).map(|(t, _)| active[*t]);
    let mut actives = floats.enumerate().filter(|(_, a)| *a).map(|(k, _)| k);
    match (actives.next(), actives.next()) {
        (Some(k), None) => Some(k),
        _ => None,
    }
}

pub fn rule(name: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.name == name)
}

/// How a float method treats one argument (the receiver first).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MethodArg {
    /// A float, differentiated.
    Float,
    /// An integer (`powi`'s exponent), passed through.
    Int,
}

/// A float method and its pullback in `relax_core::ops`.
pub struct Method {
    pub name: &'static str,
    pub args: &'static [MethodArg],
    /// A library call (a transcendental function) rather than an instruction or two: a loop that
    /// stores per iteration keeps its value for the adjoint rather than compute it again.
    pub kept: bool,
    /// The pullback reads the value alone: `ops::NAME_pullback_from_value(y, dout)`, so that a
    /// loop's adjoint need not recompute the argument (an inner product before `tanh`).
    pub from_value: bool,
}

use MethodArg::{Float, Int};

const fn method(name: &'static str, args: &'static [MethodArg]) -> Method {
    Method { name, args, kept: true, from_value: false }
}

/// A method that costs about as much as loading its value back.
const fn cheap(name: &'static str, args: &'static [MethodArg]) -> Method {
    Method { name, args, kept: false, from_value: false }
}

impl Method {
    /// With [`Method::from_value`].
    const fn of_value(self) -> Method {
        Method { from_value: true, ..self }
    }
}

/// The float methods of SPEC.md; the pullback of `x.NAME(..)` is `ops::NAME_vjp`.
pub const METHODS: &[Method] = &[
    method("exp", &[Float]).of_value(),
    method("exp2", &[Float]).of_value(),
    method("exp_m1", &[Float]).of_value(),
    method("ln", &[Float]),
    method("ln_1p", &[Float]),
    method("log2", &[Float]),
    method("log10", &[Float]),
    cheap("sqrt", &[Float]).of_value(),
    method("cbrt", &[Float]).of_value(),
    cheap("recip", &[Float]).of_value(),
    method("powi", &[Float, Int]),
    method("powf", &[Float, Float]),
    method("sin", &[Float]),
    method("cos", &[Float]),
    method("tan", &[Float]).of_value(),
    method("asin", &[Float]),
    method("acos", &[Float]),
    method("atan", &[Float]),
    method("atan2", &[Float, Float]),
    method("sinh", &[Float]),
    method("cosh", &[Float]),
    method("tanh", &[Float]).of_value(),
    cheap("abs", &[Float]),
    cheap("max", &[Float, Float]),
    cheap("min", &[Float, Float]),
    cheap("clamp", &[Float, Float, Float]),
    method("hypot", &[Float, Float]),
    cheap("mul_add", &[Float, Float, Float]),
];

pub fn method_rule(name: &str) -> Option<&'static Method> {
    METHODS.iter().find(|m| m.name == name)
}

/// Methods whose derivative is zero almost everywhere: a compile error on active values.
pub fn step_method(name: &str) -> bool {
    matches!(
        name,
        "round" | "floor" | "ceil" | "trunc" | "fract" | "signum" | "round_ties_even" | "rem_euclid" | "div_euclid"
    )
}

/// Iterator adaptors: a `for` loop is what relax differentiates.
pub fn iterator_method(name: &str) -> bool {
    matches!(
        name,
        "iter" | "into_iter" | "iter_mut" | "map" | "sum" | "product" | "fold" | "zip" | "for_each" | "reduce"
    )
}

/// The form of a binary operator's pullback that reads `dout` alone, in `relax_core::ops`.
pub fn binary_cotangents(pullback: &str) -> Option<&'static str> {
    match pullback {
        "add_vjp" => Some("add_cotangents"),
        "sub_vjp" => Some("sub_cotangents"),
        _ => None,
    }
}

/// The pullback of a binary arithmetic operator, in `relax_core::ops`.
pub fn binary_pullback(op: &syn::BinOp) -> Option<&'static str> {
    match op {
        syn::BinOp::Add(_) => Some("add_vjp"),
        syn::BinOp::Sub(_) => Some("sub_vjp"),
        syn::BinOp::Mul(_) => Some("mul_vjp"),
        syn::BinOp::Div(_) => Some("div_vjp"),
        _ => None,
    }
}
