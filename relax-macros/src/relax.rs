//! The relaxation stage of `#[differentiable(relaxed)]`: the intermediate form of the hard
//! function into that of `NAME_relaxed`, on which the same sweeps then run.
//!
//! Every hard operation on active values is replaced by its relaxation at the temperature `t`, a
//! rule of relax-core (`relaxed_max`, `relaxed_round`, `soft_argmax`, `blend`, …), by SPEC's table;
//! an `if` on a comparison of active values runs both arms, each on copies of the bindings it
//! writes, and blends every such binding and its value by the comparison's sigmoid. What cannot be
//! blended (an arm that leaves a loop or the function, samples, or writes data) is an error at
//! the `if`. A call of another differentiable function calls its relaxed form at the same
//! temperature (`g(x)` becomes `g_relaxed(x, t)`): the callee must be `relaxed` too, as `hvp`
//! needs `hvp` of its callees; a call of a `NAME_relaxed` function is kept as written.

use std::collections::{BTreeMap, HashSet};

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

use crate::ir::*;

/// Rewrites `body` into the relaxed function's, whose temperature is the parameter `t`.
pub fn relax(body: &Body, t: &Ident) -> Result<Body, Vec<syn::Error>> {
    let mut r = Relaxer {
        t,
        active: body.active.clone(),
        next_binding: body.bindings,
        next_id: max_id(&body.block) + 1,
        ifs: &body.compare_ifs,
        errors: Vec::new(),
    };
    let block = r.block(&body.block);
    if !r.errors.is_empty() {
        return Err(r.errors);
    }
    Ok(Body {
        block,
        active: r.active,
        params: body.params.clone(),
        hard: false,
        bindings: r.next_binding,
        compare_ifs: BTreeMap::new(),
        named_in_tokens: body.named_in_tokens.clone(),
        redeclared: body.redeclared.clone(),
    })
}

struct Relaxer<'a> {
    t: &'a Ident,
    active: Vec<bool>,
    next_binding: BindingId,
    next_id: usize,
    ifs: &'a BTreeMap<usize, Span>,
    errors: Vec<syn::Error>,
}

/// The largest branch or loop id in `block`.
fn max_id(block: &Block) -> usize {
    block
        .stmts
        .iter()
        .map(|s| match s {
            Stmt::Branch(b) => b.arms.iter().map(max_id).max().unwrap_or(0).max(b.id),
            Stmt::Loop(l) => max_id(&l.body).max(l.id),
            _ => 0,
        })
        .max()
        .unwrap_or(0)
}

/// A rule of relax-core, differentiated in every argument.
fn rule(name: &str, args: usize) -> Op {
    Op::Rule {
        name: format_ident!("{}", name),
        generics: TokenStream::new(),
        float_args: vec![true; args],
        residual: None,
    }
}

impl Relaxer<'_> {
    fn temp(&mut self, active: bool) -> Temp {
        self.active.push(active);
        self.active.len() - 1
    }

    /// `let __t = t;`: the temperature, for a relaxed rule.
    fn temperature(&mut self, out: &mut Vec<Stmt>) -> Temp {
        let temp = self.temp(false);
        let t = self.t;
        out.push(Stmt::Passive { temp, expr: quote!(#t), impure: false, reads: Vec::new() });
        temp
    }

    /// `temp = name(args…, t)`.
    fn relaxed_rule(&mut self, temp: Temp, name: &str, mut args: Vec<Temp>, out: &mut Vec<Stmt>) {
        args.push(self.temperature(out));
        out.push(Stmt::Compute { temp, op: rule(name, args.len()), args });
    }

    fn block(&mut self, block: &Block) -> Block {
        let mut stmts = Vec::new();
        for s in &block.stmts {
            self.stmt(s, &mut stmts);
        }
        Block { stmts, result: block.result }
    }

    fn stmt(&mut self, s: &Stmt, out: &mut Vec<Stmt>) {
        match s {
            Stmt::Compute { temp, op, args } => self.compute(*temp, op, args, out),
            Stmt::Branch(b) => match b.head {
                BranchHead::Compare { way, lhs, rhs, .. } => self.blend(b, way, lhs, rhs, out),
                _ => {
                    let mut b = (**b).clone();
                    b.arms = b.arms.iter().map(|arm| self.block(arm)).collect();
                    out.push(Stmt::Branch(Box::new(b)));
                }
            },
            Stmt::Loop(l) => {
                let mut l = (**l).clone();
                l.body = self.block(&l.body);
                out.push(Stmt::Loop(Box::new(l)));
            }
            Stmt::Call { temp, pullback, callee, args, impure, recompute } => {
                let mut args = args.clone();
                let callee = match crate::names::relaxed_form(callee) {
                    Some(relaxed) => {
                        let t = self.t;
                        args.push(CallArg::Data(quote!(#t)));
                        relaxed
                    }
                    None => callee.clone(),
                };
                out.push(Stmt::Call {
                    temp: *temp,
                    pullback: *pullback,
                    callee,
                    args,
                    impure: *impure,
                    recompute: *recompute,
                });
            }
            other => out.push(other.clone()),
        }
    }

    fn compute(&mut self, temp: Temp, op: &Op, args: &[Temp], out: &mut Vec<Stmt>) {
        let a = args.to_vec();
        match op {
            Op::Method { name, .. } => match name.to_string().as_str() {
                "max" => self.relaxed_rule(temp, "relaxed_max", a, out),
                "min" => self.relaxed_rule(temp, "relaxed_min", a, out),
                "abs" => self.relaxed_rule(temp, "relaxed_abs", a, out),
                "clamp" => self.relaxed_rule(temp, "relaxed_clamp", a, out),
                _ => out.push(Stmt::Compute { temp, op: op.clone(), args: a }),
            },
            Op::Rule { name, .. } if name == "relu" => self.relaxed_rule(temp, "relaxed_relu", a, out),
            Op::Hard(hard) => match hard {
                Hard::Step(name) => self.relaxed_rule(temp, &format!("relaxed_{name}"), a, out),
                Hard::Compare { way: Comparison::Greater, .. } => self.relaxed_rule(temp, "relaxed_gt", a, out),
                Hard::Compare { way: Comparison::Less, .. } => self.relaxed_rule(temp, "relaxed_lt", a, out),
                Hard::ArgmaxIndex => self.relaxed_rule(temp, "soft_argmax", a, out),
                Hard::OneHotArgmax => self.relaxed_rule(temp, "softmax", a, out),
                Hard::IndexArgmax => {
                    // `y[argmax(x)]` → `dot(softmax(x, t), y)`.
                    let (y, x) = (a[0], a[1]);
                    let p = self.temp(true);
                    self.relaxed_rule(p, "softmax", vec![x], out);
                    out.push(Stmt::Compute { temp, op: rule("dot", 2), args: vec![p, y] });
                }
            },
            _ => out.push(Stmt::Compute { temp, op: op.clone(), args: a }),
        }
    }

    /// `if lhs > rhs { A } else { B }` relaxed: `s = sigmoid(±(lhs − rhs)/t)`; each arm runs in a
    /// block of its own (a one-arm `match ()`) that first copies the outer bindings either arm
    /// writes, under their own names, and ends in the arm's value and those copies; then each such
    /// binding is `blend(s, its value after A, after B)`, and so is the `if`'s value.
    fn blend(&mut self, b: &Branch, way: Comparison, lhs: Temp, rhs: Temp, out: &mut Vec<Stmt>) {
        let span = self.ifs.get(&b.id).copied().unwrap_or_else(Span::call_site);
        for arm in &b.arms {
            if let Some(why) = unblendable(arm) {
                self.errors.push(blend_error(span, why));
                return;
            }
        }
        // The outer bindings the arms write, in order of first write.
        let mut written: Vec<(BindingId, Ident)> = Vec::new();
        for arm in &b.arms {
            let mut declared = HashSet::new();
            crate::forward::declared_in(arm, &mut declared);
            outer_writes(arm, &declared, &mut written);
        }
        // Arms without a value that write nothing outside themselves (and, as checked, neither
        // sample nor change data) have no effect: there is nothing to blend.
        if written.is_empty() && b.result.is_none() {
            return;
        }
        let s = self.temp(true);
        let name = match way {
            Comparison::Greater => "relaxed_gt",
            Comparison::Less => "relaxed_lt",
        };
        self.relaxed_rule(s, name, vec![lhs, rhs], out);
        // Per arm: its value (if any), then the final value of each written binding.
        let mut ends: Vec<(Option<Temp>, Vec<Temp>)> = Vec::new();
        for arm in &b.arms {
            let mut stmts = Vec::new();
            let mut renames = Vec::new();
            for (binding, name) in &written {
                let read = self.temp(true);
                let access = Access { binding: *binding, name: name.clone(), path: Vec::new(), deref: false };
                stmts.push(Stmt::Read { temp: read, access });
                let copy = self.next_binding;
                self.next_binding += 1;
                stmts.push(Stmt::Let {
                    binding: copy,
                    name: name.clone(),
                    mutable: true,
                    active: true,
                    ty: None,
                    value: read,
                });
                renames.push((*binding, copy));
            }
            let relaxed = self.block(&rename(arm, &renames));
            stmts.extend(relaxed.stmts);
            let mut parts: Vec<Temp> = relaxed.result.into_iter().collect();
            for ((_, copy), (_, name)) in renames.iter().zip(&written) {
                let read = self.temp(true);
                let access = Access { binding: *copy, name: name.clone(), path: Vec::new(), deref: false };
                stmts.push(Stmt::Read { temp: read, access });
                parts.push(read);
            }
            let tuple = self.temp(true);
            stmts.push(Stmt::Compute { temp: tuple, op: Op::Tuple, args: parts });
            let whole = self.temp(true);
            let id = self.next_id;
            self.next_id += 1;
            out.push(Stmt::Branch(Box::new(Branch {
                id,
                head: BranchHead::Match {
                    scrutinee: quote!(()),
                    patterns: vec![quote!(())],
                    guard_reads: vec![Vec::new()],
                },
                arms: vec![Block { stmts, result: Some(tuple) }],
                result: Some(whole),
            })));
            let offset = usize::from(relaxed.result.is_some());
            let mut field = |k: usize| {
                let temp = self.temp(true);
                let path = vec![Proj::Field(syn::Member::Unnamed(syn::Index::from(k)))];
                out.push(Stmt::Compute { temp, op: Op::Project { path }, args: vec![whole] });
                temp
            };
            let value = relaxed.result.map(|_| field(0));
            let finals = (0..written.len()).map(|k| field(offset + k)).collect();
            ends.push((value, finals));
        }
        for (k, (binding, name)) in written.iter().enumerate() {
            let blended = self.temp(true);
            out.push(Stmt::Compute { temp: blended, op: rule("blend", 3), args: vec![s, ends[0].1[k], ends[1].1[k]] });
            let access = Access { binding: *binding, name: name.clone(), path: Vec::new(), deref: false };
            out.push(Stmt::Write { access, mode: WriteMode::Set, value: blended });
        }
        if let (Some(result), Some(a), Some(b)) = (b.result, ends[0].0, ends[1].0) {
            out.push(Stmt::Compute { temp: result, op: rule("blend", 3), args: vec![s, a, b] });
            self.active[result] = true;
        }
    }
}

/// Why an arm that sets an exit flag of `normalize` cannot be blended.
pub const LEAVES_LOOP: &str = "an arm leaves a loop (`break`, `continue`, or `return` inside a loop)";

/// The error at a relaxed `if` (its `if` token's `span`) one of whose arms cannot be blended, for
/// the reason `why`.
pub fn blend_error(span: Span, why: &str) -> syn::Error {
    syn::Error::new(
        span,
        format!(
            "this `if` compares differentiated values, and `relaxed` blends both of its arms, but {why}: move that out of the `if`, or compare data"
        ),
    )
}

/// Why an arm cannot be blended, if it cannot: it leaves a loop or the function (it sets an
/// exit flag, or starts with `normalize`'s marker of an early `return`, both named `__relax_…`),
/// samples, or changes data.
fn unblendable(block: &Block) -> Option<&'static str> {
    let mut declared = HashSet::new();
    crate::forward::declared_in(block, &mut declared);
    unblendable_in(block, &declared)
}

fn unblendable_in(block: &Block, declared: &HashSet<BindingId>) -> Option<&'static str> {
    for s in &block.stmts {
        let why = match s {
            Stmt::Passive { impure: true, .. } | Stmt::Call { impure: true, .. } => {
                Some("an arm samples (or calls with `&mut` data)")
            }
            Stmt::Verbatim { tokens, assigns, impure, .. } => {
                let tokens = tokens.to_string();
                // An exit flag set here and declared outside the arm (a loop inside the arm that
                // its own `break` leaves is fine).
                let outer = assigns.iter().any(|(b, _)| !declared.contains(b));
                let outer_exit =
                    assigns.iter().any(|(b, name)| !declared.contains(b) && crate::normalize::is_rewritten(name));
                if tokens.contains(crate::normalize::RETURNS) {
                    Some("an arm returns early (blending runs the rest of the function for the arm too)")
                } else if outer_exit {
                    Some(LEAVES_LOOP)
                } else if *impure || outer {
                    Some("an arm changes data (a binding that is not differentiated, or something behind a `&mut`)")
                } else {
                    None
                }
            }
            Stmt::Write { access, .. }
                if !declared.contains(&access.binding) && access.name.to_string().starts_with("__relax_") =>
            {
                Some(LEAVES_LOOP)
            }
            Stmt::Branch(b) => b.arms.iter().find_map(|arm| unblendable_in(arm, declared)),
            Stmt::Loop(l) => unblendable_in(&l.body, declared),
            _ => None,
        };
        if why.is_some() {
            return why;
        }
    }
    None
}

/// The bindings outside `declared` that `block` writes, each once.
fn outer_writes(block: &Block, declared: &HashSet<BindingId>, out: &mut Vec<(BindingId, Ident)>) {
    for s in &block.stmts {
        match s {
            Stmt::Write { access, .. }
                if !declared.contains(&access.binding) && !out.iter().any(|(b, _)| *b == access.binding) =>
            {
                out.push((access.binding, access.name.clone()));
            }
            Stmt::Branch(b) => b.arms.iter().for_each(|arm| outer_writes(arm, declared, out)),
            Stmt::Loop(l) => outer_writes(&l.body, declared, out),
            _ => {}
        }
    }
}

/// `block` with every access to a renamed binding going to its copy (which has the same name).
fn rename(block: &Block, renames: &[(BindingId, BindingId)]) -> Block {
    let id = |b: BindingId| renames.iter().find(|(o, _)| *o == b).map_or(b, |(_, copy)| *copy);
    let access = |a: &Access| Access { binding: id(a.binding), ..a.clone() };
    let binding = |(b, n): &(BindingId, Ident)| (id(*b), n.clone());
    let stmts = block
        .stmts
        .iter()
        .map(|s| match s {
            Stmt::Read { temp, access: a } => Stmt::Read { temp: *temp, access: access(a) },
            Stmt::Write { access: a, mode, value } => Stmt::Write { access: access(a), mode: *mode, value: *value },
            Stmt::Branch(b) => {
                let mut b = (**b).clone();
                b.arms = b.arms.iter().map(|arm| rename(arm, renames)).collect();
                Stmt::Branch(Box::new(b))
            }
            Stmt::Loop(l) => {
                let mut l = (**l).clone();
                l.body = rename(&l.body, renames);
                l.taped = l.taped.iter().map(binding).collect();
                l.snapshots = l.snapshots.iter().map(binding).collect();
                if let Some(f) = &mut l.fused {
                    f.acc = binding(&f.acc);
                    f.inputs = f
                        .inputs
                        .iter()
                        .map(|(b, n, r)| {
                            let (b, n) = binding(&(*b, n.clone()));
                            (b, n, *r)
                        })
                        .collect();
                }
                Stmt::Loop(Box::new(l))
            }
            other => other.clone(),
        })
        .collect();
    Block { stmts, result: block.result }
}
