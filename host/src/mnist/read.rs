//! Reading a fixed-size header and an exactly-sized payload from a stream, telling a short
//! stream, a long one and a corrupt one apart, without trusting the sizes a header declares.

use std::io::{self, Read};

use super::error::Problem;

/// The most bytes one array (all the images of a split, say) may hold: 4 GiB, some 85
/// times MNIST's training images. A header declaring more is refused before anything is
/// read.
pub const MAX_ARRAY_BYTES: u64 = 1 << 32;
/// Bytes read (and reserved) at a time: memory grows with what the file really holds,
/// never with what its header claims.
const CHUNK: usize = 1 << 20;

/// Turns an I/O error of a particular stream (plain file, gzip, zip entry) into a [`Problem`].
pub(crate) type WrapIo = fn(io::Error) -> Problem;

/// Fills `buf` from `r` until it is full or the stream ends; returns how many bytes were read.
fn fill<R: Read + ?Sized>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Reads exactly `buf.len()` header bytes; a stream ending earlier is [`Problem::ShortHeader`].
pub(crate) fn read_header<R: Read + ?Sized>(r: &mut R, buf: &mut [u8], wrap: WrapIo) -> Result<(), Problem> {
    let n = fill(r, buf).map_err(wrap)?;
    if n < buf.len() {
        return Err(Problem::ShortHeader {
            expected: buf.len() as u64,
            actual: n as u64,
        });
    }
    Ok(())
}

/// Reads exactly `expected` payload bytes and then the rest of the stream, which must be empty.
///
/// `available` is the most the stream can hold after the header (a plain file's remaining
/// size; `None` when it cannot be known before reading, as for compressed data). A header
/// declaring more than that, or more than [`MAX_ARRAY_BYTES`], is refused before reading;
/// otherwise the data is read in chunks, so memory follows what is really there.
pub(crate) fn read_payload<R: Read + ?Sized>(
    r: &mut R,
    expected: u64,
    available: Option<u64>,
    wrap: WrapIo,
) -> Result<Vec<u8>, Problem> {
    if expected > MAX_ARRAY_BYTES {
        return Err(Problem::TooLarge {
            declared: expected,
            limit: MAX_ARRAY_BYTES,
        });
    }
    if let Some(actual) = available.filter(|&a| a < expected) {
        return Err(Problem::Truncated { expected, actual });
    }
    let mut data = Vec::new();
    let mut chunk = vec![0u8; CHUNK];
    while (data.len() as u64) < expected {
        let want = usize::try_from(expected - data.len() as u64).map_or(CHUNK, |n| n.min(CHUNK));
        let got = fill(r, &mut chunk[..want]).map_err(wrap)?;
        if got == 0 {
            break;
        }
        data.try_reserve(got)
            .map_err(|_| Problem::OutOfMemory { bytes: expected })?;
        data.extend_from_slice(&chunk[..got]);
    }
    let got = data.len() as u64;
    if got < expected {
        return Err(Problem::Truncated {
            expected,
            actual: got,
        });
    }
    // Reading to the end also makes gzip and zip check their CRCs.
    let extra = io::copy(r, &mut io::sink()).map_err(wrap)?;
    if extra > 0 {
        return Err(Problem::TrailingBytes {
            expected,
            actual: expected + extra,
        });
    }
    Ok(data)
}
