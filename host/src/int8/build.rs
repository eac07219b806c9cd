//! Quantising one Dense layer's float weights into the int8 body's arrays.

use super::QuantizeError;
use microdense_core::quant::{
    Int8Dense, Int8Layer, Int8LayerData, Int8LayerLayout, QuantDefect, QuantError, QuantParams, Requantizer,
    TABLE_LEN,
};
use microdense_core::Activation;

/// A Dense layer's int8 arrays, owned.
pub(super) struct Quantized {
    /// Unit-major int8 weights.
    pub weights: Vec<i8>,
    /// int32 biases (empty without a bias).
    pub bias: Vec<i32>,
    /// Per-unit multipliers.
    pub multipliers: Vec<i32>,
    /// Per-unit shifts.
    pub shifts: Vec<i32>,
    /// Per-unit weight scales.
    pub scales: Vec<f32>,
    /// The activation table, if any.
    pub table: Option<Vec<i8>>,
}

/// Quantises the kernel (`inputs × units`, Keras's row-major) per output unit,
/// symmetrically (`scale_j = max_i |k_ij| / 127`, an all-zero column taking scale 1),
/// the bias at `input.scale · scale_j`, and the requantisation scale
/// `input.scale · scale_j / output.scale` into a multiplier and a shift.
pub(super) fn quantize_dense(
    name: &str,
    kernel: &[f32],
    bias: Option<&[f32]>,
    units: usize,
    input: QuantParams,
    output: QuantParams,
) -> Result<Quantized, QuantizeError> {
    let inputs = kernel.len() / units;
    let column = |j: usize| (0..inputs).map(move |i| kernel[i * units + j]);
    let scales: Vec<f32> = (0..units)
        .map(|j| {
            let max = column(j).fold(0.0f32, |m, v| m.max(v.abs()));
            if max > 0.0 {
                max / 127.0
            } else {
                1.0
            }
        })
        .collect();
    let weights = (0..units)
        .flat_map(|j| {
            let s = scales[j];
            column(j).map(move |v| (v / s).round().clamp(-127.0, 127.0) as i8)
        })
        .collect();
    let bias = bias.map_or_else(Vec::new, |b| {
        b.iter()
            .zip(&scales)
            .map(|(&v, &s)| (f64::from(v) / (f64::from(input.scale) * f64::from(s))).round() as i32)
            .collect()
    });
    let mut multipliers = Vec::with_capacity(units);
    let mut shifts = Vec::with_capacity(units);
    for (unit, &s) in scales.iter().enumerate() {
        let scale = f64::from(input.scale) * f64::from(s) / f64::from(output.scale);
        let r = Requantizer::from_scale(scale).ok_or_else(|| QuantizeError::Requantizer {
            name: name.into(),
            unit,
            scale,
        })?;
        multipliers.push(r.multiplier);
        shifts.push(r.shift);
    }
    Ok(Quantized {
        weights,
        bias,
        multipliers,
        shifts,
        scales,
        table: None,
    })
}

/// `table[q + 128] = output.quantize(f(input.dequantize(q)))`.
pub(super) fn activation_table(function: Activation, input: QuantParams, output: QuantParams) -> Vec<i8> {
    let mut values: Vec<f32> = (0..TABLE_LEN)
        .map(|k| input.dequantize((k as i32 - 128) as i8))
        .collect();
    for v in values.chunks_mut(1) {
        function.forward(v);
    }
    values.iter().map(|&v| output.quantize(v)).collect()
}

impl Quantized {
    /// Appends the arrays of `layer` (with `inputs` inputs) in the body's data layout to
    /// `region`.
    pub(super) fn write(
        &self,
        inputs: usize,
        layer: &Int8Layer,
        region: &mut Vec<u8>,
    ) -> Result<(), QuantizeError> {
        let data = Int8LayerData {
            dense: Int8Dense {
                inputs,
                units: self.scales.len(),
                weights: &self.weights,
                bias: &self.bias,
                multipliers: &self.multipliers,
                shifts: &self.shifts,
                input_offset: 0,
                output_zero_point: 0,
                min: -128,
                max: 127,
            },
            weight_scales: &self.scales,
            table: self.table.as_deref(),
        };
        let start = region.len();
        let layout = Int8LayerLayout::new(inputs, layer).ok_or(QuantError {
            layer: 0,
            defect: QuantDefect::Shape,
        })?;
        region.resize(start + layout.len(), 0);
        if data.write(&mut region[start..]) {
            Ok(())
        } else {
            Err(QuantError {
                layer: 0,
                defect: QuantDefect::DataLength,
            }
            .into())
        }
    }
}
