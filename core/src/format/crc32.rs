//! CRC-32 (IEEE 802.3, as zlib's `crc32`) with two 16-entry nibble tables: 128 bytes of
//! flash instead of the usual 1 KiB (or 16 KiB for slicing-by-16), one table step a byte.

/// The reflected IEEE polynomial.
const POLY: u32 = 0xEDB8_8320;

/// `TABLES[0][n]` is the CRC register after shifting the byte `n` (low nibble only)
/// through it eight times, `TABLES[1][n]` the same for the byte `n << 4`. The CRC's
/// linearity makes the step of a whole byte `b` the XOR of the two entries for its nibbles.
const TABLES: [[u32; 16]; 2] = build_tables();

/// The register after shifting `byte` through it eight times.
const fn byte_step(byte: u32) -> u32 {
    let mut crc = byte;
    let mut bit = 0;
    while bit < 8 {
        crc = if crc & 1 != 0 { (crc >> 1) ^ POLY } else { crc >> 1 };
        bit += 1;
    }
    crc
}

const fn build_tables() -> [[u32; 16]; 2] {
    let mut tables = [[0u32; 16]; 2];
    let mut n = 0;
    while n < 16 {
        tables[0][n] = byte_step(n as u32);
        tables[1][n] = byte_step((n as u32) << 4);
        n += 1;
    }
    tables
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
            crc = (crc >> 8) ^ TABLES[0][(crc & 0xF) as usize] ^ TABLES[1][((crc >> 4) & 0xF) as usize];
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

    /// The textbook bit-at-a-time CRC-32, as a reference.
    fn bitwise(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = if crc & 1 != 0 { (crc >> 1) ^ POLY } else { crc >> 1 };
            }
        }
        !crc
    }

    #[test]
    fn agrees_with_the_bitwise_definition() {
        let mut x = 0x1234_5678u32;
        let mut data = [0u8; 1000];
        for b in data.iter_mut() {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = x as u8;
        }
        for len in [0, 1, 2, 3, 4, 7, 100, 1000] {
            assert_eq!(crc32(&data[..len]), bitwise(&data[..len]), "length {len}");
        }
        let all: [u8; 256] = core::array::from_fn(|i| i as u8);
        assert_eq!(crc32(&all), bitwise(&all));
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
