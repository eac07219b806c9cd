//! Picks the board: exactly one board feature must be on. Puts its memory layout
//! (`memory/<board>.x`) where the runtime's `link.x` (cortex-m-rt's, riscv-rt's) finds it (`memory.x` in OUT_DIR) next to
//! the others (a layout may INCLUDE another, and all INCLUDE `memory/model-region.x`) with, for a board that gives
//! its own interrupt vectors, an empty `device.x`, sets `cfg(family = …)` for the
//! board's family module and `cfg(training)` (the fine-tuning code) unless the
//! `inference-only` feature is on, and checks a model against the image (`MICRODENSE_MODEL`,
//! optional): the build fails, naming what is wrong, if the model does not fit the model
//! region, is not a valid model, or needs a group of kinds the image leaves out (core's
//! `kinds`, the features `--kinds` picks). No `memory.x` may sit in the package root: the linker looks in its working directory
//! first, so that file would win over the board's.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

/// Every board: its cargo feature (also the name of its layout, `memory/<board>.x`) and its
/// family (the board module that serves it).
const BOARDS: &[(&str, &str)] = &[
    ("mps2-an385", "mps2"),
    ("mps2-an386", "mps2"),
    ("mps2-an500", "mps2"),
    ("mps2-an505", "mps2"),
    ("microbit", "nrf51"),
    ("nrf52840-dk", "nrf52"),
    ("stm32f411", "stm32f4"),
    ("rp-pico", "rp2040"),
    ("riscv32-virt", "riscv_virt"),
    ("esp32c3", "esp32c3"),
];

/// Boards whose HAL brings the image's layout (esp-hal's `linkall.x`, which INCLUDEs its own
/// `memory.x` and `esp32c3.x`): their `memory/<board>.x` only adds the model region and the
/// memory report's symbols, linked with `-T` under another name, and no other layout is put
/// where the linker would find it first.
const HAL_LAYOUT: &[&str] = &["esp32c3"];

/// Cortex-M boards without a peripheral-access crate, whose board module gives the table of
/// device interrupt vectors (`__INTERRUPTS`, one per NVIC line of the part) instead of
/// cortex-m-rt's 240 entries: their features turn on `cortex-m-rt/device`, whose `link.x`
/// then INCLUDEs a `device.x`, written here empty (every line goes to `DefaultHandler`). A
/// board with such a crate gets both from it.
const OWN_VECTORS: &[&str] = &[
    "mps2-an385",
    "mps2-an386",
    "mps2-an500",
    "mps2-an505",
    "nrf52840-dk",
];

fn fail(message: String) -> ! {
    eprintln!("build.rs: {message}");
    std::process::exit(1);
}

/// Copies `from` to `to`, through a temporary name, so the linker never sees half a file.
fn install(from: &Path, to: &Path) {
    let bytes = fs::read(from).unwrap_or_else(|e| fail(format!("cannot read {}: {e}", from.display())));
    let tmp = to.with_extension("tmp");
    if let Err(e) = fs::write(&tmp, bytes).and_then(|()| fs::rename(&tmp, to)) {
        fail(format!("cannot write {}: {e}", to.display()));
    }
}

/// The length of the MODEL region in `memory/<layout>.x` (`MODEL : ORIGIN = …, LENGTH = 160K`),
/// or in the layout it INCLUDEs.
fn model_region_len(layout: &str) -> u64 {
    let path = format!("memory/{layout}.x");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| fail(format!("cannot read {path}: {e}")));
    for line in text.lines().map(str::trim) {
        if let Some(length) = line
            .strip_prefix("MODEL")
            .and_then(|rest| rest.split("LENGTH").nth(1))
        {
            let value = length.trim_start_matches([' ', '=']).trim();
            let (digits, unit) = match value.strip_suffix('K') {
                Some(kib) => (kib, 1024),
                None => (value, 1),
            };
            return digits
                .parse::<u64>()
                .map(|n| n * unit)
                .unwrap_or_else(|_| fail(format!("{path}: cannot read the MODEL length '{value}'")));
        }
        if let Some(other) = line
            .strip_prefix("INCLUDE ")
            .and_then(|f| f.trim().strip_suffix(".x"))
        {
            if other != "model-region" {
                return model_region_len(other);
            }
        }
    }
    fail(format!("{path} has no MODEL region"))
}

fn main() {
    let families: Vec<&str> = BOARDS.iter().map(|&(_, family)| family).collect();
    println!(
        "cargo::rustc-check-cfg=cfg(family, values(\"{}\"))",
        families.join("\", \"")
    );
    let chosen: Vec<_> = BOARDS.iter().filter(|(board, _)| feature_on(board)).collect();
    let names = || BOARDS.iter().map(|(b, _)| *b).collect::<Vec<_>>().join(", ");
    let &&(board, family) = match chosen.as_slice() {
        [one] => one,
        [] => fail(format!("no board chosen: enable one of the features {}", names())),
        many => fail(format!(
            "choose one board, not {} (use --no-default-features --features BOARD)",
            many.iter().map(|(b, _)| *b).collect::<Vec<_>>().join(" and ")
        )),
    };
    println!("cargo::rustc-cfg=family=\"{family}\"");
    // The training code (fine-tuning, Pull), unless the image is inference-only.
    println!("cargo::rustc-check-cfg=cfg(training)");
    if !feature_on("inference-only") {
        println!("cargo::rustc-cfg=training");
    }
    let out = env::var_os("OUT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| fail("cargo did not set OUT_DIR".into()));
    println!("cargo::rustc-link-search={}", out.display());
    if HAL_LAYOUT.contains(&board) {
        let name = format!("microdense-{board}.x");
        install(Path::new(&format!("memory/{board}.x")), &out.join(&name));
        println!("cargo::rustc-link-arg=-T{name}");
    } else {
        install_layouts(board, &out);
    }
    if OWN_VECTORS.contains(&board) {
        fs::write(
            out.join("device.x"),
            "/* Every device interrupt goes to DefaultHandler (build.rs). */\n",
        )
        .unwrap_or_else(|e| fail(format!("writing device.x in OUT_DIR: {e}")));
    }
    // The model region's length as a constant, for a board that reserves RAM for it (the
    // ESP32-C3's copy includes it).
    let constant = format!(
        "/// The model region's length in bytes (MODEL's LENGTH in `memory/{board}.x`).\n\
         pub const MODEL_REGION_BYTES: usize = {};\n",
        model_region_len(board)
    );
    fs::write(out.join("model_region_bytes.rs"), constant)
        .unwrap_or_else(|e| fail(format!("writing model_region_bytes.rs in OUT_DIR: {e}")));

    // The model to check against the model region, if one is given.
    println!("cargo::rerun-if-env-changed=MICRODENSE_MODEL");
    if let Some(model) = env::var_os("MICRODENSE_MODEL") {
        let model = PathBuf::from(model);
        let len = fs::metadata(&model)
            .unwrap_or_else(|e| fail(format!("MICRODENSE_MODEL={}: {e}", model.display())))
            .len();
        println!("cargo::rerun-if-changed={}", model.display());
        let region = model_region_len(board);
        if len > region {
            fail(format!(
                "the model {} ({len} bytes) does not fit the model region of board {board} ({region} bytes, \
                 MODEL in memory/{board}.x): use a smaller model (e.g. `microdense quantize`) or a part \
                 with more flash",
                model.display()
            ));
        }
        check_kinds(&model);
    }
    println!("cargo::rerun-if-changed=memory");
    println!("cargo::rerun-if-changed=build.rs");
}

/// Fails the build when the model at `path` is not a valid model or needs a group of kinds
/// the image leaves out (neither `all-kinds` nor the group's feature is on).
fn check_kinds(path: &Path) {
    use microdense_core::{format, kinds};
    let bytes = fs::read(path).unwrap_or_else(|e| fail(format!("MICRODENSE_MODEL={}: {e}", path.display())));
    // Whole words, so the decoder reads the weights in place.
    let mut words = vec![0u32; bytes.len().div_ceil(4)];
    let aligned = &mut bytemuck::cast_slice_mut::<u32, u8>(&mut words)[..bytes.len()];
    aligned.copy_from_slice(&bytes);
    // As the image reads it: an inference-only image skips the optimizer (src/app/model.rs).
    let training = if feature_on("inference-only") {
        format::TrainingUse::Skip
    } else {
        format::TrainingUse::Read
    };
    let (view, _) = format::decode_prefix_with(aligned, training).unwrap_or_else(|e| {
        fail(format!(
            "the model {} is not one the firmware can load: {e}",
            path.display()
        ))
    });
    if feature_on("all-kinds") {
        return;
    }
    let needed: Vec<kinds::Kind> = view.needs().collect();
    let missing: Vec<String> = needed
        .iter()
        .filter(|k| !feature_on(k.feature()))
        .map(|k| k.to_string())
        .collect();
    if !missing.is_empty() {
        let features: Vec<&str> = needed.iter().map(|k| k.feature()).collect();
        fail(format!(
            "the model {} needs {}, which this image leaves out: build it with \
             `scripts/firmware-build.sh --kinds {}` (or without --kinds, for every kind)",
            path.display(),
            missing.join("; "),
            features.join(",")
        ));
    }
}

/// Whether the package's cargo feature `name` is on.
fn feature_on(name: &str) -> bool {
    env::var_os(format!("CARGO_FEATURE_{}", name.to_uppercase().replace('-', "_"))).is_some()
}

/// Installs every layout in `out` (for the ones that INCLUDE another) and the board's as
/// `memory.x`, which the runtime's `link.x` INCLUDEs.
fn install_layouts(board: &str, out: &Path) {
    let layouts = fs::read_dir("memory").unwrap_or_else(|e| fail(format!("cannot list memory/: {e}")));
    for entry in layouts {
        let path = entry
            .unwrap_or_else(|e| fail(format!("cannot list memory/: {e}")))
            .path();
        if let Some(name) = path.file_name() {
            install(&path, &out.join(name));
        }
    }
    install(Path::new(&format!("memory/{board}.x")), &out.join("memory.x"));
}
