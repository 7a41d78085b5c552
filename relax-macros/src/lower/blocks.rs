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
//! Labelled blocks, blocks with attributes or items, and blocks inside larger expressions are
//! left as written.

use proc_macro2::{Group, TokenStream, TokenTree};
use quote::{ToTokens, format_ident};
use syn::visit_mut::{self, VisitMut};
use syn::{Block, Expr, Ident, Stmt};

use super::{is_compound, pattern_idents};

/// `stmts` with every block described in the module docs spliced, at any depth.
pub fn flatten(stmts: &[Stmt]) -> Vec<Stmt> {
    let mut block = Block { brace_token: Default::default(), stmts: stmts.to_vec() };
    Splicer { renamed: 0 }.visit_block_mut(&mut block);
    block.stmts
}

struct Splicer {
    /// How many bindings were renamed so far: the next one's suffix.
    renamed: usize,
}

impl VisitMut for Splicer {
    fn visit_block_mut(&mut self, b: &mut Block) {
        visit_mut::visit_block_mut(self, b);
        let stmts = std::mem::take(&mut b.stmts);
        for (i, stmt) in stmts.iter().enumerate() {
            self.splice(stmt, &stmts[i + 1..], &mut b.stmts);
        }
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

impl Splicer {
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
        rest.iter().for_each(|s| idents(s.to_token_stream(), &mut after));
        match &around {
            Around::Let(local) => {
                let declared = pattern_idents(&local.pat);
                after.retain(|i| !declared.contains(i));
            }
            Around::Assign(assign, _) => idents(assign.to_token_stream(), &mut after),
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

/// A block that can take the place of its statements: no label, attributes or items.
fn plain(e: &Expr) -> Option<&Block> {
    match e {
        Expr::Block(b) if b.attrs.is_empty() && b.label.is_none() => {
            let items = b.block.stmts.iter().any(|s| matches!(s, Stmt::Item(_)));
            (!items).then_some(&b.block)
        }
        _ => None,
    }
}

/// Every identifier in `tokens` (macro arguments included), into `out`.
fn idents(tokens: TokenStream, out: &mut Vec<Ident>) {
    for tt in tokens {
        match tt {
            TokenTree::Ident(i) => out.push(i),
            TokenTree::Group(g) => idents(g.stream(), out),
            _ => {}
        }
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
