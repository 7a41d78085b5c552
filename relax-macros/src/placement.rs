//! Where the attributed function sits: at module level, in an `impl` block, or somewhere the
//! attribute cannot tell.
//!
//! Why it matters: `NAME_vjp`, `NAME_grad` and `NAME_jvp` are thin calls of the hidden forms (the
//! sweeps `NAME__differentiable`, `NAME__jvp`) when the attribute knows how to name them, `NAME__…`
//! beside a free function and `Self::NAME__…` beside an associated one; otherwise each holds its
//! own copy of the sweeps, which rustc type-checks again (each copy costs about as much build time
//! as the hidden form itself). An attribute sees only the function's tokens (a receiver does not
//! tell an inherent `impl` from a trait's), so this reads the source file the function's span
//! names and finds the block around the function there; every doubt (no file, a span that does not
//! point at the function's own text, a function written inside a macro or a block) answers
//! `Unknown`, and the copies are generated as before.

use std::path::Path;

use proc_macro2::Span;
use syn::ItemFn;

/// Where the function is, as far as naming its siblings goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// At the top of a file or in a `mod { … }`: siblings are named bare.
    Module,
    /// In an `impl` block: siblings are `Self::…`.
    Impl,
    /// The attribute cannot tell.
    Unknown,
}

/// The placement of `func`; `has_receiver` says it has a receiver, and so is no free function.
pub fn of(func: &ItemFn, has_receiver: bool) -> Placement {
    match in_source(func) {
        Placement::Module if has_receiver => Placement::Unknown,
        placement => placement,
    }
}

/// The placement of `func` from its source file.
fn in_source(func: &ItemFn) -> Placement {
    let (fn_span, name) = (func.sig.fn_token.span, func.sig.ident.to_string());
    // Tokens that carry spans of other text (a macro's, `call_site`) are not at their position.
    let own_text = fn_span.source_text().as_deref() == Some("fn")
        && func.sig.ident.span().source_text().as_deref() == Some(name.as_str());
    match fn_span.local_file() {
        Some(file) if own_text => in_file(&file, fn_span, &name),
        _ => Placement::Unknown,
    }
}

/// A file's text and the placement of each `fn` keyword in it, by byte offset.
struct Scanned {
    text: String,
    functions: Vec<(usize, Placement)>,
}

thread_local! {
    /// The last file scanned: the attribute on the functions of one file reads it once per
    /// expansion but scans it once (rustc expands a crate's attributes in one process).
    static LAST: std::cell::RefCell<Option<(std::path::PathBuf, std::rc::Rc<Scanned>)>> =
        const { std::cell::RefCell::new(None) };
}

/// The placement of the function `name` whose `fn` keyword is at `fn_span` in `file`.
fn in_file(file: &Path, fn_span: Span, name: &str) -> Placement {
    let Ok(text) = std::fs::read_to_string(file) else { return Placement::Unknown };
    let cached = LAST.with_borrow(|last| match last {
        Some((path, scanned)) if path == file && scanned.text == text => Some(scanned.clone()),
        _ => None,
    });
    let scanned = cached.unwrap_or_else(|| {
        let functions = functions(&text);
        let scanned = std::rc::Rc::new(Scanned { text, functions });
        LAST.set(Some((file.to_path_buf(), scanned.clone())));
        scanned
    });
    let start = fn_span.start();
    match offset(&scanned.text, start.line, start.column) {
        Some(at) if is_function_at(&scanned.text, at, name) => placement_at(&scanned.functions, at),
        _ => Placement::Unknown,
    }
}

/// The placement of the `fn` keyword at byte `at` (unknown if `functions` has none there).
fn placement_at(functions: &[(usize, Placement)], at: usize) -> Placement {
    functions.binary_search_by_key(&at, |(k, _)| *k).map_or(Placement::Unknown, |i| functions[i].1)
}

/// The byte offset of 1-based `line`, 0-based `column` (in characters) of `text`.
fn offset(text: &str, line: usize, column: usize) -> Option<usize> {
    let line_start = match line {
        0 => return None,
        1 => 0,
        _ => text.match_indices('\n').nth(line - 2)?.0 + 1,
    };
    let mut chars = text[line_start..].char_indices();
    chars.nth(column).map(|(k, _)| line_start + k)
}

/// Whether `text` has `fn name` (and no longer name) at `at`.
fn is_function_at(text: &str, at: usize, name: &str) -> bool {
    let Some(rest) = text[at..].strip_prefix("fn").filter(|r| r.starts_with(char::is_whitespace)) else {
        return false;
    };
    let after = rest.trim_start().strip_prefix(name);
    after.is_some_and(|after| !after.starts_with(is_word_char))
}

/// One open bracket of the scan, with the words of the item header a `{` opens.
struct Open<'a> {
    bracket: char,
    header: Vec<&'a str>,
}

/// The placement of every `fn` keyword of `text`, in order of position (empty where the brackets
/// do not balance), from the brackets open at it: none (the top of the file) or a `mod`'s brace is
/// a module, an inherent `impl`'s brace an `impl`; anything else (a trait's `impl`, a function
/// body, a macro's input, a parenthesis) is unknown, and so is the top of a file with methods at
/// its top (a file `include!`d into an `impl`). A small lexer: comments, string, raw string and
/// character literals are skipped, so that the brackets in them do not count.
fn functions(text: &str) -> Vec<(usize, Placement)> {
    let bytes = text.as_bytes();
    let mut stack: Vec<Open> = Vec::new();
    // A function with a receiver at the top of the file: the file is `include!`d into an `impl`.
    let mut methods_at_top = false;
    // The words since the last item boundary at the current depth.
    let mut words: Vec<&str> = Vec::new();
    let mut functions = Vec::new();
    let mut k = 0;
    while k < text.len() {
        let c = bytes[k];
        match c {
            b'/' if bytes.get(k + 1) == Some(&b'/') => k = text[k..].find('\n').map_or(text.len(), |n| k + n),
            b'/' if bytes.get(k + 1) == Some(&b'*') => k = block_comment_end(bytes, k),
            b'"' => k = string_end(bytes, k + 1),
            b'\'' => k = quote_end(text, k),
            b'{' | b'(' | b'[' => {
                stack.push(Open { bracket: c as char, header: std::mem::take(&mut words) });
                k += 1;
            }
            b'}' | b')' | b']' => {
                let Some(open) = stack.pop() else { return Vec::new() };
                let closes = matches!((open.bracket, c), ('{', b'}') | ('(', b')') | ('[', b']'));
                if !closes {
                    return Vec::new();
                }
                // The parameters of a function at the top: `self`, `mut self`, `&'a self`, ….
                if stack.is_empty() && c == b')' && open.header.contains(&"fn") {
                    methods_at_top |= words.iter().take(3).any(|w| *w == "self");
                }
                // A brace ends an item (or a block); a parenthesis or bracket is part of one.
                words = if c == b'}' { Vec::new() } else { open.header };
                k += 1;
            }
            b';' => {
                words.clear();
                k += 1;
            }
            _ if c >= 0x80 && !text[k..].starts_with(is_word_char) => {
                k += text[k..].chars().next().map_or(1, char::len_utf8);
            }
            _ if c == b'_' || c.is_ascii_alphanumeric() || c >= 0x80 => {
                let end = word_end(text, k);
                let word = &text[k..end];
                k = match (word, bytes.get(end)) {
                    // Raw strings and raw identifiers (`r#impl` is no keyword).
                    ("r" | "br" | "cr", Some(b'"' | b'#')) if raw_string_start(bytes, end) => {
                        raw_string_end(bytes, end)
                    }
                    ("r", Some(b'#')) => {
                        words.push("");
                        word_end(text, end + 1)
                    }
                    ("b" | "c", Some(b'"')) => string_end(bytes, end + 1),
                    ("b", Some(b'\'')) => quote_end(text, end),
                    _ => {
                        if word == "fn" {
                            functions.push((k, from_brackets(&stack)));
                        }
                        words.push(word);
                        end
                    }
                };
            }
            _ => k += 1,
        }
    }
    if methods_at_top {
        for (_, placement) in &mut functions {
            if *placement == Placement::Module {
                *placement = Placement::Unknown;
            }
        }
    }
    functions
}

/// The placement the open brackets give: none is the top of the file.
fn from_brackets(stack: &[Open]) -> Placement {
    let Some(open) = stack.last() else { return Placement::Module };
    if open.bracket != '{' {
        return Placement::Unknown;
    }
    let keyword = open.header.iter().find(|w| !matches!(**w, "pub" | "crate" | "unsafe" | "default"));
    match keyword.copied() {
        // A trait's impl (the attribute is an error there) or a bound with `for<'a>`: unknown.
        Some("impl") if open.header.contains(&"for") => Placement::Unknown,
        Some("impl") => Placement::Impl,
        Some("mod") => Placement::Module,
        _ => Placement::Unknown,
    }
}

fn is_word_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// The index after the word (an identifier, a keyword or a number) that starts at `k`.
fn word_end(text: &str, k: usize) -> usize {
    text[k..].find(|c| !is_word_char(c)).map_or(text.len(), |n| k + n)
}

/// The index after the `*/` closing the (nestable) block comment opened at `k`.
fn block_comment_end(bytes: &[u8], mut k: usize) -> usize {
    let mut depth = 0;
    while k < bytes.len() {
        if bytes[k..].starts_with(b"/*") {
            depth += 1;
            k += 2;
        } else if bytes[k..].starts_with(b"*/") {
            depth -= 1;
            k += 2;
            if depth == 0 {
                return k;
            }
        } else {
            k += 1;
        }
    }
    k
}

/// The index after the `"` closing the string whose contents start at `k`.
fn string_end(bytes: &[u8], mut k: usize) -> usize {
    while k < bytes.len() {
        match bytes[k] {
            b'\\' => k += 2,
            b'"' => return k + 1,
            _ => k += 1,
        }
    }
    k
}

/// Whether `#…#"` (or `"`) at `k` opens a raw string.
fn raw_string_start(bytes: &[u8], k: usize) -> bool {
    let hashes = bytes[k..].iter().take_while(|b| **b == b'#').count();
    bytes.get(k + hashes) == Some(&b'"')
}

/// The index after the raw string whose `#…#"` starts at `k`.
fn raw_string_end(bytes: &[u8], k: usize) -> usize {
    let hashes = bytes[k..].iter().take_while(|b| **b == b'#').count();
    let mut j = k + hashes + 1;
    while j < bytes.len() {
        if bytes[j] == b'"' && bytes[j + 1..].iter().take(hashes).filter(|b| **b == b'#').count() == hashes {
            return j + 1 + hashes;
        }
        j += 1;
    }
    j
}

/// The index after a character literal opened by the `'` at `k`, or after the `'` of a lifetime
/// or label.
fn quote_end(text: &str, k: usize) -> usize {
    let rest = &text[k + 1..];
    let mut chars = rest.char_indices();
    match chars.next() {
        // An escape: the literal ends at the next quote (`'\''` has its quote escaped).
        Some((_, '\\')) => rest[2.min(rest.len())..].find('\'').map_or(text.len(), |n| k + 1 + 2 + n + 1),
        Some(_) => match chars.next() {
            Some((n, '\'')) => k + 1 + n + 1,
            // `'a` of a lifetime: the name is read as a word next.
            _ => k + 1,
        },
        None => text.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::{Placement, functions, is_function_at, offset, placement_at};

    /// The placement of the function marked `fn here`.
    fn at(source: &str) -> Placement {
        let k = source.find("fn here").expect("a `fn here`");
        assert!(is_function_at(source, k, "here"));
        placement_at(&functions(source), k)
    }

    #[test]
    fn modules_and_impls() {
        assert_eq!(at("use x::y;\n#[differentiable]\npub fn here(x: f64) -> f64 { x }"), Placement::Module);
        assert_eq!(at("fn a() {}\nmod m { struct S { x: f64 } fn here() {} }"), Placement::Module);
        assert_eq!(
            at("struct S;\nimpl S {\n    #[differentiable]\n    fn here(x: f64) -> f64 { x }\n}"),
            Placement::Impl
        );
        assert_eq!(
            at(
                "#[cfg(test)] impl<T: Real, const N: usize> S<T, N> where T: Copy { fn a() {} pub(crate) fn here() {} }"
            ),
            Placement::Impl
        );
        assert_eq!(at("impl S { fn a() {} }\nfn here() {}"), Placement::Module);
        assert_eq!(at("impl Energy for S { fn here() {} }"), Placement::Unknown);
        assert_eq!(at("pub(crate) mod m { impl S {} fn here() {} }"), Placement::Module);
    }

    #[test]
    fn blocks_macros_and_traits_are_unknown() {
        assert_eq!(at("fn outer() { fn here() {} }"), Placement::Unknown);
        assert_eq!(at("macro_rules! m { () => { fn here() {} } }"), Placement::Unknown);
        assert_eq!(at("m! { fn here() {} }"), Placement::Unknown);
        assert_eq!(at("trait T { fn here() {} }"), Placement::Unknown);
        assert_eq!(at("const _: () = { fn here() {} };"), Placement::Unknown);
        // A file of methods, which only an `include!` inside an `impl` can hold.
        assert_eq!(at("fn norm(&self) -> f64 { 1.0 }\nfn here() {}"), Placement::Unknown);
        assert_eq!(at("fn here() {}\npub fn scaled<'a>(&'a mut self, k: f64) {}"), Placement::Unknown);
        // A comment at the very end, without a newline.
        assert_eq!(at("fn here() {}\n// the end"), Placement::Module);
    }

    #[test]
    fn brackets_in_comments_and_literals_do_not_count() {
        let noise = r###"
            // impl S {
            /* { /* nested { */ ( */
            const A: &str = "} { \" {";
            const B: &str = r##"{ "# }"##;
            const C: &[u8] = br"{";
            const D: char = '{';
            const E: char = '\'';
            const F: u8 = b'}';
            fn g<'a>(x: &'a str) -> &'a str { 'outer: loop { break 'outer x; } }
            struct r#impl;
        "###;
        assert_eq!(at(&format!("{noise}\nfn here() {{}}")), Placement::Module);
        assert_eq!(at(&format!("impl S {{ {noise} }}\nimpl T {{ fn here() {{}} }}")), Placement::Impl);
        assert_eq!(at(&format!("mod m {{ {noise} fn here() {{}} }}")), Placement::Module);
        assert_eq!(at("struct r#impl { x: f64 }\nfn here() {}"), Placement::Module);
    }

    #[test]
    fn positions_are_lines_and_characters() {
        let text = "ab\nμν fn here\n";
        let k = offset(text, 2, 3).expect("in the text");
        assert!(is_function_at(text, k, "here"));
        assert!(!is_function_at(text, k, "her"));
        assert_eq!(offset(text, 0, 0), None);
        assert_eq!(offset(text, 9, 0), None);
    }
}
