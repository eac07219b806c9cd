//! Error replies travel as data: the engine's and the format's errors are their own wire
//! form, their tags are pinned here (a changed tag breaks every deployed device), each fault
//! survives a frame, and the host words it as before.

use microdense_core::quant::{QuantDefect, QuantError};
use std::fmt::Debug;

use microdense_core::format::{
    FormatError, Inconsistency, Malformation, Quantity, ShapeDefect, StoredCount, TrainingDefect,
};
use microdense_core::kinds::Kind;
use microdense_core::protocol::{
    decode_frame, encode_frame, Capacity, ErrorCode, Fault, FrameError, ModelFault, ModelStatus, Response,
    SampleError, TrainingRequest, MAX_FRAME,
};
use microdense_core::{BatchDefect, Buffer, Error, LayerDefect};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// `value`'s postcard bytes.
fn encoded<T: Serialize>(value: &T) -> Vec<u8> {
    let mut buf = [0u8; 64];
    postcard::to_slice(value, &mut buf).unwrap().to_vec()
}

/// Checks that `cases` hold one value per variant in tag order (the first byte of each
/// encoding is its position), that each encodes to its bytes and reads back, and that no
/// variant has the next tag: together, every tag of `T` is pinned.
fn assert_tags<T>(cases: &[(T, &[u8])])
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    for (tag, (value, bytes)) in cases.iter().enumerate() {
        assert_eq!(usize::from(bytes[0]), tag, "{value:?} is listed out of tag order");
        assert_eq!(encoded(value), *bytes, "{value:?}");
        assert_eq!(postcard::from_bytes::<T>(bytes).unwrap(), *value);
    }
    // Zero bytes decode as any fields (0, false, the first tag), so only a missing variant
    // makes this fail.
    let mut next = [0u8; 32];
    next[0] = u8::try_from(cases.len()).unwrap();
    let extra = postcard::from_bytes::<T>(&next);
    assert!(
        extra.is_err(),
        "a variant with tag {} is not listed: {extra:?}",
        cases.len()
    );
}

/// [`assert_tags`] for an enum naming things (`ALL`): its tag is its discriminant and its
/// position.
fn assert_name_tags<T>(all: &[T], discriminant: fn(T) -> u8)
where
    T: Copy + Serialize + DeserializeOwned + PartialEq + Debug,
{
    let tags: Vec<[u8; 1]> = all.iter().map(|&v| [discriminant(v)]).collect();
    let cases: Vec<(T, &[u8])> = all.iter().zip(&tags).map(|(&v, tag)| (v, &tag[..])).collect();
    assert_tags(&cases);
}

#[test]
fn names_are_tagged_by_their_positions() {
    assert_name_tags(Buffer::ALL, |v| v as u8);
    assert_name_tags(LayerDefect::ALL, |v| v as u8);
    assert_name_tags(BatchDefect::ALL, |v| v as u8);
    assert_name_tags(Malformation::ALL, |v| v as u8);
    assert_name_tags(Quantity::ALL, |v| v as u8);
    assert_name_tags(StoredCount::ALL, |v| v as u8);
    assert_name_tags(ShapeDefect::ALL, |v| v as u8);
    assert_name_tags(TrainingDefect::ALL, |v| v as u8);
    assert_name_tags(Capacity::ALL, |v| v as u8);
    assert_name_tags(TrainingRequest::ALL, |v| v as u8);
    assert_name_tags(Kind::ALL, |v| v as u8);
    assert_eq!(encoded(&Buffer::MatmulOutput), [11]);
    assert_eq!(encoded(&Buffer::PenaltySums), [12]);
    assert_eq!(encoded(&Malformation::WeightsPadding), [10]);
}

#[test]
fn engine_error_tags_are_pinned() {
    assert_tags::<Error>(&[
        (
            Error::BufferSize {
                what: Buffer::MatmulOutput,
                expected: 300,
                actual: 2,
            },
            &[0, 11, 0xAC, 0x02, 2],
        ),
        (
            Error::InvalidLayer {
                layer: 2,
                reason: LayerDefect::ZeroUnits,
            },
            &[1, 2, 1],
        ),
        (Error::LayerCount { count: 65 }, &[2, 65]),
        (
            Error::Batch {
                reason: BatchDefect::NoSamples,
            },
            &[3, 0],
        ),
        (Error::LayerIndex { index: 9, layers: 6 }, &[4, 9, 6]),
        (Error::NotBuiltIn { kind: Kind::Losses }, &[5, 11]),
    ]);
}

#[test]
fn format_error_tags_are_pinned() {
    assert_tags::<FormatError>(&[
        (FormatError::NotAModel, &[0]),
        (
            FormatError::NewerVersion {
                version: 3,
                min_reader: 2,
                supported: 1,
            },
            &[1, 3, 2, 1],
        ),
        (
            FormatError::Corrupted {
                stored: 1,
                computed: 300,
            },
            &[2, 1, 0xAC, 0x02],
        ),
        (
            FormatError::Truncated {
                needed: 16,
                available: 4,
            },
            &[3, 16, 4],
        ),
        (
            FormatError::TrailingBytes {
                len: 40,
                available: 44,
            },
            &[4, 40, 44],
        ),
        (
            FormatError::InconsistentShapes(Inconsistency::InputShape {
                what: ShapeDefect::ZeroDimension,
            }),
            &[5, 2, 1],
        ),
        (
            FormatError::Malformed {
                offset: 43,
                what: Malformation::WeightsPadding,
            },
            &[6, 43, 10],
        ),
        (
            FormatError::Misaligned {
                offset: 44,
                address_mod_4: 2,
            },
            &[7, 44, 2],
        ),
        (FormatError::BigEndianTarget, &[8]),
        (
            FormatError::BufferTooSmall {
                needed: 100,
                available: 10,
            },
            &[9, 100, 10],
        ),
        (
            FormatError::TooLarge {
                what: Quantity::InputDimension,
            },
            &[10, 4],
        ),
        (FormatError::NotBuiltIn { kind: Kind::Int8 }, &[11, 10]),
    ]);
    assert_tags::<Inconsistency>(&[
        (Inconsistency::Layers(Error::LayerCount { count: 0 }), &[0, 2, 0]),
        (
            Inconsistency::Count {
                what: StoredCount::FileLength,
                expected: 10,
                found: 9,
            },
            &[1, 1, 10, 9],
        ),
        (
            Inconsistency::InputShape {
                what: ShapeDefect::NoDimensions,
            },
            &[2, 0],
        ),
        (
            Inconsistency::Training {
                what: TrainingDefect::Momentum,
            },
            &[3, 1],
        ),
        (
            Inconsistency::Int8(QuantError {
                layer: 2,
                defect: QuantDefect::Requantizer,
            }),
            &[4, 2, 2],
        ),
    ]);
    assert_name_tags(QuantDefect::ALL, |v| v as u8);
}

#[test]
fn fault_tags_are_pinned() {
    let frame = FrameError::Crc {
        stored: 1,
        computed: 2,
    };
    assert_tags::<Fault>(&[
        (Fault::Frame(frame), &[0, 3, 1, 2]),
        (Fault::CutOff { timeout_ticks: 200 }, &[1, 0xC8, 0x01]),
        (Fault::Serial, &[2]),
        (Fault::NoModel { address: 0x4_0000 }, &[3, 0x80, 0x80, 0x10]),
        (
            Fault::BadModel(ModelFault::File(FormatError::NotAModel)),
            &[4, 0, 0],
        ),
        (
            Fault::Engine(Error::LayerIndex { index: 9, layers: 6 }),
            &[5, 4, 9, 6],
        ),
        (Fault::Reply(FrameError::Cobs), &[6, 1]),
        (Fault::NoLabel { sample: 3 }, &[7, 3]),
        (
            Fault::Sample {
                sample: 1,
                error: SampleError::BadRun { offset: 17 },
            },
            &[8, 1, 1, 17],
        ),
        (Fault::TrailingBytes { bytes: 5, samples: 2 }, &[9, 5, 2]),
        (
            Fault::SampleCount {
                count: 0,
                min: 1,
                max: 64,
            },
            &[10, 0, 1, 64],
        ),
        (
            Fault::Label {
                sample: 3,
                label: 12,
                outputs: 10,
            },
            &[11, 3, 12, 10],
        ),
        (Fault::NoHyperparameters, &[12]),
        (
            Fault::TunedLayers {
                tuned: 2,
                requested: 3,
            },
            &[13, 2, 3],
        ),
        (
            Fault::TunedOptimizer {
                slots: 2,
                requested: 1,
            },
            &[14, 2, 1],
        ),
        (
            Fault::TrainLayers {
                requested: 4,
                weighted: 3,
            },
            &[15, 4, 3],
        ),
        (
            Fault::TrainMemory {
                layers: 3,
                needed: 100,
                reserved: 50,
            },
            &[16, 3, 100, 50],
        ),
        (
            Fault::BatchMemory {
                batch: 8,
                needed: 100,
                reserved: 50,
            },
            &[17, 8, 100, 50],
        ),
        (
            Fault::ModelHead(FormatError::BufferTooSmall {
                needed: 100,
                available: 10,
            }),
            &[18, 9, 100, 10],
        ),
        (
            Fault::PullOffset {
                offset: 99,
                total: 98,
            },
            &[19, 99, 98],
        ),
        (Fault::InferenceOnly(TrainingRequest::Pull), &[20, 1]),
    ]);
    assert_tags::<ModelFault>(&[
        (ModelFault::File(FormatError::BigEndianTarget), &[0, 8]),
        (ModelFault::Network(Error::LayerCount { count: 0 }), &[1, 2, 0]),
        (
            ModelFault::TooLarge {
                buffer: Capacity::LayerWidth,
                needed: 2048,
                available: 100,
            },
            &[2, 2, 0x80, 0x10, 100],
        ),
    ]);
}

/// `response` sent in a frame and read back.
fn round_trip(response: &Response<'_>) {
    let mut frame = [0u8; MAX_FRAME];
    let len = encode_frame(3, response, &mut frame).unwrap();
    let (id, back): (u16, Response<'_>) = decode_frame(&mut frame[..len - 1]).unwrap();
    assert_eq!((id, &back), (3, response));
}

#[test]
fn faults_survive_a_frame() {
    let faults = [
        Fault::BadModel(ModelFault::File(FormatError::InconsistentShapes(
            Inconsistency::Layers(Error::InvalidLayer {
                layer: 2,
                reason: LayerDefect::ZeroUnits,
            }),
        ))),
        Fault::Engine(Error::BufferSize {
            what: Buffer::MatmulOutput,
            expected: usize::MAX,
            actual: 0,
        }),
        Fault::ModelHead(FormatError::TooLarge {
            what: Quantity::Parameters,
        }),
        Fault::BadModel(ModelFault::File(FormatError::NotBuiltIn {
            kind: Kind::Normalization,
        })),
        Fault::Engine(Error::NotBuiltIn { kind: Kind::Losses }),
    ];
    for fault in faults {
        round_trip(&Response::Error(fault));
    }
    round_trip(&Response::Info(microdense_core::protocol::DeviceInfo {
        protocol: microdense_core::protocol::PROTOCOL_VERSION,
        firmware: "0.1.0",
        board: "test",
        model_address: 0x4_0000,
        model_region: 0x4_0000,
        model: ModelStatus::Corrupted(ModelFault::Network(Error::LayerCount { count: 0 })),
        memory: microdense_core::protocol::MemoryUse {
            flash_code: 1,
            flash_budget: 2,
            flash_model: 0,
            static_ram: 3,
            stack_size: 4,
            stack_used: 5,
        },
        clock: microdense_core::protocol::ClockUnit::Cycles,
        clock_resolution: 1,
        limits: microdense_core::protocol::Limits {
            max_input: 1,
            max_inference_scratch: 2,
            train_arena: 3,
            max_batch: 4,
        },
        measured: Default::default(),
    }));
}

#[test]
fn the_host_words_faults_as_sentences() {
    let cases: [(Fault, ErrorCode, &str); 11] = [
        (
            Fault::NoModel { address: 0x4_0000 },
            ErrorCode::NoModel,
            "no model in the model region at 0x00040000; write a .mdl there",
        ),
        (
            Fault::BadModel(ModelFault::File(FormatError::Corrupted {
                stored: 0xDEAD_BEEF,
                computed: 1,
            })),
            ErrorCode::BadModel,
            "model region: model file is corrupted: stored CRC-32 0xdeadbeef, computed 0x00000001",
        ),
        (
            Fault::BadModel(ModelFault::TooLarge {
                buffer: Capacity::InferenceScratch,
                needed: 3000,
                available: 1024,
            }),
            ErrorCode::BadModel,
            "model does not fit this firmware: inference scratch (f32): needs 3000, the firmware has 1024",
        ),
        (
            Fault::Label {
                sample: 3,
                label: 12,
                outputs: 10,
            },
            ErrorCode::BadRequest,
            "sample 3: label 12 is not a class of a model with 10 outputs",
        ),
        (
            Fault::Sample {
                sample: 1,
                error: SampleError::Truncated {
                    decoded: 5,
                    needed: 784,
                },
            },
            ErrorCode::Samples(SampleError::Truncated {
                decoded: 5,
                needed: 784,
            }),
            "sample 1: sample bytes end after 5 of 784 values",
        ),
        (
            Fault::CutOff {
                timeout_ticks: 200_000_000,
            },
            ErrorCode::Truncated,
            "frame cut off: no byte for 200000000 clock ticks; its bytes were dropped",
        ),
        (
            Fault::TrainMemory {
                layers: 3,
                needed: 80_960,
                reserved: 8192,
            },
            ErrorCode::TooLarge,
            "training the last 3 layers needs 80960 f32 for weights, optimizer state and \
             gradients; the firmware reserves 8192",
        ),
        (
            Fault::Engine(Error::Batch {
                reason: BatchDefect::NoSamples,
            }),
            ErrorCode::Engine,
            "engine: bad batch: no samples",
        ),
        (
            Fault::ModelHead(FormatError::TooLarge {
                what: Quantity::InputDims,
            }),
            ErrorCode::TooLarge,
            "model file head: input shape (more than MAX_INPUT_DIMS dimensions) is too large for \
             the device format",
        ),
        (
            Fault::BadModel(ModelFault::File(FormatError::NotBuiltIn {
                kind: Kind::Optimizers,
            })),
            ErrorCode::BadModel,
            "model region: the model needs optimizers other than SGD, and weight decay (cargo \
             feature `optimizers`), which this build leaves out",
        ),
        (
            Fault::InferenceOnly(TrainingRequest::Finetune),
            ErrorCode::BadRequest,
            "finetune: the firmware was not built with training (it is the inference-only image); \
             flash the full firmware to fine-tune or pull",
        ),
    ];
    for (fault, code, text) in cases {
        assert_eq!(fault.code(), code, "{fault:?}");
        assert_eq!(fault.to_string(), text);
    }
}

#[test]
fn engine_and_format_errors_read_as_before() {
    let cases = [
        (
            Error::BufferSize {
                what: Buffer::Inputs,
                expected: 784,
                actual: 10,
            }
            .to_string(),
            "inputs buffer holds 10 values, the network needs 784",
        ),
        (
            Error::InvalidLayer {
                layer: 1,
                reason: LayerDefect::DropoutRate,
            }
            .to_string(),
            "layer 1: dropout rate outside [0, 1)",
        ),
        (
            Error::LayerCount { count: 0 }.to_string(),
            "a network needs 1 to 64 layers, got 0",
        ),
        (
            Error::LayerIndex { index: 9, layers: 6 }.to_string(),
            "layer index 9 is out of range for a network of 6 layers",
        ),
        (
            FormatError::Malformed {
                offset: 0x2b,
                what: Malformation::WeightsPadding,
            }
            .to_string(),
            "model file is malformed at offset 43: non-zero padding before the weights",
        ),
        (
            FormatError::InconsistentShapes(Inconsistency::Count {
                what: StoredCount::Weights,
                expected: 10,
                found: 9,
            })
            .to_string(),
            "model file has inconsistent shapes: weights: the architecture implies 10, the file has 9",
        ),
        (
            FormatError::InconsistentShapes(Inconsistency::Training {
                what: TrainingDefect::LearningRate,
            })
            .to_string(),
            "model file has inconsistent shapes: invalid training state: learning rate is not finite",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(text, expected);
    }
}
