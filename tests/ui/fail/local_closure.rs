use relax::prelude::*;

// Inlined where it is called, the closure would read the second `k`.
#[differentiable]
fn redeclared(x: f64) -> f64 {
    let k = x * 2.0;
    let scaled = |v: f64| v * k;
    let k = x * 3.0;
    scaled(x) + k
}

// Bound before the statement, the inlined call would draw after the sample to its right: the
// sample is drawn first, as written.
#[differentiable(wrt(mu))]
fn after_a_draw<R: rand::Rng + ?Sized>(mu: f64, rng: &mut R) -> f64 {
    let sq = |v: f64| v * v;
    normal_rsample(mu, 1.0, rng) + sq(mu)
}

// A `move` closure copies what it captures at its `let`: it is not inlined.
#[differentiable]
fn moved(x: f64) -> f64 {
    let sq = move |v: f64| v * v;
    sq(x)
}

fn main() {}
