//! Temporaries whose adjoint receives exactly one contribution, from a statement of the block
//! that computes them: the adjoint sweep declares such an adjoint where that contribution is
//! (`let __d = g;`) instead of declaring it zero and adding to it. The value is the same bit for
//! bit (a zero adjoint holds −0.0, and −0.0 + g is g); what it saves is rustc's work, two trait
//! calls and a mutable local per temporary, which most temporaries of an expression are.

use std::collections::{HashMap, HashSet};

use crate::ir::*;

/// The temporaries of `block` (at any depth) whose adjoint is declared at its one contribution.
/// `reads` are the whole reads, whose adjoint is their binding's (never declared per temporary).
pub fn single_contributions(block: &Block, active: &[bool], reads: &HashMap<Temp, BindingId>) -> HashSet<Temp> {
    let mut out = HashSet::new();
    collect(block, active, reads, &mut out);
    out
}

/// How often a temporary's adjoint is written in one block, and whether every write is a whole
/// addition the declaration can replace.
#[derive(Default, Clone, Copy)]
struct Uses {
    count: usize,
    replaceable: bool,
}

fn collect(block: &Block, active: &[bool], reads: &HashMap<Temp, BindingId>, out: &mut HashSet<Temp>) {
    let mut uses: HashMap<Temp, Uses> = HashMap::new();
    let mut note = |t: Temp, replaceable: bool| {
        let u = uses.entry(t).or_insert(Uses { count: 0, replaceable: true });
        u.count += 1;
        u.replaceable &= replaceable;
    };
    // The seed of the block's value (the caller's cotangent, or a branch's).
    if let Some(r) = block.result {
        note(r, true);
    }
    let mut declared = Vec::new();
    for s in &block.stmts {
        match s {
            Stmt::Read { temp, .. } | Stmt::Compute { temp, .. } | Stmt::Call { temp, .. } => declared.push(*temp),
            Stmt::Branch(b) => declared.extend(b.result),
            _ => {}
        }
        for (t, replaceable) in crate::adjoint::contributions(s, active) {
            note(t, replaceable);
        }
        // A nested block's adjoint runs in its own scope (an arm, every iteration): what it adds
        // to an outer temporary's adjoint needs that adjoint declared.
        let mut nested = Vec::new();
        match s {
            Stmt::Branch(b) => b.arms.iter().for_each(|arm| mentions(arm, &mut nested)),
            Stmt::Loop(l) => mentions(&l.body, &mut nested),
            _ => {}
        }
        for t in nested {
            note(t, false);
        }
        match s {
            Stmt::Branch(b) => b.arms.iter().for_each(|arm| collect(arm, active, reads, out)),
            Stmt::Loop(l) => collect(&l.body, active, reads, out),
            _ => {}
        }
    }
    out.extend(declared.into_iter().filter(|t| {
        active[*t] && !reads.contains_key(t) && uses.get(t).is_some_and(|u| u.count == 1 && u.replaceable)
    }));
}

/// Every temporary `block` names as an operand or a value, at any depth.
pub fn mentions(block: &Block, out: &mut Vec<Temp>) {
    out.extend(block.result);
    for s in &block.stmts {
        match s {
            Stmt::Compute { args, .. } => out.extend(args),
            Stmt::Call { args, .. } => out.extend(args.iter().filter_map(|a| match a {
                CallArg::Active(t) | CallArg::ActiveRef(t) => Some(*t),
                CallArg::Data(_) => None,
            })),
            Stmt::Let { value, .. } | Stmt::Write { value, .. } => out.push(*value),
            Stmt::Branch(b) => {
                if let BranchHead::Compare { lhs, rhs, .. } = b.head {
                    out.extend([lhs, rhs]);
                }
                b.arms.iter().for_each(|arm| mentions(arm, out));
            }
            Stmt::Loop(l) => mentions(&l.body, out),
            Stmt::Passive { .. } | Stmt::Verbatim { .. } | Stmt::Read { .. } => {}
        }
    }
}
