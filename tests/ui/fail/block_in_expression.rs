use relax::prelude::*;

// A block with a value is taken where it is a `let`'s, an assignment's or a statement's value,
// not inside a larger expression.
#[differentiable]
fn inside(x: f64) -> f64 {
    let t = x * x;
    t + {
        let u = t.sin();
        u * u
    }
}

fn main() {}
