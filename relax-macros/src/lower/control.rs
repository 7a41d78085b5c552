//! Control flow: blocks, `if`/`else`, and `for` loops (their storage, snapshots and fusion).

use super::*;

impl Lowerer<'_> {
    pub(super) fn lower_block(&mut self, stmts: &[syn::Stmt], want_result: bool) -> Block {
        self.push_scope(false);
        let mut block = Block::default();
        self.lower_stmts(stmts, &mut block, want_result);
        self.pop_scope();
        block
    }

    pub(super) fn lower_if(&mut self, i: &syn::ExprIf, want_result: bool, out: &mut Block) -> Value {
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

    pub(super) fn lower_for(&mut self, f: &syn::ExprForLoop, out: &mut Block) {
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
            unfusable: false,
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
                        if b.mutable {
                            // `for v in a` iterates over a copy of `a`, which the body may change.
                            let read = self.temp(true);
                            let access =
                                Access { binding: b.id, name: b.name.clone(), indices: Vec::new(), deref: false };
                            prelude.stmts.push(Stmt::Read { temp: read, access });
                            let copy = self.temp(true);
                            prelude.stmts.push(Stmt::Compute { temp: copy, op: Op::Copy, args: vec![read] });
                            body.stmts.push(Stmt::Compute {
                                temp: item,
                                op: Op::Index { indices: vec![index] },
                                args: vec![copy],
                            });
                            self.loops.last_mut().expect("in a loop").unfusable = true;
                        } else {
                            let access =
                                Access { binding: b.id, name: b.name.clone(), indices: vec![index], deref: false };
                            body.stmts.push(Stmt::Read { temp: item, access });
                        }
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
                    && (b.mutable || b.branch_local || self.redeclared.contains(&b.name.to_string()))
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
    pub(super) fn fusion(&self, ctx: &LoopCtx) -> Option<Fused> {
        let is_active = |id: &BindingId| self.was_active.contains(id) || self.all_bindings[id].active;
        let active_writes: Vec<&BindingId> = ctx.writes.iter().filter(|id| is_active(id)).collect();
        let [acc] = active_writes[..] else {
            return None;
        };
        if !self.loops.is_empty() || ctx.unfusable || ctx.overwrites.contains(acc) || ctx.reads.contains(acc) {
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
    pub(super) fn bind_loop_pattern(&mut self, pat: &Pat, item: TokenStream, body: &mut Block) {
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
    pub(super) fn const_bound(&self, end: &Expr) -> Option<TokenStream> {
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
