use relax::prelude::*;

struct Model {
    scale: f64,
}

impl Model {
    #[differentiable]
    fn f(&self, x: f64) -> f64 {
        self.scale * x
    }
}

fn main() {
    let _ = Model { scale: 2.0 }.f_grad(1.0);
}
