//! Functions generic over `T: Real`: unsuffixed float literals and `e as T` casts are rewritten to
//! mean `T`'s value, in the original function and so in everything generated from it.

use quote::quote_spanned;
use syn::visit_mut::VisitMut;
use syn::{Expr, Ident, Lit};

struct Rewrite<'a> {
    real: &'a Ident,
    krate: &'a syn::Path,
}

impl VisitMut for Rewrite<'_> {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        syn::visit_mut::visit_expr_mut(self, expr);
        let (real, krate) = (self.real, self.krate);
        match expr {
            Expr::Lit(lit) => {
                if let Lit::Float(f) = &lit.lit
                    && f.suffix().is_empty()
                {
                    let span = f.span();
                    // `1e10` has the digits `10000000000`: give every repr a point.
                    let digits = f.base10_digits();
                    let point = if digits.contains('.') { "" } else { ".0" };
                    let v64 = syn::LitFloat::new(&format!("{digits}{point}f64"), span);
                    let v32 = syn::LitFloat::new(&format!("{digits}{point}f32"), span);
                    *expr = syn::parse_quote_spanned!(span=> <#real as #krate::Real>::select(#v64, #v32));
                }
            }
            Expr::Cast(cast) => {
                if let syn::Type::Path(p) = &*cast.ty
                    && p.path.is_ident(real)
                {
                    let inner = &cast.expr;
                    let span = cast.as_token.span;
                    *expr = Expr::Verbatim(quote_spanned!(span=> #krate::IntoReal::into_real::<#real>(#inner)));
                }
            }
            _ => {}
        }
    }
}

/// Rewrites `block` in place for the float type parameter `real`.
pub fn rewrite_literals(block: &mut syn::Block, real: &Ident, krate: &syn::Path) {
    Rewrite { real, krate }.visit_block_mut(block);
}

/// Rewrites `expr` (code the lowering writes into the body, such as a fold's `-0.0`) as
/// [`rewrite_literals`] rewrites the body.
pub fn rewrite_expr(expr: &mut Expr, real: &Ident, krate: &syn::Path) {
    Rewrite { real, krate }.visit_expr_mut(expr);
}
