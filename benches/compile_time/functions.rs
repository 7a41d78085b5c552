// The five functions the compile-time measurement builds (six copies each, renamed) and whose
// expansion time relax-macros measures: read by benches/compile_time.sh and by
// relax-macros/src/tests.rs. Plain functions; the script adds the attribute.
pub fn loss(w: f64, b: f64, xs: &[f64; 64], ys: &[f64; 64]) -> f64 {
    let mut total = 0.0;
    for i in 0..64 {
        total += huber(w * xs[i] + b - ys[i], 1.0);
    }
    total / 64.0
}

pub fn net(w1: [[f64; 8]; 8], w2: [f64; 8], x: &[f64; 8]) -> f64 {
    let mut out = 0.0;
    for j in 0..8 {
        let mut h = 0.0;
        for i in 0..8 {
            h += w1[j][i] * x[i];
        }
        out += w2[j] * h.tanh();
    }
    out
}

pub fn soft(x: [f64; 16], t: f64) -> f64 {
    let p = softmax(x, t);
    soft_argmax(x, t) + logsumexp(x, t) * p[0]
}

pub fn branchy(x: f64, y: f64) -> f64 {
    let z = if x > y { x * y.sin() } else { (x - y).exp() };
    if z > 1.0 {
        return z.ln();
    }
    z * z + relu(x)
}

pub fn product(x: [f64; 10]) -> f64 {
    let mut p = 1.0;
    for i in 0..10 {
        p *= x[i] + 2.0;
    }
    p
}
