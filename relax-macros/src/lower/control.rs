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
        if let Some(m) = if_let_as_match(i) {
            return self.lower_match(&m, want_result, out);
        }
        let since = self.write_log.len();
        let whole = Expr::If(i.clone());
        let mut prelude = Block::default();
        let head = match self.relaxed_condition(&i.cond, &mut prelude) {
            Some(head) => head,
            None => {
                let _ = self.mentions_active(&i.cond);
                BranchHead::If(self.passive_temp(i.cond.to_token_stream(), &mut prelude))
            }
        };
        let relaxing = matches!(head, BranchHead::Compare { .. });
        if relaxing {
            self.blending.push((self.scopes.len(), i.if_token.span));
        }
        let mut then = self.lower_block(&i.then_branch.stmts, want_result);
        let mut otherwise = match &i.else_branch {
            None => Block::default(),
            Some((_, e)) => match &**e {
                Expr::Block(b) => self.lower_block(&b.block.stmts, want_result),
                other => self.lower_block(&[syn::Stmt::Expr(other.clone(), None)], want_result),
            },
        };
        if relaxing {
            self.blending.pop();
        }
        if want_result && i.else_branch.is_none() {
            self.error(i.span(), "an `if` whose value is used needs an `else` branch");
            return Value::Passive(Box::new(whole));
        }
        // A relaxed `if` on an active comparison has an active result: its relaxation blends the
        // arms' values by the comparison's sigmoid.
        let results_active = relaxing || [&then, &otherwise].iter().any(|b| b.result.is_some_and(|t| self.temps[t]));
        if then.is_passive() && otherwise.is_passive() && !results_active {
            if want_result {
                return Value::Passive(Box::new(whole));
            }
            let v = self.verbatim(whole.to_token_stream(), Vec::new(), since);
            out.stmts.push(v);
            return Value::Passive(Box::new(whole));
        }
        if contains_let(&i.cond) {
            self.error(
                i.cond.span(),
                "`if let` chains are supported around differentiated values as one `let` and then conditions (`if let P = e && c`): nest the others, `if let P = e { if let Q = f { … } }`",
            );
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
        if relaxing {
            self.compare_ifs.insert(id, i.if_token.span);
        }
        out.stmts.push(Stmt::Branch(Box::new(Branch { id, head, arms: vec![then, otherwise], result })));
        match result {
            Some(t) if results_active => Value::Active(t),
            Some(t) => Value::PassiveTemp(t),
            None => Value::Passive(Box::new(whole)),
        }
    }

    /// `match` on a passive scrutinee: one arm block per arm, the patterns and guards as written.
    pub(super) fn lower_match(&mut self, m: &syn::ExprMatch, want_result: bool, out: &mut Block) -> Value {
        let since = self.write_log.len();
        let whole = Expr::Match(m.clone());
        if self.mentions_active(&m.expr) {
            self.error(
                m.expr.span(),
                "`match` on a differentiated value is not supported: match on data (an integer, an enum, a `bool`), or compare with `if`",
            );
            return Value::Passive(Box::new(whole));
        }
        let mut arms = Vec::new();
        let (mut patterns, mut guard_reads) = (Vec::new(), Vec::new());
        for arm in &m.arms {
            self.push_scope(false);
            let mut block = Block::default();
            for id in pattern_idents(&arm.pat) {
                let b = self.declare(&id, false, false, false, None, false);
                block.stmts.push(Stmt::Verbatim {
                    tokens: TokenStream::new(),
                    binds: vec![(b, id)],
                    assigns: Vec::new(),
                    impure: false,
                    reads: Vec::new(),
                });
            }
            let reads = match &arm.pat {
                Pat::Guard(g) => {
                    let _ = self.mentions_active(&g.guard);
                    self.active_reads_in(&g.guard.to_token_stream())
                }
                _ => Vec::new(),
            };
            guard_reads.push(reads);
            let stmts = match &*arm.body {
                Expr::Block(b) if b.label.is_none() => b.block.stmts.clone(),
                other => vec![syn::Stmt::Expr(other.clone(), None)],
            };
            self.lower_stmts(&stmts, &mut block, want_result);
            self.pop_scope();
            patterns.push(arm.pat.to_token_stream());
            arms.push(block);
        }
        let results_active = arms.iter().any(|b| b.result.is_some_and(|t| self.temps[t]));
        if arms.iter().all(Block::is_passive) && !results_active {
            if want_result {
                return Value::Passive(Box::new(whole));
            }
            let v = self.verbatim(whole.to_token_stream(), Vec::new(), since);
            out.stmts.push(v);
            return Value::Passive(Box::new(whole));
        }
        let result = want_result.then(|| self.temp(results_active));
        if result.is_some() && arms.iter().any(|b| b.result.is_none()) {
            self.error(m.span(), "every arm of a `match` whose value is used must end in a value");
        }
        let id = self.id();
        let scrutinee = m.expr.to_token_stream();
        let scrutinee = self.passive_on_values(&scrutinee, out).map_or(scrutinee, |t| t.into_token_stream());
        out.stmts.push(Stmt::Branch(Box::new(Branch {
            id,
            head: BranchHead::Match { scrutinee, patterns, guard_reads },
            arms,
            result,
        })));
        match result {
            Some(t) if results_active => Value::Active(t),
            Some(t) => Value::PassiveTemp(t),
            None => Value::Passive(Box::new(whole)),
        }
    }

    /// A statement-level `for`, `while` or `loop` (after `normalize`: exits are flags, marked on
    /// the loop by the `relax_exit` attribute).
    pub(super) fn lower_loop(&mut self, written: &Expr, out: &mut Block) {
        let since = self.write_log.len();
        // A loop over an iterator chain is lowered as the index loop it is rewritten to; passive,
        // it is copied as written.
        let indexed = match written {
            Expr::ForLoop(f) => self.indexed_loop(f).map(Expr::ForLoop),
            _ => None,
        };
        let e = indexed.as_ref().unwrap_or(written);
        let (attrs, body_stmts, label) = match e {
            Expr::ForLoop(f) => (&f.attrs, &f.body.stmts, &f.label),
            Expr::While(w) => (&w.attrs, &w.body.stmts, &w.label),
            Expr::Loop(l) => (&l.attrs, &l.body.stmts, &l.label),
            _ => unreachable!("lower_loop takes loops"),
        };
        let exit = self.exit_flags(attrs);
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
        let mut body = Block::default();
        let (head, bound) = match e {
            Expr::ForLoop(f) => {
                let (index, lo, hi, bound) = self.for_head(f, &mut prelude, &mut body);
                (LoopHead::Range { index, lo, hi }, bound)
            }
            Expr::While(w) => {
                let cond = w.cond.to_token_stream();
                (LoopHead::While { reads: self.active_reads_in(&cond), cond }, None)
            }
            _ => (LoopHead::Infinite, None),
        };
        self.lower_stmts(body_stmts, &mut body, false);
        self.pop_scope();
        let ctx = self.loops.pop().expect("pushed above");
        // The condition and the exit flags are evaluated by the forward sweep only, so they are
        // reads of the loops around this one, not of this one's iterations.
        if let Expr::While(w) = e {
            let _ = self.mentions_active(&w.cond);
        }
        if let Some(flags) = &exit {
            let _ = self.mentions_active(flags);
        }
        // Propagate this loop's outer accesses to the loops around it.
        for id in &ctx.reads {
            self.note(*id, Use::Read);
        }
        for id in &ctx.writes {
            self.note(*id, if ctx.overwrites.contains(id) { Use::Overwrite } else { Use::Accumulate });
        }
        if body.is_passive() {
            let v = self.verbatim(written.to_token_stream(), Vec::new(), since);
            out.stmts.push(v);
            return;
        }
        self.check_exits_are_statements(body_stmts);
        if let Expr::While(w) = e
            && matches!(strip(&w.cond), Expr::Let(_))
        {
            self.error(
                w.cond.span(),
                "`while let` is not supported around differentiated values: write `loop` with a `match` and `break`",
            );
        }
        for span in &ctx.impure_lets {
            self.error(*span, "a `let` with side effects (it uses `&mut` data, such as an RNG) cannot run again in this loop's adjoint: draw its values before the loop, or use relax's sampling rules");
        }
        if let Some(label) = label {
            self.error(label.span(), "labelled loops are not supported on active values");
        }
        let named = |ids: &mut dyn Iterator<Item = &BindingId>,
                     all: &BTreeMap<BindingId, Binding>|
         -> Vec<(BindingId, Ident)> { ids.map(|id| (*id, all[id].name.clone())).collect() };
        // A range loop with its own compile-time bound, not nested: it can store per iteration.
        let storable = self.loops.is_empty()
            && bound.is_some()
            && matches!(e, Expr::ForLoop(f) if matches!(strip(&f.expr), Expr::Range(_)));
        let fused = self.fusion(&ctx).filter(|fused| !(storable && self.owns_disjoint_parts(fused, e, &body)));
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
                    && (b.mutable || b.branch_local || self.redeclared.contains(&b.text))
                    && computed_again_with(&body, &b.text)
            }),
            &self.all_bindings,
        );
        let impure = if fused.is_some() { Vec::new() } else { ctx.impure.clone() };
        let kept = if fused.is_none() && storable { kept_values(&body) } else { Vec::new() };
        let needs_storage = !taped.is_empty() || !impure.is_empty();
        let bound = match (bound, &self.max_iter) {
            (Some(len), _) => Some(Bound { len, overflow: None }),
            (None, Some(n)) if needs_storage => Some(Bound {
                len: n.clone(),
                overflow: Some(format!(
                    "relax: a loop of `{}` ran more than max_iter = {} iterations, which its gradient's storage holds: raise `#[differentiable(max_iter = …)]`",
                    self.fn_name,
                    pretty(n)
                )),
            }),
            _ => None,
        };
        if needs_storage && bound.is_none() {
            let what: Vec<String> = taped
                .iter()
                .map(|(_, n)| {
                    let n = n.to_string();
                    if n.starts_with(super::iterators::FOLD) {
                        "the result of a `.fold(..)` or a `.map(..)`".to_string()
                    } else if n.starts_with("__relax_") {
                        "an early exit".to_string()
                    } else {
                        format!("`{n}`")
                    }
                })
                .chain((!ctx.impure.is_empty()).then(|| "the values it samples".to_string()))
                .collect();
            let span = match e {
                Expr::ForLoop(f) => f.expr.span(),
                Expr::While(w) => w.cond.span(),
                Expr::Loop(l) => l.loop_token.span,
                _ => e.span(),
            };
            self.error(
                span,
                format!(
                    "the adjoint of this loop needs per-iteration storage (for {}), and its trip count is not a compile-time constant: add `max_iter = N` to `#[differentiable(..)]` (the most iterations it may run), iterate over `0..N` (N a literal, a const or a const generic), over `0..xs.len()` or `xs` for an array `xs`, or make the body an accumulation (`acc += …`)",
                    what.join(", ")
                ),
            );
        }
        if !ctx.impure.is_empty() && !self.loops.is_empty() {
            self.error(e.span(), "sampling (or a call with `&mut` data) inside nested loops is not supported: draw the noise in the outer loop or before the loops");
        }
        out.stmts.extend(prelude.stmts);
        let id = self.id();
        let exit = exit.map(|flags| flags.to_token_stream());
        out.stmts.push(Stmt::Loop(Box::new(Loop {
            id,
            head,
            bound,
            exit,
            body,
            taped,
            snapshots,
            impure,
            fused,
            kept,
        })));
    }

    /// The exit flags `normalize` marked on a loop.
    fn exit_flags(&mut self, attrs: &[syn::Attribute]) -> Option<Expr> {
        let attr = attrs.iter().find(|a| a.path().is_ident(crate::normalize::EXIT_ATTR))?;
        attr.parse_args::<Expr>().ok()
    }

    /// After `normalize`, a `break` or `continue` left in a loop body is inside an expression
    /// (`let v = match o { Some(v) => v, None => break };`): the adjoint could not follow it.
    fn check_exits_are_statements(&mut self, stmts: &[syn::Stmt]) {
        struct Exits(Vec<proc_macro2::Span>, usize);
        impl<'a> Visit<'a> for Exits {
            fn visit_expr_break(&mut self, b: &'a syn::ExprBreak) {
                if self.1 == 0 || b.label.is_some() {
                    self.0.push(b.span());
                }
            }
            fn visit_expr_continue(&mut self, c: &'a syn::ExprContinue) {
                if self.1 == 0 || c.label.is_some() {
                    self.0.push(c.span());
                }
            }
            fn visit_expr_for_loop(&mut self, f: &'a syn::ExprForLoop) {
                self.1 += 1;
                syn::visit::visit_expr_for_loop(self, f);
                self.1 -= 1;
            }
            fn visit_expr_while(&mut self, w: &'a syn::ExprWhile) {
                self.1 += 1;
                syn::visit::visit_expr_while(self, w);
                self.1 -= 1;
            }
            fn visit_expr_loop(&mut self, l: &'a syn::ExprLoop) {
                self.1 += 1;
                syn::visit::visit_expr_loop(self, l);
                self.1 -= 1;
            }
            fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
            fn visit_item(&mut self, _: &'a syn::Item) {}
        }
        let mut exits = Exits(Vec::new(), 0);
        for s in stmts {
            exits.visit_stmt(s);
        }
        for span in exits.0 {
            self.error(span, "`break` and `continue` inside an expression are not supported in a loop that computes differentiated values: write them as statements (`if cond { break; }`)");
        }
    }

    /// `for pat in lo..hi` or `for v in xs`: the index temporary, the bounds, and the compile-time
    /// bound; binds the loop variable at the start of `body`.
    fn for_head(
        &mut self,
        f: &syn::ExprForLoop,
        prelude: &mut Block,
        body: &mut Block,
    ) -> (Temp, Temp, Temp, Option<TokenStream>) {
        let index = self.temp(false);
        let index_name = self.named_temp(index);
        match strip(&f.expr) {
            Expr::Range(r)
                if matches!(r.limits, syn::RangeLimits::HalfOpen(_)) && r.start.is_some() && r.end.is_some() =>
            {
                let (start, end) = (r.start.as_deref().expect("checked"), r.end.as_deref().expect("checked"));
                if self.mentions_active(start) || self.mentions_active(end) {
                    self.error(r.span(), "loop bounds must not depend on differentiated values");
                }
                let bound = self.const_bound(end);
                let lo = self.passive_temp(start.to_token_stream(), prelude);
                let hi = self.passive_temp(end.to_token_stream(), prelude);
                self.bind_loop_pattern(&f.pat, quote!(#index_name), body);
                (index, lo, hi, bound)
            }
            Expr::Range(r) => {
                self.error(r.span(), "loops over ranges take the form `lo..hi`");
                (index, 0, 0, None)
            }
            source => {
                let binding = match strip(source) {
                    Expr::Path(p) => p.path.get_ident().and_then(|i| self.lookup(i).cloned()),
                    _ => None,
                };
                let bound = binding.as_ref().and_then(|b| b.array_len.clone());
                let krate = self.krate;
                let lo = self.passive_temp(quote!(0usize), prelude);
                match (&*f.pat, binding.filter(|b| b.active)) {
                    // Over an active binding: each item is read from it, like `xs[i]`.
                    (Pat::Ident(pi), Some(b)) => {
                        let _ = self.mentions_active(source);
                        let name = &b.name;
                        let hi = self.passive_temp(quote!(#krate::ForItem::for_len(&#name)), prelude);
                        let item = self.temp(true);
                        if b.mutable {
                            // `for v in a` iterates over a copy of `a`, which the body may change.
                            let read = self.temp(true);
                            let access = Access { binding: b.id, name: b.name.clone(), path: Vec::new(), deref: false };
                            prelude.stmts.push(Stmt::Read { temp: read, access });
                            let copy = self.temp(true);
                            prelude.stmts.push(Stmt::Compute { temp: copy, op: Op::Copy, args: vec![read] });
                            body.stmts.push(Stmt::Compute {
                                temp: item,
                                op: Op::Project { path: vec![Proj::Index(index)] },
                                args: vec![copy],
                            });
                            self.loops.last_mut().expect("in a loop").unfusable = true;
                        } else {
                            let access = Access {
                                binding: b.id,
                                name: b.name.clone(),
                                path: vec![Proj::Index(index)],
                                deref: false,
                            };
                            body.stmts.push(Stmt::Read { temp: item, access });
                        }
                        let v = self.declare(&pi.ident, pi.mutability.is_some(), true, false, None, false);
                        let (name, mutable) = (pi.ident.clone(), pi.mutability.is_some());
                        body.stmts.push(Stmt::Let { binding: v, name, mutable, active: true, ty: None, value: item });
                        (index, lo, hi, bound)
                    }
                    (_, Some(_)) => {
                        self.error(f.pat.span(), "bind the items of an active array to a name: `for v in xs`");
                        (index, lo, lo, bound)
                    }
                    (pat, None) => {
                        if self.mentions_active(source) {
                            self.error(
                                source.span(),
                                "loop over an array (`for v in xs`, `xs.iter()`, `.enumerate()`, `.zip(ys)`, …, with a `.filter(p)` last) or an index range (`for i in 0..N`, `lo..=hi`, `(lo..hi).rev()`)",
                            );
                        }
                        let src = self.passive_temp(source.to_token_stream(), prelude);
                        let src_name = self.named_temp(src);
                        let hi = self.passive_temp(quote!(#krate::ForItem::for_len(&#src_name)), prelude);
                        self.bind_loop_pattern(pat, quote!(#krate::ForItem::for_item(&#src_name, #index_name)), body);
                        (index, lo, hi, bound)
                    }
                }
            }
        }
    }

    /// A loop that can run its adjoint inside the forward sweep: not nested in another loop, and
    /// its only active write an accumulation `acc += …` of one outer binding it does not read.
    pub(super) fn fusion(&self, ctx: &LoopCtx) -> Option<Fused> {
        let is_active = |id: &BindingId| self.was_active.contains(id) || self.all_bindings[id].active;
        let active_writes: Vec<&BindingId> = ctx.writes.iter().filter(|id| is_active(id)).collect();
        let [acc] = active_writes[..] else {
            return None;
        };
        // A slice has no Jacobian of its own shape without allocating: its loop runs backwards.
        let reads_slice = ctx.reads.iter().any(|id| self.all_bindings[id].slice);
        if !self.loops.is_empty()
            || ctx.unfusable
            || reads_slice
            || ctx.overwrites.contains(acc)
            || ctx.reads.contains(acc)
        {
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

    /// Whether each iteration of the range loop `e` reads its own part of every input of its
    /// fused form (`w[j]…` for the loop's `j`, which names nothing else in the function): the
    /// Jacobians then are as large as the inputs, and preaccumulating, zeroing and scaling them
    /// costs a pass over all of them that storing the iterations' expensive values does not.
    fn owns_disjoint_parts(&self, fused: &Fused, e: &Expr, body: &Block) -> bool {
        let Expr::ForLoop(f) = e else { return false };
        let Pat::Ident(index) = &*f.pat else { return false };
        let index = index.ident.to_string();
        if self.redeclared.contains(&index) {
            return false;
        }
        let mut by_index = HashSet::new();
        let mut reads = Vec::new();
        fn walk<'b>(block: &'b Block, index: &str, by_index: &mut HashSet<Temp>, reads: &mut Vec<&'b Access>) -> bool {
            block.stmts.iter().all(|s| match s {
                Stmt::Passive { temp, expr, impure: false, .. } => {
                    if expr.to_string() == index {
                        by_index.insert(*temp);
                    }
                    true
                }
                Stmt::Read { access, .. } => {
                    reads.push(access);
                    true
                }
                // Side effects and callees: what the fused form alone handles.
                Stmt::Passive { impure: true, .. } | Stmt::Call { .. } => false,
                Stmt::Verbatim { impure, .. } => !impure,
                Stmt::Branch(b) => b.arms.iter().all(|arm| walk(arm, index, by_index, reads)),
                Stmt::Loop(l) => walk(&l.body, index, by_index, reads),
                Stmt::Compute { .. } | Stmt::Let { .. } | Stmt::Write { .. } => true,
            })
        }
        walk(body, &index, &mut by_index, &mut reads)
            && reads
                .iter()
                .filter(|a| fused.inputs.iter().any(|(b, _, _)| *b == a.binding))
                .all(|a| matches!(a.path.first(), Some(Proj::Index(t)) if by_index.contains(t)))
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
            reads: Vec::new(),
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

/// `if let P = e && c { A } else { B }` as the `match e { P if c => { A } _ => B }` it means
/// (`&& c` optional); `None` for any other condition.
fn if_let_as_match(i: &syn::ExprIf) -> Option<syn::ExprMatch> {
    fn conjuncts<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
        match strip(e) {
            Expr::Binary(b) if matches!(b.op, BinOp::And(_)) => {
                conjuncts(&b.left, out);
                conjuncts(&b.right, out);
            }
            e => out.push(e),
        }
    }
    let mut parts = Vec::new();
    conjuncts(&i.cond, &mut parts);
    let (Expr::Let(l), rest) = (parts[0], &parts[1..]) else { return None };
    if rest.iter().any(|c| contains_let(c)) {
        return None;
    }
    let (attrs, pat, scrutinee, then) = (&i.attrs, &l.pat, &l.expr, &i.then_branch);
    let guard = (!rest.is_empty()).then(|| quote!(if #(#rest)&&*));
    let otherwise: Expr = match &i.else_branch {
        Some((_, e)) => (**e).clone(),
        None => syn::parse_quote!({}),
    };
    Some(
        syn::parse_quote_spanned!(i.if_token.span=> #(#attrs)* match #scrutinee { #pat #guard => #then, _ => #otherwise }),
    )
}

/// Whether a condition holds a `let` (a chain `let P = e && c`).
fn contains_let(cond: &Expr) -> bool {
    struct Let(bool);
    impl Visit<'_> for Let {
        fn visit_expr_let(&mut self, _: &syn::ExprLet) {
            self.0 = true;
        }
        fn visit_expr_closure(&mut self, _: &syn::ExprClosure) {}
    }
    let mut found = Let(false);
    found.visit_expr(cond);
    found.0
}

/// Passive code copied as written: every loop `normalize` marked loses its mark and checks its
/// exit flags at the end of every iteration (what the lowering does for an active loop), at any
/// depth of the copied code.
pub(super) fn unmark_exits(tokens: TokenStream) -> TokenStream {
    fn mentions_mark(tokens: &TokenStream) -> bool {
        tokens.clone().into_iter().any(|t| match t {
            TokenTree::Ident(i) => i == crate::normalize::EXIT_ATTR,
            TokenTree::Group(g) => mentions_mark(&g.stream()),
            _ => false,
        })
    }
    struct Unmark;
    impl syn::visit_mut::VisitMut for Unmark {
        fn visit_expr_mut(&mut self, e: &mut Expr) {
            syn::visit_mut::visit_expr_mut(self, e);
            let (attrs, body) = match e {
                Expr::ForLoop(f) => (&mut f.attrs, &mut f.body),
                Expr::While(w) => (&mut w.attrs, &mut w.body),
                Expr::Loop(l) => (&mut l.attrs, &mut l.body),
                _ => return,
            };
            let Some(k) = attrs.iter().position(|a| a.path().is_ident(crate::normalize::EXIT_ATTR)) else {
                return;
            };
            if let Ok(flags) = attrs.remove(k).parse_args::<Expr>() {
                body.stmts.push(syn::parse_quote!(if #flags { break; }));
            }
        }
    }
    if !mentions_mark(&tokens) {
        return tokens;
    }
    let Ok(mut block) = syn::parse2::<syn::Block>(quote!({ #tokens })) else {
        return tokens;
    };
    syn::visit_mut::VisitMut::visit_block_mut(&mut Unmark, &mut block);
    let stmts = block.stmts;
    quote!(#(#stmts)*)
}

/// The values of `body`'s library calls at its own level (see [`Loop::kept`]).
fn kept_values(body: &Block) -> Vec<Temp> {
    body.stmts
        .iter()
        .filter_map(|s| match s {
            Stmt::Compute { temp, op: Op::Method { name, .. }, .. }
                if crate::rules::method_rule(&name.to_string()).is_some_and(|m| m.kept) =>
            {
                Some(*temp)
            }
            _ => None,
        })
        .collect()
}

/// Whether the adjoint computes again anything of `block` that names `name`: a snapshot of the
/// binding is taken only then. Not the draws and calls with side effects, whose values the loop
/// stores (an RNG the function owns is only named there, and may not be copyable).
fn computed_again_with(block: &Block, name: &str) -> bool {
    fn names(tokens: &TokenStream, name: &str) -> bool {
        tokens.clone().into_iter().any(|t| match t {
            proc_macro2::TokenTree::Ident(i) => i == name,
            proc_macro2::TokenTree::Group(g) => names(&g.stream(), name),
            _ => false,
        })
    }
    block.stmts.iter().any(|s| match s {
        Stmt::Passive { impure: true, .. } | Stmt::Call { impure: true, .. } | Stmt::Compute { .. } => false,
        Stmt::Passive { expr, .. } => names(expr, name),
        Stmt::Verbatim { tokens, .. } => names(tokens, name),
        Stmt::Read { access, .. } | Stmt::Write { access, .. } => access.name == name,
        Stmt::Let { name: declared, .. } => declared == name,
        Stmt::Call { callee, args, .. } => {
            names(callee, name) || args.iter().any(|a| matches!(a, CallArg::Data(tokens) if names(tokens, name)))
        }
        Stmt::Branch(b) => {
            let head = match &b.head {
                BranchHead::Match { scrutinee, patterns, .. } => {
                    names(scrutinee, name) || patterns.iter().any(|p| names(p, name))
                }
                _ => false,
            };
            head || b.arms.iter().any(|arm| computed_again_with(arm, name))
        }
        Stmt::Loop(l) => {
            matches!(&l.head, LoopHead::While { cond, .. } if names(cond, name))
                || l.exit.as_ref().is_some_and(|e| names(e, name))
                || computed_again_with(&l.body, name)
        }
    })
}
