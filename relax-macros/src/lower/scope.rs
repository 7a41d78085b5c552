//! Bindings and scopes, activity, the side-effect and cast checks, temporaries, and what the
//! lowering knows about values (keys for reusing a softmax residual).

use super::*;

impl Lowerer<'_> {
    pub(super) fn declare(
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
        // The first scope is the function's; after it, `residuals` marks loop bodies, and every
        // other scope is an `if` branch.
        let branch_local = depth > 0 && self.residuals.last().is_some_and(|(is_loop, _)| !is_loop);
        let b = Binding {
            id,
            name: name.clone(),
            text: name.to_string(),
            active,
            mutable,
            deref,
            depth,
            array_len,
            mut_ref,
            tainted,
            branch_local,
            slice: false,
        };
        self.all_bindings.insert(id, b.clone());
        self.scopes.last_mut().expect("a scope").push(b);
        id
    }

    /// The binding at the root of a place (`model`, `net.layers[0]`) when the function owns it: a
    /// local or a by-value parameter, not a reference.
    pub(super) fn owned_root(&self, place: &Expr) -> Option<BindingId> {
        self.lookup(&place_root(place)?).filter(|b| !b.deref).map(|b| b.id)
    }

    /// An owned receiver of a method call (see `owned_receivers`) written after the call: the
    /// adjoint would run the call again on the changed value.
    pub(super) fn check_owned_receivers(&mut self) {
        for (id, generation, span) in std::mem::take(&mut self.owned_receivers) {
            if self.generation.get(&id).copied().unwrap_or(0) != generation {
                let name = &self.all_bindings[&id].name;
                self.error(
                    span,
                    format!("`{name}` changes after this call, but the gradient runs the call again on it (a gradient cannot borrow a value the function owns): call the method on a value that stays as it is, such as a copy made just before the call, or pass `{name}` as a reference parameter"),
                );
            }
        }
    }

    pub(super) fn lookup(&self, name: &Ident) -> Option<&Binding> {
        let text = name.to_string();
        self.scopes.iter().rev().flat_map(|s| s.iter().rev()).find(|b| b.text == text)
    }

    pub(super) fn mark_slice(&mut self, id: BindingId) {
        for b in self.scopes.iter_mut().flatten().filter(|b| b.id == id) {
            b.slice = true;
        }
        if let Some(b) = self.all_bindings.get_mut(&id) {
            b.slice = true;
        }
    }

    pub(super) fn make_active(&mut self, id: BindingId) {
        self.now_active.insert(id);
    }

    /// Records a use of `id` in every loop it is declared outside of.
    pub(super) fn note(&mut self, id: BindingId, how: Use) {
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
    pub(super) fn scan(&mut self, idents: &[Ident]) -> bool {
        let mut active = false;
        for id in idents {
            if let Some(b) = self.lookup(id).cloned() {
                self.note(b.id, Use::Read);
                active |= b.active;
            }
        }
        active
    }

    /// Notes the reads of every binding `e` mentions (loops restore what they read, inside
    /// `stop_gradient` too); true when it mentions an active one outside `stop_gradient(..)`.
    pub(super) fn mentions_active(&mut self, e: &Expr) -> bool {
        let _ = self.scan(&expr_mentions(e));
        differentiated_mentions(e).iter().any(|i| self.lookup(i).is_some_and(|b| b.active))
    }

    /// The active bindings `tokens` name (at any depth, inside `stop_gradient(..)` too), once
    /// each. A field or a method of the same name counts too, which only shadows the binding by
    /// its value where it is not read.
    pub(super) fn active_reads_in(&self, tokens: &TokenStream) -> Vec<ActiveRead> {
        fn walk(tokens: &TokenStream, l: &Lowerer, reads: &mut Vec<ActiveRead>) {
            for tt in tokens.clone() {
                match tt {
                    proc_macro2::TokenTree::Ident(id) if !reads.iter().any(|r| r.name == id) => {
                        if let Some(b) = l.lookup(&id).filter(|b| b.active) {
                            reads.push(ActiveRead { by_ref: b.deref, name: id });
                        }
                    }
                    proc_macro2::TokenTree::Group(g) => walk(&g.stream(), l, reads),
                    _ => {}
                }
            }
        }
        let mut reads = Vec::new();
        walk(tokens, self, &mut reads);
        reads
    }

    /// Mentions an active or a tainted binding, outside `stop_gradient(..)`.
    pub(super) fn mentions_derived(&self, e: &Expr) -> bool {
        differentiated_mentions(e).iter().any(|i| self.lookup(i).is_some_and(|b| b.active || b.tainted))
    }

    pub(super) fn taint_last(&mut self) {
        if let Some(b) = self.scopes.last_mut().and_then(|s| s.last_mut()) {
            b.tainted = true;
        }
    }

    /// Reports casts to a float of values computed from active ones (outside `stop_gradient` and
    /// the hard half of `straight_through`): their gradient would silently be zero.
    pub(super) fn check_casts(&mut self, e: &Expr) {
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
    pub(super) fn may_mutate(&self, tokens: &TokenStream) -> bool {
        // `&mut` of a `mut` local is a write of that local (see `note_mutations`), not an
        // opaque side effect; `&mut` of anything else, a `&mut` binding, or a macro is.
        let local = |i: &Ident| self.lookup(i).is_some_and(|b| b.mutable && !b.mut_ref);
        may_have_effects(tokens, &|i| self.lookup(i).is_some_and(|b| b.mut_ref), &local)
    }

    /// The `mut` bindings a passive statement may change besides by assignment: the receiver of
    /// a method call (`buf.rotate_left(1)`) and the target of `&mut` (`f(&mut buf)`).
    pub(super) fn mutation_targets(&self, tokens: &TokenStream) -> Vec<Ident> {
        struct Targets(Vec<Ident>);
        impl<'a> Visit<'a> for Targets {
            fn visit_expr_method_call(&mut self, m: &'a syn::ExprMethodCall) {
                let name = m.method.to_string();
                if !takes_receiver_as_value(&name) {
                    self.0.extend(place_root(&m.receiver));
                }
                syn::visit::visit_expr_method_call(self, m);
            }
            fn visit_expr_reference(&mut self, r: &'a syn::ExprReference) {
                if r.mutability.is_some() {
                    self.0.extend(place_root(&r.expr));
                }
                syn::visit::visit_expr_reference(self, r);
            }
        }
        let Ok(stmt) = syn::parse2::<syn::Stmt>(tokens.clone()) else {
            return Vec::new();
        };
        let mut targets = Targets(Vec::new());
        targets.visit_stmt(&stmt);
        targets.0.retain(|name| self.lookup(name).is_some_and(|b| b.mutable && !b.mut_ref));
        targets.0
    }

    /// In an arm of a relaxed `if`: an error at the `if` if the passive expression `tokens`
    /// changes a binding from outside the arm (`rng.random()`, `f(&mut buf)`), which both arms
    /// running would change whichever way the comparison goes. (`&mut` of anything but a `mut`
    /// local is impure, which the relaxation reports.)
    fn check_blendable(&mut self, tokens: &TokenStream) {
        let Some(&(depth, span)) = self.blending.last() else {
            return;
        };
        // As a statement, which `mutation_targets` takes.
        let outer = self
            .mutation_targets(&quote!(#tokens;))
            .into_iter()
            .find(|name| self.lookup(name).is_some_and(|b| b.depth < depth));
        if let Some(name) = outer {
            let why =
                format!("an arm changes `{name}` (through `&mut` or a method: sampling from an RNG, for instance)");
            self.errors.push(crate::relax::blend_error(span, &why));
        }
    }

    /// Notes [`Self::mutation_targets`] as writes. Only writes: a loop keeps such a binding per
    /// iteration if it also reads it (`buf[0]`); one that is only changed (`log.push(i)`) need not
    /// be restored for the adjoint.
    pub(super) fn note_mutations(&mut self, tokens: &TokenStream) {
        for name in self.mutation_targets(tokens) {
            if let Some(id) = self.lookup(&name).map(|b| b.id) {
                self.note(id, Use::Overwrite);
            }
        }
    }

    pub(super) fn temp(&mut self, active: bool) -> Temp {
        self.temps.push(active);
        self.temps.len() - 1
    }

    pub(super) fn id(&mut self) -> usize {
        self.next_id += 1;
        self.next_id
    }

    pub(super) fn error(&mut self, span: proc_macro2::Span, msg: impl std::fmt::Display) {
        self.errors.push(syn::Error::new(span, msg));
    }

    pub(super) fn materialize(&mut self, v: Value, out: &mut Block) -> Temp {
        match v {
            Value::Active(t) | Value::PassiveTemp(t) => t,
            Value::Passive(e) => self.passive_temp(e.into_token_stream(), out),
        }
    }

    /// `__t{n}`, for tokens that name temporary `t` (see [`Body::named_in_tokens`]).
    pub(super) fn named_temp(&mut self, t: Temp) -> Ident {
        self.named_in_tokens.insert(t);
        super::temp_ident(t)
    }

    pub(super) fn passive_temp(&mut self, expr: TokenStream, out: &mut Block) -> Temp {
        let impure = self.may_mutate(&expr);
        self.passive_temp_of(expr, impure, out)
    }

    /// Passive `expr` (a `let`'s initialiser, a call's data argument, a `match`'s scrutinee) that
    /// reads active bindings (inside `stop_gradient`), made a temporary of its own, named in
    /// tokens, which the sweeps on duals evaluate on their values (see [`Stmt::Passive`]); None
    /// where it reads none and stays as written.
    pub(super) fn passive_on_values(&mut self, expr: &TokenStream, out: &mut Block) -> Option<Ident> {
        if self.active_reads_in(expr).is_empty() {
            return None;
        }
        let temp = self.passive_temp(expr.clone(), out);
        Some(self.named_temp(temp))
    }

    /// [`passive_temp`](Self::passive_temp), `impure` as given: a statement whose value a loop
    /// stores per iteration, which the adjoint loads rather than computes again.
    pub(super) fn passive_temp_of(&mut self, expr: TokenStream, impure: bool, out: &mut Block) -> Temp {
        self.check_blendable(&expr);
        let temp = self.temp(false);
        if let Some(key) = self.expr_key(&expr).filter(|_| !impure) {
            self.value_keys.insert(temp, key);
        }
        if impure && let Some(l) = self.loops.last_mut() {
            l.impure.push(temp);
        }
        let reads = self.active_reads_in(&expr);
        out.stmts.push(Stmt::Passive { temp, expr, impure, reads });
        temp
    }

    /// The key of a value read from `binding` now.
    pub(super) fn read_key(&self, binding: BindingId) -> String {
        format!("b{binding}@{}", self.generation.get(&binding).copied().unwrap_or(0))
    }

    /// The key of a passive expression without side effects: its tokens and the generations of
    /// the bindings it mentions. None when a mentioned binding could change unseen (a `mut` or
    /// `&mut` binding of data can change through a method call, which is not a tracked write).
    pub(super) fn expr_key(&self, expr: &TokenStream) -> Option<String> {
        let mut m = Mentions(Vec::new());
        m.tokens(expr);
        let bindings: Vec<&Binding> = m.0.iter().filter_map(|i| self.lookup(i)).collect();
        if bindings.iter().any(|b| !b.active && (b.mutable || b.mut_ref)) {
            return None;
        }
        let reads: Vec<String> = bindings.iter().map(|b| self.read_key(b.id)).collect();
        Some(format!("e{expr}{reads:?}"))
    }

    /// A residual computed before with arguments of the same values, in this loop iteration.
    pub(super) fn available_residual(&self, key: &str) -> Option<Temp> {
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
    /// (shared), or a new one, registered for later rules. A rule that reads the residual with its
    /// `_first` forms alone (`first`) shares either kind, and makes one of its own with
    /// `NAME_fwd_first`, which only such rules share.
    pub(super) fn residual_for(&mut self, args: &[Temp], first: bool) -> Residual {
        let keys: Option<Vec<&String>> = args.iter().map(|a| self.value_keys.get(a)).collect();
        let [full, lean] = ["softmax", "softmax_first"].map(|kind| keys.as_ref().map(|k| format!("{kind}{k:?}")));
        let shareable = if first { 2 } else { 1 };
        let earlier = [&full, &lean].into_iter().take(shareable).flatten().find_map(|k| self.available_residual(k));
        if let Some(temp) = earlier {
            return Residual { temp, source: ResidualSource::Shared };
        }
        let temp = self.temp(false);
        let (key, source) = if first { (lean, ResidualSource::FwdFirst) } else { (full, ResidualSource::Fwd) };
        if let Some(key) = key {
            self.residuals.last_mut().expect("a scope").1.push((key, temp));
        }
        Residual { temp, source }
    }

    pub(super) fn push_scope(&mut self, is_loop: bool) {
        self.scopes.push(Vec::new());
        self.residuals.push((is_loop, Vec::new()));
    }

    pub(super) fn pop_scope(&mut self) {
        self.scopes.pop();
        self.residuals.pop();
    }

    pub(super) fn is_active(&self, v: &Value) -> bool {
        matches!(v, Value::Active(_))
    }
}

/// The binding name at the root of a place: `x` of `x`, `x[i]`, `x.f`, `(x)`.
fn place_root(e: &Expr) -> Option<Ident> {
    match strip(e) {
        Expr::Path(p) => p.path.get_ident().cloned(),
        Expr::Index(i) => place_root(&i.expr),
        Expr::Field(f) => place_root(&f.base),
        _ => None,
    }
}
