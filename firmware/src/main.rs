//! relax on a Cortex-M4F: runs the checks of [`checks::CHECKS`] and the stack figures of
//! [`figures::WORKLOADS`] on QEMU's MPS2-AN386 board, prints them through semihosting, and exits
//! through semihosting with status 0 when every check passed (1 on a failure or a panic).
#![no_std]
#![no_main]

mod checks;
mod classifier;
mod figures;
mod stack;

use relax_firmware_compared as compared;
use relax_firmware_compared::{linearizer, newton, thermostat};

/// The values of [`compared`] computed on the host by `build.rs`.
mod expected {
    use crate::compared::{self, Calibration, Draw, ThermostatGradients};
    use crate::linearizer::Linearizer;
    use crate::newton::NewtonFit;
    use crate::thermostat::Tuning;
    include!(concat!(env!("OUT_DIR"), "/expected.rs"));
}

use cortex_m_rt::{ExceptionFrame, entry, exception};
use cortex_m_semihosting::debug::{self, EXIT_FAILURE, EXIT_SUCCESS};
use cortex_m_semihosting::{heprintln, hprintln};

#[entry]
fn main() -> ! {
    let mut failed = 0;
    for check in checks::CHECKS {
        hprintln!("{}", check.name);
        let passed = (check.run)();
        hprintln!("  {}", if passed { "ok" } else { "FAILED" });
        failed += usize::from(!passed);
    }

    hprintln!("stack high-water mark, bytes (painted, {} bytes window):", stack::WINDOW);
    hprintln!("  {:<30} {:>6}", "function", "bytes");
    for workload in figures::WORKLOADS {
        workload(&mut |name, bytes| hprintln!("  {name:<30} {bytes:>6}"));
    }

    hprintln!("{} passed, {} failed", checks::CHECKS.len() - failed, failed);
    debug::exit(if failed == 0 { EXIT_SUCCESS } else { EXIT_FAILURE });
    unreachable!("semihosting exit returned");
}

/// Prints the panic and exits with failure, so that a panic fails the run.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    heprintln!("panic: {}", info);
    debug::exit(EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}

/// Prints the faulting state and exits with failure, so that a fault fails the run at once rather
/// than spinning until the runner's timeout.
#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    heprintln!("hard fault: {:?}", frame);
    debug::exit(EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
