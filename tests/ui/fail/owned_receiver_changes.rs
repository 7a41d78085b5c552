use relax::prelude::*;

struct Model {
    scale: f64,
}

impl Model {
    #[differentiable]
    fn squash(&self, z: f64) -> f64 {
        self.scale * z.tanh()
    }
}

#[differentiable]
fn changed(x: f64) -> f64 {
    let mut model = Model { scale: 0.8 };
    let y = model.squash(x);
    model.scale = 2.0;
    y + model.squash(y)
}

fn main() {}
