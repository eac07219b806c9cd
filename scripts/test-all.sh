#!/usr/bin/env bash
# Runs every test of microdense: unit and integration tests of all crates (with libm and
# with micromath, and core's on aarch64 under qemu-aarch64), the no_std build of core for
# the Cortex-M4F, the real-Keras interop suite and the QEMU firmware tests. Installs what
# it needs when it can (the Keras venv through pip, Debian packages through apt when root,
# rustup targets) and says what it skipped when not.
#
#   scripts/test-all.sh            # everything
#   MNIST_DIR=/path scripts/test-all.sh
#
# MNIST is found as scripts/find-mnist.sh says (where the CLI looks, else downloaded, else
# beside the repository); the tests find it the same way (tests/src/mnist.rs).
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
skipped=()
started=$(date +%s)

step() { printf '\n=== %s\n' "$*"; }

step "MNIST"
MNIST_DIR="$(bash scripts/find-mnist.sh)" || exit 1
export MNIST_DIR
echo "MNIST: $MNIST_DIR"

step "real Keras (tensorflow-cpu 2.21, tf_keras 2.21, Keras 3) for the interop tests"
if python=$(bash scripts/keras-venv.sh | tail -n 1) && [ -x "$python" ]; then
    echo "using $python"
    export MICRODENSE_REQUIRE_KERAS=1
else
    skipped+=("real-Keras interop tests (the venv could not be made; see above)")
fi

step "firmware for every QEMU board (Cortex-M0, M3, M4F, M7, M33, RISC-V rv32imac) and QEMU"
# Each board's ELF goes to the tests as MICRODENSE_FIRMWARE_<BOARD> (MICRODENSE_FIRMWARE: the
# default board, mps2-an386); tests/tests/device_boards.rs runs one conformance suite on each.
firmware_ok=1
for board in mps2-an386 mps2-an385 mps2-an500 mps2-an505 riscv32-virt microbit; do
    if elf=$(bash scripts/firmware-build.sh --release --board "$board" | tail -n 1) && [ -f "$elf" ]; then
        echo "firmware for $board: $elf"
        # Issue 16's code-size goals, printed (not tested): 40 KiB with an FPU, 48 KiB without.
        case "$board" in mps2-an385|riscv32-virt|microbit) goal=48 ;; *) goal=40 ;; esac
        python3 scripts/firmware-size.py --goal-kib "$goal" "$elf"
        var="MICRODENSE_FIRMWARE_$(echo "$board" | tr 'a-z-' 'A-Z_')"
        export "$var=$elf"
        [ "$board" = mps2-an386 ] && export MICRODENSE_FIRMWARE="$elf"
    else
        firmware_ok=0
        skipped+=("firmware build for $board and its QEMU tests (no toolchain for its target; see above)")
    fi
done
if [ "$firmware_ok" = 1 ]; then
    # The inference-only image (tests/tests/device_inference_only.rs boots it): goal 16 KiB.
    elf=$(bash scripts/firmware-build.sh --release --features inference-only | tail -n 1) && [ -f "$elf" ] || exit 1
    echo "inference-only firmware for mps2-an386: $elf"
    python3 scripts/firmware-size.py --goal-kib 16 "$elf"
    # The images for the tutorial's kinds only (core's src/kinds.rs; tests/tests/device_kinds.rs
    # boots the first), with and without training.
    for extra in "" "--features inference-only"; do
        elf=$(bash scripts/firmware-build.sh --release --kinds base $extra | tail -n 1) && [ -f "$elf" ] || exit 1
        echo "firmware for mps2-an386 with the tutorial's kinds only${extra:+ ($extra)}: $elf"
        python3 scripts/firmware-size.py --goal-kib "$([ -n "$extra" ] && echo 16 || echo 40)" "$elf"
    done
    if command -v qemu-system-arm >/dev/null && command -v qemu-system-riscv32 >/dev/null; then
        export MICRODENSE_REQUIRE_QEMU=1
    else
        skipped+=("QEMU firmware tests (qemu-system-arm or qemu-system-riscv32 is not installed)")
    fi
fi

step "firmware for the real boards (built and linked, not run): stm32f411, nrf52840-dk, rp-pico, esp32c3"
if [ "$firmware_ok" = 1 ]; then
    for board in stm32f411 nrf52840-dk rp-pico esp32c3; do
        elf=$(bash scripts/firmware-build.sh --release --board "$board" | tail -n 1) && [ -f "$elf" ] || exit 1
        echo "firmware for $board: $elf"
        # The Pico's boot ROM runs an image only with its second stage and vector table in place.
        if [ "$board" = rp-pico ]; then
            python3 scripts/rp2040-image-check.py "$elf" || exit 1
        fi
        # espflash and the ESP-IDF bootloader need the entry in IROM and the app descriptor first
        # in DROM; the partition table must match the model region.
        if [ "$board" = esp32c3 ]; then
            python3 scripts/esp32c3-image-check.py "$elf" || exit 1
        fi
    done
else
    skipped+=("real-board firmware builds (no firmware toolchain; see above)")
fi

step "core is no_std: cargo build -p microdense-core --target thumbv7em-none-eabihf (libm, micromath, no kinds beyond the base)"
core_thumb() {
    if command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -qx thumbv7em-none-eabihf; then
        cargo build -p microdense-core --target thumbv7em-none-eabihf "$@"
    elif [ -x /usr/bin/rustc ] && [ -d /usr/lib/rustlib/src/rust/library ]; then
        RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$repo/target/thumb-core" \
            /usr/bin/cargo build -p microdense-core -Zbuild-std=core --target thumbv7em-none-eabihf "$@"
    else
        return 2
    fi
}
for features in "" "--features=micromath" "--no-default-features"; do
    core_thumb $features
    case $? in
        0) ;;
        2) skipped+=("no_std build of core (no thumbv7em-none-eabihf toolchain)"); break ;;
        *) exit 1 ;;
    esac
done

step "cargo fmt --check, no import circles (scripts/import-cycles.py), cargo clippy --workspace --all-targets -- -D warnings"
cargo fmt --all -- --check || exit 1
python3 scripts/import-cycles.py host/src core/src firmware/src python/src || exit 1
cargo clippy --workspace --all-targets -- -D warnings || exit 1

step "cargo test --workspace (libm)"
# The QEMU and end-to-end tests (package microdense-tests) mostly wait on one emulator or one
# CLI process at a time, so they run beside the other crates' tests: one build, two runs.
cargo test --workspace --no-run || exit 1
e2e_log="$(mktemp)"
trap 'rm -f "$e2e_log"' EXIT
cargo test -p microdense-tests >"$e2e_log" 2>&1 &
e2e=$!
cargo test --workspace --exclude microdense-tests
others=$?
wait $e2e
e2e_status=$?
echo "--- cargo test -p microdense-tests (ran alongside)"
cat "$e2e_log"
[ $others -eq 0 ] && [ $e2e_status -eq 0 ] || exit 1

step "cargo test -p microdense-core --features micromath"
cargo test -p microdense-core --features micromath || exit 1

step "core with kinds left out: cargo test -p microdense-core --no-default-features --test kinds (none, then three groups)"
cargo test -p microdense-core --no-default-features --test kinds || exit 1
cargo test -p microdense-core --no-default-features --features normalization,optimizers,int8 --test kinds || exit 1

step "core on aarch64 under qemu-aarch64 (the portable kernel's NEON path): scripts/aarch64-test.sh"
bash scripts/aarch64-test.sh
case $? in
    0) ;;
    2) skipped+=("core's aarch64 tests (no rustup for the aarch64 standard library)") ;;
    *) exit 1 ;;
esac

step "the Python package: scripts/test-python.sh (maturin wheel, installed into the Keras venv, pytest)"
if [ -n "${MICRODENSE_REQUIRE_KERAS:-}" ]; then
    bash scripts/test-python.sh || exit 1
else
    skipped+=("Python package tests (no Keras venv to install the wheel into)")
fi

echo
echo "all tests passed in $(( $(date +%s) - started )) s"
if [ ${#skipped[@]} -gt 0 ]; then
    echo "skipped:"
    printf '  - %s\n' "${skipped[@]}"
fi
