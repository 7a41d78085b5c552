use relax::prelude::*;

// A relaxed function that calls one with hard operations has no gradient of its own either: its
// `_grad` exists (the attribute cannot see the callee), but using it is an error that names the
// callee, with a note at the call.
#[differentiable(relaxed)]
fn quantize(x: f64) -> f64 {
    x.round()
}

#[differentiable(relaxed)]
fn f(x: f64) -> f64 {
    quantize(x) * x
}

fn main() {
    let (_, relaxed) = f_relaxed_grad(0.3, 0.1);
    let (_, own) = f_grad(0.3);
    println!("{relaxed} {own}");
}
