//! The attribute's pipeline: parse the options and the function, analyse the signature, lower the
//! body, generate; errors are collected as values and become `compile_error!`s at the end.

use proc_macro2::TokenStream;
use quote::quote;

use crate::placement::{self, Placement};
use crate::{emit, generic, lower, options, signature};

/// Expands `#[differentiable(args)] item`. Never panics: every problem is a `syn::Error` at its
/// span, emitted beside the original function and stubs of the generated ones.
pub fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let (code, errors) = expand_parts(args, item);
    let errors = errors.into_iter().map(|e| e.to_compile_error());
    quote!(#code #(#errors)*)
}

/// The generated code (the original function, with the generated functions or their stubs) and
/// the errors, apart.
pub fn expand_parts(args: TokenStream, item: TokenStream) -> (TokenStream, Vec<syn::Error>) {
    let func: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            let e = syn::Error::new(e.span(), format!("#[differentiable] goes on a function: {e}"));
            return (item, vec![e]);
        }
    };
    let placement = placement::of(&func, func.sig.receiver().is_some());
    let check = emit::context_check(&func, placement);
    let (code, errors) = expand_function(args, func, placement);
    (quote!(#check #code), errors)
}

/// [`expand_parts`] of a parsed function at `placement`.
pub(crate) fn expand_function(
    args: TokenStream,
    mut func: syn::ItemFn,
    placement: Placement,
) -> (TokenStream, Vec<syn::Error>) {
    let mut errors = Vec::new();
    let options = options::parse(args).unwrap_or_else(|e| {
        errors.push(e);
        options::Options::default()
    });
    let krate = &options.krate;
    if let Some(c) = &func.sig.constness {
        errors.push(syn::Error::new(c.span, "a `const fn` cannot be differentiated: remove `const`"));
    }
    if let Some(a) = &func.sig.asyncness {
        errors.push(syn::Error::new(a.span, "an `async fn` cannot be differentiated"));
    }
    // Callers may use only the generated functions; the original is not dead code then.
    func.attrs.push(syn::parse_quote!(#[allow(dead_code)]));
    let Some(sig) = signature::analyse(&func.sig, &options, &mut errors) else {
        return finish(&func, None, errors, &options);
    };
    if let Some(real) = sig.real_params.first() {
        generic::rewrite_literals(&mut func.block, real, krate);
    }
    if options.vjp.is_some()
        && let Some(slice) = sig.slices().next()
    {
        errors.push(syn::Error::new(
            slice.ident.span(),
            "a declared `vjp =` takes no differentiated slices: pass an array",
        ));
    }
    // The split form runs the body for the value and the declared pullback later: side effects
    // would happen twice, and a pullback cannot keep `&mut` data.
    if options.vjp.is_some() {
        let mutable = sig.params.iter().find(|p| p.mut_ref).map(|p| p.ident.span()).or_else(|| {
            sig.receiver
                .as_ref()
                .filter(|r| matches!(r.kind, syn::ReceiverKind::Reference(_, _, Some(_))))
                .map(|r| r.self_token.span)
        });
        if let Some(span) = mutable {
            errors.push(syn::Error::new(span, "a function with a declared `vjp =` must not take `&mut` data (or `&mut self`): its body and its pullback both run, so side effects (an RNG draw) would happen twice; differentiate the body instead (remove `vjp =`), or pass the data by shared reference"));
        }
    }
    if !errors.is_empty() {
        return finish(&func, Some(&sig), errors, &options);
    }
    if let Some(vjp) = &options.vjp {
        let generated = emit::declared(&func, &sig, &options, vjp);
        return (quote!(#func #generated), Vec::new());
    }
    match lower::lower(&func.block, &sig, &func.sig.generics, &options) {
        Ok(body) => {
            // With hard operations only a relaxation differentiates, the function's own gradient
            // would be zero almost everywhere: it gets none (SPEC), only the smooth forms' stubs.
            let own = if body.hard {
                emit::smooth_stubs(&func, &sig, &options)
            } else {
                emit::generated(&func, &sig, &body, &options, placement)
            };
            let relaxed = match options.relaxed.then(|| emit::relaxed(&func, &sig, &body, &options)) {
                Some(Err(errs)) => return finish(&func, Some(&sig), errs, &options),
                Some(Ok(relaxed)) => Some(relaxed),
                None => None,
            };
            (quote!(#func #own #relaxed), Vec::new())
        }
        Err(errs) => finish(&func, Some(&sig), errs, &options),
    }
}

fn finish(
    func: &syn::ItemFn,
    sig: Option<&signature::Signature>,
    errors: Vec<syn::Error>,
    options: &options::Options,
) -> (TokenStream, Vec<syn::Error>) {
    let stubs = sig.map(|s| emit::stubs(func, s, options));
    (quote!(#func #stubs), errors)
}
