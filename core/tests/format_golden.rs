//! Golden files: the encoder's output for two small models is pinned byte for byte in
//! `tests/golden/`, and the annotated dump in `docs/device-format.md` spells out the
//! same bytes field by field.
//!
//! After an intended format change, regenerate with `MICRODENSE_BLESS=1 cargo test -p
//! microdense-core --test format_golden` and update the document.

mod format_support;

use format_support::{
    golden_adam_model, golden_clipping_model, golden_int8_model, golden_model, golden_schedule_model,
    golden_trainable_model, reseal, AlignedBytes, OwnedModel,
};
use microdense_core::format::{decode, VERSION};
use microdense_core::format::{FormatError, Inconsistency};
use microdense_core::quant::{QuantDefect, QuantError};
use microdense_core::{Layer, Regularizer};
use std::path::PathBuf;

fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

/// Compares `bytes` with the golden file `name`, or (re)writes it when blessing.
fn check_golden(name: &str, bytes: &[u8]) {
    let path = repo_path("tests/golden").join(name);
    if std::env::var_os("MICRODENSE_BLESS").is_some() {
        let tmp = path.with_extension("mdl.tmp");
        std::fs::write(&tmp, bytes).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        return;
    }
    let golden = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (bless with MICRODENSE_BLESS=1)", path.display()));
    if golden != bytes {
        let first = golden.iter().zip(bytes).position(|(a, b)| a != b);
        panic!(
            "{name}: encoding changed (golden {} bytes, now {} bytes, first difference at {:?})",
            golden.len(),
            bytes.len(),
            first
        );
    }
}

fn check_model(name: &str, model: &OwnedModel) {
    let bytes = model.encode();
    check_golden(name, &bytes);
    let aligned = AlignedBytes::new(&bytes);
    let view = decode(aligned.bytes()).unwrap();
    assert_eq!(view.header().version, VERSION);
    assert_eq!(view.input_width(), model.input);
    assert_eq!(view.input_shape(), &[model.input as u32]);
    assert_eq!(view.layers(), &model.layers[..]);
    assert_eq!(view.weights(), &model.weights[..]);
    match (&model.training, view.training()) {
        (None, None) => {}
        (Some(want), Some(got)) => {
            assert_eq!(got.optimizer, want.optimizer);
            assert_eq!(got.loss, want.loss);
            assert_eq!(got.scalars, want.scalars);
            assert_eq!(got.trainable_layers, want.trainable_layers);
            assert_eq!(got.state, &want.state[..]);
        }
        (want, got) => panic!("training state: wanted {want:?}, decoded {got:?}"),
    }
}

#[test]
fn small_model_encoding_is_stable() {
    check_model("small.mdl", &golden_model());
}

#[test]
fn small_model_with_training_state_encoding_is_stable() {
    check_model("small-trainable.mdl", &golden_trainable_model());
}

#[test]
fn small_model_with_adam_state_encoding_is_stable() {
    let model = golden_adam_model();
    check_model("small-adam.mdl", &model);
    // A format-3 optimizer record: older readers must refuse the file by version.
    let bytes = model.encode();
    assert_eq!((bytes[4], bytes[6]), (VERSION as u8, 3));
}

/// Training records with a schedule and with clipping (what a build without those groups
/// refuses by name: core/tests/kinds.rs reads these files).
#[test]
fn small_models_with_a_schedule_and_with_clipping_encode_stably() {
    check_model("small-schedule.mdl", &golden_schedule_model());
    check_model("small-clipping.mdl", &golden_clipping_model());
}

/// An int8 body (format 4): `min_reader` 4, the body's record and data read back as
/// written, and the float head on the body's output.
#[test]
fn small_int8_model_encoding_is_stable() {
    let model = golden_int8_model();
    let bytes = model.encode();
    check_golden("small-int8.mdl", &bytes);
    assert_eq!((bytes[4], bytes[6]), (VERSION as u8, 4));
    let aligned = AlignedBytes::new(&bytes);
    let view = decode(aligned.bytes()).unwrap();
    assert_eq!(view.input_shape(), &[4]);
    assert_eq!(view.network().unwrap().input_width(), 3);
    assert_eq!(view.weights(), &model.head.weights[..]);
    let body = view.int8_body().unwrap();
    assert_eq!(body.layers(), &model.layers[..]);
    assert_eq!(body.data(), model.body().data());
    assert_eq!(body.input_params(), model.input);
    let mut scratch = vec![0i8; body.scratch_len()];
    let mut out = [0.0f32; 3];
    let q = body
        .predict(&[0.0, 1.0, 2.0, 3.0], &mut scratch, &mut out)
        .unwrap()
        .to_vec();
    // Inputs 0..3 at scale 1, zero point −128: q − zp = 0..3. Unit 0: Σ i·(i − 6) = −22,
    // /16 = −1.4 → −1, −129 clamped at the ReLU's −128; unit 1: 10 + Σ i·(i − 2) = 12,
    // /16 = 0.75 → 1, −127; unit 2: 20 + Σ i·(i + 2) = 46, /16 = 2.9 → 3, −125.
    assert_eq!(q, [-128, -127, -125]);
    assert_eq!(out, [0.0, 0.25, 0.75]);
    // A forged zero weight scale in the data region is refused, naming the layer.
    let mut forged = bytes.clone();
    let scale_at = forged.len() - 4 - 12;
    forged[scale_at..scale_at + 4].copy_from_slice(&0f32.to_le_bytes());
    reseal(&mut forged);
    assert_eq!(
        decode(AlignedBytes::new(&forged).bytes()).map(|_| ()),
        Err(FormatError::InconsistentShapes(Inconsistency::Int8(QuantError {
            layer: 0,
            defect: QuantDefect::Scale
        })))
    );
}

/// A Dense layer with an activity regularizer (format 5): `min_reader` 5 (older readers
/// refuse the file by version: `format::decode`'s tests), read back as written.
#[test]
fn small_model_with_an_activity_regularizer_encoding_is_stable() {
    let mut model = golden_model();
    let Layer::Dense {
        activity_regularizer, ..
    } = &mut model.layers[0]
    else {
        unreachable!("the golden model starts with a Dense layer")
    };
    *activity_regularizer = Some(Regularizer { l1: 0.5, l2: 0.25 });
    check_model("small-activity.mdl", &model);
    let bytes = model.encode();
    assert_eq!((bytes[4], bytes[6]), (VERSION as u8, 5));
}

/// The files version 4 wrote (kept in `tests/golden/v4/`) decode to the models this
/// version writes: version 5 only added a record.
#[test]
fn version_4_files_stay_readable() {
    let models = [
        ("small.mdl", golden_model().encode()),
        ("small-trainable.mdl", golden_trainable_model().encode()),
        ("small-adam.mdl", golden_adam_model().encode()),
        ("small-int8.mdl", golden_int8_model().encode()),
    ];
    for (name, bytes) in models {
        let old = std::fs::read(repo_path("tests/golden/v4").join(name)).unwrap();
        assert_eq!(u16::from_le_bytes([old[4], old[5]]), 4, "{name}");
        let n = bytes.len();
        assert_eq!((&old[6..n - 4], old.len()), (&bytes[6..n - 4], n), "{name}");
        let old = AlignedBytes::new(&old);
        let new = AlignedBytes::new(&bytes);
        let (old, new) = (decode(old.bytes()).unwrap(), decode(new.bytes()).unwrap());
        assert_eq!(old.weights(), new.weights(), "{name}");
        assert_eq!(old.training(), new.training(), "{name}");
        assert_eq!(old.layers(), new.layers(), "{name}");
    }
}

/// Plain SGD stays readable by every reader: the SGD file keeps `min_reader = 1`, and
/// the version-2 writer's file (kept in `tests/golden/v2/`) decodes to the same model.
#[test]
fn sgd_files_stay_readable_across_versions() {
    let bytes = golden_trainable_model().encode();
    assert_eq!(u16::from_le_bytes([bytes[6], bytes[7]]), 1);
    let old = std::fs::read(repo_path("tests/golden/v2/small-trainable.mdl")).unwrap();
    assert_eq!(u16::from_le_bytes([old[4], old[5]]), 2);
    // Byte for byte what version 2 wrote, but for the version field and the CRC: a
    // version-2 reader parses it as before.
    let n = bytes.len();
    assert_eq!((&old[6..n - 4], old.len()), (&bytes[6..n - 4], n));
    let old = AlignedBytes::new(&old);
    let new = AlignedBytes::new(&bytes);
    let (old, new) = (decode(old.bytes()).unwrap(), decode(new.bytes()).unwrap());
    assert_eq!(old.weights(), new.weights());
    assert_eq!(old.training(), new.training());
    assert_eq!(old.layers(), new.layers());
}

/// Parses the annotated dumps in the document: lines `OFFSET: HEX HEX ...  # comment`
/// inside a fenced block that follows a `<!-- golden: NAME -->` marker.
fn documented_dumps() -> Vec<(String, Vec<u8>)> {
    let doc = std::fs::read_to_string(repo_path("docs/device-format.md")).unwrap();
    let mut dumps = Vec::new();
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line
            .trim()
            .strip_prefix("<!-- golden: ")
            .and_then(|rest| rest.strip_suffix(" -->"))
        else {
            continue;
        };
        let fence = lines.next().unwrap_or("");
        assert!(
            fence.starts_with("```"),
            "a fenced block must follow the {name} marker"
        );
        let mut bytes = Vec::new();
        for line in lines.by_ref() {
            if line.starts_with("```") {
                break;
            }
            let data = line.split('#').next().unwrap().trim();
            if data.is_empty() {
                continue;
            }
            let (offset, hex) = data
                .split_once(':')
                .unwrap_or_else(|| panic!("{name}: no offset in {line:?}"));
            let offset = usize::from_str_radix(offset.trim(), 16).unwrap();
            assert_eq!(offset, bytes.len(), "{name}: offset of {line:?}");
            for byte in hex.split_whitespace() {
                bytes.push(u8::from_str_radix(byte, 16).unwrap());
            }
        }
        dumps.push((name.to_string(), bytes));
    }
    dumps
}

#[test]
fn document_dumps_match_the_golden_files() {
    let dumps = documented_dumps();
    let names: Vec<&str> = dumps.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["small.mdl", "small-trainable.mdl", "small-adam.mdl"]);
    for (name, bytes) in dumps {
        let golden = std::fs::read(repo_path("tests/golden").join(&name)).unwrap();
        assert_eq!(bytes, golden, "docs/device-format.md's dump of {name}");
    }
}
