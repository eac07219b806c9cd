//! Waiting for the host without spinning: the [`WaitForInput`] trait serial ports implement.

/// A serial port that can put the core to sleep until input may have arrived.
pub trait WaitForInput {
    /// Sleeps until a received byte may be waiting, or returns at once if one is. It may also
    /// return early (another interrupt, such as the clock's, woke the core): callers check
    /// the port again. The board's clock interrupt bounds the sleep, so time-outs still end.
    fn sleep_until_input(&mut self);
}
