//! CRC-32 (IEEE 802.3, as zlib's `crc32`) with a 16-entry nibble table: 64 bytes of flash
//! instead of the usual 1 KiB (or 16 KiB for slicing-by-16), at two table look-ups a byte.

/// The reflected IEEE polynomial.
const POLY: u32 = 0xEDB8_8320;

/// `TABLE[n]` is the CRC register after shifting the nibble `n` through it four times.
const TABLE: [u32; 16] = build_table();

const fn build_table() -> [u32; 16] {
    let mut table = [0u32; 16];
    let mut n = 0;
    while n < 16 {
        let mut crc = n as u32;
        let mut bit = 0;
        while bit < 4 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ POLY } else { crc >> 1 };
            bit += 1;
        }
        table[n] = crc;
        n += 1;
    }
    table
}

/// A running CRC-32: feed bytes with [`update`](Self::update), read the checksum with
/// [`finish`](Self::finish). Feeding a message in pieces gives the checksum of the whole.
#[derive(Clone, Copy, Debug)]
pub struct Crc32 {
    /// The register, kept inverted as zlib does between calls.
    state: u32,
}

impl Default for Crc32 {
    fn default() -> Self {
        Self::new()
    }
}

impl Crc32 {
    /// The checksum of the empty message.
    pub const fn new() -> Self {
        Crc32 { state: !0 }
    }

    /// Appends `bytes` to the message.
    pub fn update(&mut self, bytes: &[u8]) {
        let mut crc = self.state;
        for &b in bytes {
            crc ^= b as u32;
            crc = (crc >> 4) ^ TABLE[(crc & 0xF) as usize];
            crc = (crc >> 4) ^ TABLE[(crc & 0xF) as usize];
        }
        self.state = crc;
    }

    /// The CRC-32 of everything fed so far.
    pub const fn finish(&self) -> u32 {
        !self.state
    }
}

/// The CRC-32 of `bytes` (`crc32(b"123456789") == 0xCBF4_3926`).
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = Crc32::new();
    crc.update(bytes);
    crc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b"a"), 0xE8B7_BE43);
        assert_eq!(crc32(b"The quick brown fox jumps over the lazy dog"), 0x414F_A339);
    }

    #[test]
    fn pieces_give_the_checksum_of_the_whole() {
        let msg = b"The quick brown fox jumps over the lazy dog";
        for split in 0..=msg.len() {
            let mut crc = Crc32::new();
            crc.update(&msg[..split]);
            crc.update(&msg[split..]);
            assert_eq!(crc.finish(), crc32(msg), "split at {split}");
        }
    }
}
