//! Local closures, inlined where they are called before lowering:
//!
//! ```text
//! let sq = |v: f64| v * v;              →     (the `let` goes)
//! sq(x[0]) + sq(x[1] - y)               →     ({ let v = x[0]; v * v }) + ({ let v = x[1] - y; v * v })
//! ```
//!
//! (arguments of several parameters bound at once, `let (a, b) = (e1, e2);`, so that one cannot
//! read a parameter bound before it). The blocks are then taken as every block is (`blocks`). A
//! closure is inlined where it is called by its name within the statements after its `let` (nested
//! ones included) until that name is declared again; its `let` goes when nothing else names it.
//! Not `move` closures (inlined, they would read a value the closure copied at its `let` later),
//! nor closures that `return` (from the closure, not the function). A call where a name the
//! closure reads is declared again after its `let` would read the other binding: an error.

use std::collections::HashSet;

use proc_macro2::TokenStream;
use quote::{ToTokens, quote_spanned};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::visit_mut::{self, VisitMut};
use syn::{Block, Expr, Ident, Pat, Stmt};

use super::{pattern_idents, token_idents};
use crate::normalize::block;

/// `stmts` with every call of a local closure inlined, as the module docs say; errors for calls
/// that cannot be.
pub fn inline(stmts: &[Stmt]) -> (Vec<Stmt>, Vec<syn::Error>) {
    let mut body = block(stmts.to_vec());
    let mut inliner = Inliner { closures: Vec::new(), declared: Vec::new(), errors: Vec::new() };
    inliner.visit_block_mut(&mut body);
    (body.stmts, inliner.errors)
}

/// A closure bound by `let name = |params| body;`.
struct Closure {
    name: Ident,
    params: Vec<Pat>,
    body: Expr,
    /// The names the body mentions that are not its parameters: what it may capture.
    captures: HashSet<Ident>,
    /// How many names [`Inliner::declared`] held at the closure's `let`: those after are declared
    /// later (its own name among them: the name is another binding there, to the end of that
    /// binding's scope).
    declared_at: usize,
}

struct Inliner {
    /// The closures in scope, innermost last.
    closures: Vec<Closure>,
    /// The names declared so far in the scopes around the statement being visited, in order.
    declared: Vec<Ident>,
    errors: Vec<syn::Error>,
}

impl VisitMut for Inliner {
    fn visit_block_mut(&mut self, b: &mut Block) {
        let (closures, declared) = (self.closures.len(), self.declared.len());
        let stmts = std::mem::take(&mut b.stmts);
        let mut defined: Vec<(usize, Ident)> = Vec::new();
        for mut stmt in stmts {
            if let Some(closure) = self.closure(&mut stmt) {
                defined.push((b.stmts.len(), closure.name.clone()));
                self.closures.push(closure);
                b.stmts.push(stmt);
                continue;
            }
            self.visit_stmt_mut(&mut stmt);
            b.stmts.push(stmt);
        }
        // A closure's `let` goes when its calls were all inlined and nothing else names it.
        for (at, name) in defined.into_iter().rev() {
            let mut named = Vec::new();
            for s in &b.stmts[at + 1..] {
                token_idents(&s.to_token_stream(), &mut named);
            }
            if !named.contains(&name) {
                b.stmts.remove(at);
            }
        }
        self.closures.truncate(closures);
        self.declared.truncate(declared);
    }

    fn visit_local_mut(&mut self, local: &mut syn::Local) {
        // The initialiser runs before the pattern's names exist.
        if let Some(init) = &mut local.init {
            self.visit_expr_mut(&mut init.expr);
            if let Some((_, diverge)) = &mut init.diverge {
                self.visit_expr_mut(diverge);
            }
        }
        self.declare(&local.pat);
    }

    fn visit_pat_mut(&mut self, pat: &mut Pat) {
        // A `for`, `match` or closure pattern: its names count as declared to the end of the
        // block around it (longer than they live, which can only refuse a call, never misread one).
        self.declare(pat);
    }

    fn visit_expr_mut(&mut self, e: &mut Expr) {
        visit_mut::visit_expr_mut(self, e);
        let Expr::Call(call) = e else { return };
        let Expr::Path(f) = &*call.func else { return };
        let Some(name) = f.path.get_ident().filter(|_| f.qself.is_none()) else { return };
        let declared = &self.declared;
        let current = |c: &&Closure| c.name == *name && !declared[c.declared_at..].contains(&c.name);
        let Some(closure) = self.closures.iter().rev().find(current) else { return };
        if closure.params.len() != call.args.len() {
            return; // rustc says how many arguments it takes
        }
        let later = &self.declared[closure.declared_at..];
        if let Some(read) = later.iter().find(|d| closure.captures.contains(*d)) {
            self.errors.push(syn::Error::new(
                call.span(),
                format!(
                    "`{name}` reads `{read}`, which is declared again between the closure and this call: relax \
                     inlines the closure here, where `{read}` is the other binding; rename one of them"
                ),
            ));
            return;
        }
        let span = call.span();
        let args: Vec<&Expr> = call.args.iter().collect();
        let body = &closure.body;
        // The parameters' patterns and types (`_` where a parameter has none).
        let (pats, types): (Vec<&Pat>, Vec<TokenStream>) = closure
            .params
            .iter()
            .map(|p| match p {
                Pat::Type(t) => (&*t.pat, t.ty.to_token_stream()),
                p => (p, quote_spanned!(span=> _)),
            })
            .unzip();
        let bind = match (pats.as_slice(), args.as_slice()) {
            ([], []) => TokenStream::new(),
            ([p], [a]) => match &closure.params[0] {
                Pat::Type(_) => {
                    let ty = &types[0];
                    quote_spanned!(span=> let #p: #ty = #a;)
                }
                _ => quote_spanned!(span=> let #p = #a;),
            },
            (ps, as_) => quote_spanned!(span=> let (#(#ps,)*): (#(#types,)*) = (#(#as_,)*);),
        };
        // In parentheses: a block that starts a condition (`while sq(s) > 1.0`) would end it.
        // Patterns that do not fit a `let` (rustc reports them on the closure) stay a call.
        if let Ok(inlined) = syn::parse2::<Expr>(quote_spanned!(span=> ({ #bind #body }))) {
            *e = inlined;
        }
    }
}

impl Inliner {
    /// The closure `stmt` binds (`let name = |params| body;`, not `move`, without `return`), its
    /// body's own calls of closures inlined first.
    fn closure(&mut self, stmt: &mut Stmt) -> Option<Closure> {
        let Stmt::Local(local) = stmt else { return None };
        let Pat::Ident(pi) = &local.pat else { return None };
        let init = local.init.as_mut().filter(|i| i.diverge.is_none())?;
        let Expr::Closure(c) = &mut *init.expr else { return None };
        if pi.by_ref.is_some()
            || pi.subpat.is_some()
            || c.capture.is_some()
            || c.asyncness.is_some()
            || returns(&c.body)
        {
            return None;
        }
        let declared = self.declared.len();
        let params: Vec<Pat> = c.inputs.iter().cloned().collect();
        params.iter().for_each(|p| self.declare(p));
        self.visit_expr_mut(&mut c.body);
        self.declared.truncate(declared);
        let own: Vec<Ident> = params.iter().flat_map(pattern_idents).collect();
        // Every identifier of the body (field and method names too: that can refuse a call, never
        // misread one).
        let mut named = Vec::new();
        token_idents(&c.body.to_token_stream(), &mut named);
        let captures = named.into_iter().filter(|i| !own.contains(i)).collect();
        let body = match &c.output {
            // `|v| -> f64 { … }`: the block as the type says.
            syn::ReturnType::Type(_, ty) => {
                let b = &c.body;
                syn::parse2(quote_spanned!(b.span()=> { let __value: #ty = #b; __value })).ok()?
            }
            syn::ReturnType::Default => (*c.body).clone(),
        };
        self.declared.push(pi.ident.clone());
        Some(Closure { name: pi.ident.clone(), params, body, captures, declared_at: self.declared.len() })
    }

    fn declare(&mut self, pat: &Pat) {
        self.declared.extend(pattern_idents(pat));
    }
}

/// Whether a closure's body returns (from the closure: inlined, from the function), by `return`
/// or `?`.
pub(super) fn returns(body: &Expr) -> bool {
    struct Returns(bool);
    impl Visit<'_> for Returns {
        fn visit_expr_return(&mut self, _: &syn::ExprReturn) {
            self.0 = true;
        }
        fn visit_expr_try(&mut self, _: &syn::ExprTry) {
            self.0 = true;
        }
        fn visit_expr_closure(&mut self, _: &syn::ExprClosure) {}
    }
    let mut r = Returns(false);
    r.visit_expr(body);
    r.0
}
