//! Measurement: timed medians (warm-up, calibrated batches, many rounds), instruction counts
//! under Valgrind, and the checks every gradient passes first.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Median nanoseconds per call of each of `fs`, over `rounds` rounds that each time one batch of
/// about `batch` of every function in turn: a change in the load of a shared machine touches all
/// of them alike, and their ratios stay put. Each round times them in an order of its own (a
/// seeded shuffle), so that no function always follows the same one: in a fixed order, the
/// function timed after the primal ran the first hundreds of calls of its batch up to twice as
/// slowly, round after round, in some processes (+30 % on the network's gradient).
pub fn medians_ns<const N: usize>(fs: [&dyn Fn(); N], rounds: usize, batch: Duration) -> [f64; N] {
    let per_batch = fs.map(|f| {
        let warm_up = Instant::now();
        let mut calls = 0u64;
        while warm_up.elapsed() < batch * 5 {
            f();
            calls += 1;
        }
        ((calls as f64) / 5.0).max(1.0) as u64
    });
    let mut samples: [Vec<f64>; N] = core::array::from_fn(|_| Vec::with_capacity(rounds));
    let mut rng = StdRng::seed_from_u64(1);
    let mut order: [usize; N] = core::array::from_fn(|k| k);
    for _ in 0..rounds {
        order.shuffle(&mut rng);
        for &k in &order {
            let (f, calls) = (fs[k], per_batch[k]);
            let start = Instant::now();
            for _ in 0..calls {
                f();
            }
            samples[k].push(start.elapsed().as_nanos() as f64 / calls as f64);
        }
    }
    samples.map(|mut s| {
        s.sort_by(f64::total_cmp);
        black_box(&s);
        s[s.len() / 2]
    })
}

/// Instructions one call of a variant executes, counted by Valgrind's cachegrind in child
/// processes of this benchmark (`--run ID VARIANT CALLS`) that call it 1, 1 + K and 1 + 2K
/// times. Start-up, data generation and the first call's one-time work (lazy symbol binding)
/// are the same in all three and cancel in the differences; the two differences agree (to the
/// few dozen instructions of the process's own set-up that can differ between runs: a one per
/// cent check, spread over K = 100 calls), and their mean over 2K calls is the count. The loop's own instructions (an indirect call and a
/// branch per call) are included, the same for every variant, and so are the copies of inputs
/// passed by value (relax's functions take what they differentiate by value).
pub fn instructions_per_call(id: &str, variant: &str) -> u64 {
    const K: u64 = 100;
    let counts = [1, 1 + K, 1 + 2 * K].map(|calls| instructions(id, variant, calls));
    let (first, second) = (counts[1] - counts[0], counts[2] - counts[1]);
    assert!(
        first.abs_diff(second) * 100 <= first,
        "{id}/{variant}: instruction counts are not reproducible ({counts:?} for 1, {}, {} calls)",
        1 + K,
        1 + 2 * K
    );
    (first + second + K) / (2 * K)
}

/// glibc tunables: never `rep movsb`/`rep stosb` (see [`instructions`]).
const REP_THRESHOLDS: &str =
    "glibc.cpu.x86_rep_movsb_threshold=0xffffffffffffffff:glibc.cpu.x86_rep_stosb_threshold=0xffffffffffffffff";

/// Instructions the whole child process executes.
fn instructions(id: &str, variant: &str, calls: u64) -> u64 {
    let exe = std::env::current_exe().expect("the benchmark's path");
    let output = std::process::Command::new("valgrind")
        .env_clear()
        // glibc copies and fills of more than a few KB with `rep movsb`/`rep stosb`, which
        // Valgrind counts once per byte, at a threshold that depends on the CPU: its vector loops
        // instead, as for smaller sizes, so that a copy counts in proportion to its time, alike
        // on every machine.
        .env("GLIBC_TUNABLES", REP_THRESHOLDS)
        .args(["--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"])
        .arg(exe)
        // Arguments of one width for every child, so that every child lays out its heap alike
        // (the variants' data is there, and `memcpy`'s path depends on its alignment).
        .args(["--run", &format!("{id:<24}"), &format!("{variant:<8}"), &format!("{calls:08}")])
        .output()
        .expect("valgrind (install it, or run benches/count.sh)");
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "valgrind failed on {id}/{variant}:\n{log}");
    // The summary line: `==PID== I   refs:      1,234,567`.
    let line = log.lines().find(|l| l.contains("I   refs:") || l.contains("I refs:"));
    let count = line.and_then(|l| l.split(':').next_back()).map(|n| n.trim().replace(',', ""));
    count.and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("no instruction count in valgrind's output:\n{log}"))
}
