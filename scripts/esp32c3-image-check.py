#!/usr/bin/env python3
"""Checks an ESP32-C3 firmware ELF (scripts/firmware-build.sh --board esp32c3) the way espflash,
the ESP-IDF bootloader and the firmware's flash layout need it:

- the entry point lies in the IROM window (0x4200_0000..0x4280_0000), the flash code the
  bootloader maps;
- `.flash.appdesc` starts the DROM window (0x3C00_0020, after the image's segment header) and
  begins with the app descriptor's magic word 0xABCD_5432, which espflash and the bootloader
  look for;
- every loaded segment lies in a window the C3 maps (IROM, DROM, IRAM, DRAM, RTC fast memory),
  so nothing is linked at the flash offsets of the model region;
- the segments' bytes fit the app partition, and firmware/esp32c3-partitions.csv places the app
  partition (`factory`) and the model partition (`model`) where firmware/memory/esp32c3.x says
  (APP and MODEL: offsets and lengths).

    scripts/esp32c3-image-check.py firmware/target/boards/esp32c3/release/microdense-firmware

Prints what it checked; exits 1 naming the first thing that is wrong.
"""
import os
import re
import struct
import sys

import elf32

FIRMWARE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "firmware")
IROM = (0x4200_0000, 0x4280_0000)
DROM = (0x3C00_0000, 0x3C80_0000)
WINDOWS = [IROM, DROM, (0x4037_C000, 0x403E_0000), (0x3FC8_0000, 0x3FCE_0000), (0x5000_0000, 0x5000_2000)]
APPDESC = 0x3C00_0020
APPDESC_MAGIC = 0xABCD_5432


def fail(message: str) -> None:
    print(f"esp32c3-image-check: {message}", file=sys.stderr)
    sys.exit(1)


def layout_regions() -> dict:
    """APP and MODEL from memory/esp32c3.x: name -> (offset, length)."""
    with open(os.path.join(FIRMWARE, "memory", "esp32c3.x")) as f:
        text = f.read()
    regions = {}
    for name, origin, length, kib in re.findall(r"^\s*(\w+)\s*:\s*ORIGIN\s*=\s*(0x[0-9a-fA-F]+),\s*LENGTH\s*=\s*(\d+)(K?)", text, re.M):
        regions[name] = (int(origin, 16), int(length) * (1024 if kib else 1))
    return regions


def partitions() -> dict:
    """firmware/esp32c3-partitions.csv: name -> (offset, size)."""
    table = {}
    with open(os.path.join(FIRMWARE, "esp32c3-partitions.csv")) as f:
        for line in f:
            fields = [field.strip() for field in line.split("#")[0].split(",")]
            if len(fields) >= 5:
                table[fields[0]] = (int(fields[3], 16), int(fields[4], 16))
    return table


def main() -> None:
    if len(sys.argv) != 2:
        fail("usage: esp32c3-image-check.py ELF")
    path = sys.argv[1]
    image = elf32.read(path, "esp32c3-image-check")

    if not IROM[0] <= image.entry < IROM[1]:
        fail(f"the entry point {image.entry:#x} is not in the IROM window {IROM[0]:#x}..{IROM[1]:#x}")
    addr, appdesc = image.sections.get(".flash.appdesc", (None, b""))
    if addr != APPDESC or len(appdesc) < 4:
        fail(f".flash.appdesc must start at {APPDESC:#x}, found {addr if addr is None else hex(addr)}")
    magic = struct.unpack_from("<I", appdesc, 0)[0]
    if magic != APPDESC_MAGIC:
        fail(f"the app descriptor's magic word is {magic:#010x}, not {APPDESC_MAGIC:#010x}")

    for paddr, filesz in image.loaded:
        if not any(start <= paddr and paddr + filesz <= end for start, end in WINDOWS):
            fail(f"a segment of {filesz} bytes at {paddr:#x} lies outside the C3's memory windows")
    regions = layout_regions()
    table = partitions()
    for region, partition in (("APP", "factory"), ("MODEL", "model")):
        if region not in regions or regions[region] != table.get(partition):
            fail(
                f"memory/esp32c3.x's {region} {regions.get(region)} and the partition table's "
                f"{partition} {table.get(partition)} differ (offset, length)"
            )
    image_bytes = sum(filesz for _, filesz in image.loaded)
    app_offset, app_len = regions["APP"]
    if image_bytes > app_len:
        fail(f"the image's segments take {image_bytes} bytes, more than the app partition's {app_len}")

    model_offset, model_len = regions["MODEL"]
    print(
        f"esp32c3-image-check: {path}: entry {image.entry:#x} in IROM, app descriptor at {APPDESC:#x} "
        f"(magic ok), {len(image.loaded)} segments of {image_bytes} bytes in the C3's windows and the "
        f"{app_len // 1024} KiB app partition at {app_offset:#x}, model partition at {model_offset:#x} "
        f"({model_len // 1024} KiB) as in the partition table"
    )


if __name__ == "__main__":
    main()
