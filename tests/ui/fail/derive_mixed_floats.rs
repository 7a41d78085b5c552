use relax::prelude::*;

#[derive(Clone, Copy, Differentiable)]
struct Mixed {
    w: [f64; 2],
    b: f32,
}

fn main() {}
