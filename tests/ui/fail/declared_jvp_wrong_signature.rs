use relax::prelude::*;

fn scale_pullback(x: f64, k: f64, dout: f64) -> (f64, (f64, f64)) {
    (x * k, (k * dout, x * dout))
}

// The tangent comes as one value in the gradient's layout, `(dx, dk)`, not one per parameter.
fn scale_pushforward(x: f64, k: f64, dx: f64, dk: f64) -> (f64, f64) {
    (x * k, k * dx + x * dk)
}

#[differentiable(vjp = scale_pullback, jvp = scale_pushforward)]
fn scale(x: f64, k: f64) -> f64 {
    x * k
}

fn main() {}
