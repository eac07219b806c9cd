//! The int8 body against a plain reference on random shapes, and forged parameters
//! refused by name.

use microdense_core::quant::{
    Int8Activation, Int8Body, Int8Dense, Int8Layer, Int8LayerData, Int8LayerLayout, QuantDefect, QuantError,
    QuantParams, Requantizer,
};
use microdense_core::Activation;
use proptest::prelude::*;

/// One layer's arrays, owned.
#[derive(Clone, Debug)]
struct Arrays {
    weights: Vec<i8>,
    bias: Vec<i32>,
    requant: Vec<Requantizer>,
    scales: Vec<f32>,
    table: Option<Vec<i8>>,
}

/// The data region of `layers` (a Vec<u32>, so 4-byte aligned).
fn region(input: usize, layers: &[(Int8Layer, Arrays)]) -> Vec<u32> {
    let mut bytes = Vec::new();
    let mut inputs = input;
    for (layer, a) in layers {
        let layout = Int8LayerLayout::new(inputs, layer).unwrap();
        let multipliers: Vec<i32> = a.requant.iter().map(|r| r.multiplier).collect();
        let shifts: Vec<i32> = a.requant.iter().map(|r| r.shift).collect();
        let data = Int8LayerData {
            dense: Int8Dense {
                inputs,
                units: layer.units as usize,
                weights: &a.weights,
                bias: &a.bias,
                multipliers: &multipliers,
                shifts: &shifts,
                input_offset: 0,
                output_zero_point: 0,
                min: -128,
                max: 127,
            },
            weight_scales: &a.scales,
            table: a.table.as_deref(),
        };
        let mut out = vec![0u8; layout.len()];
        assert!(data.write(&mut out));
        bytes.extend_from_slice(&out);
        inputs = layer.units as usize;
    }
    bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// The body computed the plain way: i64 sums, one layer at a time.
fn reference(input: &[i8], zp_in: i32, layers: &[(Int8Layer, Arrays)]) -> Vec<i8> {
    let mut x: Vec<i8> = input.to_vec();
    let mut zp = zp_in;
    for (layer, a) in layers {
        let n = x.len();
        let y: Vec<i8> = (0..layer.units as usize)
            .map(|j| {
                let dot: i64 = (0..n)
                    .map(|i| (i64::from(x[i]) - i64::from(zp)) * i64::from(a.weights[j * n + i]))
                    .sum();
                let acc = dot + a.bias.get(j).map_or(0, |&b| i64::from(b));
                let q = a.requant[j].apply(acc as i32) + layer.output.zero_point;
                let lo = if layer.activation == Int8Activation::Relu {
                    layer.output.zero_point
                } else {
                    -128
                };
                let v = q.clamp(lo, 127) as i8;
                a.table.as_ref().map_or(v, |t| t[(i32::from(v) + 128) as usize])
            })
            .collect();
        zp = layer.activated().zero_point;
        x = y;
    }
    x
}

fn params() -> impl Strategy<Value = QuantParams> {
    (1e-3f32..1.0, -128i32..=127).prop_map(|(scale, zero_point)| QuantParams { scale, zero_point })
}

fn layer(inputs: usize) -> impl Strategy<Value = (Int8Layer, Arrays)> {
    (1usize..12, any::<bool>(), params(), 0u8..3, params()).prop_flat_map(
        move |(units, use_bias, output, act, table_out)| {
            let activation = match act {
                0 => Int8Activation::Linear,
                1 => Int8Activation::Relu,
                _ => Int8Activation::Table {
                    function: Activation::Sigmoid,
                    output: table_out,
                },
            };
            let l = Int8Layer {
                units: units as u32,
                use_bias,
                output,
                activation,
            };
            (
                prop::collection::vec(-127i8..=127, units * inputs),
                prop::collection::vec(-5000i32..5000, if use_bias { units } else { 0 }),
                prop::collection::vec(1e-5f64..2.0, units),
                prop::collection::vec(1e-4f32..1.0, units),
                prop::collection::vec(any::<i8>(), 256),
            )
                .prop_map(move |(weights, bias, scales, wscales, table)| {
                    let arrays = Arrays {
                        weights,
                        bias,
                        requant: scales
                            .iter()
                            .map(|&s| Requantizer::from_scale(s).unwrap())
                            .collect(),
                        scales: wscales,
                        table: matches!(activation, Int8Activation::Table { .. }).then_some(table),
                    };
                    (l, arrays)
                })
        },
    )
}

fn body() -> impl Strategy<Value = (usize, QuantParams, Vec<(Int8Layer, Arrays)>)> {
    (1usize..20, params()).prop_flat_map(|(input, p)| {
        layer(input).prop_flat_map(move |first| {
            let units = first.0.units as usize;
            prop::collection::vec(layer(units), 0..2).prop_map(move |rest| {
                // Chain the second layer (if any) onto the first's width.
                let mut layers = vec![first.clone()];
                layers.extend(rest.into_iter().take(1));
                (input, p, layers)
            })
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The body's kernels, layouts, zero points and tables give the reference's bits.
    #[test]
    fn body_matches_the_reference((input, p, layers) in body(), seed in any::<u64>()) {
        let data = region(input, &layers);
        let specs: Vec<Int8Layer> = layers.iter().map(|(l, _)| *l).collect();
        let body = Int8Body::new(input, p, &specs, bytemuck::cast_slice(&data)).unwrap();
        let x: Vec<i8> = (0..input).map(|i| (seed.rotate_left(i as u32 * 7) as u8) as i8).collect();
        let mut scratch = vec![0i8; body.scratch_len()];
        let got = body.run(&x, &mut scratch).unwrap().to_vec();
        prop_assert_eq!(got, reference(&x, p.zero_point, &layers));
    }

    /// A requantiser is within 1 of the exact product (two roundings of at most ½).
    #[test]
    fn requantising_is_within_one_of_exact(scale in 1e-6f64..4.0, acc in -(1i32 << 24)..(1 << 24)) {
        let r = Requantizer::from_scale(scale).unwrap();
        let exact = f64::from(acc) * r.scale();
        prop_assert!((f64::from(r.apply(acc)) - exact).abs() <= 1.0);
    }

    /// Forged bytes in a valid body's data never panic: the body is refused or runs.
    #[test]
    fn forged_data_is_refused_or_runs((input, p, layers) in body(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut data = region(input, &layers);
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut data);
        let i = at.index(bytes.len());
        bytes[i] = byte;
        let specs: Vec<Int8Layer> = layers.iter().map(|(l, _)| *l).collect();
        if let Ok(body) = Int8Body::new(input, p, &specs, bytemuck::cast_slice(&data)) {
            let mut scratch = vec![0i8; body.scratch_len()];
            body.run(&vec![0; input], &mut scratch).unwrap();
        }
    }
}

#[test]
fn forged_parameters_are_refused_naming_the_layer() {
    let l = Int8Layer {
        units: 2,
        use_bias: false,
        output: QuantParams {
            scale: 0.1,
            zero_point: 0,
        },
        activation: Int8Activation::Linear,
    };
    let ok_for = |inputs: usize| Arrays {
        weights: vec![1; 2 * inputs],
        bias: vec![],
        requant: vec![Requantizer::from_scale(0.01).unwrap(); 2],
        scales: vec![0.5; 2],
        table: None,
    };
    let (ok, ok2) = (ok_for(3), ok_for(2));
    let p = QuantParams {
        scale: 1.0,
        zero_point: -128,
    };
    let check = |layers: &[(Int8Layer, Arrays)], p: QuantParams| {
        let data = region(3, layers);
        let specs: Vec<Int8Layer> = layers.iter().map(|(l, _)| *l).collect();
        Int8Body::new(3, p, &specs, bytemuck::cast_slice(&data)).map(|_| ())
    };
    let second = Int8Layer { units: 2, ..l };
    let fails = |layer, defect| Err(QuantError { layer, defect });
    assert_eq!(check(&[(l, ok.clone()), (second, ok2.clone())], p), Ok(()));
    let mut bad = ok2.clone();
    bad.scales[1] = 0.0;
    assert_eq!(
        check(&[(l, ok.clone()), (second, bad)], p),
        fails(1, QuantDefect::Scale)
    );
    let mut bad = ok.clone();
    bad.scales[0] = f32::NAN;
    assert_eq!(
        check(&[(l, bad), (second, ok2.clone())], p),
        fails(0, QuantDefect::Scale)
    );
    let mut bad = ok2.clone();
    bad.requant[0].shift = 31;
    assert_eq!(
        check(&[(l, ok.clone()), (second, bad)], p),
        fails(1, QuantDefect::Requantizer)
    );
    let mut bad = ok.clone();
    bad.requant[1].multiplier = 5;
    assert_eq!(
        check(&[(l, bad), (second, ok2.clone())], p),
        fails(0, QuantDefect::Requantizer)
    );
    let zp = Int8Layer {
        output: QuantParams {
            scale: 0.1,
            zero_point: 200,
        },
        ..second
    };
    assert_eq!(
        check(&[(l, ok.clone()), (zp, ok2.clone())], p),
        fails(1, QuantDefect::ZeroPoint)
    );
    let nan_in = QuantParams {
        scale: f32::NAN,
        zero_point: 0,
    };
    assert_eq!(check(&[(l, ok.clone())], nan_in), fails(0, QuantDefect::Scale));
    // Data one word short is refused, not read past.
    let data = region(3, &[(l, ok.clone())]);
    assert_eq!(
        Int8Body::new(3, p, &[l], bytemuck::cast_slice(&data[1..])).map(|_| ()),
        fails(0, QuantDefect::DataLength)
    );
}
