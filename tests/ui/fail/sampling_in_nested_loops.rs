use rand::Rng;
use relax::prelude::*;

#[differentiable(max_iter = 8)]
fn f<R: Rng>(mu: f64, n: usize, rng: &mut R) -> f64 {
    let mut s = mu;
    for _ in 0..3 {
        let mut k = 0;
        while k < n {
            s = s * normal_rsample(mu, 1.0, rng);
            k += 1;
        }
    }
    s
}

fn main() {}
