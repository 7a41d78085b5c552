use relax::prelude::*;

// What `enumerate` and `zip` give is destructured: the index and the item are bound by name.
#[differentiable]
fn enumerated(x: [f64; 3]) -> f64 {
    let mut s = 0.0;
    for pair in x.iter().enumerate() {
        s += *pair.1 * pair.0 as f64;
    }
    s
}

// Iterated by value, a `mut` array is a copy that the body may change.
#[differentiable]
fn by_value(x: [f64; 3], y: [f64; 3]) -> f64 {
    let mut z = x;
    let mut s = 0.0;
    for (a, b) in z.into_iter().zip(y) {
        s += a * b;
        z[0] = s;
    }
    s + z[0]
}

// `..` in the middle of an array pattern of active values.
#[differentiable]
fn middle_rest(x: [f64; 4]) -> f64 {
    let [a, .., d] = x;
    a * d
}

// Two `let`s in one `if` chain.
#[differentiable]
fn two_lets(x: f64, a: Option<f64>, b: Option<f64>) -> f64 {
    let mut y = x;
    if let Some(p) = a
        && let Some(q) = b
    {
        y = y * p + q;
    }
    y
}

// The items of `iter_mut()` are written through `*y`, not passed on.
#[differentiable]
fn passed_on(x: [f64; 2]) -> f64 {
    let mut y = [0.0; 2];
    for v in y.iter_mut() {
        let r: &mut f64 = v;
        *r = x[0] * 2.0;
    }
    y[0] + y[1]
}

// `from_fn` fills an array of the type the `let` declares.
#[differentiable]
fn undeclared(x: [f64; 2]) -> f64 {
    let y = core::array::from_fn::<f64, 2, _>(|i| x[i] * 2.0);
    y[0]
}

// A reversed range's bounds are read at every iteration: the body may not change them.
#[differentiable]
fn moving_bound(x: [f64; 4]) -> f64 {
    let mut n = 4;
    let mut s = 0.0;
    for i in (0..n).rev() {
        s = s * 0.5 + x[i];
        n -= 1;
    }
    s + n as f64
}

// An array's `map` into another type: the result's type is declared for `from_fn`.
#[differentiable]
fn mapped_into_pairs(x: [f64; 2]) -> f64 {
    let y = x.map(|v| [v, v * v]);
    y[0][1] + y[1][0]
}

fn main() {}
