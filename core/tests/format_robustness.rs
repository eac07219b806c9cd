//! Robustness: damaged, truncated and extended files decode to an error or to a model
//! that passes validation — never a panic — and every single damaged byte of the
//! tutorial model's file is reported as corruption.

mod format_support;

use format_support::{reseal, tutorial_model, AlignedBytes, OwnedModel, OwnedTraining};
use microdense_core::format::{decode, decode_prefix, FormatError, ModelView};
use microdense_core::optimizer::AdamSettings;
use microdense_core::{
    Activation, Algorithm, Layer, Loss, Network, Optimizer, OptimizerScalars, Portable, Sgd,
};
use proptest::prelude::*;

/// Checks everything a decoded view promises: a valid network, weights and momentum of
/// the right lengths, inference that runs, and a re-encoding that decodes to the same.
fn check_valid(view: &ModelView<'_>) {
    let net = view.network().expect("a decoded view's network is valid");
    assert_eq!(view.weights().len(), net.param_count());
    if let Some(state) = view.training() {
        state.check(&net).expect("a decoded training state is valid");
    }
    let inputs = vec![0.5; net.input_width()];
    let mut scratch = vec![0.0; net.inference_scratch_len(1)];
    net.predict(&Portable, view.weights(), &inputs, 1, &mut scratch)
        .expect("inference runs");
    let model = view.model().unwrap();
    let mut out = vec![0u8; model.encoded_len().unwrap()];
    model.encode(&mut out).unwrap();
    let again = AlignedBytes::new(&out);
    let back = decode(again.bytes()).expect("a re-encoded view decodes");
    assert_eq!(back.layers(), view.layers());
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(back.weights()), bits(view.weights()));
}

/// Decodes `bytes` (from aligned storage) both ways; checks any model that comes out.
fn decode_and_check(bytes: &[u8]) -> Result<(), FormatError> {
    let aligned = AlignedBytes::new(bytes);
    if let Ok((view, _)) = decode_prefix(aligned.bytes()) {
        check_valid(&view);
    }
    let view = decode(aligned.bytes())?;
    check_valid(&view);
    Ok(())
}

fn activation() -> impl Strategy<Value = Activation> {
    (0..Activation::ALL.len()).prop_map(|i| Activation::ALL[i])
}

fn layer() -> impl Strategy<Value = Layer> {
    prop_oneof![
        3 => (1u32..6, activation(), any::<bool>()).prop_map(|(units, activation, use_bias)| {
            Layer::Dense { units, activation, use_bias, activity_regularizer: None }
        }),
        1 => activation().prop_map(Layer::Activation),
        1 => (0.0f32..0.9).prop_map(|rate| Layer::Dropout { rate }),
        1 => Just(Layer::Flatten),
    ]
}

/// Small valid models of every layer kind, with arbitrary weight bits and, sometimes, a
/// training state.
fn model() -> impl Strategy<Value = OwnedModel> {
    (
        1usize..6,
        prop::collection::vec(layer(), 1..6),
        any::<u64>(),
        any::<bool>(),
    )
        .prop_flat_map(|(input, layers, iterations, with_training)| {
            let net = Network::new(input, &layers).unwrap();
            let params = net.param_count();
            let weighted = net.weighted_layer_count();
            (
                prop::collection::vec(any::<u32>().prop_map(f32::from_bits), params),
                0..=weighted,
                prop_oneof![Just(0.0f32), 0.1f32..0.99],
                any::<bool>(),
                any::<bool>(),
            )
                .prop_map(move |(weights, k, momentum, nesterov, adam)| {
                    let optimizer = if adam {
                        Optimizer::new(Algorithm::Adam(AdamSettings {
                            amsgrad: nesterov,
                            ..AdamSettings::default()
                        }))
                    } else {
                        Optimizer::from(Sgd {
                            learning_rate: 0.05,
                            momentum,
                            nesterov,
                        })
                    };
                    let net = Network::new(input, &layers).unwrap();
                    let first = net.first_trainable_layer(k);
                    let trainable = params - net.param_offset(first);
                    OwnedModel {
                        input,
                        input_shape: (input == 4).then(|| vec![2, 2]),
                        layers: layers.clone(),
                        training: with_training.then(|| OwnedTraining {
                            state: weights
                                .iter()
                                .rev()
                                .cycle()
                                .take(optimizer.state_len(trainable))
                                .copied()
                                .collect(),
                            optimizer,
                            loss: Loss::ALL[(iterations % 4) as usize],
                            scalars: OptimizerScalars {
                                iterations,
                                u_product: 1.0,
                            },
                            trainable_layers: k,
                        }),
                        weights,
                    }
                })
        })
}

/// A change to a file's bytes.
#[derive(Clone, Debug)]
enum Damage {
    /// XOR the byte at (position mod length) with a non-zero mask.
    Flip(usize, u8),
    /// Keep only the first (n mod length) bytes.
    Truncate(usize),
    /// Append bytes.
    Extend(Vec<u8>),
    /// Insert bytes at (position mod length).
    Insert(usize, Vec<u8>),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        4 => (any::<usize>(), 1u8..=255).prop_map(|(at, mask)| Damage::Flip(at, mask)),
        1 => any::<usize>().prop_map(Damage::Truncate),
        1 => prop::collection::vec(any::<u8>(), 1..16).prop_map(Damage::Extend),
        1 => (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Damage::Insert(at, bytes)),
    ]
}

fn apply(bytes: &mut Vec<u8>, damage: &Damage) {
    let n = bytes.len().max(1);
    match damage {
        Damage::Flip(at, mask) => {
            if let Some(b) = bytes.get_mut(at % n) {
                *b ^= mask;
            }
        }
        Damage::Truncate(len) => bytes.truncate(len % n),
        Damage::Extend(more) => bytes.extend_from_slice(more),
        Damage::Insert(at, more) => {
            let at = at % n;
            bytes.splice(at..at, more.iter().copied());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Valid models round-trip.
    #[test]
    fn valid_models_decode(model in model()) {
        let bytes = model.encode();
        prop_assert!(decode_and_check(&bytes).is_ok());
    }

    /// Raw damage: the integrity checks catch it (one damaged byte is always `Corrupted`).
    #[test]
    fn damaged_files_are_errors(model in model(), damages in prop::collection::vec(damage(), 1..4)) {
        let original = model.encode();
        let mut bytes = original.clone();
        for d in &damages {
            apply(&mut bytes, d);
        }
        let result = decode_and_check(&bytes);
        if bytes != original {
            prop_assert!(result.is_err());
        }
        if let [Damage::Flip(..)] = damages[..] {
            prop_assert!(matches!(result, Err(FormatError::Corrupted { .. })), "{:?}", result);
        }
    }

    /// Damage with the length and CRC repaired, so it reaches the parser and the
    /// validation: an error or a valid model, never a panic.
    #[test]
    fn resealed_damage_never_panics(model in model(), damages in prop::collection::vec(damage(), 1..4)) {
        let mut bytes = model.encode();
        for d in &damages {
            apply(&mut bytes, d);
        }
        reseal(&mut bytes);
        let _ = decode_and_check(&bytes);
    }

    /// Arbitrary bytes, with and without a valid magic, length and CRC.
    #[test]
    fn arbitrary_bytes_never_panic(mut bytes in prop::collection::vec(any::<u8>(), 0..96)) {
        let _ = decode_and_check(&bytes);
        if bytes.len() >= 4 {
            bytes[..4].copy_from_slice(b"\x89MDL");
        }
        if bytes.len() >= 8 {
            bytes[4..8].copy_from_slice(&[1, 0, 1, 0]);
        }
        reseal(&mut bytes);
        let _ = decode_and_check(&bytes);
    }
}

#[test]
fn single_byte_corruptions_of_the_tutorial_model_are_reported() {
    let bytes = tutorial_model(42).encode();
    assert!(decode(AlignedBytes::new(&bytes).bytes()).is_ok());
    // All 255 masks for the first 48 bytes (header, metadata, padding, the first weights);
    // one mask, a different one each time, at every byte of the first 4 KiB and at every
    // 97th byte after (a prime stride, so every region and byte lane of the 162 KB file is
    // hit). Each decode checks the whole file's CRC, so the positions are shared out among
    // threads. (A CRC-32 detects every single-byte error; this checks the decoder reports
    // it as such wherever it lands.)
    let positions: Vec<usize> = (0..bytes.len()).filter(|&at| at < 4096 || at % 97 == 0).collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|scope| {
        for t in 0..threads {
            let (bytes, positions) = (&bytes, &positions);
            scope.spawn(move || {
                let mut aligned = AlignedBytes::new(bytes);
                for &at in positions.iter().skip(t).step_by(threads) {
                    let all_masks = if at < 48 { 255 } else { 0 };
                    for mask in (1..=255u8).take(all_masks).chain([1 + (at % 255) as u8]) {
                        aligned.bytes_mut()[at] ^= mask;
                        let result = decode(aligned.bytes()).map(|_| ());
                        assert!(
                            matches!(result, Err(FormatError::Corrupted { .. })),
                            "byte {at} ^ {mask:#04x}: {result:?}"
                        );
                        aligned.bytes_mut()[at] ^= mask;
                    }
                }
            });
        }
    });
}
