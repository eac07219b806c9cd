//! Fuzzes architectures: arbitrary text parsed as JSON and as YAML and read as a Keras
//! `model_config` within a small parameter budget; whatever reads must write back to
//! JSON and YAML that read as the same layers. An error is fine; a panic, an abort or
//! memory beyond `-rss_limit_mb` is a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use microdense::budget::ParamBudget;
use microdense::keras::config::model_from_config;
use microdense::keras::{json, yaml};
use microdense::model::Model;

/// Parameters a fuzzed model may have: small enough that every input stays fast.
const BUDGET: usize = 1 << 16;

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let budget = ParamBudget::new(BUDGET);
    for value in [json::parse(text, "fuzz.json"), yaml::parse(text, "fuzz.yaml")] {
        let Ok(value) = value else { continue };
        let Ok(model) = model_from_config(&value, "fuzz", 0, budget) else {
            continue;
        };
        let back = Model::from_json(&model.to_json()).expect("our JSON reads back");
        assert_eq!(back.layers, model.layers);
        let yaml = model.to_yaml().expect("the model writes as YAML");
        let back = Model::from_yaml(&yaml).expect("our YAML reads back");
        assert_eq!(back.layers, model.layers);
    }
});
