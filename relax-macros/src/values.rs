//! Passive code on the sweeps on dual numbers (`_hvp`'s): it runs on the values of the active
//! bindings it reads (see [`crate::ir::Stmt::Passive`]), as in the function.

use proc_macro2::{Ident, TokenStream, TokenTree};
use quote::{ToTokens, quote};
use syn::Expr;
use syn::visit_mut::{self, VisitMut};

use crate::ir::ActiveRead;

/// `tokens` (an expression, or statements where `stmts`) as it runs on the values of the active
/// bindings `reads`, in a block. A place it reads in such a binding (`x[i]`, `p.w[j]`) becomes
/// that place's value, `Primal::primal(&x[i])`; a binding it reads whole (or in a macro's
/// tokens) is shadowed by its value first, `let x = Primal::primal(x);`, which copies all of it:
/// done for every read, that would be an array's copy per element in a loop's condition.
pub fn on_values(tokens: &TokenStream, stmts: bool, reads: &[ActiveRead], krate: &syn::Path) -> TokenStream {
    // A reference's values behind a reference, as the code reads it.
    let shadow = |names: &[Ident]| {
        let lets = names.iter().map(|name| {
            let by_ref = reads.iter().any(|r| r.name == *name && r.by_ref).then(|| quote!(&));
            quote!(let #name = #by_ref #krate::dual::Primal::primal(#name);)
        });
        quote!(#(#lets)*)
    };
    let names: Vec<Ident> = reads.iter().map(|r| r.name.clone()).collect();
    let parsed = if stmts {
        syn::parse::Parser::parse2(syn::Block::parse_within, tokens.clone()).map(Code::Stmts)
    } else {
        syn::parse2::<Expr>(tokens.clone()).map(|e| Code::Expr(Box::new(e)))
    };
    let Ok(mut code) = parsed else {
        let shadows = shadow(&names);
        return quote!({ #shadows #tokens });
    };
    let mut whole = Whole { reads: &names, found: Vec::new() };
    code.visit(&mut whole);
    let found = whole.found;
    let by_place: Vec<Ident> = names.iter().filter(|r| !found.contains(r)).cloned().collect();
    code.visit(&mut Places { reads: &by_place, krate });
    let shadows = shadow(&found);
    quote!({ #shadows #code })
}

/// A `match` arm's pattern as it runs on the values of the active bindings `reads` its guard
/// reads: the guard [`on_values`].
pub fn guard_on_values(pattern: &TokenStream, reads: &[ActiveRead], krate: &syn::Path) -> TokenStream {
    if reads.is_empty() {
        return pattern.clone();
    }
    let split = |input: syn::parse::ParseStream| {
        let pat = syn::Pat::parse_multi_with_leading_vert(input)?;
        let _: syn::Token![if] = input.parse()?;
        Ok((pat, input.parse::<TokenStream>()?))
    };
    match syn::parse::Parser::parse2(split, pattern.clone()) {
        Ok((pat, guard)) => {
            let guard = on_values(&guard, false, reads, krate);
            quote!(#pat if #guard)
        }
        _ => pattern.clone(),
    }
}

/// Parsed passive code.
enum Code {
    Expr(Box<Expr>),
    Stmts(Vec<syn::Stmt>),
}

impl Code {
    fn visit(&mut self, v: &mut impl VisitMut) {
        match self {
            Code::Expr(e) => v.visit_expr_mut(e),
            Code::Stmts(stmts) => stmts.iter_mut().for_each(|s| v.visit_stmt_mut(s)),
        }
    }
}

impl ToTokens for Code {
    fn to_tokens(&self, out: &mut TokenStream) {
        match self {
            Code::Expr(e) => e.to_tokens(out),
            Code::Stmts(stmts) => stmts.iter().for_each(|s| s.to_tokens(out)),
        }
    }
}

/// The binding a place expression starts from: `x` of `x[i].f`, when it is one of `reads`.
fn place_root<'a>(e: &Expr, reads: &'a [Ident]) -> Option<&'a Ident> {
    match e {
        Expr::Index(i) => place_root(&i.expr, reads),
        Expr::Field(f) => place_root(&f.base, reads),
        Expr::Paren(p) => place_root(&p.expr, reads),
        Expr::Path(p) if p.qself.is_none() => p.path.get_ident().and_then(|id| reads.iter().find(|r| *r == id)),
        _ => None,
    }
}

/// Visits the indices along place `e` (`i` and `j` of `x[i].f[j]`), which may read anything.
fn visit_indices(v: &mut impl VisitMut, e: &mut Expr) {
    match e {
        Expr::Index(i) => {
            v.visit_expr_mut(&mut i.index);
            visit_indices(v, &mut i.expr);
        }
        Expr::Field(f) => visit_indices(v, &mut f.base),
        Expr::Paren(p) => visit_indices(v, &mut p.expr),
        _ => {}
    }
}

/// Finds the bindings of `reads` that the code reads whole: not as the root of an element or a
/// field, or in tokens it does not parse (a macro's), or that it binds again. (It changes
/// nothing: a `VisitMut`, to share [`Code::visit`] and [`visit_indices`] with [`Places`].)
struct Whole<'a> {
    reads: &'a [Ident],
    found: Vec<Ident>,
}

impl Whole<'_> {
    fn tokens(&mut self, tokens: &TokenStream) {
        for t in tokens.clone() {
            match t {
                TokenTree::Ident(id) => self.note(&id),
                TokenTree::Group(g) => self.tokens(&g.stream()),
                _ => {}
            }
        }
    }

    fn note(&mut self, id: &Ident) {
        if self.reads.contains(id) && !self.found.contains(id) {
            self.found.push(id.clone());
        }
    }
}

impl VisitMut for Whole<'_> {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        match e {
            Expr::Index(_) | Expr::Field(_) if place_root(e, self.reads).is_some() => visit_indices(self, e),
            Expr::Path(p) if p.qself.is_none() => {
                if let Some(id) = p.path.get_ident() {
                    self.note(id);
                }
            }
            Expr::Verbatim(tokens) => self.tokens(tokens),
            _ => visit_mut::visit_expr_mut(self, e),
        }
    }

    fn visit_macro_mut(&mut self, m: &mut syn::Macro) {
        self.tokens(&m.tokens);
    }

    /// A name the code binds again (a closure's parameter, a `let` of its own): its places may be
    /// the new binding's, so they are read as written, after the shadow.
    fn visit_pat_ident_mut(&mut self, p: &mut syn::PatIdent) {
        self.note(&p.ident);
        visit_mut::visit_pat_ident_mut(self, p);
    }
}

/// Replaces each place in a binding of `reads` by its value.
struct Places<'a> {
    reads: &'a [Ident],
    krate: &'a syn::Path,
}

impl VisitMut for Places<'_> {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        if matches!(e, Expr::Index(_) | Expr::Field(_)) && place_root(e, self.reads).is_some() {
            visit_indices(self, e);
            let krate = self.krate;
            *e = syn::parse_quote!(#krate::dual::Primal::primal(&#e));
        } else {
            visit_mut::visit_expr_mut(self, e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::on_values;
    use crate::ir::ActiveRead;
    use quote::{format_ident, quote};

    #[test]
    fn places_are_read_by_value_and_bindings_read_whole_are_shadowed() {
        let krate: syn::Path = syn::parse_quote!(::relax);
        let read = |name, by_ref| ActiveRead { name: format_ident!("{name}"), by_ref };
        let reads = [read("x", false), read("p", false), read("r", true)];
        let expr = |tokens| on_values(&tokens, false, &reads, &krate).to_string();
        assert_eq!(
            expr(quote!(x[i] > p.w[j] && (x[k]).abs() < 1.0)),
            quote!({
                ::relax::dual::Primal::primal(&x[i]) > ::relax::dual::Primal::primal(&p.w[j])
                    && (::relax::dual::Primal::primal(&x[k])).abs() < 1.0
            })
            .to_string()
        );
        // `x` read whole (here in an index): `p` keeps its places.
        assert_eq!(
            expr(quote!(x[0] > p.w[x.len() - 1])),
            quote!({
                let x = ::relax::dual::Primal::primal(x);
                x[0] > ::relax::dual::Primal::primal(&p.w[x.len() - 1])
            })
            .to_string()
        );
        // A closure's parameter of the same name: its place is not `x`'s.
        assert_eq!(
            expr(quote!(g(|x: [f64; 2]| x[0]) > x[1])),
            quote!({
                let x = ::relax::dual::Primal::primal(x);
                g(|x: [f64; 2]| x[0]) > x[1]
            })
            .to_string()
        );
        // A reference read whole: its values behind a reference; by place, by value.
        assert_eq!(
            expr(quote!(total(r) > r[0])),
            quote!({
                let r = &::relax::dual::Primal::primal(r);
                total(r) > r[0]
            })
            .to_string()
        );
        assert_eq!(expr(quote!(r[0])), quote!({ ::relax::dual::Primal::primal(&r[0]) }).to_string());
        let stmts = on_values(&quote!(best = x[i]; debug_assert!(p.b > 0.0);), true, &reads, &krate).to_string();
        assert_eq!(
            stmts,
            quote!({
                let p = ::relax::dual::Primal::primal(p);
                best = ::relax::dual::Primal::primal(&x[i]);
                debug_assert!(p.b > 0.0);
            })
            .to_string()
        );
    }
}
