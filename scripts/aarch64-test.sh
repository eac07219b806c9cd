#!/usr/bin/env bash
# Runs core's tests for aarch64 (its NEON kernel among them) under qemu-aarch64 user
# emulation: a cross build with rustup's aarch64-unknown-linux-gnu standard library and
# Debian's cross linker. Installs what is missing when it can (rustup target, apt as root);
# exits 2 when there is no way to get the aarch64 standard library (no rustup).
#
#   scripts/aarch64-test.sh [cargo test arguments]
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target=aarch64-unknown-linux-gnu
if ! command -v rustup >/dev/null; then
    echo "aarch64-test: no rustup to get the $target standard library" >&2
    exit 2
fi
rustup target list --installed | grep -qx "$target" || rustup target add "$target" >&2
bash "$repo/scripts/ensure-packages.sh" gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"
cd "$repo"
exec cargo test -p microdense-core --target "$target" "$@"
