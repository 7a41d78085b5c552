//! Assembles what the attribute expands to: the original function, its split form
//! `NAME__differentiable` (which callers call with `ReturnPullback` for the value and the
//! pullback closure), `NAME_vjp` and `NAME_grad`; after errors, the original function, stubs with
//! the generated signatures, and the errors.
//!
//! The sweeps are written once, in the split form, generic over how they end
//! (`relax_core::tangent::SweepsEnd`): `ReturnPullback` returns the value and the pullback,
//! `ApplyPullback` (`NAME_vjp`) applies the pullback in place (on duals
//! `NAME__hvp_with_option_hvp`, for callers and `NAME_hvp`); `NAME_grad` calls `NAME_vjp`,
//! `NAME_jvp` the hidden `NAME__jvp`, `NAME_jacobian` the split form. That is where `placement`
//! says how to name them (bare beside a free function, `Self::…` beside an associated one) and the
//! pullback takes no slice buffers; elsewhere the split form takes `ReturnPullback` only and each
//! function holds its own copy of the sweeps.
//!
//! A `relaxed` function's hidden forms come a second time as its smooth forms, which relaxed
//! callers' own gradients call (`names::smooth_form`): calls of the hidden forms, or for a function
//! with hard operations stubs that are a compile error where they are instantiated
//! (`smooth_stubs`).

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{GenericParam, Ident, ItemFn, Lifetime, Type};

use crate::adjoint::{Seed, body_adjoint};
use crate::forward::{BodyFacts, Ctx, forward};
use crate::ir::Body;
use crate::options::Options;
use crate::placement::Placement;
use crate::signature::{ByRef, Signature};
use crate::{jvp, names};

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
/// clippy's style lints); the original function still reports the user's own. Clippy's only
/// under `cfg(clippy)`: rustc alone would spend about 2 % of its time on the generated code
/// reading the tool lints' levels (measured on the compile-time crate's 30 functions).
fn lint_allows() -> TokenStream {
    quote! {
        #[allow(unused, deprecated, non_snake_case)]
        #[cfg_attr(clippy, allow(clippy::all, clippy::pedantic, clippy::nursery))]
    }
}

/// The cotangent type of each parameter position: its gradient type, or `()` for data.
fn cotangent_types(sig: &Signature) -> Vec<TokenStream> {
    sig.params
        .iter()
        .map(|p| match (&p.diff, &p.ty) {
            (Some(ByRef::Slice), _) => quote!(()),
            (Some(ByRef::Yes), Type::Reference(r)) => r.elem.to_token_stream(),
            (Some(_), ty) => ty.to_token_stream(),
            (None, _) => quote!(()),
        })
        .collect()
}

/// The positions of `G`: the differentiated parameters but slices, whose gradients go into
/// buffers.
fn gradient_positions(sig: &Signature) -> Vec<usize> {
    sig.wrt.iter().copied().filter(|i| sig.params[*i].diff != Some(ByRef::Slice)).collect()
}

/// `G`: one gradient per differentiated parameter, a single one bare.
fn gradient_type(sig: &Signature, cts: &[TokenStream]) -> TokenStream {
    let g: Vec<&TokenStream> = gradient_positions(sig).into_iter().map(|i| &cts[i]).collect();
    if g.len() == 1 { g[0].clone() } else { quote!((#(#g),*)) }
}

/// The element type of a slice parameter's type `&[E]` (or `&mut [E]`).
fn slice_elem(ty: &Type) -> TokenStream {
    match ty {
        Type::Reference(r) => match &*r.elem {
            Type::Slice(s) => s.elem.to_token_stream(),
            other => other.to_token_stream(),
        },
        other => other.to_token_stream(),
    }
}

/// Each differentiated slice: its name, its element type, and the name of its gradient buffer.
fn slice_buffers(sig: &Signature) -> Vec<(Ident, TokenStream, Ident)> {
    sig.slices()
        .map(|p| {
            let elem = slice_elem(&p.ty);
            let buffer = format_ident!("d_{}", p.ident);
            let buffer =
                if sig.params.iter().any(|q| q.ident == buffer) { format_ident!("__d_{}", p.ident) } else { buffer };
            (p.ident.clone(), elem, buffer)
        })
        .collect()
}

/// What every generated function shares.
struct Parts {
    vis: syn::Visibility,
    attrs: TokenStream,
    /// `#[inline]` for the public generated functions, unless the original has its own `inline`
    /// (which `attrs` copies). Generated functions are inline so that a crate compiles to machine
    /// code only the forms it calls, not all of them: their code generation, most of what the
    /// attribute adds to a build, moves to where they are used.
    inline: TokenStream,
    /// The `cfg`s of the original, which the hidden split form carries.
    cfgs: TokenStream,
    name: Ident,
    fwd: Ident,
    /// The split form's generics and parameters (named lifetimes, named `impl Trait`s).
    split_generics: syn::Generics,
    split_params: Vec<TokenStream>,
    /// What the split form's `use<..>` lists, where it needs one.
    captured: Option<Vec<TokenStream>>,
    /// The public functions' generics and parameters, as written.
    generics: syn::Generics,
    params: Vec<TokenStream>,
    output: Type,
    cts: Vec<TokenStream>,
    grad: TokenStream,
    dout: Ident,
    /// `jacobian`: the split form's pullback is `Clone`, and `NAME_jacobian` is generated.
    jacobian: bool,
    /// `relaxed`: the hidden forms come twice, the second time as the smooth forms
    /// (`names::smooth`) that relaxed callers' own gradients call.
    smooth: bool,
}

fn parts(func: &ItemFn, sig: &Signature, options: &Options) -> Parts {
    let name = func.sig.ident.clone();
    let attrs = copied_attrs(func).into_iter().map(|a| a.to_token_stream()).collect();
    let cts = cotangent_types(sig);
    let grad = gradient_type(sig, &cts);
    let dout =
        if sig.params.iter().any(|p| p.ident == "dout") { format_ident!("__dout") } else { format_ident!("dout") };
    let (split_generics, split_params, captured) = split_signature(func, sig, options);
    let inline = if func.attrs.iter().any(|a| a.path().is_ident("inline")) { quote!() } else { quote!(#[inline]) };
    Parts {
        vis: func.vis.clone(),
        attrs,
        inline,
        cfgs: func.attrs.iter().filter(|a| a.path().is_ident("cfg")).map(ToTokens::to_token_stream).collect(),
        fwd: names::split_form(&name),
        name,
        split_generics,
        split_params,
        captured,
        generics: func.sig.generics.clone(),
        params: func.sig.inputs.iter().map(ToTokens::to_token_stream).collect(),
        output: sig.output.clone(),
        cts,
        grad,
        dout,
        jacobian: options.jacobian,
        smooth: options.relaxed,
    }
}

impl Parts {
    /// The split form's signature, its pullback taking slice buffers of `buffer_elems`.
    fn split_signature<'a>(&'a self, buffer_elems: &'a [&'a TokenStream]) -> SplitSignature<'a> {
        SplitSignature {
            generics: &self.split_generics,
            params: &self.split_params,
            captured: &self.captured,
            output: self.output.to_token_stream(),
            cts: &self.cts,
            buffer_elems,
            reusable: self.jacobian.then(|| quote!(+ ::core::clone::Clone)),
        }
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

/// The split form's generics, parameters and `use<..>`. Its pullback keeps shared references
/// (they get named lifetimes) while `&mut` data must stay free for the caller, which `use<..>`
/// says. But `use<..>` must list every type parameter in scope, and the attribute does not see an
/// `impl`'s: so a function with a receiver (or `real = T`) lists them only when it takes `&mut`
/// data, and otherwise captures everything in scope (Rust 2024's default).
fn split_signature(
    func: &ItemFn,
    sig: &Signature,
    options: &Options,
) -> (syn::Generics, Vec<TokenStream>, Option<Vec<TokenStream>>) {
    let mut func = func.clone();
    let mut named = NameImplTraits { added: Vec::new() };
    for input in &mut func.sig.inputs {
        if let syn::FnArg::Typed(pt) = input {
            syn::visit_mut::VisitMut::visit_type_mut(&mut named, &mut pt.ty);
        }
    }
    let mut generics = func.sig.generics.clone();
    generics.params.extend(named.added);
    let mut params: Vec<TokenStream> = func.sig.inputs.iter().map(ToTokens::to_token_stream).collect();
    let mut added = Vec::new();
    let mut takes_mut = false;
    for (k, input) in func.sig.inputs.iter_mut().enumerate() {
        let lt = Lifetime::new(&format!("'__relax_ref{k}"), proc_macro2::Span::call_site());
        match input {
            syn::FnArg::Typed(pt) => {
                if let Type::Reference(r) = &mut *pt.ty {
                    takes_mut |= r.mutability.is_some();
                    if r.lifetime.is_none() && r.mutability.is_none() {
                        r.lifetime = Some(lt.clone());
                        params[k] = pt.to_token_stream();
                        added.push(lt);
                    }
                }
            }
            // The receiver's lifetime is kept even for `&mut self`: methods of `self` that the
            // function calls may keep a borrow of it in their pullbacks.
            syn::FnArg::Receiver(r) => {
                if let syn::ReceiverKind::Reference(_, lifetime, _) = &mut r.kind
                    && lifetime.is_none()
                {
                    *lifetime = Some(lt.clone());
                    params[k] = r.to_token_stream();
                    added.push(lt);
                }
            }
        }
    }
    for lt in added.iter().rev() {
        generics.params.insert(0, GenericParam::Lifetime(syn::LifetimeParam::new(lt.clone())));
    }
    let in_impl = sig.receiver.is_some() || options.real.is_some();
    let captured = (!in_impl || takes_mut).then(|| {
        generics
            .params
            .iter()
            .map(|p| match p {
                GenericParam::Lifetime(l) => l.lifetime.to_token_stream(),
                GenericParam::Type(t) => t.ident.to_token_stream(),
                GenericParam::Const(c) => c.ident.to_token_stream(),
            })
            .chain(options.real.iter().map(ToTokens::to_token_stream))
            .collect()
    });
    (generics, params, captured)
}

/// `+ use<..>` of the split form's `captured` and `more`, where it needs one.
fn use_bound(captured: &Option<Vec<TokenStream>>, more: Option<&Ident>) -> Option<TokenStream> {
    captured.as_ref().map(|c| quote!(+ use<#(#c,)* #more>))
}

/// The calls the generated functions delegate to (the split form, `NAME_vjp`, the hidden
/// forward-mode form), with the function's own parameters as arguments.
struct Siblings {
    /// The split form `NAME__differentiable` (the sweeps, where the pullback takes no slice
    /// buffers), with its type arguments, called with `args` and the sweeps' end.
    split_fn: TokenStream,
    /// The same for the sweeps on duals, `NAME__hvp_with_option_hvp`.
    hvp_fn: TokenStream,
    /// `NAME_vjp` and `NAME__jvp`, called with `args` and the cotangent or the tangents.
    vjp: TokenStream,
    jvp: TokenStream,
    args: Vec<TokenStream>,
}

impl Siblings {
    /// `None` where the attribute cannot name the hidden forms (see `placement`).
    fn new(func: &ItemFn, sig: &Signature, p: &Parts, placement: Placement) -> Option<Siblings> {
        let prefix = match placement {
            Placement::Module => TokenStream::new(),
            Placement::Impl => quote!(Self::),
            Placement::Unknown => return None,
        };
        // The function's own type and const parameters, explicitly (one may appear in no
        // argument); the lifetimes are inferred, and so are the split form's named `impl Trait`s.
        let own: Vec<TokenStream> = func
            .sig
            .generics
            .params
            .iter()
            .filter_map(|g| match g {
                GenericParam::Lifetime(_) => None,
                GenericParam::Type(t) => Some(t.ident.to_token_stream()),
                GenericParam::Const(c) => Some(c.ident.to_token_stream()),
            })
            .collect();
        let named_impls = p.split_generics.type_params().count() - func.sig.generics.type_params().count();
        let (split_generics, own_generics) = if own.is_empty() {
            (TokenStream::new(), TokenStream::new())
        } else {
            // The sweeps' end is inferred too.
            let inferred = std::iter::repeat_n(quote!(_), named_impls + 1);
            (quote!(::<#(#own,)* #(#inferred),*>), quote!(::<#(#own),*>))
        };
        let (fwd, vjp, jvp) = (&p.fwd, format_ident!("{}_vjp", p.name), names::jvp_form(&p.name));
        let hvp = names::hvp_form(&p.name);
        let args = forwarded_args(sig);
        Some(Siblings {
            split_fn: quote!(#prefix #fwd #split_generics),
            hvp_fn: quote!(#prefix #hvp #split_generics),
            vjp: quote!(#prefix #vjp #own_generics),
            jvp: quote!(#prefix #jvp #own_generics),
            args,
        })
    }

    /// The hidden form `form` (`split_fn`, `hvp_fn`) called with `args` and the sweeps' end: a
    /// smooth form's body.
    fn ended_call(&self, form: &TokenStream) -> TokenStream {
        let args = &self.args;
        quote!(#form(#(#args,)* __end))
    }

    /// `NAME__differentiable(args…, ReturnPullback)`.
    fn split_call(&self, krate: &syn::Path) -> TokenStream {
        let (split_fn, args) = (&self.split_fn, &self.args);
        quote!(#split_fn (#(#args,)* #krate::tangent::ReturnPullback))
    }
}

/// The bodies of the generated functions.
struct Bodies {
    /// The split form's.
    split: SplitForm,
    /// What the other functions evaluate for the value and the pullback: a call of the split form,
    /// or a copy of its body.
    split_call: TokenStream,
    /// `NAME_vjp`'s and `NAME_grad`'s, given `NAME_vjp`'s cotangent parameter or one.
    vjp: Box<dyn Fn(TokenStream) -> TokenStream>,
    /// `NAME_grad`'s as a call of `NAME_vjp` (`None`: `vjp`'s with one).
    grad: Option<TokenStream>,
    /// A declared pullback is itself named `NAME_vjp`: it is not generated again.
    vjp_declared_as_such: bool,
    /// Forward mode; `None` for functions with differentiated slices (SPEC).
    jvp: Option<JvpBodies>,
    /// The smooth split form's body where it calls the split form (otherwise a copy of `split`).
    smooth_split: Option<TokenStream>,
    /// The lanes forms' bodies (`names::lanes_form`), of 2 to [`UNROLLED_ROWS`] lanes in order:
    /// with the `jacobian` option and no differentiated slices.
    lanes: Vec<TokenStream>,
    /// What `NAME_jacobian` evaluates for the value and the pullback of its rows in one sweep, one
    /// lane each, where the rows are few (`jacobian_lanes`): a call of the lanes form, or a copy
    /// of its body.
    jacobian_lanes: Option<TokenStream>,
}

/// The body of the split form `NAME__differentiable`, which callers call with the sweeps' end
/// `ReturnPullback` for the value and the pullback.
#[derive(Clone)]
enum SplitForm {
    /// The sweeps, generic over how they end (`relax_core::tangent::SweepsEnd`), where
    /// `NAME_vjp` calls them too (with `ApplyPullback`).
    Sweeps(TokenStream),
    /// The forward sweep, then the value and the pullback closure, for `ReturnPullback` only.
    Closure(TokenStream),
    /// A lanes form's: the forward sweep, then the value and the pullback of this many
    /// cotangents, for `ReturnPullback` only.
    Lanes(TokenStream, usize),
}

/// The gradient `G` picked out of the per-position cotangents `__c`.
fn picked_gradient(sig: &Signature) -> TokenStream {
    let picks: Vec<TokenStream> = gradient_positions(sig)
        .into_iter()
        .map(|i| {
            let i = syn::Index::from(i);
            quote!(__c.#i)
        })
        .collect();
    if picks.len() == 1 { picks[0].clone() } else { quote!((#(#picks),*)) }
}

/// `NAME_vjp`'s (and `NAME_grad`'s) body around a split body: check and zero the slices'
/// buffers, run the forward sweep and the pullback with `dout`, pick the gradient.
fn vjp_from_split(sig: &Signature, krate: &syn::Path, split: Split) -> Box<dyn Fn(TokenStream) -> TokenStream> {
    let name = sig.name.clone();
    let buffers = slice_buffers(sig);
    let prepare: Vec<TokenStream> = buffers
        .iter()
        .map(|(slice, _, buffer)| {
            let message = format!(
                "relax: `{name}`: the gradient buffer `{buffer}` has length {{}}, the slice `{slice}` {{}}: pass a buffer of the slice's length"
            );
            quote! {
                ::core::assert!(#buffer.len() == #slice.len(), #message, #buffer.len(), #slice.len());
                #buffer.fill(#krate::Tangent::zero_tangent());
            }
        })
        .collect();
    let buffer_names: Vec<Ident> = buffers.into_iter().map(|(_, _, b)| b).collect();
    let g = picked_gradient(sig);
    Box::new(move |dout| {
        let run = split.inline(dout, &buffer_names);
        quote! {
            #(#prepare)*
            let (__v, __c) = #run;
            (__v, #g)
        }
    })
}

/// `NAME_vjp`'s (and `NAME_grad`'s) body as a call of the sweeps that applies the pullback
/// to `dout` where the sweeps end.
fn vjp_from_sweeps(sig: &Signature, krate: &syn::Path, siblings: &Siblings) -> Box<dyn Fn(TokenStream) -> TokenStream> {
    let (sweeps, args, g) = (siblings.split_fn.clone(), siblings.args.clone(), picked_gradient(sig));
    let krate = krate.clone();
    Box::new(move |dout| {
        quote! {
            let (__v, __c) = #sweeps(#(#args,)* #krate::tangent::ApplyPullback(#dout));
            (__v, #g)
        }
    })
}

/// The split form, `NAME_vjp`, `NAME_grad` and forward mode around their bodies.
fn functions(p: &Parts, sig: &Signature, krate: &syn::Path, bodies: &Bodies) -> TokenStream {
    let Parts { vis, attrs, inline, name, fwd, generics, params, output, grad, dout, jacobian, smooth, .. } = p;
    let (vjp, grad_fn) = (format_ident!("{}_vjp", name), format_ident!("{}_grad", name));
    let where_clause = &generics.where_clause;
    let buffers = slice_buffers(sig);
    let buffer_params: Vec<TokenStream> =
        buffers.iter().map(|(_, elem, buffer)| quote!(#buffer: &mut [#elem])).collect();
    let buffer_elems: Vec<&TokenStream> = buffers.iter().map(|(_, e, _)| e).collect();
    let allows = lint_allows();
    let body = &bodies.vjp;
    let vjp_fn = (!bodies.vjp_declared_as_such).then(|| {
        let vjp_doc = format!(
            " Value and vector-Jacobian product of `{name}` (generated by `#[differentiable]`): `{dout}` is the cotangent of the output; the gradients come one per differentiated parameter, in order."
        );
        let vjp_body = body(dout.to_token_stream());
        quote! {
            #attrs
            #[doc = #vjp_doc]
            #inline
            #allows
            #vis fn #vjp #generics (#(#params,)* #dout: #output, #(#buffer_params),*) -> (#output, #grad) #where_clause {
                #vjp_body
            }
        }
    });
    let grad_fn = sig.scalar_output.then(|| {
        let doc = format!(" Value and gradient of `{name}` (generated by `#[differentiable]`).");
        let grad_body = bodies.grad.clone().unwrap_or_else(|| body(quote!(#krate::num_traits::One::one())));
        quote! {
            #attrs
            #[doc = #doc]
            #inline
            #allows
            #vis fn #grad_fn #generics (#(#params,)* #(#buffer_params),*) -> (#output, #grad) #where_clause {
                #grad_body
            }
        }
    });
    let jvp_fns = bodies.jvp.as_ref().map(|jvp| jvp_functions(p, sig, jvp));
    let jacobian_fn =
        jacobian.then(|| jacobian_function(p, sig, krate, bodies).unwrap_or_else(|e| e.to_compile_error()));
    // A parameter struct in `wrt` must derive `Differentiable`: rustc's error at its type, worded
    // by the trait.
    let checks = sig
        .wrt
        .iter()
        .map(|i| &sig.params[*i].ty)
        .filter(|ty| is_struct_shape(ty, &sig.real_params))
        .map(|ty| quote_spanned!(ty.span()=> #krate::tangent::require_differentiable::<#ty, _>();));
    let signature = p.split_signature(&buffer_elems);
    let split_fn =
        split_form_function(p, fwd, &signature, &bodies.split, quote!(#(#checks)*), krate, quote!(#[inline]));
    let smooth_split_fn = smooth.then(|| {
        let body = bodies.smooth_split.clone().map_or_else(|| bodies.split.clone(), SplitForm::Sweeps);
        let smooth = names::split_form(&names::smooth(name));
        split_form_function(p, &smooth, &signature, &body, TokenStream::new(), krate, quote!(#[inline]))
    });
    // The lanes forms, and a smooth function's smooth ones, which are the same. Always inlined:
    // left a call (a function with two callers), its pullback's state went through memory and
    // its captured indices were checked again (the bundle's Jacobian 755 → 1 763 instructions).
    let lanes_fns = bodies.lanes.iter().zip(2..).flat_map(|(body, n)| {
        let form = SplitForm::Lanes(body.clone(), n);
        let names = std::iter::once(name.clone()).chain(smooth.then(|| names::smooth(name)));
        let inline = quote!(#[inline(always)]);
        names
            .map(|f| {
                split_form_function(p, &names::lanes_form(&f, n), &signature, &form, quote!(), krate, inline.clone())
            })
            .collect::<Vec<_>>()
    });
    quote! {
        #split_fn
        #smooth_split_fn
        #(#lanes_fns)*
        #vjp_fn
        #grad_fn
        #jvp_fns
        #jacobian_fn
    }
}

/// What a split form's signature is made of: the generics, parameters and `use<..>` of
/// `split_signature`, the output, the cotangents, the element types of the pullback's slice
/// buffers, and `+ Clone` for a reusable pullback.
struct SplitSignature<'a> {
    generics: &'a syn::Generics,
    params: &'a [TokenStream],
    captured: &'a Option<Vec<TokenStream>>,
    output: TokenStream,
    cts: &'a [TokenStream],
    buffer_elems: &'a [&'a TokenStream],
    reusable: Option<TokenStream>,
}

/// The hidden split form `name` (`NAME__differentiable`, or `NAME__hvp_with_option_hvp` on
/// duals), whose last parameter, of the last type parameter, is how the sweeps end: sweeps are
/// generic over it (`relax_core::tangent::SweepsEnd`); a closure body ignores it (callers pass
/// `ReturnPullback`). `checks` run first.
fn split_form_function(
    p: &Parts,
    name: &Ident,
    sig: &SplitSignature,
    body: &SplitForm,
    checks: TokenStream,
    krate: &syn::Path,
    inline: TokenStream,
) -> TokenStream {
    let SplitSignature { generics, params, captured, output, cts, buffer_elems, reusable } = sig;
    let (vis, cfgs, allows) = (&p.vis, &p.cfgs, lint_allows());
    let end = format_ident!("__RelaxEnd");
    let uses = use_bound(captured, Some(&end));
    let (end_param, ret, body) = match body {
        SplitForm::Sweeps(body) => (
            quote!(#end: #krate::tangent::SweepsEnd<#output, #output, (#(#cts,)*)>),
            quote!(#end::Out<impl ::core::ops::FnOnce(#output) -> (#(#cts,)*) #reusable #uses>),
            body,
        ),
        // The end's type is a parameter all the same, so that a caller's turbofish is the same
        // for both forms.
        SplitForm::Closure(body) => {
            let pullback =
                quote!(impl ::core::ops::FnOnce(#output, #(&mut [#buffer_elems]),*) -> (#(#cts,)*) #reusable #uses);
            (end.to_token_stream(), quote!((#output, #pullback)), body)
        }
        SplitForm::Lanes(body, n) => {
            let pullback = quote!(impl ::core::ops::FnOnce([#output; #n]) -> [(#(#cts,)*); #n] #reusable #uses);
            (end.to_token_stream(), quote!((#output, #pullback)), body)
        }
    };
    // The end's parameter after the function's own, as tokens: parsed into `syn::Generics` and
    // printed back, it cost rustc 7.7 M instructions on the 30 functions of compile_time.sh.
    let own = &generics.params;
    let comma = (!own.empty_or_trailing()).then(|| quote!(,));
    let where_clause = &generics.where_clause;
    quote! {
        #cfgs
        #[doc(hidden)]
        #inline
        #allows
        #vis fn #name <#own #comma #end_param> (#(#params,)* __end: #end) -> #ret #where_clause {
            #checks
            #body
        }
    }
}

/// `NAME_jacobian` pulls back the rows of Jacobians with up to this many rows in one adjoint sweep,
/// one lane per row (or, without the sweeps at hand, one unrolled pullback call per row), and
/// loops over the rows of larger ones.
const UNROLLED_ROWS: usize = 4;

/// The number of rows of `NAME_jacobian` for an output `[T; N]` of floats, `N` as written.
fn jacobian_rows<'a>(output: &'a Type, sig: &Signature) -> Option<&'a syn::Expr> {
    match output {
        Type::Array(a) if crate::signature::is_float_type(&a.elem, &sig.real_params) => Some(&a.len),
        _ => None,
    }
}

/// The number of rows of `NAME_jacobian` where it is written as a literal.
fn literal_rows(rows: &syn::Expr) -> Option<usize> {
    match rows {
        syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(n), .. }) => n.base10_parse::<usize>().ok(),
        _ => None,
    }
}

/// The lanes of `NAME_jacobian`'s one adjoint sweep: its literal number of rows, where the
/// function has a lanes form of that many (`lane_counts`).
fn jacobian_lanes(p: &Parts, sig: &Signature) -> Option<usize> {
    let rows = literal_rows(jacobian_rows(&sig.output, sig)?)?;
    lane_counts(p, sig).find(|n| *n == rows)
}

/// The numbers of lanes of a function's lanes forms (`names::lanes_form`): 2 to [`UNROLLED_ROWS`]
/// with the `jacobian` option, none without it or with differentiated slices.
fn lane_counts(p: &Parts, sig: &Signature) -> impl Iterator<Item = usize> {
    (2..=UNROLLED_ROWS).filter(|_| p.jacobian && sig.slices().next().is_none())
}

/// Lanes forms' bodies that run the pullback of `split` (the split form's body, or a call of it)
/// once per lane, a copy each but the last: for functions whose sweeps are not generated (a
/// declared pullback, stubs).
fn lanes_by_copies(p: &Parts, sig: &Signature, split: &TokenStream) -> Vec<TokenStream> {
    let output = &p.output;
    lane_counts(p, sig)
        .map(|n| {
            let douts = names::lane_douts(n);
            let pulls = douts.iter().enumerate().map(|(i, d)| {
                if i + 1 < n { quote!(::core::clone::Clone::clone(&__pullback)(#d)) } else { quote!(__pullback(#d)) }
            });
            quote!({
                let (__v, __pullback) = #split;
                (__v, move |__dout: [#output; #n]| {
                    let [#(#douts),*] = __dout;
                    [#(#pulls),*]
                })
            })
        })
        .collect()
}

/// `NAME_jacobian`, for an output `[T; N]` of floats: one forward sweep, then the rows. A few rows
/// (`jacobian_lanes`) are pulled back in one adjoint sweep, each statement's adjoint once per
/// row side by side, so that LLVM packs the rows' arithmetic into vector instructions (and
/// branches and loops run once); otherwise one pullback call per row (a clone of the pullback,
/// so the split form's closure must be `Clone`: the `jacobian` option promises that of every
/// function it is given to).
fn jacobian_function(p: &Parts, sig: &Signature, krate: &syn::Path, bodies: &Bodies) -> syn::Result<TokenStream> {
    let Parts { vis, attrs, inline, name, generics, params, output, grad, .. } = p;
    // Other outputs (a scalar, a tuple, a struct, nested arrays) only get the reusable pullback,
    // so that `jacobian` functions can call them.
    let Some(rows) = jacobian_rows(output, sig) else { return Ok(TokenStream::new()) };
    if let Some(slice) = sig.slices().next() {
        return Err(syn::Error::new_spanned(
            &slice.ident,
            "`NAME_jacobian` is not generated for functions with differentiated slices (each row would need its own buffer): pass an array, or remove `jacobian`",
        ));
    }
    let jacobian = format_ident!("{}_jacobian", name);
    let where_clause = &generics.where_clause;
    let allows = lint_allows();
    let picked = picked_gradient(sig);
    let unit = |i: TokenStream| {
        quote! {{
            let mut __e: #output = #krate::Tangent::zero_tangent();
            __e[#i] = #krate::tangent::one_like(&__v[#i]);
            __e
        }}
    };
    let literal = literal_rows(rows);
    let body = match (&bodies.jacobian_lanes, literal) {
        (Some(lanes), Some(n)) => {
            let units = (0..n).map(|i| unit(quote!(#i)));
            let rows: Vec<Ident> = (0..n).map(|lane| names::in_lane(&format_ident!("__c"), lane)).collect();
            quote! {
                let (__v, __pullback) = #lanes;
                let [#(#rows),*] = __pullback([#(#units),*]);
                (__v, [#({ let __c = #rows; #picked }),*])
            }
        }
        // A literal number of rows is unrolled (the last row takes the pullback itself): each
        // row's unit cotangent is then a constant the optimiser folds into that row's adjoint.
        (_, literal) => {
            let split = &bodies.split_call;
            let row = |i: TokenStream, pullback: TokenStream| {
                let e = unit(i);
                quote!({ let __c = #pullback(#e); #picked })
            };
            let cloned = quote!(::core::clone::Clone::clone(&__pullback));
            let rows_code = match literal {
                Some(n) if (1..=UNROLLED_ROWS).contains(&n) => {
                    let each =
                        (0..n).map(|i| row(quote!(#i), if i + 1 < n { cloned.clone() } else { quote!(__pullback) }));
                    quote!(let __rows: [#grad; #rows] = [#(#each),*];)
                }
                _ => {
                    let each = row(quote!(__i), cloned);
                    quote! {
                        let mut __rows: [#grad; #rows] = #krate::Tangent::zero_tangent();
                        for (__i, __row) in __rows.iter_mut().enumerate() {
                            *__row = #each;
                        }
                    }
                }
            };
            quote! {
                let (__v, mut __pullback) = #split;
                #rows_code
                (__v, __rows)
            }
        }
    };
    let doc = format!(
        " Value and Jacobian of `{name}` (generated by `#[differentiable(jacobian)]`): row `i` is the gradient of output component `i`, laid out as `{name}_vjp`'s gradient. One forward sweep, then the pullback of every row."
    );
    Ok(quote! {
        #attrs
        #[doc = #doc]
        #inline
        #allows
        #vis fn #jacobian #generics (#(#params),*) -> (#output, [#grad; #rows]) #where_clause {
            #body
        }
    })
}

/// The forward-mode code around which `NAME_jvp` (tangent `G`) and the hidden `NAME__jvp` (one
/// tangent per parameter position, for callers) differ only in how they bind the tangents.
struct JvpBodies {
    /// `None` where a declared pushforward is itself named `NAME_jvp`.
    public: Option<TokenStream>,
    /// The patterns of the hidden form's tangent parameters, one per parameter position. Separate
    /// parameters rather than one tuple: `NAME_jvp` passes its tangent's parts on without
    /// building a new tuple, which LLVM copied (the 8×8 layer's 512-byte tangent, `memcpy`'d on
    /// every call from the caller's memory).
    patterns: Vec<TokenStream>,
    hidden: TokenStream,
    /// The smooth form's body where it calls the hidden form, with the tangents
    /// `smooth_tangents` (otherwise a copy of `hidden`).
    smooth_call: Option<TokenStream>,
}

/// The tangent parameters of a smooth forward-mode form that calls the hidden one.
fn smooth_tangents(sig: &Signature) -> Vec<Ident> {
    (0..sig.params.len()).map(|k| format_ident!("__smooth_tangent{}", k)).collect()
}

/// `NAME_jvp` and the hidden form callers use, `NAME__jvp`.
fn jvp_functions(p: &Parts, sig: &Signature, bodies: &JvpBodies) -> TokenStream {
    let Parts { vis, attrs, inline, cfgs, name, generics, params, output, cts, grad, smooth, .. } = p;
    let where_clause = &generics.where_clause;
    let (public, hidden) = (format_ident!("{}_jvp", name), names::jvp_form(name));
    let tangent = jvp_tangent_name(sig);
    let (public_body, hidden_body, patterns) = (&bodies.public, &bodies.hidden, &bodies.patterns);
    let allows = lint_allows();
    let doc = format!(
        " Value and Jacobian-vector product of `{name}` (generated by `#[differentiable]`): `{tangent}` holds one tangent per differentiated parameter, in order; the result is the value and the output's tangent."
    );
    let public = public_body.as_ref().map(|body| {
        quote! {
            #attrs
            #[doc = #doc]
            #inline
            #allows
            #vis fn #public #generics (#(#params,)* #tangent: #grad) -> (#output, #output) #where_clause {
                #body
            }
        }
    });
    let smooth = smooth.then(|| {
        let (patterns, body) = match &bodies.smooth_call {
            Some(call) => (smooth_tangents(sig).iter().map(ToTokens::to_token_stream).collect(), call),
            None => (patterns.clone(), hidden_body),
        };
        let smooth = names::jvp_form(&names::smooth(name));
        quote! {
            #cfgs
            #[doc(hidden)]
            #[inline]
            #allows
            #vis fn #smooth #generics (#(#params,)* #(#patterns: #cts),*) -> (#output, #output) #where_clause {
                #body
            }
        }
    });
    quote! {
        #public
        #cfgs
        #[doc(hidden)]
        #[inline]
        #allows
        #vis fn #hidden #generics (#(#params,)* #(#patterns: #cts),*) -> (#output, #output) #where_clause {
            #hidden_body
        }
        #smooth
    }
}

/// `NAME_jvp`'s body as a call of `NAME__jvp`: the tangent `G` spread over the parameter
/// positions, a zero for the other floats and `()` for data.
fn jvp_from_hidden(sig: &Signature, krate: &syn::Path, siblings: &Siblings) -> TokenStream {
    let tangent = jvp_tangent_name(sig);
    let positions = gradient_positions(sig);
    let tangents = sig.params.iter().enumerate().map(|(i, param)| match positions.iter().position(|j| *j == i) {
        Some(k) => gradient_part(&tangent, k, positions.len() == 1),
        None if matches!(param.diff, None | Some(ByRef::Slice)) => quote!(()),
        None => quote!(#krate::Tangent::zero_tangent()),
    });
    let (jvp, args) = (&siblings.jvp, &siblings.args);
    quote!(#jvp(#(#args,)* #(#tangents),*))
}

/// The name of `NAME_jvp`'s tangent parameter.
fn jvp_tangent_name(sig: &Signature) -> Ident {
    if sig.params.iter().any(|p| p.ident == "tangent") { format_ident!("__tangent") } else { format_ident!("tangent") }
}

/// Everything generated for a function that lowered without error, at `placement` (see
/// `placement::of`).
pub fn generated(func: &ItemFn, sig: &Signature, body: &Body, options: &Options, placement: Placement) -> TokenStream {
    let krate = &options.krate;
    let p = parts(func, sig, options);
    let facts = BodyFacts::of(body, sig);
    let ctx = Ctx { reusable_pullbacks: options.jacobian, ..facts.ctx(krate, &body.active) };
    let split = split_body(sig, body, ctx, &sig.output.to_token_stream(), &p.cts);
    let siblings = Siblings::new(func, sig, &p, placement);
    let jvp = sig.slices().next().is_none().then(|| jvp_bodies(sig, body, &facts, options, siblings.as_ref()));
    let split_call = siblings.as_ref().map_or_else(|| split.closure(), |s| s.split_call(krate));
    // The split form is the sweeps, generic over their end, where `_vjp` can name it and the
    // pullback takes no slice buffers; elsewhere it returns the pullback, and `_vjp` runs its own
    // copy of the sweeps.
    let (split_form, vjp) = match siblings.as_ref().filter(|_| sig.slices().next().is_none()) {
        // A residual of the softmax family (an array of probabilities) moved into the pullback's
        // state is one more pass over memory, and one more array in the cache: `_vjp`, whose
        // pullback runs at once, runs its own copy of the sweeps, which reads the residual where
        // the forward sweep left it (the soft-argmax readout: 206 → 54 L1 misses per call).
        Some(_) if keeps_residual(&body.block) => {
            (SplitForm::Sweeps(split.ending()), vjp_from_split(sig, krate, split))
        }
        Some(s) => (SplitForm::Sweeps(split.ending()), vjp_from_sweeps(sig, krate, s)),
        None => (SplitForm::Closure(split.closure()), vjp_from_split(sig, krate, split)),
    };
    let grad = siblings.as_ref().map(|s| {
        let (vjp, args, one) = (&s.vjp, &s.args, quote!(#krate::num_traits::One::one()));
        let buffers = slice_buffers(sig).into_iter().map(|(_, _, buffer)| buffer);
        quote!(#vjp(#(#args,)* #one, #(#buffers),*))
    });
    let smooth_split = siblings.as_ref().map(|s| s.ended_call(&s.split_fn));
    let lanes: Vec<TokenStream> = lane_counts(&p, sig)
        .map(|lanes| split_body(sig, body, Ctx { lanes, ..ctx }, &sig.output.to_token_stream(), &p.cts).lanes_closure())
        .collect();
    let jacobian_lanes = jacobian_lanes(&p, sig).map(|n| match siblings.as_ref() {
        Some(s) => names::retarget(&s.split_call(krate), &names::lanes_suffix(n)),
        None => lanes[n - 2].clone(),
    });
    let bodies = Bodies {
        split: split_form,
        split_call,
        vjp,
        grad,
        vjp_declared_as_such: false,
        jvp,
        smooth_split,
        lanes,
        jacobian_lanes,
    };
    let hvp = options.hvp.is_some().then(|| match sig.slices().next() {
        Some(slice) => syn::Error::new_spanned(
            &slice.ident,
            "`hvp` is not generated for functions with differentiated slices: pass an array",
        )
        .to_compile_error(),
        None => hvp_functions(func, &p, sig, body, options, ctx, siblings.as_ref()),
    });
    let split_fn = siblings.as_ref().map(|s| &s.split_fn);
    let storage = storage_bytes(func, sig, body, &p, split_fn, &bodies.split_call, krate);
    let functions = functions(&p, sig, krate, &bodies);
    quote!(#functions #hvp #storage)
}

/// Whether `block` (at any depth) keeps a rule's residual for the adjoint.
fn keeps_residual(block: &crate::ir::Block) -> bool {
    use crate::ir::{Op, Stmt};
    block.any(&|s| matches!(s, Stmt::Compute { op: Op::Rule { residual: Some(r), .. }, .. } if r.computed_here()))
}

/// Whether a loop of `block` (at any depth) stores values per iteration.
fn stores_per_iteration(block: &crate::ir::Block) -> bool {
    block.any(&|s| matches!(s, crate::ir::Stmt::Loop(l) if crate::forward::has_storage(l)))
}

/// Every reference of a type made `&'static`; `ok` turns false on anything a `const` cannot
/// name (another lifetime, `impl Trait`).
struct StaticRefs {
    ok: bool,
}

impl syn::visit_mut::VisitMut for StaticRefs {
    fn visit_type_reference_mut(&mut self, r: &mut syn::TypeReference) {
        r.lifetime = Some(Lifetime::new("'static", proc_macro2::Span::call_site()));
        syn::visit_mut::visit_type_mut(self, &mut r.elem);
    }
    fn visit_lifetime_mut(&mut self, l: &mut Lifetime) {
        self.ok &= l.ident == "static";
    }
    fn visit_type_mut(&mut self, ty: &mut Type) {
        self.ok &= !matches!(ty, Type::ImplTrait(_) | Type::Infer(_));
        syn::visit_mut::visit_type_mut(self, ty);
    }
}

/// `NAME_STORAGE_BYTES`, for a function whose adjoint stores per-iteration values: the size of
/// the state its pullback keeps between the sweeps. The size is the pullback closure's type's,
/// which only rustc knows: the `const` takes it from the split form's function item `split_fn`
/// ending with `ReturnPullback`, where the attribute can name it (cheaper for rustc than a
/// closure), else from a closure around `split_call`, a copy of the split form's body (never
/// called), through `tangent::pullback_bytes`. A function with generic parameters or a receiver
/// gets a `const fn NAME_storage_bytes::<…>()` instead: a `const` cannot be generic, and in an
/// `impl` with a lifetime `&'static Self` is well-formed only under `Self: 'static`, a bound a
/// function may state (a closure may be made, not called, in a `const fn`; a method's split form
/// is named, a closure cannot take `self`). Functions of more than 16 parameters get none
/// (`tangent::SplitForm` takes up to 16).
fn storage_bytes(
    func: &ItemFn,
    sig: &Signature,
    body: &Body,
    p: &Parts,
    split_fn: Option<&TokenStream>,
    split_call: &TokenStream,
    krate: &syn::Path,
) -> Option<TokenStream> {
    let method = sig.receiver.is_some();
    if !stores_per_iteration(&body.block) || (method && split_fn.is_none()) || func.sig.inputs.len() > 16 {
        return None;
    }
    let mut params = Vec::new();
    let mut types = Vec::new();
    for input in &func.sig.inputs {
        let (pat, mut ty) = match input {
            syn::FnArg::Typed(pt) => (pt.pat.to_token_stream(), (*pt.ty).clone()),
            syn::FnArg::Receiver(r) => (quote!(self), receiver_type(r)),
        };
        let mut statics = StaticRefs { ok: true };
        syn::visit_mut::VisitMut::visit_type_mut(&mut statics, &mut ty);
        if !statics.ok {
            return None;
        }
        params.push(quote!(#pat: #ty));
        types.push(ty);
    }
    let (vis, cfgs, name) = (&p.vis, &p.cfgs, &p.name);
    let mut doc = format!(
        " The bytes `{name}_grad` and `{name}_vjp` keep between their forward and adjoint sweeps (generated by `#[differentiable]`, because a loop of `{name}` stores values per iteration): every such loop's storage, its bound times what one iteration stores, and the values the adjoint reads back. `{name}_grad`'s stack frame holds them on top of what `{name}` needs; a loop nested in a stored one adds its own storage, once, while the adjoint runs."
    );
    let allows = lint_allows();
    let split = split_fn
        .map_or_else(|| quote!(&|#(#params,)* _: #krate::tangent::ReturnPullback| { #split_call }), |f| quote!(&#f));
    let bytes = quote!(#krate::tangent::pullback_bytes::<_, (#(#types,)*), _, _>(#split));
    if method || !func.sig.generics.params.is_empty() {
        let function = format_ident!("{}_storage_bytes", name, span = name.span());
        // The parameters' references are `&'static` (above), so each type parameter is `'static`.
        let generics = &func.sig.generics;
        let statics = generics.type_params().map(|t| &t.ident);
        let receiver = method.then(|| quote!(Self: 'static,));
        let predicates = generics.where_clause.as_ref().map(|w| &w.predicates);
        let where_clause = quote!(where #receiver #(#statics: 'static,)* #predicates);
        doc.push_str(&format!(
            " A `const fn` (a `const` cannot be generic, nor state `Self: 'static`): `{function}::<…>()` is the number for one choice of the generic parameters, usable where a `const` is."
        ));
        return Some(quote! {
            #cfgs
            #[doc = #doc]
            #allows
            #vis const fn #function #generics () -> usize #where_clause { #bytes }
        });
    }
    let konst = format_ident!("{}_STORAGE_BYTES", name.to_string().to_uppercase(), span = name.span());
    Some(quote! {
        #cfgs
        #[doc = #doc]
        #allows
        #vis const #konst: usize = #bytes;
    })
}

/// The type a receiver gives `self`: `&Self`, `&mut Self`, `Self`, or the one written.
fn receiver_type(r: &syn::Receiver) -> Type {
    match &r.kind {
        syn::ReceiverKind::Reference(_, _, Some(_)) => syn::parse_quote!(&mut Self),
        syn::ReceiverKind::Reference(..) => syn::parse_quote!(&Self),
        syn::ReceiverKind::Typed(_, ty) => (**ty).clone(),
        _ => syn::parse_quote!(Self),
    }
}

/// The split form's body in its parts, so that `NAME_vjp` and `NAME_grad` can run the pullback's
/// code in place rather than build and call the closure (whose captured state, a fused loop's
/// Jacobian for one, would be moved in and out of it).
#[derive(Clone)]
struct Split {
    /// The forward sweep.
    forward: TokenStream,
    /// The output's temporary, after the forward sweep.
    value: Ident,
    /// The output's type, which `__dout` has.
    output: TokenStream,
    /// The pullback's parameters after `__dout`: each differentiated slice's adjoint, a buffer
    /// `__bN: &mut [E]`.
    buffers: Vec<(Ident, TokenStream)>,
    /// The pullback's body: from `__dout` and the buffers to the per-position cotangents (with
    /// several lanes, from each lane's `__dout_l{lane}` to an array of them).
    pullback: TokenStream,
    /// The cotangents pulled back side by side (`Ctx::lanes`).
    lanes: usize,
}

impl Split {
    /// `{ forward; (value, move |__dout, buffers…| pullback) }`, the split form's body. The
    /// closure is `#[inline(always)]`: called once (a caller's adjoint) LLVM inlines it anyway,
    /// but called once per row (`NAME_jacobian`) it would otherwise stay a call, and its
    /// caller's stored values would go through memory.
    fn closure(&self) -> TokenStream {
        let Split { forward, value, output, buffers, pullback, .. } = self;
        let buffers = buffers.iter().map(|(b, elem)| quote!(#b: &mut [#elem]));
        quote!({
            #forward
            (#value, #[inline(always)] move |__dout: #output, #(#buffers),*| { #pullback })
        })
    }

    /// `{ forward; (value, move |__dout: [output; lanes]| pullback) }`, a lanes form's body, for a
    /// split body of several lanes (whose pullback reads `__dout_l{lane}`).
    fn lanes_closure(&self) -> TokenStream {
        let Split { forward, value, output, pullback, .. } = self;
        let douts = names::lane_douts(self.lanes);
        let n = self.lanes;
        quote!({
            #forward
            (#value, #[inline(always)] move |__dout: [#output; #n]| {
                let [#(#douts),*] = __dout;
                #pullback
            })
        })
    }

    /// `{ forward; __end.end(value, move |__dout| pullback) }`, the body of the sweeps (for a
    /// pullback without buffers).
    fn ending(&self) -> TokenStream {
        let Split { forward, value, output, pullback, .. } = self;
        quote!({
            #forward
            __end.end(#value, #[inline(always)] move |__dout: #output| { #pullback })
        })
    }

    /// `(value, cotangents)` for the cotangent `dout` and the caller's `buffer_args`, the pullback
    /// run in place. Both are bound before the forward sweep, whose bindings could shadow them.
    fn inline(&self, dout: TokenStream, buffer_args: &[Ident]) -> TokenStream {
        let Split { forward, value, output, buffers, pullback, .. } = self;
        let buffers = buffers.iter().zip(buffer_args).map(|((b, elem), arg)| quote!(let #b: &mut [#elem] = #arg;));
        quote!({
            let __dout: #output = #dout;
            #(#buffers)*
            #forward
            let __c = { #pullback };
            (#value, __c)
        })
    }
}

/// Part `k` of `whole`, a value laid out as `G` (one entry per differentiated parameter): `whole`
/// itself when it has one entry (`single`).
fn gradient_part(whole: &dyn ToTokens, k: usize, single: bool) -> TokenStream {
    if single {
        whole.to_token_stream()
    } else {
        let k = syn::Index::from(k);
        quote!(#whole.#k)
    }
}

/// The split form's body: the forward sweep, then the value and the pullback (which takes the
/// output's cotangent, of type `output`, and returns the cotangents `cts`).
fn split_body(sig: &Signature, body: &Body, ctx: Ctx, output: &TokenStream, cts: &[TokenStream]) -> Split {
    let krate = ctx.krate;
    let mut assigned = std::collections::HashSet::new();
    crate::sole::assigned_bindings(&body.block, ctx.sole, &mut assigned);
    let lanes = ctx.each_lane();
    // Created inside the pullback from their types, so the closure does not carry them.
    let param_adjoints: Vec<TokenStream> = lanes
        .iter()
        .flat_map(|lane| {
            sig.params
                .iter()
                .zip(&body.params)
                .zip(cts)
                .filter(|((p, _), _)| p.diff.is_some_and(|d| d != ByRef::Slice))
                .map(|((_, b), ct)| {
                    let zero = if assigned.contains(b) { quote!(zero_to_overwrite) } else { quote!(zero_tangent) };
                    let b = lane.binding_adj(*b);
                    quote!(let mut #b: #ct = #krate::Tangent::#zero();)
                })
        })
        .collect();
    // A slice's adjoint is the caller's buffer, which the pullback takes.
    let slices: Vec<_> = sig
        .wrt
        .iter()
        .map(|i| (&sig.params[*i], body.params[*i]))
        .filter(|(p, _)| p.diff == Some(ByRef::Slice))
        .collect();
    let buffers = slices.iter().map(|(p, b)| (names::binding_adj(*b), slice_elem(&p.ty))).collect();
    let forward = forward(&body.block, ctx);
    let value = names::temp(body.block.result.expect("lowering checked the result"));
    let buffer_bindings: Vec<_> = slices.iter().map(|(_, b)| *b).collect();
    let adj_code = body_adjoint(&body.block, ctx, Some(Seed::Dout), &buffer_bindings);
    let cotangents = lanes.iter().map(|lane| {
        let cot = sig.params.iter().zip(&body.params).map(|(p, b)| match p.diff {
            Some(ByRef::Slice) | None => quote!(()),
            // A struct's data fields get no gradient, whatever flowed into them.
            Some(_) if is_struct_shape(&p.ty, &sig.real_params) => {
                let b = lane.binding_adj(*b);
                quote!(#krate::tangent::differentiated_part(#b))
            }
            Some(_) => lane.binding_adj(*b).into_token_stream(),
        });
        quote!((#(#cot,)*))
    });
    // Several lanes return the cotangents of each.
    let cotangents = if lanes.len() == 1 { quote!(#(#cotangents)*) } else { quote!([#(#cotangents),*]) };
    // The pullback counts the loops' iterations down in its own locals: counted down in the
    // closure's captured state, every iteration stored the counter to memory.
    let counters = body.block.stmts.iter().filter_map(|s| match s {
        crate::ir::Stmt::Loop(l) if crate::forward::has_counter(l) => {
            let k = names::counter(l.id);
            Some(quote!(let mut #k = #k;))
        }
        _ => None,
    });
    let pullback = quote! {
        #(#param_adjoints)*
        #(#counters)*
        #adj_code
        #cotangents
    };
    Split { forward, value, output: output.clone(), buffers, pullback, lanes: ctx.lanes }
}

/// `NAME_hvp` (value, gradient and Hessian-vector product, forward over reverse: the reverse
/// sweeps on dual numbers seeded with `v`) and the hidden `NAME__hvp_with_option_hvp`, the split
/// form on duals that callers with `hvp` use.
fn hvp_functions(
    func: &ItemFn,
    p: &Parts,
    sig: &Signature,
    body: &Body,
    options: &Options,
    ctx: Ctx,
    siblings: Option<&Siblings>,
) -> TokenStream {
    let krate = &options.krate;
    let dual_split = match DualSplit::of(func, p, sig, options) {
        Ok(d) => d,
        Err(e) => return e.to_compile_error(),
    };
    let DualSplit { dual, output, cts, .. } = &dual_split;
    // The sweeps on duals run their pullback once, whatever `jacobian` asks of the gradient's.
    let ctx = Ctx { dual: Some(dual), reusable_pullbacks: false, ..ctx };
    let split = split_body(sig, body, ctx, output, cts);
    let name = &p.name;
    let signature = dual_split.signature();
    let one = quote!(#krate::num_traits::One::one());
    // As for the gradient, the sweeps on duals are written once where they can be named. Always
    // inlined: left a call, they took `NAME_hvp`'s seeded dual arrays by value (the network's
    // `_hvp` +11 % instructions).
    let (split_form, inline, run) = match siblings {
        Some(s) => {
            let (sweeps, args) = (&s.hvp_fn, &s.args);
            let run = quote!(#sweeps(#(#args,)* #krate::tangent::ApplyPullback(#one)));
            (SplitForm::Sweeps(split.ending()), quote!(#[inline(always)]), run)
        }
        None => (SplitForm::Closure(split.closure()), quote!(#[inline]), split.inline(one, &[])),
    };
    let hidden =
        split_form_function(p, &names::hvp_form(name), &signature, &split_form, quote!(), krate, inline.clone());
    let smooth = p.smooth.then(|| {
        let body = siblings.map_or_else(|| split_form.clone(), |s| SplitForm::Sweeps(s.ended_call(&s.hvp_fn)));
        let smooth = names::hvp_form(&names::smooth(name));
        split_form_function(p, &smooth, &signature, &body, quote!(), krate, inline)
    });
    // `NAME_hvp`: seed the differentiated parameters, run, split the gradient.
    let v = hvp_direction_name(sig);
    let single = sig.wrt.len() == 1;
    let seeds = sig.wrt.iter().enumerate().map(|(k, i)| {
        let param = &sig.params[*i];
        let (x, dir) = (&param.ident, gradient_part(&v, k, single));
        match (&param.diff, &param.ty) {
            (Some(ByRef::Yes), Type::Reference(r)) => {
                let seed = seed_of(&r.elem, sig, krate, &r.elem);
                let seeded = format_ident!("__relax_seeded_{}", x);
                quote! {
                    let #seeded = #seed::seed(*#x, #dir);
                    let #x = &#seeded;
                }
            }
            (_, ty) => {
                let seed = seed_of(ty, sig, krate, ty);
                quote!(let #x = #seed::seed(#x, #dir);)
            }
        }
    });
    let splits: Vec<(Ident, Ident, TokenStream)> = sig
        .wrt
        .iter()
        .map(|i| {
            let idx = syn::Index::from(*i);
            let seed = seed_of(&sig.params[*i].ty, sig, krate, &p.cts[*i]);
            (format_ident!("__g{}", i), format_ident!("__hv{}", i), quote!(#seed::split(__c.#idx)))
        })
        .collect();
    let split_lets = splits.iter().map(|(g, hv, e)| quote!(let (#g, #hv) = #e;));
    let (gs, hvs): (Vec<&Ident>, Vec<&Ident>) = splits.iter().map(|(g, hv, _)| (g, hv)).unzip();
    let (g, hv) = if single { (quote!(#(#gs)*), quote!(#(#hvs)*)) } else { (quote!((#(#gs),*)), quote!((#(#hvs),*))) };
    // A Hessian is that of a scalar function: any other output gets the form on duals only, for
    // the functions with `hvp` that call it.
    let public = sig.scalar_output.then(|| {
        hvp_public(
            p,
            sig,
            quote! {
                #(#seeds)*
                let (__value, __c) = #run;
                #(#split_lets)*
                (__value.v, #g, #hv)
            },
        )
    });
    quote!(#hidden #smooth #public)
}

/// `<ty as relax::dual::SeedStruct>` when `shape` is a parameter struct or an array of them, at
/// its span: what `NAME_hvp` names a struct's dual form through, so that a struct without one is
/// an error there (through `Seed`, rustc would take the impl for floats and go on to a cascade
/// over `Dual<Struct>`).
fn struct_seed(shape: &Type, sig: &Signature, krate: &syn::Path, ty: &dyn ToTokens) -> Option<TokenStream> {
    is_struct_shape(shape, &sig.real_params).then(|| quote_spanned!(shape.span()=> <#ty as #krate::dual::SeedStruct>))
}

/// `<ty as Trait>` for the trait `NAME_hvp` seeds and splits a value of type `shape` through.
fn seed_of(shape: &Type, sig: &Signature, krate: &syn::Path, ty: &dyn ToTokens) -> TokenStream {
    struct_seed(shape, sig, krate, ty).unwrap_or_else(|| quote!(<#ty as #krate::dual::Seed>))
}

/// The name of `NAME_hvp`'s direction parameter.
fn hvp_direction_name(sig: &Signature) -> Ident {
    if sig.params.iter().any(|p| p.ident == "v") { format_ident!("__v_direction") } else { format_ident!("v") }
}

/// `NAME_hvp` with the body `body` (of the parameters and the direction).
fn hvp_public(p: &Parts, sig: &Signature, body: TokenStream) -> TokenStream {
    let Parts { vis, attrs, inline, name, generics, params, output, grad, .. } = p;
    let (where_clause, allows, v) = (&generics.where_clause, lint_allows(), hvp_direction_name(sig));
    let public = format_ident!("{}_hvp", name);
    let doc = format!(
        " Value, gradient and Hessian-vector product of `{name}` along `{v}` (generated by `#[differentiable(hvp)]`, forward over reverse): `{v}` holds one direction per differentiated parameter."
    );
    quote! {
        #attrs
        #[doc = #doc]
        #inline
        #allows
        #vis fn #public #generics (#(#params,)* #v: #grad) -> (#output, #grad, #grad) #where_clause {
            #body
        }
    }
}

/// Second order through a declared pullback (`vjp = path` with `hvp`): forward mode through the
/// pullback, which must be `#[differentiable]` itself (SPEC); otherwise rustc's "cannot find
/// function `PATH__jvp`" is the error, at the option `hvp`. `NAME_hvp` is the pullback's tangent
/// at `dout = 1` along `v`; the hidden `NAME__hvp_with_option_hvp`, which callers with `hvp` call
/// on duals, returns the value with its tangent along the parameters' tangents, and a pullback on
/// duals: the declared pullback's gradient with its tangent along the parameters' tangents, plus
/// the pullback of the cotangent's tangent.
fn declared_hvp(
    func: &ItemFn,
    p: &Parts,
    sig: &Signature,
    options: &Options,
    vjp: &syn::Path,
    at: proc_macro2::Span,
) -> TokenStream {
    let krate = &options.krate;
    if !sig.scalar_output {
        return syn::Error::new_spanned(
            &sig.output,
            "`hvp` with a declared derivative needs a scalar output (f32, f64 or a `T: Real`): its second order is the forward mode of the declared pullback of that scalar",
        )
        .to_compile_error();
    }
    let dual_split = match DualSplit::of(func, p, sig, options) {
        Ok(d) => d,
        Err(e) => return e.to_compile_error(),
    };
    let mut pushforward = vjp.clone();
    if let Some(last) = pushforward.segments.last_mut() {
        last.ident = names::jvp_form(&Ident::new(&last.ident.to_string(), at));
    }
    // A zero of whatever the pullback's forward mode takes at a position (`()` for its data).
    let zero = quote!(#krate::tangent::position(#krate::tangent::NoTangent));
    let (args, one) = (forwarded_args(sig), quote!(#krate::num_traits::One::one()));
    let single = sig.wrt.len() == 1;
    // The pullback's tangents, one per parameter position: the differentiated parameters' by `of`
    // (their `k`-th), a zero elsewhere (`()` where the pullback takes data).
    let tangents = |of: &dyn Fn(usize) -> TokenStream| -> Vec<TokenStream> {
        (0..sig.params.len()).map(|i| sig.wrt.iter().position(|j| *j == i).map_or_else(|| zero.clone(), of)).collect()
    };
    let v = hvp_direction_name(sig);
    let directions = tangents(&|k| gradient_part(&v, k, single));
    let public = hvp_public(
        p,
        sig,
        quote! {
            let ((__value, __g), (_, __hv)) = #pushforward(#(#args,)* #one, #(#directions,)* #zero);
            (__value, __g, __hv)
        },
    );
    // The hidden form splits each differentiated parameter's duals into values and tangents.
    let seed = |ty: &dyn ToTokens| quote!(<#ty as #krate::dual::Seed>);
    let splits = sig.wrt.iter().map(|i| {
        let param = &sig.params[*i];
        let (x, t) = (&param.ident, format_ident!("__hvp_tangent{}", i));
        match (&param.diff, &param.ty) {
            (Some(ByRef::Yes), Type::Reference(r)) => {
                let (seed, values) = (seed(&r.elem), format_ident!("__hvp_values{}", i));
                quote!(let (#values, #t) = #seed::split(*#x); let #x = &#values;)
            }
            (_, ty) => {
                let seed = seed(ty);
                quote!(let (#x, #t) = #seed::split(#x);)
            }
        }
    });
    let parameter_tangents = tangents(&|k| format_ident!("__hvp_tangent{}", sig.wrt[k]).into_token_stream());
    let float = &dual_split.dual.float;
    let cotangents = (0..sig.params.len()).map(|i| match sig.wrt.iter().position(|j| *j == i) {
        Some(k) => {
            let (seed, g, dg) =
                (seed(&p.cts[i]), gradient_part(&quote!(__g), k, single), gradient_part(&quote!(__dg), k, single));
            quote!(#seed::seed(#g, #dg))
        }
        None => quote!(()),
    });
    let output = &dual_split.output;
    let body = quote! {
        #(#splits)*
        let ((__v, _), (__dv, _)) = #pushforward(#(#args,)* #one, #(#parameter_tangents,)* #zero);
        (<#float as #krate::dual::Seed>::seed(__v, __dv), move |__dout: #output| {
            let (__d, __dd) = <#float as #krate::dual::Seed>::split(__dout);
            let ((_, __g), (_, mut __dg)) = #pushforward(#(#args,)* __d, #(#parameter_tangents,)* #zero);
            // A pullback is linear in its cotangent: what the cotangent's tangent adds is its
            // pullback (so the pullback need not differentiate its `dout`).
            #krate::Tangent::add_tangent(&mut __dg, #vjp(#(#args,)* __dd).1);
            (#(#cotangents,)*)
        })
    };
    let hidden = split_form_function(
        p,
        &names::hvp_form(&p.name),
        &dual_split.signature(),
        &SplitForm::Closure(body),
        quote!(),
        krate,
        quote!(#[inline]),
    );
    quote!(#hidden #public)
}

/// The signature of the hidden form `NAME__hvp_with_option_hvp`: the split form's, with the
/// differentiated parameters, the output and the cotangents on duals.
struct DualSplit {
    dual: crate::forward::Dual,
    output: TokenStream,
    cts: Vec<TokenStream>,
    generics: syn::Generics,
    params: Vec<TokenStream>,
    captured: Option<Vec<TokenStream>>,
}

impl DualSplit {
    /// An error where `hvp` does not apply.
    fn of(func: &ItemFn, p: &Parts, sig: &Signature, options: &Options) -> syn::Result<DualSplit> {
        let krate = &options.krate;
        // A scalar output's float type; for any other output (a callee of a function with `hvp`,
        // which gets the form on duals only), the first float type it holds.
        let float = if sig.scalar_output {
            float_ident(&sig.output)
        } else {
            first_float(sig.output.to_token_stream(), &sig.real_params)
        };
        let Some(float) = float else {
            return Err(syn::Error::new_spanned(
                &sig.output,
                "`hvp` needs an output of floats (f32, f64 or a `T: Real`, or arrays, tuples or parameter structs of them): the sweeps run on dual numbers of that type",
            ));
        };
        // A struct holds duals as the same struct over `Dual<T>`: one spelled without the float
        // type (`Line`, fields of `f64`) has no such form.
        if let Some(p) = sig
            .wrt
            .iter()
            .map(|i| &sig.params[*i])
            .find(|p| is_struct_shape(&p.ty, &sig.real_params) && !crate::derive::mentions(&p.ty, &[&float]))
        {
            return Err(syn::Error::new_spanned(
                &p.ty,
                format!(
                    "`hvp` runs the gradient on dual numbers, which `{}` cannot hold: make the struct generic over its float type \
                     (`struct Line<T: Real> {{ w: T, .. }}` with `#[derive(Differentiable)]`) and name it with `{float}` here (`Line<{float}>`)",
                    p.ty.to_token_stream()
                ),
            ));
        }
        let dual = crate::forward::Dual { float: float.clone(), ty: quote!(#krate::Dual<#float>) };
        let output = dual.substitute(&sig.output.to_token_stream());
        // Floats and arrays by spelling; a parameter struct by its `Seed` (`#[derive(Differentiable)]`
        // on a struct generic over its float type), whatever its type arguments are called.
        let on_duals = |k: usize, ty: &TokenStream| match struct_seed(&sig.params[k].ty, sig, krate, ty) {
            Some(seed) if sig.params[k].diff.is_some() => quote!(#seed::Dual),
            _ => dual.substitute(ty),
        };
        let cts = p.cts.iter().enumerate().map(|(k, ct)| on_duals(k, ct)).collect();
        let mut dual_func = func.clone();
        let mut k = 0;
        for input in &mut dual_func.sig.inputs {
            if let syn::FnArg::Typed(pt) = input {
                if sig.params[k].diff.is_some() {
                    let ty = on_duals(k, &pt.ty.to_token_stream());
                    *pt.ty = syn::parse_quote!(#ty);
                }
                k += 1;
            }
        }
        let (generics, params, captured) = split_signature(&dual_func, sig, options);
        Ok(DualSplit { dual, output, cts, generics, params, captured })
    }

    fn signature(&self) -> SplitSignature<'_> {
        SplitSignature {
            generics: &self.generics,
            params: &self.params,
            captured: &self.captured,
            output: self.output.clone(),
            cts: &self.cts,
            buffer_elems: &[],
            reusable: None,
        }
    }
}

/// The first float type `tokens` name (`f32`, `f64` or one of `reals`), at any depth: `f64` in
/// `[f64; 2]`, `T` in `(T, Gp<T>)`.
fn first_float(tokens: TokenStream, reals: &[Ident]) -> Option<Ident> {
    tokens.into_iter().find_map(|tt| match tt {
        proc_macro2::TokenTree::Ident(i) if i == "f32" || i == "f64" || reals.contains(&i) => Some(i),
        proc_macro2::TokenTree::Group(g) => first_float(g.stream(), reals),
        _ => None,
    })
}

/// The float type a scalar output is spelled with (`f64`, `T`).
fn float_ident(ty: &Type) -> Option<Ident> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.get_ident().cloned(),
        Type::Paren(p) => float_ident(&p.elem),
        Type::Group(g) => float_ident(&g.elem),
        _ => None,
    }
}

/// Forward mode's bodies: the hidden form's, and the public one's (a call of the hidden one where
/// `siblings` can name it).
fn jvp_bodies(
    sig: &Signature,
    body: &Body,
    facts: &BodyFacts,
    options: &Options,
    siblings: Option<&Siblings>,
) -> JvpBodies {
    let krate = &options.krate;
    let aliases = jvp::aliases(body);
    let ctx = jvp::Ctx {
        krate,
        active: &body.active,
        owned: facts.owned(),
        siblings: facts.siblings(),
        aliases: &aliases,
        redirect: &[],
        in_loop: false,
    };
    let code = jvp::jvp(&body.block, ctx);
    let ret = jvp::result(&body.block, ctx);
    let tangents: Vec<TokenStream> = sig
        .params
        .iter()
        .zip(&body.params)
        .map(|(p, b)| match (&p.diff, p.mutable) {
            (Some(_), true) => {
                let tb = jvp::binding_tangent(*b);
                quote!(mut #tb)
            }
            (Some(_), false) => jvp::binding_tangent(*b).into_token_stream(),
            (None, _) => quote!(_),
        })
        .collect();
    let wrt: Vec<&TokenStream> = sig.wrt.iter().map(|i| &tangents[*i]).collect();
    let public_pattern = if wrt.len() == 1 { wrt[0].clone() } else { quote!((#(#wrt),*)) };
    let tangent = jvp_tangent_name(sig);
    if let Some(declared) = &options.jvp {
        return declared_jvp(sig, declared, options.names_generated(declared, &sig.name, "jvp"));
    }
    // A struct's data fields carry no tangent, in or out.
    let parts = sig
        .params
        .iter()
        .zip(&body.params)
        .filter(|(p, _)| p.diff.is_some() && is_struct_shape(&p.ty, &sig.real_params))
        .map(|(p, b)| {
            let tb = jvp::binding_tangent(*b);
            let m = p.mutable.then(|| quote!(mut));
            quote!(let #m #tb = #krate::tangent::differentiated_part(#tb);)
        });
    let parts = quote!(#(#parts)*);
    let ret = if is_struct_shape(&sig.output, &sig.real_params) {
        quote!({ let (__value, __tangent) = #ret; (__value, #krate::tangent::differentiated_part(__tangent)) })
    } else {
        ret
    };
    JvpBodies {
        public: Some(siblings.map_or_else(
            || quote!(let #public_pattern = #tangent; #parts #code #ret),
            |siblings| jvp_from_hidden(sig, krate, siblings),
        )),
        patterns: tangents,
        hidden: quote!(#parts #code #ret),
        smooth_call: siblings.map(|siblings| {
            let (jvp, args, tangents) = (&siblings.jvp, &siblings.args, smooth_tangents(sig));
            quote!(#jvp(#(#args,)* #(#tangents),*))
        }),
    }
}

/// After errors: the generated signatures with bodies that cannot be reached, so that callers do
/// not cascade into "cannot find function" errors.
pub fn stubs(func: &ItemFn, sig: &Signature, options: &Options) -> TokenStream {
    let p = parts(func, sig, options);
    let (output, cts) = (&p.output, &p.cts);
    let buffers = slice_buffers(sig).into_iter().map(|(_, elem, _)| quote!(_: &mut [#elem]));
    let split_body = quote! {
        {
            let __v: #output = ::core::unimplemented!();
            (__v, move |_: #output, #(#buffers),*| -> (#(#cts,)*) { ::core::unimplemented!() })
        }
    };
    let unreachable = quote!(::core::unimplemented!());
    let jvp = sig.slices().next().is_none().then(|| JvpBodies {
        public: Some(unreachable.clone()),
        patterns: vec![quote!(_); sig.params.len()],
        hidden: unreachable.clone(),
        smooth_call: None,
    });
    let vjp: Box<dyn Fn(TokenStream) -> TokenStream> = Box::new(move |_| unreachable.clone());
    let (split_call, lanes) = (split_body.clone(), lanes_by_copies(&p, sig, &split_body));
    let bodies = Bodies {
        split: SplitForm::Closure(split_body),
        split_call,
        vjp,
        grad: None,
        vjp_declared_as_such: false,
        jvp,
        smooth_split: None,
        lanes,
        jacobian_lanes: None,
    };
    functions(&p, sig, &options.krate, &bodies)
}

/// The smooth forms (`names::smooth`) of a relaxed function with hard operations, which has no
/// gradient of its own (SPEC): stubs with the forms' signatures whose instantiation is a compile
/// error, so that a relaxed caller's own gradient compiles, and fails where it is used, with this
/// function's name in the message and the call in rustc's notes. The error waits for
/// instantiation through a constant of a type that depends on the stub's type parameter (the
/// sweeps' end, or a tangent's type).
pub fn smooth_stubs(func: &ItemFn, sig: &Signature, options: &Options) -> TokenStream {
    let krate = &options.krate;
    let p = parts(func, sig, options);
    let Parts { vis, cfgs, name, generics, params, output, cts, .. } = &p;
    let message = format!(
        "`{name}` has hard operations, so it has no gradient of its own (`#[differentiable(relaxed)]`), and neither has a function that calls it: take the caller's `_relaxed_grad` or `_st_grad`"
    );
    // The constant is read in the stub itself where it has a type parameter (the sweeps' end), so
    // that rustc's note on the instantiation points at the caller's call.
    let no_gradient = quote! {
        struct __NoGradient<E>(E);
        impl<E> __NoGradient<E> {
            const OF_ITS_OWN: () = if ::core::mem::size_of::<E>() < usize::MAX { ::core::panic!(#message) };
        }
    };
    let sweeps = |output: &TokenStream, cts: &[TokenStream]| {
        SplitForm::Sweeps(quote! {
            #no_gradient
            let () = __NoGradient::<__RelaxEnd>::OF_ITS_OWN;
            __end.end(::core::unreachable!(), move |_: #output| -> (#(#cts,)*) { ::core::unreachable!() })
        })
    };
    let smooth = names::smooth(name);
    let signature = p.split_signature(&[]);
    let split_body = sweeps(&signature.output, cts);
    let split = split_form_function(
        &p,
        &names::split_form(&smooth),
        &signature,
        &split_body,
        quote!(),
        krate,
        quote!(#[inline]),
    );
    let lanes = lane_counts(&p, sig).map(|n| {
        let body = SplitForm::Lanes(
            quote! {
                #no_gradient
                let () = __NoGradient::<__RelaxEnd>::OF_ITS_OWN;
                (::core::unreachable!(), move |_: [#output; #n]| -> [(#(#cts,)*); #n] { ::core::unreachable!() })
            },
            n,
        );
        split_form_function(&p, &names::lanes_form(&smooth, n), &signature, &body, quote!(), krate, quote!(#[inline]))
    });
    // Each tangent of its own type, `impl Sized` (which a caller's turbofish leaves out): the
    // constant is read in a function of the first one's.
    let tangents = smooth_tangents(sig);
    let jvp = tangents.first().map(|first| {
        let (jvp, allows, where_clause) = (names::jvp_form(&smooth), lint_allows(), &generics.where_clause);
        quote! {
            #cfgs
            #[doc(hidden)]
            #[inline]
            #allows
            #vis fn #jvp #generics (#(#params,)* #(#tangents: impl ::core::marker::Sized),*) -> (#output, #output) #where_clause {
                #no_gradient
                fn __refuse<E>(_: &E) {
                    let () = __NoGradient::<E>::OF_ITS_OWN;
                }
                __refuse(&#first);
                ::core::unreachable!()
            }
        }
    });
    let hvp = options.hvp.and_then(|_| DualSplit::of(func, &p, sig, options).ok()).map(|d| {
        let body = sweeps(&d.output, &d.cts);
        split_form_function(&p, &names::hvp_form(&smooth), &d.signature(), &body, quote!(), krate, quote!(#[inline]))
    });
    quote!(#split #(#lanes)* #jvp #hvp)
}

/// A parameter struct or an array of them.
fn is_struct_shape(ty: &Type, reals: &[Ident]) -> bool {
    match ty {
        Type::Array(a) => is_struct_shape(&a.elem, reals),
        _ => crate::signature::is_struct_type(ty, reals),
    }
}

/// The arguments of a call that forwards the function's own parameters (`self` first).
fn forwarded_args(sig: &Signature) -> Vec<TokenStream> {
    let receiver = sig.receiver.as_ref().map(|r| r.self_token.to_token_stream());
    receiver.into_iter().chain(sig.params.iter().map(|p| p.ident.to_token_stream())).collect()
}

/// `G` from the hidden forward-mode form's per-position tangents: their parameters' patterns,
/// and the differentiated ones named in `G`'s layout.
fn gradient_from_positions(sig: &Signature) -> (Vec<TokenStream>, TokenStream) {
    let names: Vec<TokenStream> = (0..sig.params.len())
        .map(|i| if sig.wrt.contains(&i) { format_ident!("__p{}", i).into_token_stream() } else { quote!(_) })
        .collect();
    let g: Vec<Ident> = gradient_positions(sig).into_iter().map(|i| format_ident!("__p{}", i)).collect();
    let g = if g.len() == 1 { quote!(#(#g)*) } else { quote!((#(#g),*)) };
    (names, g)
}

/// Forward mode through a declared pushforward: `path(args…, tangent)`.
fn declared_jvp(sig: &Signature, path: &syn::Path, named_jvp: bool) -> JvpBodies {
    let args = forwarded_args(sig);
    let tangent = jvp_tangent_name(sig);
    let (patterns, g) = gradient_from_positions(sig);
    JvpBodies {
        public: (!named_jvp).then(|| quote!(#path(#(#args,)* #tangent))),
        patterns,
        hidden: quote!(#path(#(#args,)* #g)),
        smooth_call: None,
    }
}

/// Forward mode of a function known by its declared pullback only: one pullback call per float
/// coordinate of the output (relax-core's `jvp_from_pullback`).
fn jvp_from_declared_vjp(sig: &Signature, path: &syn::Path, krate: &syn::Path) -> JvpBodies {
    let args = forwarded_args(sig);
    let tangent = jvp_tangent_name(sig);
    let (patterns, g) = gradient_from_positions(sig);
    let from = |t: TokenStream| quote!(#krate::tangent::jvp_from_pullback(&#t, |__d| #path(#(#args,)* __d)));
    let (public, hidden) = (from(tangent.into_token_stream()), from(g));
    JvpBodies { public: Some(public), patterns, hidden, smooth_call: None }
}

/// A function with a declared pullback (`vjp = path`): its body is not transformed. The split form
/// that callers use runs the body for the value and the declared pullback for the cotangents;
/// `NAME_vjp` and `NAME_grad` call the pullback; forward mode calls the declared pushforward, or
/// is computed from the pullback.
pub fn declared(func: &ItemFn, sig: &Signature, options: &Options, vjp: &syn::Path) -> TokenStream {
    let krate = &options.krate;
    let p = parts(func, sig, options);
    let args = forwarded_args(sig);
    let output = &sig.output;
    // The body as a closure of the parameters: what the original returns, bit for bit.
    let closure_params: Vec<&TokenStream> = func
        .sig
        .inputs
        .iter()
        .zip(&p.split_params)
        .filter(|(input, _)| matches!(input, syn::FnArg::Typed(_)))
        .map(|(_, param)| param)
        .collect();
    let param_names = sig.params.iter().map(|p| &p.ident);
    let block = &func.block;
    let positions = (0..sig.params.len()).map(|i| {
        let g = gradient_positions(sig);
        match g.iter().position(|j| *j == i) {
            Some(k) => gradient_part(&quote!(__g), k, g.len() == 1),
            None => quote!(()),
        }
    });
    let split = quote! {
        {
            let __v: #output = (|#(#closure_params),*| -> #output #block)(#(#param_names),*);
            (__v, move |__dout: #output| {
                let (_, __g) = #vjp(#(#args,)* __dout);
                (#(#positions,)*)
            })
        }
    };
    let vjp_body: Box<dyn Fn(TokenStream) -> TokenStream> = {
        let (vjp, args) = (vjp.clone(), args.clone());
        Box::new(move |dout: TokenStream| quote!(#vjp(#(#args,)* #dout)))
    };
    let jvp = match &options.jvp {
        Some(path) => declared_jvp(sig, path, options.names_generated(path, &sig.name, "jvp")),
        None => jvp_from_declared_vjp(sig, vjp, krate),
    };
    let hvp = options.hvp.map(|at| declared_hvp(func, &p, sig, options, vjp, at));
    let vjp_declared_as_such = options.names_generated(vjp, &sig.name, "vjp");
    let lanes = lanes_by_copies(&p, sig, &split);
    let bodies = Bodies {
        split_call: split.clone(),
        split: SplitForm::Closure(split),
        vjp: vjp_body,
        grad: None,
        vjp_declared_as_such,
        jvp: Some(jvp),
        smooth_split: None,
        lanes,
        jacobian_lanes: None,
    };
    let functions = functions(&p, sig, krate, &bodies);
    quote!(#functions #hvp)
}

/// The float type a function computes in: the first float type its output or parameters spell.
fn float_type(sig: &Signature) -> Option<Ident> {
    std::iter::once(sig.output.to_token_stream())
        .chain(sig.params.iter().map(|p| p.ty.to_token_stream()))
        .find_map(|t| first_float(t, &sig.real_params))
}

/// `#[differentiable(relaxed)]`: `NAME_relaxed(params…, t)` and its `_grad`, `_vjp`, `_jvp` and
/// hidden forms, from the relaxed intermediate form; `NAME_st_grad` and `NAME_st_vjp` (the
/// original's value with the relaxed gradient).
pub fn relaxed(func: &ItemFn, sig: &Signature, body: &Body, options: &Options) -> Result<TokenStream, Vec<syn::Error>> {
    let krate = &options.krate;
    let fail = |span: proc_macro2::Span, msg: &str| Err(vec![syn::Error::new(span, msg)]);
    let Some(float) = float_type(sig) else {
        return fail(
            sig.name.span(),
            "`relaxed` needs the function's float type (f32, f64 or a `T: Real`) in its signature",
        );
    };
    if let Some(p) = sig.params.iter().find(|p| p.mut_ref) {
        return fail(
            p.ident.span(),
            "`relaxed` generates `NAME_st_grad`, which runs the function and its relaxation: it cannot take `&mut` data (such as an RNG, which would be drawn from twice)",
        );
    }
    if let Some(p) = sig.slices().next() {
        return fail(p.ident.span(), "`relaxed` takes no differentiated slices: pass an array");
    }
    let t = if sig.params.iter().any(|p| p.ident == "t") { format_ident!("__relax_t") } else { format_ident!("t") };
    let relaxed_body = crate::relax::relax(body, &t)?;
    // The relaxed function: the original's signature with `t` last, named `NAME_relaxed`, the
    // same parameters differentiated.
    let mut relaxed_fn = func.clone();
    relaxed_fn.sig.ident = format_ident!("{}_relaxed", sig.name);
    relaxed_fn.sig.inputs.push(syn::parse_quote!(#t: #float));
    let mut relaxed_options = options.clone();
    relaxed_options.wrt = Some(sig.wrt.iter().map(|i| sig.params[*i].ident.clone()).collect());
    relaxed_options.hvp = None;
    // The relaxation has no relaxation, and its callers call it as it is: no smooth forms.
    relaxed_options.relaxed = false;
    let mut errors = Vec::new();
    let Some(relaxed_sig) = crate::signature::analyse(&relaxed_fn.sig, &relaxed_options, &mut errors) else {
        return Err(errors);
    };
    let mut relaxed_body = relaxed_body;
    relaxed_body.params.push(relaxed_body.bindings);
    relaxed_body.bindings += 1;
    // The renamed function has no source text of its own: placement `Unknown`, the copies.
    let generated = generated(&relaxed_fn, &relaxed_sig, &relaxed_body, &relaxed_options, Placement::Unknown);
    // `NAME_relaxed` itself, and the straight-through functions.
    let p = parts(&relaxed_fn, &relaxed_sig, &relaxed_options);
    let facts = BodyFacts::of(&relaxed_body, &relaxed_sig);
    let ctx = facts.ctx(krate, &relaxed_body.active);
    let split = split_body(&relaxed_sig, &relaxed_body, ctx, &sig.output.to_token_stream(), &p.cts);
    let relaxed_value = split.closure();
    let vjp = vjp_from_split(&relaxed_sig, krate, split);
    let Parts { vis, attrs, inline, generics, params, output, grad, dout, .. } = &p;
    let where_clause = &generics.where_clause;
    let allows = lint_allows();
    let name = &sig.name;
    let (primal, st_grad, st_vjp) =
        (relaxed_fn.sig.ident.clone(), format_ident!("{name}_st_grad"), format_ident!("{name}_st_vjp"));
    // The original's value: its body, as a closure of its parameters.
    let closure_params: Vec<TokenStream> = func
        .sig
        .inputs
        .iter()
        .filter(|input| matches!(input, syn::FnArg::Typed(_)))
        .map(ToTokens::to_token_stream)
        .collect();
    let param_names: Vec<&Ident> = sig.params.iter().map(|p| &p.ident).collect();
    let block = &func.block;
    let hard = quote!((|#(#closure_params),*| -> #output #block)(#(#param_names),*));
    let (st_grad_body, st_vjp_body) = (vjp(quote!(#krate::num_traits::One::one())), vjp(dout.to_token_stream()));
    let st_grad_fn = sig.scalar_output.then(|| {
        let doc = format!(" The value of `{name}` (bit for bit) with the gradient of `{primal}` at temperature `{t}` (straight-through; generated by `#[differentiable(relaxed)]`).");
        quote! {
            #attrs
            #[doc = #doc]
            #inline
            #allows
            #vis fn #st_grad #generics (#(#params),*) -> (#output, #grad) #where_clause {
                let __hard: #output = #hard;
                let (_, __g) = { #st_grad_body };
                (__hard, __g)
            }
        }
    });
    let primal_doc = format!(
        " `{name}` with every hard operation replaced by its relaxation at temperature `{t}` (generated by `#[differentiable(relaxed)]`)."
    );
    let st_vjp_doc = format!(
        " The value of `{name}` (bit for bit) with the vector-Jacobian product of `{primal}` at temperature `{t}` (straight-through; generated by `#[differentiable(relaxed)]`)."
    );
    Ok(quote! {
        #attrs
        #[doc = #primal_doc]
        #inline
        #allows
        #vis fn #primal #generics (#(#params),*) -> #output #where_clause {
            let (__v, _) = #relaxed_value;
            __v
        }
        #generated
        #attrs
        #[doc = #st_vjp_doc]
        #inline
        #allows
        #vis fn #st_vjp #generics (#(#params,)* #dout: #output) -> (#output, #grad) #where_clause {
            let __hard: #output = #hard;
            let (_, __g) = { #st_vjp_body };
            (__hard, __g)
        }
        #st_grad_fn
    })
}

/// A hidden `pub(crate)` constant beside the function, whose only purpose is to be an error where
/// the attribute cannot work: in a trait definition (visibility is not permitted on trait
/// items) and in a trait `impl` (the constant, like the generated functions, is not a member of
/// the trait); its name says why. The attribute sees one function, not what surrounds it; where
/// its source file shows a module or an inherent `impl` around it, no constant is needed (each
/// costs rustc a quarter of a million instructions).
pub fn context_check(func: &ItemFn, placement: Placement) -> TokenStream {
    if placement != Placement::Unknown {
        return TokenStream::new();
    }
    let name = format_ident!(
        "__RELAX_DIFFERENTIABLE_GOES_ON_FREE_FUNCTIONS_AND_INHERENT_METHODS_NOT_TRAIT_FUNCTIONS_{}",
        func.sig.ident.to_string().to_uppercase(),
        span = proc_macro2::Span::call_site()
    );
    quote! {
        #[doc(hidden)]
        #[allow(dead_code, non_upper_case_globals)]
        pub(crate) const #name: () = ();
    }
}
