//! Bytes in 4-byte-aligned storage, as the in-place decoder needs them (a `Vec<u8>` may
//! sit at any address; a device's flash is aligned).

/// A copy of some bytes in 4-byte-aligned storage (a `Vec<u32>` underneath).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlignedBytes {
    words: Vec<u32>,
    len: usize,
}

impl AlignedBytes {
    /// Copies `bytes` into aligned storage.
    pub fn new(bytes: &[u8]) -> Self {
        let mut words = vec![0u32; bytes.len().div_ceil(4)];
        bytemuck::cast_slice_mut::<u32, u8>(&mut words)[..bytes.len()].copy_from_slice(bytes);
        AlignedBytes {
            words,
            len: bytes.len(),
        }
    }

    /// The bytes, starting at a 4-byte-aligned address.
    pub fn bytes(&self) -> &[u8] {
        &bytemuck::cast_slice::<u32, u8>(&self.words)[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_are_aligned_and_exact() {
        for len in 0..9 {
            let bytes: Vec<u8> = (1..=len).collect();
            let aligned = AlignedBytes::new(&bytes[..]);
            assert_eq!(aligned.bytes(), &bytes[..]);
            assert_eq!(aligned.bytes().as_ptr() as usize % 4, 0);
        }
    }
}
