//! The flash region that holds the model, deployed separately from the firmware.
//!
//! The linker script (`memory/<board>.x`) defines it: the top 256 KiB of the 512 KiB flash, at
//! 0x0004_0000 on QEMU's AN386 and 0x0804_0000 on an STM32F411, exported as
//! `_model_start`/`_model_end`; the firmware is linked below it.

/// The model region: its address and its bytes.
#[derive(Clone, Copy, Debug)]
pub struct ModelRegion {
    address: u32,
    bytes: &'static [u8],
}

impl ModelRegion {
    /// A region at `address` holding `bytes`.
    pub const fn new(address: u32, bytes: &'static [u8]) -> Self {
        ModelRegion { address, bytes }
    }

    /// The address of the region's first byte.
    pub fn address(&self) -> u32 {
        self.address
    }

    /// The region's bytes.
    pub fn bytes(&self) -> &'static [u8] {
        self.bytes
    }

    /// True when nothing was ever written to the region: every byte is 0xFF (erased flash) or
    /// every byte is 0x00 (QEMU memory no loader wrote to).
    pub fn is_blank(&self) -> bool {
        let Some(&first) = self.bytes.first() else {
            return true;
        };
        (first == 0xFF || first == 0x00) && self.bytes.iter().all(|&b| b == first)
    }
}

/// The model region the firmware was linked with.
#[cfg(target_os = "none")]
pub fn linked() -> ModelRegion {
    extern "C" {
        static _model_start: u8;
        static _model_end: u8;
    }
    // SAFETY: only the symbols' addresses are taken.
    let (start, end) = unsafe {
        (
            core::ptr::from_ref(&_model_start) as usize,
            core::ptr::from_ref(&_model_end) as usize,
        )
    };
    // SAFETY: the linker script places [_model_start, _model_end) in flash, which nothing writes while
    // the firmware runs, so the bytes stay valid and unchanged for 'static.
    let bytes = unsafe { core::slice::from_raw_parts(start as *const u8, end.saturating_sub(start)) };
    ModelRegion::new(u32::try_from(start).unwrap_or(u32::MAX), bytes)
}
