//! Blocks that compute a value, spliced into the statements around them before lowering:
//!
//! ```text
//! let z = { let t = a * b; t * t };     →     let t = a * b; let z = t * t;
//! s += { let t = x[i]; t * t };        →     let t = x[i]; s += t * t;
//! { let t = a * b; s += t; }            →     let t = a * b; s += t;
//! ```
//!
//! and a block that is the value of a function, an arm or another block. Lowering then takes the
//! statements as it takes any others, in every mode. Spliced, a name the block declares outlives
//! it: where the statements after the block mention that name (an outer binding the block
//! shadowed), the block's own binding is renamed, from its declaration on, to a name of its own.
//!
//! A block inside a larger expression (an operand, an argument, an `if`'s or `match`'s
//! condition; an inlined closure's call is one, see `closures`) is bound first, `let __value0 =
//! { … };`, and spliced as above: `a * { …; t } + b` is `…; let __value0 = t; a * __value0 + b`.
//! That runs the block before what the expression evaluates ahead of it, so it is done only where
//! that has no side effects (no macro, no `&mut`, no `&mut` parameter, no method call other
//! than a float method or a reading iterator step); elsewhere, and where the block may not run
//! (after `&&` or `||`, in a `while` condition, a guard or a closure), it is an error or left to
//! lowering's. Labelled blocks and blocks with attributes or items are left as written.

use proc_macro2::{Group, TokenStream, TokenTree};
use quote::{ToTokens, format_ident};
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{Block, Expr, Ident, Stmt};

use super::{is_compound, may_have_effects, pattern_idents, takes_receiver_as_value, token_idents};
use crate::normalize::{block, block_expr};

/// `stmts` with every block described in the module docs spliced, at any depth; errors for blocks
/// that cannot be. `mut_refs` are the function's `&mut` parameters.
pub fn flatten(stmts: &[Stmt], mut_refs: &[Ident]) -> (Vec<Stmt>, Vec<syn::Error>) {
    let mut body = block(stmts.to_vec());
    let mut splicer = Splicer { renamed: 0, values: 0, mut_refs, errors: Vec::new() };
    splicer.visit_block_mut(&mut body);
    (body.stmts, splicer.errors)
}

struct Splicer<'a> {
    /// How many bindings were renamed so far: the next one's suffix.
    renamed: usize,
    /// How many blocks were bound to a `__value` so far.
    values: usize,
    mut_refs: &'a [Ident],
    errors: Vec<syn::Error>,
}

impl VisitMut for Splicer<'_> {
    fn visit_block_mut(&mut self, b: &mut Block) {
        visit_mut::visit_block_mut(self, b);
        let mut stmts = Vec::new();
        for mut stmt in std::mem::take(&mut b.stmts) {
            stmts.extend(self.bind_operands(&mut stmt));
            stmts.push(stmt);
        }
        for (i, stmt) in stmts.iter().enumerate() {
            self.splice(stmt, &stmts[i + 1..], &mut b.stmts);
        }
    }

    fn visit_expr_if_mut(&mut self, i: &mut syn::ExprIf) {
        // `else if c` with a block to bind in `c`: `else { if c … }`, so that it has statements
        // before it to bind the block in.
        if let Some((_, otherwise)) = &mut i.else_branch
            && let Expr::If(inner) = &**otherwise
            && self.has_operand_blocks(&inner.cond)
        {
            **otherwise = block_expr(vec![Stmt::Expr(Expr::If(inner.clone()), None)]);
        }
        visit_mut::visit_expr_if_mut(self, i);
    }

    fn visit_expr_closure_mut(&mut self, c: &mut syn::ExprClosure) {
        // `|v| sq(v) + 1.0` with `sq` inlined: `|v| { … }`, statements to bind the block in.
        if !matches!(&*c.body, Expr::Block(_)) && (plain(&c.body).is_some() || self.has_operand_blocks(&c.body)) {
            *c.body = block_expr(vec![Stmt::Expr((*c.body).clone(), None)]);
        }
        visit_mut::visit_expr_closure_mut(self, c);
    }
}

/// What surrounds a spliced block: the statement its value goes into.
enum Around {
    /// `let pat = { … };`
    Let(syn::Local),
    /// `place = { … };` or `place op= { … };`, the assignment with its semicolon.
    Assign(Expr, Option<syn::token::Semi>),
    /// `{ … }` as a statement (with its semicolon, if any) or as the value of the statements.
    Alone(Option<syn::token::Semi>),
}

impl Splicer<'_> {
    /// The `let`s that bind the blocks among `stmt`'s operands, which it reads in their place.
    fn bind_operands(&mut self, stmt: &mut Stmt) -> Vec<Stmt> {
        let mut operands = Operands {
            mut_refs: self.mut_refs,
            effects: false,
            lets: Vec::new(),
            next: self.values,
            errors: Vec::new(),
        };
        let mut bind = |e: &mut Expr| {
            if plain(e).is_none() {
                operands.visit_expr_mut(e);
            }
        };
        match stmt {
            Stmt::Local(local) => {
                if let Some(init) = &mut local.init {
                    bind(&mut init.expr);
                }
            }
            // An assignment runs its value first.
            Stmt::Expr(Expr::Assign(a), _) => bind(&mut a.right),
            Stmt::Expr(Expr::Binary(b), _) if is_compound(&b.op) => bind(&mut b.right),
            Stmt::Expr(Expr::If(i), _) => bind(&mut i.cond),
            Stmt::Expr(Expr::Match(m), _) => bind(&mut m.expr),
            Stmt::Expr(Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_) | Expr::Block(_), _) => {}
            Stmt::Expr(e, _) => bind(e),
            Stmt::Item(_) | Stmt::Macro(_) => {}
        }
        self.values = operands.next;
        self.errors.extend(operands.errors);
        operands.lets
    }

    /// Whether `e` has blocks among its operands.
    fn has_operand_blocks(&self, e: &Expr) -> bool {
        let mut operands =
            Operands { mut_refs: self.mut_refs, effects: false, lets: Vec::new(), next: 0, errors: Vec::new() };
        operands.visit_expr_mut(&mut e.clone());
        !operands.lets.is_empty() || !operands.errors.is_empty()
    }

    /// Pushes `stmt`, followed by the statements `rest`, onto `out`: its block's statements and
    /// then the statement with the block's value in its place, where it has a block to splice.
    fn splice(&mut self, stmt: &Stmt, rest: &[Stmt], out: &mut Vec<Stmt>) {
        let Some((block, around)) = spliceable(stmt) else {
            out.push(stmt.clone());
            return;
        };
        let mut stmts = block.stmts.clone();
        // Names the statement after the block mentions, other than those the `let` declares again.
        let mut after: Vec<Ident> = Vec::new();
        rest.iter().for_each(|s| token_idents(&s.to_token_stream(), &mut after));
        match &around {
            Around::Let(local) => {
                let declared = pattern_idents(&local.pat);
                after.retain(|i| !declared.contains(i));
            }
            Around::Assign(assign, _) => token_idents(&assign.to_token_stream(), &mut after),
            Around::Alone(_) => {}
        }
        for k in 0..stmts.len() {
            let Stmt::Local(local) = &stmts[k] else { continue };
            for name in pattern_idents(&local.pat) {
                if after.contains(&name) {
                    let fresh = format_ident!("{}__block{}", name, self.renamed, span = name.span());
                    self.renamed += 1;
                    let mut renamer = Renamer { from: name, to: fresh };
                    let Stmt::Local(local) = &mut stmts[k] else { unreachable!("a `let` above") };
                    renamer.visit_pat_mut(&mut local.pat);
                    stmts[k + 1..].iter_mut().for_each(|s| renamer.visit_stmt_mut(s));
                }
            }
        }
        let tail = match stmts.last() {
            Some(Stmt::Expr(_, None)) => match stmts.pop() {
                Some(Stmt::Expr(e, None)) => Some(e),
                _ => unreachable!("the last statement, an expression without a semicolon"),
            },
            _ => None,
        };
        out.extend(stmts);
        let value = || tail.clone().unwrap_or_else(|| syn::parse_quote!(()));
        match around {
            Around::Let(mut local) => {
                if let Some(init) = &mut local.init {
                    *init.expr = value();
                }
                out.push(Stmt::Local(local));
            }
            Around::Assign(mut assign, semi) => {
                match &mut assign {
                    Expr::Assign(a) => *a.right = value(),
                    Expr::Binary(b) => *b.right = value(),
                    _ => unreachable!("`spliceable` takes assignments only"),
                }
                out.push(Stmt::Expr(assign, semi));
            }
            Around::Alone(semi) => {
                // The block's value stays the value of the statements, or is a statement of its
                // own (`if c { … }`, `f(x);`).
                let semi = if rest.is_empty() { semi } else { Some(Default::default()) };
                out.extend(tail.map(|e| Stmt::Expr(e, semi)));
            }
        }
    }
}

/// The block `stmt` puts in a place described by [`Around`], and that place.
fn spliceable(stmt: &Stmt) -> Option<(&Block, Around)> {
    match stmt {
        Stmt::Local(local) => {
            let init = local.init.as_ref().filter(|i| i.diverge.is_none())?;
            Some((plain(&init.expr)?, Around::Let(local.clone())))
        }
        Stmt::Expr(e @ Expr::Assign(a), semi) => Some((plain(&a.right)?, Around::Assign(e.clone(), *semi))),
        Stmt::Expr(e @ Expr::Binary(b), semi) if is_compound(&b.op) => {
            Some((plain(&b.right)?, Around::Assign(e.clone(), *semi)))
        }
        Stmt::Expr(e, semi) => Some((plain(e)?, Around::Alone(*semi))),
        _ => None,
    }
}

/// Binds the blocks among the operands of an expression to `__value` names (see the module
/// docs), visiting the operands in the order they run.
struct Operands<'a> {
    mut_refs: &'a [Ident],
    /// What ran before the operand being visited may have side effects.
    effects: bool,
    /// `let __valueN = { … };` for each block bound, in order.
    lets: Vec<Stmt>,
    next: usize,
    errors: Vec<syn::Error>,
}

impl Operands<'_> {
    /// Code that runs here without being visited: its side effects, if any, come before what
    /// follows.
    fn runs(&mut self, tokens: TokenStream) {
        self.effects |= may_have_effects(&tokens, &|i| self.mut_refs.contains(i), &|_| false);
    }
}

impl VisitMut for Operands<'_> {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        if plain(e).is_some() {
            if self.effects {
                self.errors.push(syn::Error::new(
                    e.span(),
                    "this block (or call of a local closure, which relax inlines as a block) comes after code \
                     that may have side effects in the same expression (a macro, `&mut`, a `&mut` parameter, a method that may change \
                     its receiver): bind its value with `let` before this statement",
                ));
                return;
            }
            let name = format_ident!("__value{}", self.next, span = e.span());
            self.next += 1;
            let block = e.clone();
            self.lets.push(syn::parse_quote!(let #name = #block;));
            *e = syn::parse_quote!(#name);
            return;
        }
        match e {
            // What runs only sometimes, or many times, is not bound before the statement.
            Expr::If(i) => {
                self.visit_expr_mut(&mut i.cond);
                self.runs(i.then_branch.to_token_stream());
                self.runs(i.else_branch.as_ref().map(|(_, e)| e.to_token_stream()).unwrap_or_default());
            }
            Expr::Match(m) => {
                self.visit_expr_mut(&mut m.expr);
                m.arms.iter().for_each(|arm| self.runs(arm.to_token_stream()));
            }
            Expr::Binary(b) if matches!(b.op, syn::BinOp::And(_) | syn::BinOp::Or(_)) => {
                self.visit_expr_mut(&mut b.left);
                self.runs(b.right.to_token_stream());
            }
            Expr::Call(_) | Expr::MethodCall(_) | Expr::Reference(_) => {
                // The operands run first, then the call itself (or the borrow).
                visit_mut::visit_expr_mut(self, e);
                let reads_only = match e {
                    Expr::MethodCall(m) => reading_method(&m.method.to_string()),
                    Expr::Reference(r) => r.mutability.is_none(),
                    _ => true,
                };
                self.effects |= !reads_only;
                self.runs(e.to_token_stream());
            }
            Expr::Closure(_)
            | Expr::Loop(_)
            | Expr::While(_)
            | Expr::ForLoop(_)
            | Expr::Block(_)
            | Expr::Unsafe(_)
            | Expr::Async(_)
            | Expr::Const(_)
            | Expr::TryBlock(_)
            | Expr::Macro(_) => self.runs(e.to_token_stream()),
            _ => visit_mut::visit_expr_mut(self, e),
        }
    }
}

/// Methods that only read their receiver: float methods and `len` (see [`takes_receiver_as_value`]),
/// and the iterator steps relax takes.
fn reading_method(name: &str) -> bool {
    takes_receiver_as_value(name)
        || matches!(
            name,
            "iter"
                | "into_iter"
                | "copied"
                | "cloned"
                | "clone"
                | "enumerate"
                | "zip"
                | "rev"
                | "skip"
                | "take"
                | "step_by"
                | "windows"
                | "chunks_exact"
                | "map"
                | "sum"
                | "product"
                | "fold"
        )
}

/// A block that can take the place of its statements: no label, attributes or items (in
/// parentheses too).
fn plain(e: &Expr) -> Option<&Block> {
    match e {
        Expr::Paren(p) if p.attrs.is_empty() => plain(&p.expr),
        Expr::Block(b) if b.attrs.is_empty() && b.label.is_none() => {
            let items = b.block.stmts.iter().any(|s| matches!(s, Stmt::Item(_)));
            (!items).then_some(&b.block)
        }
        _ => None,
    }
}

/// Renames the binding `from` to `to` wherever it is read or bound: paths, patterns, a struct
/// literal's or pattern's shorthand field, a macro's tokens (not names inside format strings).
struct Renamer {
    from: Ident,
    to: Ident,
}

impl Renamer {
    fn tokens(&self, tokens: TokenStream) -> TokenStream {
        tokens
            .into_iter()
            .map(|tt| match tt {
                TokenTree::Ident(i) if i == self.from => TokenTree::Ident(self.to.clone()),
                TokenTree::Group(g) => {
                    let mut renamed = Group::new(g.delimiter(), self.tokens(g.stream()));
                    renamed.set_span(g.span());
                    TokenTree::Group(renamed)
                }
                other => other,
            })
            .collect()
    }
}

impl VisitMut for Renamer {
    fn visit_expr_path_mut(&mut self, p: &mut syn::ExprPath) {
        if p.qself.is_none()
            && p.path.leading_colon.is_none()
            && p.path.segments.len() == 1
            && p.path.segments[0].ident == self.from
            && p.path.segments[0].arguments.is_none()
        {
            p.path.segments[0].ident = self.to.clone();
        }
    }

    fn visit_pat_ident_mut(&mut self, p: &mut syn::PatIdent) {
        if p.ident == self.from {
            p.ident = self.to.clone();
        }
        visit_mut::visit_pat_ident_mut(self, p);
    }

    fn visit_field_value_mut(&mut self, f: &mut syn::FieldValue) {
        if f.colon_token.is_none() && matches!(&f.member, syn::Member::Named(m) if *m == self.from) {
            f.colon_token = Some(Default::default());
        }
        visit_mut::visit_field_value_mut(self, f);
    }

    fn visit_field_pat_mut(&mut self, f: &mut syn::FieldPat) {
        if f.colon_token.is_none() && matches!(&f.member, syn::Member::Named(m) if *m == self.from) {
            f.colon_token = Some(Default::default());
        }
        visit_mut::visit_field_pat_mut(self, f);
    }

    fn visit_macro_mut(&mut self, m: &mut syn::Macro) {
        m.tokens = self.tokens(std::mem::take(&mut m.tokens));
    }
}
