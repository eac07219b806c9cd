#!/usr/bin/env bash
# Prints where MNIST is, looking where the microdense CLI looks: $MNIST_DIR, data/mnist in
# the repository, the download cache (${MICRODENSE_CACHE:-~/.cache/microdense}/datasets/
# mnist.npz). When none holds it, Keras's mnist.npz is downloaded into that cache (from
# ${MICRODENSE_MNIST_URL:-Keras's folder}, its SHA-256 checked as Keras checks it); only
# then ../shared/data/mnist beside the repository (where CI provides it) is used.
# Exits 1, saying where it looked, when MNIST is nowhere.
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Whether $1 holds MNIST as the CLI accepts it: a file (an .npz), or a directory with an
# IDX file (plain or gzipped) or an mnist.npz.
holds_mnist() {
    [ -f "$1" ] && return 0
    [ -d "$1" ] || return 1
    local name
    for name in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte \
        t10k-labels-idx1-ubyte; do
        if [ -f "$1/$name" ] || [ -f "$1/$name.gz" ]; then
            return 0
        fi
    done
    [ -f "$1/mnist.npz" ]
}

# Downloads Keras's mnist.npz to $1, keeping it only when its SHA-256 is Keras's.
download_mnist() {
    local url="${MICRODENSE_MNIST_URL:-https://storage.googleapis.com/tensorflow/tf-keras-datasets/}"
    local sha=731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1
    command -v curl >/dev/null || return 1
    mkdir -p "$(dirname "$1")" || return 1
    echo "find-mnist.sh: downloading ${url%/}/mnist.npz" >&2
    if curl -fsSL --connect-timeout 15 --max-time 600 -o "$1.part" "${url%/}/mnist.npz" &&
        echo "$sha  $1.part" | sha256sum -c --quiet - >&2; then
        mv "$1.part" "$1"
    else
        rm -f "$1.part"
        return 1
    fi
}

cache_root="${MICRODENSE_CACHE:-${HOME:+$HOME/.cache/microdense}}"
cache="${cache_root:+$cache_root/datasets/mnist.npz}"
found=""
for candidate in "${MNIST_DIR:-}" "$repo/data/mnist" "$cache"; do
    if [ -n "$candidate" ] && holds_mnist "$candidate"; then
        found="$candidate"
        break
    fi
done
if [ -z "$found" ] && [ -n "$cache" ] && download_mnist "$cache"; then
    found="$cache"
fi
if [ -z "$found" ] && holds_mnist "$repo/../shared/data/mnist"; then
    found="$repo/../shared/data/mnist"
fi
if [ -z "$found" ]; then
    echo "find-mnist.sh: MNIST was not found at \$MNIST_DIR (${MNIST_DIR:-not set})," \
        "$repo/data/mnist, ${cache:-the download cache (no home directory)} or" \
        "$repo/../shared/data/mnist, and downloading it failed." >&2
    echo "Put the four IDX files (train-images-idx3-ubyte.gz, ...) in $repo/data/mnist." >&2
    exit 1
fi
echo "$(cd "$(dirname "$found")" && pwd)/$(basename "$found")"
