// One call of each function's gradient per copy K (the script substitutes K): the compile-time
// measurement's third crate, where the generated code a crate uses is compiled to machine code.
pub fn gradients_K() -> f64 {
    let (xs, x8) = ([0.5; 64], [0.25; 8]);
    loss_K_grad(0.1, 0.2, &xs, &xs).0
        + net_K_grad([[0.1; 8]; 8], [0.2; 8], &x8).0
        + soft_K_grad([0.3; 16], 0.5).0
        + branchy_K_grad(0.1, 0.2).0
        + product_K_grad([0.9; 10]).0
}
