#!/usr/bin/env bash
# Builds the Python package (python/) with maturin, installs it into the Keras venv and runs
# its pytest suite there (python/tests). Skips, saying why, only when the venv is missing
# and cannot be made; exits non-zero on any failure.
#
#   scripts/test-python.sh [pytest options...]      # e.g. -k fit -x
#
# Environment: MNIST_DIR (MNIST), MICRODENSE_FIRMWARE and MICRODENSE_REQUIRE_QEMU=1 (the QEMU
# tests, as scripts/test-all.sh sets them), MICRODENSE_REQUIRE_KERAS=1 (set here).
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

if ! python=$(bash scripts/keras-venv.sh | tail -n 1) || [ ! -x "$python" ]; then
    echo "test-python.sh: SKIPPED: the Keras venv is missing and could not be made (see above)"
    exit 0
fi
export MICRODENSE_REQUIRE_KERAS=1

# The build tool and the test tools, when missing (pip does nothing when they are there):
# maturin, pytest, and a Jupyter kernel with a client to run notebook cells (nbclient,
# ipykernel) for the progress-bar and diagram tests.
"$python" -m pip install --quiet "maturin>=1.9,<2" pytest nbclient nbformat ipykernel || exit 1

# What the README tells users to run, `pip install ./python` (maturin's PEP 517 build of a
# wheel, then its installation), with the dev profile (opt-level 2), which reuses what
# `cargo test --workspace` compiled; a user's `pip install ./python` builds the release profile.
echo "=== pip install ./python (the microdense wheel, maturin with --profile dev)"
started=$(date +%s)
PATH="$(dirname "$python"):$PATH" MATURIN_PEP517_ARGS="--profile dev" "$python" -m pip install --quiet --force-reinstall --no-deps \
    --no-build-isolation ./python || exit 1
echo "wheel built and installed in $(( $(date +%s) - started )) s"

echo "=== the microdense CLI the tests compare with"
cargo build -p microdense --bin microdense || exit 1
export MICRODENSE_CLI="$repo/target/debug/microdense"

echo "=== pytest python/tests"
"$python" -m pytest python/tests -q -rs "$@"
status=$?
if [ $status -eq 5 ]; then
    echo "test-python.sh: pytest collected no tests"
    exit 1
fi
exit $status
