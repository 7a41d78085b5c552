use relax::prelude::*;

#[derive(Clone, Copy, Differentiable)]
enum Shape {
    Line { w: f64, b: f64 },
    Point(f64),
}

fn main() {}
