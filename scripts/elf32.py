"""Reads a little-endian 32-bit ELF file for the firmware image checks
(scripts/rp2040-image-check.py, scripts/esp32c3-image-check.py)."""
import struct
import sys
from typing import Dict, List, NamedTuple, Tuple

PT_LOAD = 1


class Elf(NamedTuple):
    entry: int
    # name -> (address, contents)
    sections: Dict[str, Tuple[int, bytes]]
    # (physical address, bytes in the file) of each loaded segment
    loaded: List[Tuple[int, int]]


def read(path: str, tool: str) -> Elf:
    """The ELF at `path`; exits naming `tool` if it is not a little-endian 32-bit ELF file."""
    with open(path, "rb") as f:
        elf = f.read()
    if elf[:4] != b"\x7fELF" or elf[4] != 1 or elf[5] != 1:
        print(f"{tool}: {path} is not a little-endian 32-bit ELF file", file=sys.stderr)
        sys.exit(1)
    entry, phoff, shoff = struct.unpack_from("<III", elf, 24)
    (phentsize, phnum, shentsize, shnum, shstrndx) = struct.unpack_from("<HHHHH", elf, 42)
    sections = {}
    names_offset = struct.unpack_from("<I", elf, shoff + shstrndx * shentsize + 16)[0]
    for i in range(shnum):
        name, _, _, addr, offset, size = struct.unpack_from("<IIIIII", elf, shoff + i * shentsize)
        name = elf[names_offset + name : elf.index(b"\0", names_offset + name)].decode()
        sections[name] = (addr, elf[offset : offset + size])
    loaded = []
    for i in range(phnum):
        kind, _, _, paddr, filesz = struct.unpack_from("<IIIII", elf, phoff + i * phentsize)
        if kind == PT_LOAD and filesz:
            loaded.append((paddr, filesz))
    return Elf(entry, sections, loaded)
