//! Calls: relax's rules (through the rule table) and other `#[differentiable]` functions
//! (through their split form).

use super::*;

/// The relax rule a call names (through the rule table): its name and its row.
fn called_rule(fp: &syn::ExprPath) -> Option<(Ident, &'static rules::Rule)> {
    if fp.qself.is_some() {
        return None;
    }
    is_rule_path(&fp.path).and_then(|id| rules::rule(&id.to_string()).map(|r| (id.clone(), r)))
}

/// Whether `e` calls one of relax's sampling rules (`normal_rsample(..)`, `gumbel_softmax(..)`,
/// …): a draw, which is lowered (and stored in loops) even when nothing it takes is active.
pub(super) fn is_sampling_call(e: &Expr) -> bool {
    let Expr::Call(c) = strip(e) else { return false };
    let Expr::Path(fp) = strip(&c.func) else { return false };
    called_rule(fp).is_some_and(|(_, r)| matches!(r.form, Form::Sampled { .. }))
}

impl Lowerer<'_> {
    pub(super) fn lower_call(&mut self, e: &Expr, c: &syn::ExprCall, out: &mut Block) -> Value {
        let Expr::Path(fp) = strip(&c.func) else {
            return self.unsupported(e);
        };
        if fp.qself.is_some() {
            return Value::Passive(Box::new(e.clone()));
        }
        if let Some((ident, rule)) = called_rule(fp) {
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
        // A local binding called: a closure (or a function pointer), which has no derivative.
        if let Some(local) = fp.path.get_ident().filter(|id| self.lookup(id).is_some()) {
            self.error(
                local.span(),
                format!("`{local}` is a function value (or a `move` closure), which relax cannot differentiate: make it a local closure without `move` (`let f = |x| …;`, inlined where it is called), write its body here, or make it a function with `#[differentiable]` on it, or one with a declared derivative (`#[differentiable(vjp = …)]`)"),
            );
            return Value::Passive(Box::new(e.clone()));
        }
        if iterators::from_fn_closure(e).is_some() {
            self.error(
                fp.span(),
                "`from_fn` on differentiated values fills an array whose type the `let` declares: `let y: [f64; N] = core::array::from_fn(|i| …);`",
            );
            return Value::Passive(Box::new(e.clone()));
        }
        if let Some(m) = self.float_method_call(fp, &args) {
            return self.lower_method(&Expr::MethodCall(m.clone()), &m, out);
        }
        if self.is_float_conversion(fp) {
            self.error(
                fp.span(),
                format!(
                    "`{}` of a value read from a differentiated parameter: a conversion has no derivative here. A data \
                     field of a differentiated struct (`#[no_derivative]`) or another data value is read through \
                     `stop_gradient(..)`: `f64::from(stop_gradient(p.steps))`; a float needs no conversion",
                    fp.path.to_token_stream().to_string().replace(' ', "")
                ),
            );
            return Value::Passive(Box::new(e.clone()));
        }
        let mut path = fp.path.clone();
        let last = path.segments.last_mut().expect("a segment");
        last.ident = crate::names::split_form(&last.ident);
        self.lower_composition(path.into_token_stream(), &args, false, c.span(), out)
    }

    /// `f64::exp(x)`, `T::max(a, b)`, `Float::sqrt(x)`: a float method called by its path, as the
    /// method call `(x).exp()` it is.
    fn float_method_call(&self, fp: &syn::ExprPath, args: &[&Expr]) -> Option<syn::ExprMethodCall> {
        let [ty, method] = fp.path.segments.iter().collect::<Vec<_>>()[..] else { return None };
        let float = ty.arguments.is_none()
            && (["f32", "f64", "Float", "Real"].iter().any(|f| ty.ident == f) || self.real_params.contains(&ty.ident));
        let known =
            rules::method_rule(&method.ident.to_string()).is_some() || rules::step_method(&method.ident.to_string());
        let (receiver, rest) = args.split_first()?;
        (float && known && method.arguments.is_none()).then(|| {
            let name = &method.ident;
            syn::parse_quote_spanned!(name.span()=> (#receiver).#name(#(#rest),*))
        })
    }

    /// `f64::from`, `T::from_usize`, `NumCast::from`, …: a conversion into a float type.
    fn is_float_conversion(&self, fp: &syn::ExprPath) -> bool {
        let [ty, method] = fp.path.segments.iter().collect::<Vec<_>>()[..] else { return false };
        let into_float = ["f32", "f64", "Float", "Real", "NumCast", "FromPrimitive"].iter().any(|f| ty.ident == f)
            || self.real_params.contains(&ty.ident);
        let name = method.ident.to_string();
        into_float && (name == "from" || name == "try_from" || name.starts_with("from_"))
    }

    /// A call of another differentiable function, through its split form `callee`: a path
    /// (`f__differentiable`, `Self::f__differentiable`) or a method (`self.f__differentiable`).
    /// With `rerun`, the adjoint calls it again instead of keeping its pullback.
    pub(super) fn lower_composition(
        &mut self,
        callee: TokenStream,
        args: &[&Expr],
        rerun: bool,
        span: proc_macro2::Span,
        out: &mut Block,
    ) -> Value {
        let mut call_args = Vec::new();
        // A method of a `&mut` receiver (`self.f(x)` in a `&mut self` method) may change it.
        let mut impure = self.may_mutate(&callee);
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
                        Value::PassiveTemp(t) => call_args.push(CallArg::Data(self.named_temp(t).into_token_stream())),
                        Value::Passive(x) => {
                            let tokens = x.into_token_stream();
                            match self.passive_on_values(&tokens, out) {
                                Some(temp) => call_args.push(CallArg::Data(temp.into_token_stream())),
                                None => {
                                    impure |= self.may_mutate(&tokens);
                                    call_args.push(CallArg::Data(tokens));
                                }
                            }
                        }
                    }
                }
            }
        }
        // A callee's pullback that borrows an array of this function (`&x`) cannot outlive the
        // forward sweep: such a call runs again in the adjoint, from copies of its arguments.
        let borrows_array = call_args.iter().any(|a| matches!(a, CallArg::ActiveRef(_)));
        let recompute = rerun || borrows_array;
        if borrows_array && impure {
            self.error(span, "a call that takes `&` of a differentiated array cannot also take `&mut` data (its forward work runs again in the adjoint): pass the array by value");
        }
        if recompute {
            if impure && rerun {
                self.error(span, "a method called on a value this function owns cannot also take `&mut` data (its forward work runs again in the adjoint): pass the receiver by reference, as a parameter");
            }
            for a in &mut call_args {
                if let CallArg::Data(tokens) = a {
                    let t = self.passive_temp(std::mem::take(tokens), out);
                    *tokens = self.named_temp(t).into_token_stream();
                }
            }
        }
        // A relaxed function's own gradient calls its callees' smooth forms, which exist whether
        // or not a callee has hard operations; its relaxation, their relaxations (`relax`).
        let callee = if self.relaxed { crate::names::smooth_form(callee) } else { callee };
        let temp = self.temp(true);
        let pullback = self.temp(false);
        if impure && let Some(l) = self.loops.last_mut() {
            l.impure.push(temp);
        }
        out.stmts.push(Stmt::Call { temp, pullback, callee, args: call_args, impure, recompute });
        Value::Active(temp)
    }

    pub(super) fn lower_rule(
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
                if name == "one_hot"
                    && let Some(v) = self.hard_one_hot(c, out)
                {
                    return v;
                }
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
                if !diff_active && matches!(rule.form, Form::Sampled { .. }) {
                    // A draw of constants: stored like any draw, so that a loop's adjoint neither
                    // draws it again nor copies the RNG.
                    return Value::PassiveTemp(self.passive_temp_of(e.to_token_stream(), true, out));
                }
                if !diff_active {
                    return Value::Passive(Box::new(e.clone()));
                }
                // The later arguments constant: the adjoint reads the residual with the `_first`
                // forms alone.
                let first = rule.first_forward && values.iter().skip(1).all(|v| !self.is_active(v));
                let mut args: Vec<Temp> = values.into_iter().map(|v| self.materialize(v, out)).collect();
                let (op_name, float_count) = match rule.form {
                    Form::Sampled { noise, explicit, noise_at } => {
                        let krate = self.krate;
                        let noise = format_ident!("{}", noise, span = ident.span());
                        let rng = rng.unwrap_or_default();
                        let draw = quote_spanned!(ident.span()=> #krate::#noise #generics (#rng));
                        // A draw is stored, never drawn again: from an RNG the function owns
                        // (`&mut rng` of a local) as from one it borrows.
                        let z = self.passive_temp_of(draw, true, out);
                        args.insert(noise_at, z);
                        let explicit = rules::rule(explicit).expect("explicit-noise rules are in the table");
                        (format_ident!("{}", explicit.name, span = ident.span()), explicit.args.len())
                    }
                    _ => (ident.clone(), args.len()),
                };
                let temp = self.temp(true);
                let residual = (rule.form == Form::Split).then(|| self.residual_for(&args, first));
                let op = Op::Rule { name: op_name, generics, float_args: vec![true; float_count], residual };
                out.stmts.push(Stmt::Compute { temp, op, args });
                Value::Active(temp)
            }
        }
    }
}
