//! Where the firmware's memory goes: flash and static RAM from the linker's symbols, the stack's
//! high-water mark from the paint laid over the unused stack at reset (cortex-m-rt's
//! `paint-stack`; the RISC-V board paints it itself).

/// The word the unused stack is painted with.
pub const STACK_PAINT: u32 = 0xCCCC_CCCC;

#[cfg(target_arch = "arm")]
const _: () = assert!(STACK_PAINT == cortex_m_rt::STACK_PAINT_VALUE);

/// Bytes at the stack's lowest end that are never painted: on the ESP32-C3 esp-hal's stack
/// guard word, 60 bytes above the end (its default `stack-guard-offset`), which a watchpoint
/// guards against writes, and what lies below it.
#[cfg(family = "esp32c3")]
pub const UNPAINTED_STACK: usize = 64;
/// Bytes at the stack's lowest end that are never painted: none.
#[cfg(not(family = "esp32c3"))]
pub const UNPAINTED_STACK: usize = 0;

/// Flash and RAM use of the running firmware, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryReport {
    /// Flash taken by the firmware image: vector table, code, read-only data, `.data`'s image.
    pub flash_used: u32,
    /// Flash the firmware may use (everything below the model region).
    pub flash_budget: u32,
    /// Statically allocated RAM: `.data`, `.bss` and `.uninit`.
    pub static_ram: u32,
    /// RAM left for the stack (from the end of static RAM to the top of RAM).
    pub stack_size: u32,
    /// Deepest the stack has been since reset (the painted words that were overwritten).
    pub stack_used: u32,
}

/// Something that can measure the firmware's memory use (the board glue implements it).
pub trait MemoryProbe {
    /// Measures now; the stack high-water mark covers everything since reset.
    fn report(&self) -> MemoryReport;
}

/// The memory probe of the running firmware, reading the linker's symbols.
#[cfg(target_os = "none")]
#[derive(Clone, Copy, Debug, Default)]
pub struct LinkedMemory;

#[cfg(target_os = "none")]
mod linked {
    use super::{LinkedMemory, MemoryProbe, MemoryReport, STACK_PAINT, UNPAINTED_STACK};

    extern "C" {
        static _flash_start: u8;
        static _model_start: u8;
        static _ram_start: u8;
        static _stack_end: u8;
        static _stack_start: u8;
    }

    /// Where the image ends in flash: the load image of `.data` ends it.
    #[cfg(not(family = "esp32c3"))]
    fn image_end() -> usize {
        extern "C" {
            static __sidata: u8;
            static __sdata: u8;
            static __edata: u8;
        }
        // SAFETY: only the addresses of these linker symbols are taken.
        let (sidata, sdata, edata) = unsafe { (addr(&__sidata), addr(&__sdata), addr(&__edata)) };
        sidata.saturating_add(edata.saturating_sub(sdata))
    }

    /// Where the image ends in flash: the ESP32-C3's segments sit in the cache's windows, so
    /// `memory/esp32c3.x` adds up their sizes (`_flash_image_bytes`, an absolute symbol).
    #[cfg(family = "esp32c3")]
    fn image_end() -> usize {
        extern "C" {
            static _flash_image_bytes: u8;
        }
        // SAFETY: only the symbols' values (their addresses) are taken.
        unsafe { addr(&_flash_start).saturating_add(addr(&_flash_image_bytes)) }
    }

    /// The address of a linker symbol.
    fn addr(symbol: &'static u8) -> usize {
        core::ptr::from_ref(symbol) as usize
    }

    /// Bytes between two addresses, saturating (the linker script guarantees the order).
    fn span(from: usize, to: usize) -> u32 {
        u32::try_from(to.saturating_sub(from)).unwrap_or(u32::MAX)
    }

    /// The lowest stack address whose paint was overwritten, or the top if none was.
    fn deepest_stack_write(bottom: usize, top: usize) -> usize {
        let mut address = bottom;
        while address < top {
            // SAFETY: [bottom, top) is the stack region of RAM, word-aligned by the linker
            // script; words below the stack pointer are plain unused memory.
            let word = unsafe { core::ptr::read_volatile(address as *const u32) };
            if word != STACK_PAINT {
                return address;
            }
            address += 4;
        }
        top
    }

    impl MemoryProbe for LinkedMemory {
        fn report(&self) -> MemoryReport {
            // SAFETY: only the addresses of these linker symbols are taken, never their contents.
            let (flash, model, ram, stack_end, stack_start) = unsafe {
                (
                    addr(&_flash_start),
                    addr(&_model_start),
                    addr(&_ram_start),
                    addr(&_stack_end),
                    addr(&_stack_start),
                )
            };
            let image_end = image_end();
            MemoryReport {
                flash_used: span(flash, image_end),
                flash_budget: span(flash, model),
                static_ram: span(ram, stack_end),
                stack_size: span(stack_end, stack_start),
                stack_used: span(
                    deepest_stack_write(stack_end + UNPAINTED_STACK, stack_start),
                    stack_start,
                ),
            }
        }
    }
}
