use rand::SeedableRng;
use rand::rngs::StdRng;
use relax::prelude::*;

// Both arms of a relaxed `if` run: an arm that samples would draw noise the original does not.
#[differentiable(relaxed)]
fn f(a: f64, b: f64, seed: u64) -> f64 {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut y = b;
    if a < b {
        y = a + normal_noise::<f64>(&mut rng);
    }
    y
}

fn main() {}
