//! The forward sweep: the original computation, statement by statement, keeping in temporaries
//! what the adjoint sweep needs. Its float operations are those of the original function, so the
//! value is the same bit for bit.
//!
//! Run a second time inside a loop's adjoint (`Mode::Recompute`), it recomputes one iteration's
//! temporaries from the iteration's inputs instead of storing them: it writes only bindings local
//! to the loop (or restored from per-iteration storage), skips statements whose only effect is
//! outside, and reads sampled values and impure calls back from their storage.

use std::collections::HashSet;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};

use crate::ir::*;
use crate::names;

/// Whether statements run for the first time or are recomputed in a loop's adjoint.
#[derive(Clone, Copy)]
pub enum Mode<'a> {
    Forward,
    /// Recomputing a loop body: `locals` are the bindings it may write.
    Recompute {
        locals: &'a HashSet<BindingId>,
    },
}

/// Where code is generated: the crate path, the mode, the innermost loop (for storage), and the
/// binding adjoints a fused loop's adjoint writes elsewhere.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub krate: &'a syn::Path,
    /// Whether each temporary is active.
    pub active: &'a [bool],
    pub mode: Mode<'a>,
    pub innermost_loop: Option<usize>,
    /// The innermost loop's kept values (see `Loop::kept`).
    pub kept: &'a [Temp],
    pub redirect: &'a [(BindingId, proc_macro2::Ident)],
    /// Temporaries that read a whole binding: their adjoint is the binding's.
    pub reads: &'a std::collections::HashMap<Temp, BindingId>,
    /// The sine of a value to its cosine and back, where a block computes both (see
    /// [`trig_siblings`]).
    pub siblings: &'a std::collections::HashMap<Temp, Temp>,
    /// Passive temporaries that hold values, never references (sampled noise).
    pub owned: &'a HashSet<Temp>,
    /// Reads whose adjoint is the only one of its place (`sole::sole_reads`): assigned, not
    /// added.
    pub sole: &'a HashSet<Temp>,
    /// Temporaries whose adjoint is declared at its one contribution
    /// (`single::single_contributions`).
    pub single: &'a HashSet<Temp>,
    /// Loop-invariant factors taken out of fused loops' Jacobians (`factor`).
    pub factors: &'a crate::factor::Factors,
    /// Bindings whose adjoint the statement being emitted assigns rather than adds to: in code
    /// that runs once, nothing changed that adjoint yet (it holds −0.0) and the statement
    /// contributes to it once, whole (`adjoint::assignable`).
    pub assign: &'a [BindingId],
    /// The sweeps run on dual numbers (`NAME_hvp`): active values are of this type.
    pub dual: Option<&'a Dual>,
    /// `jacobian`: the pullback runs once per row, so each call's pullback must be `Clone`,
    /// which the forward sweep checks at the call (rustc's error would be at the attribute).
    pub reusable_pullbacks: bool,
    /// How many cotangents the adjoint pulls back side by side (`NAME_jacobian`'s rows in one
    /// sweep: each statement's adjoint once per lane, next to each other, which LLVM packs into
    /// vector instructions); 1 elsewhere.
    pub lanes: usize,
    /// The lane whose adjoint code is being emitted, where there are several: the adjoints' names
    /// end in `_l{lane}`.
    pub lane: Option<usize>,
}

/// The float type of a function and its dual, for the sweeps of `NAME_hvp` (forward over
/// reverse: the reverse sweeps run on dual numbers). Passive floats stay plain and are lifted
/// where an active operation takes them.
pub struct Dual {
    /// `f64`, `f32` or the function's `T: Real`.
    pub float: proc_macro2::Ident,
    /// `::relax::Dual<float>`.
    pub ty: TokenStream,
}

impl Dual {
    /// `ty` with the float type replaced by its dual.
    pub fn substitute(&self, ty: &TokenStream) -> TokenStream {
        ty.clone()
            .into_iter()
            .map(|tt| match tt {
                proc_macro2::TokenTree::Ident(i) if i == self.float => {
                    proc_macro2::Group::new(proc_macro2::Delimiter::None, self.ty.clone()).into()
                }
                proc_macro2::TokenTree::Group(g) => {
                    let mut inner = proc_macro2::Group::new(g.delimiter(), self.substitute(&g.stream()));
                    inner.set_span(g.span());
                    inner.into()
                }
                other => other,
            })
            .collect()
    }
}

/// What the sweeps read of a whole body, computed once: whole reads, sine–cosine pairs, sampled
/// temporaries, reads whose adjoint is assigned, adjoints declared at their one contribution.
pub struct BodyFacts {
    reads: std::collections::HashMap<Temp, BindingId>,
    siblings: std::collections::HashMap<Temp, Temp>,
    owned: HashSet<Temp>,
    sole: HashSet<Temp>,
    single: HashSet<Temp>,
    factors: crate::factor::Factors,
}

impl BodyFacts {
    /// The facts of `body`, a function's of signature `sig`.
    pub fn of(body: &Body, sig: &crate::signature::Signature) -> Self {
        let block = &body.block;
        let mut reads = std::collections::HashMap::new();
        whole_reads(block, &mut reads);
        let mut siblings = std::collections::HashMap::new();
        trig_siblings(block, &reads, &mut siblings);
        let mut owned = HashSet::new();
        block.drawn(&mut owned);
        // A slice's adjoint is the caller's buffer, which the pullback adds to.
        let params: HashSet<BindingId> = sig
            .params
            .iter()
            .zip(&body.params)
            .filter(|(p, _)| p.diff.is_some_and(|d| d != crate::signature::ByRef::Slice))
            .map(|(_, b)| *b)
            .collect();
        let single = crate::single::single_contributions(block, &body.active, &reads);
        let factors = crate::factor::factors(block, &body.active);
        BodyFacts { reads, siblings, owned, sole: crate::sole::sole_reads(block, &params), single, factors }
    }

    /// Sine–cosine pairs of one value, each to the other.
    pub fn siblings(&self) -> &std::collections::HashMap<Temp, Temp> {
        &self.siblings
    }

    /// Temporaries that hold sampled values.
    pub fn owned(&self) -> &HashSet<Temp> {
        &self.owned
    }

    /// The context of the body's forward sweep (and, as is, of its adjoint).
    pub fn ctx<'a>(&'a self, krate: &'a syn::Path, active: &'a [bool]) -> Ctx<'a> {
        Ctx {
            krate,
            active,
            mode: Mode::Forward,
            innermost_loop: None,
            kept: &[],
            redirect: &[],
            reads: &self.reads,
            siblings: &self.siblings,
            owned: &self.owned,
            sole: &self.sole,
            single: &self.single,
            factors: &self.factors,
            assign: &[],
            dual: None,
            reusable_pullbacks: false,
            lanes: 1,
            lane: None,
        }
    }
}

/// On the sweeps on duals, passive code (an expression, or statements where `stmts`) that
/// reads active bindings, as it runs there: on their values (see [`Stmt::Passive`]).
fn on_values(tokens: &TokenStream, stmts: bool, reads: &[crate::ir::ActiveRead], ctx: Ctx) -> Option<TokenStream> {
    (ctx.dual.is_some() && !reads.is_empty()).then(|| crate::values::on_values(tokens, stmts, reads, ctx.krate))
}

/// The forward code of loop `l`'s head.
fn loop_code(l: &Loop, ctx: Ctx) -> LoopCode {
    match &l.head {
        LoopHead::While { cond, reads } => match on_values(cond, false, reads, ctx) {
            Some(cond) => LoopCode::header(quote!(while #cond)),
            None => LoopCode::forward(l.id, &l.head),
        },
        _ => LoopCode::forward(l.id, &l.head),
    }
}

impl Ctx<'_> {
    /// A passive value that is data (not sampled noise, which the sweeps on duals draw as duals).
    pub fn is_data(&self, t: Temp) -> bool {
        !self.active[t] && !self.owned.contains(&t)
    }

    /// Temporary `t` as the operand of an active operation: itself, or, on dual numbers, a
    /// passive float lifted to a dual (to `dual.ty` for a `scalar`, else to what the use infers).
    pub fn operand(&self, t: Temp, scalar: bool) -> TokenStream {
        let x = names::temp(t);
        match self.dual {
            Some(dual) if self.is_data(t) => {
                let (krate, d) = (self.krate, &dual.ty);
                if scalar { quote!(#krate::Lift::<#d>::lift(#x)) } else { quote!(#krate::Lift::lift(#x)) }
            }
            _ => x.into_token_stream(),
        }
    }

    /// A data operand of a float operation, read as the float: on duals the float type is
    /// named, as `Dual ⊗ T` and `Dual ⊗ Dual` (and the rules on duals, which take either) would
    /// leave a reference's target open (the item of `for y in ys`).
    pub fn data_float(&self, x: &TokenStream) -> TokenStream {
        let krate = self.krate;
        match self.dual {
            Some(Dual { float, .. }) => quote!(#krate::IntoPrimal::<#float>::into_primal(#x)),
            None => quote!(#krate::IntoPrimal::into_primal(#x)),
        }
    }

    /// The adjoint of binding `b` here: `__b{b}`, or where a fused loop redirects it.
    pub fn binding_adj(&self, b: BindingId) -> proc_macro2::Ident {
        let name = self
            .redirect
            .iter()
            .find(|(id, _)| *id == b)
            .map_or_else(|| names::binding_adj(b), |(_, name)| name.clone());
        self.in_lane(name)
    }

    /// The name `name` of a cotangent in this lane: `{name}_l{lane}`, or `name` with one lane.
    pub fn in_lane(&self, name: proc_macro2::Ident) -> proc_macro2::Ident {
        match self.lane {
            Some(lane) if self.lanes > 1 => names::in_lane(&name, lane),
            _ => name,
        }
    }

    /// The context of each lane, where code for all of them is being emitted; else this one.
    pub fn each_lane(&self) -> Vec<Self> {
        match self.lane {
            None if self.lanes > 1 => (0..self.lanes).map(|lane| Ctx { lane: Some(lane), ..*self }).collect(),
            _ => vec![*self],
        }
    }

    /// The adjoint of temporary `t`: `__d{t}`, or, for a read of a whole binding, the binding's
    /// adjoint itself. That is sound because a read's consumers are in the same expression,
    /// before any write of the statement, so no write's adjoint can come between them.
    pub fn adj(&self, t: Temp) -> proc_macro2::Ident {
        self.reads.get(&t).map_or_else(|| self.in_lane(names::adj(t)), |b| self.binding_adj(*b))
    }
}

/// The temporaries of `block` (at any depth) that read a whole binding.
fn whole_reads(block: &Block, out: &mut std::collections::HashMap<Temp, BindingId>) {
    for s in &block.stmts {
        match s {
            Stmt::Read { temp, access } if access.path.is_empty() => {
                out.insert(*temp, access.binding);
            }
            Stmt::Branch(b) => b.arms.iter().for_each(|arm| whole_reads(arm, out)),
            Stmt::Loop(l) => whole_reads(&l.body, out),
            _ => {}
        }
    }
}

/// The sine and the cosine of one value in one block, each to the other: its pullback then
/// needs no third trigonometric function. One value: the same temporary, or whole reads of a
/// binding with only reads and computations between them.
fn trig_siblings(
    block: &Block,
    reads: &std::collections::HashMap<Temp, BindingId>,
    out: &mut std::collections::HashMap<Temp, Temp>,
) {
    let trig = |s: &Stmt| match s {
        Stmt::Compute { temp, op: Op::Method { name, .. }, args } if name == "sin" || name == "cos" => {
            Some((name == "sin", *temp, args[0]))
        }
        _ => None,
    };
    for (k, first) in block.stmts.iter().enumerate() {
        let Some((is_sin, t, x)) = trig(first) else { continue };
        for later in &block.stmts[k + 1..] {
            match trig(later) {
                Some((other_is_sin, u, y))
                    if other_is_sin != is_sin
                        && (x == y || reads.get(&x).is_some_and(|b| reads.get(&y) == Some(b))) =>
                {
                    out.entry(t).or_insert(u);
                    out.entry(u).or_insert(t);
                    break;
                }
                _ if matches!(
                    later,
                    Stmt::Read { .. } | Stmt::Compute { .. } | Stmt::Passive { impure: false, .. }
                ) => {}
                _ => break,
            }
        }
    }
    for s in &block.stmts {
        match s {
            Stmt::Branch(b) => b.arms.iter().for_each(|arm| trig_siblings(arm, reads, out)),
            Stmt::Loop(l) => trig_siblings(&l.body, reads, out),
            _ => {}
        }
    }
}

/// On duals, which of two operands is data (passive, not sampled) while the other is active.
pub fn data_side(args: &[Temp], ctx: Ctx) -> Option<usize> {
    ctx.dual?;
    match (ctx.is_data(args[0]), ctx.is_data(args[1])) {
        (true, false) => Some(0),
        (false, true) => Some(1),
        _ => None,
    }
}

/// The forward code of `block`'s statements (not its result).
pub fn forward(block: &Block, ctx: Ctx) -> TokenStream {
    block.stmts.iter().map(|s| stmt(s, ctx)).collect()
}

fn access_tokens(a: &Access) -> TokenStream {
    let name = &a.name;
    let path = names::projection(&a.path);
    if a.deref && a.path.is_empty() { quote!(*#name) } else { quote!(#name #path) }
}

/// `let` of temporary `t`, the value of the softmax-family rule `name` on `args`, and of its
/// residual where it is computed here: `NAME_fwd` or `NAME_fwd_first`, or `NAME_from` an earlier
/// rule's residual of the same arguments. Both sweeps and forward mode compute the value so.
pub fn residual_value(
    name: &proc_macro2::Ident,
    turbofish: &TokenStream,
    args: &[TokenStream],
    t: Temp,
    residual: &Residual,
    krate: &syn::Path,
) -> TokenStream {
    let (t, r) = (names::temp(t), names::temp(residual.temp));
    let suffix = match residual.source {
        ResidualSource::Shared => {
            let from = quote::format_ident!("{}_from", name, span = name.span());
            return quote!(let #t = #krate::#from(&#r););
        }
        ResidualSource::Fwd => "fwd",
        ResidualSource::FwdFirst => "fwd_first",
    };
    let fwd = quote::format_ident!("{}_{}", name, suffix, span = name.span());
    quote!(let (#t, #r) = #krate::#fwd #turbofish (#(#args),*);)
}

/// Reads a stored value of the innermost loop back (`Recompute`) or stores it (`Forward`).
fn tape(what: TokenStream, key: Temp, ctx: Ctx) -> (bool, TokenStream) {
    let Some(id) = ctx.innermost_loop else {
        return (false, TokenStream::new());
    };
    let (tape, k) = (names::temp_tape(key), names::counter(id));
    match ctx.mode {
        Mode::Forward => (false, quote!(#tape[#k] = ::core::option::Option::Some(#what);)),
        Mode::Recompute { .. } => {
            (true, quote!(let ::core::option::Option::Some(#what) = #tape[#k].take() else { ::core::unreachable!() };))
        }
    }
}

/// The forward code of one statement.
pub fn stmt(s: &Stmt, ctx: Ctx) -> TokenStream {
    let krate = ctx.krate;
    let recompute = matches!(ctx.mode, Mode::Recompute { .. });
    let is_local = |b: &BindingId| match ctx.mode {
        Mode::Recompute { locals } => locals.contains(b),
        Mode::Forward => true,
    };
    match s {
        Stmt::Passive { temp, expr, impure, reads } => {
            let t = names::temp(*temp);
            let expr = on_values(expr, false, reads, ctx).unwrap_or_else(|| expr.clone());
            if *impure {
                let (replaces, stored) = tape(t.to_token_stream(), *temp, ctx);
                if replaces {
                    return stored;
                }
                return quote!(let #t = #expr; #stored);
            }
            quote!(let #t = #expr;)
        }
        Stmt::Verbatim { tokens, binds, assigns, impure, reads } => {
            // Declaring nothing, it may run in a block, on the values of what it reads.
            let on_values = on_values(tokens, true, reads, ctx);
            let tokens = on_values.as_ref().unwrap_or(tokens);
            // Run again where it declares something, or writes only what the recomputed
            // iteration restores or declares and `normalize`'s exit flags and return slots (the
            // iteration's rest tests the flags it restores: without them it would run on past an
            // early `return`, and load draws that never ran). Those it does not restore may be out
            // of the adjoint's scope: written into a fresh local instead, which nothing reads.
            let rerun = !impure
                && (!binds.is_empty()
                    || (!assigns.is_empty()
                        && assigns.iter().all(|(b, name)| is_local(b) || crate::normalize::is_rewritten(name))));
            if !recompute {
                return tokens.clone();
            }
            if !rerun {
                return TokenStream::new();
            }
            let fresh = assigns
                .iter()
                .filter(|(b, name)| !is_local(b) && crate::normalize::is_rewritten(name))
                .map(|(_, name)| name);
            quote!(#(let mut #fresh;)* #tokens)
        }
        Stmt::Read { temp, access } => {
            let (t, a) = (names::temp(*temp), access_tokens(access));
            quote!(let #t = #a;)
        }
        Stmt::Compute { temp, .. } if ctx.kept.contains(temp) && recompute => {
            let (t, tape, k) = (
                names::temp(*temp),
                names::temp_tape(*temp),
                names::counter(ctx.innermost_loop.expect("kept in a loop")),
            );
            quote!(let #t = #tape[#k];)
        }
        Stmt::Compute { temp, op, args } => {
            let t = names::temp(*temp);
            let a: Vec<TokenStream> = args.iter().map(|x| names::temp(*x).into_token_stream()).collect();
            let scalar = |k: usize| ctx.operand(args[k], true);
            let value = match op {
                Op::Binary { op, pullback } => {
                    // On duals, a data operand stays a float: `Dual ⊗ T` does not multiply its
                    // zero tangent (`relax_core::dual`). On the left only where `⊗` commutes
                    // (`T ⊗ Dual` exists for f32 and f64, not for a generic float).
                    let raw = |k: usize| ctx.data_float(&a[k]);
                    let commutes = matches!(*pullback, "add_vjp" | "mul_vjp");
                    match data_side(args, ctx) {
                        Some(1) => {
                            let (l, r) = (scalar(0), raw(1));
                            quote!(#l #op #r)
                        }
                        Some(0) if commutes => {
                            let (l, r) = (raw(0), scalar(1));
                            quote!(#r #op #l)
                        }
                        _ => {
                            let (l, r) = (scalar(0), scalar(1));
                            quote!(#l #op #r)
                        }
                    }
                }
                Op::Neg => {
                    let x = &a[0];
                    quote!(-#x)
                }
                Op::Method { name, float_args } => {
                    let a: Vec<TokenStream> =
                        (0..args.len()).map(|k| if float_args[k] { scalar(k) } else { a[k].clone() }).collect();
                    let (recv, rest) = (&a[0], &a[1..]);
                    quote!(#recv.#name(#(#rest),*))
                }
                // On duals, a `dot` with a data side keeps it floats (`dual::dot_constant`).
                Op::Rule { name, .. } if name == "dot" && args.len() == 2 && data_side(args, ctx).is_some() => {
                    let k = data_side(args, ctx).expect("checked");
                    let (active, data) = (ctx.operand(args[1 - k], false), &a[k]);
                    quote!(#krate::dual::dot_constant(#active, #krate::IntoPrimal::into_primal(#data)))
                }
                Op::Rule { name, generics, residual, float_args } => {
                    let a: Vec<TokenStream> = (0..args.len())
                        .map(|k| if float_args[k] { ctx.operand(args[k], false) } else { a[k].clone() })
                        .collect();
                    let generics = ctx.dual.map_or_else(|| generics.clone(), |d| d.substitute(generics));
                    let turbofish = if generics.is_empty() { TokenStream::new() } else { quote!(::#generics) };
                    if let Some(residual) = residual {
                        return residual_value(name, &turbofish, &a, *temp, residual, krate);
                    }
                    quote!(#krate::#name #turbofish (#(#a),*))
                }
                Op::Array => {
                    let a = args.iter().map(|x| ctx.operand(*x, false));
                    quote!([#(#a),*])
                }
                Op::Repeat { len } => {
                    let x = ctx.operand(args[0], false);
                    quote!([#x; #len])
                }
                Op::Tuple => quote!((#(#a,)*)),
                Op::Project { path } => {
                    let (x, path) = (&a[0], names::projection(path));
                    quote!(#x #path)
                }
                // On duals a passive field (a constant, data) goes in as the field's type takes it:
                // lifted into a differentiated field, as it is into a data one.
                Op::Struct { path, fields } if ctx.dual.is_some() => {
                    let a = args.iter().zip(&a).map(|(t, x)| {
                        if ctx.is_data(*t) { quote!(#krate::dual::IntoDual::into_dual(#x)) } else { x.clone() }
                    });
                    quote!(#path { #(#fields: #a),* })
                }
                Op::Struct { path, fields } => quote!(#path { #(#fields: #a),* }),
                Op::Copy => {
                    let x = &a[0];
                    quote!(#x)
                }
                Op::Hard(hard) => hard_value(*hard, &a, krate),
            };
            let keep = ctx.innermost_loop.filter(|_| ctx.kept.contains(temp)).map(|id| {
                let (tape, k) = (names::temp_tape(*temp), names::counter(id));
                quote!(#tape[#k] = #t;)
            });
            quote!(let #t = #value; #keep)
        }
        Stmt::Call { temp, pullback, callee, args, impure, recompute } => {
            let (t, p) = (names::temp(*temp), names::temp(*pullback));
            let call = call_tokens(callee, args, ctx);
            if *recompute {
                return quote!(let (#t, _) = #call;);
            }
            let reusable = (ctx.reusable_pullbacks && matches!(ctx.mode, Mode::Forward)).then(|| {
                let (krate, span) =
                    (ctx.krate, callee.clone().into_iter().next().map_or_else(Span::call_site, |t| t.span()));
                let p = names::respan(p.to_token_stream(), span);
                quote_spanned!(span=> #krate::tangent::require_reusable(&#p);)
            });
            if *impure {
                let (replaces, stored) = tape(quote!((#t, #p)), *temp, ctx);
                if replaces {
                    return stored;
                }
                return quote!(let (#t, #p) = #call; #reusable #stored);
            }
            quote!(let (#t, #p) = #call; #reusable)
        }
        Stmt::Let { name, mutable, ty, value, active, .. } => {
            let v = names::temp(*value);
            let m = mutable.then(|| quote!(mut));
            let ty = ty.as_ref().map(|ty| ty.to_token_stream());
            match ctx.dual {
                // The temporary itself is lifted (shadowed), so that the adjoint's zero of the
                // binding's shape, taken from it, is a dual too.
                Some(dual) if *active => {
                    // A passive value's type as the binding declares it, before it is lifted:
                    // `Seed::constant` cannot infer it back from the dual's (a return slot's
                    // `zero_tangent()`).
                    let pin = ty.as_ref().map(|ty| quote!(let #v: #ty = #v;));
                    let ty = ty.map(|ty| {
                        let ty = dual.substitute(&ty);
                        quote!(: #ty)
                    });
                    // Lifted to the dual of its own shape (its type fixes the target, which the
                    // binding's later uses may not).
                    if ctx.active[*value] || ctx.owned.contains(value) {
                        quote!(let #m #name #ty = #v;)
                    } else {
                        let krate = ctx.krate;
                        quote!(#pin let #v = #krate::dual::Seed::constant(#v); let #m #name #ty = #v;)
                    }
                }
                _ => {
                    let ty = ty.map(|ty| quote!(: #ty));
                    quote!(let #m #name #ty = #v;)
                }
            }
        }
        Stmt::Write { access, mode, value } => {
            if !is_local(&access.binding) {
                return TokenStream::new();
            }
            let (a, v) = (access_tokens(access), ctx.operand(*value, false));
            match mode {
                WriteMode::Set => quote!(#a = #v;),
                WriteMode::Add => quote!(#a += #v;),
                WriteMode::Sub => quote!(#a -= #v;),
            }
        }
        Stmt::Branch(b) => branch_stmt(b, ctx),
        Stmt::Loop(l) => loop_stmt(l, ctx),
    }
}

/// A call of a differentiable callee's split form (on duals, of its `names::hvp_form`; with
/// several lanes, of its `names::lanes_form`), which
/// returns the value and the pullback: its sweeps end with `ReturnPullback`, whose type a
/// turbofish the caller wrote leaves to inference.
pub fn call_tokens(callee: &TokenStream, args: &[CallArg], ctx: Ctx) -> TokenStream {
    let callee = if ctx.dual.is_some() {
        names::retarget(callee, names::HVP_SUFFIX)
    } else if ctx.lanes > 1 {
        names::retarget(callee, &names::lanes_suffix(ctx.lanes))
    } else {
        callee.clone()
    };
    let callee = names::infer_end_type(callee);
    let krate = ctx.krate;
    let args = args.iter().map(|a| match a {
        CallArg::Active(t) => names::temp(*t).into_token_stream(),
        CallArg::ActiveRef(t) => {
            let t = names::temp(*t);
            quote!(&#t)
        }
        // On duals a float constant or data may go to a parameter the callee differentiates,
        // which takes a dual there: the callee's parameter type picks the lift or the identity.
        CallArg::Data(tokens) if ctx.dual.is_some() => quote!(#krate::dual::IntoDual::into_dual(#tokens)),
        CallArg::Data(tokens) => tokens.clone(),
    });
    // The call at the callee's span, so that rustc's notes on the callee's instantiation point
    // at the call the user wrote.
    quote_spanned!(names::form_span(&callee)=> #callee(#(#args,)* #krate::tangent::ReturnPullback))
}

/// The locals a block defines at its own level, which its adjoint reads, and whether the
/// adjoint changes them (a loop's counter, storage it takes values out of).
pub fn exports(block: &Block) -> Vec<(proc_macro2::Ident, bool)> {
    let mut out = Vec::new();
    let read = |name| (name, false);
    for s in &block.stmts {
        match s {
            Stmt::Compute { temp, op: Op::Rule { residual: Some(r), .. }, .. } if r.computed_here() => {
                out.extend([read(names::temp(*temp)), read(names::temp(r.temp))]);
            }
            Stmt::Passive { temp, .. } | Stmt::Read { temp, .. } | Stmt::Compute { temp, .. } => {
                out.push(read(names::temp(*temp)))
            }
            Stmt::Call { temp, recompute: true, .. } => out.push(read(names::temp(*temp))),
            Stmt::Call { temp, pullback, .. } => out.extend([read(names::temp(*temp)), read(names::temp(*pullback))]),
            Stmt::Branch(b) => {
                out.push(read(names::branch(b.id)));
                out.extend(b.result.map(|r| read(names::temp(r))));
            }
            Stmt::Loop(f) => {
                out.extend(f.kept.iter().map(|t| read(names::temp_tape(*t))));
                if let Some(fused) = &f.fused {
                    // Mutable: the adjoint may scale a Jacobian in place.
                    out.extend(fused.inputs.iter().map(|(b, _, _)| (names::jacobian(f.id, *b), true)));
                }
                out.extend(f.snapshots.iter().map(|(b, _)| read(names::snapshot(f.id, *b))));
                out.extend(f.taped.iter().map(|(b, _)| read(names::binding_tape(f.id, *b))));
                out.extend(f.impure.iter().map(|t| (names::temp_tape(*t), true)));
                if has_counter(f) {
                    out.push((names::counter(f.id), true));
                }
            }
            Stmt::Verbatim { .. } | Stmt::Let { .. } | Stmt::Write { .. } => {}
        }
    }
    out
}

pub fn has_storage(l: &Loop) -> bool {
    !l.taped.is_empty() || !l.impure.is_empty() || !l.kept.is_empty()
}

/// A loop counts its iterations when it stores per iteration or when the adjoint cannot tell
/// its trip count otherwise (an exit, a `while`); a fused loop's adjoint runs inside it.
pub fn has_counter(l: &Loop) -> bool {
    l.fused.is_none() && (has_storage(l) || l.exit.is_some() || !matches!(l.head, LoopHead::Range { .. }))
}

/// The record of which arm ran, with its temporaries: a tuple with one `Option` per arm.
fn branch_stmt(b: &Branch, ctx: Ctx) -> TokenStream {
    let br = names::branch(b.id);
    let n = b.arms.len();
    let arm_code = |k: usize, block: &Block| {
        let code = forward(block, ctx);
        let ex: Vec<proc_macro2::Ident> = exports(block).into_iter().map(|(name, _)| name).collect();
        let record = (0..n).map(|j| {
            if j == k { quote!(::core::option::Option::Some((#(#ex,)*))) } else { quote!(::core::option::Option::None) }
        });
        let record = quote!((#(#record,)*));
        match (b.result, block.result) {
            (Some(result), Some(r)) => {
                let r = if ctx.active[result] { ctx.operand(r, false) } else { names::temp(r).into_token_stream() };
                quote!({ #code (#r, #record) })
            }
            _ => quote!({ #code #record }),
        }
    };
    let chosen = match &b.head {
        BranchHead::If(cond) | BranchHead::Compare { cond, .. } => {
            let cond = names::temp(*cond);
            let (then, otherwise) = (arm_code(0, &b.arms[0]), arm_code(1, &b.arms[1]));
            quote!(if #cond #then else #otherwise)
        }
        BranchHead::Match { scrutinee, patterns, guard_reads } => {
            let arms = patterns.iter().zip(&b.arms).enumerate().map(|(k, (pat, block))| {
                let code = arm_code(k, block);
                let pat = match ctx.dual {
                    Some(_) => crate::values::guard_on_values(pat, &guard_reads[k], ctx.krate),
                    None => pat.clone(),
                };
                quote!(#pat => #code,)
            });
            quote!(match #scrutinee { #(#arms)* })
        }
    };
    match b.result {
        Some(r) => {
            let r = names::temp(r);
            quote!(let (#r, #br) = #chosen;)
        }
        None => quote!(let #br = #chosen;),
    }
}

/// A loop as emitted: what runs before it, its header, and the first statements of its body.
///
/// A range loop is a `while` over a cursor rather than a `for` over the range: rustc checks a
/// `for` over a range as trait calls (`into_iter`, `next`, a `match` on the `Option`), about
/// 0.8 M instructions of build time per loop, where a comparison and a step cost next to nothing,
/// and LLVM compiles both to the same loop. The cursor steps before the body runs, so no path
/// through the body skips it, and never past the range's ends (no overflow at a type's limits).
pub struct LoopCode {
    before: TokenStream,
    header: TokenStream,
    first: TokenStream,
}

impl LoopCode {
    /// Loop `id` with head `head`, in the forward sweep's order.
    pub fn forward(id: usize, head: &LoopHead) -> Self {
        match head {
            LoopHead::Range { index, lo, hi } => {
                let (index, lo, hi, c) = (names::temp(*index), names::temp(*lo), names::temp(*hi), names::cursor(id));
                LoopCode {
                    before: quote!(let mut #c = #lo;),
                    header: quote!(while #c < #hi),
                    first: quote!(let #index = #c; #c += 1;),
                }
            }
            LoopHead::While { cond, .. } => LoopCode::header(quote!(while #cond)),
            LoopHead::Infinite => LoopCode::header(quote!(loop)),
        }
    }

    /// Loop `id` over the range `lo..hi`, last index first.
    pub fn reversed(id: usize, index: Temp, lo: Temp, hi: Temp) -> Self {
        let (index, lo, hi, c) = (names::temp(index), names::temp(lo), names::temp(hi), names::cursor(id));
        LoopCode {
            before: quote!(let mut #c = #hi;),
            header: quote!(while #c > #lo),
            first: quote!(#c -= 1; let #index = #c;),
        }
    }

    /// A loop that is its header alone.
    pub fn header(header: TokenStream) -> Self {
        LoopCode { before: TokenStream::new(), header, first: TokenStream::new() }
    }

    /// The loop around `body`.
    pub fn around(self, body: TokenStream) -> TokenStream {
        let LoopCode { before, header, first } = self;
        quote!(#before #header { #first #body })
    }
}

fn loop_stmt(l: &Loop, ctx: Ctx) -> TokenStream {
    if let Some(fused) = &l.fused {
        return fused_loop(l, fused, ctx);
    }
    let code = loop_code(l, ctx);
    let bound = l.bound.as_ref().map_or_else(|| quote!(0), |b| b.len.clone());
    let k = names::counter(l.id);
    let snapshots = l.snapshots.iter().map(|(b, name)| {
        let s = names::snapshot(l.id, *b);
        quote!(let #s = #name;)
    });
    let tapes = l.taped.iter().map(|(b, name)| {
        let t = names::binding_tape(l.id, *b);
        quote!(let mut #t = [#name; #bound];)
    });
    let temp_tapes = l.impure.iter().map(|t| {
        let t = names::temp_tape(*t);
        quote!(let mut #t = [const { ::core::option::Option::None }; #bound];)
    });
    let kept_tapes = l.kept.iter().map(|t| {
        let t = names::temp_tape(*t);
        quote!(let mut #t = [::core::default::Default::default(); #bound];)
    });
    let record = l.taped.iter().map(|(b, name)| {
        let t = names::binding_tape(l.id, *b);
        quote!(#t[#k] = #name;)
    });
    let overflow = l
        .bound
        .as_ref()
        .and_then(|b| b.overflow.as_ref())
        .filter(|_| has_storage(l))
        .map(|message| quote!(if #k >= #bound { ::core::panic!(#message) }));
    let counter = has_counter(l).then(|| quote!(let mut #k: usize = 0;));
    let step = has_counter(l).then(|| quote!(#k += 1;));
    let exit = l.exit.as_ref().map(|flags| quote!(if #flags { break; }));
    let body = forward(&l.body, Ctx { innermost_loop: Some(l.id), kept: &l.kept, ..ctx });
    let setup = quote! {
        #(#snapshots)*
        #(#tapes)*
        #(#temp_tapes)*
        #(#kept_tapes)*
        #counter
    };
    let looped = code.around(quote! {
        #overflow
        #(#record)*
        #body
        #step
        #exit
    });
    quote!(#setup #looped)
}

/// A fused accumulation loop: each iteration's adjoint, for a unit cotangent of the accumulator,
/// runs right after it and adds into the inputs' Jacobians.
fn fused_loop(l: &Loop, fused: &Fused, ctx: Ctx) -> TokenStream {
    let krate = ctx.krate;
    let code = loop_code(l, ctx);
    let (one, acc) = (names::unit(l.id), &fused.acc.1);
    let jacobians = fused.inputs.iter().map(|(b, name, is_ref)| {
        let j = names::jacobian(l.id, *b);
        let value = if *is_ref { quote!(#name) } else { quote!(&#name) };
        quote!(let mut #j = #krate::Tangent::zero_like(#value);)
    });
    let mut redirect: Vec<(BindingId, proc_macro2::Ident)> = vec![(fused.acc.0, one.clone())];
    redirect.extend(fused.inputs.iter().map(|(b, _, _)| (*b, names::jacobian(l.id, *b))));
    // Preaccumulated once, for the unit cotangent, whatever the lanes of the adjoint proper.
    let inner = Ctx { innermost_loop: None, kept: &[], redirect: &redirect, lanes: 1, lane: None, ..ctx };
    let body = forward(&l.body, inner);
    let adjoint = crate::adjoint::adjoint(&l.body, inner, None);
    let exit = l.exit.as_ref().map(|flags| quote!(if #flags { break; }));
    let looped = code.around(quote! {
        #body
        { #adjoint }
        #exit
    });
    // The factors the iterations left out (`factor`), by the bindings' values, which the loop
    // does not change.
    let factored = ctx.factors.after.get(&l.id).into_iter().flatten().map(|factor| {
        let (j, name) = (names::jacobian(l.id, factor.input), &factor.name);
        let value = if factor.by_ref { quote!(#name) } else { quote!(&#name) };
        let apply = if factor.divides { quote!(divide_elementwise) } else { quote!(scale_elementwise) };
        quote!(#krate::tangent::ScaleElementwise::#apply(&mut #j, #value);)
    });
    quote! {
        let #one = #krate::tangent::one_like(&#acc);
        #(#jacobians)*
        #looped
        #(#factored)*
    }
}

/// Every binding declared inside `block` (at any depth).
pub fn declared_in(block: &Block, out: &mut HashSet<BindingId>) {
    for s in &block.stmts {
        match s {
            Stmt::Let { binding, .. } => {
                out.insert(*binding);
            }
            Stmt::Verbatim { binds, .. } => out.extend(binds.iter().map(|(b, _)| *b)),
            Stmt::Branch(b) => b.arms.iter().for_each(|arm| declared_in(arm, out)),
            Stmt::Loop(l) => declared_in(&l.body, out),
            _ => {}
        }
    }
}

/// The value of a hard operation, as the original computes it (its derivative is zero almost
/// everywhere: only a relaxed function's `relax` stage gives it one).
pub fn hard_value(hard: Hard, a: &[TokenStream], krate: &syn::Path) -> TokenStream {
    match hard {
        Hard::Step(name) => {
            let (x, name) = (&a[0], quote::format_ident!("{}", name));
            quote!(#x.#name())
        }
        Hard::Compare { way, or_equal } => {
            let (l, r) = (&a[0], &a[1]);
            let op = match (way, or_equal) {
                (Comparison::Greater, false) => quote!(>),
                (Comparison::Greater, true) => quote!(>=),
                (Comparison::Less, false) => quote!(<),
                (Comparison::Less, true) => quote!(<=),
            };
            quote!(#krate::IntoReal::into_real(u8::from(#l #op #r)))
        }
        Hard::ArgmaxIndex => {
            let x = &a[0];
            quote!(#krate::IntoReal::into_real(#krate::argmax(#x)))
        }
        Hard::OneHotArgmax => {
            let x = &a[0];
            quote!(#krate::one_hot(#krate::argmax(#x)))
        }
        Hard::IndexArgmax => {
            let (y, x) = (&a[0], &a[1]);
            quote!(#y[#krate::argmax(#x)])
        }
    }
}
