//! Loop-invariant factors of a fused loop's Jacobians. Where an input's one read in a fused loop
//! reaches, through additions of data and negations only, a product with an element of another
//! input at the same indices (or at the first of them, or with an input that is one float), or a
//! quotient by one (`(xs[n][d] - mu[k][d]) * inv[k][d]` for `mu`, `(xs[n] - m) / s` for `m`),
//! every iteration's contribution to the input's Jacobian is a multiple of that element, which
//! the loop does not change. The iterations then add the product's cotangent alone, and the
//! Jacobian is multiplied (divided) by the factor's elements once, after the loop
//! (`tangent::ScaleElementwise`): a product per element and iteration less, as a hand-written
//! gradient that accumulates sums first.

use std::collections::{HashMap, HashSet};

use crate::ir::*;

/// The factors taken out of a body's fused loops.
#[derive(Default)]
pub struct Factors {
    /// Products whose operand at this position (0 or 1) takes the product's cotangent as it is,
    /// unscaled by the other operand.
    pub unscaled: HashMap<Temp, usize>,
    /// Per fused loop (by id): the inputs whose Jacobian is multiplied after the loop,
    /// elementwise, by the binding of the read, or divided by it.
    pub after: HashMap<usize, Vec<Factor>>,
}

/// A factor an input's Jacobian gets after its fused loop.
pub struct Factor {
    /// The input whose Jacobian gets the factor.
    pub input: BindingId,
    /// The factor's binding, by its name in the loop.
    pub name: syn::Ident,
    /// The binding is a reference (passed as it is, else borrowed).
    pub by_ref: bool,
    /// A divisor (the input reached a quotient's numerator), not a multiplier.
    pub divides: bool,
}

/// The factors of the fused loops of `block`, at any depth. The sweeps on duals take them too.
pub fn factors(block: &Block, active: &[bool]) -> Factors {
    let mut out = Factors::default();
    visit(block, active, &mut out);
    out
}

fn visit(block: &Block, active: &[bool], out: &mut Factors) {
    for s in &block.stmts {
        match s {
            Stmt::Loop(l) => {
                if let Some(fused) = &l.fused {
                    of_loop(l, fused, active, out);
                }
                visit(&l.body, active, out);
            }
            Stmt::Branch(b) => b.arms.iter().for_each(|arm| visit(arm, active, out)),
            _ => {}
        }
    }
}

/// What a fused loop's body reads and uses, at any depth.
struct LoopFacts {
    /// The loop's inputs, its accumulator excepted.
    inputs: HashSet<BindingId>,
    /// Those that are references.
    by_ref: HashSet<BindingId>,
    /// How many reads of each binding.
    reads: HashMap<BindingId, usize>,
    /// How many operations take each temporary as an operand.
    uses: HashMap<Temp, usize>,
}

fn of_loop(l: &Loop, fused: &Fused, active: &[bool], out: &mut Factors) {
    let mut facts = LoopFacts {
        inputs: fused.inputs.iter().map(|(b, _, _)| *b).filter(|b| *b != fused.acc.0).collect(),
        by_ref: fused.inputs.iter().filter(|(_, _, is_ref)| *is_ref).map(|(b, _, _)| *b).collect(),
        reads: HashMap::new(),
        uses: HashMap::new(),
    };
    count_reads(&l.body, &mut facts.reads);
    let mut operands = Vec::new();
    crate::single::mentions(&l.body, &mut operands);
    for t in operands {
        *facts.uses.entry(t).or_default() += 1;
    }
    let mut found = Vec::new();
    in_blocks(&l.body, &mut |block| found.extend(products(block, active, &facts)));
    // One product per input, and one operand per product.
    let mut taken: HashSet<Temp> = HashSet::new();
    for (product, side, factor) in found {
        if taken.insert(product) {
            out.unscaled.insert(product, side);
            out.after.entry(l.id).or_default().push(factor);
        }
    }
}

fn count_reads(block: &Block, out: &mut HashMap<BindingId, usize>) {
    for s in &block.stmts {
        match s {
            Stmt::Read { access, .. } => *out.entry(access.binding).or_default() += 1,
            Stmt::Branch(b) => b.arms.iter().for_each(|arm| count_reads(arm, out)),
            Stmt::Loop(l) => count_reads(&l.body, out),
            _ => {}
        }
    }
}

/// Calls `f` on `block` and the blocks nested in it, except the bodies of fused loops (whose
/// adjoint adds to this loop's Jacobians through their own).
fn in_blocks<'a>(block: &'a Block, f: &mut dyn FnMut(&'a Block)) {
    f(block);
    for s in &block.stmts {
        match s {
            Stmt::Branch(b) => b.arms.iter().for_each(|arm| in_blocks(arm, f)),
            Stmt::Loop(l) if l.fused.is_none() => in_blocks(&l.body, f),
            _ => {}
        }
    }
}

/// The factored products and quotients of one block: `(the operation, the input's side, the
/// factor)`.
fn products(block: &Block, active: &[bool], facts: &LoopFacts) -> Vec<(Temp, usize, Factor)> {
    let at = |t: Temp| block.stmts.iter().position(|s| defines(s) == Some(t));
    let mut out = Vec::new();
    for (start, s) in block.stmts.iter().enumerate() {
        let Stmt::Read { temp, access: x } = s else { continue };
        // An element of nested arrays (a struct's Jacobian has no elementwise scaling).
        let indices_only = x.path.iter().all(|p| matches!(p, Proj::Index(_)));
        if !facts.inputs.contains(&x.binding) || facts.reads[&x.binding] != 1 || !indices_only {
            continue;
        }
        // Down the chain of the read's one use: negations and additions of data, then a product
        // or a quotient's numerator.
        let (mut t, mut span) = (*temp, vec![start]);
        let found = loop {
            if facts.uses.get(&t) != Some(&1) {
                break None;
            }
            let Some((k, Stmt::Compute { temp: next, op, args })) = block
                .stmts
                .iter()
                .enumerate()
                .find(|(_, s)| matches!(s, Stmt::Compute { args, .. } if args.contains(&t)))
            else {
                break None;
            };
            span.push(k);
            match op {
                Op::Neg => t = *next,
                Op::Binary { pullback: "add_vjp" | "sub_vjp", .. } if args.iter().any(|a| *a != t && !active[*a]) => {
                    t = *next;
                }
                Op::Binary { pullback: "mul_vjp", .. } if args[0] != args[1] => {
                    let side = usize::from(args[1] == t);
                    break Some((*next, side, args[1 - side], false));
                }
                Op::Binary { pullback: "div_vjp", .. } if args[0] == t && args[1] != t => {
                    break Some((*next, 0, args[1], true));
                }
                _ => break None,
            }
        };
        let Some((product, side, other, divides)) = found else { continue };
        let Some(k) = at(other) else { continue };
        let Stmt::Read { access: f, .. } = &block.stmts[k] else { continue };
        // A float at the input's first indices (none: a whole float; fewer: the factor of a row).
        if f.binding == x.binding || !facts.inputs.contains(&f.binding) || f.path.len() > x.path.len() {
            continue;
        }
        span.push(k);
        // The same indices: the same temporaries, or passive expressions written alike.
        let same = x.path.iter().zip(&f.path).all(|(a, b)| match (a, b) {
            (Proj::Index(a), Proj::Index(b)) if a == b => true,
            (Proj::Index(a), Proj::Index(b)) => match (at(*a), at(*b)) {
                (Some(i), Some(j)) => {
                    span.extend([i, j]);
                    matches!(
                        (&block.stmts[i], &block.stmts[j]),
                        (Stmt::Passive { expr: e, impure: false, .. }, Stmt::Passive { expr: g, impure: false, .. })
                            if e.to_string() == g.to_string()
                    )
                }
                _ => false,
            },
            _ => false,
        });
        // Nothing between them changes what the indices name.
        let (first, last) = (span.iter().min().copied().unwrap_or(0), span.iter().max().copied().unwrap_or(0));
        let straight = block.stmts[first..=last].iter().all(|s| match s {
            Stmt::Passive { impure, .. } => !impure,
            Stmt::Read { .. } | Stmt::Compute { .. } => true,
            _ => false,
        });
        if same && straight {
            let by_ref = f.deref || facts.by_ref.contains(&f.binding);
            out.push((product, side, Factor { input: x.binding, name: f.name.clone(), by_ref, divides }));
        }
    }
    out
}

/// The temporary `s` defines, if it is a read, a computation or a passive value.
fn defines(s: &Stmt) -> Option<Temp> {
    match s {
        Stmt::Read { temp, .. } | Stmt::Compute { temp, .. } | Stmt::Passive { temp, .. } => Some(*temp),
        _ => None,
    }
}
