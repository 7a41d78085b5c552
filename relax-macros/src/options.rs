//! The attribute's arguments: `wrt(a, b)`, `crate = path`, `max_iter = N`, `hvp`, `jacobian`,
//! `relaxed`, `vjp = path`, `jvp = path` and `real = T`.

use proc_macro2::TokenStream;
use syn::Ident;
use syn::parse::Parser;

/// What `#[differentiable(...)]` was given.
#[derive(Clone)]
pub struct Options {
    /// `wrt(a, b)`: the differentiable parameters, in gradient order.
    pub wrt: Option<Vec<Ident>>,
    /// `crate = path`: where the `relax` crate is (default `::relax`).
    pub krate: syn::Path,
    /// `max_iter = N`: how many iterations the storage of a loop without a compile-time bound holds.
    pub max_iter: Option<TokenStream>,
    /// `hvp`: also generate `NAME_hvp` (forward over reverse); where the option is written, for
    /// the errors it causes.
    pub hvp: Option<proc_macro2::Span>,
    /// `jacobian`: a pullback that can run more than once (its closure is `Clone`), and for an
    /// output `[T; N]` of floats also `NAME_jacobian`.
    pub jacobian: bool,
    /// `relaxed`: also generate the relaxed function and its straight-through gradient.
    pub relaxed: bool,
    /// `vjp = path`: a declared pullback; the body is not differentiated.
    pub vjp: Option<syn::Path>,
    /// `jvp = path`: a declared pushforward.
    pub jvp: Option<syn::Path>,
    /// `real = T`: a type parameter of the surrounding `impl` that is a float type.
    pub real: Option<Ident>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            wrt: None,
            krate: syn::parse_quote!(::relax),
            max_iter: None,
            hvp: None,
            jacobian: false,
            relaxed: false,
            vjp: None,
            jvp: None,
            real: None,
        }
    }
}

const KNOWN: &str = "`wrt(a, b, ..)`, `crate = path`, `max_iter = N`, `hvp`, `jacobian`, `relaxed`, `vjp = path`, `jvp = path` or `real = T`";

pub fn parse(args: TokenStream) -> syn::Result<Options> {
    let mut o = Options::default();
    let mut seen: Vec<String> = Vec::new();
    let parser = syn::meta::parser(|meta| {
        let name = meta.path.get_ident().map(ToString::to_string).unwrap_or_default();
        if !name.is_empty() && seen.contains(&name) {
            let hint = if name == "wrt" { "list every parameter in one `wrt(..)`" } else { "give each option once" };
            return Err(meta.error(format!("`{name}` is given twice: {hint}")));
        }
        seen.push(name.clone());
        match name.as_str() {
            "wrt" => {
                let mut names = Vec::new();
                meta.parse_nested_meta(|param| match param.path.get_ident() {
                    Some(ident) => {
                        if names.iter().any(|n: &Ident| n == ident) {
                            return Err(param.error(format!("`{ident}` is listed twice in `wrt`")));
                        }
                        names.push(ident.clone());
                        Ok(())
                    }
                    None => Err(param.error("`wrt` takes parameter names: `wrt(w, b)`")),
                })?;
                o.wrt = Some(names);
            }
            "crate" => o.krate = meta.value()?.parse()?,
            "max_iter" => {
                let value: syn::Expr = meta.value()?.parse()?;
                match &value {
                    syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(_), .. }) | syn::Expr::Path(_) => {}
                    other => {
                        return Err(syn::Error::new_spanned(
                            other,
                            "`max_iter` takes an integer literal or a const: `max_iter = 64`",
                        ));
                    }
                }
                o.max_iter = Some(quote::ToTokens::into_token_stream(value));
            }
            "hvp" => o.hvp = Some(syn::spanned::Spanned::span(&meta.path)),
            "jacobian" => o.jacobian = true,
            "relaxed" => o.relaxed = true,
            "vjp" => o.vjp = Some(meta.value()?.parse()?),
            "jvp" => o.jvp = Some(meta.value()?.parse()?),
            "real" => o.real = Some(meta.value()?.parse()?),
            _ => {
                let shown = quote::ToTokens::to_token_stream(&meta.path).to_string().replace(' ', "");
                return Err(
                    meta.error(format!("unknown option `{shown}` of #[differentiable]: the options are {KNOWN}"))
                );
            }
        }
        Ok(())
    });
    parser.parse2(args)?;
    Ok(o)
}

impl Options {
    /// Whether a declared `path` is itself the function a mode generates (`NAME_vjp`, `NAME_jvp`),
    /// which is then not generated again.
    pub fn names_generated(&self, path: &syn::Path, name: &Ident, mode: &str) -> bool {
        path.segments.last().is_some_and(|s| s.ident == format!("{name}_{mode}"))
    }
}
