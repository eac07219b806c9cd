//! Fuzzes the HDF5 reader and the whole-model `.h5` loader: arbitrary bytes are read as
//! an HDF5 tree (structure, then every dataset within the byte cap) and as a Keras model
//! within a small parameter budget. An error is fine; a panic, an abort or memory beyond
//! `-rss_limit_mb` is a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use microdense::budget::ParamBudget;
use microdense::h5;
use microdense::keras::h5_model::read_model;

/// Parameters a fuzzed model may have: small enough that every input stays fast.
const BUDGET: usize = 1 << 16;

fuzz_target!(|bytes: &[u8]| {
    let budget = ParamBudget::new(BUDGET);
    if let Ok(mut root) = h5::open_bytes(bytes.to_vec(), "fuzz.h5", budget.max_weight_bytes()) {
        let _ = read_model(&root, "fuzz.h5", budget);
        let _ = root.load_all();
    }
});
