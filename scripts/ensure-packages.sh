#!/usr/bin/env bash
# Installs the Debian packages given that are missing (as root, with apt), or says which
# are missing and fails.
#
#   scripts/ensure-packages.sh PACKAGE...
set -euo pipefail

missing=()
for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$pkg")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "ensure-packages: installing ${missing[*]}" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
else
    echo "ensure-packages: missing Debian packages: ${missing[*]} (install them: apt-get install ${missing[*]})" >&2
    exit 1
fi
