//! A small seeded random number generator (SplitMix64), the same on every target.

/// Deterministic pseudo-random generator used by initializers and dropout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator whose sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// The generator of one (layer, sample) of a batch drawn from `seed`: a frozen prefix's
    /// noise in fine-tuning draws from these, so running the prefix sample by sample (a
    /// device) gives the bits of running it over the whole batch layer by layer (the host).
    pub fn keyed(seed: u64, layer: usize, sample: usize) -> Self {
        let mut mixed = Rng::new(seed ^ ((layer as u64) << 48) ^ sample as u64);
        Rng::new(mixed.next_u64())
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform value in `[0, 1)` with 24 bits of precision.
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
    }

    /// A uniform index in `0..n` (`n > 0`), without modulo bias worth noticing for n < 2^32.
    pub fn below(&mut self, n: usize) -> usize {
        (((self.next_u64() >> 32) * n as u64) >> 32) as usize
    }

    /// A standard normal value (Box–Muller).
    pub fn next_normal(&mut self) -> f32 {
        let u1 = 1.0 - self.next_f32();
        let u2 = self.next_f32();
        crate::math::sqrt(-2.0 * crate::math::ln(u1)) * crate::math::cos(2.0 * core::f32::consts::PI * u2)
    }
}
