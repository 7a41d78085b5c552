//! The forward-mode stage: `NAME_jvp` from the same intermediate form as the reverse sweeps.
//!
//! One pass: every statement computes its value and, beside it, the tangent of every active
//! temporary and binding (`__dt{t}`, `__tb{b}`), through the relax-core pushforwards the rule
//! table names (`ops::NAME_jvp`, `NAME_jvp`). A pushforward computes its value with the float
//! operations of the original, so the value is the original's bit for bit. Loops and branches run
//! as written, with no storage: a `_jvp` takes every loop the language takes.

use std::collections::{HashMap, HashSet};

use proc_macro2::{Ident, TokenStream};
use quote::{ToTokens, format_ident, quote};

use crate::forward::LoopCode;
use crate::ir::*;
use crate::names;

/// Where forward-mode code is generated.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub krate: &'a syn::Path,
    /// Whether each temporary is active.
    pub active: &'a [bool],
    /// Passive temporaries that hold values, never references (sampled noise): passed as they
    /// are, so that their type is inferred from the pushforward they feed.
    pub owned: &'a HashSet<Temp>,
    /// The sine and the cosine of one value in one block, each to the other
    /// (`forward::BodyFacts::siblings`).
    pub siblings: &'a std::collections::HashMap<Temp, Temp>,
    /// Temporaries spelled by what they copy ([`aliases`]).
    pub aliases: &'a HashMap<Temp, Alias>,
    /// Bindings whose tangent is written elsewhere: a paired loop's second accumulator
    /// ([`paired_loop`]).
    pub redirect: &'a [(BindingId, Ident)],
    /// Whether the code is in a loop's body.
    pub in_loop: bool,
}

/// What a temporary copies, where forward mode spells it so and leaves its `let` out.
pub enum Alias {
    /// A read of a binding's place (not through a bare reference, `*x`).
    Read(Access),
    /// A literal.
    Literal(TokenStream),
}

/// The temporaries forward mode spells by what they copy: reads of a binding the function declares
/// once (a read's consumers come before any write of its statement, so the place still holds the
/// value there), and literals. Such copies were four in ten of a `_jvp`'s statements,
/// each one more `let` for rustc to check. Temporaries named in tokens (passive expressions, call
/// data), a loop's range and the values of writes keep their `let`.
pub fn aliases(body: &Body) -> HashMap<Temp, Alias> {
    fn walk(block: &Block, body: &Body, out: &mut HashMap<Temp, Alias>, keep: &mut Vec<Temp>) {
        for s in &block.stmts {
            match s {
                Stmt::Read { temp, access } => {
                    let through_reference = access.deref && access.path.is_empty();
                    if !through_reference && !body.redeclared.contains(&access.name.to_string()) {
                        out.insert(*temp, Alias::Read(access.clone()));
                    }
                }
                Stmt::Passive { temp, expr, impure: false, .. } => {
                    let mut tokens = expr.clone().into_iter();
                    if let (Some(proc_macro2::TokenTree::Literal(_)), None) = (tokens.next(), tokens.next()) {
                        out.insert(*temp, Alias::Literal(expr.clone()));
                    }
                }
                // `s += s`: the tangent's update borrows the place its value would be read from.
                Stmt::Write { value, .. } => keep.push(*value),
                Stmt::Branch(b) => b.arms.iter().for_each(|arm| walk(arm, body, out, keep)),
                Stmt::Loop(l) => {
                    if let LoopHead::Range { index, lo, hi } = l.head {
                        keep.extend([index, lo, hi]);
                    }
                    walk(&l.body, body, out, keep);
                }
                _ => {}
            }
        }
    }
    let (mut out, mut keep) = (HashMap::new(), Vec::new());
    walk(&body.block, body, &mut out, &mut keep);
    for t in keep.iter().chain(&body.named_in_tokens) {
        out.remove(t);
    }
    out
}

/// The tangent of a temporary.
fn dt(t: Temp) -> Ident {
    format_ident!("__dt{}", t)
}

/// The tangent of a binding.
pub fn binding_tangent(b: BindingId) -> Ident {
    format_ident!("__tb{}", b)
}

impl Ctx<'_> {
    /// Temporary `t` as forward mode spells it: what it copies, or its name.
    fn value(&self, t: Temp) -> TokenStream {
        match self.aliases.get(&t) {
            Some(Alias::Read(access)) => read_tokens(access, *self),
            Some(Alias::Literal(literal)) => literal.clone(),
            None => names::temp(t).into_token_stream(),
        }
    }

    /// `x` itself when active or a literal, else `x` read through `IntoPrimal` (a passive operand
    /// may be a reference, such as the item of `for v in xs`).
    fn operand(&self, t: Temp) -> TokenStream {
        let (x, krate) = (self.value(t), self.krate);
        if self.active[t] || self.owned.contains(&t) || matches!(self.aliases.get(&t), Some(Alias::Literal(_))) {
            x
        } else {
            quote!(#krate::IntoPrimal::into_primal(#x))
        }
    }

    /// The tangent of temporary `t`: its own when active, a zero of its shape when passive.
    pub fn tangent(&self, t: Temp) -> TokenStream {
        if self.active[t] {
            match self.aliases.get(&t) {
                Some(Alias::Read(access)) => tangent_tokens(access, *self),
                _ => dt(t).into_token_stream(),
            }
        } else {
            let (x, krate) = (self.operand(t), self.krate);
            quote!(#krate::Tangent::zero_like(&#x))
        }
    }
}

/// The forward-mode code of `block`'s statements (not its result).
///
/// Each statement's tangent is computed beside its value, but after a library call (`tanh`,
/// `exp`) the tangents wait: the values computed from the call's result come first, then the
/// tangents, then the last of those statements (value and tangent, which a write consumes next).
/// With every tangent beside its value, LLVM's register allocator kept the 8×8 tanh layer's
/// tangent accumulator through its stack slot across the call (a store and a reload more per
/// iteration, its `_jvp` 1.57 × the primal instead of 1.44); all values first anywhere lost as
/// much elsewhere (the two-layer network, the Huber loop). A statement that writes, branches,
/// loops or calls ends the run and first emits what waits.
pub fn jvp(block: &Block, ctx: Ctx) -> TokenStream {
    let mut code = TokenStream::new();
    // Since the run's library call: the tangents waiting, and the last statement, held.
    let mut after_call: Option<(TokenStream, Split)> = None;
    for s in &block.stmts {
        match stmt(s, ctx) {
            Code::Split(split) if split.value.is_empty() && split.tangent.is_empty() => {}
            Code::Split(split) if after_call.is_none() && !split.call => code.extend(split.together()),
            Code::Split(split) => match &mut after_call {
                None => after_call = Some((TokenStream::new(), split)),
                Some((waiting, held)) => {
                    let held = std::mem::replace(held, split);
                    code.extend(held.value);
                    waiting.extend(held.tangent);
                }
            },
            Code::Whole(tokens) => {
                flush(&mut code, after_call.take());
                code.extend(tokens);
            }
        }
    }
    flush(&mut code, after_call.take());
    code
}

/// The tangents waiting since a call, then the statement held.
fn flush(code: &mut TokenStream, after_call: Option<(TokenStream, Split)>) {
    if let Some((waiting, held)) = after_call {
        code.extend(waiting);
        code.extend(held.together());
    }
}

/// One statement's forward-mode code.
enum Code {
    Split(Split),
    /// Code that writes, branches, loops or draws, or computes a value and its tangent in one
    /// call (a rule, a differentiable callee).
    Whole(TokenStream),
}

/// A statement's value's code, and its tangent's, which may wait: it only reads temporaries,
/// tangents and bindings that no statement until the next [`Code::Whole`] writes.
struct Split {
    value: TokenStream,
    tangent: TokenStream,
    /// One statement computing both, where a pushforward does (`let (t, dt) = ops::mul_jvp(..)`).
    both: Option<TokenStream>,
    /// Whether the value is a library call.
    call: bool,
}

impl Split {
    /// The value's code and the tangent's together.
    fn together(self) -> TokenStream {
        self.both.unwrap_or_else(|| {
            let (value, tangent) = (self.value, self.tangent);
            quote!(#value #tangent)
        })
    }
}

impl Code {
    fn split(value: TokenStream, tangent: TokenStream) -> Code {
        Code::Split(Split { value, tangent, both: None, call: false })
    }

    fn value(value: TokenStream) -> Code {
        Code::split(value, TokenStream::new())
    }
}

/// `(value, tangent)` of a block's result, after its statements.
pub fn result(block: &Block, ctx: Ctx) -> TokenStream {
    match block.result {
        Some(r) => {
            let (v, d) = (ctx.value(r), ctx.tangent(r));
            quote!((#v, #d))
        }
        None => quote!(()),
    }
}

/// The value a read takes: the place, or `*x` through a bare reference.
fn read_tokens(a: &Access, ctx: Ctx) -> TokenStream {
    let name = &a.name;
    let base = if a.deref && a.path.is_empty() { quote!(*#name) } else { quote!(#name) };
    access_tokens(a, base, ctx)
}

/// The tangent's place of an access: the same projection of the binding's tangent.
fn tangent_tokens(a: &Access, ctx: Ctx) -> TokenStream {
    let tangent = ctx
        .redirect
        .iter()
        .find(|(b, _)| *b == a.binding)
        .map_or_else(|| binding_tangent(a.binding), |(_, n)| n.clone());
    access_tokens(a, tangent.into_token_stream(), ctx)
}

fn access_tokens(a: &Access, base: TokenStream, ctx: Ctx) -> TokenStream {
    let path = projection(&a.path, ctx);
    quote!(#base #path)
}

/// The tokens of a projection path, `[i].w[j]`, its indices spelled by [`Ctx::value`].
fn projection(path: &[Proj], ctx: Ctx) -> TokenStream {
    names::projection_spelled(path, |t| ctx.value(t))
}

/// The tangents of the float arguments, in the layout of a pushforward (a single one bare).
fn tangents(args: &[Temp], float_args: &[bool], ctx: Ctx) -> TokenStream {
    let ds: Vec<TokenStream> = args.iter().zip(float_args).filter(|(_, f)| **f).map(|(t, _)| ctx.tangent(*t)).collect();
    if ds.len() == 1 { ds[0].clone() } else { quote!((#(#ds),*)) }
}

/// The arguments of a pushforward: floats through `IntoPrimal` where passive, others as they are.
fn values(args: &[Temp], float_args: &[bool], ctx: Ctx) -> Vec<TokenStream> {
    args.iter().zip(float_args).map(|(t, is_float)| if *is_float { ctx.operand(*t) } else { ctx.value(*t) }).collect()
}

fn stmt(s: &Stmt, ctx: Ctx) -> Code {
    let krate = ctx.krate;
    match s {
        Stmt::Passive { temp, .. } | Stmt::Read { temp, .. } if ctx.aliases.contains_key(temp) => {
            Code::value(TokenStream::new())
        }
        Stmt::Passive { temp, expr, impure, .. } => {
            let t = names::temp(*temp);
            let code = quote!(let #t = #expr;);
            if *impure { Code::Whole(code) } else { Code::value(code) }
        }
        Stmt::Verbatim { tokens, .. } => Code::Whole(tokens.clone()),
        Stmt::Read { temp, access } => {
            let (t, value) = (names::temp(*temp), read_tokens(access, ctx));
            if !ctx.active[*temp] {
                return Code::value(quote!(let #t = #value;));
            }
            let (d, tb) = (dt(*temp), tangent_tokens(access, ctx));
            Code::split(quote!(let #t = #value;), quote!(let #d = #tb;))
        }
        Stmt::Compute { temp, op, args } => compute(*temp, op, args, ctx),
        Stmt::Call { temp, callee, args, .. } => {
            let (t, d) = (names::temp(*temp), dt(*temp));
            // At the callee's name: where a differentiated value passed as data is reported.
            let span = callee.clone().into_iter().last().map_or_else(proc_macro2::Span::call_site, |t| t.span());
            let position = names::respan(quote!(#krate::tangent::position), span);
            let callee = crate::names::retarget(callee, crate::names::JVP_SUFFIX);
            let values = args.iter().map(|a| match a {
                CallArg::Active(x) => ctx.value(*x),
                CallArg::ActiveRef(x) => {
                    let x = ctx.value(*x);
                    quote!(&#x)
                }
                CallArg::Data(tokens) => tokens.clone(),
            });
            let ds = args.iter().map(|a| match a {
                CallArg::Active(x) | CallArg::ActiveRef(x) => {
                    let dx = ctx.tangent(*x);
                    quote!(#position(#dx))
                }
                CallArg::Data(_) => quote!(#position(#krate::tangent::NoTangent)),
            });
            Code::Whole(quote!(let (#t, #d) = #callee(#(#values,)* #(#ds),*);))
        }
        Stmt::Let { binding, name, mutable, active, ty, value } => {
            let v = ctx.value(*value);
            let m = mutable.then(|| quote!(mut));
            let ty = ty.as_ref().map(|ty| quote!(: #ty));
            let value_code = quote!(let #m #name #ty = #v;);
            if !active {
                return Code::value(value_code);
            }
            let (tb, dv) = (binding_tangent(*binding), ctx.tangent(*value));
            Code::split(value_code, quote!(let #m #tb = #dv;))
        }
        Stmt::Write { access, mode, value } => {
            let (place, v) = (access_tokens(access, access.name.to_token_stream(), ctx), ctx.value(*value));
            let tplace = tangent_tokens(access, ctx);
            let dv = ctx.tangent(*value);
            Code::Whole(match mode {
                WriteMode::Set => quote!(#place = #v; #tplace = #dv;),
                WriteMode::Add => quote!(#place += #v; #krate::Tangent::add_tangent(&mut #tplace, #dv);),
                WriteMode::Sub => quote!(#place -= #v; #krate::Tangent::sub_tangent(&mut #tplace, #dv);),
            })
        }
        Stmt::Branch(b) => Code::Whole(branch(b, ctx)),
        Stmt::Loop(l) => {
            let inner = Ctx { in_loop: true, ..ctx };
            if let Some(acc) = paired_accumulator(l).filter(|_| ctx.in_loop) {
                return Code::Whole(paired_loop(l, acc, inner));
            }
            let body = jvp(&l.body, inner);
            let exit = l.exit.as_ref().map(|flags| quote!(if #flags { break; }));
            Code::Whole(LoopCode::forward(l.id, &l.head).around(quote!(#body #exit)))
        }
    }
}

/// The outer binding a range loop only accumulates into (`acc += …` or `acc -= …`, never read in
/// it), where that is the loop's only write outside its body and the body only computes (no call,
/// branch, nested loop, sampled noise or early exit): in another loop (an inner product), its
/// forward mode runs as [`paired_loop`]. Not at the top: there a cheap body's sum is a chain of
/// additions the primal waits on as well, and LLVM packed the value's sum with the tangent's
/// into one register, lengthening it (the Huber sum's `_jvp` 1.39 → 1.83 × the primal).
fn paired_accumulator(l: &Loop) -> Option<BindingId> {
    if !matches!(l.head, LoopHead::Range { .. }) || l.exit.is_some() {
        return None;
    }
    let mut locals = HashSet::new();
    crate::forward::declared_in(&l.body, &mut locals);
    let mut acc = None;
    let mut read = HashSet::new();
    for s in &l.body.stmts {
        match s {
            Stmt::Passive { impure: false, .. } | Stmt::Compute { .. } | Stmt::Let { .. } => {}
            Stmt::Verbatim { assigns, impure: false, .. } if assigns.iter().all(|(b, _)| locals.contains(b)) => {}
            Stmt::Read { access, .. } => {
                read.insert(access.binding);
            }
            Stmt::Write { access, .. } if locals.contains(&access.binding) => {}
            Stmt::Write { access, mode: WriteMode::Add | WriteMode::Sub, .. }
                if acc.is_none_or(|b| b == access.binding) =>
            {
                acc = Some(access.binding);
            }
            _ => return None,
        }
    }
    acc.filter(|b| !read.contains(b))
}

/// A loop that only accumulates into an outer binding ([`paired_accumulator`]), two iterations per
/// pass, the second's tangent added into a second accumulator, which joins the first after the
/// loop. The values are the original's, computed in its order; the tangent's sum runs as two
/// independent chains of additions instead of one (a sum's tangent may round differently). The
/// two-layer network's inner products: 1.59 → 1.42 × the primal.
fn paired_loop(l: &Loop, acc: BindingId, ctx: Ctx) -> TokenStream {
    let LoopHead::Range { index, lo, hi } = &l.head else {
        unreachable!("`paired_accumulator` checked the loop");
    };
    let (index, lo, hi, c) = (names::temp(*index), names::temp(*lo), names::temp(*hi), names::cursor(l.id));
    let (krate, tangent, second) = (ctx.krate, binding_tangent(acc), format_ident!("__tb{}_pair", acc));
    let first_body = jvp(&l.body, ctx);
    let redirect = [(acc, second.clone())];
    let second_body = jvp(&l.body, Ctx { redirect: &redirect, ..ctx });
    quote! {
        let mut #second = #krate::Tangent::zero_like(&#tangent);
        let mut #c = #lo;
        while #c < #hi {
            let #index = #c;
            #c += 1;
            #first_body
            if #c < #hi {
                let #index = #c;
                #c += 1;
                #second_body
            }
        }
        #krate::Tangent::add_tangent(&mut #tangent, #second);
    }
}

/// An operation's value and tangent. An arithmetic operator or a float method of one argument
/// computes its value as the original does (the pushforward's value, bit for bit) and its tangent
/// with the pushforward after it; a rule computes both in one call.
fn compute(temp: Temp, op: &Op, args: &[Temp], ctx: Ctx) -> Code {
    let krate = ctx.krate;
    let (t, d) = (names::temp(temp), dt(temp));
    let pushforward = |f: TokenStream, float_args: &[bool]| {
        let (vs, ds) = (values(args, float_args, ctx), tangents(args, float_args, ctx));
        quote!(#f(#(#vs,)* #ds))
    };
    // With one of two arguments constant (data), its one-sided form: the other side's
    // product with a zero tangent is not computed.
    let one_sided = |f: String| match (ctx.active[args[0]], ctx.active[args[1]]) {
        (true, false) => Some((format_ident!("{}_first", f), 0)),
        (false, true) => Some((format_ident!("{}_second", f), 1)),
        _ => None,
    };
    let one_sided_call = |f: TokenStream, k: usize| {
        let (a, b, dk) = (ctx.operand(args[0]), ctx.operand(args[1]), ctx.tangent(args[k]));
        quote!(#f(#a, #b, #dk))
    };
    // The value, then the pushforward's tangent (its value computed again, which the compiler
    // merges with the first).
    let split = |value: TokenStream, pushforward: TokenStream| {
        Code::Split(Split {
            value: quote!(let #t = #value;),
            tangent: quote!(let (_, #d) = #pushforward;),
            both: Some(quote!(let (#t, #d) = #pushforward;)),
            call: false,
        })
    };
    let value_and_tangent =
        |value: TokenStream, tangent: TokenStream| Code::split(quote!(let #t = #value;), quote!(let #d = #tangent;));
    match op {
        Op::Binary { op, pullback } => {
            let value = {
                let (a, b) = (ctx.operand(args[0]), ctx.operand(args[1]));
                quote!(#a #op #b)
            };
            let name = pullback.replace("_vjp", "_jvp");
            if let Some((f, k)) = one_sided(name.clone()) {
                return split(value, one_sided_call(quote!(#krate::ops::#f), k));
            }
            let f = format_ident!("{}", name);
            split(value, pushforward(quote!(#krate::ops::#f), &[true, true]))
        }
        Op::Rule { name, generics, .. } if name == "dot" && args.len() == 2 => {
            let turbofish = if generics.is_empty() { TokenStream::new() } else { quote!(::#generics) };
            let call = match one_sided("dot_jvp".to_string()) {
                Some((f, k)) => one_sided_call(quote!(#krate::#f #turbofish), k),
                None => pushforward(quote!(#krate::dot_jvp #turbofish), &[true, true]),
            };
            Code::Whole(quote!(let (#t, #d) = #call;))
        }
        Op::Neg => {
            let x = ctx.operand(args[0]);
            split(quote!(-#x), pushforward(quote!(#krate::ops::neg_jvp), &[true]))
        }
        Op::Method { name, .. } if ctx.siblings.contains_key(&temp) && ctx.active[args[0]] => {
            // Sine and cosine of one value: each tangent from the other's value, two
            // trigonometric functions instead of four. The first of the two (temporaries
            // are numbered in statement order) computes both values, of the one value.
            let other = ctx.siblings[&temp];
            let (u, x, dx) = (names::temp(other), ctx.value(args[0]), ctx.tangent(args[0]));
            let (f, g) = if name == "sin" { ("sin", "cos") } else { ("cos", "sin") };
            let p = format_ident!("{}_pullback_from_{}", f, g);
            let (f, g) = (format_ident!("{}", f), format_ident!("{}", g));
            let values = (temp < other).then(|| quote!(let #t = #x.#f(); let #u = #x.#g();));
            let call = values.is_some();
            let (value, tangent) = (values.unwrap_or_default(), quote!(let #d = #krate::ops::#p(#u, #dx);));
            Code::Split(Split { value, tangent, both: None, call })
        }
        // One float in, one out: the pushforward is the pullback's product with the tangent
        // (`ops::NAME_jvp` is defined so), which reads the value rather than call again.
        Op::Method { name, float_args } if float_args.as_slice() == [true] && ctx.active[args[0]] => {
            let (x, dx) = (&values(args, float_args, ctx)[0], ctx.tangent(args[0]));
            let value = quote!(let #t = #x.#name(););
            let p = format_ident!("{}_pullback", name);
            let tangent = quote!(let #d = #krate::ops::#p(#x, #t, #dx););
            let call = crate::rules::method_rule(&name.to_string()).is_some_and(|m| m.kept);
            let f = format_ident!("{}_jvp", name);
            let both = quote!(let (#t, #d) = #krate::ops::#f(#x, #dx););
            Code::Split(Split { value, tangent, both: Some(both), call })
        }
        Op::Method { name, float_args } => {
            let f = format_ident!("{}_jvp", name);
            let call = pushforward(quote!(#krate::ops::#f), float_args);
            Code::Whole(quote!(let (#t, #d) = #call;))
        }
        Op::Rule { name, generics, float_args, residual } => {
            let turbofish = if generics.is_empty() { TokenStream::new() } else { quote!(::#generics) };
            // Only the first float argument active (a temperature, a threshold, the noise
            // constant): its one-sided form, without the products with zero tangents.
            let first = crate::rules::has_first_forms(&name.to_string())
                && crate::rules::sole_active_float(args, float_args, ctx.active) == Some(0);
            let (suffix, ds) = if first {
                let first = args.iter().zip(float_args).find(|(_, f)| **f).map(|(t, _)| ctx.tangent(*t));
                ("_jvp_first", first.into_token_stream())
            } else {
                ("_jvp", tangents(args, float_args, ctx))
            };
            let vs = values(args, float_args, ctx);
            // The softmax family: one softmax for every rule of the same logits, as in the
            // reverse sweeps; each rule's value and tangent from the residual.
            if let Some(residual) = residual {
                let value = crate::forward::residual_value(name, &turbofish, &vs, temp, residual, krate);
                let (f, r) = (format_ident!("{}{}_from", name, suffix, span = name.span()), names::temp(residual.temp));
                return Code::Whole(quote!(#value let #d = #krate::#f(&#r, #ds);));
            }
            let f = format_ident!("{}{}", name, suffix, span = name.span());
            Code::Whole(quote!(let (#t, #d) = #krate::#f #turbofish (#(#vs,)* #ds);))
        }
        Op::Array => {
            let (a, ds) = (args.iter().map(|x| ctx.value(*x)), args.iter().map(|x| ctx.tangent(*x)));
            value_and_tangent(quote!([#(#a),*]), quote!([#(#ds),*]))
        }
        Op::Repeat { len } => {
            let (x, dx) = (ctx.value(args[0]), ctx.tangent(args[0]));
            value_and_tangent(quote!([#x; #len]), quote!([#dx; #len]))
        }
        Op::Tuple => {
            let (a, ds) = (args.iter().map(|x| ctx.value(*x)), args.iter().map(|x| ctx.tangent(*x)));
            value_and_tangent(quote!((#(#a,)*)), quote!((#(#ds,)*)))
        }
        Op::Project { path } => {
            let (x, dx, path) = (ctx.value(args[0]), ctx.tangent(args[0]), projection(path, ctx));
            value_and_tangent(quote!(#x #path), quote!(#dx #path))
        }
        Op::Struct { path, fields } => {
            let (a, ds) = (args.iter().map(|x| ctx.value(*x)), args.iter().map(|x| ctx.tangent(*x)));
            value_and_tangent(quote!(#path { #(#fields: #a),* }), quote!(#path { #(#fields: #ds),* }))
        }
        Op::Copy => {
            let (x, dx) = (ctx.value(args[0]), ctx.tangent(args[0]));
            value_and_tangent(x, dx)
        }
        // Zero almost everywhere.
        Op::Hard(hard) => {
            let a: Vec<TokenStream> = args.iter().map(|x| ctx.value(*x)).collect();
            let value = crate::forward::hard_value(*hard, &a, krate);
            value_and_tangent(value, quote!(#krate::Tangent::zero_like(&#t)))
        }
    }
}

fn branch(b: &Branch, ctx: Ctx) -> TokenStream {
    let active_result = b.result.is_some_and(|r| ctx.active[r]);
    let arm = |block: &Block| {
        let code = jvp(block, ctx);
        match (b.result, block.result) {
            (Some(_), Some(_)) if active_result => {
                let r = result(block, ctx);
                quote!({ #code #r })
            }
            (Some(_), Some(r)) => {
                let r = ctx.value(r);
                quote!({ #code #r })
            }
            _ => quote!({ #code }),
        }
    };
    let chosen = match &b.head {
        BranchHead::If(cond) | BranchHead::Compare { cond, .. } => {
            let cond = ctx.value(*cond);
            let (then, otherwise) = (arm(&b.arms[0]), arm(&b.arms[1]));
            quote!(if #cond #then else #otherwise)
        }
        BranchHead::Match { scrutinee, patterns, .. } => {
            let arms = patterns.iter().zip(&b.arms).map(|(pat, block)| {
                let code = arm(block);
                quote!(#pat => #code,)
            });
            quote!(match #scrutinee { #(#arms)* })
        }
    };
    match b.result {
        Some(r) if ctx.active[r] => {
            let (v, d) = (names::temp(r), dt(r));
            quote!(let (#v, #d) = #chosen;)
        }
        Some(r) => {
            let v = names::temp(r);
            quote!(let #v = #chosen;)
        }
        None => quote!(#chosen;),
    }
}
