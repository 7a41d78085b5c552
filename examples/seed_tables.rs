//! The lecture's tables, computed by relax: softmax with temperature, soft argmax and soft max of
//! x = [1.1, 4.0, −0.1, 2.3].
use relax::prelude::*;

fn main() {
    let x = [1.1_f64, 4.0, -0.1, 2.3];
    println!("x = {x:?}, argmax(x) = {}, one_hot = {:?}\n", argmax(x), one_hot::<f64, 4>(argmax(x)));
    println!("softmax(x / T):");
    for t in [1.0, 0.8, 0.6, 0.4, 0.2] {
        let y = softmax(x, t);
        let row: Vec<String> = y.iter().map(|v| if t > 0.5 { format!("{v:.3}") } else { format!("{v:.3e}") }).collect();
        println!("  T = {t:.1}: [ {} ]", row.join("  "));
    }
    println!("\nsoft argmax, softmax(x / T) · [0, 1, 2, 3]   and   soft max, softmax(x / T) · x:");
    for t in [1.0, 0.8, 0.6, 0.4, 0.2] {
        println!("  T = {t:.1}: {:.4}   {:.3}", soft_argmax(x, t), soft_max(x, t));
    }
}
