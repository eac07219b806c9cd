//! Puts the board's memory layout (`memory/<board>.x`) where cortex-m-rt's `link.x` finds it:
//! `memory.x` in OUT_DIR. (No `memory.x` may sit in the package root: the linker looks in its
//! working directory first, so that file would win over the board's.)

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let board_layout = if env::var_os("CARGO_FEATURE_STM32F411").is_some() {
        "memory/stm32f411.x"
    } else {
        "memory/mps2-an386.x"
    };
    let out = match env::var_os("OUT_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            eprintln!("build.rs: cargo did not set OUT_DIR");
            std::process::exit(1);
        }
    };
    let layout = match fs::read(board_layout) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("build.rs: cannot read {board_layout}: {e}");
            std::process::exit(1);
        }
    };
    // Written to a temporary name and renamed, so the linker never sees half a file.
    let tmp = out.join("memory.x.tmp");
    if let Err(e) = fs::write(&tmp, layout).and_then(|()| fs::rename(&tmp, out.join("memory.x"))) {
        eprintln!("build.rs: cannot write {}: {e}", out.join("memory.x").display());
        std::process::exit(1);
    }
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory");
    println!("cargo:rerun-if-changed=build.rs");
}
