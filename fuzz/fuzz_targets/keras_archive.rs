//! Fuzzes `.keras` archives: arbitrary bytes read as a zip of `config.json` and
//! `model.weights.h5`, as a whole model and as an architecture, within a small parameter
//! budget. An error is fine; a panic, an abort or memory beyond `-rss_limit_mb` is a
//! crash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use microdense::budget::ParamBudget;
use microdense::keras::keras3::{read_keras, read_keras_architecture};

/// Parameters a fuzzed model may have: small enough that every input stays fast.
const BUDGET: usize = 1 << 16;

fuzz_target!(|bytes: &[u8]| {
    let budget = ParamBudget::new(BUDGET);
    let _ = read_keras_architecture(bytes.to_vec(), "fuzz.keras", budget);
    let _ = read_keras(bytes.to_vec(), "fuzz.keras", budget);
});
