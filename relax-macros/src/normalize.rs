//! Early exits, rewritten before lowering so that control flow is structured: every block ends in
//! its value, and a loop ends its iterations only at their end.
//!
//! * `if c { return a; } rest` becomes `if c { a } else { rest }`; likewise for `match` arms, and
//!   for `continue` (the rest of the iteration moves into the branch that does not continue).
//! * `break` sets a flag declared at the start of the loop's body and skips the rest of the
//!   iteration; the loop is marked (with the internal attribute `#[relax_exit(flags)]`) to end
//!   after an iteration that set one of its exit flags. Lowering reads the mark: the generated
//!   forward sweep checks the flags at the end of each iteration, and the adjoint replays exactly
//!   the iterations that ran.
//! * `return a` inside loops sets `ret = a; done = true`, ends every loop around it the same way,
//!   and the function continues with `if done { ret } else { rest }`.
//! * An exit that leaves nested loops (`break 'outer`, `continue 'outer`, `return`) sets the
//!   target's flag; each loop it crosses ends on that flag, and the rest after each crossed loop
//!   is skipped while the flag is set.
//!
//! The flags are ordinary `bool` bindings: loops that need them per iteration store them like any
//! other binding. Only the generated functions see the rewritten body; the original keeps its
//! exits.

use proc_macro2::Span;
use quote::format_ident;
use syn::visit::Visit;
use syn::{Block, Expr, Ident, Lifetime, Stmt};

/// The name of the internal attribute that marks a loop's exit flags.
pub const EXIT_ATTR: &str = "relax_exit";

/// Whether `name` is one `normalize` gives: an exit flag, a return slot, a marker (all start
/// with `__relax_`, which user code does not use).
pub fn is_rewritten(name: &proc_macro2::Ident) -> bool {
    name.to_string().starts_with("__relax_")
}

/// The marker of a branch that returned early (see `branch_with_rest`); like the exit flags, its
/// name starts with `__relax_`.
pub const RETURNS: &str = "__relax_returns";

/// A loop around the statements being rewritten.
struct Frame {
    label: Option<Lifetime>,
    /// Set by `break` of this loop; declared at the start of its body.
    brk: Ident,
    /// Set by `continue` of this loop from inside a nested loop.
    cont: Ident,
    uses_brk: bool,
    uses_cont: bool,
    /// Flags of exits from inside this loop to outside it: the loop ends when one is set.
    escapes: Vec<Ident>,
}

struct Rewriter<'a> {
    output: &'a syn::Type,
    krate: &'a syn::Path,
    loops: Vec<Frame>,
    /// `ret` and `done` of the outermost loop that holds a `return`, while inside it.
    ret: Option<(Ident, Ident)>,
    next: usize,
    /// Rewriting the blocks of an expression (a `let` initialiser): a `return` there leaves the
    /// function from inside an expression, and is left as written.
    in_expression: bool,
}

/// The function's statements with every early exit rewritten (see the module docs).
pub fn exits(stmts: &[Stmt], output: &syn::Type, krate: &syn::Path) -> Vec<Stmt> {
    Rewriter { output, krate, loops: Vec::new(), ret: None, next: 0, in_expression: false }.rewrite(stmts)
}

/// A block of `stmts`.
pub fn block(stmts: Vec<Stmt>) -> Block {
    Block { brace_token: Default::default(), stmts }
}

/// A block expression of `stmts`.
pub fn block_expr(stmts: Vec<Stmt>) -> Expr {
    Expr::Block(syn::ExprBlock { attrs: Vec::new(), label: None, block: block(stmts) })
}

/// The exits in a statement that leave it: `return`, and `break`/`continue` of loops outside it.
/// Closures and nested items are not looked into.
fn escaping_exit(stmt: &Stmt) -> bool {
    struct Finder {
        found: bool,
        /// Labels of loops inside the statement, and how many unlabelled loops enclose the visit.
        labels: Vec<Option<Lifetime>>,
    }
    impl Finder {
        fn targets_inside(&self, label: Option<&Lifetime>) -> bool {
            match label {
                None => !self.labels.is_empty(),
                Some(l) => self.labels.iter().flatten().any(|x| x.ident == l.ident),
            }
        }
        fn in_loop(&mut self, label: Option<&syn::Label>, visit: impl FnOnce(&mut Self)) {
            self.labels.push(label.map(|l| l.name.clone()));
            visit(self);
            self.labels.pop();
        }
    }
    impl<'a> Visit<'a> for Finder {
        fn visit_expr_return(&mut self, _: &'a syn::ExprReturn) {
            self.found = true;
        }
        fn visit_expr_break(&mut self, b: &'a syn::ExprBreak) {
            self.found |= !self.targets_inside(b.label.as_ref());
        }
        fn visit_expr_continue(&mut self, c: &'a syn::ExprContinue) {
            self.found |= !self.targets_inside(c.label.as_ref());
        }
        fn visit_expr_for_loop(&mut self, f: &'a syn::ExprForLoop) {
            self.visit_expr(&f.expr);
            self.in_loop(f.label.as_ref(), |s| s.visit_block(&f.body));
        }
        fn visit_expr_while(&mut self, w: &'a syn::ExprWhile) {
            self.in_loop(w.label.as_ref(), |s| {
                s.visit_expr(&w.cond);
                s.visit_block(&w.body)
            });
        }
        fn visit_expr_loop(&mut self, l: &'a syn::ExprLoop) {
            self.in_loop(l.label.as_ref(), |s| s.visit_block(&l.body));
        }
        fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut f = Finder { found: false, labels: Vec::new() };
    f.visit_stmt(stmt);
    f.found
}

/// The body of a statement-level loop, and a way to put a rewritten one back.
fn loop_parts(e: &Expr) -> Option<(Option<&syn::Label>, &Block)> {
    match e {
        Expr::ForLoop(f) => Some((f.label.as_ref(), &f.body)),
        Expr::While(w) => Some((w.label.as_ref(), &w.body)),
        Expr::Loop(l) => Some((l.label.as_ref(), &l.body)),
        _ => None,
    }
}

/// `a || b || …` of flags.
fn any_of(flags: &[Ident]) -> Expr {
    syn::parse_quote!(#(#flags)||*)
}

impl Rewriter<'_> {
    fn fresh(&mut self, what: &str) -> Ident {
        self.next += 1;
        format_ident!("__relax_{}{}", what, self.next, span = Span::call_site())
    }

    /// The loop an unlabelled or labelled `break`/`continue` leaves, as an index into `loops`.
    fn target(&self, label: Option<&Lifetime>) -> Option<usize> {
        match label {
            None => self.loops.len().checked_sub(1),
            Some(l) => self.loops.iter().rposition(|f| f.label.as_ref().is_some_and(|x| x.ident == l.ident)),
        }
    }

    /// Notes that an exit setting `flag` leaves every loop inside loop `target` (exclusive).
    fn escape_from(&mut self, target: usize, flag: &Ident) {
        for f in &mut self.loops[target + 1..] {
            if !f.escapes.contains(flag) {
                f.escapes.push(flag.clone());
            }
        }
    }

    fn rewrite(&mut self, stmts: &[Stmt]) -> Vec<Stmt> {
        let mut out = Vec::new();
        for (i, stmt) in stmts.iter().enumerate() {
            let rest = &stmts[i + 1..];
            match stmt {
                Stmt::Expr(Expr::Return(_), _) if self.in_expression && self.loops.is_empty() => out.push(stmt.clone()),
                Stmt::Expr(Expr::Return(ret), _) => {
                    match (&ret.expr, self.loops.is_empty(), self.ret.clone()) {
                        (Some(value), true, _) => out.push(Stmt::Expr((**value).clone(), None)),
                        (Some(value), false, Some((r, done))) => {
                            out.push(syn::parse_quote!(#r = #value;));
                            out.push(syn::parse_quote!(#done = true;));
                            for f in &mut self.loops {
                                if !f.escapes.contains(&done) {
                                    f.escapes.push(done.clone());
                                }
                            }
                        }
                        // `return;` in a function with a value: rustc reports it on the original.
                        _ => out.push(stmt.clone()),
                    }
                    return out;
                }
                Stmt::Expr(Expr::Break(b), _) if b.expr.is_none() => {
                    let Some(t) = self.target(b.label.as_ref()) else {
                        out.push(stmt.clone());
                        return out;
                    };
                    self.loops[t].uses_brk = true;
                    let flag = self.loops[t].brk.clone();
                    self.escape_from(t, &flag);
                    out.push(syn::parse_quote!(#flag = true;));
                    return out;
                }
                Stmt::Expr(Expr::Continue(c), _) => {
                    let Some(t) = self.target(c.label.as_ref()) else {
                        out.push(stmt.clone());
                        return out;
                    };
                    if t + 1 < self.loops.len() {
                        self.loops[t].uses_cont = true;
                        let flag = self.loops[t].cont.clone();
                        self.escape_from(t, &flag);
                        out.push(syn::parse_quote!(#flag = true;));
                    }
                    return out;
                }
                Stmt::Expr(e @ (Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_)), _) => {
                    self.rewrite_loop(e, rest, &mut out);
                    return out;
                }
                Stmt::Expr(Expr::If(if_expr), semi) => {
                    if escaping_exit(stmt) {
                        let rewritten = Expr::If(self.branch_with_rest(if_expr, rest));
                        out.push(Stmt::Expr(rewritten, self.tail_semi()));
                        return out;
                    }
                    out.push(Stmt::Expr(Expr::If(self.nested_if(if_expr)), *semi));
                }
                Stmt::Expr(Expr::Match(m), semi) => {
                    if escaping_exit(stmt) {
                        let rewritten = Expr::Match(self.arms_with_rest(m, rest));
                        out.push(Stmt::Expr(rewritten, self.tail_semi()));
                        return out;
                    }
                    let mut m = m.clone();
                    for arm in &mut m.arms {
                        *arm.body = block_expr(self.rewrite(&arm_stmts(&arm.body)));
                    }
                    out.push(Stmt::Expr(Expr::Match(m), *semi));
                }
                Stmt::Expr(Expr::Block(b), semi) if b.label.is_none() => {
                    if escaping_exit(stmt) {
                        let mut all = b.block.stmts.clone();
                        end_statement(&mut all, rest);
                        all.extend_from_slice(rest);
                        out.extend(self.rewrite(&all));
                        return out;
                    }
                    let mut b = b.clone();
                    b.block.stmts = self.rewrite(&b.block.stmts);
                    out.push(Stmt::Expr(Expr::Block(b), *semi));
                }
                Stmt::Local(local) if local.init.as_ref().is_some_and(|i| contains_loop(&i.expr)) => {
                    // Loops inside an initialiser's blocks are rewritten in a context of their
                    // own: exits out of the expression are left as written (lowering reports them).
                    let mut local = local.clone();
                    let mut nested = Rewriter {
                        output: self.output,
                        krate: self.krate,
                        loops: Vec::new(),
                        ret: None,
                        next: self.next,
                        in_expression: true,
                    };
                    if let Some(init) = &mut local.init {
                        syn::visit_mut::VisitMut::visit_expr_mut(&mut NestedBlocks(&mut nested), &mut init.expr);
                    }
                    self.next = nested.next;
                    out.push(Stmt::Local(local));
                }
                _ => out.push(stmt.clone()),
            }
        }
        out
    }

    /// A branch that continues with the rest of a function ends in the function's value; inside
    /// a loop, in nothing.
    fn tail_semi(&self) -> Option<syn::Token![;]> {
        if self.loops.is_empty() { None } else { Some(Default::default()) }
    }

    /// An `if` without exits that leave it: its branches rewritten in place (loops inside them).
    fn nested_if(&mut self, if_expr: &syn::ExprIf) -> syn::ExprIf {
        let mut out = if_expr.clone();
        out.then_branch = block(self.rewrite(&if_expr.then_branch.stmts));
        if let Some((token, e)) = &if_expr.else_branch {
            let rewritten = match &**e {
                Expr::If(inner) => Expr::If(self.nested_if(inner)),
                other => block_expr(self.rewrite(&arm_stmts(other))),
            };
            out.else_branch = Some((*token, Box::new(rewritten)));
        }
        out
    }

    /// `if c { A } else { B }` followed by `rest`: `if c { A; rest } else { B; rest }`. Outside
    /// loops, where a `return` becomes its arm's value, an arm that returned before `rest` starts
    /// with the marker [`RETURNS`] (a unit `let`), which tells the relaxation that it cannot be
    /// blended: it skips `rest`, which blending both arms would run.
    fn branch_with_rest(&mut self, if_expr: &syn::ExprIf, rest: &[Stmt]) -> syn::ExprIf {
        let mut out = if_expr.clone();
        let else_stmts: Vec<Stmt> = match &if_expr.else_branch {
            Some((_, e)) => arm_stmts(e),
            None => Vec::new(),
        };
        let mut arm = |stmts: &[Stmt]| {
            let mut arm = self.with_rest(stmts, rest);
            if self.loops.is_empty() && !rest.is_empty() && stmts.iter().any(escaping_exit) {
                let marker = format_ident!("{}", RETURNS);
                arm.insert(0, syn::parse_quote!(let #marker = ();));
            }
            arm
        };
        out.then_branch = block(arm(&if_expr.then_branch.stmts));
        let else_token = if_expr.else_branch.as_ref().map_or_else(Default::default, |(t, _)| *t);
        out.else_branch = Some((else_token, Box::new(block_expr(arm(&else_stmts)))));
        out
    }

    /// `match e { p => A, … }` followed by `rest`: `match e { p => { A; rest }, … }`.
    fn arms_with_rest(&mut self, m: &syn::ExprMatch, rest: &[Stmt]) -> syn::ExprMatch {
        let mut out = m.clone();
        for arm in &mut out.arms {
            let stmts = arm_stmts(&arm.body);
            *arm.body = block_expr(self.with_rest(&stmts, rest));
            arm.comma = Some(Default::default());
        }
        out
    }

    fn with_rest(&mut self, stmts: &[Stmt], rest: &[Stmt]) -> Vec<Stmt> {
        let mut all = stmts.to_vec();
        end_statement(&mut all, rest);
        all.extend_from_slice(rest);
        self.rewrite(&all)
    }

    /// A loop statement and what follows it.
    fn rewrite_loop(&mut self, e: &Expr, rest: &[Stmt], out: &mut Vec<Stmt>) {
        let (label, body) = loop_parts(e).expect("a loop");
        let (brk, cont) = (self.fresh("brk"), self.fresh("cont"));
        let outermost_with_return = self.ret.is_none() && escaping_exit(&Stmt::Expr(e.clone(), None)) && {
            let mut finder = ReturnFinder(false);
            finder.visit_expr(e);
            finder.0
        };
        if outermost_with_return {
            let (r, done) = (self.fresh("ret"), self.fresh("done"));
            let (output, krate) = (self.output, self.krate);
            out.push(syn::parse_quote!(let mut #r: #output = #krate::Tangent::zero_tangent();));
            out.push(syn::parse_quote!(let mut #done = false;));
            self.ret = Some((r, done));
        }
        self.loops.push(Frame {
            label: label.map(|l| l.name.clone()),
            brk,
            cont,
            uses_brk: false,
            uses_cont: false,
            escapes: Vec::new(),
        });
        let mut stmts = self.rewrite(&body.stmts);
        let frame = self.loops.pop().expect("pushed above");
        let mut flags = frame.escapes.clone();
        let mut decls: Vec<Stmt> = Vec::new();
        for (used, flag) in [(frame.uses_brk, &frame.brk), (frame.uses_cont, &frame.cont)] {
            if used {
                decls.push(syn::parse_quote!(let mut #flag = false;));
            }
        }
        if frame.uses_brk {
            flags.insert(0, frame.brk.clone());
        }
        decls.append(&mut stmts);
        let mut looped = e.clone();
        let exit_attr: Option<syn::Attribute> = (!flags.is_empty()).then(|| {
            let attr = format_ident!("{}", EXIT_ATTR);
            let cond = any_of(&flags);
            syn::parse_quote!(#[#attr(#cond)])
        });
        match &mut looped {
            Expr::ForLoop(f) => {
                f.label = None;
                f.body = block(decls);
                f.attrs.extend(exit_attr);
            }
            Expr::While(w) => {
                w.label = None;
                w.body = block(decls);
                w.attrs.extend(exit_attr);
            }
            Expr::Loop(l) => {
                l.label = None;
                l.body = block(decls);
                l.attrs.extend(exit_attr);
            }
            _ => unreachable!("a loop"),
        }
        out.push(Stmt::Expr(looped, Some(Default::default())));
        // Exits that leave this loop skip what follows it too.
        let escapes = frame.escapes;
        if outermost_with_return {
            let (r, done) = self.ret.take().expect("set above");
            let tail: Expr = if rest.is_empty() {
                syn::parse_quote!(#r)
            } else {
                let rest = self.rewrite(rest);
                syn::parse_quote!(if #done { #r } else { #(#rest)* })
            };
            out.push(Stmt::Expr(tail, None));
        } else if !escapes.is_empty() && !rest.is_empty() {
            let rest = self.rewrite(rest);
            let cond = any_of(&escapes);
            out.push(syn::parse_quote!(if !(#cond) { #(#rest)* }));
        } else {
            out.extend(self.rewrite(rest));
        }
    }
}

struct ReturnFinder(bool);

impl<'a> Visit<'a> for ReturnFinder {
    fn visit_expr_return(&mut self, _: &'a syn::ExprReturn) {
        self.0 = true;
    }
    fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
    fn visit_item(&mut self, _: &'a syn::Item) {}
}

/// The statements of a branch or an arm.
fn arm_stmts(e: &Expr) -> Vec<Stmt> {
    match e {
        Expr::Block(b) if b.label.is_none() => b.block.stmts.clone(),
        other => vec![Stmt::Expr(other.clone(), None)],
    }
}

/// A branch's value in statement position is dropped: it continues with `rest`.
fn end_statement(stmts: &mut [Stmt], rest: &[Stmt]) {
    if let Some(Stmt::Expr(e, semi @ None)) = stmts.last_mut()
        && !rest.is_empty()
        && !matches!(e, Expr::Return(_) | Expr::Break(_) | Expr::Continue(_))
    {
        *semi = Some(Default::default());
    }
}

/// A loop somewhere in `e`, outside closures and nested items.
fn contains_loop(e: &Expr) -> bool {
    struct Finder(bool);
    impl<'a> Visit<'a> for Finder {
        fn visit_expr_for_loop(&mut self, _: &'a syn::ExprForLoop) {
            self.0 = true;
        }
        fn visit_expr_while(&mut self, _: &'a syn::ExprWhile) {
            self.0 = true;
        }
        fn visit_expr_loop(&mut self, _: &'a syn::ExprLoop) {
            self.0 = true;
        }
        fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut f = Finder(false);
    f.visit_expr(e);
    f.0
}

/// Rewrites the statements of every block of an expression (not inside closures or items).
struct NestedBlocks<'r, 'a>(&'r mut Rewriter<'a>);

impl syn::visit_mut::VisitMut for NestedBlocks<'_, '_> {
    fn visit_block_mut(&mut self, b: &mut Block) {
        b.stmts = self.0.rewrite(&b.stmts);
    }
    fn visit_expr_closure_mut(&mut self, _: &mut syn::ExprClosure) {}
    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
}
