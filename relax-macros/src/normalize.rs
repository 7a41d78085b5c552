//! Early returns, rewritten before lowering so that every block ends in its value:
//!
//! * `if c { return a; } rest` becomes `if c { a } else { rest }`;
//! * a loop containing `return a` becomes a flag form with the same float operations:
//!   `let mut ret: Out = zero; let mut done = false; for … { if !done { …; ret = a; done = true } }`
//!   followed by `if done { ret } else { rest }`. The flag is stored per iteration like any
//!   variable a loop reads and writes, so such a loop needs a compile-time bound.
//!
//! Only the generated functions see the rewritten body; the original keeps its returns.

use std::cell::Cell;

use proc_macro2::Span;
use quote::format_ident;
use syn::visit::Visit;
use syn::{Block, Expr, Ident, Stmt};

/// `return` somewhere in `stmt`, outside closures and nested items.
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

/// Where a `return` leads.
#[derive(Clone, Copy)]
enum Exit<'a> {
    /// Out of the function: its value becomes the block's value.
    Function,
    /// Out of loops: it sets the flag and the value the function returns after them.
    Loop { ret: &'a Ident, done: &'a Ident },
}

struct Rewriter<'a> {
    output: &'a syn::Type,
    krate: &'a syn::Path,
    loops: Cell<usize>,
}

/// The function's statements with every `return` rewritten (see the module docs).
pub fn returns(stmts: &[Stmt], output: &syn::Type, krate: &syn::Path) -> Vec<Stmt> {
    Rewriter { output, krate, loops: Cell::new(0) }.rewrite(stmts, Exit::Function)
}

fn block(stmts: Vec<Stmt>) -> Block {
    Block { brace_token: Default::default(), stmts }
}

fn block_expr(stmts: Vec<Stmt>) -> Expr {
    Expr::Block(syn::ExprBlock { attrs: Vec::new(), label: None, block: block(stmts) })
}

impl Rewriter<'_> {
    fn rewrite(&self, stmts: &[Stmt], exit: Exit) -> Vec<Stmt> {
        let mut out = Vec::new();
        for (i, stmt) in stmts.iter().enumerate() {
            let rest = &stmts[i + 1..];
            match stmt {
                Stmt::Expr(Expr::Return(ret), _) => {
                    match (exit, &ret.expr) {
                        (Exit::Function, Some(value)) => out.push(Stmt::Expr((**value).clone(), None)),
                        (Exit::Loop { ret: r, done }, Some(value)) => {
                            out.push(syn::parse_quote!(#r = #value;));
                            out.push(syn::parse_quote!(#done = true;));
                        }
                        // `return;` in a function with a value: rustc reports it on the original.
                        (_, None) => out.push(stmt.clone()),
                    }
                    return out;
                }
                Stmt::Expr(Expr::If(if_expr), _) if contains_return(stmt) => {
                    let rewritten = Expr::If(self.branch_with_rest(if_expr, rest, exit));
                    out.push(match exit {
                        Exit::Function => Stmt::Expr(rewritten, None),
                        Exit::Loop { .. } => Stmt::Expr(rewritten, Some(Default::default())),
                    });
                    return out;
                }
                Stmt::Expr(Expr::ForLoop(f), _) if contains_return(stmt) => {
                    self.flagged_loop(f, rest, exit, &mut out);
                    return out;
                }
                _ => out.push(stmt.clone()),
            }
        }
        out
    }

    /// `if c { A } else { B }` followed by `rest`: `if c { A; rest } else { B; rest }`.
    fn branch_with_rest(&self, if_expr: &syn::ExprIf, rest: &[Stmt], exit: Exit) -> syn::ExprIf {
        let mut out = if_expr.clone();
        out.then_branch = block(self.with_rest(&if_expr.then_branch.stmts, rest, exit));
        let else_stmts: Vec<Stmt> = match &if_expr.else_branch {
            Some((_, e)) => match &**e {
                Expr::Block(b) => b.block.stmts.clone(),
                other => vec![Stmt::Expr(other.clone(), None)],
            },
            None => Vec::new(),
        };
        let else_token = if_expr.else_branch.as_ref().map_or_else(Default::default, |(t, _)| *t);
        out.else_branch = Some((else_token, Box::new(block_expr(self.with_rest(&else_stmts, rest, exit)))));
        out
    }

    fn with_rest(&self, stmts: &[Stmt], rest: &[Stmt], exit: Exit) -> Vec<Stmt> {
        let mut all = stmts.to_vec();
        // A branch's value in statement position is dropped: it continues with `rest`.
        if let Some(Stmt::Expr(e, semi @ None)) = all.last_mut()
            && !rest.is_empty()
            && !matches!(e, Expr::Return(_))
        {
            *semi = Some(Default::default());
        }
        all.extend_from_slice(rest);
        self.rewrite(&all, exit)
    }

    /// A loop with a `return` inside, and what follows it.
    fn flagged_loop(&self, f: &syn::ExprForLoop, rest: &[Stmt], exit: Exit, out: &mut Vec<Stmt>) {
        let k = self.loops.get();
        self.loops.set(k + 1);
        let (ret, done) = match exit {
            Exit::Loop { ret, done } => (ret.clone(), done.clone()),
            Exit::Function => {
                let span = Span::call_site();
                let (ret, done) =
                    (format_ident!("__relax_ret{}", k, span = span), format_ident!("__relax_done{}", k, span = span));
                let (output, krate) = (self.output, self.krate);
                out.push(syn::parse_quote!(let mut #ret: #output = #krate::Tangent::zero_tangent();));
                out.push(syn::parse_quote!(let mut #done = false;));
                (ret, done)
            }
        };
        let body = self.rewrite(&f.body.stmts, Exit::Loop { ret: &ret, done: &done });
        let mut looped = f.clone();
        looped.body = block(vec![syn::parse_quote!(if !#done { #(#body)* })]);
        out.push(Stmt::Expr(Expr::ForLoop(looped), None));
        let rest = self.rewrite(rest, exit);
        match exit {
            Exit::Function => {
                let tail: Expr = syn::parse_quote!(if #done { #ret } else { #(#rest)* });
                out.push(Stmt::Expr(tail, None));
            }
            Exit::Loop { .. } if !rest.is_empty() => out.push(syn::parse_quote!(if !#done { #(#rest)* })),
            Exit::Loop { .. } => {}
        }
    }
}
