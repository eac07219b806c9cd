//! An int8 body: a chain of int8 Dense layers (each with its activation) over one
//! borrowed data region, from a float input quantised on entry to an int8 output.

use super::dense::Int8Dense;
use super::error::{QuantDefect, QuantError};
use super::multiplier::Requantizer;
use super::params::QuantParams;
use crate::Activation;
use serde::{Deserialize, Serialize};

/// Most int8 layers a body may have (a bound for the decoder's fixed-size list, which a
/// device keeps on its stack: 8 layers are 224 bytes).
pub const MAX_INT8_LAYERS: usize = 8;

/// Entries of an activation lookup table: one per int8 input.
pub const TABLE_LEN: usize = 256;

/// How an int8 Dense layer's output is activated.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Int8Activation {
    /// None: the requantised output as it is.
    Linear,
    /// ReLU, by clamping at the output's zero point (TFLite's fused ReLU).
    Relu,
    /// Any element-wise activation (sigmoid, tanh, ...) by a 256-entry table computed
    /// at conversion, `table[q + 128] = quantize_out(f(dequantize_in(q)))`. Its error is
    /// at most half an output step plus `max |f'| ·` half an input step.
    Table {
        /// `f` (the table is what runs; this names it for tools and Keras).
        function: Activation,
        /// The table's output quantisation.
        output: QuantParams,
    },
}

/// One int8 Dense layer's shapes and activation quantisation (its arrays are in the
/// body's data region, see [`Int8Body`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Int8Layer {
    /// Output width (≥ 1).
    pub units: u32,
    /// Whether the layer has an int32 bias.
    pub use_bias: bool,
    /// The Dense output's quantisation (before a table activation).
    pub output: QuantParams,
    /// The activation.
    pub activation: Int8Activation,
}

impl Int8Layer {
    /// The quantisation of what the layer hands on (after its activation).
    pub fn activated(&self) -> QuantParams {
        match self.activation {
            Int8Activation::Table { output, .. } => output,
            _ => self.output,
        }
    }
}

/// The byte lengths of one layer's arrays in the data region, each a multiple of 4:
/// weights (`units · inputs` i8, padded), bias (`units` i32 or none), multipliers,
/// shifts (`units` i32 each), weight scales (`units` f32), table (256 i8 or none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Int8LayerLayout {
    /// Weights, padded to 4 bytes.
    pub weights: usize,
    /// Bias (0 without one).
    pub bias: usize,
    /// Multipliers, shifts and weight scales: `4 · units` each.
    pub per_unit: usize,
    /// Table (0 without one).
    pub table: usize,
}

impl Int8LayerLayout {
    /// The layout of `layer` with `inputs` inputs (`None` on overflow).
    pub fn new(inputs: usize, layer: &Int8Layer) -> Option<Int8LayerLayout> {
        let units = layer.units as usize;
        let weights = units.checked_mul(inputs)?.checked_add(3)? & !3;
        let per_unit = units.checked_mul(4)?;
        Some(Int8LayerLayout {
            weights,
            bias: if layer.use_bias { per_unit } else { 0 },
            per_unit,
            table: if matches!(layer.activation, Int8Activation::Table { .. }) {
                TABLE_LEN
            } else {
                0
            },
        })
    }

    /// Total bytes.
    pub fn len(&self) -> usize {
        self.weights + self.bias + 3 * self.per_unit + self.table
    }

    /// Whether the layer takes no bytes (never, for units ≥ 1).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One layer's arrays, borrowed from the data region.
#[derive(Clone, Copy, Debug)]
pub struct Int8LayerData<'a> {
    /// The kernel, ready to run.
    pub dense: Int8Dense<'a>,
    /// Per unit, the weights' scale (for dequantising back to float).
    pub weight_scales: &'a [f32],
    /// The activation table, if any.
    pub table: Option<&'a [i8]>,
}

impl Int8LayerData<'_> {
    /// Writes the arrays into `out` in the data region's layout (little-endian, zero
    /// padding); `false` when `out` is not exactly [`Int8LayerLayout::len`] long.
    pub fn write(&self, out: &mut [u8]) -> bool {
        let d = &self.dense;
        let table = self.table.unwrap_or(&[]);
        let words = d.bias.len() + d.multipliers.len() + d.shifts.len() + self.weight_scales.len();
        let padded = (d.weights.len() + 3) & !3;
        if out.len() != padded + 4 * words + table.len() {
            return false;
        }
        out.fill(0);
        let (w, rest) = out.split_at_mut(padded);
        w[..d.weights.len()].copy_from_slice(bytemuck::cast_slice(d.weights));
        let scales = self.weight_scales.iter().map(|s| s.to_bits() as i32);
        let all = d
            .bias
            .iter()
            .chain(d.multipliers)
            .chain(d.shifts)
            .copied()
            .chain(scales);
        let (ints, t) = rest.split_at_mut(4 * words);
        for (chunk, v) in ints.chunks_exact_mut(4).zip(all) {
            chunk.copy_from_slice(&v.to_le_bytes());
        }
        t.copy_from_slice(bytemuck::cast_slice(table));
        true
    }
}

/// A validated int8 body.
///
/// Data region: for each layer in order, its [`Int8LayerLayout`] arrays, little-endian,
/// each starting 4-byte aligned (the region itself must be). Buffer sizes, with `W` the
/// widest of the input and every layer's units: [`run`](Self::run) needs `2·W` i8 of
/// scratch; [`predict`](Self::predict) `2·W` i8 and writes `output_width` f32.
#[derive(Clone, Copy, Debug)]
pub struct Int8Body<'a> {
    input_width: usize,
    input: QuantParams,
    layers: &'a [Int8Layer],
    data: &'a [u8],
}

impl<'a> Int8Body<'a> {
    /// Checks the shapes, every scale, zero point and requantiser, and that `data` is the
    /// region the layers need, naming the layer at fault.
    pub fn new(
        input_width: usize,
        input: QuantParams,
        layers: &'a [Int8Layer],
        data: &'a [u8],
    ) -> Result<Int8Body<'a>, QuantError> {
        let fail = |layer, defect| QuantError { layer, defect };
        if input_width == 0 || layers.is_empty() || layers.len() > MAX_INT8_LAYERS {
            return Err(fail(0, QuantDefect::Shape));
        }
        input.check().map_err(|d| fail(0, d))?;
        if !(data.as_ptr() as usize).is_multiple_of(4) {
            return Err(fail(0, QuantDefect::Misaligned));
        }
        let expected = Self::data_len(input_width, layers).ok_or(fail(0, QuantDefect::DataLength))?;
        if expected != data.len() {
            return Err(fail(layers.len() - 1, QuantDefect::DataLength));
        }
        let body = Int8Body {
            input_width,
            input,
            layers,
            data,
        };
        for (i, layer) in layers.iter().enumerate() {
            if layer.units == 0 {
                return Err(fail(i, QuantDefect::Shape));
            }
            layer.output.check().map_err(|d| fail(i, d))?;
            layer.activated().check().map_err(|d| fail(i, d))?;
            let d = body.layer(i).ok_or(fail(i, QuantDefect::DataLength))?;
            // Finite and positive: the bits of +min subnormal up to below +∞ (integer
            // compares; a device checks this on every inference).
            let positive_finite = |s: &f32| (1..0x7f80_0000).contains(&s.to_bits());
            if !d.weight_scales.iter().all(positive_finite) {
                return Err(fail(i, QuantDefect::Scale));
            }
            let requantizers = d.dense.multipliers.iter().zip(d.dense.shifts);
            if requantizers
                .map(|(&multiplier, &shift)| Requantizer { multiplier, shift })
                .any(|r| !r.is_valid())
            {
                return Err(fail(i, QuantDefect::Requantizer));
            }
        }
        Ok(body)
    }

    /// Bytes of data `layers` need after an input of `input_width` (`None` on overflow).
    pub fn data_len(input_width: usize, layers: &[Int8Layer]) -> Option<usize> {
        let mut inputs = input_width;
        let mut total = 0usize;
        for layer in layers {
            total = total.checked_add(Int8LayerLayout::new(inputs, layer)?.len())?;
            inputs = layer.units as usize;
        }
        Some(total)
    }

    /// The data region.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The layers.
    pub fn layers(&self) -> &'a [Int8Layer] {
        self.layers
    }

    /// The input's quantisation.
    pub fn input_params(&self) -> QuantParams {
        self.input
    }

    /// Values per input sample.
    pub fn input_width(&self) -> usize {
        self.input_width
    }

    /// Values per output sample.
    pub fn output_width(&self) -> usize {
        self.layers.last().map_or(self.input_width, |l| l.units as usize)
    }

    /// The output's quantisation.
    pub fn output_params(&self) -> QuantParams {
        self.layers.last().map_or(self.input, Int8Layer::activated)
    }

    /// `W`: the widest of the input and the layers' outputs.
    pub fn max_width(&self) -> usize {
        self.layers
            .iter()
            .map(|l| l.units as usize)
            .fold(self.input_width, usize::max)
    }

    /// i8 of scratch [`run`](Self::run) and [`predict`](Self::predict) need: `2·W`.
    pub fn scratch_len(&self) -> usize {
        2 * self.max_width()
    }

    /// Layer `i`'s arrays (`None` past the last layer).
    pub fn layer(&self, i: usize) -> Option<Int8LayerData<'a>> {
        let mut inputs = self.input_width;
        let mut at = 0;
        for (k, layer) in self.layers.iter().enumerate() {
            let layout = Int8LayerLayout::new(inputs, layer)?;
            if k == i {
                return self.slice_layer(at, inputs, layer, layout);
            }
            at += layout.len();
            inputs = layer.units as usize;
        }
        None
    }

    fn slice_layer(
        &self,
        at: usize,
        inputs: usize,
        layer: &Int8Layer,
        layout: Int8LayerLayout,
    ) -> Option<Int8LayerData<'a>> {
        let units = layer.units as usize;
        let bytes = self.data.get(at..at + layout.len())?;
        let (weights, rest) = bytes.split_at(layout.weights);
        let (bias, rest) = rest.split_at(layout.bias);
        let (multipliers, rest) = rest.split_at(layout.per_unit);
        let (shifts, rest) = rest.split_at(layout.per_unit);
        let (scales, table) = rest.split_at(layout.per_unit);
        let words = |b: &'a [u8]| bytemuck::try_cast_slice::<u8, i32>(b).ok();
        let (min, max) = match layer.activation {
            Int8Activation::Relu => (layer.output.zero_point.clamp(-128, 127) as i8, 127),
            _ => (-128, 127),
        };
        Some(Int8LayerData {
            dense: Int8Dense {
                inputs,
                units,
                weights: bytemuck::cast_slice(&weights[..units * inputs]),
                bias: words(bias)?,
                multipliers: words(multipliers)?,
                shifts: words(shifts)?,
                input_offset: 0,
                output_zero_point: layer.output.zero_point,
                min,
                max,
            },
            weight_scales: bytemuck::try_cast_slice(scales).ok()?,
            table: (!table.is_empty()).then(|| bytemuck::cast_slice(table)),
        })
    }

    /// Quantises `x` (`input_width` f32) into `q` (`input_width` i8). Four zeros (±0.0) in
    /// a row are written as the zero point without dividing, which is what
    /// [`QuantParams::quantize`] gives them (MNIST's background pixels are zeros).
    pub fn quantize_input(&self, x: &[f32], q: &mut [i8]) -> Result<(), QuantError> {
        if x.len() != self.input_width || q.len() != self.input_width {
            return Err(buffer_length());
        }
        let zero = self.input.zero_point as i8;
        let p = self.input;
        let mut fours = q.chunks_exact_mut(4);
        let mut x_fours = x.chunks_exact(4);
        for (q, x) in (&mut fours).zip(&mut x_fours) {
            let (Ok(q), Ok(&[a, b, c, d])) = (<&mut [i8; 4]>::try_from(q), <&[f32; 4]>::try_from(x)) else {
                continue;
            };
            // ±0.0 alone have no bits but the sign.
            *q = if (a.to_bits() | b.to_bits() | c.to_bits() | d.to_bits()) << 1 == 0 {
                [zero; 4]
            } else {
                [p.quantize(a), p.quantize(b), p.quantize(c), p.quantize(d)]
            };
        }
        let rest = fours.into_remainder().iter_mut().zip(x_fours.remainder());
        for (q, &x) in rest {
            *q = p.quantize(x);
        }
        Ok(())
    }

    /// Runs one quantised sample (`input_width` i8) through every layer; the int8 output
    /// (`output_width`) lives in `scratch` (`2·W` i8).
    pub fn run<'s>(&self, input: &[i8], scratch: &'s mut [i8]) -> Result<&'s [i8], QuantError> {
        if input.len() != self.input_width || scratch.len() != self.scratch_len() {
            return Err(buffer_length());
        }
        scratch[..input.len()].copy_from_slice(input);
        self.run_in_place(scratch)
    }

    /// [`run`](Self::run) on the sample already in `scratch[..input_width]`.
    fn run_in_place<'s>(&self, scratch: &'s mut [i8]) -> Result<&'s [i8], QuantError> {
        let (mut cur, mut next) = scratch.split_at_mut(self.max_width());
        let mut width = self.input_width;
        let mut zero_point = self.input.zero_point;
        for (i, layer) in self.layers.iter().enumerate() {
            let fail = QuantError {
                layer: i,
                defect: QuantDefect::DataLength,
            };
            let data = self.layer(i).ok_or(fail)?;
            let dense = Int8Dense {
                input_offset: -zero_point,
                ..data.dense
            };
            let out = &mut next[..dense.units];
            if !dense.forward(&cur[..width], out) {
                return Err(fail);
            }
            if let Some(table) = data.table {
                for v in out.iter_mut() {
                    *v = table[(i32::from(*v) + 128) as usize];
                }
            }
            core::mem::swap(&mut cur, &mut next);
            width = dense.units;
            zero_point = layer.activated().zero_point;
        }
        let out: &'s [i8] = cur;
        Ok(&out[..width])
    }

    /// Quantises `x` (`input_width` f32), runs it and dequantises the output into `out`
    /// (`output_width` f32); `scratch` is `2·W` i8. Returns the int8 output.
    pub fn predict<'s>(
        &self,
        x: &[f32],
        scratch: &'s mut [i8],
        out: &mut [f32],
    ) -> Result<&'s [i8], QuantError> {
        if scratch.len() != self.scratch_len() || out.len() != self.output_width() {
            return Err(buffer_length());
        }
        self.quantize_input(x, &mut scratch[..self.input_width])?;
        let y = self.run_in_place(scratch)?;
        let params = self.output_params();
        for (o, &q) in out.iter_mut().zip(y) {
            *o = params.dequantize(q);
        }
        Ok(y)
    }
}

/// A caller's buffer of the wrong length.
fn buffer_length() -> QuantError {
    QuantError {
        layer: 0,
        defect: QuantDefect::BufferLength,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One unit over `weights` (no bias, multiplier 2³⁰, shift 0), weight scale `scale[0]`.
    fn one_unit<'a>(weights: &'a [i8], scale: &'a [f32]) -> Int8LayerData<'a> {
        Int8LayerData {
            dense: Int8Dense {
                inputs: weights.len(),
                units: 1,
                weights,
                bias: &[],
                multipliers: &[1 << 30],
                shifts: &[0],
                input_offset: 0,
                output_zero_point: 0,
                min: -128,
                max: 127,
            },
            weight_scales: scale,
            table: None,
        }
    }

    /// A one-layer body (2 inputs, 1 unit) whose weight scale is `scale`.
    fn body_with_scale(scale: f32, data: &mut [u32; 4]) -> Result<(), QuantError> {
        let params = QuantParams {
            scale: 1.0,
            zero_point: 0,
        };
        let layers = [Int8Layer {
            units: 1,
            use_bias: false,
            output: params,
            activation: Int8Activation::Linear,
        }];
        let scales = [scale];
        let layer = one_unit(&[3, -4], &scales);
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(data);
        assert_eq!(Int8LayerLayout::new(2, &layers[0]).unwrap().len(), bytes.len());
        assert!(layer.write(bytes));
        Int8Body::new(2, params, &layers, bytemuck::cast_slice(data)).map(|_| ())
    }

    #[test]
    fn input_quantisation_skips_zeros_exactly() {
        // Widths with every remainder of 4; zeros (±0.0) alone, in groups of four, among
        // other values; every result as QuantParams::quantize gives it.
        let mut rng = crate::Rng::new(3);
        let input = QuantParams {
            scale: 0.75,
            zero_point: -7,
        };
        let layers = [Int8Layer {
            units: 1,
            use_bias: false,
            output: input,
            activation: Int8Activation::Linear,
        }];
        let weights = [1i8; 23];
        for width in 1..=23 {
            let mut data = [0u32; 16];
            let len = Int8Body::data_len(width, &layers).unwrap();
            let layer = one_unit(&weights[..width], &[1.0]);
            let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut data);
            assert!(layer.write(&mut bytes[..len]));
            let body = Int8Body::new(width, input, &layers, &bytemuck::cast_slice(&data)[..len]).unwrap();
            for _ in 0..200 {
                let mut x = [0.0f32; 23];
                for v in &mut x[..width] {
                    *v = match rng.below(4) {
                        0 => 0.0,
                        1 => -0.0,
                        2 => f32::from_bits(rng.next_u64() as u32),
                        _ => (rng.next_f32() - 0.5) * 400.0,
                    };
                }
                let mut q = [0i8; 23];
                body.quantize_input(&x[..width], &mut q[..width]).unwrap();
                for (&v, &q) in x[..width].iter().zip(&q) {
                    assert_eq!(q, input.quantize(v), "{v:e}");
                }
            }
        }
    }

    #[test]
    fn weight_scales_must_be_finite_and_positive() {
        let mut data = [0u32; 4];
        for ok in [1.0, 1.0e-45, f32::MIN_POSITIVE, f32::MAX] {
            assert_eq!(body_with_scale(ok, &mut data), Ok(()), "{ok:e}");
        }
        for bad in [
            0.0,
            -0.0,
            -1.0,
            -1.0e-45,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            -f32::NAN,
        ] {
            let defect = body_with_scale(bad, &mut data).unwrap_err().defect;
            assert_eq!(defect, QuantDefect::Scale, "{bad:e}");
        }
    }
}
