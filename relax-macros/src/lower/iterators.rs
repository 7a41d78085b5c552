//! `for` loops over iterator chains of arrays, rewritten as the index loops the lowering takes:
//! `xs.iter()`, `&xs`, `ys.iter_mut()`, `xs.windows(k)`, `xs.chunks_exact(k)`, `.copied()`,
//! `.cloned()`, `.into_iter()`, `.enumerate()`, `.zip(ys)`, `.rev()`, `.skip(k)`, `.take(n)` and
//! `.step_by(k)`, over places (`xs`, `p.w`, `m[k]`, `*r`); and ranges `lo..=hi` and `(lo..hi).rev()`.
//! So
//!
//! ```text
//! for (i, (&w, x)) in ws.iter().zip(xs).enumerate() { body }
//! ```
//!
//! becomes `for __relax_index0 in 0..min(ws.len(), xs.len()) { let i = __relax_index0; let w =
//! ws[__relax_index0]; let x = ForItem::for_item(&xs, __relax_index0); body }`: a differentiated
//! array's items are read by index (`ws[i]`, which the adjoint walks backwards), a data array's
//! with the type the iterator gives (`&T` by reference, `T` copied).
//!
//! The rewrite is syntactic, the same in every pass of the lowering. Only the generated functions
//! see it: the original keeps its loop, which rustc checks as written (so `.iter()`'s borrow
//! guarantees the body does not change the array it walks).

use super::*;
use syn::visit_mut::VisitMut;

/// How an iterator chain gives the items of an array.
#[derive(Clone, Copy, PartialEq)]
enum Items {
    /// `xs.iter()`, `&xs`: references.
    ByRef,
    /// `xs.iter_mut()`, `&mut xs`: references to write through, `*y = …`.
    ByMut,
    /// `.copied()`: values.
    Copied,
    /// `.cloned()`: clones.
    Cloned,
    /// `xs` as `IntoIterator` takes it (a `zip` argument, `.into_iter()`): the array's values,
    /// a reference's references.
    IntoIter,
}

/// An iterator chain over arrays.
enum Source<'a> {
    Array {
        place: &'a Expr,
        items: Items,
    },
    Enumerate(Box<Source<'a>>),
    Zip(Box<Source<'a>>, Box<Source<'a>>),
    Rev(Box<Source<'a>>),
    /// `xs.windows(k)` (`chunks: false`) and `xs.chunks_exact(k)`: views of `k` items.
    Windows {
        place: &'a Expr,
        size: &'a Expr,
        chunks: bool,
    },
    /// `.skip(k)`, `.take(n)`, `.step_by(k)`, with their argument.
    Skip(Box<Source<'a>>, &'a Expr),
    Take(Box<Source<'a>>, &'a Expr),
    StepBy(Box<Source<'a>>, &'a Expr),
}

/// `e` as an iterator chain, or `None` when it is not one.
fn chain(e: &Expr) -> Option<Source<'_>> {
    match strip(e) {
        Expr::Reference(r) => {
            let items = if r.mutability.is_some() { Items::ByMut } else { Items::ByRef };
            is_place(&r.expr).then_some(Source::Array { place: &r.expr, items })
        }
        Expr::MethodCall(m) if m.turbofish.is_none() => match (m.method.to_string().as_str(), m.args.len()) {
            ("iter", 0) => is_place(&m.receiver).then_some(Source::Array { place: &m.receiver, items: Items::ByRef }),
            ("iter_mut", 0) => {
                is_place(&m.receiver).then_some(Source::Array { place: &m.receiver, items: Items::ByMut })
            }
            ("windows" | "chunks_exact", 1) if is_place(&m.receiver) && rereadable(&m.args[0]) => {
                Some(Source::Windows { place: &m.receiver, size: &m.args[0], chunks: m.method == "chunks_exact" })
            }
            ("into_iter", 0) => into_iter(&m.receiver),
            ("copied" | "cloned", 0) => {
                let items = if m.method == "copied" { Items::Copied } else { Items::Cloned };
                by_value(chain(&m.receiver)?, items)
            }
            ("enumerate", 0) => Some(Source::Enumerate(Box::new(chain(&m.receiver)?))),
            ("rev", 0) => Some(Source::Rev(Box::new(chain(&m.receiver)?))),
            // Their argument is read again at each item: a literal, a name, `xs.len()`, ….
            ("skip" | "take" | "step_by", 1) if rereadable(&m.args[0]) => {
                let (inner, k) = (Box::new(chain(&m.receiver)?), &m.args[0]);
                Some(match m.method.to_string().as_str() {
                    "skip" => Source::Skip(inner, k),
                    "take" => Source::Take(inner, k),
                    _ => Source::StepBy(inner, k),
                })
            }
            ("zip", 1) => Some(Source::Zip(Box::new(chain(&m.receiver)?), Box::new(into_iter(&m.args[0])?))),
            _ => None,
        },
        _ => None,
    }
}

/// `let mut flag = false;` of an exit flag `normalize` declared.
fn is_exit_flag(stmt: &syn::Stmt) -> bool {
    matches!(stmt, syn::Stmt::Local(l) if matches!(&l.pat, Pat::Ident(p) if crate::normalize::is_rewritten(&p.ident)))
}

/// `chain.filter(p)` as `chain` and `p`; any other expression as itself, without a predicate.
fn filtered(e: &Expr) -> (&Expr, Option<&Expr>) {
    match strip(e) {
        Expr::MethodCall(m) if m.method == "filter" && m.args.len() == 1 && m.turbofish.is_none() => {
            (&m.receiver, Some(&m.args[0]))
        }
        _ => (e, None),
    }
}

/// `source`'s references, `.copied()` or `.cloned()`: through `.rev()`, `.skip(k)`, …, not past
/// a pair.
fn by_value(source: Source<'_>, items: Items) -> Option<Source<'_>> {
    fn inner(s: Source<'_>, items: Items) -> Option<Box<Source<'_>>> {
        by_value(s, items).map(Box::new)
    }
    Some(match source {
        Source::Array { place, items: Items::ByRef } => Source::Array { place, items },
        Source::Rev(s) => Source::Rev(inner(*s, items)?),
        Source::Skip(s, k) => Source::Skip(inner(*s, items)?, k),
        Source::Take(s, n) => Source::Take(inner(*s, items)?, n),
        Source::StepBy(s, k) => Source::StepBy(inner(*s, items)?, k),
        _ => return None,
    })
}

/// `e` as `IntoIterator` takes it: a chain, or an array's place.
fn into_iter(e: &Expr) -> Option<Source<'_>> {
    chain(e).or_else(|| is_place(e).then_some(Source::Array { place: strip(e), items: Items::IntoIter }))
}

/// `xs`, `p.w`, `m[k]`, `*r`: read again at each index, with no side effects.
fn is_place(e: &Expr) -> bool {
    place(strip_deref(e)).is_some()
}

/// `place[index]` (`(*r)[index]` for a dereference).
fn at(place: &Expr, index: &TokenStream) -> Expr {
    match strip(place) {
        Expr::Unary(_) => syn::parse_quote!((#place)[#index]),
        _ => syn::parse_quote!(#place[#index]),
    }
}

/// `for i in lo..=hi` as `for i in lo..hi + 1`, and `for i in (lo..hi).rev()` (or `lo..=hi`) as
/// `for index in lo..hi { let i = hi - 1 - (index - lo); … }`, where the bounds can be read again
/// (see [`rereadable`]); `None` for any other loop.
fn range_loop(f: &syn::ExprForLoop, index: &Ident) -> Option<syn::ExprForLoop> {
    let (range, reversed) = match strip(&f.expr) {
        Expr::MethodCall(m) if m.method == "rev" && m.args.is_empty() => (strip(&m.receiver), true),
        e => (e, false),
    };
    let Expr::Range(r) = range else { return None };
    let (Some(lo), Some(hi)) = (r.start.as_deref(), r.end.as_deref()) else { return None };
    let inclusive = matches!(r.limits, syn::RangeLimits::Closed(_));
    if !reversed && !inclusive {
        return None;
    }
    // A literal stays one, a compile-time bound the loop can store per iteration with.
    let end = match strip(hi) {
        Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(n), .. }) if inclusive => {
            let next = n.base10_parse::<u128>().ok()?.checked_add(1)?;
            syn::LitInt::new(&format!("{next}{}", n.suffix()), n.span()).into_token_stream()
        }
        _ if inclusive => quote!((#hi) + 1),
        _ => quote!(#hi),
    };
    let mut rewritten = f.clone();
    if !reversed {
        rewritten.expr = Box::new(syn::parse_quote_spanned!(f.expr.span()=> #lo..#end));
        return Some(rewritten);
    }
    if !rereadable(lo) || !rereadable(hi) {
        return None;
    }
    let from_zero = matches!(strip(lo), Expr::Lit(l) if l.lit.to_token_stream().to_string() == "0");
    let item = if from_zero { quote!(#end - 1 - #index) } else { quote!(#end - 1 - (#index - (#lo))) };
    let pat = &f.pat;
    rewritten.pat = Box::new(syn::parse_quote!(#index));
    rewritten.expr = Box::new(syn::parse_quote_spanned!(f.expr.span()=> #lo..#end));
    rewritten.body.stmts.insert(0, syn::parse_quote!(let #pat = #item;));
    Some(rewritten)
}

/// A loop bound that each iteration may evaluate again: literals, names, fields, `xs.len()`, and
/// sums, differences and products of those.
fn rereadable(e: &Expr) -> bool {
    match strip(e) {
        Expr::Lit(_) | Expr::Path(_) | Expr::Field(_) => true,
        Expr::MethodCall(m) => m.method == "len" && m.args.is_empty() && is_place(&m.receiver),
        Expr::Binary(b) => {
            matches!(b.op, BinOp::Add(_) | BinOp::Sub(_) | BinOp::Mul(_)) && rereadable(&b.left) && rereadable(&b.right)
        }
        _ => false,
    }
}

/// The names `block` assigns (`n = …`, `n += …`, `n[i] = …`) or borrows mutably (`&mut n`).
fn assigned_in(block: &syn::Block) -> Vec<Ident> {
    struct Assigned(Vec<Ident>);
    impl Visit<'_> for Assigned {
        fn visit_expr(&mut self, e: &Expr) {
            let target = match e {
                Expr::Assign(a) => Some(&*a.left),
                Expr::Binary(b) if is_compound(&b.op) => Some(&*b.left),
                Expr::Reference(r) if r.mutability.is_some() => Some(&*r.expr),
                _ => None,
            };
            if let Some((root, _)) = target.and_then(|t| place(strip_deref(t))) {
                self.0.push(root);
            }
            syn::visit::visit_expr(self, e);
        }
    }
    let mut found = Assigned(Vec::new());
    found.visit_block(block);
    found.0
}

impl Lowerer<'_> {
    /// Reports the bindings that `body` changes among those the rewritten loop reads again at
    /// each iteration (a reversed range's bounds, the arguments of `skip`, `take`, `step_by`).
    fn check_rereads(&mut self, source: &Expr, body: &syn::Block) {
        let mut rereads = Vec::new();
        let mut e = strip(source);
        while let Expr::MethodCall(m) = e {
            match (m.method.to_string().as_str(), m.args.first()) {
                ("skip" | "take" | "step_by" | "windows" | "chunks_exact", Some(k)) => rereads.push(k),
                ("zip", Some(other)) => self.check_rereads(other, body),
                _ => {}
            }
            e = strip(&m.receiver);
        }
        if let Expr::Range(r) = e {
            rereads.extend(r.start.as_deref().into_iter().chain(r.end.as_deref()));
        }
        let assigned = assigned_in(body);
        let changing = rereads
            .iter()
            .flat_map(|k| expr_mentions(k))
            .find(|id| self.lookup(id).is_some_and(|b| b.mutable) && assigned.contains(id));
        if let Some(id) = &changing {
            self.error(id.span(), format!("the loop changes `{id}`, which its rewriting into an index loop reads at every iteration: bind its value to another name before the loop"));
        }
    }
}

/// Items a loop reads or writes through a name rather than binding them: the name and its view.
type Views = Vec<(Ident, View)>;

/// What a loop item's name stands for in the body.
enum View {
    /// The item of `iter_mut()`: `*y` is this place.
    Through(Box<Expr>),
    /// A window or chunk of `size` items of `place` from `start`: `w[e]` is `place[start + e]`,
    /// `w.len()` is `size`.
    Window { place: Box<Expr>, start: TokenStream, size: Box<Expr> },
}

impl View {
    /// The hint for a use of the name the view does not cover.
    fn hint(&self, name: &Ident) -> String {
        match self {
            View::Through(_) => format!(
                "write the items of `iter_mut()` through `*{name}` (`*{name} = …`, `*{name} += …`): other uses of `{name}` are not supported around differentiated values"
            ),
            View::Window { .. } => format!(
                "read a window or chunk by index, `{name}[0]`, or its length, `{name}.len()`: other uses of `{name}` are not supported around differentiated values"
            ),
        }
    }
}

/// The uses of `name` in a loop body as its view says; the span of any other use.
struct ThroughView<'a> {
    name: &'a Ident,
    view: &'a View,
    other_use: Option<proc_macro2::Span>,
}

impl VisitMut for ThroughView<'_> {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        let name = self.name;
        let is_name = |e: &Expr| matches!(strip(e), Expr::Path(p) if p.path.is_ident(name));
        match (&*e, self.view) {
            (Expr::Unary(u), View::Through(place)) if matches!(u.op, UnOp::Deref(_)) && is_name(&u.expr) => {
                *e = (**place).clone();
                return;
            }
            (Expr::Index(ix), View::Window { place, start, .. }) if is_name(&ix.expr) => {
                let mut offset = (*ix.index).clone();
                self.visit_expr_mut(&mut offset);
                *e = at(place, &quote!(#start + (#offset)));
                return;
            }
            (Expr::MethodCall(m), View::Window { size, .. }) if m.method == "len" && is_name(&m.receiver) => {
                *e = syn::parse_quote!((#size));
                return;
            }
            (Expr::Path(p), _) if p.path.is_ident(name) => {
                self.other_use.get_or_insert(p.span());
            }
            _ => {}
        }
        syn::visit_mut::visit_expr_mut(self, e);
    }
}

/// `(a, b)` (in parentheses too): its two patterns.
fn pair(pat: &Pat) -> Option<(&Pat, &Pat)> {
    match pat {
        Pat::Paren(p) => pair(&p.pat),
        Pat::Tuple(t) if t.elems.len() == 2 && !matches!(t.elems[0], Pat::Rest(_)) => Some((&t.elems[0], &t.elems[1])),
        _ => None,
    }
}

impl Lowerer<'_> {
    /// A `for` loop over an iterator chain as an index loop over `0..len`, or `None` for any
    /// other loop (a range, `for v in xs`, an iterator this module does not know).
    pub(super) fn indexed_loop(&mut self, f: &syn::ExprForLoop) -> Option<syn::ExprForLoop> {
        let span = f.expr.span();
        let index = format_ident!("__relax_index{}", self.loops.len(), span = span);
        // The body must not change what the rewritten loop reads again (an error otherwise, and
        // the rewritten loop lowered all the same, for no second error about the loop).
        if let Some(range) = range_loop(f, &index) {
            if matches!(strip(&f.expr), Expr::MethodCall(_)) {
                self.check_rereads(&f.expr, &f.body);
            }
            return Some(range);
        }
        // `.filter(p)` last: the loop over what it filters, the body under `if p(&item)`.
        let (iterated, predicate) = filtered(&f.expr);
        let source = chain(iterated)?;
        self.check_rereads(iterated, &f.body);
        let len = self.chain_len(&source);
        let (mut lets, mut views) = (Vec::new(), Vec::new());
        self.bind_items(&source, &f.pat, &quote!(#index), &mut lets, &mut views);
        let mut indexed = f.clone();
        if let Some(predicate) = predicate {
            let Some(item) = self.item(&source, &quote!(#index)) else {
                self.error(predicate.span(), "`filter` of `iter_mut()`: test the item in the loop, `if … { *y = … }`");
                return None;
            };
            // The exit flags `normalize` declares at the start of the body stay outside the `if`:
            // the loop reads them after each iteration.
            let flags = f.body.stmts.iter().take_while(|s| is_exit_flag(s)).count();
            let (flags, body) = f.body.stmts.split_at(flags);
            let krate = self.krate;
            indexed.body = syn::parse_quote_spanned!(predicate.span()=> {
                #(#flags)*
                if #krate::tangent::filter_item(&#item, #predicate) { #(#body)* }
            });
        }
        for (name, view) in &views {
            let mut through = ThroughView { name, view, other_use: None };
            indexed.body.stmts.iter_mut().for_each(|s| through.visit_stmt_mut(s));
            if let Some(span) = through.other_use {
                self.error(span, view.hint(name));
            }
        }
        indexed.pat = Box::new(Pat::Ident(syn::PatIdent {
            attrs: Vec::new(),
            by_ref: None,
            mutability: None,
            ident: index,
            subpat: None,
        }));
        indexed.expr = Box::new(syn::parse_quote_spanned!(span=> 0..#len));
        lets.extend(indexed.body.stmts);
        indexed.body.stmts = lets;
        Some(indexed)
    }

    /// The item at `index` of `source` as the iterator gives it (what a `filter` predicate takes
    /// by reference); `None` for `iter_mut()`.
    fn item(&self, source: &Source, index: &TokenStream) -> Option<TokenStream> {
        let krate = self.krate;
        Some(match source {
            Source::Array { place, items } => {
                let at = at(place, index);
                match items {
                    Items::ByRef => quote!(&#at),
                    Items::Copied => quote!(#at),
                    Items::Cloned => quote!(::core::clone::Clone::clone(&#at)),
                    Items::IntoIter => quote!(#krate::ForItem::for_item(&#place, #index)),
                    Items::ByMut => return None,
                }
            }
            Source::Windows { place, size, chunks } => {
                let start = if *chunks { quote!((#index * (#size))) } else { index.clone() };
                quote!(&(#place)[#start..#start + (#size)])
            }
            Source::Enumerate(inner) => {
                let item = self.item(inner, index)?;
                quote!((#index, #item))
            }
            Source::Zip(a, b) => {
                let (a, b) = (self.item(a, index)?, self.item(b, index)?);
                quote!((#a, #b))
            }
            Source::Rev(inner) => {
                let len = self.chain_len(inner);
                self.item(inner, &quote!((#len - 1 - #index)))?
            }
            Source::Skip(inner, k) => self.item(inner, &quote!((#index + #k)))?,
            Source::Take(inner, _) => self.item(inner, index)?,
            Source::StepBy(inner, k) => self.item(inner, &quote!((#index * #k)))?,
        })
    }

    /// The number of items of `source`: `xs.len()`, the smaller of a `zip`'s two.
    fn chain_len(&self, source: &Source) -> TokenStream {
        match source {
            Source::Array { place, .. } => quote!((#place).len()),
            Source::Windows { place, size, chunks: false } => quote!(((#place).len() + 1).saturating_sub(#size)),
            Source::Windows { place, size, chunks: true } => quote!((#place).len() / (#size)),
            Source::Enumerate(inner) | Source::Rev(inner) => self.chain_len(inner),
            Source::Skip(inner, k) => {
                let len = self.chain_len(inner);
                quote!((#len).saturating_sub(#k))
            }
            Source::Take(inner, n) => {
                let len = self.chain_len(inner);
                quote!(::core::cmp::min(#len, #n))
            }
            Source::StepBy(inner, k) => {
                let len = self.chain_len(inner);
                quote!((#len).div_ceil(#k))
            }
            Source::Zip(a, b) => {
                let (la, lb) = (self.chain_len(a), self.chain_len(b));
                // Two arrays of one declared length: a compile-time bound, which lets the loop
                // store per iteration where it needs to.
                match (self.declared_len(a), self.declared_len(b)) {
                    (Some(na), Some(nb)) if na.to_string() == nb.to_string() => la,
                    _ => quote!(::core::cmp::min(#la, #lb)),
                }
            }
        }
    }

    /// The length the type of a chain's array binding declares.
    fn declared_len(&self, source: &Source) -> Option<TokenStream> {
        match source {
            Source::Array { place: Expr::Path(p), .. } => self.lookup(p.path.get_ident()?)?.array_len.clone(),
            Source::Enumerate(inner) | Source::Rev(inner) => self.declared_len(inner),
            _ => None,
        }
    }

    /// The `let`s that bind `pat` to the item at `index` of `source`.
    fn bind_items(
        &mut self,
        source: &Source,
        pat: &Pat,
        index: &TokenStream,
        lets: &mut Vec<syn::Stmt>,
        views: &mut Views,
    ) {
        match source {
            Source::Enumerate(inner) => match pair(pat) {
                Some((i, item)) => {
                    if !matches!(i, Pat::Wild(_)) {
                        lets.push(syn::parse_quote!(let #i = #index;));
                    }
                    self.bind_items(inner, item, index, lets, views);
                }
                None => {
                    self.error(pat.span(), "destructure what `enumerate` gives: `for (i, x) in xs.iter().enumerate()`")
                }
            },
            Source::Zip(a, b) => match pair(pat) {
                Some((pa, pb)) => {
                    self.bind_items(a, pa, index, lets, views);
                    self.bind_items(b, pb, index, lets, views);
                }
                None => self.error(pat.span(), "destructure what `zip` gives: `for (a, b) in xs.iter().zip(ys)`"),
            },
            Source::Rev(inner) => {
                let len = self.chain_len(inner);
                self.bind_items(inner, pat, &quote!((#len - 1 - #index)), lets, views);
            }
            Source::Skip(inner, k) => self.bind_items(inner, pat, &quote!((#index + #k)), lets, views),
            Source::Take(inner, _) => self.bind_items(inner, pat, index, lets, views),
            Source::StepBy(inner, k) => self.bind_items(inner, pat, &quote!((#index * #k)), lets, views),
            Source::Array { place, items: Items::ByMut } => match pat {
                Pat::Ident(p) if p.by_ref.is_none() && p.mutability.is_none() && p.subpat.is_none() => {
                    views.push((p.ident.clone(), View::Through(Box::new(at(place, index)))));
                }
                Pat::Wild(_) => {}
                _ => self
                    .error(pat.span(), "bind the items of `iter_mut()` to a name: `for y in ys.iter_mut() { *y = … }`"),
            },
            Source::Windows { place, size, chunks } => match pat {
                Pat::Ident(p) if p.by_ref.is_none() && p.mutability.is_none() && p.subpat.is_none() => {
                    let start = if *chunks { quote!((#index * (#size))) } else { index.clone() };
                    let (place, size) = (Box::new((*place).clone()), Box::new((*size).clone()));
                    views.push((p.ident.clone(), View::Window { place, start, size }));
                }
                Pat::Wild(_) => {}
                _ => self.error(pat.span(), "bind the windows to a name: `for w in xs.windows(2) { … w[0] … w[1] … }`"),
            },
            Source::Array { place, items } => self.bind_item(place, *items, pat, index, lets),
        }
    }

    /// `let pat = place[index];`, with the item's type: a differentiated array's items are values
    /// (a reference pattern `&x` binds the value), a data array's as the iterator gives them.
    fn bind_item(&mut self, place: &Expr, items: Items, pat: &Pat, index: &TokenStream, lets: &mut Vec<syn::Stmt>) {
        if matches!(pat, Pat::Wild(_)) {
            return;
        }
        let root = super::place(strip_deref(place)).and_then(|(r, _)| self.lookup(&r).cloned());
        let krate = self.krate;
        let item: Expr = match root.filter(|b| b.active) {
            Some(b) => {
                if items == Items::IntoIter && b.mutable {
                    // Iterated by value, the array is a copy the body may change: by index, it
                    // would read the changes.
                    self.error(
                        place.span(),
                        format!(
                            "iterate over `{}.iter()`: `{0}` is `mut`, and the loop would walk a copy of it",
                            b.name
                        ),
                    );
                }
                match (items, pat) {
                    (Items::ByRef, Pat::Reference(r)) => {
                        let inner = &r.pat;
                        let item = at(place, index);
                        lets.push(syn::parse_quote!(let #inner = #item;));
                        return;
                    }
                    _ => at(place, index),
                }
            }
            None => {
                let item = at(place, index);
                match items {
                    Items::ByRef => syn::parse_quote!(&#item),
                    Items::Copied => item,
                    Items::Cloned => syn::parse_quote!(::core::clone::Clone::clone(&#item)),
                    Items::IntoIter => syn::parse_quote!(#krate::ForItem::for_item(&#place, #index)),
                    Items::ByMut => unreachable!("written through, not bound"),
                }
            }
        };
        lets.push(syn::parse_quote!(let #pat = #item;));
    }
}

/// The start of the name of a fold's result.
pub(super) const FOLD: &str = "__relax_fold";

/// A function of `arity` parameters passed to an iterator method, as parameter patterns (without
/// type ascriptions) and its body as statements, the last the body's value: a closure, or a path
/// (`f64::max`, `T::exp`) called on fresh names. `None` for a closure whose body returns (from
/// the closure, not the function it would be inlined into).
fn closure_parts(e: &Expr, arity: usize) -> Option<(Vec<Pat>, Vec<syn::Stmt>)> {
    let (params, stmts) = closure_body(e, arity)?;
    matches!(stmts.last(), Some(syn::Stmt::Expr(_, None))).then_some((params, stmts))
}

/// `chain.for_each(|x| …)` as the loop it is, `for x in chain { … }`; `None` for anything else.
pub(super) fn for_each_loop(m: &syn::ExprMethodCall) -> Option<syn::ExprForLoop> {
    if m.method != "for_each" || m.args.len() != 1 {
        return None;
    }
    let (params, stmts) = closure_body(&m.args[0], 1)?;
    let (pat, chain) = (&params[0], &m.receiver);
    Some(syn::parse_quote_spanned!(m.method.span()=> for #pat in #chain { #(#stmts)* }))
}

/// [`closure_parts`] with any body, a value at its end or not.
fn closure_body(e: &Expr, arity: usize) -> Option<(Vec<Pat>, Vec<syn::Stmt>)> {
    let c = match strip(e) {
        Expr::Closure(c) if c.inputs.len() == arity => c,
        Expr::Path(f) => {
            let args: Vec<Ident> = (0..arity).map(|k| format_ident!("__relax_arg{k}", span = f.span())).collect();
            let params = args.iter().map(|a| syn::parse_quote!(#a)).collect();
            return Some((params, vec![syn::Stmt::Expr(syn::parse_quote!(#f(#(#args),*)), None)]));
        }
        _ => return None,
    };
    if closures::returns(&c.body) || c.asyncness.is_some() {
        return None;
    }
    let params = c
        .inputs
        .iter()
        .map(|p| match p {
            Pat::Type(t) => (*t.pat).clone(),
            p => p.clone(),
        })
        .collect();
    let stmts = match &*c.body {
        Expr::Block(b) if b.label.is_none() => b.block.stmts.clone(),
        e => vec![syn::Stmt::Expr(e.clone(), None)],
    };
    Some((params, stmts))
}

/// `stmts` with their last, the value, as `target = value;` (`+=`, `*=` as `op` says).
fn assign_value(mut stmts: Vec<syn::Stmt>, target: &TokenStream, op: TokenStream) -> Vec<syn::Stmt> {
    if let Some(syn::Stmt::Expr(value, None)) = stmts.pop() {
        stmts.push(syn::parse_quote!(#target #op #value;));
    }
    stmts
}

impl Lowerer<'_> {
    /// Iterator folds and an array's `map` as the loops they are, lowered into `out` before the
    /// expression that reads their result (bit for bit what the library computes: `Sum` of
    /// floats folds from `−0.0`, `Product` from `1.0`, both in the items' order):
    ///
    /// * `chain.sum()`, `chain.product()`, `chain.map(|x| e).sum()` (or `.product()`):
    ///   `let mut acc = −0.0; for x in chain { acc += e; }`;
    /// * `chain.fold(init, |acc, x| e)`: `let mut a = init; for x in chain { let acc = a; a = e; }`;
    /// * `xs.map(|x| e)` of an array: `let mut ys = xs; for i in 0..ys.len() { let x = ys[i];
    ///   ys[i] = e; }`.
    ///
    /// `None` for anything else.
    pub(super) fn lower_fold(&mut self, m: &syn::ExprMethodCall, out: &mut Block) -> Option<Value> {
        let result = format_ident!("{FOLD}{}", self.id(), span = m.span());
        let target = result.to_token_stream();
        let fold: [syn::Stmt; 2] = match (m.method.to_string().as_str(), m.args.len()) {
            (method @ ("sum" | "product"), 0) => {
                let (pat, body, source) = match strip(&m.receiver) {
                    Expr::MethodCall(map) if map.method == "map" && map.args.len() == 1 => {
                        let (params, body) = closure_parts(&map.args[0], 1)?;
                        let [param] = <[Pat; 1]>::try_from(params).ok()?;
                        (param, body, &*map.receiver)
                    }
                    source => {
                        let item = format_ident!("__relax_item{}", self.id(), span = m.span());
                        (syn::parse_quote!(#item), vec![syn::Stmt::Expr(syn::parse_quote!(#item), None)], source)
                    }
                };
                chain(filtered(source).0)?;
                let (init, op) = if method == "sum" { ("-0.0", quote!(+=)) } else { ("1.0", quote!(*=)) };
                let init = self.float_literal(init)?;
                let body = assign_value(body, &target, op);
                [syn::parse_quote!(let mut #result = #init;), syn::parse_quote!(for #pat in #source { #(#body)* })]
            }
            ("fold", 2) => {
                let source = &*m.receiver;
                chain(filtered(source).0)?;
                let (params, body) = closure_parts(&m.args[1], 2)?;
                let [acc, pat] = <[Pat; 2]>::try_from(params).ok()?;
                let init = &m.args[0];
                let body = assign_value(body, &target, quote!(=));
                [
                    syn::parse_quote!(let mut #result = #init;),
                    syn::parse_quote!(for #pat in #source { let #acc = #result; #(#body)* }),
                ]
            }
            ("map", 1) if chain(&m.receiver).is_none() => {
                let (params, body) = closure_parts(&m.args[0], 1)?;
                let [pat] = <[Pat; 1]>::try_from(params).ok()?;
                // The loop writes the results into a copy of the array: of another type, they
                // need one declared.
                if let Some(syn::Stmt::Expr(value, None)) = body.last()
                    && matches!(strip(value), Expr::Tuple(_) | Expr::Array(_) | Expr::Repeat(_) | Expr::Struct(_))
                {
                    self.error(
                        value.span(),
                        "an array's `map` into items of another type: declare the result's type and fill it with \
                         `core::array::from_fn`, `let y: [[f64; 2]; N] = core::array::from_fn(|i| { let v = x[i]; [v, v * v] });`",
                    );
                    return Some(Value::Passive(Box::new(Expr::MethodCall(m.clone()))));
                }
                let array = &m.receiver;
                // The array by value: data may be a reference to one (`map` copies it out), a
                // differentiated reference is read through.
                let by_ref = place(array).and_then(|(root, _)| self.lookup(&root)).is_some_and(|b| b.deref);
                let copy: Expr = if !self.mentions_active(array) {
                    syn::parse_quote!(#array.map(|item| item))
                } else if by_ref {
                    syn::parse_quote!(*#array)
                } else {
                    (**array).clone()
                };
                let index = format_ident!("__relax_index{}", self.loops.len(), span = m.span());
                let body = assign_value(body, &quote!(#result[#index]), quote!(=));
                // The array's own length where its type declares one: a compile-time bound.
                let len = if place(array).is_some() { quote!((#array).len()) } else { quote!(#result.len()) };
                [
                    syn::parse_quote!(let mut #result = #copy;),
                    syn::parse_quote!(for #index in 0..#len { let #pat = #result[#index]; #(#body)* }),
                ]
            }
            _ => return None,
        };
        self.lower_stmts(&fold, out, false);
        Some(self.lower_expr(&syn::parse_quote!(#result), out))
    }

    /// A float literal (`"-0.0"`) of the function's float type: in a function generic over
    /// `T: Real`, `T`'s value, as its own literals are rewritten.
    fn float_literal(&self, literal: &str) -> Option<Expr> {
        let mut value = syn::parse_str(literal).ok()?;
        if let Some(real) = self.real_params.first() {
            crate::generic::rewrite_expr(&mut value, real, self.krate);
        }
        Some(value)
    }
}

/// `core::array::from_fn`, `std::array::from_fn`, `array::from_fn` or `from_fn` called on a
/// closure: the closure.
pub(super) fn from_fn_closure(e: &Expr) -> Option<&Expr> {
    let Expr::Call(c) = strip(e) else { return None };
    let Expr::Path(p) = strip(&c.func) else { return None };
    let names: Vec<String> = p.path.segments.iter().map(|s| s.ident.to_string()).collect();
    let from_fn =
        matches!(names.iter().map(String::as_str).collect::<Vec<_>>()[..], [.., "array", "from_fn"] | ["from_fn"]);
    let [arg] = c.args.iter().collect::<Vec<_>>()[..] else { return None };
    (from_fn && matches!(strip(arg), Expr::Closure(_))).then_some(arg)
}

impl Lowerer<'_> {
    /// `let y: [T; N] = core::array::from_fn(|i| e);` as `let mut y: [T; N] = [0.0; N]; for i in
    /// 0..N { y[i] = e; }` (a zero of the declared type; a nested `from_fn` fills the rows in a
    /// nested loop); `None` without an array type of floats to make the zero of.
    pub(super) fn lower_from_fn(
        &mut self,
        name: &Ident,
        ty: &syn::Type,
        closure: &Expr,
        out: &mut Block,
    ) -> Option<()> {
        let zero = self.zero_of(ty)?;
        let fill = self.fill(&name.to_token_stream(), ty, closure, 0)?;
        let filled: [syn::Stmt; 2] = [syn::parse_quote!(let mut #name: #ty = #zero;), fill];
        self.lower_stmts(&filled, out, false);
        Some(())
    }

    /// The loop that writes `closure(i)` into `target[i]` for the array type `ty`.
    fn fill(&self, target: &TokenStream, ty: &syn::Type, closure: &Expr, depth: usize) -> Option<syn::Stmt> {
        let syn::Type::Array(array) = ty else { return None };
        let (params, mut body) = closure_parts(closure, 1)?;
        let [index_pat] = <[Pat; 1]>::try_from(params).ok()?;
        let index = format_ident!("__relax_index{}", self.loops.len() + depth, span = closure.span());
        let item = quote!(#target[#index]);
        let inner = match body.last() {
            Some(syn::Stmt::Expr(tail, None)) => from_fn_closure(tail).cloned(),
            _ => None,
        };
        let body = match inner {
            Some(inner) => {
                body.pop();
                body.push(self.fill(&item, &array.elem, &inner, depth + 1)?);
                body
            }
            None => assign_value(body, &item, quote!(=)),
        };
        let len = &array.len;
        Some(syn::parse_quote!(for #index in 0..#len { let #index_pat = #index; #(#body)* }))
    }

    /// The zero of a float type or an array of one (`[[0.0; 3]; 2]`).
    fn zero_of(&self, ty: &syn::Type) -> Option<Expr> {
        match ty {
            syn::Type::Array(a) => {
                let (elem, len) = (self.zero_of(&a.elem)?, &a.len);
                Some(syn::parse_quote!([#elem; #len]))
            }
            syn::Type::Path(p)
                if p.path.get_ident().is_some_and(|i| i == "f64" || i == "f32" || self.real_params.contains(i)) =>
            {
                let float = p.path.get_ident()?;
                match float.to_string().as_str() {
                    "f64" | "f32" => syn::parse_str(&format!("0.0{float}")).ok(),
                    _ => self.float_literal("0.0"),
                }
            }
            _ => None,
        }
    }
}
