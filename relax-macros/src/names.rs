//! The names of generated locals. Every name starts with `__` so that rustc's unused-variable lint
//! passes over those a sweep does not use.

use proc_macro2::Ident;
use quote::format_ident;

use crate::ir::{BindingId, Temp};

/// A temporary.
pub fn temp(t: Temp) -> Ident {
    crate::lower::temp_ident(t)
}

/// The adjoint of a temporary.
pub fn adj(t: Temp) -> Ident {
    format_ident!("__d{}", t)
}

/// The adjoint of a user binding.
pub fn binding_adj(b: BindingId) -> Ident {
    format_ident!("__b{}", b)
}

/// The record of which branch an `if` took, and the temporaries it computed.
pub fn branch(id: usize) -> Ident {
    format_ident!("__br{}", id)
}

/// A loop's iteration counter.
pub fn counter(id: usize) -> Ident {
    format_ident!("__k{}", id)
}

/// A range loop's cursor: the next index forward, one past the next index backward.
pub fn cursor(id: usize) -> Ident {
    format_ident!("__i{}", id)
}

/// Per-iteration storage of a binding a loop reads and writes.
pub fn binding_tape(id: usize, b: BindingId) -> Ident {
    format_ident!("__tape{}_{}", id, b)
}

/// Per-iteration storage of an impure temporary (sampled noise, a call with `&mut` data).
pub fn temp_tape(t: Temp) -> Ident {
    format_ident!("__tape_t{}", t)
}

/// A copy, taken before a loop, of a binding the loop reads.
pub fn snapshot(id: usize, b: BindingId) -> Ident {
    format_ident!("__s{}_{}", id, b)
}

/// The cotangents a callee's pullback returns.
pub fn cotangents(t: Temp) -> Ident {
    format_ident!("__c{}", t)
}

/// The split form of a differentiable function `f`: `f__differentiable`. Callers name it for
/// every call of a non-rule function on active values, so rustc's "cannot find function
/// `helper__differentiable`" is the error for a function that is not `#[differentiable]`.
pub fn split_form(f: &Ident) -> Ident {
    format_ident!("{}{}", f, SPLIT_SUFFIX, span = f.span())
}

const SPLIT_SUFFIX: &str = "__differentiable";

/// The split form of `f` on dual numbers, which callers with `hvp` and `f_hvp` call:
/// `f__hvp_with_option_hvp`. Only an `f` with the option `hvp` has it, and the name is rustc's
/// error at the call when `f` lacks it: "cannot find function `f__hvp_with_option_hvp`" says what
/// to add (a shorter `f__hvp` said nothing, and drew rustc's suggestion of `f__jvp`).
pub fn hvp_form(f: &Ident) -> Ident {
    format_ident!("{}{}", f, HVP_SUFFIX, span = f.span())
}

/// The suffix of [`hvp_form`].
pub const HVP_SUFFIX: &str = "__hvp_with_option_hvp";

/// The lanes form of `f` for `lanes` cotangents, `f__lanes{lanes}_with_option_jacobian`: the split
/// form whose pullback takes one cotangent per lane and pulls them back side by side, which a
/// caller's `NAME_jacobian` calls for its rows. Every `f` with `jacobian` has those of 2 to
/// `emit::UNROLLED_ROWS` lanes; the name is rustc's error at the call where `f` lacks them.
pub fn lanes_form(f: &Ident, lanes: usize) -> Ident {
    format_ident!("{}{}", f, lanes_suffix(lanes), span = f.span())
}

/// `name` in lane `lane` of an adjoint with several lanes: `{name}_l{lane}`.
pub fn in_lane(name: &Ident, lane: usize) -> Ident {
    format_ident!("{}_l{}", name, lane)
}

/// The pullback's parameter `__dout` of each of `lanes` lanes.
pub fn lane_douts(lanes: usize) -> Vec<Ident> {
    (0..lanes).map(|lane| in_lane(&format_ident!("__dout"), lane)).collect()
}

/// The suffix of [`lanes_form`].
pub fn lanes_suffix(lanes: usize) -> String {
    format!("__lanes{lanes}_with_option_jacobian")
}

/// A fused loop's preaccumulated gradient with respect to one of its inputs.
pub fn jacobian(id: usize, b: BindingId) -> Ident {
    format_ident!("__j{}_{}", id, b)
}

/// A fused loop's unit cotangent of its accumulator.
pub fn unit(id: usize) -> Ident {
    format_ident!("__one{}", id)
}

/// The split form's path `callee` (`f__differentiable`, `Self::f__differentiable`,
/// `self.f__differentiable`) with the suffix of another hidden form (`__jvp`).
pub fn retarget(callee: &proc_macro2::TokenStream, suffix: &str) -> proc_macro2::TokenStream {
    retarget_suffix(callee, SPLIT_SUFFIX, suffix)
}

/// The path `callee` of a form by the suffix `from` with the suffix `to` instead.
fn retarget_suffix(callee: &proc_macro2::TokenStream, from: &str, to: &str) -> proc_macro2::TokenStream {
    callee
        .clone()
        .into_iter()
        .map(|tt| match tt {
            proc_macro2::TokenTree::Ident(i) if i.to_string().ends_with(from) => {
                let name = i.to_string();
                let base = &name[..name.len() - from.len()];
                proc_macro2::TokenTree::Ident(format_ident!("{}{}", base, to, span = i.span()))
            }
            other => other,
        })
        .collect()
}

/// The span of the hidden form's name in the path `callee` (`f__differentiable`, [`hvp_form`]):
/// that of the function's name in the call the user wrote.
pub fn form_span(callee: &proc_macro2::TokenStream) -> proc_macro2::Span {
    callee
        .clone()
        .into_iter()
        .find_map(|tt| match tt {
            proc_macro2::TokenTree::Ident(i)
                if [SPLIT_SUFFIX, HVP_SUFFIX, "_with_option_jacobian"]
                    .iter()
                    .any(|suffix| i.to_string().ends_with(suffix)) =>
            {
                Some(i.span())
            }
            _ => None,
        })
        .unwrap_or_else(proc_macro2::Span::call_site)
}

/// The split form's path `callee` with `_` added to a turbofish that ends it
/// (`f__differentiable::<f64, 3>` to `f__differentiable::<f64, 3, _>`): the split form's last type
/// parameter is its sweeps' end, which the caller's turbofish does not name.
pub fn infer_end_type(callee: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    use proc_macro2::{Punct, Spacing, TokenTree};
    let mut tokens: Vec<TokenTree> = callee.into_iter().collect();
    if !matches!(tokens.last(), Some(TokenTree::Punct(p)) if p.as_char() == '>') {
        return tokens.into_iter().collect();
    }
    let close = tokens.pop();
    if !matches!(tokens.last(), Some(TokenTree::Punct(p)) if p.as_char() == ',') {
        tokens.push(TokenTree::Punct(Punct::new(',', Spacing::Alone)));
    }
    tokens.push(TokenTree::Ident(proc_macro2::Ident::new("_", proc_macro2::Span::call_site())));
    tokens.extend(close);
    tokens.into_iter().collect()
}

/// The smooth form of `f` for the split form's path `callee` (`f__differentiable`,
/// `Self::f__differentiable`, `self.f__differentiable`): `f__smooth__differentiable`, which a
/// relaxed caller's own gradient calls (`f__smooth__jvp` and the `hvp_form` of `f__smooth`
/// alike). Every relaxed `f` has it: its own split form again where `f` has no hard operation,
/// otherwise a stub whose instantiation is a compile error (`f` has no gradient of its own,
/// SPEC), so that the caller's own gradient exists in either case and fails only where it is
/// used. A call of a relaxation itself (`f_relaxed`, which a relaxed caller keeps as written)
/// stays as it is.
pub fn smooth_form(callee: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    if is_form_of(&callee, &format!("_relaxed{SPLIT_SUFFIX}")) {
        return callee;
    }
    retarget(&callee, SMOOTH_SUFFIX)
}

const SMOOTH_SUFFIX: &str = "__smooth__differentiable";

/// The name whose forms are `f`'s smooth forms: `f__smooth` (`split_form`, `jvp_form` and
/// `hvp_form` of it).
pub fn smooth(f: &Ident) -> Ident {
    format_ident!("{}__smooth", f, span = f.span())
}

/// The split form of `f`'s relaxation, `f_relaxed__differentiable`, for the path `callee` of `f`'s
/// smooth form (`smooth_form`); `None` for any other callee (a relaxation, which a relaxed caller
/// keeps). rustc's "cannot find function `f_relaxed__differentiable`" is the error for an `f`
/// without `relaxed`.
pub fn relaxed_form(callee: &proc_macro2::TokenStream) -> Option<proc_macro2::TokenStream> {
    is_form_of(callee, SMOOTH_SUFFIX)
        .then(|| retarget_suffix(callee, SMOOTH_SUFFIX, &format!("_relaxed{SPLIT_SUFFIX}")))
}

/// Whether the path `callee` names a form by `suffix`.
fn is_form_of(callee: &proc_macro2::TokenStream, suffix: &str) -> bool {
    callee
        .clone()
        .into_iter()
        .any(|tt| matches!(tt, proc_macro2::TokenTree::Ident(i) if i.to_string().ends_with(suffix)))
}

/// The forward-mode form of a differentiable function `f`: `f__jvp`, which takes one tangent
/// per parameter position (`()` for data), so that callers need not know which are
/// differentiated.
pub fn jvp_form(f: &Ident) -> Ident {
    format_ident!("{}{}", f, JVP_SUFFIX, span = f.span())
}

/// The suffix of [`jvp_form`].
pub const JVP_SUFFIX: &str = "__jvp";

/// The tokens of a projection path: `[__t3].w[__t4]`.
pub fn projection(path: &[crate::ir::Proj]) -> proc_macro2::TokenStream {
    projection_spelled(path, |t| quote::ToTokens::into_token_stream(temp(t)))
}

/// [`projection`] with each index temporary spelled by `index`.
pub fn projection_spelled(
    path: &[crate::ir::Proj],
    index: impl Fn(Temp) -> proc_macro2::TokenStream,
) -> proc_macro2::TokenStream {
    path.iter()
        .map(|p| match p {
            crate::ir::Proj::Index(t) => {
                let t = index(*t);
                quote::quote!([#t])
            }
            crate::ir::Proj::Field(m) => quote::quote!(.#m),
        })
        .collect()
}

/// `tokens` with every span set to `span`: generated code that rustc reports errors at, placed
/// where the user wrote what caused them.
pub fn respan(tokens: proc_macro2::TokenStream, span: proc_macro2::Span) -> proc_macro2::TokenStream {
    tokens
        .into_iter()
        .map(|mut tt| {
            if let proc_macro2::TokenTree::Group(g) = &tt {
                let mut group = proc_macro2::Group::new(g.delimiter(), respan(g.stream(), span));
                group.set_span(span);
                tt = group.into();
            } else {
                tt.set_span(span);
            }
            tt
        })
        .collect()
}
