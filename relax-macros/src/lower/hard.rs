//! The hard operations a `relaxed` function takes on active values (SPEC's relaxation table),
//! recorded in the intermediate form as [`Op::Hard`] for the `relax` stage to replace: step
//! methods, comparisons made numbers, and `argmax` used as a number, a one-hot or an index.

use super::*;

/// `argmax(x)`, called as a rule: its argument.
fn argmax_arg(e: &Expr) -> Option<&Expr> {
    match strip(e) {
        Expr::Call(c) if c.args.len() == 1 => match strip(&c.func) {
            Expr::Path(p) if is_rule_path(&p.path).is_some_and(|id| id == "argmax") => c.args.first(),
            _ => None,
        },
        _ => None,
    }
}

/// `a > b` (and `>=`, `<`, `<=`): the way, whether it includes equality, and the operands.
pub(super) fn comparison(e: &Expr) -> Option<(Comparison, bool, &Expr, &Expr)> {
    match strip(e) {
        Expr::Binary(b) => match b.op {
            BinOp::Gt(_) => Some((Comparison::Greater, false, &b.left, &b.right)),
            BinOp::Ge(_) => Some((Comparison::Greater, true, &b.left, &b.right)),
            BinOp::Lt(_) => Some((Comparison::Less, false, &b.left, &b.right)),
            BinOp::Le(_) => Some((Comparison::Less, true, &b.left, &b.right)),
            _ => None,
        },
        _ => None,
    }
}

impl Lowerer<'_> {
    /// A hard operation of arguments `args`: active, and marks the body as hard.
    fn hard(&mut self, hard: Hard, args: Vec<Value>, out: &mut Block) -> Value {
        self.hard = true;
        let args = args.into_iter().map(|a| self.materialize(a, out)).collect();
        let temp = self.temp(true);
        out.stmts.push(Stmt::Compute { temp, op: Op::Hard(hard), args });
        Value::Active(temp)
    }

    /// `x.round()` and the other step methods of the table, on an active receiver.
    pub(super) fn hard_step(&mut self, m: &syn::ExprMethodCall, out: &mut Block) -> Option<Value> {
        let name = ["round", "floor", "ceil", "signum"].into_iter().find(|n| m.method == n)?;
        if !self.relaxed || !m.args.is_empty() {
            return None;
        }
        let x = self.lower_expr(&m.receiver, out);
        Some(self.hard(Hard::Step(name), vec![x], out))
    }

    /// `(a > b) as u8 as T` (any integer in between) and `argmax(x) as T`, cast to a float.
    pub(super) fn hard_cast(&mut self, c: &syn::ExprCast, out: &mut Block) -> Option<Value> {
        if !self.relaxed || !crate::signature::is_float_type(&c.ty, &self.real_params) {
            return None;
        }
        if let Some(x) = argmax_arg(&c.expr)
            && self.mentions_active(x)
        {
            let x = self.lower_expr(x, out);
            return Some(self.hard(Hard::ArgmaxIndex, vec![x], out));
        }
        let Expr::Cast(to_int) = strip(&c.expr) else {
            return None;
        };
        let (way, or_equal, a, b) = comparison(&to_int.expr)?;
        if !(self.mentions_active(a) || self.mentions_active(b)) {
            return None;
        }
        let (a, b) = (self.lower_expr(a, out), self.lower_expr(b, out));
        Some(self.hard(Hard::Compare { way, or_equal }, vec![a, b], out))
    }

    /// `one_hot(argmax(x))`.
    pub(super) fn hard_one_hot(&mut self, c: &syn::ExprCall, out: &mut Block) -> Option<Value> {
        let x = argmax_arg(c.args.first()?).filter(|_| self.relaxed && c.args.len() == 1)?;
        if !self.mentions_active(x) {
            return None;
        }
        let x = self.lower_expr(x, out);
        Some(self.hard(Hard::OneHotArgmax, vec![x], out))
    }

    /// `y[argmax(x)]`: the value selected by the hard index.
    pub(super) fn hard_index(&mut self, ix: &syn::ExprIndex, out: &mut Block) -> Option<Value> {
        let x = argmax_arg(&ix.index).filter(|_| self.relaxed)?;
        if !self.mentions_active(x) {
            return None;
        }
        let (y, x) = (self.lower_expr(&ix.expr, out), self.lower_expr(x, out));
        Some(self.hard(Hard::IndexArgmax, vec![y, x], out))
    }

    /// The condition of an `if` in a relaxed function, where it compares an active value: the
    /// compared values as temporaries, and the condition computed from them.
    pub(super) fn relaxed_condition(&mut self, cond: &Expr, prelude: &mut Block) -> Option<BranchHead> {
        let (way, _, a, b) = comparison(cond).filter(|_| self.relaxed)?;
        if !(self.mentions_active(a) || self.mentions_active(b)) {
            return None;
        }
        let Expr::Binary(bin) = strip(cond) else {
            return None;
        };
        let (lhs, rhs) = (self.lower_expr(a, prelude), self.lower_expr(b, prelude));
        let (lhs, rhs) = (self.materialize(lhs, prelude), self.materialize(rhs, prelude));
        let (l, r, op) = (self.named_temp(lhs), self.named_temp(rhs), &bin.op);
        let cond = self.passive_temp(quote!(#l #op #r), prelude);
        Some(BranchHead::Compare { cond, way, lhs, rhs })
    }
}
