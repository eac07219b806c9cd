#!/usr/bin/env bash
# Creates (or reuses) the Python virtual environment with real Keras that the
# interop tests compare against, and prints its python's path as the last line
# of stdout.
#
#   venv:     ${MICRODENSE_CACHE:-$HOME/.cache/microdense}/keras-venv
#   packages: tensorflow-cpu 2.21.0, tf-keras 2.21.0 (which bring Keras 3),
#             h5py, pyyaml
#
# Idempotent: an existing venv whose imports work is reused untouched. Progress
# and errors go to stderr; the exit status is non-zero if the venv cannot be
# made to work.
#
#   scripts/keras-venv.sh --which-python   # only print the interpreter a new venv would use
set -euo pipefail

which_python=0
case "${1:-}" in
    --which-python) which_python=1 ;;
    "") ;;
    *) echo "usage: scripts/keras-venv.sh [--which-python]" >&2; exit 2 ;;
esac

cache="${MICRODENSE_CACHE:-$HOME/.cache/microdense}"
venv="$cache/keras-venv"
py="$venv/bin/python"
packages=(tensorflow-cpu==2.21.0 tf-keras==2.21.0 h5py pyyaml)

fail() {
    echo "keras-venv.sh: $*" >&2
    exit 1
}

# Imports that must work, and the versions that must be there.
check() {
    TF_CPP_MIN_LOG_LEVEL=3 "$py" - <<'PY' >/dev/null 2>&1
import h5py, yaml, numpy
import tensorflow as tf
import tf_keras
import keras
assert tf.__version__ == "2.21.0", tf.__version__
assert tf_keras.__version__ == "2.21.0", tf_keras.__version__
assert keras.__version__.startswith("3."), keras.__version__
PY
}

if [ "$which_python" = 0 ] && [ -x "$py" ] && check; then
    echo "$py"
    exit 0
fi

# The first interpreter that really runs and can make a venv with pip: a pyenv shim for a
# version that is not installed is on PATH but fails when run, and Debian's python3 lacks
# ensurepip without python3-venv, so each candidate is tried.
base=""
for candidate in python3.12 python3.11 python3.13 python3.10 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import venv, ensurepip' >/dev/null 2>&1; then
        base="$(command -v "$candidate")"
        break
    fi
done
[ -n "$base" ] || fail "no python3 on PATH runs and has the venv and ensurepip modules; install Python 3.10-3.12 with venv (Debian: python3-venv)"
if [ "$which_python" = 1 ]; then
    echo "$base"
    exit 0
fi

mkdir -p "$cache" || fail "cannot create cache directory $cache"
if [ ! -x "$py" ]; then
    echo "keras-venv.sh: creating $venv with $base" >&2
    "$base" -m venv "$venv" ||
        fail "'$base -m venv $venv' failed (on Debian: apt-get install python3-venv)"
fi
echo "keras-venv.sh: installing ${packages[*]} (this takes a few minutes once)" >&2
"$py" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2 ||
    fail "pip could not upgrade itself in $venv"
"$py" -m pip install --quiet --disable-pip-version-check "${packages[@]}" >&2 ||
    fail "pip could not install ${packages[*]} into $venv"
check || fail "packages installed into $venv but importing tensorflow/tf_keras/keras/h5py/yaml fails"
echo "$py"
