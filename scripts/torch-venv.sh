#!/usr/bin/env bash
# Creates (or reuses) a Python virtual environment with PyTorch (CPU use only) for the
# training-speed benchmark's PyTorch row, and prints its python's path as the last line
# of stdout. Separate from the Keras venv on purpose: no test needs PyTorch.
#
#   venv:     ${MICRODENSE_CACHE:-$HOME/.cache/microdense}/torch-venv
#   packages: torch 2.15.0 (from PyPI), numpy
#
# Idempotent: an existing venv whose imports work is reused untouched. Progress and
# errors go to stderr; the exit status is non-zero if the venv cannot be made to work.
set -euo pipefail

cache="${MICRODENSE_CACHE:-$HOME/.cache/microdense}"
venv="$cache/torch-venv"
py="$venv/bin/python"
packages=(torch==2.15.0 numpy)

fail() {
    echo "torch-venv.sh: $*" >&2
    exit 1
}

check() {
    "$py" -c 'import numpy, torch; assert torch.__version__.startswith("2.15.0"), torch.__version__' \
        >/dev/null 2>&1
}

if [ -x "$py" ] && check; then
    echo "$py"
    exit 0
fi

# The first interpreter that really runs and has the venv module (a pyenv shim for a
# missing version is on PATH but fails when run).
base=""
for candidate in python3.12 python3.11 python3.13 python3.10 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import venv' >/dev/null 2>&1; then
        base="$(command -v "$candidate")"
        break
    fi
done
[ -n "$base" ] || fail "no python3 found on PATH; install Python 3.10-3.12 with the venv module"

mkdir -p "$cache" || fail "cannot create cache directory $cache"
if [ ! -x "$py" ]; then
    echo "torch-venv.sh: creating $venv with $base" >&2
    "$base" -m venv "$venv" || fail "'$base -m venv $venv' failed (on Debian: apt-get install python3-venv)"
fi
echo "torch-venv.sh: installing ${packages[*]} (a large download, once)" >&2
"$py" -m pip install --quiet --disable-pip-version-check "${packages[@]}" >&2 ||
    fail "pip could not install ${packages[*]} into $venv"
check || fail "packages installed into $venv but importing torch/numpy fails"
echo "$py"
