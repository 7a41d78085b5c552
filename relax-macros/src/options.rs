//! The attribute's arguments: `wrt(a, b)` and `crate = path`.

use proc_macro2::TokenStream;
use syn::Ident;
use syn::parse::Parser;

/// What `#[differentiable(...)]` was given.
pub struct Options {
    /// `wrt(a, b)`: the differentiable parameters, in gradient order.
    pub wrt: Option<Vec<Ident>>,
    /// `crate = path`: where the `relax` crate is (default `::relax`).
    pub krate: syn::Path,
}

pub fn parse(args: TokenStream) -> syn::Result<Options> {
    let mut wrt: Option<Vec<Ident>> = None;
    let mut krate: Option<syn::Path> = None;
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("wrt") {
            if wrt.is_some() {
                return Err(meta.error("`wrt` is given twice: list every parameter in one `wrt(..)`"));
            }
            let mut names = Vec::new();
            meta.parse_nested_meta(|name| match name.path.get_ident() {
                Some(ident) => {
                    if names.iter().any(|n: &Ident| n == ident) {
                        return Err(name.error(format!("`{ident}` is listed twice in `wrt`")));
                    }
                    names.push(ident.clone());
                    Ok(())
                }
                None => Err(name.error("`wrt` takes parameter names: `wrt(w, b)`")),
            })?;
            wrt = Some(names);
            Ok(())
        } else if meta.path.is_ident("crate") {
            krate = Some(meta.value()?.parse()?);
            Ok(())
        } else {
            Err(meta.error("unknown option of #[differentiable]: expected `wrt(a, b, ..)` or `crate = path`"))
        }
    });
    parser.parse2(args)?;
    Ok(Options { wrt, krate: krate.unwrap_or_else(|| syn::parse_quote!(::relax)) })
}
