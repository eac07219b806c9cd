#!/usr/bin/env bash
# Creates (or reuses) a Python virtual environment with PyTorch (CPU use only) for the
# training-speed benchmark's PyTorch row, and prints its python's path as the last line
# of stdout. Separate from the Keras venv on purpose: no test needs PyTorch.
#
#   venv:     ${MICRODENSE_CACHE:-$HOME/.cache/microdense}/torch-venv
#   packages: torch 2.15.0 (from PyPI), numpy
#
# The venv is made with $PYTHON (default python3). Idempotent: an existing venv whose imports work is reused untouched. Progress and
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

# The interpreter the venv is made with: $PYTHON, else python3.
base="${PYTHON:-python3}"
"$base" -c 'import venv, ensurepip' >/dev/null 2>&1 ||
    fail "'$base' cannot make a venv with pip; set PYTHON to a Python 3.10-3.12 with the venv module"

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
