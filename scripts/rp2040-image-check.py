#!/usr/bin/env python3
"""Checks a Raspberry Pi Pico firmware ELF (scripts/firmware-build.sh --board rp-pico) the way
the RP2040's boot ROM and the firmware's layout (firmware/memory/rp-pico.x) need it:

- `.boot2` is the 256 bytes at 0x1000_0000, and its last word is the CRC-32 of the first 252
  (poly 0x04C11DB7, initial value 0xFFFF_FFFF, not reflected, no final XOR): the boot ROM
  runs the second stage only if it matches;
- `.vector_table` starts at 0x1000_0100, where the second stage looks for it: its first word
  (the initial stack pointer) is the top of the 264 KiB of RAM, its second (the reset handler)
  a Thumb address inside the firmware's flash;
- everything the image writes to flash (each loaded segment's bytes) lies in
  0x1000_0000..0x1004_0000, below the model region.

    scripts/rp2040-image-check.py firmware/target/boards/rp-pico/release/microdense-firmware

Prints what it checked; exits 1 naming the first thing that is wrong.
"""
import struct
import sys

import elf32

BOOT2 = 0x1000_0000
VECTORS = 0x1000_0100
MODEL = 0x1004_0000
RAM_TOP = 0x2000_0000 + 264 * 1024


def crc32_mpeg2(data: bytes) -> int:
    crc = 0xFFFF_FFFF
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C1_1DB7) if crc & 0x8000_0000 else crc << 1
            crc &= 0xFFFF_FFFF
    return crc


def fail(message: str) -> None:
    print(f"rp2040-image-check: {message}", file=sys.stderr)
    sys.exit(1)


def main() -> None:
    if len(sys.argv) != 2:
        fail("usage: rp2040-image-check.py ELF")
    path = sys.argv[1]
    image = elf32.read(path, "rp2040-image-check")
    sections = image.sections

    addr, boot2 = sections.get(".boot2", (None, b""))
    if addr != BOOT2 or len(boot2) != 256:
        fail(f".boot2 must be 256 bytes at {BOOT2:#x}, found {len(boot2)} at {addr if addr is None else hex(addr)}")
    stored = struct.unpack_from("<I", boot2, 252)[0]
    if crc32_mpeg2(boot2[:252]) != stored:
        fail(f".boot2's CRC-32 {crc32_mpeg2(boot2[:252]):#010x} does not match its last word {stored:#010x}")

    addr, vectors = sections.get(".vector_table", (None, b""))
    if addr != VECTORS or len(vectors) < 8:
        fail(f".vector_table must start at {VECTORS:#x}, found {addr if addr is None else hex(addr)}")
    stack, reset = struct.unpack_from("<II", vectors, 0)
    if stack != RAM_TOP:
        fail(f"the initial stack pointer is {stack:#x}, not the top of RAM {RAM_TOP:#x}")
    if not (reset & 1 and VECTORS <= reset < MODEL):
        fail(f"the reset vector {reset:#x} is not a Thumb address in the firmware's flash")

    for paddr, filesz in image.loaded:
        if not (BOOT2 <= paddr and paddr + filesz <= MODEL):
            fail(f"a segment of {filesz} bytes at {paddr:#x} is outside the firmware's flash {BOOT2:#x}..{MODEL:#x}")

    print(
        f"rp2040-image-check: {path}: .boot2 at {BOOT2:#x} (CRC {stored:#010x} ok), vector table at "
        f"{VECTORS:#x} (stack {stack:#x}, reset {reset:#x}), flash contents below the model region {MODEL:#x}"
    )


if __name__ == "__main__":
    main()
