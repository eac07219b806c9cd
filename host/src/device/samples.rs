//! Labelled byte samples (MNIST images) and their packing into requests.

use super::DeviceError;
use microdense_core::protocol::{encode_values, max_encoded_len, PixelEncoding, MAX_BATCH, MAX_PAYLOAD};

/// Bytes of a request frame's payload that are not sample records (id, request fields,
/// the samples' header, CRC), with room to spare.
pub const PACK_OVERHEAD: usize = 64;

/// Samples of `width` byte values each, with a class label, turned into features on the
/// device as `byte as f32 * scale` (the host's `Features::U8` formula).
#[derive(Clone, Copy, Debug)]
pub struct SampleSet<'a> {
    /// The values, row after row.
    pub pixels: &'a [u8],
    /// Values per sample.
    pub width: usize,
    /// One label per sample.
    pub labels: &'a [u8],
    /// Factor applied to each value on the device.
    pub scale: f32,
    /// How the values travel.
    pub encoding: PixelEncoding,
}

impl<'a> SampleSet<'a> {
    /// A set with zero-run packing; errors unless `pixels` holds `labels.len()` rows.
    pub fn new(pixels: &'a [u8], width: usize, labels: &'a [u8], scale: f32) -> Result<Self, DeviceError> {
        if width == 0 || pixels.len() != width * labels.len() {
            return Err(DeviceError::Usage(format!(
                "{} values are not {} samples of width {width}",
                pixels.len(),
                labels.len()
            )));
        }
        Ok(SampleSet {
            pixels,
            width,
            labels,
            scale,
            encoding: PixelEncoding::ZeroRun,
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True without samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The values of sample `i`.
    pub fn values(&self, i: usize) -> &'a [u8] {
        &self.pixels[i * self.width..(i + 1) * self.width]
    }

    /// Appends sample `i`'s record (its label byte when `labelled`, then its packed values).
    pub fn push_record(&self, i: usize, labelled: bool, out: &mut Vec<u8>) -> Result<(), DeviceError> {
        if labelled {
            out.push(self.labels[i]);
        }
        let at = out.len();
        out.resize(at + max_encoded_len(self.encoding, self.width), 0);
        let n = encode_values(self.encoding, self.values(i), &mut out[at..])
            .map_err(|e| DeviceError::Usage(format!("sample {i}: {e}")))?;
        out.truncate(at + n);
        Ok(())
    }

    /// Packs the samples `indices` (labelled) into as few requests as fit a frame and
    /// [`MAX_BATCH`] (and `max_count`): `(count, records)` each.
    pub fn pack(&self, indices: &[usize], max_count: usize) -> Result<Vec<(u16, Vec<u8>)>, DeviceError> {
        let budget = MAX_PAYLOAD - PACK_OVERHEAD;
        let max_count = max_count.clamp(1, MAX_BATCH);
        let mut packs = Vec::new();
        let mut data = Vec::new();
        let mut count = 0usize;
        let mut record = Vec::new();
        for &i in indices {
            record.clear();
            self.push_record(i, true, &mut record)?;
            if record.len() > budget {
                return Err(DeviceError::Usage(format!(
                    "sample {i} takes {} bytes, more than a frame holds ({budget})",
                    record.len()
                )));
            }
            if count == max_count || data.len() + record.len() > budget {
                packs.push((count as u16, std::mem::take(&mut data)));
                count = 0;
            }
            data.extend_from_slice(&record);
            count += 1;
        }
        if count > 0 {
            packs.push((count as u16, data));
        }
        Ok(packs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use microdense_core::protocol::decode_values;

    #[test]
    fn packs_fill_frames_and_keep_every_sample_in_order() {
        let width = 784;
        let n = 50;
        let pixels: Vec<u8> = (0..n * width)
            .map(|i| {
                if (i % width) % 3 == 0 {
                    0
                } else {
                    (i % 251) as u8 + 1
                }
            })
            .collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        let set = SampleSet::new(&pixels, width, &labels, 0.5).unwrap();
        let indices: Vec<usize> = (0..n).rev().collect();
        let packs = set.pack(&indices, 64).unwrap();
        assert!(packs.len() > 1);
        let mut seen = Vec::new();
        for (count, data) in &packs {
            assert!(data.len() <= MAX_PAYLOAD - PACK_OVERHEAD);
            let mut at = 0;
            for _ in 0..*count {
                let label = data[at];
                let mut out = vec![0.0; width];
                at += 1 + decode_values(set.encoding, 0.5, &data[at + 1..], &mut out).unwrap();
                let i = indices[seen.len()];
                assert_eq!(label, labels[i]);
                assert!(out.iter().zip(set.values(i)).all(|(o, &v)| *o == v as f32 * 0.5));
                seen.push(i);
            }
            assert_eq!(at, data.len());
        }
        assert_eq!(seen, indices);
        let small = set.pack(&indices, 8).unwrap();
        assert!(small.iter().all(|(c, _)| *c <= 8));
        assert!(SampleSet::new(&pixels[1..], width, &labels, 1.0).is_err());
    }
}
