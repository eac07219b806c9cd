//! How sample values travel: as bytes, optionally run-length coded, turned into `f32`
//! on the device with a scale factor (`value = byte as f32 * scale`, exactly as the host's
//! data sets turn pixels into features).

use core::fmt;
use serde::{Deserialize, Serialize};

/// The packing of one sample's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PixelEncoding {
    /// One byte per value.
    Raw,
    /// One byte per non-zero value; a run of `n` zeros (1 to 255) is the two bytes `0, n`.
    /// MNIST digits, four-fifths background, shrink to about a quarter.
    ZeroRun,
    /// Four bytes per value: an `f32`, little-endian (for inputs that are not bytes).
    F32,
}

/// Why sample bytes cannot be encoded or decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SampleError {
    /// The bytes end before the sample's values do.
    Truncated {
        /// Values decoded before the bytes ran out.
        decoded: u32,
        /// Values the sample needs.
        needed: u32,
    },
    /// A zero run of length 0, or one that runs past the sample's last value.
    BadRun {
        /// Offset of the run's length byte.
        offset: u32,
    },
    /// The output buffer is too small for the encoded sample.
    BufferTooSmall {
        /// Bytes needed.
        needed: u32,
    },
    /// `F32` values must come as 4 bytes each.
    NotF32 {
        /// The number of bytes given.
        len: u32,
    },
}

impl fmt::Display for SampleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SampleError::Truncated { decoded, needed } => {
                write!(f, "sample bytes end after {decoded} of {needed} values")
            }
            SampleError::BadRun { offset } => write!(
                f,
                "zero run at byte {offset} is empty or runs past the sample's end"
            ),
            SampleError::BufferTooSmall { needed } => {
                write!(f, "the encoded sample needs {needed} bytes of buffer")
            }
            SampleError::NotF32 { len } => write!(f, "{len} bytes are not a whole number of f32"),
        }
    }
}

impl core::error::Error for SampleError {}

/// Saturating `usize` to `u32`, for error fields.
fn small(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Most bytes one sample of `width` values takes in `encoding`.
pub const fn max_encoded_len(encoding: PixelEncoding, width: usize) -> usize {
    match encoding {
        PixelEncoding::Raw => width,
        // Worst case: zeros and non-zeros alternating, two bytes for each lone zero.
        PixelEncoding::ZeroRun => width + width.div_ceil(2),
        PixelEncoding::F32 => 4 * width,
    }
}

/// Encodes one sample into `out` and returns the bytes written. `values` are the sample's
/// bytes (for [`PixelEncoding::F32`], the values' little-endian bytes).
pub fn encode_values(encoding: PixelEncoding, values: &[u8], out: &mut [u8]) -> Result<usize, SampleError> {
    let too_small = || SampleError::BufferTooSmall {
        needed: small(max_encoded_len(encoding, values.len())),
    };
    match encoding {
        PixelEncoding::Raw | PixelEncoding::F32 => {
            if encoding == PixelEncoding::F32 && !values.len().is_multiple_of(4) {
                return Err(SampleError::NotF32 {
                    len: small(values.len()),
                });
            }
            out.get_mut(..values.len())
                .ok_or_else(too_small)?
                .copy_from_slice(values);
            Ok(values.len())
        }
        PixelEncoding::ZeroRun => {
            let mut written = 0;
            let mut put = |byte: u8| -> Result<(), SampleError> {
                *out.get_mut(written).ok_or_else(too_small)? = byte;
                written += 1;
                Ok(())
            };
            let mut i = 0;
            while i < values.len() {
                if values[i] == 0 {
                    let run = values[i..].iter().take(255).take_while(|&&b| b == 0).count();
                    put(0)?;
                    put(run as u8)?;
                    i += run;
                } else {
                    put(values[i])?;
                    i += 1;
                }
            }
            Ok(written)
        }
    }
}

/// Decodes one sample of `out.len()` values from the start of `bytes`, each multiplied by
/// `scale`, and returns the bytes it took.
pub fn decode_values(
    encoding: PixelEncoding,
    scale: f32,
    bytes: &[u8],
    out: &mut [f32],
) -> Result<usize, SampleError> {
    let needed = small(out.len());
    match encoding {
        PixelEncoding::Raw => {
            let src = bytes.get(..out.len()).ok_or(SampleError::Truncated {
                decoded: small(bytes.len()),
                needed,
            })?;
            for (o, &b) in out.iter_mut().zip(src) {
                *o = b as f32 * scale;
            }
            Ok(out.len())
        }
        PixelEncoding::F32 => {
            let len = out.len() * 4;
            let src = bytes.get(..len).ok_or(SampleError::Truncated {
                decoded: small(bytes.len() / 4),
                needed,
            })?;
            for (o, b) in out.iter_mut().zip(src.chunks_exact(4)) {
                *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]) * scale;
            }
            Ok(len)
        }
        PixelEncoding::ZeroRun => {
            let mut at = 0;
            let mut filled = 0;
            while filled < out.len() {
                let truncated = SampleError::Truncated {
                    decoded: small(filled),
                    needed,
                };
                let byte = *bytes.get(at).ok_or(truncated)?;
                if byte == 0 {
                    let run = *bytes.get(at + 1).ok_or(truncated)? as usize;
                    let zeros =
                        out.get_mut(filled..filled + run)
                            .filter(|_| run > 0)
                            .ok_or(SampleError::BadRun {
                                offset: small(at + 1),
                            })?;
                    zeros.fill(0.0);
                    filled += run;
                    at += 2;
                } else {
                    out[filled] = byte as f32 * scale;
                    filled += 1;
                    at += 1;
                }
            }
            Ok(at)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(encoding: PixelEncoding, values: &[u8], scale: f32) -> (usize, [f32; 600]) {
        let mut buf = [0u8; 2400];
        let n = encode_values(encoding, values, &mut buf).unwrap();
        assert!(
            n <= max_encoded_len(
                encoding,
                values.len() / if encoding == PixelEncoding::F32 { 4 } else { 1 }
            )
        );
        let width = if encoding == PixelEncoding::F32 {
            values.len() / 4
        } else {
            values.len()
        };
        let mut out = [f32::NAN; 600];
        // Trailing bytes after the sample are left alone.
        buf[n] = 0xAB;
        let used = decode_values(encoding, scale, &buf[..n + 1], &mut out[..width]).unwrap();
        assert_eq!(used, n);
        (n, out)
    }

    #[test]
    fn byte_encodings_round_trip_with_the_host_formula() {
        let mut values = [0u8; 600];
        for (i, v) in values.iter_mut().enumerate() {
            // Long zero runs (over 255), lone zeros, every byte value.
            *v = if i < 300 || i % 7 == 0 {
                0
            } else {
                (i * 37 % 256) as u8
            };
        }
        for encoding in [PixelEncoding::Raw, PixelEncoding::ZeroRun] {
            for scale in [1.0, 1.0 / 255.0] {
                let (n, out) = round_trip(encoding, &values, scale);
                for (o, &v) in out.iter().zip(&values) {
                    assert_eq!(o.to_bits(), (v as f32 * scale).to_bits());
                }
                if encoding == PixelEncoding::ZeroRun {
                    assert!(n < 400, "{n}");
                }
            }
        }
    }

    #[test]
    fn zero_run_worst_case_fits_the_bound() {
        let values: [u8; 9] = [0, 1, 0, 1, 0, 1, 0, 1, 0];
        let (n, _) = round_trip(PixelEncoding::ZeroRun, &values, 1.0);
        assert_eq!(n, max_encoded_len(PixelEncoding::ZeroRun, 9));
    }

    #[test]
    fn f32_values_round_trip() {
        let floats = [1.5f32, -0.0, f32::MIN_POSITIVE, 3e7];
        let mut bytes = [0u8; 16];
        for (c, f) in bytes.chunks_exact_mut(4).zip(floats) {
            c.copy_from_slice(&f.to_le_bytes());
        }
        let (_, out) = round_trip(PixelEncoding::F32, &bytes, 1.0);
        assert_eq!(&out[..4], &floats);
        assert_eq!(
            encode_values(PixelEncoding::F32, &bytes[..3], &mut [0; 8]),
            Err(SampleError::NotF32 { len: 3 })
        );
    }

    #[test]
    fn damaged_samples_are_errors() {
        let mut out = [0.0f32; 4];
        let d = |bytes: &[u8], out: &mut [f32]| decode_values(PixelEncoding::ZeroRun, 1.0, bytes, out);
        assert_eq!(
            d(&[1, 2], &mut out),
            Err(SampleError::Truncated {
                decoded: 2,
                needed: 4
            })
        );
        assert_eq!(
            d(&[1, 0], &mut out),
            Err(SampleError::Truncated {
                decoded: 1,
                needed: 4
            })
        );
        assert_eq!(d(&[0, 0, 1, 1], &mut out), Err(SampleError::BadRun { offset: 1 }));
        assert_eq!(d(&[1, 0, 4], &mut out), Err(SampleError::BadRun { offset: 2 }));
        assert_eq!(d(&[0, 4], &mut out), Ok(2));
        let raw = decode_values(PixelEncoding::Raw, 1.0, &[1, 2, 3], &mut out);
        assert_eq!(
            raw,
            Err(SampleError::Truncated {
                decoded: 3,
                needed: 4
            })
        );
        let f = decode_values(PixelEncoding::F32, 1.0, &[0; 15], &mut out);
        assert_eq!(
            f,
            Err(SampleError::Truncated {
                decoded: 3,
                needed: 4
            })
        );
        assert_eq!(
            encode_values(PixelEncoding::ZeroRun, &[1, 2, 3], &mut [0; 2]),
            Err(SampleError::BufferTooSmall { needed: 5 })
        );
    }
}
