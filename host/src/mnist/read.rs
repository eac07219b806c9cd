//! Reading a fixed-size header and an exactly-sized payload from a stream, telling a short
//! stream, a long one and a corrupt one apart.

use std::io::{self, Read};

use super::error::Problem;

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
/// `bound` caps the memory reserved up front (the most the input can really hold), so a
/// corrupt header announcing a huge payload cannot make it allocate more than the input is worth.
pub(crate) fn read_payload<R: Read + ?Sized>(
    r: &mut R,
    expected: u64,
    bound: u64,
    wrap: WrapIo,
) -> Result<Vec<u8>, Problem> {
    let reserve = usize::try_from(expected.min(bound)).unwrap_or(0);
    let mut data = Vec::with_capacity(reserve);
    Read::take(&mut *r, expected)
        .read_to_end(&mut data)
        .map_err(wrap)?;
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
