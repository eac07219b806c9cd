#!/usr/bin/env bash
# Builds the firmware (firmware/) for one board and prints the ELF's path as the last line.
#
#   scripts/firmware-build.sh [--release] [--board BOARD] [--kinds KINDS] [--model FILE.mdl] [cargo build options...]
#
# Boards (QEMU runs the first six): mps2-an386 (Cortex-M4F, the default), mps2-an385
# (Cortex-M3), mps2-an500 (Cortex-M7), mps2-an505 (Cortex-M33), riscv32-virt (QEMU's RISC-V
# `virt`, rv32imac), microbit (nRF51822, Cortex-M0, 16 KiB RAM); built only: stm32f411,
# nrf52840-dk, rp-pico (Raspberry Pi Pico, RP2040, Cortex-M0+), esp32c3 (ESP32-C3, rv32imc,
# through esp-hal).
# e.g. `scripts/firmware-build.sh --release`, `scripts/firmware-build.sh --release --example panic_probe`,
#      `scripts/firmware-build.sh --release --board mps2-an385`, `... --features micromath`,
#      `... --features inference-only` (no training code: Train and Pull are refused).
# --model FILE checks at build time that FILE fits the board's model region.
# --kinds KINDS: the kinds of layer, activation, optimizer, ... the image carries (core's
# src/kinds.rs): `all` (the default), `base` (a tutorial model's: Dense, Activation, Dropout,
# Flatten; linear, relu, sigmoid, softmax; SGD at a constant rate), or a comma-separated
# list of groups added to the base: normalization, preprocessing, activation-layers, noise, merge,
# activity-regularization, activations, optimizers, schedules, clipping, int8
# (`microdense inspect FILE.mdl` names the groups a model needs). The image refuses a model that
# needs a group it leaves out, naming the group; with --model FILE the build fails instead.
#
# Toolchain: rustup's target for the board when it is installed; otherwise Debian's Rust
# (rustc-web, cargo-web), its library source (rust-web-src) and lld, building `core` from source
# with -Zbuild-std=core and -Cpanic=immediate-abort. Missing Debian packages (and the QEMU that runs the firmware)
# are installed when running as root with apt; otherwise the script says what is missing.
# Every board builds in one target directory, firmware/target (or $FIRMWARE_TARGET_DIR), so
# boards of one instruction set share their compiled `core` and dependencies; each image is then
# copied to firmware/target/boards/<board>[/kinds-<list>][/features-<list>]/<profile>/, the path printed, so
# images never overwrite each other.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
profile=debug
cargo_args=()
example=""
features=""
board=mps2-an386
model=""
kinds=all
while [ $# -gt 0 ]; do
    case "$1" in
        --release) profile=release; cargo_args+=(--release) ;;
        --example) example="${2:?--example needs a name}"; cargo_args+=(--example "$example"); shift ;;
        --board) board="${2:?--board needs a name}"; shift ;;
        --model) model="$(realpath "${2:?--model needs a file}")"; shift ;;
        --features) features="${2:?--features needs a list}"; cargo_args+=(--features "$features"); shift ;;
        --kinds) kinds="${2:?--kinds needs all, base or a list of groups}"; shift ;;
        -h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) cargo_args+=("$1") ;;
    esac
    shift
done

# Installs the Debian packages in "$@" that are missing, or explains and fails.
ensure_packages() {
    bash "$repo/scripts/ensure-packages.sh" "$@" || exit 1
}

have_rustup_target() {
    command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -qx "$TARGET"
}

# Flags meant for host builds would replace the firmware's own (.cargo/config.toml).
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS CARGO_BUILD_TARGET
cd "$repo/firmware"
# The board's Rust target and the QEMU package that runs it.
case "$board" in
    mps2-an386|mps2-an500|stm32f411|nrf52840-dk) TARGET=thumbv7em-none-eabihf ;;
    mps2-an385) TARGET=thumbv7m-none-eabi ;;
    microbit|rp-pico) TARGET=thumbv6m-none-eabi ;;
    mps2-an505) TARGET=thumbv8m.main-none-eabihf ;;
    riscv32-virt) TARGET=riscv32imac-unknown-none-elf ;;
    esp32c3) TARGET=riscv32imc-unknown-none-elf ;;
    *) echo "firmware-build: unknown board '$board' (mps2-an385, mps2-an386, mps2-an500, mps2-an505, riscv32-virt, microbit, stm32f411, nrf52840-dk, rp-pico, esp32c3)" >&2; exit 2 ;;
esac
case "$TARGET" in
    riscv32*) qemu_package=qemu-system-misc; qemu_program=qemu-system-riscv32 ;;
    *) qemu_package=qemu-system-arm; qemu_program=qemu-system-arm ;;
esac
image_dir="boards/$board"
case "$kinds" in
    all) kind_features=all-kinds ;;
    base) kind_features=""; image_dir="$image_dir/kinds-base" ;;
    *) kind_features="$kinds"; image_dir="$image_dir/kinds-${kinds//[^a-z0-9_-]/-}" ;;
esac
cargo_args+=(--no-default-features --features "$board${kind_features:+,$kind_features}")
if [ -n "$model" ]; then
    export MICRODENSE_MODEL="$model"
fi
if [ -n "$features" ]; then
    image_dir="$image_dir/features-${features//[^a-z0-9_-]/-}"
fi
export CARGO_TARGET_DIR="${FIRMWARE_TARGET_DIR:-$repo/firmware/target}"
mkdir -p "$CARGO_TARGET_DIR"
# Building and copying the image out is one step: another board's build in the same directory
# would overwrite cargo's copy of it.
exec 9>"$CARGO_TARGET_DIR/.firmware-build.lock"
flock 9
if have_rustup_target; then
    command -v "$qemu_program" >/dev/null || ensure_packages "$qemu_package"
    echo "firmware-build: rustup toolchain with $TARGET" >&2
    cargo build --target "$TARGET" "${cargo_args[@]}" >&2
else
    ensure_packages rustc-web cargo-web rust-web-src lld "$qemu_package"
    echo "firmware-build: Debian toolchain ($(/usr/bin/rustc --version)) with -Zbuild-std=core" >&2
    # cargo's per-target variables: the triple in capitals, '-' and '.' as '_'.
    triple_var="$(echo "$TARGET" | tr 'a-z.-' 'A-Z__')"
    # core is built from source here, so it can drop panic messages and locations from the
    # image (-Cpanic=immediate-abort, ~7 KB less code): a panic traps, and the firmware's
    # HardFault handler reports the trap's address (firmware/src/panic.rs). Not on the
    # ESP32-C3: esp-hal's exception handler reports a trap by panicking, which would trap again.
    panic_flags="-Zunstable-options -Cpanic=immediate-abort"
    [ "$board" = esp32c3 ] && panic_flags=""
    env RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 "CARGO_TARGET_${triple_var}_LINKER=ld.lld" \
        "CARGO_TARGET_${triple_var}_RUSTFLAGS=$panic_flags" \
        /usr/bin/cargo build -Zbuild-std=core --target "$TARGET" "${cargo_args[@]}" >&2
fi



if [ -n "$example" ]; then
    built="$CARGO_TARGET_DIR/$TARGET/$profile/examples/$example"
else
    built="$CARGO_TARGET_DIR/$TARGET/$profile/microdense-firmware"
fi
[ -f "$built" ] || { echo "firmware-build: cargo succeeded but $built is missing" >&2; exit 1; }
elf="$CARGO_TARGET_DIR/$image_dir/$profile/$(basename "$built")"
mkdir -p "$(dirname "$elf")"
cp "$built" "$elf.tmp"
mv "$elf.tmp" "$elf"
echo "$elf"
