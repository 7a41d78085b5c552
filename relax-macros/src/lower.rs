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
use crate::rules::{self, Arg, Form};
use crate::signature::Signature;

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
    active: bool,
    mutable: bool,
    deref: bool,
    depth: usize,
    array_len: Option<TokenStream>,
    mut_ref: bool,
    /// A passive value computed from active ones (a comparison, an `argmax`): casting it back to
    /// a float would silently drop a gradient.
    tainted: bool,
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
}

struct Lowerer<'a> {
    krate: &'a syn::Path,
    real_params: Vec<Ident>,
    const_params: HashSet<String>,
    was_active: &'a HashSet<BindingId>,
    now_active: HashSet<BindingId>,
    scopes: Vec<Vec<Binding>>,
    all_bindings: BTreeMap<BindingId, Binding>,
    redeclared: HashSet<String>,
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
}

/// Lowers `block`, the body of the function with signature `sig`.
pub fn lower(
    block: &syn::Block,
    sig: &Signature,
    generics: &syn::Generics,
    krate: &syn::Path,
) -> Result<Body, Vec<syn::Error>> {
    let stmts = crate::normalize::returns(&block.stmts, &sig.output, krate);
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
            next_binding: 0,
            next_id: 0,
            temps: Vec::new(),
            loops: Vec::new(),
            write_log: Vec::new(),
            generation: HashMap::new(),
            value_keys: HashMap::new(),
            residuals: vec![(false, Vec::new())],
            errors: Vec::new(),
        };
        let params: Vec<BindingId> = sig
            .params
            .iter()
            .map(|p| {
                let deref = matches!(p.ty, syn::Type::Reference(_));
                l.declare(&p.ident, p.mutable, p.diff.is_some(), deref, p.array_len.clone(), p.mut_ref)
            })
            .collect();
        let mut body = Block::default();
        l.lower_stmts(&stmts, &mut body, true);
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
            return Ok(Body { block: body, active: l.temps, params });
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
        for tt in tokens.clone() {
            match tt {
                TokenTree::Ident(i) => self.0.push(i),
                TokenTree::Group(g) => self.tokens(&g.stream()),
                _ => {}
            }
        }
    }
}

impl<'a> Visit<'a> for Mentions {
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

/// The rule a call names: a bare rule name, or a path into `relax` or `relax_core` ending in one
/// (`relax::softplus`, `relax::prelude::softplus`).
fn is_rule_path(path: &syn::Path) -> Option<&Ident> {
    let last = &path.segments.last()?.ident;
    let first = path.segments.first()?.ident.to_string();
    (path.segments.len() == 1 || matches!(first.as_str(), "relax" | "relax_core")).then_some(last)
}

impl Lowerer<'_> {
    fn declare(
        &mut self,
        name: &Ident,
        mutable: bool,
        active: bool,
        deref: bool,
        array_len: Option<TokenStream>,
        mut_ref: bool,
    ) -> BindingId {
        let id = self.next_binding;
        self.next_binding += 1;
        let active = active || self.was_active.contains(&id);
        if active {
            self.now_active.insert(id);
        }
        let depth = self.scopes.len() - 1;
        let tainted = false;
        let b = Binding { id, name: name.clone(), active, mutable, deref, depth, array_len, mut_ref, tainted };
        self.all_bindings.insert(id, b.clone());
        self.scopes.last_mut().expect("a scope").push(b);
        id
    }

    fn lookup(&self, name: &Ident) -> Option<&Binding> {
        self.scopes.iter().rev().flat_map(|s| s.iter().rev()).find(|b| b.name == *name)
    }

    fn make_active(&mut self, id: BindingId) {
        self.now_active.insert(id);
    }

    /// Records a use of `id` in every loop it is declared outside of.
    fn note(&mut self, id: BindingId, how: Use) {
        if how != Use::Read {
            self.write_log.push(id);
            *self.generation.entry(id).or_default() += 1;
        }
        let depth = self.all_bindings[&id].depth;
        for l in &mut self.loops {
            if depth < l.depth {
                match how {
                    Use::Read => l.reads.insert(id),
                    Use::Accumulate => l.writes.insert(id),
                    Use::Overwrite => l.writes.insert(id) | l.overwrites.insert(id),
                };
            }
        }
    }

    /// Notes the reads of the identifiers `e` mentions; true when one is an active binding.
    fn scan(&mut self, idents: &[Ident]) -> bool {
        let mut active = false;
        for id in idents {
            if let Some(b) = self.lookup(id).cloned() {
                self.note(b.id, Use::Read);
                active |= b.active;
            }
        }
        active
    }

    fn mentions_active(&mut self, e: &Expr) -> bool {
        self.scan(&expr_mentions(e))
    }

    /// Mentions an active or a tainted binding.
    fn mentions_derived(&self, e: &Expr) -> bool {
        expr_mentions(e).iter().any(|i| self.lookup(i).is_some_and(|b| b.active || b.tainted))
    }

    fn taint_last(&mut self) {
        if let Some(b) = self.scopes.last_mut().and_then(|s| s.last_mut()) {
            b.tainted = true;
        }
    }

    /// Reports casts to a float of values computed from active ones (outside `stop_gradient` and
    /// the hard half of `straight_through`): their gradient would silently be zero.
    fn check_casts(&mut self, e: &Expr) {
        struct Casts<'a, 'b>(&'a mut Lowerer<'b>);
        impl<'ast> Visit<'ast> for Casts<'_, '_> {
            fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
                if let Expr::Path(p) = strip(&c.func)
                    && let Some(id) = is_rule_path(&p.path)
                {
                    match id.to_string().as_str() {
                        "stop_gradient" => return,
                        "straight_through" => {
                            c.args.iter().skip(1).for_each(|a| self.visit_expr(a));
                            return;
                        }
                        _ => {}
                    }
                }
                syn::visit::visit_expr_call(self, c);
            }
            fn visit_expr_cast(&mut self, c: &'ast syn::ExprCast) {
                let to_float = crate::signature::is_float_type(&c.ty, &self.0.real_params);
                if to_float && self.0.mentions_derived(&c.expr) {
                    let what = pretty(&c.expr.to_token_stream());
                    self.0.error(
                        c.span(),
                        format!("`{what}` is computed from differentiated values but is not a float (an index, a comparison, an `argmax`): cast back to a float its gradient would silently be zero. Use `st_argmax(x, t)` or `straight_through({what} as _, soft)` to pass a soft gradient, or wrap it in `stop_gradient(..)`"),
                    );
                }
                syn::visit::visit_expr_cast(self, c);
            }
        }
        Casts(self).visit_expr(e);
    }

    /// May have side effects when evaluated again: takes `&mut`, names a `&mut` binding, or calls
    /// a macro.
    fn may_mutate(&self, tokens: &TokenStream) -> bool {
        fn scan(tokens: &TokenStream, mut_ref: &dyn Fn(&Ident) -> bool) -> bool {
            let trees: Vec<TokenTree> = tokens.clone().into_iter().collect();
            trees.iter().enumerate().any(|(k, t)| match t {
                TokenTree::Group(g) => scan(&g.stream(), mut_ref),
                TokenTree::Ident(i) => {
                    let macro_call = matches!(trees.get(k + 1), Some(TokenTree::Punct(p)) if p.as_char() == '!')
                        && matches!(trees.get(k + 2), Some(TokenTree::Group(_)));
                    macro_call || mut_ref(i)
                }
                TokenTree::Punct(p) => {
                    p.as_char() == '&' && matches!(trees.get(k + 1), Some(TokenTree::Ident(i)) if i == "mut")
                }
                TokenTree::Literal(_) => false,
            })
        }
        scan(tokens, &|i| self.lookup(i).is_some_and(|b| b.mut_ref))
    }

    fn temp(&mut self, active: bool) -> Temp {
        self.temps.push(active);
        self.temps.len() - 1
    }

    fn id(&mut self) -> usize {
        self.next_id += 1;
        self.next_id
    }

    fn error(&mut self, span: proc_macro2::Span, msg: impl std::fmt::Display) {
        self.errors.push(syn::Error::new(span, msg));
    }

    fn materialize(&mut self, v: Value, out: &mut Block) -> Temp {
        match v {
            Value::Active(t) | Value::PassiveTemp(t) => t,
            Value::Passive(e) => self.passive_temp(e.into_token_stream(), out),
        }
    }

    fn passive_temp(&mut self, expr: TokenStream, out: &mut Block) -> Temp {
        let impure = self.may_mutate(&expr);
        let temp = self.temp(false);
        if !impure {
            let key = self.expr_key(&expr);
            self.value_keys.insert(temp, key);
        }
        if impure && let Some(l) = self.loops.last_mut() {
            l.impure.push(temp);
        }
        out.stmts.push(Stmt::Passive { temp, expr, impure });
        temp
    }

    /// The key of a value read from `binding` now.
    fn read_key(&self, binding: BindingId) -> String {
        format!("b{binding}@{}", self.generation.get(&binding).copied().unwrap_or(0))
    }

    /// The key of a passive expression without side effects: its tokens and the generations of
    /// the bindings it mentions.
    fn expr_key(&self, expr: &TokenStream) -> String {
        let mut m = Mentions(Vec::new());
        m.tokens(expr);
        let reads: Vec<String> = m.0.iter().filter_map(|i| self.lookup(i)).map(|b| self.read_key(b.id)).collect();
        format!("e{expr}{reads:?}")
    }

    /// A residual computed before with arguments of the same values, in this loop iteration.
    fn available_residual(&self, key: &str) -> Option<Temp> {
        for (is_loop, scope) in self.residuals.iter().rev() {
            if let Some((_, r)) = scope.iter().find(|(k, _)| k == key) {
                return Some(*r);
            }
            if *is_loop {
                return None;
            }
        }
        None
    }

    /// The residual of a softmax-family rule on `args`: an earlier one of equal arguments
    /// (shared), or a new one, registered for later rules.
    fn residual_for(&mut self, args: &[Temp]) -> (Option<Temp>, bool) {
        let keys: Option<Vec<&String>> = args.iter().map(|a| self.value_keys.get(a)).collect();
        let key = keys.map(|k| format!("softmax{k:?}"));
        if let Some(r) = key.as_deref().and_then(|k| self.available_residual(k)) {
            return (Some(r), true);
        }
        let r = self.temp(false);
        if let Some(key) = key {
            self.residuals.last_mut().expect("a scope").1.push((key, r));
        }
        (Some(r), false)
    }

    fn push_scope(&mut self, is_loop: bool) {
        self.scopes.push(Vec::new());
        self.residuals.push((is_loop, Vec::new()));
    }

    fn pop_scope(&mut self) {
        self.scopes.pop();
        self.residuals.pop();
    }

    fn is_active(&self, v: &Value) -> bool {
        matches!(v, Value::Active(_))
    }

    // ---------------------------------------------------------------------------------------
    // Statements
    // ---------------------------------------------------------------------------------------

    fn lower_stmts(&mut self, stmts: &[syn::Stmt], out: &mut Block, want_result: bool) {
        for (i, stmt) in stmts.iter().enumerate() {
            let last = i + 1 == stmts.len();
            match stmt {
                syn::Stmt::Local(local) => self.lower_let(local, out),
                syn::Stmt::Expr(e, None) if last && want_result => {
                    let v = self.lower_expr(e, out);
                    out.result = Some(self.materialize(v, out));
                }
                syn::Stmt::Expr(e, _) => self.lower_expr_stmt(e, stmt, out),
                syn::Stmt::Item(_) | syn::Stmt::Macro(_) => {
                    let since = self.write_log.len();
                    let v = self.verbatim(stmt.to_token_stream(), Vec::new(), since);
                    out.stmts.push(v);
                }
            }
        }
    }

    /// A passive statement; `since` is where the write log stood before it was lowered.
    fn verbatim(&mut self, tokens: TokenStream, binds: Vec<(BindingId, Ident)>, since: usize) -> Stmt {
        let impure = self.may_mutate(&tokens);
        if impure
            && !binds.is_empty()
            && let Some(l) = self.loops.last_mut()
        {
            l.impure_lets.push(tokens.span());
        }
        let assigns = self.write_log[since..].to_vec();
        Stmt::Verbatim { tokens, binds, assigns, impure }
    }

    fn lower_let(&mut self, local: &syn::Local, out: &mut Block) {
        let since = self.write_log.len();
        let tokens = local.to_token_stream();
        let (pat, ty) = match &local.pat {
            Pat::Type(pt) => (&*pt.pat, Some(pt.ty.clone())),
            p => (p, None),
        };
        let init = local.init.as_ref();
        let init_active = init.is_some_and(|i| self.mentions_active(&i.expr));
        if let Some(i) = init
            && i.diverge.is_some()
            && init_active
        {
            self.error(
                local.span(),
                "`let … else` is not supported on active values: bind the value, then branch with `if`",
            );
            return;
        }
        match pat {
            Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => {
                let (name, mutable) = (pi.ident.clone(), pi.mutability.is_some());
                let was_active = self.was_active.contains(&self.next_binding);
                let value = match init {
                    Some(init) if init_active || was_active => {
                        let v = self.lower_expr(&init.expr, out);
                        if !self.is_active(&v) && !was_active {
                            if let Value::PassiveTemp(t) = v {
                                let binding = self.declare(&name, mutable, false, false, None, false);
                                out.stmts.push(Stmt::Let { binding, name, mutable, active: false, ty, value: t });
                                return;
                            }
                            None
                        } else {
                            Some(self.materialize(v, out))
                        }
                    }
                    None if was_active => {
                        self.error(
                            local.span(),
                            format!("initialize `{name}` where it is declared: `let mut {name} = 0.0;`"),
                        );
                        return;
                    }
                    _ => None,
                };
                match value {
                    Some(value) => {
                        let binding = self.declare(&name, mutable, true, false, None, false);
                        out.stmts.push(Stmt::Let { binding, name, mutable, active: true, ty, value });
                    }
                    None => {
                        let derived = init.is_some_and(|i| self.mentions_derived(&i.expr));
                        if let Some(i) = init {
                            self.check_casts(&i.expr);
                        }
                        let id = self.declare(&name, mutable, false, false, None, false);
                        if derived {
                            self.taint_last();
                        }
                        let v = self.verbatim(tokens, vec![(id, name)], since);
                        out.stmts.push(v);
                    }
                }
            }
            Pat::Tuple(tp) if init.is_some() && init_active => {
                let init = init.expect("checked");
                let v = self.lower_expr(&init.expr, out);
                let tuple = self.materialize(v, out);
                for (index, elem) in tp.elems.iter().enumerate() {
                    match elem {
                        Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => {
                            let temp = self.temp(true);
                            out.stmts.push(Stmt::Compute { temp, op: Op::Field { index }, args: vec![tuple] });
                            let mutable = pi.mutability.is_some();
                            let binding = self.declare(&pi.ident, mutable, true, false, None, false);
                            out.stmts.push(Stmt::Let {
                                binding,
                                name: pi.ident.clone(),
                                mutable,
                                active: true,
                                ty: None,
                                value: temp,
                            });
                        }
                        Pat::Wild(_) => {}
                        other => self.error(
                            other.span(),
                            "tuple patterns of active values take names or `_`: `let (a, b) = f(x);`",
                        ),
                    }
                }
            }
            _ if !init_active => {
                let derived = init.is_some_and(|i| self.mentions_derived(&i.expr));
                let mut binds = Vec::new();
                for id in pattern_idents(pat) {
                    binds.push((self.declare(&id, false, false, false, None, false), id));
                    if derived {
                        self.taint_last();
                    }
                }
                let v = self.verbatim(tokens, binds, since);
                out.stmts.push(v);
            }
            other => self.error(
                other.span(),
                "bind active values to a name or a tuple of names: `let y = …;`, `let (a, b) = …;`",
            ),
        }
    }

    fn lower_expr_stmt(&mut self, e: &Expr, stmt: &syn::Stmt, out: &mut Block) {
        let since = self.write_log.len();
        match e {
            Expr::Assign(a) => self.lower_assign(&a.left, &a.right, None, stmt, out),
            Expr::Binary(b) if is_compound(&b.op) => self.lower_assign(&b.left, &b.right, Some(&b.op), stmt, out),
            Expr::If(i) => {
                let _ = self.lower_if(i, false, out);
            }
            Expr::ForLoop(f) => self.lower_for(f, out),
            Expr::While(_) | Expr::Loop(_) if self.mentions_active(e) => self.error(
                e.span(),
                "`while` and `loop` are not supported on active values: write `for i in 0..N` (N a constant, a const generic or `xs.len()`) or `for v in xs`",
            ),
            Expr::Macro(_) => {
                let v = self.verbatim(stmt.to_token_stream(), Vec::new(), since);
                out.stmts.push(v);
            }
            _ if self.mentions_active(e) => {
                let v = self.lower_expr(e, out);
                if self.is_active(&v) {
                    self.error(e.span(), "this statement computes an active value and drops it: bind it with `let` or assign it");
                }
            }
            _ => {
                let v = self.verbatim(stmt.to_token_stream(), Vec::new(), since);
                out.stmts.push(v);
            }
        }
    }

    /// `place = value`, `place op= value`.
    fn lower_assign(&mut self, left: &Expr, right: &Expr, op: Option<&BinOp>, stmt: &syn::Stmt, out: &mut Block) {
        let since = self.write_log.len();
        let Some((name, index_exprs)) = place(left) else {
            if self.mentions_active(right) {
                self.error(left.span(), "assign active values to a local variable or an element of one (`y[i] = …`)");
            } else {
                let v = self.verbatim(stmt.to_token_stream(), Vec::new(), since);
                out.stmts.push(v);
            }
            return;
        };
        let Some(b) = self.lookup(&name).cloned() else {
            let v = self.verbatim(stmt.to_token_stream(), Vec::new(), since);
            out.stmts.push(v);
            return;
        };
        let right_active = self.mentions_active(right);
        let index_active = index_exprs.iter().any(|i| self.mentions_active(i));
        if index_active {
            self.error(left.span(), "an index must not depend on differentiated values: wrap it in `stop_gradient(..)` or compute it from data");
            return;
        }
        if !b.active && !right_active {
            self.check_casts(right);
            self.note(b.id, Use::Overwrite);
            if op.is_some() || !index_exprs.is_empty() {
                self.note(b.id, Use::Read);
            }
            let v = self.verbatim(stmt.to_token_stream(), Vec::new(), since);
            out.stmts.push(v);
            return;
        }
        if !b.active {
            self.make_active(b.id);
        }
        if b.deref {
            self.error(
                left.span(),
                format!("`{name}` is a reference: write into a local copy (`let mut y = *{name};`)"),
            );
            return;
        }
        if op.is_some_and(|o| matches!(o, BinOp::RemAssign(_))) {
            self.error(
                stmt.span(),
                "float `%` has a zero derivative almost everywhere: wrap it in `stop_gradient(..)`",
            );
            return;
        }
        let indices: Vec<Temp> = index_exprs.iter().map(|i| self.passive_temp(i.to_token_stream(), out)).collect();
        let accumulates = index_exprs.is_empty() && matches!(op, Some(BinOp::AddAssign(_) | BinOp::SubAssign(_)));
        self.note(b.id, if accumulates { Use::Accumulate } else { Use::Overwrite });
        let access = Access { binding: b.id, name: name.clone(), indices, deref: false };
        let mode = match op {
            None => WriteMode::Set,
            Some(BinOp::AddAssign(_)) => WriteMode::Add,
            Some(BinOp::SubAssign(_)) => WriteMode::Sub,
            Some(o) => {
                // `x op= e` is `x = x op e`, the same float operation.
                self.note(b.id, Use::Read);
                let old = self.temp(true);
                out.stmts.push(Stmt::Read { temp: old, access: access.clone() });
                let rhs = self.lower_expr(right, out);
                let rhs = self.materialize(rhs, out);
                let bin = compound_to_binary(o);
                let Some(pullback) = rules::binary_pullback(&bin) else {
                    self.error(o.span(), "only `+= -= *= /=` are supported on active values");
                    return;
                };
                let temp = self.temp(true);
                out.stmts.push(Stmt::Compute { temp, op: Op::Binary { op: bin, pullback }, args: vec![old, rhs] });
                out.stmts.push(Stmt::Write { access, mode: WriteMode::Set, value: temp });
                return;
            }
        };
        let v = self.lower_expr(right, out);
        let value = self.materialize(v, out);
        out.stmts.push(Stmt::Write { access, mode, value });
    }

    // ---------------------------------------------------------------------------------------
    // Expressions
    // ---------------------------------------------------------------------------------------

    fn lower_expr(&mut self, e: &Expr, out: &mut Block) -> Value {
        if !self.mentions_active(e) {
            self.check_casts(e);
            return Value::Passive(Box::new(e.clone()));
        }
        match e {
            Expr::Paren(p) => self.lower_expr(&p.expr, out),
            Expr::Group(g) => self.lower_expr(&g.expr, out),
            Expr::Path(p) => match p.path.get_ident().and_then(|i| self.lookup(i).cloned()) {
                Some(b) if b.active => {
                    let temp = self.temp(true);
                    let key = self.read_key(b.id);
                    self.value_keys.insert(temp, key);
                    out.stmts.push(Stmt::Read {
                        temp,
                        access: Access { binding: b.id, name: b.name, indices: Vec::new(), deref: b.deref },
                    });
                    Value::Active(temp)
                }
                _ => Value::Passive(Box::new(e.clone())),
            },
            Expr::Binary(b) => self.lower_binary(e, b, out),
            Expr::Unary(u) => match u.op {
                UnOp::Neg(_) => {
                    let v = self.lower_expr(&u.expr, out);
                    if !self.is_active(&v) {
                        return Value::Passive(Box::new(e.clone()));
                    }
                    let a = self.materialize(v, out);
                    let temp = self.temp(true);
                    out.stmts.push(Stmt::Compute { temp, op: Op::Neg, args: vec![a] });
                    Value::Active(temp)
                }
                UnOp::Deref(_) => self.lower_expr(&u.expr, out),
                _ => Value::Passive(Box::new(e.clone())),
            },
            Expr::Cast(c) => {
                let mut scratch = Block::default();
                let inner = self.lower_expr(&c.expr, &mut scratch);
                if self.is_active(&inner) {
                    self.error(c.span(), "casts of differentiated values are not supported: keep one float type through the computation (casts are for data, such as `i as f64`), or wrap the value in `stop_gradient(..)`");
                } else {
                    self.check_casts(e);
                }
                Value::Passive(Box::new(e.clone()))
            }
            Expr::Index(_) => self.lower_index(e, out),
            Expr::Array(a) => {
                let elems: Vec<Value> = a.elems.iter().map(|x| self.lower_expr(x, out)).collect();
                self.compute_all(Op::Array, elems, out)
            }
            Expr::Tuple(t) => {
                let elems: Vec<Value> = t.elems.iter().map(|x| self.lower_expr(x, out)).collect();
                self.compute_all(Op::Tuple, elems, out)
            }
            Expr::Repeat(r) => {
                let v = self.lower_expr(&r.expr, out);
                self.compute_all(Op::Repeat { len: r.len.to_token_stream() }, vec![v], out)
            }
            Expr::Field(f) => {
                let syn::Member::Unnamed(index) = &f.member else {
                    self.error(f.span(), "fields of active values: only tuple fields (`t.0`) are supported");
                    return Value::Passive(Box::new(e.clone()));
                };
                let v = self.lower_expr(&f.base, out);
                self.compute_all(Op::Field { index: index.index as usize }, vec![v], out)
            }
            Expr::MethodCall(m) => self.lower_method(e, m, out),
            Expr::Call(c) => self.lower_call(e, c, out),
            Expr::If(i) => self.lower_if(i, true, out),
            Expr::Block(b) if b.block.stmts.len() == 1 => match &b.block.stmts[0] {
                syn::Stmt::Expr(inner, None) => self.lower_expr(inner, out),
                _ => self.unsupported(e),
            },
            Expr::Return(r) => {
                self.error(r.span(), "`return` is supported in tail position, in branches and in `for` loops: write it as a statement (`return e;`)");
                Value::Passive(Box::new(e.clone()))
            }
            _ => self.unsupported(e),
        }
    }

    fn unsupported(&mut self, e: &Expr) -> Value {
        let what = match e {
            Expr::Match(_) => "`match` on active values is not supported: use `if`/`else`",
            Expr::Closure(_) => "closures over active values are not supported: write the loop as `for i in 0..N`",
            Expr::Macro(_) => "macros cannot take active values: compute the value with plain expressions",
            Expr::Reference(_) => {
                "references to active values are only taken as arguments of differentiable functions (`f(&x)`)"
            }
            Expr::Loop(_) | Expr::While(_) => {
                "`while` and `loop` are not supported: write `for i in 0..N` or `for v in xs`"
            }
            Expr::Block(_) => "blocks as active expressions are not supported: use `let` statements",
            _ => {
                "this expression is not supported on differentiated values (see relax's supported language: arithmetic, float methods, arrays, `for`, `if`, rules and other #[differentiable] functions)"
            }
        };
        self.error(e.span(), what);
        Value::Passive(Box::new(e.clone()))
    }

    /// An op over `args`: passive when every argument is.
    fn compute_all(&mut self, op: Op, args: Vec<Value>, out: &mut Block) -> Value {
        if !args.iter().any(|a| self.is_active(a)) {
            // Reassemble as a passive expression from temporaries.
            let temps: Vec<Temp> = args.into_iter().map(|a| self.materialize(a, out)).collect();
            let names = temps.iter().map(|t| temp_ident(*t));
            let expr: Expr = match &op {
                Op::Array => syn::parse_quote!([#(#names),*]),
                Op::Tuple => syn::parse_quote!((#(#names,)*)),
                _ => syn::parse_quote!((#(#names),*)),
            };
            return Value::Passive(Box::new(expr));
        }
        let args: Vec<Temp> = args.into_iter().map(|a| self.materialize(a, out)).collect();
        let temp = self.temp(true);
        out.stmts.push(Stmt::Compute { temp, op, args });
        Value::Active(temp)
    }

    fn lower_binary(&mut self, e: &Expr, b: &syn::ExprBinary, out: &mut Block) -> Value {
        match rules::binary_pullback(&b.op) {
            Some(pullback) => {
                let l = self.lower_expr(&b.left, out);
                let r = self.lower_expr(&b.right, out);
                if !self.is_active(&l) && !self.is_active(&r) {
                    return Value::Passive(Box::new(e.clone()));
                }
                let (l, r) = (self.materialize(l, out), self.materialize(r, out));
                let temp = self.temp(true);
                out.stmts.push(Stmt::Compute { temp, op: Op::Binary { op: b.op, pullback }, args: vec![l, r] });
                Value::Active(temp)
            }
            None if matches!(b.op, BinOp::Rem(_)) => {
                self.error(b.op.span(), "float `%` has a zero derivative almost everywhere: wrap it in `stop_gradient(..)`, or use `straight_through(x % m, x)`");
                Value::Passive(Box::new(e.clone()))
            }
            None if is_compound(&b.op) => {
                self.error(b.span(), "compound assignment is a statement: end it with `;`");
                Value::Passive(Box::new(e.clone()))
            }
            // Comparisons and logic give passive booleans (a condition may read active values).
            None => Value::Passive(Box::new(e.clone())),
        }
    }

    fn lower_index(&mut self, e: &Expr, out: &mut Block) -> Value {
        let mut indices = Vec::new();
        let mut base = e;
        while let Expr::Index(ix) = base {
            indices.push(&*ix.index);
            base = &ix.expr;
        }
        indices.reverse();
        if indices.iter().any(|i| self.mentions_active(i)) {
            self.error(e.span(), "an index must not depend on differentiated values: wrap it in `stop_gradient(..)`, or use `st_argmax`/`soft_argmax` for a relaxed index");
            return Value::Passive(Box::new(e.clone()));
        }
        let binding = match strip(base) {
            Expr::Path(p) => p.path.get_ident().and_then(|i| self.lookup(i).cloned()),
            _ => None,
        };
        match binding {
            Some(b) if b.active => {
                let indices = indices.iter().map(|i| self.passive_temp(i.to_token_stream(), out)).collect();
                let temp = self.temp(true);
                out.stmts
                    .push(Stmt::Read { temp, access: Access { binding: b.id, name: b.name, indices, deref: false } });
                Value::Active(temp)
            }
            Some(_) => Value::Passive(Box::new(e.clone())),
            None => {
                let v = self.lower_expr(base, out);
                if !self.is_active(&v) {
                    return Value::Passive(Box::new(e.clone()));
                }
                let a = self.materialize(v, out);
                let indices = indices.iter().map(|i| self.passive_temp(i.to_token_stream(), out)).collect();
                let temp = self.temp(true);
                out.stmts.push(Stmt::Compute { temp, op: Op::Index { indices }, args: vec![a] });
                Value::Active(temp)
            }
        }
    }

    fn lower_method(&mut self, e: &Expr, m: &syn::ExprMethodCall, out: &mut Block) -> Value {
        let name = m.method.to_string();
        if rules::step_method(&name) {
            if self.mentions_active(&m.receiver) {
                let recv = pretty(&m.receiver.to_token_stream());
                self.error(
                    m.method.span(),
                    format!("`{name}` has a zero derivative almost everywhere, so its gradient would silently vanish: wrap it in `stop_gradient(..)`, or use `straight_through({recv}.{name}(), {recv})` to pass the gradient of `{recv}` through"),
                );
            }
            return Value::Passive(Box::new(e.clone()));
        }
        let Some(method) = rules::method_rule(&name) else {
            if name == "len" {
                return Value::Passive(Box::new(e.clone()));
            }
            if rules::iterator_method(&name) {
                self.error(m.method.span(), format!("iterator adaptors and closures (`.{name}(..)`) are not supported on differentiated values: write a `for` loop, such as `for i in 0..N {{ acc += … }}`"));
                return Value::Passive(Box::new(e.clone()));
            }
            self.error(
                m.method.span(),
                format!("`.{name}()` cannot be differentiated: the float methods relax knows are exp exp2 exp_m1 ln ln_1p log2 log10 sqrt cbrt recip powi powf sin cos tan asin acos atan atan2 sinh cosh tanh abs max min clamp hypot mul_add; wrap anything else in `stop_gradient(..)`"),
            );
            return Value::Passive(Box::new(e.clone()));
        };
        if m.args.len() + 1 != method.args.len() {
            return Value::Passive(Box::new(e.clone()));
        }
        let exprs: Vec<&Expr> = std::iter::once(&*m.receiver).chain(m.args.iter()).collect();
        let mut values = Vec::new();
        for (x, kind) in exprs.iter().zip(method.args) {
            match kind {
                rules::MethodArg::Float => values.push(self.lower_expr(x, out)),
                rules::MethodArg::Int => {
                    if self.mentions_active(x) {
                        self.error(
                            x.span(),
                            "the exponent of `powi` is an integer and must not depend on differentiated values",
                        );
                    }
                    values.push(Value::Passive(Box::new((*x).clone())));
                }
            }
        }
        if !values.iter().any(|v| self.is_active(v)) {
            return Value::Passive(Box::new(e.clone()));
        }
        let args = values.into_iter().map(|v| self.materialize(v, out)).collect();
        let float_args = method.args.iter().map(|a| *a == rules::MethodArg::Float).collect();
        let temp = self.temp(true);
        out.stmts.push(Stmt::Compute { temp, op: Op::Method { name: m.method.clone(), float_args }, args });
        Value::Active(temp)
    }

    fn lower_call(&mut self, e: &Expr, c: &syn::ExprCall, out: &mut Block) -> Value {
        let Expr::Path(fp) = strip(&c.func) else {
            return self.unsupported(e);
        };
        if fp.qself.is_some() {
            return Value::Passive(Box::new(e.clone()));
        }
        let rule = is_rule_path(&fp.path).and_then(|id| rules::rule(&id.to_string()).map(|r| (id.clone(), r)));
        if let Some((ident, rule)) = rule {
            let generics = match &fp.path.segments.last().expect("a segment").arguments {
                syn::PathArguments::AngleBracketed(a) => a.to_token_stream(),
                _ => TokenStream::new(),
            };
            return self.lower_rule(e, c, &ident, rule, generics, out);
        }
        // Any other function called on active values must be #[differentiable].
        let args: Vec<&Expr> = c.args.iter().collect();
        if !args.iter().any(|a| self.mentions_active(a)) {
            return Value::Passive(Box::new(e.clone()));
        }
        let mut call_args = Vec::new();
        let mut impure = false;
        for a in args {
            match a {
                Expr::Reference(r) if r.mutability.is_none() && self.mentions_active(&r.expr) => {
                    let v = self.lower_expr(&r.expr, out);
                    call_args.push(CallArg::ActiveRef(self.materialize(v, out)));
                }
                _ => {
                    let v = self.lower_expr(a, out);
                    match v {
                        Value::Active(t) => call_args.push(CallArg::Active(t)),
                        Value::PassiveTemp(t) => call_args.push(CallArg::Data(temp_ident(t).into_token_stream())),
                        Value::Passive(x) => {
                            let tokens = x.into_token_stream();
                            impure |= self.may_mutate(&tokens);
                            call_args.push(CallArg::Data(tokens));
                        }
                    }
                }
            }
        }
        let mut path = fp.path.clone();
        let last = path.segments.last_mut().expect("a segment");
        last.ident = crate::names::split_form(&last.ident);
        let callee = path.into_token_stream();
        let temp = self.temp(true);
        let pullback = self.temp(false);
        if impure && let Some(l) = self.loops.last_mut() {
            l.impure.push(temp);
        }
        out.stmts.push(Stmt::Call { temp, pullback, callee, args: call_args, impure });
        Value::Active(temp)
    }

    fn lower_rule(
        &mut self,
        e: &Expr,
        c: &syn::ExprCall,
        ident: &Ident,
        rule: &'static rules::Rule,
        generics: TokenStream,
        out: &mut Block,
    ) -> Value {
        let name = rule.name;
        match rule.form {
            Form::Passive => {
                // An integer result (argmax, a sample) is fine as an index; a float made from one
                // (`one_hot`) would have a silently zero gradient.
                if name == "one_hot" && c.args.iter().any(|a| self.mentions_derived(a)) {
                    self.error(ident.span(), "`one_hot` of an index computed from differentiated values has a zero gradient: use `st_one_hot(x, t)` (straight-through) or `softmax(x, t)`, or wrap it in `stop_gradient(..)`");
                }
                Value::Passive(Box::new(e.clone()))
            }
            Form::Pullback | Form::Split | Form::Sampled { .. } => {
                if c.args.len() != rule.args.len() {
                    self.error(c.span(), format!("`{name}` takes {} arguments", rule.args.len()));
                    return Value::Passive(Box::new(e.clone()));
                }
                let mut values = Vec::new();
                let mut rng = None;
                for (a, kind) in c.args.iter().zip(rule.args) {
                    match kind {
                        Arg::Diff => values.push(self.lower_expr(a, out)),
                        Arg::Hard => values.push(Value::Passive(Box::new(a.clone()))),
                        Arg::Rng => rng = Some(a.to_token_stream()),
                    }
                }
                let diff_active = values.iter().zip(rule.args).any(|(v, k)| *k == Arg::Diff && self.is_active(v));
                if !diff_active {
                    return Value::Passive(Box::new(e.clone()));
                }
                let mut args: Vec<Temp> = values.into_iter().map(|v| self.materialize(v, out)).collect();
                let (op_name, float_count) = match rule.form {
                    Form::Sampled { noise, explicit, noise_at } => {
                        let krate = self.krate;
                        let noise = format_ident!("{}", noise, span = ident.span());
                        let rng = rng.unwrap_or_default();
                        let draw = quote_spanned!(ident.span()=> #krate::#noise #generics (#rng));
                        let z = self.passive_temp(draw, out);
                        args.insert(noise_at, z);
                        let explicit = rules::rule(explicit).expect("explicit-noise rules are in the table");
                        (format_ident!("{}", explicit.name, span = ident.span()), explicit.args.len())
                    }
                    _ => (ident.clone(), args.len()),
                };
                let temp = self.temp(true);
                let (residual, shared) =
                    if rule.form == Form::Split { self.residual_for(&args) } else { (None, false) };
                let op = Op::Rule { name: op_name, generics, float_args: vec![true; float_count], residual, shared };
                out.stmts.push(Stmt::Compute { temp, op, args });
                Value::Active(temp)
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Control flow
    // ---------------------------------------------------------------------------------------

    fn lower_block(&mut self, stmts: &[syn::Stmt], want_result: bool) -> Block {
        self.push_scope(false);
        let mut block = Block::default();
        self.lower_stmts(stmts, &mut block, want_result);
        self.pop_scope();
        block
    }

    fn lower_if(&mut self, i: &syn::ExprIf, want_result: bool, out: &mut Block) -> Value {
        let since = self.write_log.len();
        let whole = Expr::If(i.clone());
        let mut prelude = Block::default();
        let cond_tokens = i.cond.to_token_stream();
        let _ = self.mentions_active(&i.cond);
        let cond = self.passive_temp(cond_tokens, &mut prelude);
        let mut then = self.lower_block(&i.then_branch.stmts, want_result);
        let mut otherwise = match &i.else_branch {
            None => Block::default(),
            Some((_, e)) => match &**e {
                Expr::Block(b) => self.lower_block(&b.block.stmts, want_result),
                other => self.lower_block(&[syn::Stmt::Expr(other.clone(), None)], want_result),
            },
        };
        if want_result && i.else_branch.is_none() {
            self.error(i.span(), "an `if` whose value is used needs an `else` branch");
            return Value::Passive(Box::new(whole));
        }
        let results_active = [&then, &otherwise].iter().any(|b| b.result.is_some_and(|t| self.temps[t]));
        if then.is_passive() && otherwise.is_passive() && !results_active {
            if want_result {
                return Value::Passive(Box::new(whole));
            }
            let v = self.verbatim(whole.to_token_stream(), Vec::new(), since);
            out.stmts.push(v);
            return Value::Passive(Box::new(whole));
        }
        out.stmts.extend(prelude.stmts);
        let result = want_result.then(|| self.temp(results_active));
        if result.is_some() {
            // Both branches end in a temporary (a constant branch value included).
            for b in [&mut then, &mut otherwise] {
                if b.result.is_none() {
                    self.error(i.span(), "both branches of an `if` whose value is used must end in a value");
                }
            }
        }
        let id = self.id();
        out.stmts.push(Stmt::If(Box::new(If { id, cond, then, otherwise, result })));
        match result {
            Some(t) if results_active => Value::Active(t),
            Some(t) => Value::PassiveTemp(t),
            None => Value::Passive(Box::new(whole)),
        }
    }

    fn lower_for(&mut self, f: &syn::ExprForLoop, out: &mut Block) {
        let since = self.write_log.len();
        let whole = Expr::ForLoop(f.clone());
        let mut prelude = Block::default();
        let depth = self.scopes.len();
        self.push_scope(true);
        self.loops.push(LoopCtx {
            depth,
            reads: BTreeSet::new(),
            writes: BTreeSet::new(),
            overwrites: BTreeSet::new(),
            impure: Vec::new(),
            impure_lets: Vec::new(),
        });
        let index = self.temp(false);
        let mut body = Block::default();
        let (lo, hi, bound) = match strip(&f.expr) {
            Expr::Range(r)
                if matches!(r.limits, syn::RangeLimits::HalfOpen(_)) && r.start.is_some() && r.end.is_some() =>
            {
                let (start, end) = (r.start.as_deref().expect("checked"), r.end.as_deref().expect("checked"));
                if self.mentions_active(start) || self.mentions_active(end) {
                    self.error(r.span(), "loop bounds must not depend on differentiated values");
                }
                let bound = self.const_bound(end);
                let lo = self.passive_temp(start.to_token_stream(), &mut prelude);
                let hi = self.passive_temp(end.to_token_stream(), &mut prelude);
                let index_name = temp_ident(index);
                self.bind_loop_pattern(&f.pat, quote!(#index_name), &mut body);
                (lo, hi, bound)
            }
            Expr::Range(r) => {
                self.error(r.span(), "loops over ranges take the form `lo..hi`");
                (0, 0, None)
            }
            source => {
                let binding = match strip(source) {
                    Expr::Path(p) => p.path.get_ident().and_then(|i| self.lookup(i).cloned()),
                    _ => None,
                };
                let bound = binding.as_ref().and_then(|b| b.array_len.clone());
                let krate = self.krate;
                let index_name = temp_ident(index);
                let lo = self.passive_temp(quote!(0usize), &mut prelude);
                match (&*f.pat, binding.filter(|b| b.active)) {
                    // Over an active binding: each item is read from it, like `xs[i]`.
                    (Pat::Ident(pi), Some(b)) => {
                        let _ = self.mentions_active(source);
                        let name = &b.name;
                        let hi = self.passive_temp(quote!(#krate::ForItem::for_len(&#name)), &mut prelude);
                        let item = self.temp(true);
                        let access = Access { binding: b.id, name: b.name.clone(), indices: vec![index], deref: false };
                        body.stmts.push(Stmt::Read { temp: item, access });
                        let v = self.declare(&pi.ident, pi.mutability.is_some(), true, false, None, false);
                        let (name, mutable) = (pi.ident.clone(), pi.mutability.is_some());
                        body.stmts.push(Stmt::Let { binding: v, name, mutable, active: true, ty: None, value: item });
                        (lo, hi, bound)
                    }
                    (_, Some(_)) => {
                        self.error(f.pat.span(), "bind the items of an active array to a name: `for v in xs`");
                        (lo, lo, bound)
                    }
                    (pat, None) => {
                        if self.mentions_active(source) {
                            self.error(
                                source.span(),
                                "loop over an array variable (`for v in xs`) or an index range (`for i in 0..N`)",
                            );
                        }
                        let src = self.passive_temp(source.to_token_stream(), &mut prelude);
                        let src_name = temp_ident(src);
                        let hi = self.passive_temp(quote!(#krate::ForItem::for_len(&#src_name)), &mut prelude);
                        self.bind_loop_pattern(
                            pat,
                            quote!(#krate::ForItem::for_item(&#src_name, #index_name)),
                            &mut body,
                        );
                        (lo, hi, bound)
                    }
                }
            }
        };
        self.lower_stmts(&f.body.stmts, &mut body, false);
        self.pop_scope();
        let ctx = self.loops.pop().expect("pushed above");
        // Propagate this loop's outer accesses to the loops around it.
        for id in &ctx.reads {
            self.note(*id, Use::Read);
        }
        for id in &ctx.writes {
            self.note(*id, if ctx.overwrites.contains(id) { Use::Overwrite } else { Use::Accumulate });
        }
        if body.is_passive() {
            let v = self.verbatim(whole.to_token_stream(), Vec::new(), since);
            out.stmts.push(v);
            return;
        }
        for span in &ctx.impure_lets {
            self.error(*span, "a `let` with side effects (it uses `&mut` data, such as an RNG) cannot run again in this loop's adjoint: draw its values before the loop, or use relax's sampling rules");
        }
        if let Some(label) = &f.label {
            self.error(label.span(), "labelled loops are not supported on active values");
        }
        let named = |ids: &mut dyn Iterator<Item = &BindingId>,
                     all: &BTreeMap<BindingId, Binding>|
         -> Vec<(BindingId, Ident)> { ids.map(|id| (*id, all[id].name.clone())).collect() };
        let fused = self.fusion(&ctx);
        let taped = if fused.is_some() {
            Vec::new()
        } else {
            named(&mut ctx.writes.intersection(&ctx.reads), &self.all_bindings)
        };
        let snapshots = named(
            &mut ctx.reads.iter().filter(|id| {
                let b = &self.all_bindings[id];
                fused.is_none()
                    && !ctx.writes.contains(id)
                    && (b.mutable || self.redeclared.contains(&b.name.to_string()))
            }),
            &self.all_bindings,
        );
        let impure = if fused.is_some() { Vec::new() } else { ctx.impure.clone() };
        if (!taped.is_empty() || !impure.is_empty()) && bound.is_none() {
            let what: Vec<String> = taped
                .iter()
                .map(|(_, n)| {
                    let n = n.to_string();
                    if n.starts_with("__relax_") { "an early `return`".to_string() } else { format!("`{n}`") }
                })
                .chain((!ctx.impure.is_empty()).then(|| "the values it samples".to_string()))
                .collect();
            self.error(
                f.expr.span(),
                format!(
                    "the adjoint of this loop needs per-iteration storage (for {}), and its bound is not a compile-time constant: iterate over `0..N` (N a literal, a const or a const generic), over `0..xs.len()` or `xs` for an array `xs`, or make the body an accumulation (`acc += …`)",
                    what.join(", ")
                ),
            );
        }
        if !ctx.impure.is_empty() && !self.loops.is_empty() {
            self.error(f.span(), "sampling (or a call with `&mut` data) inside nested loops is not supported: draw the noise in the outer loop or before the loops");
        }
        out.stmts.extend(prelude.stmts);
        let id = self.id();
        out.stmts.push(Stmt::For(Box::new(For { id, index, lo, hi, bound, body, taped, snapshots, impure, fused })));
    }

    /// A loop that can run its adjoint inside the forward sweep: not nested in another loop, and
    /// its only active write an accumulation `acc += …` of one outer binding it does not read.
    fn fusion(&self, ctx: &LoopCtx) -> Option<Fused> {
        let is_active = |id: &BindingId| self.was_active.contains(id) || self.all_bindings[id].active;
        let active_writes: Vec<&BindingId> = ctx.writes.iter().filter(|id| is_active(id)).collect();
        let [acc] = active_writes[..] else {
            return None;
        };
        if !self.loops.is_empty() || ctx.overwrites.contains(acc) || ctx.reads.contains(acc) {
            return None;
        }
        let binding = |id: &BindingId| &self.all_bindings[id];
        let inputs = ctx
            .reads
            .iter()
            .filter(|id| is_active(id))
            .map(|id| (*id, binding(id).name.clone(), binding(id).deref))
            .collect();
        Some(Fused { acc: (*acc, binding(acc).name.clone()), inputs })
    }

    /// `let <pat> = <item>;` at the start of a loop body, for a passive loop variable.
    fn bind_loop_pattern(&mut self, pat: &Pat, item: TokenStream, body: &mut Block) {
        let mut binds = Vec::new();
        for id in pattern_idents(pat) {
            binds.push((self.declare(&id, false, false, false, None, false), id));
        }
        body.stmts.push(Stmt::Verbatim {
            tokens: quote!(let #pat = #item;),
            binds,
            assigns: Vec::new(),
            impure: false,
        });
    }

    /// A compile-time bound for `0..end`: a literal, a const generic, an upper-case constant, or
    /// `xs.len()` of an array binding.
    fn const_bound(&self, end: &Expr) -> Option<TokenStream> {
        match strip(end) {
            Expr::Lit(l) if matches!(l.lit, syn::Lit::Int(_)) => Some(l.to_token_stream()),
            Expr::Path(p)
                if p.path.get_ident().is_some_and(|i| {
                    let s = i.to_string();
                    self.const_params.contains(&s)
                        || (s.chars().all(|c| c.is_uppercase() || c.is_ascii_digit() || c == '_')
                            && self.lookup(i).is_none())
                }) =>
            {
                Some(p.to_token_stream())
            }
            Expr::MethodCall(m) if m.method == "len" && m.args.is_empty() => match strip(&m.receiver) {
                Expr::Path(p) => p.path.get_ident().and_then(|i| self.lookup(i)).and_then(|b| b.array_len.clone()),
                _ => None,
            },
            _ => None,
        }
    }
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

/// `x` or `x[i][j]`: the binding and the index expressions.
fn place(e: &Expr) -> Option<(Ident, Vec<&Expr>)> {
    match strip(e) {
        Expr::Path(p) => p.path.get_ident().map(|i| (i.clone(), Vec::new())),
        Expr::Index(ix) => {
            let (name, mut idx) = place(&ix.expr)?;
            idx.push(&ix.index);
            Some((name, idx))
        }
        _ => None,
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
