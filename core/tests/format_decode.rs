//! Decoding behaviour: round trips, inference from the view, sizes, and every error kind.

mod format_support;

use format_support::{
    golden_model, golden_trainable_model, reseal, tutorial_model, AlignedBytes, OwnedModel,
};
use microdense_core::format::{
    decode, decode_prefix, read_header, FormatError, Inconsistency, Malformation, ModelRef, ModelView,
    StoredCount, HEADER_LEN,
};
use microdense_core::{
    Activation, Error, Inbound, Layer, LayerDefect, Merge, Network, Portable, Rng, Sgd, Source,
};

/// Decodes `bytes` from aligned storage and hands the view to `f`.
fn with_view<R>(bytes: &[u8], f: impl FnOnce(Result<ModelView<'_>, FormatError>) -> R) -> R {
    let aligned = AlignedBytes::new(bytes);
    f(decode(aligned.bytes()))
}

fn decode_err(bytes: &[u8]) -> FormatError {
    with_view(bytes, |r| r.map(|_| ()).unwrap_err())
}

#[test]
fn tutorial_model_overhead_is_within_budget() {
    let model = tutorial_model(1);
    assert_eq!(model.weights.len(), 40_480);
    let bytes = model.encode();
    let raw = 4 * 40_480;
    assert!(bytes.len() <= raw + raw / 100 + 256, "{} bytes", bytes.len());
    // The figure docs/device-format.md quotes.
    assert_eq!(bytes.len(), 161_968);
}

#[test]
fn inference_from_the_view_is_bit_identical_to_inference_from_the_weights() {
    let model = tutorial_model(7);
    let bytes = model.encode();
    let net = Network::new(model.input, &model.layers).unwrap();
    let batch = 16;
    let mut rng = Rng::new(3);
    let inputs: Vec<f32> = (0..batch * 784).map(|_| rng.next_f32()).collect();
    let mut scratch = vec![0.0; net.inference_scratch_len(batch)];
    let expected = net
        .predict(&Portable, &model.weights, &inputs, batch, &mut scratch)
        .unwrap()
        .to_vec();
    with_view(&bytes, |view| {
        let view = view.unwrap();
        let net = view.network().unwrap();
        let mut scratch = vec![0.0; net.inference_scratch_len(batch)];
        let got = net
            .predict(&Portable, view.weights(), &inputs, batch, &mut scratch)
            .unwrap();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(got), bits(&expected));
    });
}

#[test]
fn round_trip_preserves_every_bit() {
    let mut model = golden_trainable_model();
    let specials = [
        f32::NAN,
        f32::from_bits(0x7FC0_1234),
        -0.0,
        f32::INFINITY,
        f32::MIN_POSITIVE / 8.0,
        f32::MAX,
    ];
    model.weights[..specials.len()].copy_from_slice(&specials);
    let training = model.training.as_mut().unwrap();
    training.state[0] = f32::from_bits(0xFFFF_FFFF);
    let bytes = model.encode();
    with_view(&bytes, |view| {
        let view = view.unwrap();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(view.weights()), bits(&model.weights));
        let state = view.training().unwrap();
        assert_eq!(bits(state.state), bits(&model.training.as_ref().unwrap().state));
        assert_eq!(state.trainer(view.network().unwrap()).trainable_param_count(), 8);
        // Re-encoding the view gives the same file.
        let again = view.model().unwrap();
        let mut out = vec![0u8; again.encoded_len().unwrap()];
        again.encode(&mut out).unwrap();
        assert_eq!(out, bytes);
    });
}

#[test]
fn every_layer_kind_round_trips() {
    let layers = vec![
        Layer::Flatten,
        Layer::Dense {
            units: 5,
            activation: Activation::Gelu,
            use_bias: false,
            activity_regularizer: None,
        },
        Layer::Dropout { rate: 0.25 },
        Layer::Activation(Activation::HardSigmoid),
        Layer::Dense {
            units: 3,
            activation: Activation::Linear,
            use_bias: true,
            activity_regularizer: None,
        },
    ];
    let params = Network::new(6, &layers).unwrap().param_count();
    let model = OwnedModel {
        input: 6,
        input_shape: Some(vec![2, 3]),
        layers,
        weights: (0..params).map(|i| i as f32).collect(),
        training: None,
    }
    .with_training(
        Sgd {
            learning_rate: 0.1,
            momentum: 0.5,
            nesterov: true,
        },
        2,
        |i| i as f32 * 0.5,
    );
    let bytes = model.encode();
    with_view(&bytes, |view| {
        let view = view.unwrap();
        assert_eq!(view.input_shape(), &[2, 3]);
        assert_eq!(view.input_width(), 6);
        assert_eq!(view.layers(), &model.layers[..]);
        let state = view.training().unwrap();
        assert_eq!(state.state.len(), params);
        assert!(state.optimizer.as_sgd().unwrap().nesterov);
    });
}

#[test]
fn encoder_rejects_bad_models_and_small_buffers() {
    let mut model = golden_trainable_model();
    let mut buf = vec![0u8; 1024];
    let len = model.as_ref().encode(&mut buf).unwrap();
    assert_eq!(
        model.as_ref().encode(&mut buf[..len - 1]),
        Err(FormatError::BufferTooSmall {
            needed: len,
            available: len - 1
        })
    );
    model.training.as_mut().unwrap().state.pop();
    assert!(matches!(
        model.as_ref().encode(&mut buf),
        Err(FormatError::InconsistentShapes(Inconsistency::Count {
            expected: 8,
            found: 7,
            ..
        }))
    ));
    model.training.as_mut().unwrap().trainable_layers = 3;
    assert!(matches!(
        model.as_ref().encoded_len(),
        Err(FormatError::InconsistentShapes(Inconsistency::Count {
            expected: 2,
            found: 3,
            ..
        }))
    ));
    let mut model = golden_model();
    model.input_shape = Some(vec![2, 3]);
    assert!(matches!(
        model.as_ref().encode(&mut buf),
        Err(FormatError::InconsistentShapes(Inconsistency::Count {
            expected: 4,
            found: 6,
            ..
        }))
    ));
    model.input_shape = Some(vec![1; 9]);
    assert!(matches!(
        model.as_ref().encode(&mut buf),
        Err(FormatError::TooLarge { .. })
    ));
    model.input_shape = None;
    model.weights.push(0.0);
    assert!(matches!(
        model.as_ref().encode(&mut buf),
        Err(FormatError::InconsistentShapes(Inconsistency::Count {
            what: StoredCount::Weights,
            ..
        }))
    ));
}

#[test]
fn other_files_are_not_models() {
    assert_eq!(
        decode_err(b"PK\x03\x04 this is a zip file, not a model at all"),
        FormatError::NotAModel
    );
    assert_eq!(decode_err(b"\x89HDF\r\n\x1a\n"), FormatError::NotAModel);
    assert_eq!(decode_err(b"x"), FormatError::NotAModel);
    assert_eq!(read_header(b"GIF89a and so on..."), Err(FormatError::NotAModel));
}

#[test]
fn short_and_long_buffers_are_truncated_or_trailing() {
    let bytes = golden_model().encode();
    let n = bytes.len();
    for cut in [0, 3, 4, 15, 19] {
        assert_eq!(
            decode_err(&bytes[..cut]),
            FormatError::Truncated {
                needed: 20,
                available: cut
            }
        );
    }
    for cut in [20, 28, n / 2, n - 1] {
        assert_eq!(
            decode_err(&bytes[..cut]),
            FormatError::Truncated {
                needed: n,
                available: cut
            }
        );
    }
    let mut longer = bytes.clone();
    longer.extend_from_slice(&[0xFF; 8]);
    assert_eq!(
        decode_err(&longer),
        FormatError::TrailingBytes {
            len: n,
            available: n + 8
        }
    );
    // A file at the start of a larger region (a flash partition) reads with decode_prefix.
    let aligned = AlignedBytes::new(&longer);
    let (view, rest) = decode_prefix(aligned.bytes()).unwrap();
    assert_eq!(view.weights(), &golden_model().weights[..]);
    assert_eq!(rest, &[0xFF; 8]);
    let aligned = AlignedBytes::new(&bytes[..n - 4]);
    assert_eq!(
        decode_prefix(aligned.bytes()).map(|_| ()),
        Err(FormatError::Truncated {
            needed: n,
            available: n - 4
        })
    );
}

#[test]
fn damage_anywhere_is_corruption() {
    let bytes = golden_trainable_model().encode();
    // The magic, a version, the length field, the metadata, a weight, the CRC.
    for at in [0, 3, 5, 8, 11, 16, 40, 100, bytes.len() - 1] {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x10;
        assert!(
            matches!(decode_err(&damaged), FormatError::Corrupted { .. }),
            "byte {at}: {}",
            decode_err(&damaged)
        );
    }
}

#[test]
fn misaligned_weights_are_refused() {
    let bytes = golden_model().encode();
    let mut padded = vec![0u8];
    padded.extend_from_slice(&bytes);
    let aligned = AlignedBytes::new(&padded);
    let err = decode(&aligned.bytes()[1..]).map(|_| ()).unwrap_err();
    assert_eq!(
        err,
        FormatError::Misaligned {
            offset: 32,
            address_mod_4: 1
        }
    );
}

/// The golden file's header, metadata block and the rest (weights, momentum), without
/// padding or CRC.
fn split(bytes: &[u8]) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let header = read_header(bytes).unwrap();
    let meta_end = HEADER_LEN + header.meta_len;
    let weights = (meta_end + 3) & !3;
    (
        bytes[..HEADER_LEN].to_vec(),
        bytes[HEADER_LEN..meta_end].to_vec(),
        bytes[weights..bytes.len() - 4].to_vec(),
    )
}

/// Builds a file from a header (version fields used as given), a metadata block and data.
fn assemble(version: u16, min_reader: u16, meta: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = b"\x89MDL".to_vec();
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&min_reader.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(meta.len() as u32).to_le_bytes());
    out.extend_from_slice(meta);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
    out.extend_from_slice(data);
    out.extend_from_slice(&[0; 4]);
    reseal(&mut out);
    out
}

#[test]
fn newer_versions_are_refused_only_when_they_say_so() {
    let (_, meta, data) = split(&golden_trainable_model().encode());
    assert_eq!(
        decode_err(&assemble(7, 6, &meta, &data)),
        FormatError::NewerVersion {
            version: 7,
            min_reader: 6,
            supported: 5
        }
    );
    // A version-6 file that only appended fields (after version 4's int8 field, absent
    // here: 0): read, with the extras skipped.
    let mut meta2 = meta.clone();
    meta2.extend_from_slice(&[0, 7, 1, 2]);
    let mut data2 = data.clone();
    data2.extend_from_slice(&[0xAB; 8]);
    let file = assemble(6, 1, &meta2, &data2);
    with_view(&file, |view| {
        let view = view.unwrap();
        assert_eq!(view.header().version, 6);
        assert_eq!(view.ignored_bytes(), 3 + 8);
        assert_eq!(view.weights(), &golden_model().weights[..]);
        assert_eq!(view.training().unwrap().state.len(), 8);
    });
    // The same additions in a file of the reader's own version are errors.
    assert!(matches!(
        decode_err(&assemble(5, 1, &meta2, &data)),
        FormatError::Malformed { offset: 44, .. }
    ));
    assert!(matches!(
        decode_err(&assemble(5, 1, &meta, &data2)),
        FormatError::InconsistentShapes(Inconsistency::Count {
            what: StoredCount::FileLength,
            ..
        })
    ));
    for (version, min_reader) in [(1, 0), (1, 2), (0, 0), (2, 3), (3, 4), (4, 5), (5, 6)] {
        let err = decode_err(&assemble(version, min_reader, &meta, &data));
        assert!(
            matches!(
                err,
                FormatError::Malformed { offset: 4, .. } | FormatError::NewerVersion { .. }
            ),
            "{version}/{min_reader}: {err}"
        );
    }
}

/// Decodes the golden trainable file with metadata byte `at` (an offset into the
/// metadata block) replaced by `value`.
fn with_meta_byte(at: usize, value: u8) -> FormatError {
    let (_, mut meta, data) = split(&golden_trainable_model().encode());
    meta[at] = value;
    decode_err(&assemble(1, 1, &meta, &data))
}

#[test]
fn inconsistent_and_malformed_metadata_are_reported() {
    // Metadata of small-trainable.mdl (see docs/device-format.md): 01 04 | 02 |
    // 00 03 01 01 | 00 02 04 01 | 17 | 01 00 <lr> <momentum> 00 00 05 01 08.
    let shapes = |e: FormatError| matches!(e, FormatError::InconsistentShapes(_));
    let malformed = |e: FormatError| matches!(e, FormatError::Malformed { .. });
    assert!(matches!(
        with_meta_byte(4, 0),
        FormatError::InconsistentShapes(Inconsistency::Layers(microdense_core::Error::InvalidLayer {
            layer: 0,
            ..
        }))
    ));
    assert!(matches!(
        with_meta_byte(11, 0x16),
        FormatError::InconsistentShapes(Inconsistency::Count {
            what: StoredCount::Weights,
            expected: 23,
            found: 22
        })
    ));
    assert!(shapes(with_meta_byte(1, 0)), "input dimension 0");
    assert!(matches!(
        decode_err(&assemble(1, 1, &[1, 4, 0, 0, 0], &[])),
        FormatError::InconsistentShapes(Inconsistency::Layers(microdense_core::Error::LayerCount {
            count: 0
        }))
    ));
    assert!(shapes(with_meta_byte(25, 3)), "3 trainable of 2 Dense layers");
    assert!(
        shapes(with_meta_byte(26, 7)),
        "7 momentum values for 8 parameters"
    );
    assert!(shapes(with_meta_byte(21, 0x7F)), "momentum 1.0e38");
    assert!(malformed(with_meta_byte(5, 12)), "activation tag 12");
    assert!(malformed(with_meta_byte(3, 4)), "layer tag 4");
    assert!(malformed(with_meta_byte(6, 2)), "bool 2");
    assert!(malformed(with_meta_byte(12, 2)), "option tag 2");
    assert!(malformed(with_meta_byte(13, 1)), "optimizer tag 1");
    assert!(malformed(with_meta_byte(23, 4)), "loss tag 4");
    assert!(malformed(with_meta_byte(2, 0x41)), "65 layers");
    assert!(malformed(with_meta_byte(0, 9)), "9 input dimensions");
    assert!(matches!(
        decode_err(&assemble(1, 1, &[0, 1, 3, 0, 0], &[])),
        FormatError::InconsistentShapes(Inconsistency::InputShape { .. })
    ));
    // Non-zero padding.
    let mut bytes = golden_trainable_model().encode();
    bytes[0x2b] = 1;
    reseal(&mut bytes);
    assert_eq!(
        decode_err(&bytes),
        FormatError::Malformed {
            offset: 0x2b,
            what: Malformation::WeightsPadding
        }
    );
    // A metadata length past the end.
    let mut bytes = golden_model().encode();
    bytes[12] = 0xF0;
    reseal(&mut bytes);
    assert!(malformed(decode_err(&bytes)));
}

#[test]
fn errors_print_what_is_wrong() {
    let shown = FormatError::Corrupted {
        stored: 1,
        computed: 0xDEAD_BEEF,
    }
    .to_string();
    assert!(shown.contains("0xdeadbeef"), "{shown}");
    let shown = FormatError::NewerVersion {
        version: 3,
        min_reader: 2,
        supported: 1,
    }
    .to_string();
    assert!(
        shown.contains("version 3") && shown.contains("supports version 1"),
        "{shown}"
    );
}

#[test]
fn version_2_layers_round_trip_and_need_a_version_2_reader() {
    let layers = vec![
        Layer::Rescaling {
            scale: 1.0 / 255.0,
            offset: 0.0,
        },
        Layer::Normalization { invert: false },
        Layer::Dense {
            units: 6,
            activation: Activation::Linear,
            use_bias: true,
            activity_regularizer: None,
        },
        Layer::BatchNormalization {
            momentum: 0.99,
            epsilon: 1e-3,
            center: true,
            scale: true,
        },
        Layer::Relu {
            max_value: Some(6.0),
            negative_slope: 0.0,
            threshold: 0.0,
        },
        Layer::LayerNormalization {
            epsilon: 1e-3,
            center: true,
            scale: true,
        },
        Layer::LeakyRelu { negative_slope: 0.2 },
        Layer::Prelu,
        Layer::Elu { alpha: 1.0 },
        Layer::GaussianNoise { stddev: 0.1 },
        Layer::GaussianDropout { rate: 0.1 },
        Layer::AlphaDropout { rate: 0.1 },
        Layer::Identity,
        Layer::Reshape,
        Layer::ActivityRegularization { l1: 0.01, l2: 0.0 },
        Layer::Dense {
            units: 3,
            activation: Activation::Linear,
            use_bias: true,
            activity_regularizer: None,
        },
        Layer::Softmax,
    ];
    let count = Network::new(4, &layers).unwrap().param_count();
    let mut rng = Rng::new(2);
    let weights: Vec<f32> = (0..count).map(|_| 0.5 + rng.next_f32()).collect();
    let model = OwnedModel {
        input: 4,
        input_shape: None,
        layers,
        weights,
        training: None,
    }
    .with_training(Sgd::default(), 3, |i| i as f32);
    let net = Network::new(4, &model.layers).unwrap();
    let bytes = model.encode();
    with_view(&bytes, |view| {
        let view = view.unwrap();
        assert_eq!(view.header().min_reader, 2);
        assert_eq!(view.layers(), &model.layers[..]);
        assert_eq!(view.weights(), &model.weights[..]);
        let x = [10.0, 20.0, 30.0, 40.0];
        let mut a = vec![0.0; net.inference_scratch_len(1)];
        let mut b = a.clone();
        let from_view = view
            .network()
            .unwrap()
            .predict(&Portable, view.weights(), &x, 1, &mut a)
            .unwrap();
        let direct = net.predict(&Portable, &model.weights, &x, 1, &mut b).unwrap();
        assert_eq!(from_view, direct);
    });
    // A version-1 model still says a version-1 reader can read it.
    with_view(&golden_model().encode(), |view| {
        assert_eq!(view.unwrap().header().min_reader, 1)
    });
}

/// A residual graph on 3 inputs: Dense(4) → Dense(4) → Add(skip) → Dense(2, softmax).
fn residual_graph() -> (Vec<Layer>, Vec<Inbound>) {
    let dense = |units, activation| Layer::Dense {
        units,
        activation,
        use_bias: true,
        activity_regularizer: None,
    };
    let layers = vec![
        dense(4, Activation::Tanh),
        dense(4, Activation::Relu),
        Layer::Merge(Merge::Add),
        dense(2, Activation::Softmax),
    ];
    let wiring = [
        &[Source::Input][..],
        &[Source::Layer(0)],
        &[Source::Layer(1), Source::Layer(0)],
        &[Source::Layer(2)],
    ]
    .iter()
    .map(|s| Inbound::new(s).unwrap())
    .collect();
    (layers, wiring)
}

#[test]
fn graphs_round_trip_with_their_wiring_and_need_a_version_4_reader() {
    let (layers, wiring) = residual_graph();
    let net = Network::graph(3, &layers, &wiring).unwrap();
    let weights: Vec<f32> = (0..net.param_count()).map(|i| (i as f32 - 20.0) / 16.0).collect();
    let model = ModelRef {
        network: net,
        input_shape: None,
        weights: &weights,
        training: None,
        int8: None,
    };
    let mut bytes = vec![0u8; model.encoded_len().unwrap()];
    model.encode(&mut bytes).unwrap();
    // Merge and wiring records: a version-3 reader refuses the file by version.
    assert_eq!(read_header(&bytes).unwrap().min_reader, 4);
    let inputs = [0.5, -1.0, 2.0, 0.25, 0.0, -0.75];
    let mut scratch = vec![0.0; net.inference_scratch_len(2)];
    let expected = net
        .predict(&Portable, &weights, &inputs, 2, &mut scratch)
        .unwrap()
        .to_vec();
    with_view(&bytes, |view| {
        let view = view.unwrap();
        let got = view.network().unwrap();
        assert!(got.is_graph());
        assert_eq!((0..4).map(|i| got.inbound(i)).collect::<Vec<_>>(), wiring);
        let mut scratch = vec![0.0; got.inference_scratch_len(2)];
        let out = got
            .predict(&Portable, view.weights(), &inputs, 2, &mut scratch)
            .unwrap();
        assert_eq!(out, &expected[..]);
    });
    // The wiring is the metadata's last bytes: [1 0] [1 1] [2 2 1] [1 3]. A layer taking
    // a later one's output is an inconsistency naming it.
    let (_, mut meta, data) = split(&bytes);
    let n = meta.len();
    assert_eq!(&meta[n - 10..], &[4, 1, 0, 1, 1, 2, 2, 1, 1, 3]);
    meta[n - 6] = 4;
    assert_eq!(
        decode_err(&assemble(4, 4, &meta, &data)),
        FormatError::InconsistentShapes(Inconsistency::Layers(Error::InvalidLayer {
            layer: 1,
            reason: LayerDefect::GraphSource,
        }))
    );
    // A layer with more inputs than a merge may take cannot be read.
    meta[n - 6] = 1;
    meta[n - 5] = 9;
    assert!(matches!(
        decode_err(&assemble(4, 4, &meta, &data)),
        FormatError::Malformed { .. }
    ));
}
