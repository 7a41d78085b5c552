//! Whether everything a function's pullback closure captures is a scalar or a reference: then
//! `NAME_vjp` may call the split form and its pullback rather than run a copy of the sweeps in
//! place, which saves rustc a fourth of the generated code to check. Moving the captured state
//! into the closure is free for scalars (they stay in registers); an array would be copied on
//! every call (a fused loop's 2 KB Jacobian in the two-layer network: 12 % more instructions),
//! so anything that may hold one keeps the in-place sweeps.

use syn::Type;

use crate::ir::*;
use crate::signature::{Signature, is_number};

/// Rules of scalars to scalars.
const SCALAR_RULES: &[&str] = &["relu", "softplus", "sigmoid", "huber", "smooth_l1"];

/// No parameter passed by value holds more than one number, no statement builds, calls or stores
/// anything that may, and every read through a reference reaches a single number.
pub fn captures_only_scalars(sig: &Signature, body: &Body) -> bool {
    let by_value_receiver = sig.receiver.as_ref().is_some_and(|r| !matches!(r.kind, syn::ReceiverKind::Reference(..)));
    let params_ok = sig.params.iter().all(|p| match &p.ty {
        Type::Reference(_) => p.diff != Some(crate::signature::ByRef::Slice),
        ty => is_number(ty, &sig.real_params),
    });
    // The depth of the array behind each reference parameter: a read of that many indices is
    // one number.
    let depths: Vec<Option<usize>> = sig
        .params
        .iter()
        .map(|p| match &p.ty {
            Type::Reference(r) => array_depth(&r.elem, &sig.real_params),
            _ => Some(0),
        })
        .collect();
    let depth_of = |binding: BindingId| body.params.iter().position(|b| *b == binding).map(|k| depths[k]);
    !by_value_receiver && params_ok && block_ok(&body.block, &depth_of)
}

fn block_ok(block: &Block, depth_of: &dyn Fn(BindingId) -> Option<Option<usize>>) -> bool {
    block.stmts.iter().all(|s| match s {
        Stmt::Passive { .. } | Stmt::Verbatim { .. } | Stmt::Let { .. } | Stmt::Write { .. } => true,
        // A parameter's place, or a local binding's (a number, as every value here).
        Stmt::Read { access, .. } => match depth_of(access.binding) {
            Some(Some(depth)) => access.path.len() == depth,
            Some(None) => false,
            None => true,
        },
        Stmt::Compute { op, .. } => match op {
            Op::Binary { .. } | Op::Neg | Op::Method { .. } | Op::Copy | Op::Hard(_) => true,
            Op::Rule { name, .. } => SCALAR_RULES.contains(&name.to_string().as_str()),
            Op::Array | Op::Repeat { .. } | Op::Tuple | Op::Project { .. } | Op::Struct { .. } => false,
        },
        // A callee's pullback may hold anything.
        Stmt::Call { .. } => false,
        Stmt::Branch(b) => b.arms.iter().all(|arm| block_ok(arm, depth_of)),
        Stmt::Loop(l) => !crate::forward::has_storage(l) && block_ok(&l.body, depth_of),
    })
}

/// How many array layers `ty` has around a number, if it is numbers in arrays.
fn array_depth(ty: &Type, real_params: &[syn::Ident]) -> Option<usize> {
    match ty {
        Type::Array(a) => array_depth(&a.elem, real_params).map(|d| d + 1),
        Type::Paren(p) => array_depth(&p.elem, real_params),
        ty => is_number(ty, real_params).then_some(0),
    }
}

#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;
    use quote::quote;

    fn captures_only_scalars(item: TokenStream) -> bool {
        captures_only_scalars_with(TokenStream::new(), item)
    }

    fn captures_only_scalars_with(args: TokenStream, item: TokenStream) -> bool {
        let func: syn::ItemFn = syn::parse2(item).expect("a function");
        let options = crate::options::parse(args).expect("options");
        let sig = crate::signature::analyse(&func.sig, &options, &mut Vec::new()).expect("a signature");
        let body = crate::lower::lower(&func.block, &sig, &func.sig.generics, &options).expect("lowered");
        super::captures_only_scalars(&sig, &body)
    }

    #[test]
    fn numbers_and_references_read_to_a_number_only() {
        // Scalars, a reference read element by element, a fused loop with scalar Jacobians.
        assert!(captures_only_scalars(quote!(
            fn f(w: f64, b: f64, xs: &[f64; 4]) -> f64 {
                let mut s = 0.0;
                for i in 0..4 {
                    s += huber(w * xs[i] + b, 1.0);
                }
                s
            }
        )));
        assert!(captures_only_scalars(quote!(
            fn f<T: Real>(x: T, n: usize) -> T {
                x.powi(n as i32)
            }
        )));
        // An array by value, a row read whole through a reference, an array built, a stored loop,
        // a call of another differentiable function.
        assert!(!captures_only_scalars(quote!(
            fn f(x: [f64; 2]) -> f64 {
                x[0] * x[1]
            }
        )));
        assert!(!captures_only_scalars_with(
            quote!(wrt(w, xs)),
            quote!(
                fn f(w: f64, xs: &[[f64; 2]; 3]) -> f64 {
                    dot(xs[1], xs[2]) * w
                }
            )
        ));
        // Data rows are read into numbers where active code takes them.
        assert!(captures_only_scalars(quote!(
            fn f(w: f64, xs: &[[f64; 2]; 3]) -> f64 {
                dot(xs[1], xs[2]) * w
            }
        )));
        assert!(!captures_only_scalars(quote!(
            fn f(w: f64) -> f64 {
                let a = [w, w * w];
                a[0] + a[1]
            }
        )));
        assert!(!captures_only_scalars(quote!(
            fn f(w: f64) -> f64 {
                let mut p = 1.0;
                for _ in 0..3 {
                    p *= w + p;
                }
                p
            }
        )));
        assert!(!captures_only_scalars(quote!(
            fn f(w: f64) -> f64 {
                g(w)
            }
        )));
    }
}
