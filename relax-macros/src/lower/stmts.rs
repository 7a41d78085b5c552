//! Statements: `let`, assignments and compound assignments, expression statements.

use super::*;

impl Lowerer<'_> {
    pub(super) fn lower_stmts(&mut self, stmts: &[syn::Stmt], out: &mut Block, want_result: bool) {
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
    pub(super) fn verbatim(&mut self, tokens: TokenStream, binds: Vec<(BindingId, Ident)>, since: usize) -> Stmt {
        self.note_mutations(&tokens);
        let impure = self.may_mutate(&tokens);
        if impure
            && !binds.is_empty()
            && let Some(l) = self.loops.last_mut()
        {
            l.impure_lets.push(tokens.span());
        }
        // Bindings the statement declares inside itself (in a loop or block copied as written)
        // are out of scope by now: they are not writes of anything outside it.
        let mut assigns: Vec<(BindingId, Ident)> = Vec::new();
        for id in &self.write_log[since..] {
            if !assigns.iter().any(|(b, _)| b == id) && self.scopes.iter().flatten().any(|b| b.id == *id) {
                assigns.push((*id, self.all_bindings[id].name.clone()));
            }
        }
        // Declaring nothing, it can run in a block on the values of what it reads, on duals.
        let reads = if binds.is_empty() { self.active_reads_in(&tokens) } else { Vec::new() };
        let tokens = control::unmark_exits(tokens);
        Stmt::Verbatim { tokens, binds, assigns, impure, reads }
    }

    /// Binds the names of a pattern to the parts of the active value `whole`: tuples, arrays
    /// (`[a, b, ..]`) and structs (`S { a, b: c, .. }`), nested; `_` skips a part.
    fn bind_parts(&mut self, pat: &Pat, whole: Temp, out: &mut Block) {
        let part = |l: &mut Self, proj: Proj, sub: &Pat, out: &mut Block| {
            if matches!(sub, Pat::Wild(_)) {
                return;
            }
            let temp = l.temp(true);
            out.stmts.push(Stmt::Compute { temp, op: Op::Project { path: vec![proj] }, args: vec![whole] });
            l.bind_parts(sub, temp, out);
        };
        match pat {
            Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => {
                let mutable = pi.mutability.is_some();
                let binding = self.declare(&pi.ident, mutable, true, false, None, false);
                out.stmts.push(Stmt::Let {
                    binding,
                    name: pi.ident.clone(),
                    mutable,
                    active: true,
                    ty: None,
                    value: whole,
                });
            }
            Pat::Paren(p) => self.bind_parts(&p.pat, whole, out),
            Pat::Tuple(t) if !t.elems.iter().any(|e| matches!(e, Pat::Rest(_))) => {
                // A tuple built here (`let (u, w) = (x[0], 1.5);`): each name takes its part as
                // it is, passive or active; a projection of an active tuple would be active, and
                // on duals a passive part is not one.
                let built = out.stmts.iter().rev().find_map(|s| match s {
                    Stmt::Compute { temp, op: Op::Tuple, args } if *temp == whole && args.len() == t.elems.len() => {
                        Some(args.clone())
                    }
                    _ => None,
                });
                for (k, sub) in t.elems.iter().enumerate() {
                    match (&built, sub) {
                        (_, Pat::Wild(_)) => {}
                        (Some(args), Pat::Ident(pi))
                            if !self.temps[args[k]] && pi.by_ref.is_none() && pi.subpat.is_none() =>
                        {
                            let mutable = pi.mutability.is_some();
                            let binding = self.declare(&pi.ident, mutable, false, false, None, false);
                            let (name, value) = (pi.ident.clone(), args[k]);
                            out.stmts.push(Stmt::Let { binding, name, mutable, active: false, ty: None, value });
                        }
                        (Some(args), sub) if self.temps[args[k]] => self.bind_parts(sub, args[k], out),
                        _ => part(self, Proj::Field(syn::Member::Unnamed(syn::Index::from(k))), sub, out),
                    }
                }
            }
            Pat::Slice(sl) => {
                // `..` may end the pattern; before it, every item has its index from the start.
                let last = sl.elems.len().saturating_sub(1);
                for (k, sub) in sl.elems.iter().enumerate() {
                    match sub {
                        Pat::Rest(_) if k == last => {}
                        Pat::Rest(r) => {
                            self.error(r.span(), "`..` ends an array pattern of active values: `let [a, b, ..] = x;` (read the last items as `x[N - 1]`)");
                        }
                        sub => {
                            let index = self.passive_temp(quote!(#k), out);
                            part(self, Proj::Index(index), sub, out);
                        }
                    }
                }
            }
            Pat::Struct(st) if st.qself.is_none() => {
                for field in &st.fields {
                    part(self, Proj::Field(field.member.clone()), &field.pat, out);
                }
            }
            other => self.error(
                other.span(),
                "destructure active values into names, `_`, tuples, arrays and structs: `let (a, [b, _]) = …;`",
            ),
        }
    }

    pub(super) fn lower_let(&mut self, local: &syn::Local, out: &mut Block) {
        let since = self.write_log.len();
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
        if let (Pat::Ident(pi), Some(ty), Some(closure)) =
            (pat, &ty, init.and_then(|i| iterators::from_fn_closure(&i.expr)))
            && init_active
            && self.lower_from_fn(&pi.ident, ty, closure, out).is_some()
        {
            return;
        }
        match pat {
            Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => {
                let (name, mutable) = (pi.ident.clone(), pi.mutability.is_some());
                let array_len = self.array_len(ty.as_deref(), init.map(|i| &*i.expr));
                let was_active = self.was_active.contains(&self.next_binding);
                let value = match init {
                    Some(init) if init_active || was_active || calls::is_sampling_call(&init.expr) => {
                        let v = self.lower_expr(&init.expr, out);
                        if !self.is_active(&v) && !was_active {
                            if let Value::PassiveTemp(t) = v {
                                let binding = self.declare(&name, mutable, false, false, array_len.clone(), false);
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
                        let binding = self.declare(&name, mutable, true, false, array_len.clone(), false);
                        out.stmts.push(Stmt::Let { binding, name, mutable, active: true, ty, value });
                    }
                    None => {
                        let derived = init.is_some_and(|i| self.mentions_derived(&i.expr));
                        if let Some(i) = init {
                            self.check_casts(&i.expr);
                        }
                        let tokens = self.let_on_values(local, out);
                        let id = self.declare(&name, mutable, false, false, array_len.clone(), false);
                        if derived {
                            self.taint_last();
                        }
                        let v = self.verbatim(tokens, vec![(id, name)], since);
                        out.stmts.push(v);
                    }
                }
            }
            Pat::Tuple(_) | Pat::Slice(_) | Pat::Struct(_) if init.is_some() && init_active => {
                let init = init.expect("checked");
                let v = self.lower_expr(&init.expr, out);
                let whole = self.materialize(v, out);
                self.bind_parts(pat, whole, out);
            }
            _ if !init_active => {
                let derived = init.is_some_and(|i| self.mentions_derived(&i.expr));
                let tokens = self.let_on_values(local, out);
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
                "bind active values to a name, or destructure them: `let y = …;`, `let (a, b) = …;`, `let [x, y, z] = …;`, `let Point { x, y } = …;`",
            ),
        }
    }

    /// A passive `let` as it runs: its initialiser [`passive_on_values`](Self::passive_on_values),
    /// and the `let` binding that.
    fn let_on_values(&mut self, local: &syn::Local, out: &mut Block) -> TokenStream {
        let hoisted = local.init.as_ref().and_then(|init| self.passive_on_values(&init.expr.to_token_stream(), out));
        let Some(temp) = hoisted else { return local.to_token_stream() };
        let mut local = local.clone();
        if let Some(init) = &mut local.init {
            *init.expr = syn::parse_quote!(#temp);
        }
        local.to_token_stream()
    }

    pub(super) fn lower_expr_stmt(&mut self, e: &Expr, stmt: &syn::Stmt, out: &mut Block) {
        let since = self.write_log.len();
        if let Expr::MethodCall(m) = e
            && let Some(f) = iterators::for_each_loop(m)
        {
            self.lower_loop(&Expr::ForLoop(f), out);
            return;
        }
        match e {
            Expr::Assign(a) => self.lower_assign(&a.left, &a.right, None, stmt, out),
            Expr::Binary(b) if is_compound(&b.op) => self.lower_assign(&b.left, &b.right, Some(&b.op), stmt, out),
            Expr::If(i) => {
                let _ = self.lower_if(i, false, out);
            }
            Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_) => self.lower_loop(e, out),
            Expr::Match(m) => {
                let _ = self.lower_match(m, false, out);
            }
            Expr::Macro(_) => {
                let v = self.verbatim(stmt.to_token_stream(), Vec::new(), since);
                out.stmts.push(v);
            }
            _ => {
                let mentions = expr_mentions(e);
                if mentions.iter().any(|i| self.lookup(i).is_some_and(|b| b.active)) {
                    let _ = self.scan(&mentions);
                    let v = self.lower_expr(e, out);
                    if self.is_active(&v) {
                        self.error(
                            e.span(),
                            "this statement computes an active value and drops it: bind it with `let` or assign it",
                        );
                    }
                    return;
                }
                // What the statement only changes (`log.push(i)`) it does not read for a loop's
                // adjoint; everything else it mentions it does.
                let tokens = stmt.to_token_stream();
                let targets = self.mutation_targets(&tokens);
                let reads: Vec<Ident> = mentions.into_iter().filter(|i| !targets.contains(i)).collect();
                let _ = self.scan(&reads);
                let v = self.verbatim(tokens, Vec::new(), since);
                out.stmts.push(v);
            }
        }
    }

    /// `place = value`, `place op= value`.
    pub(super) fn lower_assign(
        &mut self,
        left: &Expr,
        right: &Expr,
        op: Option<&BinOp>,
        stmt: &syn::Stmt,
        out: &mut Block,
    ) {
        let since = self.write_log.len();
        let Some((name, steps)) = place(left) else {
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
        if self.active_index(&steps) {
            self.error(left.span(), "an index must not depend on differentiated values: wrap it in `stop_gradient(..)` or compute it from data");
            return;
        }
        // A write through a reference (`self.steps += 1` in a `&mut self` method) changes data
        // outside: a side effect, which runs once, not a binding a loop restores.
        if !b.active && !right_active && b.deref {
            self.check_casts(right);
            let v = self.verbatim(stmt.to_token_stream(), Vec::new(), since);
            out.stmts.push(v);
            return;
        }
        // An outer binding written in an arm of a relaxed `if` is blended: active. An integer or a
        // `bool` (an integer or `bool` literal written) cannot be.
        let blended = self.blending.last().filter(|(depth, _)| b.depth < *depth).map(|(_, span)| *span);
        if let Some(span) = blended
            && !b.active
            && !right_active
            && is_integer_or_bool_literal(right)
        {
            let why = if name.to_string().starts_with("__relax_") {
                crate::relax::LEAVES_LOOP.to_string()
            } else {
                format!("an arm changes `{name}`, an integer or a `bool`, which cannot be blended")
            };
            self.errors.push(crate::relax::blend_error(span, &why));
            return;
        }
        let blended = blended.is_some();
        if !b.active && !right_active && !blended {
            self.check_casts(right);
            self.note(b.id, Use::Overwrite);
            if op.is_some() || !steps.is_empty() {
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
        let path = self.projection(&steps, out);
        let accumulates = steps.is_empty() && matches!(op, Some(BinOp::AddAssign(_) | BinOp::SubAssign(_)));
        self.note(b.id, if accumulates { Use::Accumulate } else { Use::Overwrite });
        // The relaxation reads what a relaxed `if` writes (each arm starts from a copy, and the
        // blend overwrites it): a loop around keeps it per iteration, and is no accumulation.
        if blended {
            self.note(b.id, Use::Read);
        }
        let access = Access { binding: b.id, name: name.clone(), path, deref: false };
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

    /// The length of an array a `let` binds, where its type or its initialiser says it: for
    /// loop bounds (`for v in a`).
    pub(super) fn array_len(&self, ty: Option<&syn::Type>, init: Option<&Expr>) -> Option<TokenStream> {
        if let Some(syn::Type::Array(a)) = ty {
            return Some(a.len.to_token_stream());
        }
        match strip(init?) {
            Expr::Path(p) => p.path.get_ident().and_then(|i| self.lookup(i)).and_then(|b| b.array_len.clone()),
            Expr::Array(a) => {
                let n = a.elems.len();
                Some(quote!(#n))
            }
            Expr::Repeat(r) => Some(r.len.to_token_stream()),
            _ => None,
        }
    }
}

/// An integer literal (without a float suffix), or `true` / `false`, negated or not.
fn is_integer_or_bool_literal(e: &Expr) -> bool {
    match strip(e) {
        Expr::Lit(l) => match &l.lit {
            syn::Lit::Int(i) => !matches!(i.suffix(), "f32" | "f64"),
            syn::Lit::Bool(_) => true,
            _ => false,
        },
        Expr::Unary(u) => matches!(u.op, syn::UnOp::Neg(_)) && is_integer_or_bool_literal(&u.expr),
        _ => false,
    }
}
