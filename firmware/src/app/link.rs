//! The serial link: receiving frames (with a timeout for frames cut off) and sending them.

use embedded_io::{Read, ReadReady, Write};
use microdense_core::protocol::{encode_response, Fault, FrameError, Response};

use super::buffers::RX_FRAME;
use crate::clock::Clock;
use crate::idle::WaitForInput;

/// A frame whose bytes stop arriving for this many clock ticks is dropped as cut off
/// (0.2 s on QEMU, where a tick is an instruction at a virtual 1 GHz; noticed when the
/// clock's interrupt next wakes the core, within one SysTick period: 0.67 s on QEMU).
pub const FRAME_TIMEOUT_TICKS: u64 = 200_000_000;

/// Waits for the next frame and returns its length in `buf` (without the closing zero), or
/// why the bytes received do not make a frame: too long ([`FrameError::Oversized`]),
/// cut off ([`Fault::CutOff`]), or damaged by the port ([`Fault::Serial`]).
/// Sleeps while no byte is waiting (the clock's interrupt wakes it too), so a partial frame
/// always ends.
pub fn receive<S, C>(serial: &mut S, clock: &C, buf: &mut [u8; RX_FRAME]) -> Result<usize, Fault>
where
    S: Read + ReadReady + WaitForInput,
    C: Clock,
{
    let mut len = 0;
    let mut oversized = false;
    let mut damaged = false;
    let mut last_byte = clock.now();
    loop {
        match serial.read_ready() {
            Ok(true) => {}
            Ok(false) => {
                let pending = len > 0 || oversized || damaged;
                if pending && clock.now().saturating_sub(last_byte) > FRAME_TIMEOUT_TICKS {
                    return Err(Fault::CutOff {
                        timeout_ticks: FRAME_TIMEOUT_TICKS,
                    });
                }
                serial.sleep_until_input();
                continue;
            }
            Err(_) => {
                damaged = true;
                last_byte = clock.now();
                continue;
            }
        }
        let mut byte = [0u8; 1];
        match serial.read(&mut byte) {
            Ok(1) => {}
            _ => {
                damaged = true;
                last_byte = clock.now();
                continue;
            }
        }
        last_byte = clock.now();
        if byte[0] == 0 {
            if damaged {
                return Err(Fault::Serial);
            }
            if oversized {
                return Err(Fault::Frame(FrameError::Oversized {
                    limit: RX_FRAME as u32,
                }));
            }
            if len > 0 {
                return Ok(len);
            }
            // A lone zero: an empty frame, e.g. a host flushing the line. Ignored.
            continue;
        }
        match buf.get_mut(len) {
            // The last slot stays free: a full buffer is already too long a frame.
            Some(slot) if len + 1 < RX_FRAME => {
                *slot = byte[0];
                len += 1;
            }
            _ => oversized = true,
        }
    }
}

/// Why a response could not be sent.
#[derive(Debug)]
pub enum SendError<E> {
    /// The response does not fit a frame (a firmware bug).
    Frame(FrameError),
    /// The port failed.
    Io(E),
}

/// Sends `response` with `id` as one frame, built in `buf` (a response too long for it is
/// [`SendError::Frame`]).
pub fn send<S: Write>(
    serial: &mut S,
    buf: &mut [u8],
    id: u16,
    response: &Response<'_>,
) -> Result<(), SendError<S::Error>> {
    let len = encode_response(id, response, buf).map_err(SendError::Frame)?;
    serial.write_all(&buf[..len]).map_err(SendError::Io)?;
    serial.flush().map_err(SendError::Io)
}
