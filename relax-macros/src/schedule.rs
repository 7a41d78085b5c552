//! Where reads happen: a read sinks past the computations after it to just before its first use.
//! `w2[j] * h.tanh()` reads `w2[j]` before the call in the order written; held across a library
//! call, the value is spilled and reloaded (every float register is the caller's to save), while
//! read after the call it is an operand of the product. A read moves past reads and computations
//! only, which write nothing, so it reads the same value; every sweep generated from the form
//! (forward, adjoint, forward mode) sees the new order.

use crate::ir::*;

/// Sinks every read of `block` (at any depth) to just before its first use, past what
/// [`movable_past`] allows.
pub fn sink_reads(block: &mut Block) {
    // From the last statement back, so that what follows a read has found its place already and
    // each read moves once.
    for i in (0..block.stmts.len()).rev() {
        match &mut block.stmts[i] {
            Stmt::Read { temp, .. } => {
                let temp = *temp;
                let end = (i + 1..block.stmts.len())
                    .find(|&j| !movable_past(&block.stmts[j], temp))
                    .unwrap_or(block.stmts.len());
                let read = block.stmts.remove(i);
                block.stmts.insert(end - 1, read);
            }
            Stmt::Branch(b) => b.arms.iter_mut().for_each(sink_reads),
            Stmt::Loop(l) => sink_reads(&mut l.body),
            _ => {}
        }
    }
}

/// Whether a read of `temp` may move past `s`: a read or a computation that does not use it.
/// (Past passive index bindings too, `let __t = j;`, it costs the bundle-adjustment residual's
/// gradient 11 instructions and saves none elsewhere: measured with `benches/count.sh`.)
fn movable_past(s: &Stmt, temp: Temp) -> bool {
    match s {
        Stmt::Compute { args, .. } => !args.contains(&temp),
        Stmt::Read { access, .. } => !access.path.iter().any(|p| matches!(p, Proj::Index(t) if *t == temp)),
        _ => false,
    }
}
