//! Zero heap allocations in every generated gradient: a counting global allocator, armed only
//! around the calls on this thread.
#![deny(warnings)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::fns::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if ARMED.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if ARMED.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `f` on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    ARMED.with(|a| a.set(true));
    f();
    ARMED.with(|a| a.set(false));
    ALLOCATIONS.load(Ordering::SeqCst) - before
}

#[test]
fn the_counter_sees_allocations() {
    assert!(allocations(|| drop(std::hint::black_box(vec![1u8; 64]))) >= 1);
}

#[test]
fn generated_gradients_allocate_nothing() {
    let xs = [[0.5, -1.0, 0.2], [1.0, 0.3, -0.7], [-0.2, 0.8, 1.5], [0.0, -0.4, 0.9]];
    let (ys, data) = ([0.3, -0.2, 0.9, 0.1], [0.5, -1.0, 2.0, 0.25]);
    let (sx, sy) = ([0.1, 0.7, -1.3], [0.3, 0.2, -1.0]);
    let mut rng = StdRng::seed_from_u64(1);
    let n = allocations(|| {
        let mut sink = 0.0;
        for k in 0..10 {
            let x = 0.1 * f64::from(k) - 0.4;
            sink += arith_grad(x, 0.7).0 + methods_a_grad(x, 0.2).0 + methods_b_grad(x, 0.3).0;
            sink += methods_c_grad(x, 0.1).1.0 + mutation_grad(x, 1.2).0;
            sink += arrays_vjp([x, 1.0, 2.0], [1.0, 0.5]).1[0] + matvec_vjp([[x; 3]; 2], [1.0; 3], [1.0; 2]).1.1[0];
            sink +=
                through_ref_grad(&[x, 1.0, 2.0], 0.5).0 + product_grad([x; 5]).0 + logistic_map_grad::<10>(3.0, 0.3).0;
            sink += for_each_grad([x; 4], 0.5).0 + for_each_data_grad(x, 0.1, &data).0;
            sink += slice_loss_grad(x, 0.1, &sx, &sy).0 + branch_in_loop_grad([x; 6], 0.5).0;
            sink += counter_in_loop_grad([x; 4]).0 + branches_grad(x, 0.3).0 + early_return_grad(x).0;
            sink += mse_grad([x; 4], 0.5).0 + mse_grad([x as f32; 3], 0.5).0 as f64 + tuple_let_grad(x).0;
            sink += call_in_loop_grad([x; 3], &xs, &ys).0 + sample_in_loop_grad(x, 0.5, &mut rng).0;
            sink += scalar_rules_grad(x, 0.8).0 + score_grad(x, 0.1, 0.2, 0.3).0;
            sink +=
                softmax_rules_grad([x, 0.1, 0.2, 0.3], 0.7).0 + straight_through_rules_grad([x, 0.1, 0.2, 0.3], 0.7).0;
            sink +=
                gumbel_rules_grad([x; 4], [0.1; 4], 0.5).0 + st_gumbel_rules_grad([x; 4], [0.1, 0.2, 0.3, 0.4], 0.5).0;
            sink += sampled_rules_grad([x; 4], 0.5, 0.2, &mut rng).0;
        }
        std::hint::black_box(sink);
    });
    assert_eq!(n, 0, "generated gradients allocated {n} times");
}
