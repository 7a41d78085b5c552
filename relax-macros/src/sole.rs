//! Reads whose adjoint is the only contribution to its place, which the adjoint sweep assigns
//! rather than adds: `w[j][i]` read once in `for j … { for i … }` is reached once per place, and
//! its adjoint place holds −0.0 before (`−0.0 + d` is `d` bit for bit), so the assignment saves a
//! load and an addition per element, which a hand-written gradient does not spend either.

use std::collections::{HashMap, HashSet};

use crate::ir::*;

/// The reads of `block` (at any depth) of a binding of `params` whose adjoint is assigned: the
/// binding is read by this one statement and never written, and for every loop around the
/// statement the index names that loop's variable (its index itself, or the one binding a
/// `for` declares, a name declared nowhere else), so that no two runs reach the same place.
pub fn sole_reads(block: &Block, params: &HashSet<BindingId>) -> HashSet<Temp> {
    let mut facts = Facts::default();
    facts.collect(block);
    let mut out = HashSet::new();
    facts.select(block, params, &mut Vec::new(), &mut out);
    out
}

/// The bindings whose one read is among `sole` (at any depth of `block`): their adjoint is only
/// ever assigned, so it may start as any zero, `+0.0` included (a fill the compiler writes as a
/// `memset`, where `−0.0` takes a store per entry).
pub fn assigned_bindings(block: &Block, sole: &HashSet<Temp>, out: &mut HashSet<BindingId>) {
    for s in &block.stmts {
        match s {
            Stmt::Read { temp, access } if sole.contains(temp) => {
                out.insert(access.binding);
            }
            Stmt::Branch(b) => b.arms.iter().for_each(|arm| assigned_bindings(arm, sole, out)),
            Stmt::Loop(l) => assigned_bindings(&l.body, sole, out),
            _ => {}
        }
    }
}

/// How one loop around a statement is named in an index.
struct LoopVar {
    index: Temp,
    /// The name its `for` binds to the index, when the body starts by binding one name to it.
    name: Option<String>,
}

#[derive(Default)]
struct Facts {
    /// How many statements read each binding.
    reads: HashMap<BindingId, usize>,
    /// Bindings declared or written in the body.
    written: HashSet<BindingId>,
    /// How many times each name is declared (by `let`, a `for`, a `match` arm's pattern).
    declared: HashMap<String, usize>,
    /// Passive temporaries that are a single identifier, with it.
    idents: HashMap<Temp, String>,
}

impl Facts {
    fn collect(&mut self, block: &Block) {
        for s in &block.stmts {
            match s {
                Stmt::Read { access, .. } => *self.reads.entry(access.binding).or_default() += 1,
                Stmt::Write { access, .. } => {
                    self.written.insert(access.binding);
                }
                Stmt::Let { binding, name, .. } => {
                    self.written.insert(*binding);
                    *self.declared.entry(name.to_string()).or_default() += 1;
                }
                Stmt::Verbatim { binds, assigns, .. } => {
                    for (b, name) in binds {
                        self.written.insert(*b);
                        *self.declared.entry(name.to_string()).or_default() += 1;
                    }
                    self.written.extend(assigns.iter().map(|(b, _)| *b));
                }
                Stmt::Passive { temp, expr, impure: false, .. } => {
                    if let Ok(ident) = syn::parse2::<proc_macro2::Ident>(expr.clone()) {
                        self.idents.insert(*temp, ident.to_string());
                    }
                }
                Stmt::Branch(b) => b.arms.iter().for_each(|arm| self.collect(arm)),
                Stmt::Loop(l) => {
                    self.written.extend(l.taped.iter().map(|(b, _)| *b));
                    self.collect(&l.body);
                }
                Stmt::Passive { .. } | Stmt::Compute { .. } | Stmt::Call { .. } => {}
            }
        }
    }

    fn select(&self, block: &Block, params: &HashSet<BindingId>, loops: &mut Vec<LoopVar>, out: &mut HashSet<Temp>) {
        for s in &block.stmts {
            match s {
                Stmt::Read { temp, access }
                    if !access.path.is_empty()
                        && params.contains(&access.binding)
                        && !self.written.contains(&access.binding)
                        && self.reads.get(&access.binding) == Some(&1)
                        && loops.iter().all(|l| self.indexes(access, l)) =>
                {
                    out.insert(*temp);
                }
                Stmt::Branch(b) => b.arms.iter().for_each(|arm| self.select(arm, params, loops, out)),
                Stmt::Loop(l) => {
                    // A loop that is not a range names no place: what it reaches, it may reach
                    // again (`index` of a fresh temporary matches no index).
                    let index = match l.head {
                        LoopHead::Range { index, .. } => index,
                        _ => usize::MAX,
                    };
                    let name = match l.body.stmts.first() {
                        Some(Stmt::Verbatim { binds, tokens, .. }) if binds.len() == 1 => {
                            let index_name = crate::names::temp(index).to_string();
                            let binds_index = tokens.clone().into_iter().any(|t| t.to_string() == index_name);
                            binds_index.then(|| binds[0].1.to_string())
                        }
                        _ => None,
                    };
                    loops.push(LoopVar { index, name });
                    self.select(&l.body, params, loops, out);
                    loops.pop();
                }
                _ => {}
            }
        }
    }

    /// Whether an index of `access` names loop `l`'s variable.
    fn indexes(&self, access: &Access, l: &LoopVar) -> bool {
        access.path.iter().any(|p| match p {
            Proj::Index(t) => {
                *t == l.index
                    || l.name
                        .as_ref()
                        .is_some_and(|name| self.idents.get(t) == Some(name) && self.declared.get(name) == Some(&1))
            }
            _ => false,
        })
    }
}
