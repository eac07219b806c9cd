//! Error replies travel as data: each fault survives a frame (names borrowed from it), the
//! host words it as the device used to, and the engine's errors read the same as their wire
//! forms.

use microdense_core::format::{FormatError, Inconsistency};
use microdense_core::protocol::{
    decode_frame, encode_frame, Capacity, ErrorCode, Fault, FrameError, ModelFault, ModelStatus, Response,
    SampleError, WireError, WireFormatError, WireInconsistency, MAX_FRAME,
};
use microdense_core::Error;

/// `response` sent in a frame and read back.
fn round_trip(response: &Response<'_>) {
    let mut frame = [0u8; MAX_FRAME];
    let len = encode_frame(3, response, &mut frame).unwrap();
    let (id, back): (u16, Response<'_>) = decode_frame(&mut frame[..len - 1]).unwrap();
    assert_eq!((id, &back), (3, response));
}

#[test]
fn faults_survive_a_frame_with_their_names() {
    let layers = Error::InvalidLayer {
        layer: 2,
        reason: "Dense layer with zero units",
    };
    let faults = [
        Fault::Frame(FrameError::Crc {
            stored: 1,
            computed: 2,
        }),
        Fault::CutOff {
            timeout_ticks: 200_000_000,
        },
        Fault::NoModel { address: 0x4_0000 },
        Fault::BadModel(ModelFault::File(WireFormatError::InconsistentShapes(
            WireInconsistency::Layers(layers.into()),
        ))),
        Fault::BadModel(ModelFault::TooLarge {
            buffer: Capacity::InputValues,
            needed: 2048,
            available: 1024,
        }),
        Fault::Engine(WireError::BufferSize {
            what: "matmul output",
            expected: u64::MAX,
            actual: 0,
        }),
        Fault::Sample {
            sample: 3,
            error: SampleError::BadRun { offset: 17 },
        },
        Fault::Label {
            sample: 3,
            label: 12,
            outputs: 10,
        },
        Fault::ModelHead(FormatError::TooLarge { what: "weights" }.into()),
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
        model: ModelStatus::Corrupted(ModelFault::Network(Error::LayerCount { count: 0 }.into())),
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
    let cases: [(Fault<'_>, ErrorCode, &str); 8] = [
        (
            Fault::NoModel { address: 0x4_0000 },
            ErrorCode::NoModel,
            "no model in the model region at 0x00040000; write a .mdl there",
        ),
        (
            Fault::BadModel(ModelFault::File(
                FormatError::Corrupted {
                    stored: 0xDEAD_BEEF,
                    computed: 1,
                }
                .into(),
            )),
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
            "training the last 3 layers needs 80960 f32 for weights, momentum and gradients; \
             the firmware reserves 8192",
        ),
        (
            Fault::Engine(Error::Batch { reason: "batch of 0" }.into()),
            ErrorCode::Engine,
            "engine: bad batch: batch of 0",
        ),
    ];
    for (fault, code, text) in cases {
        assert_eq!(fault.code(), code, "{fault:?}");
        assert_eq!(fault.to_string(), text);
    }
}

#[test]
fn engine_errors_read_the_same_as_their_wire_forms() {
    let errors = [
        Error::BufferSize {
            what: "input",
            expected: 784,
            actual: 10,
        },
        Error::LayerCount { count: 0 },
        Error::LayerIndex { index: 9, layers: 6 },
    ];
    for e in errors {
        assert_eq!(e.to_string(), WireError::from(e).to_string());
    }
    assert_eq!(
        Error::LayerCount { count: 0 }.to_string(),
        "a network needs 1 to 64 layers, got 0"
    );
    let formats = [
        FormatError::NotAModel,
        FormatError::Truncated {
            needed: 100,
            available: 7,
        },
        FormatError::Malformed {
            offset: 0x2b,
            what: "non-zero padding before the weights",
        },
        FormatError::InconsistentShapes(Inconsistency::Count {
            what: "weights",
            expected: 10,
            found: 9,
        }),
    ];
    for e in formats {
        assert_eq!(e.to_string(), WireFormatError::from(e).to_string());
    }
    assert_eq!(
        formats[3].to_string(),
        "model file has inconsistent shapes: weights: the architecture implies 10, the file has 9"
    );
}
