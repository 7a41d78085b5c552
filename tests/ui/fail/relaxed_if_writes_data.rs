use relax::prelude::*;

// Both arms of a relaxed `if` run: an arm that changes data (here a counter, which cannot be
// blended) would change it whichever way the comparison goes.
#[differentiable(relaxed)]
fn f(xs: [f64; 4], limit: f64) -> f64 {
    let mut over = 0;
    let mut total = 0.0;
    for x in xs {
        if x >= limit {
            over += 1;
        }
        total += x;
    }
    total / (over as f64 + 1.0)
}

fn main() {}
