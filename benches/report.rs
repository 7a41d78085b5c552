//! The performance report. Every gradient is checked first (the hand-written one against finite
//! differences, the others against it); then, per workload:
//!
//! - `cargo bench --bench report`: the medians of the primal, relax's gradient, the hand-written
//!   one, num-dual's forward mode and the `reverse` tape, and of relax's `_jvp` (and a hand-written
//!   tangent, where the workload has one) and `_hvp` along a fixed direction, as ratios, written into README.md's Performance section; `-- --quick` takes
//!   fewer rounds, `-- --no-write` leaves README alone, `-- --only ID` times one workload (and
//!   writes nothing).
//! - `cargo bench --bench report -- --count` (what `bash benches/count.sh` runs): the
//!   instructions one call of the primal, relax's gradient, the hand-written one, relax's `_jvp`
//!   and the hand-written tangent executes, counted under Valgrind, written into README with `--write`; exits with status 1 when
//!   relax's gradient takes more than [`GATE`] times the hand-written one's instructions on any
//!   workload.
//! - `-- --latency`: the bundle's primal, Jacobians and `_jvp` timed with calls independent and
//!   with each call's input depending on the previous call's output (its latency; see README).
//! - `-- --run ID VARIANT CALLS`: calls one variant (`primal`, `grad`, `hand`, `num-dual`,
//!   `tape`, `jvp`, `hand-jvp`, `hvp`) of one workload CALLS times and nothing else, for the counts.

mod harness;
mod workloads;

use std::time::Duration;

use harness::{instructions_per_call, medians_ns};
use relax_testkit::{assert_close, assert_close_to_fd, assert_same_bits, fd_jacobian};
use workloads::{Objective, Variant, Workload, collect};

/// The largest grad/hand ratio of instruction counts `--count` accepts.
const GATE: f64 = 1.10;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--run") {
        // On a thread of its own, whose stack is a fresh mapping: the addresses of the variant's
        // locals, and so the alignment-dependent paths of `memset` and `memcpy`, do not depend on
        // the size of the environment or of the command line, which move the main thread's stack.
        let args = args[i + 1..].to_vec();
        return std::thread::spawn(move || run(&args)).join().expect("--run");
    }
    let all = workloads::all();
    let flag = |name: &str| args.iter().any(|a| a == name);
    for w in &all {
        check(w);
    }
    if flag("--latency") {
        latency();
    } else if flag("--count") {
        if !count(&all, flag("--write")) {
            std::process::exit(1);
        }
    } else {
        let quick = flag("--quick");
        let only = args.iter().position(|a| a == "--only").map(|i| args.get(i + 1).expect("--only ID").as_str());
        let timed: Vec<&Workload> = all.iter().filter(|w| only.is_none_or(|id| w.id == id)).collect();
        assert!(!timed.is_empty(), "no workload `{}`", only.unwrap_or_default());
        time(&timed, quick, !flag("--no-write") && !quick && only.is_none());
    }
}

/// Correctness before speed: the hand-written gradient against finite differences, and every
/// other gradient against the hand-written one; relax's `_jvp` against the hand-written Jacobian
/// times the direction, and its `_hvp` (gradient bit for bit `_grad`'s, `vᵀHv` against second
/// differences of the primal).
fn check(w: &Workload) {
    let hand = collect(&w.hand);
    assert_eq!(hand.len() % w.params, 0, "{}: gradient size", w.name);
    assert_close_to_fd(w.name, &hand, &fd_jacobian(&w.primal_at, &w.point), 1e-5, 1e-7);
    for (what, variant) in [("relax", &w.relax), ("num-dual", &w.num_dual), ("reverse (tape)", &w.tape)] {
        assert_close(&format!("{}/{what} vs hand-written", w.name), &collect(variant), &hand, 1e-8, 1e-10);
    }
    let jv: Vec<f64> =
        hand.chunks(w.params).map(|row| row.iter().zip(&w.direction).map(|(a, b)| a * b).sum()).collect();
    assert_close(&format!("{}/jvp vs hand-written J·v", w.name), &collect(&w.jvp), &jv, 1e-8, 1e-10);
    if let Some(hand_jvp) = &w.hand_jvp {
        assert_close(&format!("{}/hand-written jvp vs J·v", w.name), &collect(hand_jvp), &jv, 1e-8, 1e-10);
    }
    if let Some(hvp) = &w.hvp {
        let out = collect(hvp);
        let (gradient, hv) = out.split_at(w.params);
        assert_same_bits(&format!("{}/hvp: the gradient", w.name), gradient, &collect(&w.relax));
        let quadratic: f64 = hv.iter().zip(&w.direction).map(|(a, b)| a * b).sum();
        let numeric = second_difference(&w.primal_at, &w.point, &w.direction);
        assert_close(&format!("{}/hvp: vᵀHv vs second differences", w.name), &[quadratic], &[numeric], 1e-4, 1e-6);
    }
}

/// `(f(p + h·v) − 2f(p) + f(p − h·v)) / h²`, which is `vᵀHv` up to `O(h²)`.
fn second_difference(f: &Objective, p: &[f64], v: &[f64]) -> f64 {
    let h = 1e-4 * p.iter().fold(1.0_f64, |m, x| m.max(x.abs()));
    let at = |s: f64| f(&p.iter().zip(v).map(|(a, b)| a + s * h * b).collect::<Vec<_>>())[0];
    (at(1.0) - 2.0 * at(0.0) + at(-1.0)) / (h * h)
}

fn run(args: &[String]) {
    let [id, variant, calls] = args else { panic!("--run ID VARIANT CALLS") };
    let (id, variant, calls) = (id.trim(), variant.trim(), calls.trim());
    let all = workloads::all();
    let w = all.iter().find(|w| w.id == id).unwrap_or_else(|| panic!("no workload `{id}`"));
    let v = w.variant(variant).unwrap_or_else(|| panic!("no variant `{variant}`"));
    for _ in 0..calls.parse::<u64>().expect("CALLS is a number") {
        v(None);
    }
}

fn time(all: &[&Workload], quick: bool, write: bool) {
    // Batches shorter than a scheduler's time slice: on a loaded machine most of them run
    // without being preempted, and the median is one of those.
    let (rounds, batch) = if quick { (5, Duration::from_millis(1)) } else { (201, Duration::from_millis(1)) };
    let mut rows = Vec::new();
    for w in all {
        // A workload without `_hvp` times nothing in its place.
        let none: Variant = Box::new(|_| {});
        let (hvp, hand_jvp) = (w.hvp.as_ref().unwrap_or(&none), w.hand_jvp.as_ref().unwrap_or(&none));
        let variants =
            [&w.primal, &w.relax, &w.hand, &w.num_dual, &w.tape, &w.jvp, hand_jvp, hvp].map(|v| move || v(None));
        let [primal, relax, hand, dual, tape, jvp, hand_jvp, hvp] =
            medians_ns(variants.each_ref().map(|f| f as &dyn Fn()), rounds, batch);
        println!(
            "{:<62} primal {primal:>9.0} ns  relax {relax:>9.0} ns  hand {hand:>9.0} ns  num-dual {dual:>10.0} ns  tape {tape:>10.0} ns  jvp {jvp:>9.0} ns  hvp {hvp:>9.0} ns",
            w.name
        );
        let ratio = |present: bool, a: f64, b: f64| if present { format!("{:.2}", a / b) } else { "—".into() };
        let (hand_jvp_ratio, hvp_ratio) =
            (ratio(w.hand_jvp.is_some(), hand_jvp, primal), ratio(w.hvp.is_some(), hvp, relax));
        rows.push(format!(
            "| {} | {} | {:.2} | {:.2} | {:.1} | {:.1} | {:.2} | {hand_jvp_ratio} | {hvp_ratio} |",
            w.name,
            w.params,
            relax / primal,
            relax / hand,
            dual / relax,
            tape / relax,
            jvp / primal,
        ));
    }
    let table = format!(
        "| workload | parameters | grad/primal | grad/hand | num-dual/grad | tape/grad | jvp/primal | hand jvp/primal | hvp/grad |\n|---|---|---|---|---|---|---|---|---|\n{}",
        rows.join("\n")
    );
    println!("\n{table}");
    if write {
        write_readme("performance table", &table);
    }
}

/// The bundle's variants, each once with calls independent (as `time` runs them) and once chained
/// (`bundle::chained`: a call's latency).
fn latency() {
    let bundle = workloads::bundle::workload();
    let independent = [&bundle.primal, &bundle.relax, &bundle.hand, &bundle.jvp].map(|v| move || v(None));
    let [p, r, h, j] = &independent;
    let [cp, cr, ch, cj] = workloads::bundle::chained();
    let all: [&dyn Fn(); 8] = [p, r, h, j, &*cp, &*cr, &*ch, &*cj];
    let medians = medians_ns(all, 201, Duration::from_millis(1));
    let names = ["primal", "relax Jacobian", "hand Jacobian", "relax _jvp"];
    println!("{}, ns per call: independent calls | chained calls", bundle.name);
    for (k, name) in names.iter().enumerate() {
        let (free, chain) = (medians[k], medians[4 + k]);
        println!(
            "  {name:<16} {free:>6.1} | {chain:>6.1}   ({:.2} | {:.2} × the primal's independent time)",
            free / medians[0],
            chain / medians[0]
        );
    }
}

/// The counted table; false when the gate fails.
fn count(all: &[Workload], write: bool) -> bool {
    let mut rows = Vec::new();
    let mut over = Vec::new();
    for w in all {
        let [primal, grad, hand, jvp] = ["primal", "grad", "hand", "jvp"].map(|v| instructions_per_call(w.id, v));
        let hand_jvp = w.hand_jvp.as_ref().map(|_| instructions_per_call(w.id, "hand-jvp"));
        let ratio = grad as f64 / hand as f64;
        println!(
            "{:<62} primal {primal:>9}  grad {grad:>9}  hand {hand:>9}  jvp {jvp:>9}  hand jvp {:>9}  instructions",
            w.name,
            hand_jvp.map_or("—".into(), |n| n.to_string())
        );
        let per_primal = |n: u64| format!("{:.2}", n as f64 / primal as f64);
        rows.push(format!(
            "| {} | {primal} | {grad} | {hand} | {ratio:.2} | {} | {} | {} |",
            w.name,
            per_primal(grad),
            per_primal(jvp),
            hand_jvp.map_or("—".into(), per_primal),
        ));
        if ratio > GATE {
            over.push(format!("{} ({ratio:.2})", w.name));
        }
    }
    let table = format!(
        "| workload | primal | grad | hand | grad/hand | grad/primal | jvp/primal | hand jvp/primal |\n|---|---|---|---|---|---|---|---|\n{}",
        rows.join("\n")
    );
    println!("\n{table}");
    if write {
        write_readme("instruction table", &table);
    }
    if over.is_empty() {
        println!("\ngrad/hand ≤ {GATE:.2} in instructions on every workload");
    } else {
        println!("\ngrad/hand above {GATE:.2} in instructions: {}", over.join(", "));
    }
    over.is_empty()
}

/// Replaces README.md's section between `<!-- {what}: start -->` and `<!-- {what}: end -->`.
fn write_readme(what: &str, table: &str) {
    let (start, end) = (format!("<!-- {what}: start -->"), format!("<!-- {what}: end -->"));
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let readme = std::fs::read_to_string(path).expect("README.md");
    let (Some(a), Some(b)) = (readme.find(&start), readme.find(&end)) else {
        panic!("README.md has no `{start}` … `{end}` section");
    };
    let updated = format!("{}{start}\n{table}\n{}", &readme[..a], &readme[b..]);
    std::fs::write(path, updated).expect("write README.md");
    println!("\nwritten into README.md");
}
