//! The portable int8 kernel: one row at a time, one product at a time.

use super::Int8Kernel;

/// The portable int8 kernel, every target's (host inference and `evaluate` run it).
#[derive(Clone, Copy, Debug, Default)]
pub struct PortableInt8;

impl Int8Kernel for PortableInt8 {
    fn accumulate(&self, weights: &[i8], x: &[i8], input_offset: i32, acc: &mut [i32]) -> bool {
        if x.is_empty() || weights.len() != acc.len() * x.len() {
            return x.is_empty() && weights.is_empty();
        }
        for (row, sum) in weights.chunks_exact(x.len()).zip(acc.iter_mut()) {
            *sum = row.iter().zip(x).fold(*sum, |s, (&w, &v)| {
                s.wrapping_add(i32::from(v).wrapping_add(input_offset).wrapping_mul(i32::from(w)))
            });
        }
        true
    }
}
