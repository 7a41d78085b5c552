use relax::prelude::*;

// An arm of a relaxed `if` that leaves the loop: blending would run the rest of the loop for it.
#[differentiable(relaxed)]
fn f(xs: [f64; 4], limit: f64) -> f64 {
    let mut total = 0.0;
    for x in xs {
        if x > limit {
            break;
        }
        total += x;
    }
    total
}

fn main() {}
