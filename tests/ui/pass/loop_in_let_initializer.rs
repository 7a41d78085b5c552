use relax::prelude::*;

#[differentiable]
fn f(x: f64, c: bool) -> f64 {
    let y = if c {
        let mut s = x;
        'grow: for _ in 0..3 {
            s = s * x;
            if s > 2.0 {
                break 'grow;
            }
        }
        s
    } else {
        x
    };
    y * x
}

fn main() {
    let (v, g) = f_grad(1.5, true);
    assert_eq!(v, f(1.5, true));
    assert!((g - 3.0 * 1.5f64.powi(2)).abs() < 1e-12, "{g}");
}
