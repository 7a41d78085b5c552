use relax::prelude::*;

// A block inside an expression is bound before the statement, where that keeps the order of what
// runs: not after a macro in the same expression.
#[differentiable]
fn after_a_macro(x: f64) -> f64 {
    let t = x * x;
    t * f64::from(u8::from(cfg!(debug_assertions))) + {
        let u = t.sin();
        u * u
    }
}

// A labelled block stays as written.
#[differentiable]
fn labelled(x: f64) -> f64 {
    let v = 'done: {
        if x > 1.0 {
            break 'done x;
        }
        x * x
    };
    v * 2.0
}

fn main() {}
