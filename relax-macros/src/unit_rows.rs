//! What each row of `NAME_jacobian` leaves out. Its lanes are seeded with the unit cotangents of
//! the outputs, lane `i` with output `i`'s: where the output is an array literal `[y0, y1, …]`,
//! lane `i`'s adjoint of every value that reaches only the other outputs is zero, and its
//! pullback, products with zero, is not emitted (the optimiser cannot drop `0·x`, which is NaN
//! for an infinite `x`). Row `i` then reads nothing of the other outputs' partial derivatives.
//!
//! The analysis runs over the body's top level from its end, and stops at the first branch or
//! loop: the statements before it are emitted in every lane.

use std::collections::HashSet;

use crate::ir::*;

/// A value whose adjoint is tracked: a temporary's or a binding's.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Node {
    Temp(Temp),
    Binding(BindingId),
}

/// Per lane, what the adjoint of a body's top level leaves out.
pub struct UnitRows {
    /// The top-level statements (by position) whose adjoint is zero in each lane.
    pub skipped: Vec<HashSet<usize>>,
    /// The output's array literal (by position), whose adjoint passes lane `i`'s cotangent to
    /// element `i` alone.
    pub seed: Option<usize>,
    /// Per lane, the temporaries a statement that stays reads the adjoint of, although nothing
    /// added to it in that lane: declared zero before that statement.
    pub zero: Vec<Vec<(usize, Temp)>>,
}

impl UnitRows {
    /// The analysis of `block`, a body whose output is seeded with unit cotangents in `lanes`
    /// lanes.
    pub fn of(block: &Block, active: &[bool], lanes: usize) -> Self {
        let mut live: Vec<HashSet<Node>> = vec![HashSet::new(); lanes];
        let mut rows = UnitRows { skipped: vec![HashSet::new(); lanes], seed: None, zero: vec![Vec::new(); lanes] };
        let Some(result) = block.result else { return rows };
        live.iter_mut().for_each(|l| {
            l.insert(Node::Temp(result));
        });
        // Past a branch or a loop (going backwards), every statement is emitted.
        let mut barrier = false;
        for (k, s) in block.stmts.iter().enumerate().rev() {
            for (lane, live) in live.iter_mut().enumerate() {
                let node = match s {
                    Stmt::Compute { temp, .. } | Stmt::Read { temp, .. } => Some(Node::Temp(*temp)),
                    Stmt::Let { binding, .. } | Stmt::Write { access: Access { binding, .. }, .. } => {
                        Some(Node::Binding(*binding))
                    }
                    _ => None,
                };
                if !barrier && node.is_some_and(|n| !live.contains(&n)) {
                    rows.skipped[lane].insert(k);
                    continue;
                }
                // The adjoint of its own value that the statement reads.
                let reads = match s {
                    Stmt::Compute { temp, .. } | Stmt::Read { temp, .. } | Stmt::Call { temp, .. } => Some(*temp),
                    Stmt::Branch(b) => b.result,
                    _ => None,
                };
                if let Some(t) = reads.filter(|t| active[*t] && !live.contains(&Node::Temp(*t))) {
                    rows.zero[lane].push((k, t));
                }
                let mut activate = |t: Temp| {
                    if active[t] {
                        live.insert(Node::Temp(t));
                    }
                };
                match s {
                    Stmt::Compute { temp, op: Op::Array, args }
                        if !barrier && *temp == result && args.len() == lanes =>
                    {
                        rows.seed = Some(k);
                        activate(args[lane]);
                    }
                    Stmt::Compute { args, .. } => args.iter().for_each(|t| activate(*t)),
                    Stmt::Let { value, .. } | Stmt::Write { value, .. } => activate(*value),
                    Stmt::Call { args, .. } => args.iter().for_each(|a| {
                        if let CallArg::Active(t) | CallArg::ActiveRef(t) = a {
                            activate(*t);
                        }
                    }),
                    Stmt::Read { access, .. } => {
                        live.insert(Node::Binding(access.binding));
                    }
                    Stmt::Passive { .. } | Stmt::Verbatim { .. } | Stmt::Branch(_) | Stmt::Loop(_) => {}
                }
            }
            barrier |= matches!(s, Stmt::Branch(_) | Stmt::Loop(_));
        }
        rows
    }
}
