//! Lowering: the function body (syn) into the intermediate form, with the activity analysis.
//!
//! A binding is *active* when its value depends on a differentiated parameter. Activity is found
//! by lowering repeatedly until no binding becomes active (a loop can make a binding active after
//! its first read). Passive code is kept as tokens; active code must be in the supported language,
//! and everything else on active values is reported as a `syn::Error` at its span.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use proc_macro2::{TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{BinOp, Expr, Ident, Pat, UnOp};

use crate::ir::*;
use crate::options::Options;
use crate::rules::{self, Arg, Form};
use crate::signature::Signature;

mod blocks;
mod calls;
mod closures;
mod control;
mod exprs;
mod hard;
mod iterators;
mod scope;
mod stmts;

/// A lowered expression.
enum Value {
    /// Held by an active temporary.
    Active(Temp),
    /// Held by a passive temporary.
    PassiveTemp(Temp),
    /// A passive expression, not yet evaluated.
    Passive(Box<Expr>),
}

#[derive(Clone)]
struct Binding {
    id: BindingId,
    name: Ident,
    /// `name` as text, which `lookup` compares: comparing two `Ident`s formats both into new
    /// strings, through the compiler's bridge inside rustc.
    text: String,
    active: bool,
    mutable: bool,
    deref: bool,
    depth: usize,
    array_len: Option<TokenStream>,
    mut_ref: bool,
    /// A passive value computed from active ones (a comparison, an `argmax`): casting it back to
    /// a float would silently drop a gradient.
    tainted: bool,
    /// Declared in an `if` branch: the branch's adjoint does not see it, so a loop in the
    /// branch that reads it keeps a copy.
    branch_local: bool,
    /// A differentiated slice: read by element only, its adjoint the caller's buffer.
    slice: bool,
}

/// How a statement uses an outer binding, as loops see it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Use {
    Read,
    /// `acc += …` or `acc -= …`.
    Accumulate,
    /// Any other write.
    Overwrite,
}

struct LoopCtx {
    depth: usize,
    reads: BTreeSet<BindingId>,
    writes: BTreeSet<BindingId>,
    /// Writes that are not accumulations.
    overwrites: BTreeSet<BindingId>,
    impure: Vec<Temp>,
    /// Passive `let`s with side effects: they cannot run again in the adjoint.
    impure_lets: Vec<proc_macro2::Span>,
    /// The body uses a temporary of the loop's prelude, whose adjoint the sweep declares after
    /// the loop: the adjoint cannot run inside the forward loop.
    unfusable: bool,
}

struct Lowerer<'a> {
    krate: &'a syn::Path,
    real_params: Vec<Ident>,
    const_params: HashSet<String>,
    was_active: &'a HashSet<BindingId>,
    now_active: HashSet<BindingId>,
    scopes: Vec<Vec<Binding>>,
    all_bindings: BTreeMap<BindingId, Binding>,
    /// See [`Body::redeclared`].
    redeclared: HashSet<String>,
    /// See [`Body::named_in_tokens`].
    named_in_tokens: HashSet<Temp>,
    next_binding: usize,
    next_id: usize,
    temps: Vec<bool>,
    loops: Vec<LoopCtx>,
    /// Every binding written so far, in order: what a verbatim statement assigns.
    write_log: Vec<BindingId>,
    /// How often each binding has been written so far: a read's value is its binding and this.
    generation: HashMap<BindingId, usize>,
    /// A key per temporary whose value is known: equal keys, equal values.
    value_keys: HashMap<Temp, String>,
    /// Per scope, the softmax residuals computed there, by the key of their arguments; `true`
    /// marks a loop body, past which an outer residual cannot be reused (the loop repeats).
    residuals: Vec<(bool, Vec<(String, Temp)>)>,
    errors: Vec<syn::Error>,
    /// The function's name, for messages of generated code.
    fn_name: String,
    /// `max_iter = N`: the storage of loops without a compile-time bound.
    max_iter: Option<TokenStream>,
    /// `relaxed`: hard operations on active values are taken (as [`Op::Hard`]).
    relaxed: bool,
    /// A hard operation was taken.
    hard: bool,
    /// Scope depths of the arms of relaxed `if`s being lowered, and the spans of their `if`s: an
    /// outer binding they write becomes active, so that the relaxation can blend it.
    blending: Vec<(usize, proc_macro2::Span)>,
    /// Method calls on a receiver the function owns (a local, a by-value parameter): their
    /// adjoint runs the call again on it, so it must not change afterwards. The receiver's
    /// binding, its generation at the call, and the call's span.
    owned_receivers: Vec<(BindingId, usize, proc_macro2::Span)>,
    /// The spans of the `if`s on comparisons of active values, by branch id.
    compare_ifs: BTreeMap<usize, proc_macro2::Span>,
}

/// Lowers `block`, the body of the function with signature `sig`.
pub fn lower(
    block: &syn::Block,
    sig: &Signature,
    generics: &syn::Generics,
    options: &Options,
) -> Result<Body, Vec<syn::Error>> {
    let krate = &options.krate;
    let (inlined, mut early_errors) = closures::inline(&block.stmts);
    let mut_refs: Vec<Ident> = sig.params.iter().filter(|p| p.mut_ref).map(|p| p.ident.clone()).collect();
    let (flat, errors) = blocks::flatten(&inlined, &mut_refs);
    early_errors.extend(errors);
    if !early_errors.is_empty() {
        return Err(early_errors);
    }
    let stmts = crate::normalize::exits(&flat, &sig.output, krate);
    let const_params: HashSet<String> = generics
        .params
        .iter()
        .filter_map(|p| match p {
            syn::GenericParam::Const(c) => Some(c.ident.to_string()),
            _ => None,
        })
        .collect();
    let redeclared = redeclared_names(sig, &stmts);
    let mut active: HashSet<BindingId> = HashSet::new();
    // Each pass can only add active bindings, so this ends after at most one pass per binding.
    for _ in 0..64 {
        let mut l = Lowerer {
            krate,
            real_params: sig.real_params.clone(),
            const_params: const_params.clone(),
            was_active: &active,
            now_active: HashSet::new(),
            scopes: vec![Vec::new()],
            all_bindings: BTreeMap::new(),
            redeclared: redeclared.clone(),
            named_in_tokens: HashSet::new(),
            next_binding: 0,
            next_id: 0,
            temps: Vec::new(),
            loops: Vec::new(),
            write_log: Vec::new(),
            generation: HashMap::new(),
            value_keys: HashMap::new(),
            residuals: vec![(false, Vec::new())],
            errors: Vec::new(),
            fn_name: sig.name.to_string(),
            max_iter: options.max_iter.clone(),
            relaxed: options.relaxed,
            hard: false,
            blending: Vec::new(),
            owned_receivers: Vec::new(),
            compare_ifs: BTreeMap::new(),
        };
        if let Some(r) = &sig.receiver {
            let this = Ident::new("self", r.self_token.span);
            let (by_ref, mut_ref) = match &r.kind {
                syn::ReceiverKind::Reference(_, _, m) => (true, m.is_some()),
                _ => (false, false),
            };
            l.declare(&this, r.mutability.is_some(), false, by_ref, None, mut_ref);
        }
        let params: Vec<BindingId> = sig
            .params
            .iter()
            .map(|p| {
                let deref = matches!(p.ty, syn::Type::Reference(_));
                let id = l.declare(&p.ident, p.mutable, p.diff.is_some(), deref, p.array_len.clone(), p.mut_ref);
                if p.diff == Some(crate::signature::ByRef::Slice) {
                    l.mark_slice(id);
                }
                id
            })
            .collect();
        let mut body = Block::default();
        l.lower_stmts(&stmts, &mut body, true);
        l.check_owned_receivers();
        if body.result.is_none() {
            l.errors.push(syn::Error::new(
                block.span(),
                "a differentiable function must end in its value (or `return` it)",
            ));
        }
        if l.now_active.is_subset(&active) {
            if !l.errors.is_empty() {
                return Err(l.errors);
            }
            crate::schedule::sink_reads(&mut body);
            return Ok(Body {
                block: body,
                active: l.temps,
                params,
                hard: l.hard,
                bindings: l.next_binding,
                compare_ifs: l.compare_ifs,
                named_in_tokens: l.named_in_tokens,
                redeclared: l.redeclared,
            });
        }
        active.extend(l.now_active);
    }
    Err(vec![syn::Error::new(block.span(), "relax: activity analysis did not settle")])
}

/// Names declared more than once (a later `let` may shadow what a loop reads).
fn redeclared_names(sig: &Signature, stmts: &[syn::Stmt]) -> HashSet<String> {
    struct Names(HashMap<String, usize>);
    impl<'a> Visit<'a> for Names {
        fn visit_pat_ident(&mut self, p: &'a syn::PatIdent) {
            *self.0.entry(p.ident.to_string()).or_default() += 1;
        }
    }
    let mut n = Names(HashMap::new());
    for p in &sig.params {
        *n.0.entry(p.ident.to_string()).or_default() += 1;
    }
    for s in stmts {
        n.visit_stmt(s);
    }
    n.0.into_iter().filter(|(_, c)| *c > 1).map(|(k, _)| k).collect()
}

/// The single identifiers an expression or statement mentions (paths of one segment, and identifiers
/// inside macro calls and verbatim tokens).
fn mentioned(node: &dyn Fn(&mut Mentions)) -> Vec<Ident> {
    let mut m = Mentions(Vec::new());
    node(&mut m);
    m.0
}

struct Mentions(Vec<Ident>);

impl Mentions {
    fn tokens(&mut self, tokens: &TokenStream) {
        token_idents(tokens, &mut self.0);
    }
}

/// Whether `tokens` may have side effects: a macro, a `&mut` reference (not of a name `local`
/// accepts) or a name `mut_ref` accepts (a `&mut` binding).
fn may_have_effects(tokens: &TokenStream, mut_ref: &dyn Fn(&Ident) -> bool, local: &dyn Fn(&Ident) -> bool) -> bool {
    let trees: Vec<TokenTree> = tokens.clone().into_iter().collect();
    trees.iter().enumerate().any(|(k, t)| match t {
        TokenTree::Group(g) => may_have_effects(&g.stream(), mut_ref, local),
        TokenTree::Ident(i) => {
            let macro_call = matches!(trees.get(k + 1), Some(TokenTree::Punct(p)) if p.as_char() == '!')
                && matches!(trees.get(k + 2), Some(TokenTree::Group(_)));
            macro_call || mut_ref(i)
        }
        TokenTree::Punct(p) => {
            p.as_char() == '&'
                && matches!(trees.get(k + 1), Some(TokenTree::Ident(i)) if i == "mut")
                && !matches!(trees.get(k + 2), Some(TokenTree::Ident(i)) if local(i))
        }
        TokenTree::Literal(_) => false,
    })
}

/// The float methods relax knows (`x.ceil()`, `x.sin()`) and `len`: they take `self` by value or
/// `&self`, and change nothing.
fn takes_receiver_as_value(name: &str) -> bool {
    rules::method_rule(name).is_some() || rules::step_method(name) || name == "len"
}

/// Every identifier in `tokens`, in groups too, into `out`.
fn token_idents(tokens: &TokenStream, out: &mut Vec<Ident>) {
    for tt in tokens.clone() {
        match tt {
            TokenTree::Ident(i) => out.push(i),
            TokenTree::Group(g) => token_idents(&g.stream(), out),
            _ => {}
        }
    }
}

impl<'a> Visit<'a> for Mentions {
    /// The length of an array or slice is data, whatever its items are: of its place, only the
    /// indices are read.
    fn visit_expr_method_call(&mut self, m: &'a syn::ExprMethodCall) {
        match len_indices(m) {
            Some(indices) => indices.into_iter().for_each(|i| self.visit_expr(i)),
            None => syn::visit::visit_expr_method_call(self, m),
        }
    }
    fn visit_expr_path(&mut self, p: &'a syn::ExprPath) {
        if p.qself.is_none()
            && let Some(id) = p.path.get_ident()
        {
            self.0.push(id.clone());
        }
        syn::visit::visit_expr_path(self, p);
    }
    fn visit_macro(&mut self, m: &'a syn::Macro) {
        self.tokens(&m.tokens);
    }
    fn visit_expr(&mut self, e: &'a Expr) {
        if let Expr::Verbatim(tokens) = e {
            self.tokens(tokens);
        }
        syn::visit::visit_expr(self, e);
    }
}

fn expr_mentions(e: &Expr) -> Vec<Ident> {
    mentioned(&|m| m.visit_expr(e))
}

/// The identifiers `e` mentions outside `stop_gradient(..)`: what makes it active.
fn differentiated_mentions(e: &Expr) -> Vec<Ident> {
    struct Outside(Mentions);
    impl<'a> Visit<'a> for Outside {
        fn visit_expr(&mut self, e: &'a Expr) {
            if let Expr::Call(c) = e
                && let Expr::Path(p) = strip(&c.func)
                && is_rule_path(&p.path).is_some_and(|id| id == "stop_gradient")
            {
                return;
            }
            match e {
                // The leaves, as `Mentions` takes them.
                Expr::Path(_) | Expr::Macro(_) | Expr::Verbatim(_) => self.0.visit_expr(e),
                Expr::MethodCall(m) => match len_indices(m) {
                    Some(indices) => indices.into_iter().for_each(|i| self.visit_expr(i)),
                    None => syn::visit::visit_expr(self, e),
                },
                _ => syn::visit::visit_expr(self, e),
            }
        }
    }
    let mut o = Outside(Mentions(Vec::new()));
    o.visit_expr(e);
    o.0.0
}

/// `xs.len()` of a place (`xs`, `p.w`, `m[k]`, `(*r)`): the place's index expressions.
fn len_indices(m: &syn::ExprMethodCall) -> Option<Vec<&Expr>> {
    let (_, steps) = (m.method == "len" && m.args.is_empty()).then(|| place(strip_deref(&m.receiver)))??;
    Some(steps.into_iter().filter_map(|s| if let Step::Index(i) = s { Some(i) } else { None }).collect())
}

/// The rule a call names: a bare rule name, or a path into `relax` or `relax_core` ending in one
/// (`relax::softplus`, `relax::prelude::softplus`).
fn is_rule_path(path: &syn::Path) -> Option<&Ident> {
    let last = &path.segments.last()?.ident;
    let first = path.segments.first()?.ident.to_string();
    (path.segments.len() == 1 || matches!(first.as_str(), "relax" | "relax_core")).then_some(last)
}

/// Tokens as a user would write them in a hint (`x[0]`, not `x [0]`).
pub fn pretty(tokens: &TokenStream) -> String {
    tokens.to_string().replace(" [", "[").replace(" (", "(").replace(" . ", ".").replace("& ", "&")
}

/// The identifiers a pattern binds.
fn pattern_idents(pat: &Pat) -> Vec<Ident> {
    struct P(Vec<Ident>);
    impl<'a> Visit<'a> for P {
        fn visit_pat_ident(&mut self, p: &'a syn::PatIdent) {
            self.0.push(p.ident.clone());
            syn::visit::visit_pat_ident(self, p);
        }
    }
    let mut p = P(Vec::new());
    p.visit_pat(pat);
    p.0
}

fn strip(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => strip(&p.expr),
        Expr::Group(g) => strip(&g.expr),
        _ => e,
    }
}

/// `r` of `*r`; any other expression as [`strip`] leaves it.
fn strip_deref(e: &Expr) -> &Expr {
    match strip(e) {
        Expr::Unary(u) if matches!(u.op, UnOp::Deref(_)) => strip_deref(&u.expr),
        e => e,
    }
}

/// `x` or `x[i][j]`: the binding and the index expressions.
fn place(e: &Expr) -> Option<(Ident, Vec<Step<'_>>)> {
    match strip(e) {
        Expr::Path(p) => p.path.get_ident().map(|i| (i.clone(), Vec::new())),
        Expr::Index(ix) => {
            let (name, mut path) = place(&ix.expr)?;
            path.push(Step::Index(&ix.index));
            Some((name, path))
        }
        Expr::Field(f) => {
            let (name, mut path) = place(&f.base)?;
            path.push(Step::Field(&f.member));
            Some((name, path))
        }
        _ => None,
    }
}

/// One step of a place as written: `[i]` or `.f`.
#[derive(Clone, Copy)]
enum Step<'a> {
    Index(&'a Expr),
    Field(&'a syn::Member),
}

impl Lowerer<'_> {
    /// Whether an index of `steps` reads a differentiated value.
    fn active_index(&mut self, steps: &[Step]) -> bool {
        steps.iter().any(|s| matches!(s, Step::Index(i) if self.mentions_active(i)))
    }

    /// The projection path of `steps`, each index in a passive temporary.
    fn projection(&mut self, steps: &[Step], out: &mut Block) -> Vec<Proj> {
        steps
            .iter()
            .map(|s| match s {
                Step::Index(i) => Proj::Index(self.passive_temp(i.to_token_stream(), out)),
                Step::Field(m) => Proj::Field((*m).clone()),
            })
            .collect()
    }
}

fn is_compound(op: &BinOp) -> bool {
    matches!(
        op,
        BinOp::AddAssign(_)
            | BinOp::SubAssign(_)
            | BinOp::MulAssign(_)
            | BinOp::DivAssign(_)
            | BinOp::RemAssign(_)
            | BinOp::BitXorAssign(_)
            | BinOp::BitAndAssign(_)
            | BinOp::BitOrAssign(_)
            | BinOp::ShlAssign(_)
            | BinOp::ShrAssign(_)
    )
}

fn compound_to_binary(op: &BinOp) -> BinOp {
    match op {
        BinOp::MulAssign(t) => BinOp::Mul(syn::Token![*](t.spans[0])),
        BinOp::DivAssign(t) => BinOp::Div(syn::Token![/](t.spans[0])),
        other => *other,
    }
}

/// `__t{n}`.
pub fn temp_ident(t: Temp) -> Ident {
    format_ident!("__t{}", t)
}
