#!/usr/bin/env bash
# Installs every Debian package kvmqual needs to build, test and run.
# Idempotent and quiet when everything is present; needs root (or sudo) otherwise.
set -euo pipefail

packages=(
  build-essential pkg-config clang-format
  libcpuid-dev libhwloc-dev libinih-dev libjansson-dev
  libxxhash-dev libzstd-dev libsodium-dev clang
  gnuplot-nox perl jq libxml2-utils python3 python3-jsonschema chromium
  qemu-system-x86 busybox-static cpio kmod iproute2 zstd xz-utils
  libsqlite3-dev libpq-dev sqlite3 postgresql ansible-core lava-common
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
