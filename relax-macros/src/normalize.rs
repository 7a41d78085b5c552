//! Early returns, rewritten into `if`/`else` expressions before lowering: `if c { return a; } rest`
//! becomes `if c { a } else { rest }`, so every block ends in its value.

use syn::visit::Visit;
use syn::{Block, Expr, Stmt};

/// `return` somewhere in `node`, outside closures and nested items.
fn contains_return(stmt: &Stmt) -> bool {
    struct Finder(bool);
    impl<'a> Visit<'a> for Finder {
        fn visit_expr_return(&mut self, _: &'a syn::ExprReturn) {
            self.0 = true;
        }
        fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut f = Finder(false);
    f.visit_stmt(stmt);
    f.0
}

/// The statements of `block`, with early returns in tail position made into block values.
pub fn returns(stmts: &[Stmt]) -> Vec<Stmt> {
    let mut out = Vec::new();
    for (i, stmt) in stmts.iter().enumerate() {
        if let Stmt::Expr(Expr::Return(ret), _) = stmt {
            if let Some(value) = &ret.expr {
                out.push(Stmt::Expr((**value).clone(), None));
            }
            return out;
        }
        if let Stmt::Expr(Expr::If(if_expr), _) = stmt
            && contains_return(stmt)
        {
            let rest = &stmts[i + 1..];
            out.push(Stmt::Expr(Expr::If(branch_with_rest(if_expr, rest)), None));
            return out;
        }
        out.push(stmt.clone());
    }
    out
}

/// `if c { A } else { B }` followed by `rest`: `if c { A; rest } else { B; rest }`, normalized.
fn branch_with_rest(if_expr: &syn::ExprIf, rest: &[Stmt]) -> syn::ExprIf {
    let mut out = if_expr.clone();
    out.then_branch = with_rest(&if_expr.then_branch.stmts, rest, &if_expr.then_branch);
    let else_stmts: Vec<Stmt> = match &if_expr.else_branch {
        Some((_, e)) => match &**e {
            Expr::Block(b) => b.block.stmts.clone(),
            other => vec![Stmt::Expr(other.clone(), None)],
        },
        None => Vec::new(),
    };
    let else_block = with_rest(&else_stmts, rest, &if_expr.then_branch);
    let else_token = if_expr.else_branch.as_ref().map_or_else(Default::default, |(t, _)| *t);
    out.else_branch =
        Some((else_token, Box::new(Expr::Block(syn::ExprBlock { attrs: Vec::new(), label: None, block: else_block }))));
    out
}

fn with_rest(stmts: &[Stmt], rest: &[Stmt], like: &Block) -> Block {
    let mut all = stmts.to_vec();
    // A branch's value in statement position is dropped: it continues with `rest`.
    if let Some(Stmt::Expr(e, semi @ None)) = all.last_mut()
        && !rest.is_empty()
        && !matches!(e, Expr::Return(_))
    {
        *semi = Some(Default::default());
    }
    all.extend_from_slice(rest);
    Block { brace_token: like.brace_token, stmts: returns(&all) }
}
