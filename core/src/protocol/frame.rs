//! Frames: a postcard message and its id, a CRC-32, COBS, and a closing zero byte.

use super::{MAX_FRAME, MAX_PAYLOAD};
use crate::format::{Crc32, Sink};
use core::fmt;
use postcard::ser_flavors::{Cobs, Flavor, Slice};
use serde::{Deserialize, Serialize};

/// Why a frame cannot be written or read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FrameError {
    /// The message does not fit [`MAX_PAYLOAD`] (writing), or the frame is longer than
    /// [`MAX_FRAME`] (reading).
    Oversized {
        /// The limit that was exceeded, in bytes.
        limit: u32,
    },
    /// The bytes are not valid COBS (a zero byte got lost or garbage arrived).
    Cobs,
    /// Fewer bytes than an id and a CRC.
    TooShort {
        /// Bytes after COBS decoding.
        len: u32,
    },
    /// The CRC-32 does not match the bytes.
    Crc {
        /// CRC carried by the frame.
        stored: u32,
        /// CRC computed over the frame's bytes.
        computed: u32,
    },
    /// The CRC matches but the message cannot be decoded (e.g. an unknown request type).
    Message {
        /// Offset of the undecodable part within the postcard bytes (0 when unknown).
        offset: u32,
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Oversized { limit } => write!(f, "frame exceeds the {limit}-byte limit"),
            FrameError::Cobs => write!(f, "frame is not valid COBS (garbage or lost bytes)"),
            FrameError::TooShort { len } => {
                write!(f, "frame of {len} bytes is too short for an id and a CRC")
            }
            FrameError::Crc { stored, computed } => write!(
                f,
                "frame CRC-32 mismatch: carried {stored:#010x}, computed {computed:#010x}"
            ),
            FrameError::Message { offset } => {
                write!(
                    f,
                    "frame passes its CRC but its message cannot be decoded (byte {offset})"
                )
            }
        }
    }
}

impl core::error::Error for FrameError {}

/// A postcard flavor that CRCs the bytes it is given and hands them to COBS; on finishing
/// it appends the CRC (little-endian) and COBS's closing zero. Also the [`Sink`] the
/// hand-written replies go to ([`super::encode_response`]).
pub(super) struct CrcCobs<'a> {
    crc: Crc32,
    len: usize,
    cobs: Cobs<Slice<'a>>,
}

/// The error of a message that does not fit a frame.
const OVERSIZED: FrameError = FrameError::Oversized {
    limit: MAX_PAYLOAD as u32,
};

impl<'a> CrcCobs<'a> {
    /// A frame to be built in `out` (at most [`MAX_FRAME`] bytes of it).
    pub(super) fn new(out: &'a mut [u8]) -> Result<Self, FrameError> {
        let limit = out.len().min(MAX_FRAME);
        Ok(CrcCobs {
            crc: Crc32::new(),
            len: 0,
            cobs: Cobs::try_new(Slice::new(&mut out[..limit])).map_err(|_| OVERSIZED)?,
        })
    }

    /// Appends the CRC and the closing zero and returns the frame's length.
    pub(super) fn close(self) -> Result<usize, FrameError> {
        if self.len + 4 > MAX_PAYLOAD {
            return Err(OVERSIZED);
        }
        Ok(self.finalize().map_err(|_| OVERSIZED)?.len())
    }
}

impl<'a> Flavor for CrcCobs<'a> {
    type Output = &'a mut [u8];

    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        self.crc.update(&[data]);
        self.len += 1;
        self.cobs.try_push(data)
    }

    fn finalize(mut self) -> postcard::Result<&'a mut [u8]> {
        for byte in self.crc.finish().to_le_bytes() {
            self.cobs.try_push(byte)?;
        }
        self.cobs.finalize()
    }
}

impl Sink for CrcCobs<'_> {
    fn put(&mut self, b: u8) -> bool {
        self.try_push(b).is_ok()
    }
}

/// Writes `message` with `id` as one frame into `out` and returns the frame's length
/// (the closing zero included). `out` should hold [`MAX_FRAME`] bytes.
pub fn encode_frame<T: Serialize>(id: u16, message: &T, out: &mut [u8]) -> Result<usize, FrameError> {
    let mut serializer = postcard::Serializer {
        output: CrcCobs::new(out)?,
    };
    (id, message).serialize(&mut serializer).map_err(|_| OVERSIZED)?;
    serializer.output.close()
}

/// A frame whose COBS, CRC and id checked out; its message is decoded on demand.
#[derive(Clone, Copy, Debug)]
pub struct OpenFrame<'a> {
    /// The frame's id.
    pub id: u16,
    /// The postcard bytes of the message (after the id).
    message: &'a [u8],
    /// Offset of `message` in the frame's postcard bytes.
    at: usize,
}

impl<'a> OpenFrame<'a> {
    /// Decodes the message, which may borrow from the frame; all its bytes must be used.
    pub fn message<T: Deserialize<'a>>(&self) -> Result<T, FrameError> {
        let (message, rest): (T, &[u8]) =
            postcard::take_from_bytes(self.message).map_err(|_| FrameError::Message {
                offset: self.at as u32,
            })?;
        if !rest.is_empty() {
            return Err(FrameError::Message {
                offset: (self.at + self.message.len() - rest.len()) as u32,
            });
        }
        Ok(message)
    }
}

/// Opens one frame (the bytes before its closing zero, COBS-decoded in place): checks the
/// length, COBS and the CRC and reads the id.
pub fn open_frame(frame: &mut [u8]) -> Result<OpenFrame<'_>, FrameError> {
    if frame.len() >= MAX_FRAME {
        return Err(FrameError::Oversized {
            limit: MAX_FRAME as u32,
        });
    }
    if frame.is_empty() {
        return Err(FrameError::TooShort { len: 0 });
    }
    let len = cobs::decode_in_place(frame).map_err(|_| FrameError::Cobs)?;
    let bytes = &frame[..len];
    if len < 5 {
        return Err(FrameError::TooShort { len: len as u32 });
    }
    let (body, crc) = bytes.split_at(len - 4);
    let stored = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
    let mut computed = Crc32::new();
    computed.update(body);
    let computed = computed.finish();
    if stored != computed {
        return Err(FrameError::Crc { stored, computed });
    }
    let (id, message): (u16, &[u8]) =
        postcard::take_from_bytes(body).map_err(|_| FrameError::Message { offset: 0 })?;
    Ok(OpenFrame {
        id,
        message,
        at: body.len() - message.len(),
    })
}

/// Reads one frame (the bytes before its closing zero, decoded in place) and returns its
/// id and message, which may borrow from `frame`.
pub fn decode_frame<'a, T: Deserialize<'a>>(frame: &'a mut [u8]) -> Result<(u16, T), FrameError> {
    let open = open_frame(frame)?;
    Ok((open.id, open.message()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{PixelEncoding, Request, Response, Samples, MAX_FRAME};

    fn frame_of<T: Serialize>(id: u16, message: &T) -> ([u8; MAX_FRAME], usize) {
        let mut buf = [0u8; MAX_FRAME];
        let n = encode_frame(id, message, &mut buf).unwrap();
        (buf, n)
    }

    #[test]
    fn frames_round_trip_and_hold_no_zero_but_the_last() {
        let data = [0u8, 1, 2, 0, 0, 255];
        let request = Request::Evaluate {
            reset: true,
            loss: None,
            samples: Samples {
                encoding: PixelEncoding::Raw,
                scale: 1.0,
                count: 1,
                data: &data,
            },
        };
        let (mut buf, n) = frame_of(300, &request);
        assert!(buf[..n - 1].iter().all(|&b| b != 0));
        assert_eq!(buf[n - 1], 0);
        let (id, back): (u16, Request) = decode_frame(&mut buf[..n - 1]).unwrap();
        assert_eq!((id, back), (300, request));
    }

    #[test]
    fn any_flipped_bit_is_caught() {
        let (clean, n) = frame_of(1, &Response::Reset);
        for at in 0..n - 1 {
            for bit in 0..8 {
                let mut buf = clean;
                buf[at] ^= 1 << bit;
                if buf[at] == 0 {
                    continue; // a new delimiter: the receiver sees two shorter frames
                }
                let r: Result<(u16, Response), _> = decode_frame(&mut buf[..n - 1]);
                assert!(r.is_err(), "byte {at} bit {bit}");
            }
        }
    }

    #[test]
    fn truncated_and_oversized_frames_are_errors() {
        let (mut buf, n) = frame_of(9, &Request::Pull { offset: 5, len: 100 });
        let half: Result<(u16, Request), _> = decode_frame(&mut buf[..n / 2]);
        assert!(half.is_err());
        let mut empty: [u8; 0] = [];
        assert_eq!(
            decode_frame::<Request>(&mut empty).unwrap_err(),
            FrameError::TooShort { len: 0 }
        );
        let mut long = [1u8; MAX_FRAME];
        assert_eq!(
            decode_frame::<Request>(&mut long).unwrap_err(),
            FrameError::Oversized {
                limit: MAX_FRAME as u32
            }
        );
        let big = [7u8; MAX_PAYLOAD];
        let too_big = Request::Infer(Samples {
            encoding: PixelEncoding::Raw,
            scale: 1.0,
            count: 1,
            data: &big,
        });
        let mut out = [0u8; MAX_FRAME];
        assert_eq!(
            encode_frame(1, &too_big, &mut out),
            Err(FrameError::Oversized {
                limit: MAX_PAYLOAD as u32
            })
        );
    }

    #[test]
    fn unknown_messages_keep_their_id() {
        // A request tag from the future: id 42, variant 200.
        let (mut buf, n) = frame_of(42, &(200u8, 1u8));
        let open = open_frame(&mut buf[..n - 1]).unwrap();
        assert_eq!(open.id, 42);
        let r: Result<Request, _> = open.message();
        assert_eq!(r, Err(FrameError::Message { offset: 1 }));
        assert_eq!(
            open_frame(&mut [1, 2, 3]).unwrap_err(),
            FrameError::TooShort { len: 2 }
        );
    }
}
