use relax::prelude::*;

#[derive(Clone, Copy)]
struct Inner {
    a: f64,
}

#[derive(Clone, Copy, Differentiable)]
struct Outer {
    inner: Inner,
    b: f64,
}

fn main() {}
