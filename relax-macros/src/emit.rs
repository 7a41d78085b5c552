//! Assembles what the attribute expands to: the original function, its split form
//! `NAME__differentiable` (value and pullback closure, which callers use), `NAME_vjp` and `NAME_grad`;
//! after errors, the original function, stubs with the generated signatures, and the errors.

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote};
use syn::{GenericParam, Ident, ItemFn, Lifetime, Type};

use crate::adjoint::adjoint;
use crate::forward::{Ctx, Mode, forward};
use crate::ir::Body;
use crate::names;
use crate::signature::{ByRef, Signature};

/// The attributes of the original that generated functions carry too.
fn copied_attrs(func: &ItemFn) -> Vec<&syn::Attribute> {
    func.attrs
        .iter()
        .filter(|a| {
            let p = a.path();
            ["cfg", "allow", "warn", "deny", "expect", "inline", "deprecated", "doc"].iter().any(|n| p.is_ident(n))
        })
        .collect()
}

/// Lints a generated body may trip that the user's code does not (unused temporaries, `mut`
/// adjoints a function never writes, a deprecated `NAME_grad` calling the deprecated `NAME_vjp`,
/// clippy's style lints); the original function still reports the user's own.
fn lint_allows() -> TokenStream {
    quote!(#[allow(unused, deprecated, non_snake_case, clippy::all, clippy::pedantic, clippy::nursery)])
}

/// The cotangent type of each parameter position: its gradient type, or `()` for data.
fn cotangent_types(sig: &Signature) -> Vec<TokenStream> {
    sig.params
        .iter()
        .map(|p| match (&p.diff, &p.ty) {
            (Some(ByRef::Yes), Type::Reference(r)) => r.elem.to_token_stream(),
            (Some(_), ty) => ty.to_token_stream(),
            (None, _) => quote!(()),
        })
        .collect()
}

/// `G`: one gradient per differentiated parameter, a single one bare.
fn gradient_type(sig: &Signature, cts: &[TokenStream]) -> TokenStream {
    let g: Vec<&TokenStream> = sig.wrt.iter().map(|i| &cts[*i]).collect();
    if g.len() == 1 { g[0].clone() } else { quote!((#(#g),*)) }
}

/// The parameters as written, without `mut` on their names.
fn plain_params(func: &ItemFn) -> Vec<TokenStream> {
    func.sig
        .inputs
        .iter()
        .map(|a| match a {
            syn::FnArg::Typed(pt) => {
                let mut pt = pt.clone();
                if let syn::Pat::Ident(pi) = &mut *pt.pat {
                    pi.mutability = None;
                }
                pt.into_token_stream()
            }
            other => other.to_token_stream(),
        })
        .collect()
}

struct Parts {
    vis: syn::Visibility,
    attrs: TokenStream,
    name: Ident,
    fwd: Ident,
    generics: syn::Generics,
    params: Vec<TokenStream>,
    arg_names: Vec<Ident>,
    turbofish: TokenStream,
    output: Type,
    cts: Vec<TokenStream>,
    grad: TokenStream,
    dout: Ident,
}

fn parts(func: &ItemFn, sig: &Signature) -> Parts {
    let name = func.sig.ident.clone();
    let attrs = copied_attrs(func).into_iter().map(|a| a.to_token_stream()).collect();
    let generics = func.sig.generics.clone();
    let apit =
        func.sig.inputs.iter().any(|a| matches!(a, syn::FnArg::Typed(pt) if matches!(&*pt.ty, Type::ImplTrait(_))));
    let type_args: Vec<TokenStream> = generics
        .params
        .iter()
        .filter_map(|p| match p {
            GenericParam::Type(t) => Some(t.ident.to_token_stream()),
            GenericParam::Const(c) => Some(c.ident.to_token_stream()),
            GenericParam::Lifetime(_) => None,
        })
        .collect();
    let turbofish = if type_args.is_empty() || apit { TokenStream::new() } else { quote!(::<#(#type_args),*>) };
    let cts = cotangent_types(sig);
    let grad = gradient_type(sig, &cts);
    let arg_names: Vec<Ident> = sig.params.iter().map(|p| p.ident.clone()).collect();
    let dout = if arg_names.iter().any(|a| a == "dout") { format_ident!("__dout") } else { format_ident!("dout") };
    Parts {
        vis: func.vis.clone(),
        attrs,
        fwd: names::split_form(&name),
        name,
        generics,
        params: plain_params(func),
        arg_names,
        turbofish,
        output: sig.output.clone(),
        cts,
        grad,
        dout,
    }
}

/// Replaces every `impl Trait` in a parameter type by a named type parameter, which `use<..>`
/// can list.
struct NameImplTraits {
    added: Vec<GenericParam>,
}

impl syn::visit_mut::VisitMut for NameImplTraits {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        syn::visit_mut::visit_type_mut(self, ty);
        if let Type::ImplTrait(it) = ty {
            let name = format_ident!("__RelaxImpl{}", self.added.len());
            let bounds = &it.bounds;
            self.added.push(syn::parse_quote!(#name: #bounds));
            *ty = syn::parse_quote!(#name);
        }
    }
}

/// The split form's generics and parameters: shared references get named lifetimes, so that the
/// pullback may keep them (`use<..>`) while `&mut` data stays free for the caller; `impl Trait`
/// parameters get names.
fn split_signature(func: &ItemFn) -> (syn::Generics, Vec<TokenStream>, TokenStream) {
    let mut func = func.clone();
    let mut named = NameImplTraits { added: Vec::new() };
    for input in &mut func.sig.inputs {
        if let syn::FnArg::Typed(pt) = input {
            syn::visit_mut::VisitMut::visit_type_mut(&mut named, &mut pt.ty);
        }
    }
    let func = &func;
    let mut generics = func.sig.generics.clone();
    generics.params.extend(named.added);
    // The body runs here, so parameters keep their `mut`.
    let mut params: Vec<TokenStream> = func.sig.inputs.iter().map(ToTokens::to_token_stream).collect();
    let mut added = Vec::new();
    for (k, input) in func.sig.inputs.iter().enumerate() {
        if let syn::FnArg::Typed(pt) = input
            && let Type::Reference(r) = &*pt.ty
            && r.lifetime.is_none()
            && r.mutability.is_none()
        {
            let lt = Lifetime::new(&format!("'__relax_ref{k}"), proc_macro2::Span::call_site());
            let mut pt = pt.clone();
            if let Type::Reference(r) = &mut *pt.ty {
                r.lifetime = Some(lt.clone());
            }
            params[k] = pt.into_token_stream();
            added.push(lt);
        }
    }
    for lt in added.iter().rev() {
        generics.params.insert(0, GenericParam::Lifetime(syn::LifetimeParam::new(lt.clone())));
    }
    let captured = generics.params.iter().map(|p| match p {
        GenericParam::Lifetime(l) => l.lifetime.to_token_stream(),
        GenericParam::Type(t) => t.ident.to_token_stream(),
        GenericParam::Const(c) => c.ident.to_token_stream(),
    });
    let captured = quote!(use<#(#captured),*>);
    (generics, params, captured)
}

/// `NAME_vjp` and `NAME_grad`, which call the split form.
fn public_functions(p: &Parts, sig: &Signature, krate: &syn::Path) -> TokenStream {
    let Parts { vis, attrs, name, fwd, generics, params, arg_names, turbofish, output, grad, dout, .. } = p;
    let (vjp, grad_fn) = (format_ident!("{}_vjp", name), format_ident!("{}_grad", name));
    let where_clause = &generics.where_clause;
    let picks: Vec<TokenStream> = sig
        .wrt
        .iter()
        .map(|i| {
            let i = syn::Index::from(*i);
            quote!(__c.#i)
        })
        .collect();
    let g = if picks.len() == 1 { picks[0].clone() } else { quote!((#(#picks),*)) };
    let allows = lint_allows();
    let vjp_doc = format!(
        " Value and vector-Jacobian product of [`{name}`] (generated by `#[differentiable]`): `{dout}` is the cotangent of the output; the gradients come one per differentiated parameter, in order."
    );
    let grad_fn = sig.scalar_output.then(|| {
        let doc = format!(" Value and gradient of [`{name}`] (generated by `#[differentiable]`).");
        quote! {
            #attrs
            #[doc = #doc]
            #allows
            #vis fn #grad_fn #generics (#(#params),*) -> (#output, #grad) #where_clause {
                #vjp #turbofish (#(#arg_names,)* #krate::num_traits::One::one())
            }
        }
    });
    quote! {
        #attrs
        #[doc = #vjp_doc]
        #allows
        #vis fn #vjp #generics (#(#params,)* #dout: #output) -> (#output, #grad) #where_clause {
            let (__v, __pb) = #fwd #turbofish (#(#arg_names),*);
            let __c = __pb(#dout);
            (__v, #g)
        }
        #grad_fn
    }
}

/// Everything generated for a function that lowered without error.
pub fn generated(func: &ItemFn, sig: &Signature, body: &Body, krate: &syn::Path) -> TokenStream {
    let p = parts(func, sig);
    let (generics, params, captured) = split_signature(func);
    let where_clause = &generics.where_clause;
    let Parts { vis, fwd, output, cts, .. } = &p;
    let mut reads = std::collections::HashMap::new();
    crate::forward::whole_reads(&body.block, &mut reads);
    let ctx =
        Ctx { krate, active: &body.active, mode: Mode::Forward, innermost_loop: None, redirect: &[], reads: &reads };
    // Created inside the pullback from their types, so the closure does not carry them.
    let param_adjoints =
        sig.params.iter().zip(&body.params).zip(cts).filter(|((p, _), _)| p.diff.is_some()).map(|((_, b), ct)| {
            let b = names::binding_adj(*b);
            quote!(let mut #b: #ct = #krate::Tangent::zero_tangent();)
        });
    let fwd_code = forward(&body.block, ctx);
    let ret = names::temp(body.block.result.expect("lowering checked the result"));
    let adj_code = adjoint(&body.block, ctx, Some(quote!(__dout)));
    let cot = sig
        .params
        .iter()
        .zip(&body.params)
        .map(|(p, b)| if p.diff.is_some() { names::binding_adj(*b).into_token_stream() } else { quote!(()) });
    let allows = lint_allows();
    let public = public_functions(&p, sig, krate);
    let cfgs = func.attrs.iter().filter(|a| a.path().is_ident("cfg"));
    quote! {
        #(#cfgs)*
        #[doc(hidden)]
        #allows
        #vis fn #fwd #generics (#(#params),*) -> (#output, impl ::core::ops::FnOnce(#output) -> (#(#cts,)*) + #captured) #where_clause {
            #fwd_code
            (#ret, move |__dout: #output| {
                #(#param_adjoints)*
                #adj_code
                (#(#cot,)*)
            })
        }
        #public
    }
}

/// After errors: signatures whose bodies cannot be reached, so that callers do not cascade into
/// "cannot find function" errors.
pub fn stubs(func: &ItemFn, sig: &Signature, krate: &syn::Path) -> TokenStream {
    let p = parts(func, sig);
    let Parts { vis, fwd, generics, params, output, cts, .. } = &p;
    let where_clause = &generics.where_clause;
    let allows = lint_allows();
    let public = public_functions(&p, sig, krate);
    quote! {
        #[doc(hidden)]
        #allows
        #vis fn #fwd #generics (#(#params),*) -> (#output, impl ::core::ops::FnOnce(#output) -> (#(#cts,)*)) #where_clause {
            let __v: #output = ::core::unimplemented!();
            (__v, move |_: #output| -> (#(#cts,)*) { ::core::unimplemented!() })
        }
        #public
    }
}
