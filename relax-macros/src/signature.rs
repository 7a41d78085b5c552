//! What the signature says: which parameters are differentiated (from how their types are
//! spelled, or from `wrt`), the float type parameters, and the shape of the output.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{FnArg, GenericParam, Ident, Pat, Type, TypeParamBound, WherePredicate};

use crate::options::Options;

/// One parameter of the function.
pub struct Param {
    pub ident: Ident,
    pub mutable: bool,
    pub ty: Type,
    /// Differentiated, and if so whether it is a reference to an array.
    pub diff: Option<ByRef>,
    /// `&mut …`: passing it on may have side effects.
    pub mut_ref: bool,
    /// The length of an array (or of the array behind a reference), for loop bounds.
    pub array_len: Option<TokenStream>,
}

/// How a differentiated parameter is passed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ByRef {
    /// By value: its gradient is part of `G`.
    No,
    /// A reference to an array: its gradient, an owned array, is part of `G`.
    Yes,
    /// A slice `&[T]`: its gradient is written into a buffer the caller passes.
    Slice,
}

impl Signature {
    /// The differentiated slices, in `wrt` order: their gradients go into buffers.
    pub fn slices(&self) -> impl Iterator<Item = &Param> {
        self.wrt.iter().map(|i| &self.params[*i]).filter(|p| p.diff == Some(ByRef::Slice))
    }
}

/// The analysed signature.
pub struct Signature {
    pub name: Ident,
    /// `self`, `&self` or `&mut self`: data.
    pub receiver: Option<syn::Receiver>,
    pub params: Vec<Param>,
    /// Indices into `params`, in gradient order.
    pub wrt: Vec<usize>,
    /// Type parameters bounded by `Real`.
    pub real_params: Vec<Ident>,
    pub output: Type,
    /// The output is a float type: `NAME_grad` exists.
    pub scalar_output: bool,
}

/// Whether `b` is `Real` (by any path ending in it: `relax::Real`).
pub fn is_real_bound(b: &TypeParamBound) -> bool {
    matches!(b, TypeParamBound::Trait(t) if t.path.segments.last().is_some_and(|s| s.ident == "Real"))
}

/// Type parameters bounded by `Real` (in their declaration or a `where` clause).
pub fn real_type_params(generics: &syn::Generics) -> Vec<Ident> {
    let mut out: Vec<Ident> = generics
        .params
        .iter()
        .filter_map(|p| match p {
            GenericParam::Type(t) if t.bounds.iter().any(is_real_bound) => Some(t.ident.clone()),
            _ => None,
        })
        .collect();
    if let Some(w) = &generics.where_clause {
        for pred in &w.predicates {
            if let WherePredicate::Type(pt) = pred
                && pt.bounds.iter().any(is_real_bound)
                && let Type::Path(p) = &pt.bounded_ty
                && let Some(id) = p.path.get_ident()
                && !out.contains(id)
            {
                out.push(id.clone());
            }
        }
    }
    out
}

pub fn is_float_type(ty: &Type, reals: &[Ident]) -> bool {
    match ty {
        Type::Path(p) if p.qself.is_none() => {
            p.path.get_ident().is_some_and(|id| id == "f32" || id == "f64" || reals.contains(id))
        }
        Type::Paren(p) => is_float_type(&p.elem, reals),
        Type::Group(g) => is_float_type(&g.elem, reals),
        _ => false,
    }
}

/// The primitive integers and `bool`.
pub const DISCRETE_PRIMITIVES: &[&str] =
    &["i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128", "usize", "bool"];

/// A float type or a (nested) array of one.
pub fn is_float_array_or_scalar(ty: &Type, reals: &[Ident]) -> bool {
    match ty {
        Type::Array(a) => is_float_array_or_scalar(&a.elem, reals),
        _ => is_float_type(ty, reals),
    }
}

/// A path to a type that may derive `Differentiable` (a parameter struct): not a float, and not
/// one of the standard types that never can (integers, `bool`, `String`, `Vec`, …). Whether it
/// does, rustc checks.
pub fn is_struct_type(ty: &Type, reals: &[Ident]) -> bool {
    const NEVER: &[&str] = &[
        "char", "str", "String", "Vec", "Option", "Result", "Box", "Rc", "Arc", "Cell", "RefCell", "HashMap",
        "BTreeMap",
    ];
    match ty {
        Type::Path(p) if p.qself.is_none() => {
            !is_float_type(ty, reals)
                && p.path.segments.last().is_some_and(|s| {
                    let name = s.ident.to_string();
                    !DISCRETE_PRIMITIVES.contains(&name.as_str()) && !NEVER.contains(&name.as_str())
                })
        }
        Type::Paren(p) => is_struct_type(&p.elem, reals),
        Type::Group(g) => is_struct_type(&g.elem, reals),
        _ => false,
    }
}

/// A float type, a parameter struct, or a (nested) array of them: what can be differentiated by
/// value when named in `wrt`.
fn is_value_shape(ty: &Type, reals: &[Ident]) -> bool {
    match ty {
        Type::Array(a) => is_value_shape(&a.elem, reals),
        _ => is_float_type(ty, reals) || is_struct_type(ty, reals),
    }
}

/// A float type, a parameter struct, an array of them, or a tuple of those: what an output may
/// be.
fn is_differentiable_output(ty: &Type, reals: &[Ident]) -> bool {
    match ty {
        Type::Tuple(t) => {
            !t.elems.is_empty()
                && t.elems.iter().all(|e| is_differentiable_output(e, reals) || !is_float_like(e, reals))
        }
        _ => is_value_shape(ty, reals),
    }
}

/// Mentions a float type anywhere: non-float parts of an output are ignored.
fn is_float_like(ty: &Type, reals: &[Ident]) -> bool {
    match ty {
        Type::Tuple(t) => t.elems.iter().any(|e| is_float_like(e, reals)),
        Type::Array(a) => is_float_like(&a.elem, reals),
        _ => is_float_type(ty, reals),
    }
}

pub fn analyse(sig: &syn::Signature, options: &Options, errors: &mut Vec<syn::Error>) -> Option<Signature> {
    let wrt = options.wrt.as_deref();
    let mut reals = real_type_params(&sig.generics);
    reals.extend(options.real.iter().cloned());
    let mut params = Vec::new();
    let mut receiver = None;
    for input in &sig.inputs {
        let pt = match input {
            FnArg::Typed(pt) => pt,
            FnArg::Receiver(r) => {
                receiver = Some(r.clone());
                continue;
            }
        };
        let (ident, mutable) = match &*pt.pat {
            Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => (pi.ident.clone(), pi.mutability.is_some()),
            other => {
                errors.push(syn::Error::new(
                    other.span(),
                    "#[differentiable] needs a plain name for every parameter (`x: f64`); destructure inside the body",
                ));
                return None;
            }
        };
        let ty = (*pt.ty).clone();
        let slice = matches!(&ty, Type::Reference(r) if r.mutability.is_none() && matches!(&*r.elem, Type::Slice(s) if is_float_type(&s.elem, &reals)));
        let (by_value, by_ref, mut_ref, array_len) = match &ty {
            Type::Reference(r) => {
                let len = match &*r.elem {
                    Type::Array(a) => Some(a.len.to_token_stream()),
                    _ => None,
                };
                (
                    false,
                    r.mutability.is_none()
                        && matches!(&*r.elem, Type::Array(_))
                        && is_float_array_or_scalar(&r.elem, &reals),
                    r.mutability.is_some(),
                    len,
                )
            }
            Type::Array(a) => (is_float_array_or_scalar(&ty, &reals), false, false, Some(a.len.to_token_stream())),
            _ => (is_float_type(&ty, &reals), false, false, None),
        };
        // A parameter struct is differentiated only when named in `wrt`.
        let by_value = by_value || (wrt.is_some_and(|w| w.contains(&ident)) && is_value_shape(&ty, &reals));
        let diff = match wrt {
            None => by_value.then_some(ByRef::No),
            Some(names) => names.contains(&ident).then_some(if slice {
                ByRef::Slice
            } else if by_ref {
                ByRef::Yes
            } else {
                ByRef::No
            }),
        };
        if let (Some(names), Some(_)) = (wrt, diff)
            && !(by_value || by_ref || slice)
        {
            let name = names.iter().find(|n| **n == ident).unwrap_or(&ident);
            errors.push(syn::Error::new(
                name.span(),
                format!("`{ident}` cannot be differentiated: its type `{}` is not a float type (f32, f64, a `T: Real`), a struct with `#[derive(Differentiable)]`, an array of them, a reference to an array of floats, or a slice of floats", crate::lower::pretty(&ty.to_token_stream())),
            ));
        }
        // After that error, treat it as data, so the stubs' signatures stay valid.
        let diff = if by_value || by_ref || slice { diff } else { None };
        params.push(Param { ident, mutable, ty, diff, mut_ref, array_len });
    }
    let wrt_indices: Vec<usize> = match wrt {
        None => (0..params.len()).filter(|&i| params[i].diff.is_some()).collect(),
        Some(names) => {
            let mut idx = Vec::new();
            for n in names {
                match params.iter().position(|p| p.ident == *n) {
                    Some(i) => idx.push(i),
                    None if n == "self" => errors.push(syn::Error::new(
                        n.span(),
                        "the receiver is data, never differentiated: pass what you differentiate as a parameter",
                    )),
                    None => {
                        errors.push(syn::Error::new(n.span(), format!("`{n}` is not a parameter of `{}`", sig.ident)))
                    }
                }
            }
            idx
        }
    };
    if wrt_indices.is_empty() && wrt.is_none_or(|w| !w.is_empty()) && errors.is_empty() {
        errors.push(syn::Error::new(
            sig.ident.span(),
            format!("`{}` has no differentiable parameter: pass a float (f32, f64, `T: Real`) or an array of floats by value, or name a parameter in `#[differentiable(wrt(..))]`", sig.ident),
        ));
    } else if wrt.is_some_and(|w| w.is_empty()) {
        errors.push(syn::Error::new(sig.ident.span(), "`wrt()` is empty: name the parameters to differentiate"));
    }
    let output = match &sig.output {
        syn::ReturnType::Type(_, ty) => (**ty).clone(),
        syn::ReturnType::Default => {
            errors.push(syn::Error::new(
                sig.ident.span(),
                "a differentiable function returns a value: add `-> f64` (or a float array, or a tuple of those)",
            ));
            return None;
        }
    };
    if !is_differentiable_output(&output, &reals) {
        errors.push(syn::Error::new(
            output.span(),
            "a differentiable function returns a float, a struct with `#[derive(Differentiable)]`, an array of them, or a tuple of those (owned values)",
        ));
    }
    let scalar_output = is_float_type(&output, &reals);
    Some(Signature {
        name: sig.ident.clone(),
        receiver,
        params,
        wrt: wrt_indices,
        real_params: reals,
        output,
        scalar_output,
    })
}
