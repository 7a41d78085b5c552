use relax::prelude::*;

trait Energy {
    #[differentiable]
    fn energy(&self, x: f64) -> f64 {
        x * x
    }
}

fn main() {}
