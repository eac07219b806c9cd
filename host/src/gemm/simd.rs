//! Which instruction set the host kernel's own loops use: the best the CPU has, unless
//! `MICRODENSE_SIMD` names a lower one (to compare them, or to rule one out).

use std::sync::OnceLock;

/// An instruction set for the zero-skipping product, lowest first. (SGEMM is
/// `matrixmultiply`'s, which makes its own choice, AVX-512 included.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Simd {
    /// Plain Rust, `f32::mul_add` (a fused multiply-add instruction where the target has
    /// one, a correctly rounded library call elsewhere).
    Portable,
    /// x86-64 with AVX2 and FMA: eight lanes.
    Avx2,
    /// x86-64 with AVX-512F: sixteen lanes, masked loads and compress.
    Avx512,
}

impl Simd {
    /// The names `MICRODENSE_SIMD` takes, in the variants' order.
    pub const NAMES: [&'static str; 3] = ["portable", "avx2", "avx512"];

    /// The best instruction set this CPU has.
    pub fn best() -> Simd {
        static BEST: OnceLock<Simd> = OnceLock::new();
        *BEST.get_or_init(|| {
            #[cfg(target_arch = "x86_64")]
            {
                if std::arch::is_x86_feature_detected!("avx512f") {
                    return Simd::Avx512;
                }
                if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                    return Simd::Avx2;
                }
            }
            Simd::Portable
        })
    }

    /// What training uses: [`Simd::best`], or the lower set `MICRODENSE_SIMD` names. A
    /// name that is not one of [`Simd::NAMES`] or a set this CPU lacks is reported on
    /// standard error, once, and the best set used.
    pub fn chosen() -> Simd {
        static CHOSEN: OnceLock<Simd> = OnceLock::new();
        *CHOSEN.get_or_init(|| {
            let best = Simd::best();
            let Some(value) = std::env::var_os("MICRODENSE_SIMD") else {
                return best;
            };
            match value.to_str().and_then(|v| Simd::named(v.trim())) {
                Some(named) if named <= best => named,
                Some(named) => {
                    eprintln!(
                        "microdense: MICRODENSE_SIMD={}: this CPU has no {}; using {}",
                        named.name(),
                        named.name(),
                        best.name()
                    );
                    best
                }
                None => {
                    eprintln!(
                        "microdense: MICRODENSE_SIMD={value:?} is not one of {}; using {}",
                        Simd::NAMES.join(", "),
                        best.name()
                    );
                    best
                }
            }
        })
    }

    /// Every set this CPU has, lowest first.
    pub fn available() -> impl Iterator<Item = Simd> {
        [Simd::Portable, Simd::Avx2, Simd::Avx512]
            .into_iter()
            .filter(|s| *s <= Simd::best())
    }

    /// The set called `name` (one of [`Simd::NAMES`]).
    pub fn named(name: &str) -> Option<Simd> {
        let at = Simd::NAMES.iter().position(|n| n.eq_ignore_ascii_case(name))?;
        [Simd::Portable, Simd::Avx2, Simd::Avx512].get(at).copied()
    }

    /// Its name, as `MICRODENSE_SIMD` takes it.
    pub fn name(self) -> &'static str {
        Simd::NAMES[self as usize]
    }
}
