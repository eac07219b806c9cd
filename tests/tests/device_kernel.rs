//! Core's kernel conformance suites run on the emulated Cortex-M4F: the portable kernel's
//! assembly path must pass the float suite as the host's kernels do, and the int8 DSP
//! kernel (`SXTB16`/`SMLAD`) the int8 suite, agreeing with the portable int8 kernel on
//! pseudo-random shapes.

use microdense::device::{Qemu, QemuBoard, QemuConfig};
use microdense_tests::qemu::{build_firmware, test_firmware};
use std::time::Duration;

#[test]
fn the_cortex_m4f_kernel_conforms() {
    if test_firmware(&["--release"]).is_none() {
        return;
    }
    let elf =
        build_firmware(&["--release", "--example", "kernel_conformance"]).unwrap_or_else(|e| panic!("{e}"));
    let config = QemuConfig {
        board: QemuBoard::default(),
        elf,
        model: None,
    };
    let qemu = Qemu::boot(&config).unwrap_or_else(|e| panic!("{e}"));
    // The guest starts when the UART is connected.
    let _uart = qemu.connect().unwrap();
    let exit = qemu.wait(Duration::from_secs(120)).unwrap();
    assert_eq!(
        exit.status.code(),
        Some(0),
        "the suite failed on the device: {exit:?}"
    );
}
