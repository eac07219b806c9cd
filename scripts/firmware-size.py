#!/usr/bin/env python3
"""Prints a firmware image's flash code: the bytes its ELF loads into flash (every allocated
section with contents: vector table, .text, .rodata, .data's initial values), what Info
reports as `flash_code` give or take alignment, against issue 16's goal for its core.

    scripts/firmware-size.py --goal-kib 40 firmware/target/boards/mps2-an386/release/microdense-firmware
    scripts/firmware-size.py --goal-kib 40 --areas ELF   # also where .text goes (needs llvm-objdump, llvm-symbolizer)

`--areas` attributes each instruction of .text to the innermost function of the DWARF inline
chain that lies in this repository's source (or, for code entirely inside a dependency, to
that crate), then groups source files into the areas of AREAS.

A figure to watch, not a test: it never fails on size (only on a file that is not an ELF).
"""
import argparse
import collections
import re
import shutil
import struct
import subprocess
import sys

# (area, pattern matched against a repository path or `lib:<crate>`), first match wins.
AREAS = [
    ("int8 inference (quant)", r"^core/src/quant/"),
    ("trainer: backward passes, the step", r"^core/src/train/"),
    ("optimizers: update rules, schedules, clipping", r"^core/src/(optimizer/|sgd\.rs)"),
    ("model format: decoding, Pull's re-encoding", r"^core/src/format/"),
    ("losses", r"^core/src/loss/"),
    ("float inference: layers, activations, network, kernels",
     r"^core/src/(layer/|activation|network|graph|kernel/|regularizer|math|rng|init)"),
    ("protocol: messages, frames, postcard, COBS", r"^(core/src/protocol/|lib:(postcard|serde|cobs))"),
    ("server: requests, Info, fine-tuning, Pull (firmware/src/app)", r"^firmware/src/app/"),
    ("board and runtime", r"^(firmware/src/|lib:(cortex|riscv|nb|embedded|stm32|semihosting))"),
    ("libm", r"^lib:libm"),
    ("compiler-builtins (soft f64, 64-bit division, memcpy)", r"^lib:compiler.builtins"),
]

SHF_ALLOC = 0x2
SHT_NOBITS = 8


def flash_bytes(path: str) -> int:
    """The sizes of the allocated sections with contents of a 32-bit little-endian ELF."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 1 or data[5] != 1:
        raise ValueError(f"{path}: not a 32-bit little-endian ELF")
    shoff, = struct.unpack_from("<I", data, 0x20)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x2E)
    total = 0
    for i in range(shnum):
        _, kind, flags, _, _, size = struct.unpack_from("<IIIIII", data, shoff + i * shentsize)
        if flags & SHF_ALLOC and kind != SHT_NOBITS:
            total += size
    return total


def text_areas(path: str) -> collections.Counter:
    """Bytes of .text per area (see AREAS), through llvm-objdump and llvm-symbolizer."""
    for tool in ("llvm-objdump", "llvm-symbolizer"):
        if not shutil.which(tool):
            raise ValueError(f"--areas needs {tool} (Debian: apt-get install llvm)")
    listing = subprocess.run(["llvm-objdump", "-d", "--no-show-raw-insn", "--section=.text", path],
                             capture_output=True, text=True, check=True).stdout
    addrs = sorted({int(m.group(1), 16) for m in
                    (re.match(r"\s*([0-9a-f]+):\s+\S", line) for line in listing.splitlines()) if m})
    sizes = {a: min(b - a, 4) for a, b in zip(addrs, addrs[1:])}
    chains = subprocess.run(["llvm-symbolizer", "--inlining", "--obj=" + path],
                            input="".join(f"{a:#x}\n" for a in addrs),
                            capture_output=True, text=True, check=True).stdout.strip("\n").split("\n\n")
    areas = collections.Counter()
    for addr, chain in zip(addrs, chains):
        lines = chain.splitlines()
        files = [lines[i + 1].rsplit(":", 2)[0] for i in range(0, len(lines) - 1, 2)]
        ours = [m.group(1) for m in (re.search(r"/((?:core|firmware)/src/.*)", f) for f in files)
                if m and "/.cargo/" not in m.string and "/rustlib/" not in m.string]
        if ours:
            key = ours[0]
        else:
            crate = re.search(r"/(?:registry/src/[^/]+|library)/([A-Za-z_-]+)", files[-1] if files else "")
            key = "lib:" + (crate.group(1) if crate else "?")
        area = next((name for name, pattern in AREAS if re.search(pattern, key)), "other (core library, outlined code)")
        areas[area] += sizes.get(addr, 2)
    return areas


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--goal-kib", type=int, required=True, help="issue 16's goal for the image")
    parser.add_argument("--areas", action="store_true", help="also where .text goes, by area")
    parser.add_argument("elf")
    args = parser.parse_args()
    try:
        code = flash_bytes(args.elf)
    except (OSError, ValueError, struct.error) as e:
        print(f"firmware-size: {e}", file=sys.stderr)
        return 1
    goal = args.goal_kib * 1024
    verdict = "within it" if code <= goal else f"{code - goal:,} bytes over"
    print(f"code size: {code:,} bytes of flash (goal {args.goal_kib} KiB = {goal:,}: {verdict})")
    if args.areas:
        try:
            areas = text_areas(args.elf)
        except (OSError, ValueError, subprocess.CalledProcessError) as e:
            print(f"firmware-size: {e}", file=sys.stderr)
            return 1
        for area, n in areas.most_common():
            print(f"{n:8,}  {area}")
        print(f"{sum(areas.values()):8,}  .text")
    return 0


if __name__ == "__main__":
    sys.exit(main())
