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
venv_bin="$(dirname "$python")"

"$python" -m pip install --quiet "maturin>=1.9,<2" pytest || exit 1

# The dev profile (opt-level 2) reuses what `cargo test --workspace` compiled; `pip install .`
# builds the release profile.
echo "=== building the microdense wheel (maturin build --profile dev)"
started=$(date +%s)
rm -rf target/wheels/microdense-*.whl
"$venv_bin/maturin" build --profile dev -m python/Cargo.toml -o target/wheels --interpreter "$python" || exit 1
echo "wheel built in $(( $(date +%s) - started )) s"
"$python" -m pip install --quiet --force-reinstall --no-deps target/wheels/microdense-*.whl || exit 1

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
