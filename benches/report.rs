//! The performance report: per workload, the medians of the primal, relax's `_grad`, a
//! hand-written gradient, num-dual's forward mode and the `reverse` tape, as ratios.
//!
//! `cargo bench --bench report` prints the table and writes it into README.md's Performance
//! section; `-- --quick` takes fewer rounds, `-- --no-write` leaves README alone.

mod harness;
mod workloads;

use std::hint::black_box;
use std::time::Duration;

use harness::median_ns;
use relax_testkit::{assert_close, assert_close_to_fd, fd};
use workloads::Workload;

const START: &str = "<!-- performance table: start -->";
const END: &str = "<!-- performance table: end -->";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let write = !args.iter().any(|a| a == "--no-write") && !quick;
    let (rounds, batch) = if quick { (5, Duration::from_millis(2)) } else { (41, Duration::from_millis(10)) };

    let all: Vec<Workload> = vec![
        workloads::huber::workload(),
        workloads::logistic::workload(),
        workloads::readout::workload(),
        workloads::mlp::workload(),
        workloads::gumbel::workload(),
    ];
    let mut rows = Vec::new();
    for w in &all {
        // Correctness before speed: the hand-written gradient against finite differences, and
        // every other gradient against the hand-written one.
        let hand = (w.hand)();
        assert_close_to_fd(w.name, &hand, &fd(&w.primal_at, &w.point), 1e-5, 1e-7);
        for (what, g) in [("relax", (w.relax)()), ("num-dual", (w.num_dual)()), ("reverse (tape)", (w.tape)())] {
            assert_close(&format!("{}/{what} vs hand-written", w.name), &g, &hand, 1e-8, 1e-10);
        }

        let time = |f: &dyn Fn() -> Vec<f64>| median_ns(|| drop(black_box(f())), rounds, batch);
        let primal = median_ns(|| _ = black_box((w.primal)()), rounds, batch);
        let (relax, hand, dual, tape) = (time(&w.relax), time(&w.hand), time(&w.num_dual), time(&w.tape));
        println!(
            "{:<48} primal {primal:>10.0} ns  relax {relax:>10.0} ns  hand {hand:>10.0} ns  num-dual {dual:>11.0} ns  tape {tape:>11.0} ns",
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
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
        let readme = std::fs::read_to_string(path).expect("README.md");
        let (Some(a), Some(b)) = (readme.find(START), readme.find(END)) else {
            panic!("README.md has no `{START}` … `{END}` section");
        };
        let updated = format!("{}{START}\n{table}\n{}", &readme[..a], &readme[b..]);
        std::fs::write(path, updated).expect("write README.md");
        println!("\nwritten into README.md");
    }
}
