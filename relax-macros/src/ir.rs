//! The intermediate form between the parser and the code generators: a function body as a tree
//! of blocks of simple statements over numbered temporaries. Active operations name their operands
//! by temporary and their derivative by a relax-core pullback; passive code is kept as tokens.
//!
//! A generator (the forward and adjoint sweeps here; a forward-mode `_jvp` later) reads this form
//! and nothing else.

use proc_macro2::TokenStream;
use syn::Ident;

/// A temporary: `__t{n}` in generated code, its adjoint `__d{n}`.
pub type Temp = usize;

/// A user binding (parameter, `let`, loop variable); its adjoint is `__b{n}`.
pub type BindingId = usize;

/// One step into a value: an element (by a passive index temporary) or a field.
#[derive(Clone)]
pub enum Proj {
    Index(Temp),
    Field(syn::Member),
}

/// A place in a user binding: `x`, `x[i][j]`, `p.w[i]`, or `*x` for a reference.
#[derive(Clone)]
pub struct Access {
    pub binding: BindingId,
    pub name: Ident,
    /// The steps from the binding to the place, outermost first.
    pub path: Vec<Proj>,
    /// The binding is a reference: read through it.
    pub deref: bool,
}

/// How a write combines with the place's old value.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    Set,
    Add,
    Sub,
}

/// An operation on temporaries whose derivative is a relax-core pullback.
#[derive(Clone)]
pub enum Op {
    /// `a + b` and friends; `pullback` is the name in `relax_core::ops`.
    Binary { op: syn::BinOp, pullback: &'static str },
    /// `-a`.
    Neg,
    /// `recv.name(args…)`; `float_args[k]` says whether argument `k` (receiver first) is a float.
    Method { name: Ident, float_args: Vec<bool> },
    /// A rule of relax-core: `path(args…)`, pullback `path_vjp`; `float_args` as for methods.
    /// With a `residual` (the softmax family), the adjoint calls `path_bwd` on it.
    Rule { name: Ident, generics: TokenStream, float_args: Vec<bool>, residual: Option<Residual> },
    /// `[a, b, …]`.
    Array,
    /// `[a; len]`.
    Repeat { len: TokenStream },
    /// `(a, b, …)`.
    Tuple,
    /// `a[i].f.0` of a temporary: elements and fields.
    Project { path: Vec<Proj> },
    /// `Path { f: a, g: b }`, a struct literal: `args[k]` is field `fields[k]`.
    Struct { path: TokenStream, fields: Vec<syn::Member> },
    /// A copy of `a` that its consumers use long after it was taken (a `for v in a` over an
    /// array the loop may change).
    Copy,
    /// A hard operation on active values that only a `relaxed` function takes: its gradient is
    /// zero almost everywhere, so only its relaxation is ever emitted (see `relax`).
    Hard(Hard),
}

/// Where a rule's residual comes from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ResidualSource {
    /// The forward sweep calls `path_fwd` and keeps it.
    Fwd,
    /// The forward sweep calls `path_fwd_first`, whose residual keeps only what the `_first`
    /// pullbacks read (the later arguments are constant, and no rule that shares it reads more).
    FwdFirst,
    /// An earlier rule's, of the same arguments: the forward sweep takes the value from it with
    /// `path_from`.
    Shared,
}

/// A rule's residual (see [`Op::Rule`]): the temporary that holds it, and where it comes from.
#[derive(Clone, Copy, Debug)]
pub struct Residual {
    pub temp: Temp,
    pub source: ResidualSource,
}

impl Residual {
    /// Whether the forward sweep computes this residual here (rather than sharing an earlier one).
    pub fn computed_here(&self) -> bool {
        self.source != ResidualSource::Shared
    }
}

/// The hard operations of SPEC's relaxation table that 0.1 rejects.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Hard {
    /// `x.round()`, `x.floor()`, `x.ceil()`, `x.signum()`: the method's name.
    Step(&'static str),
    /// `(a > b) as u8 as T` and friends, with `>`/`>=` as `Greater`, `<`/`<=` as `Less`;
    /// `or_equal` for `>=` and `<=`.
    Compare { way: Comparison, or_equal: bool },
    /// `argmax(x) as T`.
    ArgmaxIndex,
    /// `one_hot(argmax(x))`.
    OneHotArgmax,
    /// `y[argmax(x)]`: arguments `y`, `x`.
    IndexArgmax,
}

/// Which way a comparison of two values goes: `a > b` (or `>=`) or `a < b` (or `<=`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Comparison {
    Greater,
    Less,
}

/// An active binding that passive code reads (see [`Stmt::Passive`]).
#[derive(Clone)]
pub struct ActiveRead {
    pub name: Ident,
    /// The binding is a reference (`x: &[T; N]`): its values are read through one too.
    pub by_ref: bool,
}

/// An argument of a call of another differentiable function.
#[derive(Clone)]
pub enum CallArg {
    /// An active value, passed as the temporary.
    Active(Temp),
    /// `&e` of an active array, passed as `&temporary`.
    ActiveRef(Temp),
    /// Data, passed as written.
    Data(TokenStream),
}

/// One statement.
#[derive(Clone)]
pub enum Stmt {
    /// `let __t = expr;` for a passive expression. `impure` marks expressions that may have side
    /// effects (an RNG draw): they run once, and loops store their values.
    Passive {
        temp: Temp,
        expr: TokenStream,
        impure: bool,
        /// The active bindings the expression reads (a condition, or inside `stop_gradient`):
        /// the sweeps on duals evaluate it on their values, so that it type-checks as in the
        /// function (`dot([w, 0.5], c) > 0.0` with `w` a dual does not, nor a float function
        /// called on it) and a stopped value has no tangent there, as in `_jvp`.
        reads: Vec<ActiveRead>,
    },
    /// A passive statement of the user's, copied verbatim: `binds` are the bindings a `let`
    /// declares, `assigns` the bindings it writes to, `reads` the active bindings read by a
    /// statement that declares nothing (as an expression's, see [`Stmt::Passive`]; a `let`'s
    /// initialiser that reads any is a [`Stmt::Passive`] of its own).
    Verbatim {
        tokens: TokenStream,
        binds: Vec<(BindingId, Ident)>,
        assigns: Vec<(BindingId, Ident)>,
        impure: bool,
        reads: Vec<ActiveRead>,
    },
    /// `let __t = access;`
    Read {
        temp: Temp,
        access: Access,
    },
    /// `let __t = op(args…);`
    Compute {
        temp: Temp,
        op: Op,
        args: Vec<Temp>,
    },
    /// `let (__t, __p) = callee_fwd(args…);` where `__p` is the callee's pullback. With
    /// `recompute`, the forward sweep drops the pullback and the adjoint calls `callee_fwd` again
    /// (an argument borrows a temporary of the forward sweep).
    Call {
        temp: Temp,
        pullback: Temp,
        callee: TokenStream,
        args: Vec<CallArg>,
        impure: bool,
        recompute: bool,
    },
    /// `let [mut] name[: ty] = __t;`
    Let {
        binding: BindingId,
        name: Ident,
        mutable: bool,
        active: bool,
        ty: Option<Box<syn::Type>>,
        value: Temp,
    },
    /// `access = __t;`, `access += __t;`, `access -= __t;`
    Write {
        access: Access,
        mode: WriteMode,
        value: Temp,
    },
    Branch(Box<Branch>),
    Loop(Box<Loop>),
}

/// `if`/`else` or `match`, as a statement or with a result: one block per arm.
#[derive(Clone)]
pub struct Branch {
    pub id: usize,
    pub head: BranchHead,
    pub arms: Vec<Block>,
    /// The temporary that holds the branch's value.
    pub result: Option<Temp>,
}

/// How a branch chooses its arm (on passive values only).
#[derive(Clone)]
pub enum BranchHead {
    /// `if cond { arms[0] } else { arms[1] }`, with a passive `bool` temporary.
    If(Temp),
    /// `if a > b { arms[0] } else { arms[1] }` (also `>=`, `<`, `<=`) with an active side, in a
    /// `relaxed` function: `cond` as for `If`, and the compared values, for the relaxation.
    Compare { cond: Temp, way: Comparison, lhs: Temp, rhs: Temp },
    /// `match scrutinee { patterns[k] => arms[k] }`: the scrutinee and the patterns (with their
    /// guards) as written; `guard_reads[k]` the active bindings pattern `k`'s guard reads (as an
    /// expression's, see [`Stmt::Passive`]).
    Match { scrutinee: TokenStream, patterns: Vec<TokenStream>, guard_reads: Vec<Vec<ActiveRead>> },
}

/// A loop: `for`, `while` or `loop`. Its iterations are counted; the adjoint replays exactly the
/// iterations that ran, backwards.
#[derive(Clone)]
pub struct Loop {
    pub id: usize,
    pub head: LoopHead,
    /// How many iterations the loop's storage holds, where it stores anything.
    pub bound: Option<Bound>,
    /// Flags (passive `bool` expressions) that end the loop after the iteration that set them:
    /// `break`, and exits that leave nested loops (see `normalize`).
    pub exit: Option<TokenStream>,
    pub body: Block,
    /// Outer bindings the body reads and writes: their value at the start of every iteration is
    /// stored (needs `bound`).
    pub taped: Vec<(BindingId, Ident)>,
    /// Outer bindings the body reads that may change after the loop: copied before it.
    pub snapshots: Vec<(BindingId, Ident)>,
    /// Statements of the body with side effects whose values are stored per iteration.
    pub impure: Vec<Temp>,
    /// An accumulation loop whose adjoint runs inside the forward sweep (see [`Fused`]).
    pub fused: Option<Fused>,
    /// Values of the body's library calls (`tanh`, `exp`, …; at its own level, in a loop with a
    /// compile-time bound not nested in another): stored per iteration, so that the adjoint
    /// loads them rather than compute them again.
    pub kept: Vec<Temp>,
}

/// What a loop iterates over.
#[derive(Clone)]
pub enum LoopHead {
    /// `for __i in lo..hi` (`for v in xs` is lowered to this form).
    Range { index: Temp, lo: Temp, hi: Temp },
    /// `while cond`, the condition passive and written as in the source; `reads` the active
    /// bindings it reads (as an `if`'s, see [`Stmt::Passive`]).
    While { cond: TokenStream, reads: Vec<ActiveRead> },
    /// `loop`: it ends through its exit flags.
    Infinite,
}

/// The size of a loop's per-iteration storage.
#[derive(Clone)]
pub struct Bound {
    pub len: TokenStream,
    /// The bound is `max_iter`, not the loop's own: running past it panics with this message.
    pub overflow: Option<String>,
}

/// A loop whose only active effect is `acc += …` (or `-=`) on one outer binding: each
/// iteration's adjoint, for a unit cotangent of `acc`, runs right after the iteration and adds
/// into a Jacobian per input; the adjoint sweep then scales those by `acc`'s adjoint. One pass,
/// like a hand-written gradient, and nothing stored per iteration.
#[derive(Clone)]
pub struct Fused {
    pub acc: (BindingId, Ident),
    /// The active outer bindings the body reads: `(binding, name, is a reference)`.
    pub inputs: Vec<(BindingId, Ident, bool)>,
}

/// A sequence of statements and the temporary that holds its value, if any.
#[derive(Clone, Default)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub result: Option<Temp>,
}

impl Block {
    /// Whether `pred` holds for a statement of the block, at any depth (loop bodies and branch
    /// arms included).
    pub fn any(&self, pred: &dyn Fn(&Stmt) -> bool) -> bool {
        self.stmts.iter().any(|s| {
            pred(s)
                || match s {
                    Stmt::Loop(l) => l.body.any(pred),
                    Stmt::Branch(b) => b.arms.iter().any(|arm| arm.any(pred)),
                    _ => false,
                }
        })
    }

    /// Holds nothing to differentiate: it can be emitted as written.
    pub fn is_passive(&self) -> bool {
        self.result.is_none() && self.stmts.iter().all(|s| matches!(s, Stmt::Verbatim { .. }))
    }
}

/// A lowered function body.
pub struct Body {
    pub block: Block,
    /// Whether each temporary is active (has an adjoint).
    pub active: Vec<bool>,
    /// The bindings of the parameters, in parameter order.
    pub params: Vec<BindingId>,
    /// The body holds a hard operation that only a relaxed function takes ([`Op::Hard`]). (A
    /// callee's hard operations are the callee's: a relaxed caller calls its smooth form.)
    pub hard: bool,
    /// The number of bindings: new ones are numbered from here.
    pub bindings: usize,
    /// Where each `if` on a comparison of active values is (by branch id), for the relaxation's
    /// errors.
    pub compare_ifs: std::collections::BTreeMap<usize, proc_macro2::Span>,
    /// Temporaries whose names the lowering wrote into tokens (a passive expression or a call's
    /// data built from temporaries): generated code must define them under their own names.
    pub named_in_tokens: std::collections::HashSet<Temp>,
    /// The names the function declares more than once: a later declaration may shadow a
    /// binding of such a name.
    pub redeclared: std::collections::HashSet<String>,
}

impl Block {
    /// The passive temporaries of the block (at any depth) computed by an expression with side
    /// effects: draws from an RNG. They hold values, never references.
    pub fn drawn(&self, out: &mut std::collections::HashSet<Temp>) {
        for s in &self.stmts {
            match s {
                Stmt::Passive { temp, impure: true, .. } => {
                    out.insert(*temp);
                }
                Stmt::Branch(b) => b.arms.iter().for_each(|arm| arm.drawn(out)),
                Stmt::Loop(l) => l.body.drawn(out),
                _ => {}
            }
        }
    }
}
