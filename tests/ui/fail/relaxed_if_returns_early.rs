use relax::prelude::*;

// `relaxed` runs both arms of an `if` on differentiated values and blends their results: an arm
// that returns early has no result to blend.
#[differentiable(relaxed)]
fn f(a: f64, b: f64) -> f64 {
    let mut y = a * b;
    if a > b {
        return a;
    }
    y += b;
    y
}

fn main() {}
