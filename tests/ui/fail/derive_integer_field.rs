use relax::prelude::*;

#[derive(Clone, Copy, Differentiable)]
struct Model {
    w: [f64; 3],
    steps: usize,
}

fn main() {}
