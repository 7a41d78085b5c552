//! The performance report. Every gradient is checked first (the hand-written one against finite
//! differences, the others against it); then, per workload:
//!
//! - `cargo bench --bench report`: the medians of the primal, relax's gradient, the hand-written
//!   one, num-dual's forward mode and the `reverse` tape, as ratios, written into README.md's
//!   Performance section; `-- --quick` takes fewer rounds, `-- --no-write` leaves README alone.
//! - `cargo bench --bench report -- --count` (what `bash benches/count.sh` runs): the
//!   instructions one call of the primal, relax's gradient and the hand-written one executes,
//!   counted under Valgrind, written into README with `--write`; exits with status 1 when
//!   relax's gradient takes more than [`GATE`] times the hand-written one's instructions on any
//!   workload.
//! - `-- --run ID VARIANT CALLS`: calls one variant (`primal`, `grad`, `hand`, `num-dual`,
//!   `tape`) of one workload CALLS times and nothing else, for the counts.

mod harness;
mod workloads;

use std::time::Duration;

use harness::{instructions_per_call, medians_ns};
use relax_testkit::{assert_close, assert_close_to_fd, fd_jacobian};
use workloads::{Workload, collect};

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
    if flag("--count") {
        if !count(&all, flag("--write")) {
            std::process::exit(1);
        }
    } else {
        let quick = flag("--quick");
        time(&all, quick, !flag("--no-write") && !quick);
    }
}

/// Correctness before speed: the hand-written gradient against finite differences, and every
/// other gradient against the hand-written one.
fn check(w: &Workload) {
    let hand = collect(&w.hand);
    assert_eq!(hand.len() % w.params, 0, "{}: gradient size", w.name);
    assert_close_to_fd(w.name, &hand, &fd_jacobian(&w.primal_at, &w.point), 1e-5, 1e-7);
    for (what, variant) in [("relax", &w.relax), ("num-dual", &w.num_dual), ("reverse (tape)", &w.tape)] {
        assert_close(&format!("{}/{what} vs hand-written", w.name), &collect(variant), &hand, 1e-8, 1e-10);
    }
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

fn time(all: &[Workload], quick: bool, write: bool) {
    // Batches shorter than a scheduler's time slice: on a loaded machine most of them run
    // without being preempted, and the median is one of those.
    let (rounds, batch) = if quick { (5, Duration::from_millis(1)) } else { (201, Duration::from_millis(1)) };
    let mut rows = Vec::new();
    for w in all {
        let variants = [&w.primal, &w.relax, &w.hand, &w.num_dual, &w.tape].map(|v| move || v(None));
        let [primal, relax, hand, dual, tape] = medians_ns(variants.each_ref().map(|f| f as &dyn Fn()), rounds, batch);
        println!(
            "{:<62} primal {primal:>9.0} ns  relax {relax:>9.0} ns  hand {hand:>9.0} ns  num-dual {dual:>10.0} ns  tape {tape:>10.0} ns",
            w.name
        );
        rows.push(format!(
            "| {} | {} | {:.2} | {:.2} | {:.1} | {:.1} |",
            w.name,
            w.params,
            relax / primal,
            relax / hand,
            dual / relax,
            tape / relax
        ));
    }
    let table = format!(
        "| workload | parameters | grad/primal | grad/hand | num-dual/grad | tape/grad |\n|---|---|---|---|---|---|\n{}",
        rows.join("\n")
    );
    println!("\n{table}");
    if write {
        write_readme("performance table", &table);
    }
}

/// The counted table; false when the gate fails.
fn count(all: &[Workload], write: bool) -> bool {
    let mut rows = Vec::new();
    let mut over = Vec::new();
    for w in all {
        let [primal, grad, hand] = ["primal", "grad", "hand"].map(|v| instructions_per_call(w.id, v));
        let ratio = grad as f64 / hand as f64;
        println!("{:<62} primal {primal:>9}  grad {grad:>9}  hand {hand:>9}  instructions", w.name);
        rows.push(format!(
            "| {} | {primal} | {grad} | {hand} | {ratio:.2} | {:.2} |",
            w.name,
            grad as f64 / primal as f64
        ));
        if ratio > GATE {
            over.push(format!("{} ({ratio:.2})", w.name));
        }
    }
    let table = format!(
        "| workload | primal | grad | hand | grad/hand | grad/primal |\n|---|---|---|---|---|---|\n{}",
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
