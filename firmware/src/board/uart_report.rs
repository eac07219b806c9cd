//! Panic reports on a real board's UART, written straight to its registers (STM32F411, Pico,
//! ESP32-C3).

/// How many times a panic report polls the transmitter per byte before sending anyway.
const PANIC_TX_SPINS: u32 = 100_000;

/// Writes a panic report as a line of its own on a real board's UART, straight through its
/// registers whoever owns the port: each byte goes to `send` once `room()` says the
/// transmitter takes it, or after [`PANIC_TX_SPINS`] polls, so a stuck transmitter cannot hang
/// the report.
pub fn report_on_uart(report: &[u8], mut room: impl FnMut() -> bool, mut send: impl FnMut(u8)) {
    for &byte in b"\r\n".iter().chain(report).chain(b"\r\n") {
        let mut spins = 0;
        while !room() && spins < PANIC_TX_SPINS {
            spins += 1;
            core::hint::spin_loop();
        }
        send(byte);
    }
}
