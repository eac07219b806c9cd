//! Fuzzes the MNIST readers: arbitrary bytes as an IDX images file, an IDX labels file
//! (each plain, or gzip when they start like gzip) and an `.npz` archive. An error is
//! fine; a panic, an abort or memory beyond `-rss_limit_mb` is a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use microdense::mnist::{idx, Mnist};
use std::path::PathBuf;
use std::sync::OnceLock;

/// This process's scratch file: the readers take paths.
fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| std::env::temp_dir().join(format!("fuzz-mnist-{}", std::process::id())))
}

fuzz_target!(|bytes: &[u8]| {
    let path = scratch();
    std::fs::write(path, bytes).expect("the scratch file is writable");
    let _ = idx::read_images(path);
    let _ = idx::read_labels(path);
    let _ = Mnist::load_npz(path);
});
