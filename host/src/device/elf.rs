//! Looks up symbols in a 32-bit little-endian ELF file (the firmware), e.g. `_model_start`,
//! so the host learns the model region's address from the image it boots.

use std::path::{Path, PathBuf};

/// Why a symbol could not be read from an ELF file.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct ElfError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub reason: String,
}

/// Section header type of a symbol table.
const SHT_SYMTAB: u32 = 2;
/// Size of one ELF32 symbol table entry.
const SYM_SIZE: usize = 16;

/// The value (address) of the symbol `name` in the ELF32 file at `path`.
pub fn symbol(path: &Path, name: &str) -> Result<u32, ElfError> {
    let bytes = std::fs::read(path).map_err(|e| ElfError {
        path: path.to_path_buf(),
        reason: format!("cannot read: {e}"),
    })?;
    find_symbol(&bytes, name).map_err(|reason| ElfError {
        path: path.to_path_buf(),
        reason,
    })
}

fn read_u16(bytes: &[u8], at: usize) -> Result<u16, String> {
    bytes
        .get(at..at + 2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .ok_or_else(|| format!("truncated at byte {at}"))
}

fn read_u32(bytes: &[u8], at: usize) -> Result<u32, String> {
    bytes
        .get(at..at + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| format!("truncated at byte {at}"))
}

/// The NUL-terminated string at `at` in `bytes`.
fn read_str(bytes: &[u8], at: usize) -> Result<&[u8], String> {
    let tail = bytes
        .get(at..)
        .ok_or_else(|| format!("string offset {at} out of range"))?;
    let end = tail
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| format!("unterminated string at {at}"))?;
    Ok(&tail[..end])
}

fn find_symbol(bytes: &[u8], name: &str) -> Result<u32, String> {
    if bytes.get(..4) != Some(b"\x7fELF") {
        return Err("not an ELF file".into());
    }
    if bytes.get(4) != Some(&1) || bytes.get(5) != Some(&1) {
        return Err("not a 32-bit little-endian ELF file".into());
    }
    let shoff = read_u32(bytes, 0x20)? as usize;
    let shentsize = usize::from(read_u16(bytes, 0x2E)?);
    let shnum = usize::from(read_u16(bytes, 0x30)?);
    let section = |index: usize| -> Result<(u32, usize, usize, usize), String> {
        let at = shoff + index * shentsize;
        Ok((
            read_u32(bytes, at + 4)?,
            read_u32(bytes, at + 0x10)? as usize,
            read_u32(bytes, at + 0x14)? as usize,
            read_u32(bytes, at + 0x18)? as usize,
        ))
    };
    for index in 0..shnum {
        let (kind, offset, size, link) = section(index)?;
        if kind != SHT_SYMTAB {
            continue;
        }
        let (_, strings, _, _) = section(link)?;
        for entry in (offset..offset + size).step_by(SYM_SIZE) {
            let name_at = read_u32(bytes, entry)? as usize;
            if read_str(bytes, strings + name_at)? == name.as_bytes() {
                return read_u32(bytes, entry + 4);
            }
        }
    }
    Err(format!("no symbol `{name}`"))
}
