//! Expressions: arithmetic, indexing, arrays and tuples, float methods.

use super::*;

impl Lowerer<'_> {
    pub(super) fn lower_expr(&mut self, e: &Expr, out: &mut Block) -> Value {
        // A draw is lowered (stored in loops) even of constants; see `lower_rule`.
        if !self.mentions_active(e) && !calls::is_sampling_call(e) {
            self.check_casts(e);
            return Value::Passive(Box::new(e.clone()));
        }
        match e {
            Expr::Paren(p) => self.lower_expr(&p.expr, out),
            Expr::Group(g) => self.lower_expr(&g.expr, out),
            Expr::Path(p) => match p.path.get_ident().and_then(|i| self.lookup(i).cloned()) {
                Some(b) if b.active && b.slice => {
                    self.error(
                        e.span(),
                        format!(
                            "a differentiated slice is read by element: `{0}[i]`, `for v in {0}`, `{0}.len()`",
                            b.name
                        ),
                    );
                    Value::Passive(Box::new(e.clone()))
                }
                Some(b) if b.active => {
                    let temp = self.temp(true);
                    let key = self.read_key(b.id);
                    self.value_keys.insert(temp, key);
                    out.stmts.push(Stmt::Read {
                        temp,
                        access: Access { binding: b.id, name: b.name, path: Vec::new(), deref: b.deref },
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
                if let Some(v) = self.hard_cast(c, out) {
                    return v;
                }
                let mut scratch = Block::default();
                let inner = self.lower_expr(&c.expr, &mut scratch);
                if self.is_active(&inner) {
                    self.error(c.span(), "casts of differentiated values are not supported: keep one float type through the computation (casts are for data, such as `i as f64`), or wrap the value in `stop_gradient(..)`");
                } else {
                    self.check_casts(e);
                }
                Value::Passive(Box::new(e.clone()))
            }
            Expr::Index(_) | Expr::Field(_) => self.lower_projection(e, out),
            Expr::Struct(st) => self.lower_struct(e, st, out),
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
            Expr::MethodCall(m) => self.lower_method(e, m, out),
            Expr::Call(c) => self.lower_call(e, c, out),
            Expr::If(i) => self.lower_if(i, true, out),
            Expr::Match(m) => self.lower_match(m, true, out),
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

    pub(super) fn unsupported(&mut self, e: &Expr) -> Value {
        let what = match e {
            Expr::Closure(_) => "closures over active values are not supported: write the loop as `for i in 0..N`",
            Expr::Macro(_) => "macros cannot take active values: compute the value with plain expressions",
            Expr::Reference(_) => {
                "references to active values are only taken as arguments of differentiable functions (`f(&x)`)"
            }
            Expr::Loop(_) | Expr::While(_) | Expr::ForLoop(_) => {
                "a loop as an expression is not supported on active values: write it as a statement that assigns to a `let mut` binding"
            }
            Expr::Block(_) => {
                "this block is not supported on differentiated values (a labelled block, or one with attributes or items): compute its value in the statements before it, or bind it first (`let v = { …; t * t };`, then `v`)"
            }
            Expr::Unsafe(_) => {
                "an `unsafe` block cannot be differentiated: move it into a function with a declared derivative (`#[differentiable(vjp = …)]`), or wrap its value in `stop_gradient(..)`"
            }
            Expr::Async(_) | Expr::Await(_) => "`async` code cannot be differentiated",
            Expr::Try(_) => {
                "`?` on differentiated values is not supported: handle the error on data, before the differentiated computation"
            }
            Expr::Range(_) => {
                "a range of differentiated values is not supported: ranges are loop bounds, computed from data"
            }
            _ => {
                "this expression is not supported on differentiated values (see relax's supported language: arithmetic, float methods, arrays, `for`, `if`, rules and other #[differentiable] functions)"
            }
        };
        self.error(e.span(), what);
        Value::Passive(Box::new(e.clone()))
    }

    /// An op over `args`: passive when every argument is.
    pub(super) fn compute_all(&mut self, op: Op, args: Vec<Value>, out: &mut Block) -> Value {
        if !args.iter().any(|a| self.is_active(a)) {
            // Reassemble as a passive expression from temporaries.
            let temps: Vec<Temp> = args.into_iter().map(|a| self.materialize(a, out)).collect();
            let names: Vec<Ident> = temps.iter().map(|t| self.named_temp(*t)).collect();
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

    pub(super) fn lower_binary(&mut self, e: &Expr, b: &syn::ExprBinary, out: &mut Block) -> Value {
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

    /// `x[i]`, `p.w[i][j]`, `t.0`, `f(x).w`: a read of a place in a binding, or a projection of
    /// a computed value.
    pub(super) fn lower_projection(&mut self, e: &Expr, out: &mut Block) -> Value {
        if let Expr::Index(ix) = strip(e)
            && let Some(v) = self.hard_index(ix, out)
        {
            return v;
        }
        let mut steps = Vec::new();
        let mut base = e;
        loop {
            match strip(base) {
                Expr::Index(ix) => {
                    steps.push(Step::Index(&ix.index));
                    base = &ix.expr;
                }
                Expr::Field(f) => {
                    steps.push(Step::Field(&f.member));
                    base = &f.base;
                }
                _ => break,
            }
        }
        steps.reverse();
        if self.active_index(&steps) {
            self.error(e.span(), "an index must not depend on differentiated values: wrap it in `stop_gradient(..)`, or use `st_argmax`/`soft_argmax` for a relaxed index");
            return Value::Passive(Box::new(e.clone()));
        }
        let binding = match strip(base) {
            Expr::Path(p) => p.path.get_ident().and_then(|i| self.lookup(i).cloned()),
            _ => None,
        };
        match binding {
            Some(b) if b.active => {
                let path = self.projection(&steps, out);
                let temp = self.temp(true);
                out.stmts.push(Stmt::Read { temp, access: Access { binding: b.id, name: b.name, path, deref: false } });
                Value::Active(temp)
            }
            Some(_) => Value::Passive(Box::new(e.clone())),
            None => {
                let v = self.lower_expr(base, out);
                if !self.is_active(&v) {
                    return Value::Passive(Box::new(e.clone()));
                }
                let a = self.materialize(v, out);
                let path = self.projection(&steps, out);
                let temp = self.temp(true);
                out.stmts.push(Stmt::Compute { temp, op: Op::Project { path }, args: vec![a] });
                Value::Active(temp)
            }
        }
    }

    /// `Path { f: a, g: b }` with differentiated fields.
    pub(super) fn lower_struct(&mut self, e: &Expr, s: &syn::ExprStruct, out: &mut Block) -> Value {
        if let Some(rest) = &s.rest {
            self.error(
                rest.span(),
                "`..` in a struct literal of differentiated values is not supported: list every field",
            );
            return Value::Passive(Box::new(e.clone()));
        }
        if s.qself.is_some() {
            return self.unsupported(e);
        }
        let fields: Vec<syn::Member> = s.fields.iter().map(|f| f.member.clone()).collect();
        let values: Vec<Value> = s.fields.iter().map(|f| self.lower_expr(&f.expr, out)).collect();
        let path = s.path.to_token_stream();
        self.compute_all(Op::Struct { path, fields }, values, out)
    }

    pub(super) fn lower_method(&mut self, e: &Expr, m: &syn::ExprMethodCall, out: &mut Block) -> Value {
        let name = m.method.to_string();
        if rules::step_method(&name) {
            if self.mentions_active(&m.receiver)
                && let Some(v) = self.hard_step(m, out)
            {
                return v;
            }
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
            if let Some(v) = self.lower_fold(m, out) {
                return v;
            }
            // A method of a value that is data (`self`, a model passed by reference) taking
            // differentiated arguments: another differentiable function.
            if !self.mentions_active(&m.receiver) && m.args.iter().any(|a| self.mentions_active(a)) {
                let recv = &m.receiver;
                let split = crate::names::split_form(&m.method);
                let args: Vec<&Expr> = m.args.iter().collect();
                // A pullback cannot borrow a value the function owns (it outlives the forward
                // sweep): the adjoint calls the method again, through `&` (so that a `&mut self`
                // method, whose side effects would happen twice, is refused by rustc).
                if let Some(id) = self.owned_root(recv) {
                    let generation = self.generation.get(&id).copied().unwrap_or(0);
                    self.owned_receivers.push((id, generation, m.span()));
                    return self.lower_composition(quote!((&#recv).#split), &args, true, m.span(), out);
                }
                return self.lower_composition(quote!(#recv.#split), &args, false, m.span(), out);
            }
            if rules::iterator_method(&name) {
                self.error(m.method.span(), format!("this use of `.{name}(..)` is not supported on differentiated values: iterators over them are `for` loops over `xs.iter()`, `xs.windows(k)`, `.enumerate()`, `.zip(ys)`, `.rev()`, `.skip(k)`, `.take(n)`, `.step_by(k)`, a `.filter(p)` last, `.sum()` or `.product()` of such a chain with at most one `.map(|x| …)`, its `.fold(init, |acc, x| …)`, its `.for_each(|x| …)`, and an array's `.map(|x| …)`; write a `for` loop, such as `for x in xs.iter() {{ acc += … }}`"));
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
}
