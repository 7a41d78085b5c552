//! The adjoint sweep: the statements of a block in reverse order, each accumulating cotangents
//! into the adjoints of its operands through the relax-core pullback the rule table names.
//! Branches read back which arm ran and its temporaries; loops run backwards, recomputing each
//! iteration's temporaries (see `forward::Mode::Recompute`) before its adjoint.

use std::collections::HashSet;

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote};

use crate::forward::{self, Ctx, LoopCode, Mode};
use crate::ir::*;
use crate::names;

/// What is added to the adjoint of a block's result before its adjoint code runs.
#[derive(Clone, Copy)]
pub enum Seed {
    /// The pullback's parameter `__dout` (one per lane: `__dout_l{lane}`).
    Dout,
    /// The adjoint of a temporary (a branch's result).
    Adjoint(Temp),
}

impl Seed {
    fn tokens(self, ctx: Ctx) -> TokenStream {
        match self {
            Seed::Dout => ctx.in_lane(format_ident!("__dout")).into_token_stream(),
            Seed::Adjoint(t) => ctx.adj(t).into_token_stream(),
        }
    }
}

/// The adjoint code of `block`; `seed` is added to the adjoint of its result.
pub fn adjoint(block: &Block, ctx: Ctx, seed: Option<Seed>) -> TokenStream {
    adjoint_tracked(block, ctx, seed, None)
}

/// The adjoint code of a function's body, which runs once: there a fused loop's scaled Jacobian
/// becomes an input's adjoint, and a statement's one whole contribution is assigned to an
/// adjoint (`Ctx::assign`), rather than being added to it, when nothing added to it before.
/// `buffers` are the bindings whose adjoint is a buffer the caller passes (a slice's), never
/// assigned.
pub fn body_adjoint(block: &Block, ctx: Ctx, seed: Option<Seed>, buffers: &[BindingId]) -> TokenStream {
    adjoint_tracked(block, ctx, seed, Some(buffers.iter().copied().collect()))
}

/// The adjoint code of `block`. `touched`, where the code runs once (not in a loop), holds the
/// bindings whose adjoints the code before it may have changed (that of the statements after
/// `block`, the adjoint sweep running backwards).
fn adjoint_tracked(
    block: &Block,
    ctx: Ctx,
    seed: Option<Seed>,
    mut touched: Option<HashSet<BindingId>>,
) -> TokenStream {
    let (krate, active) = (ctx.krate, ctx.active);
    let lanes = ctx.each_lane();
    let mut decls = TokenStream::new();
    for s in &block.stmts {
        let temps: Vec<Temp> = match s {
            Stmt::Read { temp, .. } | Stmt::Compute { temp, .. } | Stmt::Call { temp, .. } => vec![*temp],
            Stmt::Branch(b) => b.result.into_iter().collect(),
            _ => Vec::new(),
        };
        // An adjoint declared at its one contribution is not declared here, unless that
        // contribution is the seed of the block's value and there is none.
        let declared_later = |t: &Temp| ctx.single.contains(t) && (seed.is_some() || block.result != Some(*t));
        for t in temps.into_iter().filter(|t| active[*t] && !ctx.reads.contains_key(t) && !declared_later(t)) {
            let v = names::temp(t);
            for lane in &lanes {
                let d = lane.adj(t);
                decls.extend(quote!(let mut #d = #krate::Tangent::zero_like(&#v);));
            }
        }
        if let Stmt::Let { binding, active: true, value, .. } = s {
            let v = names::temp(*value);
            for lane in &lanes {
                let b = lane.binding_adj(*binding);
                decls.extend(quote!(let mut #b = #krate::Tangent::zero_like(&#v);));
            }
        }
    }
    let seed = match (seed, block.result) {
        (Some(seed), Some(r)) if active[r] => {
            if let (Some(touched), Some(b)) = (&mut touched, ctx.reads.get(&r)) {
                touched.insert(*b);
            }
            lanes.iter().map(|lane| accumulate(r, seed.tokens(*lane), *lane)).collect()
        }
        _ => TokenStream::new(),
    };
    let body: TokenStream = block
        .stmts
        .iter()
        .rev()
        .map(|s| {
            let assign = touched.as_ref().map_or_else(Vec::new, |touched| assignable(s, ctx, touched));
            let ctx = Ctx { assign: &assign, ..ctx };
            // Branches, loops and calls emit their lanes inside; other statements' adjoints, one
            // per lane, side by side.
            let code = if ctx.lanes == 1 || matches!(s, Stmt::Branch(_) | Stmt::Loop(_) | Stmt::Call { .. }) {
                stmt(s, ctx, touched.as_ref())
            } else {
                lanes.iter().map(|lane| stmt(s, Ctx { assign: &assign, ..*lane }, touched.as_ref())).collect()
            };
            if let Some(touched) = &mut touched {
                touch(s, ctx.reads, touched);
            }
            code
        })
        .collect();
    quote!(#decls #seed #body)
}

/// The bindings whose adjoint `s`'s adjoint code may assign rather than add to (see `Ctx::assign`):
/// not `touched`, and read whole by exactly one of the operands `s` adds a cotangent to, which it
/// adds whole (`contributions`). Bit for bit the same: the adjoint holds −0.0, and −0.0 + g is g.
fn assignable(s: &Stmt, ctx: Ctx, touched: &HashSet<BindingId>) -> Vec<BindingId> {
    let added = contributions(s, ctx.active);
    let of = |b: BindingId| added.iter().filter(move |(t, _)| ctx.reads.get(t) == Some(&b));
    let mut out: Vec<BindingId> = added.iter().filter_map(|(t, _)| ctx.reads.get(t).copied()).collect();
    out.sort_unstable();
    out.dedup();
    out.retain(|b| !touched.contains(b) && of(*b).count() == 1 && of(*b).all(|(_, whole)| *whole));
    out
}

/// Adds to `out` every binding whose adjoint `s`'s adjoint code may change: the bindings it
/// reads, writes or declares, at any depth, and those whole reads of its operands stand for.
fn touch(s: &Stmt, reads: &std::collections::HashMap<Temp, BindingId>, out: &mut HashSet<BindingId>) {
    let mut via = |t: &Temp| {
        if let Some(b) = reads.get(t) {
            out.insert(*b);
        }
    };
    match s {
        Stmt::Passive { .. } | Stmt::Verbatim { .. } => {}
        Stmt::Read { access, .. } => {
            out.insert(access.binding);
        }
        Stmt::Write { access, value, .. } => {
            via(value);
            out.insert(access.binding);
        }
        Stmt::Let { binding, value, .. } => {
            via(value);
            out.insert(*binding);
        }
        Stmt::Compute { args, .. } => args.iter().for_each(via),
        Stmt::Call { args, .. } => args.iter().for_each(|a| match a {
            CallArg::Active(t) | CallArg::ActiveRef(t) => via(t),
            CallArg::Data(_) => {}
        }),
        Stmt::Branch(b) => b.arms.iter().flat_map(|arm| &arm.stmts).for_each(|s| touch(s, reads, out)),
        Stmt::Loop(l) => {
            l.body.stmts.iter().for_each(|s| touch(s, reads, out));
            out.extend(l.taped.iter().map(|(b, _)| *b));
            if let Some(fused) = &l.fused {
                out.insert(fused.acc.0);
                out.extend(fused.inputs.iter().map(|(b, _, _)| *b));
            }
        }
    }
}

/// `x` itself when active, else `x` read through `IntoPrimal` (a passive operand may be a
/// reference, such as the item of `for v in xs`), or lifted when the sweeps run on duals.
fn operand(t: Temp, scalar: bool, ctx: Ctx) -> TokenStream {
    let (x, krate) = (names::temp(t), ctx.krate);
    if !ctx.is_data(t) {
        x.into_token_stream()
    } else if ctx.dual.is_some() {
        ctx.operand(t, scalar)
    } else {
        quote!(#krate::IntoPrimal::into_primal(#x))
    }
}

/// How a pullback is called.
#[derive(Clone, Copy)]
enum Pullback {
    /// `NAME_pullback(args…, value, dout) -> G`: from the forward sweep's value, which it does not
    /// compute again.
    FromValue(Temp),
    /// `NAME_vjp(args…, dout) -> (value, G)`.
    Vjp,
}

/// The pullback from the value (`NAME_pullback`, in `relax_core::ops`) of the operator whose rule
/// table entry is `NAME_vjp`.
fn binary_pullback(vjp: &str) -> proc_macro2::Ident {
    format_ident!("{}", vjp.replace("_vjp", "_pullback"))
}

/// Calls a pullback and adds each float argument's cotangent to its adjoint; `scalar` says the
/// float arguments are scalars (an operator or a method, not a rule).
fn pull(
    pullback: TokenStream,
    form: Pullback,
    args: &[Temp],
    float_args: &[bool],
    scalar: bool,
    d: &proc_macro2::Ident,
    ctx: Ctx,
) -> TokenStream {
    let values = args
        .iter()
        .zip(float_args)
        .map(|(t, is_float)| if *is_float { operand(*t, scalar, ctx) } else { names::temp(*t).into_token_stream() });
    let call = match form {
        Pullback::FromValue(value) => {
            let value = names::temp(value);
            quote!(#pullback(#(#values,)* #value, #d))
        }
        Pullback::Vjp => quote!(#pullback(#(#values,)* #d).1),
    };
    add_cotangents(call, args, float_args, ctx)
}

/// Adds `value` to the adjoint of `t`, or declares that adjoint as `value` where this is its one
/// contribution (`single::single_contributions`), or assigns it to the adjoint of the binding `t`
/// reads where that still holds zero (`Ctx::assign`).
fn accumulate(t: Temp, value: TokenStream, ctx: Ctx) -> TokenStream {
    let (d, krate) = (ctx.adj(t), ctx.krate);
    if ctx.single.contains(&t) {
        quote!(let #d = #value;)
    } else if !adds(t, ctx) {
        quote!(#d = #value;)
    } else {
        quote!(#krate::Tangent::add_tangent(&mut #d, #value);)
    }
}

/// Whether `accumulate` adds to `t`'s adjoint (rather than declaring or assigning it).
fn adds(t: Temp, ctx: Ctx) -> bool {
    !ctx.single.contains(&t) && !ctx.reads.get(&t).is_some_and(|b| ctx.assign.contains(b))
}

/// Adds each of `g`, the cotangents of the float arguments in order (a single one bare), to its
/// argument's adjoint; `g` is bound first where more than one argument takes its part.
fn add_cotangents(g: TokenStream, args: &[Temp], float_args: &[bool], ctx: Ctx) -> TokenStream {
    let active = ctx.active;
    let floats: Vec<Temp> = args.iter().zip(float_args).filter(|(_, f)| **f).map(|(t, _)| *t).collect();
    let targets: Vec<(usize, Temp)> = floats.iter().copied().enumerate().filter(|(_, t)| active[*t]).collect();
    let part = |k: usize, whole: TokenStream| {
        if floats.len() == 1 {
            whole
        } else {
            let k = syn::Index::from(k);
            quote!(#whole.#k)
        }
    };
    match targets.as_slice() {
        [(k, t)] => accumulate(*t, part(*k, g), ctx),
        _ => {
            let adds = targets.iter().map(|(k, t)| accumulate(*t, part(*k, quote!(__g)), ctx));
            // Unbraced: the adjoints it declares are read by the statements before it.
            quote!(let __g = #g; #(#adds)*)
        }
    }
}

fn stmt(s: &Stmt, ctx: Ctx, touched: Option<&HashSet<BindingId>>) -> TokenStream {
    let (krate, active) = (ctx.krate, ctx.active);
    let add = |target: TokenStream, value: TokenStream| quote!(#krate::Tangent::add_tangent(&mut #target, #value););
    match s {
        Stmt::Passive { .. } | Stmt::Verbatim { .. } => TokenStream::new(),
        // A whole read's consumers added into the binding's adjoint already.
        Stmt::Read { temp, .. } if ctx.reads.contains_key(temp) => TokenStream::new(),
        Stmt::Read { temp, access } => {
            let (b, path, d) = (ctx.binding_adj(access.binding), names::projection(&access.path), ctx.adj(*temp));
            if ctx.sole.contains(temp) {
                // The place holds −0.0, and −0.0 + d is d: the same value, without the addition.
                return quote!(#b #path = #d;);
            }
            add(quote!(#b #path), d.into_token_stream())
        }
        Stmt::Compute { temp, op, args } => {
            let d = ctx.adj(*temp);
            let arg_adj = |k: usize| ctx.adj(args[k]);
            match op {
                Op::Binary { pullback, .. } if ctx.factors.unscaled.contains_key(temp) => {
                    // One side's cotangent leaves out the other side, a loop-invariant factor
                    // (or divisor) applied once after the fused loop (`factor`).
                    let side = ctx.factors.unscaled[temp];
                    let (a, b, y) = (operand(args[0], true, ctx), operand(args[1], true, ctx), names::temp(*temp));
                    let (other, p) = (syn::Index::from(1 - side), binary_pullback(pullback));
                    let scaled = active[args[1 - side]].then(|| {
                        let g = quote!(#krate::ops::#p(#a, #b, #y, #d).#other);
                        accumulate(args[1 - side], g, ctx)
                    });
                    let unscaled = accumulate(args[side], d.into_token_stream(), ctx);
                    quote!(#scaled #unscaled)
                }
                Op::Binary { pullback, .. } => {
                    // A product with a constant, or a quotient by one, scales by the constant
                    // alone (on duals by the float, as the forward sweep's `Dual ⊗ T`): the
                    // active side's value is not read, so a loop's adjoint need not recompute it.
                    let (constant_side, module) = match ctx.dual {
                        Some(_) => (crate::forward::data_side(args, ctx), quote!(dual)),
                        None => ((0..2).find(|k| !active[args[*k]] && active[args[1 - *k]]), quote!(ops)),
                    };
                    let constant = match (constant_side, *pullback) {
                        (Some(k), "mul_vjp") => Some((k, quote!(mul_constant_pullback))),
                        (Some(1), "div_vjp") => Some((1, quote!(div_constant_pullback))),
                        _ => None,
                    };
                    if let Some((k, p)) = constant.filter(|(k, _)| active[args[1 - *k]]) {
                        let c = ctx.data_float(&names::temp(args[k]).into_token_stream());
                        let g = quote!(#krate::#module::#p(#c, #d));
                        return accumulate(args[1 - k], g, ctx);
                    }
                    if let Some(cotangents) = crate::rules::binary_cotangents(pullback) {
                        let p = format_ident!("{}", cotangents);
                        return add_cotangents(quote!(#krate::ops::#p(#d)), args, &[true, true], ctx);
                    }
                    let p = binary_pullback(pullback);
                    pull(quote!(#krate::ops::#p), Pullback::FromValue(*temp), args, &[true, true], true, &d, ctx)
                }
                Op::Neg => add_cotangents(quote!(#krate::ops::neg_cotangent(#d)), args, &[true], ctx),
                Op::Method { name, float_args } if ctx.siblings.contains_key(temp) => {
                    // The other trigonometric function's value is at hand.
                    let other = operand(ctx.siblings[temp], true, ctx);
                    let p = format_ident!("{}_pullback_from_{}", name, if name == "sin" { "cos" } else { "sin" });
                    add_cotangents(quote!(#krate::ops::#p(#other, #d)), args, float_args, ctx)
                }
                Op::Method { name, float_args }
                    if crate::rules::method_rule(&name.to_string()).is_some_and(|m| m.from_value) =>
                {
                    let (p, y) = (format_ident!("{}_pullback_from_value", name), names::temp(*temp));
                    add_cotangents(quote!(#krate::ops::#p(#y, #d)), args, float_args, ctx)
                }
                Op::Method { name, float_args } => {
                    let p = format_ident!("{}_pullback", name);
                    pull(quote!(#krate::ops::#p), Pullback::FromValue(*temp), args, float_args, true, &d, ctx)
                }
                Op::Rule { name, generics, float_args, residual, .. } => {
                    let generics = ctx.dual.map_or_else(|| generics.clone(), |dual| dual.substitute(generics));
                    let turbofish = if generics.is_empty() { TokenStream::new() } else { quote!(::#generics) };
                    if let Some(code) = one_sided_rule(s, &turbofish, ctx) {
                        return code;
                    }
                    if let Some(r) = residual {
                        let (bwd, r) = (format_ident!("{}_bwd", name, span = name.span()), names::temp(r.temp));
                        return add_cotangents(quote!(#krate::#bwd #turbofish (&#r, #d)), args, float_args, ctx);
                    }
                    // The softmax family without a residual (from the relaxation) computes its
                    // exponentials again either way: through its `_vjp`.
                    let split =
                        crate::rules::rule(&name.to_string()).is_some_and(|r| r.form == crate::rules::Form::Split);
                    let (suffix, form) =
                        if split { ("vjp", Pullback::Vjp) } else { ("pullback", Pullback::FromValue(*temp)) };
                    let p = format_ident!("{}_{}", name, suffix, span = name.span());
                    pull(quote!(#krate::#p #turbofish), form, args, float_args, false, &d, ctx)
                }
                Op::Array => (0..args.len())
                    .filter(|k| active[args[*k]])
                    .map(|k| accumulate(args[k], quote!(#d[#k]), ctx))
                    .collect(),
                Op::Tuple => (0..args.len())
                    .filter(|k| active[args[*k]])
                    .map(|k| {
                        let i = syn::Index::from(k);
                        accumulate(args[k], quote!(#d.#i), ctx)
                    })
                    .collect(),
                Op::Repeat { .. } => {
                    let da = arg_adj(0);
                    quote!(for __e in #d { #krate::Tangent::add_tangent(&mut #da, __e); })
                }
                Op::Project { path } => {
                    let (da, path) = (arg_adj(0), names::projection(path));
                    add(quote!(#da #path), d.into_token_stream())
                }
                Op::Struct { fields, .. } => (0..args.len())
                    .filter(|k| active[args[*k]])
                    .map(|k| {
                        let m = &fields[k];
                        accumulate(args[k], quote!(#d.#m), ctx)
                    })
                    .collect(),
                Op::Copy => accumulate(args[0], d.into_token_stream(), ctx),
                // Zero almost everywhere.
                Op::Hard(_) => TokenStream::new(),
            }
        }
        Stmt::Call { temp, pullback, callee, args, recompute, .. } => {
            // At the callee's name: where a differentiated value passed as data is reported.
            let span = callee.clone().into_iter().last().map_or_else(proc_macro2::Span::call_site, |t| t.span());
            let p = names::temp(*pullback);
            let rerun = recompute.then(|| {
                let call = forward::call_tokens(callee, args, ctx);
                quote!(let (_, #p) = #call;)
            });
            let lanes = ctx.each_lane();
            let adds = lanes.iter().flat_map(|lane| {
                let c = lane.in_lane(names::cotangents(*temp));
                args.iter().enumerate().filter_map(move |(k, a)| match a {
                    CallArg::Active(t) | CallArg::ActiveRef(t) if active[*t] => {
                        let (da, k) = (lane.adj(*t), syn::Index::from(k));
                        let add = names::respan(quote!(#krate::tangent::add_cotangent), span);
                        Some(quote!(#add(&mut #da, #c.#k);))
                    }
                    _ => None,
                })
            });
            // With several lanes, the callee's lanes form's pullback takes one cotangent each.
            let (ds, cs) = (
                lanes.iter().map(|lane| lane.adj(*temp)),
                lanes.iter().map(|lane| lane.in_lane(names::cotangents(*temp))),
            );
            let pull = if lanes.len() == 1 {
                quote!(let #(#cs)* = #p(#(#ds)*);)
            } else {
                quote!(let [#(#cs),*] = #p([#(#ds),*]);)
            };
            quote!(#rerun #pull #(#adds)*)
        }
        Stmt::Let { binding, active: true, value, .. } if active[*value] => {
            accumulate(*value, ctx.binding_adj(*binding).into_token_stream(), ctx)
        }
        Stmt::Let { .. } => TokenStream::new(),
        // `s = s`: the identity (its read shares the binding's adjoint).
        Stmt::Write { access, mode: WriteMode::Set, value }
            if access.path.is_empty() && ctx.reads.get(value) == Some(&access.binding) =>
        {
            TokenStream::new()
        }
        Stmt::Write { access, mode, value } => {
            let (b, path) = (ctx.binding_adj(access.binding), names::projection(&access.path));
            let place = quote!(#b #path);
            let dv = ctx.adj(*value);
            // Copied first: in `s += s` the value's adjoint is the binding's own.
            let propagate = active[*value].then(|| match mode {
                WriteMode::Sub => quote!({ let __w = #place; #krate::Tangent::sub_tangent(&mut #dv, __w); }),
                _ if ctx.single.contains(value) => quote!(let #dv = #place;),
                _ => quote!({ let __w = #place; #krate::Tangent::add_tangent(&mut #dv, __w); }),
            });
            let reset = (*mode == WriteMode::Set).then(|| quote!(#place = #krate::Tangent::zero_like(&#place);));
            quote!(#propagate #reset)
        }
        Stmt::Branch(b) => {
            let br = names::branch(b.id);
            let n = b.arms.len();
            let seed = b.result.filter(|r| active[*r]).map(Seed::Adjoint);
            let arms = b.arms.iter().enumerate().map(|(k, block)| {
                let ex: Vec<TokenStream> = forward::exports(block)
                    .into_iter()
                    .map(|(name, changed)| if changed { quote!(mut #name) } else { quote!(#name) })
                    .collect();
                let pattern =
                    (0..n).map(|j| if j == k { quote!(::core::option::Option::Some((#(#ex,)*))) } else { quote!(_) });
                let code = adjoint_tracked(block, ctx, seed, touched.cloned());
                quote!((#(#pattern,)*) => { #code })
            });
            quote! {
                match #br {
                    #(#arms)*
                    _ => {}
                }
            }
        }
        Stmt::Loop(l) => loop_stmt(l, ctx, touched),
    }
}

/// The temporaries whose adjoint the adjoint code of `s` (`stmt`) writes (or reads, for operands
/// it adds nothing to), and whether that write is one whole addition (`accumulate`). It must
/// follow `stmt`: `single` declares an adjoint at its one whole addition, and `assignable`
/// assigns a binding's adjoint there.
pub fn contributions(s: &Stmt, active: &[bool]) -> Vec<(Temp, bool)> {
    let operands = |args: &[Temp], whole: &dyn Fn(usize) -> bool| -> Vec<(Temp, bool)> {
        args.iter().enumerate().filter(|(_, t)| active[**t]).map(|(k, t)| (*t, whole(k))).collect()
    };
    match s {
        Stmt::Compute { op, args, .. } => match op {
            Op::Binary { .. } | Op::Neg | Op::Array | Op::Tuple | Op::Struct { .. } | Op::Copy => {
                operands(args, &|_| true)
            }
            Op::Method { float_args, .. } | Op::Rule { float_args, .. } => {
                operands(args, &|k| float_args.get(k).copied().unwrap_or(false))
            }
            // Added element by element, into a part, or not at all.
            Op::Repeat { .. } | Op::Project { .. } | Op::Hard(_) => operands(args, &|_| false),
        },
        Stmt::Call { args, .. } => args
            .iter()
            .filter_map(|a| match a {
                CallArg::Active(t) | CallArg::ActiveRef(t) if active[*t] => Some((*t, false)),
                _ => None,
            })
            .collect(),
        Stmt::Let { active: binding_active, value, .. } if active[*value] => vec![(*value, *binding_active)],
        Stmt::Write { mode, value, .. } if active[*value] => vec![(*value, *mode != WriteMode::Sub)],
        Stmt::Branch(b) => match b.head {
            BranchHead::Compare { lhs, rhs, .. } => operands(&[lhs, rhs], &|_| false),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// The adjoint of a rule call with one active float argument where the rule has a form for it
/// alone (`rules::has_first_forms`: the first; `dot` on duals with data: either): that
/// argument's cotangent, and none computed for the constants (`NAME_pullback_first`,
/// `NAME_bwd_first`, `dual::dot_constant_pullback`).
fn one_sided_rule(s: &Stmt, turbofish: &TokenStream, ctx: Ctx) -> Option<TokenStream> {
    let Stmt::Compute { temp, op: Op::Rule { name, float_args, residual, .. }, args } = s else { return None };
    let (krate, active, rule) = (ctx.krate, ctx.active, name.to_string());
    let k = crate::rules::sole_active_float(args, float_args, active)?;
    let floats: Vec<Temp> = args.iter().zip(float_args).filter(|(_, f)| **f).map(|(t, _)| *t).collect();
    let d = ctx.adj(*temp);
    let g = if rule == "dot" {
        // On duals with a data side (as the forward sweep's `dual::dot_constant`). Measured: on
        // plain floats LLVM drops the unused side of `dot_pullback` by itself, and a one-sided
        // form codes slower (logistic regression +8 % instructions); on duals it keeps it.
        if crate::forward::data_side(args, ctx) != Some(1 - k) {
            return None;
        }
        let data = names::temp(args[1 - k]);
        quote!(#krate::dual::dot_constant_pullback(#krate::IntoPrimal::into_primal(#data), #d))
    } else if k == 0 && crate::rules::has_first_forms(&rule) {
        match residual {
            // Added to the adjoint as it is computed, where it is added at all.
            Some(r) if adds(floats[k], ctx) => {
                let (bwd, r) = (format_ident!("{}_bwd_first_add", name, span = name.span()), names::temp(r.temp));
                let acc = ctx.adj(floats[k]);
                return Some(quote!(#krate::#bwd #turbofish (&#r, #d, &mut #acc);));
            }
            Some(r) => {
                let (bwd, r) = (format_ident!("{}_bwd_first", name, span = name.span()), names::temp(r.temp));
                quote!(#krate::#bwd #turbofish (&#r, #d))
            }
            // A split rule without a residual (from the relaxation) goes through its `_vjp`.
            None if crate::rules::rule(&rule).is_some_and(|r| r.form == crate::rules::Form::Split) => return None,
            None => {
                let p = format_ident!("{}_pullback_first", name, span = name.span());
                let values = args.iter().zip(float_args).map(|(t, is_float)| {
                    if *is_float { operand(*t, false, ctx) } else { names::temp(*t).into_token_stream() }
                });
                let value = names::temp(*temp);
                quote!(#krate::#p #turbofish (#(#values,)* #value, #d))
            }
        }
    } else {
        return None;
    };
    Some(accumulate(floats[k], g, ctx))
}

/// Whether a loop's adjoint may run its iterations in any order, and so first to last, which
/// writes a gradient's rows in the order memory lies (last first cost the two-layer network's
/// gradient 6 % on one processor): nothing stored per iteration, and every outer binding the body
/// changes only added to and never read in it. Then each iteration's adjoint reads only
/// loop-invariant cotangents (those of the changed bindings: `h += v` passes `dh` to `v` as it
/// is) and adds to the others, and the only difference an order makes is how sums of
/// contributions round. Branches, nested loops and calls keep the reverse order.
fn iterations_commute(l: &Loop) -> bool {
    if forward::has_storage(l) || !l.snapshots.is_empty() {
        return false;
    }
    let mut locals = HashSet::new();
    forward::declared_in(&l.body, &mut locals);
    let (mut changed, mut read) = (HashSet::new(), HashSet::new());
    for s in &l.body.stmts {
        match s {
            Stmt::Write { access, mode, .. } if !locals.contains(&access.binding) => {
                if *mode == WriteMode::Set {
                    return false;
                }
                changed.insert(access.binding);
            }
            Stmt::Read { access, .. } => {
                read.insert(access.binding);
            }
            Stmt::Verbatim { assigns, .. } if assigns.iter().any(|(b, _)| !locals.contains(b)) => return false,
            Stmt::Branch(_) | Stmt::Loop(_) | Stmt::Call { .. } => return false,
            _ => {}
        }
    }
    changed.is_disjoint(&read)
}

fn loop_stmt(l: &Loop, ctx: Ctx, touched: Option<&HashSet<BindingId>>) -> TokenStream {
    if let Some(fused) = &l.fused {
        // The forward sweep preaccumulated the loop's gradient: scale it by the accumulator's
        // adjoint; where nothing added to the input's adjoint yet, in place and taken as it
        // (neither zeros added to nor a copy of the Jacobian).
        let krate = ctx.krate;
        let lanes = ctx.each_lane();
        return lanes
            .iter()
            .flat_map(|lane| fused.inputs.iter().map(move |(b, _, _)| (*lane, *b)))
            .map(|(lane, b)| {
                let (target, j, acc) = (lane.binding_adj(b), names::jacobian(l.id, b), lane.binding_adj(fused.acc.0));
                match touched {
                    // One lane takes the Jacobian itself; several, each a copy.
                    Some(t) if !t.contains(&b) && lanes.len() == 1 => {
                        quote!(#krate::AddScaled::scale(&mut #j, #acc); #target = #j;)
                    }
                    Some(t) if !t.contains(&b) => quote!(#target = #j; #krate::AddScaled::scale(&mut #target, #acc);),
                    _ => quote!(#krate::AddScaled::add_scaled(&mut #target, #acc, #j);),
                }
            })
            .collect();
    }
    let k = names::counter(l.id);
    // The iterations that ran, last first.
    let code = match (&l.head, forward::has_counter(l), &l.exit) {
        (LoopHead::Range { index, lo, hi }, true, Some(_)) => {
            let (index, lo, hi) = (names::temp(*index), names::temp(*lo), names::temp(*hi));
            LoopCode::header(quote!(for #index in (#lo..#hi).take(#k).rev()))
        }
        (LoopHead::Range { .. }, false, None) if iterations_commute(l) => LoopCode::forward(l.id, &l.head),
        (LoopHead::Range { index, lo, hi }, _, _) => LoopCode::reversed(l.id, *index, *lo, *hi),
        _ => LoopCode::header(quote!(while #k > 0)),
    };
    let step = forward::has_counter(l).then(|| quote!(#k -= 1;));
    let restore = l.taped.iter().map(|(b, name)| {
        let t = names::binding_tape(l.id, *b);
        quote!(let mut #name = #t[#k];)
    });
    let snapshots = l.snapshots.iter().map(|(b, name)| {
        let s = names::snapshot(l.id, *b);
        quote!(let #name = #s;)
    });
    let mut locals: HashSet<BindingId> = l.taped.iter().map(|(b, _)| *b).collect();
    forward::declared_in(&l.body, &mut locals);
    let inner = Ctx { mode: Mode::Recompute { locals: &locals }, innermost_loop: Some(l.id), kept: &l.kept, ..ctx };
    let adjoint = adjoint(&l.body, inner, None);
    let recompute = crate::liveness::recompute(&l.body, &adjoint, |s| forward::stmt(s, inner));
    code.around(quote! {
        #step
        #(#restore)*
        #(#snapshots)*
        #recompute
        #adjoint
    })
}
