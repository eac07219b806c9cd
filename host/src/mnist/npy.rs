//! NumPy's `.npy` array header: reading (versions 1–3) and writing (version 1).
//!
//! A header is the magic `\x93NUMPY`, a version, a little-endian length and a Python dict
//! literal such as `{'descr': '|u1', 'fortran_order': False, 'shape': (60000, 28, 28), }`.

use std::io::{self, Read, Write};

use super::error::Problem;
use super::read::{read_header, WrapIo};

/// The six bytes every `.npy` file starts with.
const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// Longest dict literal accepted (NumPy itself refuses more than 10 000 bytes by default).
const MAX_HEADER_LEN: usize = 1 << 16;

/// What an `.npy` header says about its array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    /// The data type, e.g. `|u1` or `<i8`.
    pub descr: String,
    /// Whether the data is in column-major order.
    pub fortran_order: bool,
    /// The dimensions.
    pub shape: Vec<u64>,
}

/// An integer data type, as named by a `descr` string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IntType {
    /// Bytes per item: 1, 2, 4 or 8.
    pub size: usize,
    /// Signed (`i`) or unsigned (`u`).
    pub signed: bool,
    /// Byte order of multi-byte items.
    pub big_endian: bool,
}

impl IntType {
    /// Parses a `descr` such as `|u1`, `<i8` or `>u4`; `None` for anything not an integer type.
    pub fn parse(descr: &str) -> Option<IntType> {
        let (order, rest) = match descr.as_bytes().first()? {
            b'<' | b'>' | b'|' | b'=' => descr.split_at(1),
            _ => ("", descr),
        };
        let signed = match rest.as_bytes().first()? {
            b'u' => false,
            b'i' => true,
            _ => return None,
        };
        let size = match &rest[1..] {
            "1" => 1,
            "2" => 2,
            "4" => 4,
            "8" => 8,
            _ => return None,
        };
        let big_endian = order == ">" || (order == "=" && cfg!(target_endian = "big"));
        Some(IntType {
            size,
            signed,
            big_endian,
        })
    }

    /// Decodes one item from exactly `size` bytes.
    pub fn decode(&self, bytes: &[u8]) -> i128 {
        let fold = |v: u64, b: &u8| v << 8 | u64::from(*b);
        let bytes = &bytes[..self.size.min(bytes.len())];
        let v = if self.big_endian {
            bytes.iter().fold(0, fold)
        } else {
            bytes.iter().rev().fold(0, fold)
        };
        if self.signed && !bytes.is_empty() {
            let shift = 64 - 8 * bytes.len() as u32;
            i128::from(((v << shift) as i64) >> shift)
        } else {
            i128::from(v)
        }
    }
}

/// Reads and parses a header, leaving `r` at the first data byte.
pub(crate) fn read<R: Read + ?Sized>(r: &mut R, wrap: WrapIo) -> Result<Header, Problem> {
    let mut start = [0u8; 8];
    read_header(r, &mut start, wrap)?;
    if &start[..6] != MAGIC {
        return Err(Problem::BadNpyHeader(format!(
            "does not start with \\x93NUMPY (found {:02x?})",
            &start[..6]
        )));
    }
    let version = (start[6], start[7]);
    let len = match version.0 {
        1 => {
            let mut n = [0u8; 2];
            read_header(r, &mut n, wrap)?;
            usize::from(u16::from_le_bytes(n))
        }
        2 | 3 => {
            let mut n = [0u8; 4];
            read_header(r, &mut n, wrap)?;
            usize::try_from(u32::from_le_bytes(n)).unwrap_or(usize::MAX)
        }
        _ => {
            return Err(Problem::BadNpyHeader(format!(
                "unknown format version {}.{}",
                version.0, version.1
            )))
        }
    };
    if len > MAX_HEADER_LEN {
        return Err(Problem::BadNpyHeader(format!(
            "header length {len} exceeds {MAX_HEADER_LEN} bytes"
        )));
    }
    let mut text = vec![0u8; len];
    read_header(r, &mut text, wrap)?;
    parse_dict(&text).map_err(Problem::BadNpyHeader)
}

/// Writes a version 1.0 header, padded with spaces so the data starts on a 64-byte boundary.
pub(crate) fn write<W: Write + ?Sized>(w: &mut W, descr: &str, shape: &[u64]) -> io::Result<()> {
    let dims: Vec<String> = shape.iter().map(u64::to_string).collect();
    let shape_text = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
    let unpadded = MAGIC.len() + 2 + 2 + dict.len() + 1;
    dict.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    dict.push('\n');
    let len = u16::try_from(dict.len()).map_err(|_| io::Error::other("npy header too long"))?;
    w.write_all(MAGIC)?;
    w.write_all(&[1, 0])?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(dict.as_bytes())
}

/// A value in the header's dict literal.
enum Value {
    Str(String),
    Bool(bool),
    Tuple(Vec<u64>),
}

/// Parses the header's dict literal; the error says what is wrong in it.
fn parse_dict(text: &[u8]) -> Result<Header, String> {
    let mut p = Parser { s: text, pos: 0 };
    let (mut descr, mut fortran_order, mut shape) = (None, None, None);
    p.expect(b'{')?;
    while !p.eat(b'}') {
        let key = p.string()?;
        p.expect(b':')?;
        let value = p.value()?;
        match (key.as_str(), value) {
            ("descr", Value::Str(s)) => descr = Some(s),
            ("fortran_order", Value::Bool(b)) => fortran_order = Some(b),
            ("shape", Value::Tuple(t)) => shape = Some(t),
            ("descr" | "fortran_order" | "shape", _) => {
                return Err(format!("key '{key}' has a value of the wrong kind"))
            }
            _ => return Err(format!("unexpected key '{key}'")),
        }
        if !p.eat(b',') {
            p.expect(b'}')?;
            break;
        }
    }
    let missing = |k: &str| format!("key '{k}' missing");
    Ok(Header {
        descr: descr.ok_or_else(|| missing("descr"))?,
        fortran_order: fortran_order.ok_or_else(|| missing("fortran_order"))?,
        shape: shape.ok_or_else(|| missing("shape"))?,
    })
}

/// A cursor over the dict literal that skips whitespace before every token.
struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    /// The next non-blank byte, without consuming it.
    fn peek(&mut self) -> Option<u8> {
        while self.s.get(self.pos).is_some_and(|c| c.is_ascii_whitespace()) {
            self.pos += 1;
        }
        self.s.get(self.pos).copied()
    }

    /// Consumes `c` if it comes next.
    fn eat(&mut self, c: u8) -> bool {
        let found = self.peek() == Some(c);
        if found {
            self.pos += 1;
        }
        found
    }

    /// Consumes `c`, which must come next.
    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!(
                "expected '{}' at byte {} of the dict",
                c as char, self.pos
            ))
        }
    }

    /// A quoted string (single or double quotes, no escapes).
    fn string(&mut self) -> Result<String, String> {
        let quote = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => {
                return Err(format!(
                    "expected a quoted string at byte {} of the dict",
                    self.pos
                ))
            }
        };
        let start = self.pos + 1;
        let len = self.s[start..]
            .iter()
            .position(|&c| c == quote)
            .ok_or_else(|| format!("unterminated string at byte {} of the dict", self.pos))?;
        self.pos = start + len + 1;
        Ok(String::from_utf8_lossy(&self.s[start..start + len]).into_owned())
    }

    /// A string, `True`/`False` or a tuple of non-negative integers.
    fn value(&mut self) -> Result<Value, String> {
        match self.peek() {
            Some(b'\'' | b'"') => self.string().map(Value::Str),
            Some(b'(') => self.tuple().map(Value::Tuple),
            _ => {
                for (word, b) in [("True", true), ("False", false)] {
                    if self.s[self.pos..].starts_with(word.as_bytes()) {
                        self.pos += word.len();
                        return Ok(Value::Bool(b));
                    }
                }
                Err(format!("unexpected value at byte {} of the dict", self.pos))
            }
        }
    }

    /// A tuple of non-negative integers such as `(60000, 28, 28)` or `(10,)`.
    fn tuple(&mut self) -> Result<Vec<u64>, String> {
        self.expect(b'(')?;
        let mut items = Vec::new();
        while !self.eat(b')') {
            self.peek();
            let start = self.pos;
            while self.s.get(self.pos).is_some_and(u8::is_ascii_digit) {
                self.pos += 1;
            }
            let digits = std::str::from_utf8(&self.s[start..self.pos]).unwrap_or("");
            let n = digits
                .parse()
                .map_err(|_| format!("expected a dimension at byte {start} of the dict"))?;
            items.push(n);
            self.eat(b'L'); // Python 2's long integers
            if !self.eat(b',') {
                self.expect(b')')?;
                break;
            }
        }
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_header_reads_back_aligned() {
        for shape in [vec![60000, 28, 28], vec![10000], vec![]] {
            let mut buf = Vec::new();
            write(&mut buf, "|u1", &shape).unwrap();
            assert_eq!(buf.len() % 64, 0, "data must start 64-byte aligned");
            assert_eq!(*buf.last().unwrap(), b'\n');
            let h = read(&mut &buf[..], Problem::Io).unwrap();
            assert_eq!(
                h,
                Header {
                    descr: "|u1".into(),
                    fortran_order: false,
                    shape
                }
            );
        }
    }

    #[test]
    fn parses_numpy_variants() {
        let h = parse_dict(b"{\"descr\":\"<i8\",\"fortran_order\":True,\"shape\":(3L,)}").unwrap();
        assert_eq!(
            h,
            Header {
                descr: "<i8".into(),
                fortran_order: true,
                shape: vec![3]
            }
        );
        assert!(parse_dict(b"{'descr': '|u1', 'shape': (1,)}")
            .unwrap_err()
            .contains("fortran_order"));
        assert!(parse_dict(b"{'descr': '|u1', 'fortran_order': False, 'shape': (1, x)}").is_err());
        assert!(parse_dict(b"{'descr': 5}").is_err());
        assert!(parse_dict(b"{'descr': '|u1")
            .unwrap_err()
            .contains("unterminated"));
    }

    #[test]
    fn decodes_integer_types() {
        let t = IntType::parse("<i2").unwrap();
        assert_eq!(t.decode(&[0xfe, 0xff]), -2);
        let t = IntType::parse(">u4").unwrap();
        assert_eq!(t.decode(&[0, 0, 1, 2]), 258);
        let t = IntType::parse("<i8").unwrap();
        assert_eq!(t.decode(&7i64.to_le_bytes()), 7);
        assert_eq!(IntType::parse("|u1").unwrap().decode(&[200]), 200);
        assert_eq!(IntType::parse("|i1").unwrap().decode(&[200]), -56);
        assert_eq!(IntType::parse("<f4"), None);
        assert_eq!(IntType::parse("<u3"), None);
    }
}
