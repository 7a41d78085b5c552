//! What a loop's adjoint recomputes: only the statements of the iteration whose values its
//! adjoint reads, directly or through the statements it keeps. The pullbacks take only what they
//! read (`tanh` its value, a product with data the data), so an inner product whose only use is
//! the argument of a `tanh` kept per iteration is not computed again, and the weights it reads are
//! not captured by the pullback closure.
//!
//! What is read is found by name in the generated code: every identifier of the adjoint and of
//! the statements kept after a statement. A name is over-approximated (a shadowed binding counts
//! as its namesakes), never missed, and a statement dropped wrongly would be a compile error at
//! its first reader, not a wrong value.

use std::collections::HashSet;

use proc_macro2::{TokenStream, TokenTree};

use crate::ir::*;
use crate::names;

/// The recomputation of `block` for code whose identifiers are `used`: each statement `emit`
/// generates, in order, where a later one or the code after the block reads what it defines.
pub fn recompute(block: &Block, used: &TokenStream, emit: impl Fn(&Stmt) -> TokenStream) -> TokenStream {
    let mut live = HashSet::new();
    idents(used.clone(), &mut live);
    let mut kept = Vec::new();
    for s in block.stmts.iter().rev() {
        if needed(s, &live) {
            let code = emit(s);
            idents(code.clone(), &mut live);
            kept.push(code);
        }
    }
    kept.into_iter().rev().collect()
}

/// Every identifier in `tokens`, at any depth.
fn idents(tokens: TokenStream, out: &mut HashSet<String>) {
    for tt in tokens {
        match tt {
            TokenTree::Ident(i) => {
                out.insert(i.to_string());
            }
            TokenTree::Group(g) => idents(g.stream(), out),
            _ => {}
        }
    }
}

/// Whether `s` defines or changes something `live` names, or may have an effect beyond that.
fn needed(s: &Stmt, live: &HashSet<String>) -> bool {
    let temp = |t: &Temp| live.contains(&names::temp(*t).to_string());
    match s {
        Stmt::Passive { temp: t, impure: false, .. } | Stmt::Read { temp: t, .. } => temp(t),
        Stmt::Compute { temp: t, op, .. } => {
            temp(t) || matches!(op, Op::Rule { residual: Some(r), .. } if r.computed_here() && temp(&r.temp))
        }
        Stmt::Write { access, .. } => live.contains(&access.name.to_string()),
        Stmt::Loop(l) => !plain_loop(l) || writes_live(&l.body, live),
        // Draws, calls, branches and the user's passive statements are kept as they are, and so
        // are bindings: on duals, `let` lifts its value's temporary, whose shape the adjoint
        // takes its zero from.
        Stmt::Passive { impure: true, .. }
        | Stmt::Verbatim { .. }
        | Stmt::Call { .. }
        | Stmt::Branch(_)
        | Stmt::Let { .. } => true,
    }
}

/// A loop that only computes and writes bindings: nothing its adjoint reads back (storage, a
/// counter, snapshots, a Jacobian), no exit, nothing but reads, computations, bindings (the
/// user's passive `let`s and loop variables among them), writes and such loops inside.
fn plain_loop(l: &Loop) -> bool {
    l.fused.is_none()
        && l.exit.is_none()
        && l.snapshots.is_empty()
        && !crate::forward::has_storage(l)
        && !crate::forward::has_counter(l)
        && l.body.stmts.iter().all(|s| match s {
            Stmt::Passive { impure: false, .. }
            | Stmt::Read { .. }
            | Stmt::Compute { .. }
            | Stmt::Let { .. }
            | Stmt::Write { .. } => true,
            Stmt::Verbatim { assigns, impure: false, .. } => assigns.is_empty(),
            Stmt::Loop(inner) => plain_loop(inner),
            _ => false,
        })
}

/// Whether a statement of `block` (at any depth) writes a binding `live` names.
fn writes_live(block: &Block, live: &HashSet<String>) -> bool {
    block.any(&|s| matches!(s, Stmt::Write { access, .. } if live.contains(&access.name.to_string())))
}
