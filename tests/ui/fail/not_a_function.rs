use relax::prelude::*;

#[differentiable]
struct S;

fn main() {}
