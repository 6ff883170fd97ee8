#!/usr/bin/env bash
# Download and unpack what the boot tests boot, without installing anything:
#   scripts/boot/fetch.sh amd64   Debian's amd64 kernel + busybox-static
#   scripts/boot/fetch.sh arm64   Debian's arm64 kernel + busybox-static + grub-efi-arm64-bin
# Packages come from the machine's own apt sources through `apt-get download`
# and are unpacked with `dpkg -x` into .cache/boot/<arch>/root. For arm64 a
# private apt state (lists + caches under .cache/boot/arm64/apt) is used, so
# the host's apt configuration and caches are left as they are.
# A second run with everything present does nothing (prints the root path).
set -euo pipefail
arch="${1:?usage: fetch.sh amd64|arm64}"
here="$(cd "$(dirname "$0")/../.." && pwd)"
cache="${DISKWRIGHT_BOOT_CACHE:-$here/.cache/boot}"
dir="$cache/$arch"
root="$dir/root"
stamp="$dir/.complete"
if [ -f "$stamp" ]; then echo "$root"; exit 0; fi
mkdir -p "$dir/debs"

case "$arch" in
  amd64)
    APT=(-oAPT::Sandbox::User=root); kmeta=linux-image-amd64; extra=(busybox-static) ;;
  arm64)
    mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial"
    APT=(-oAPT::Architecture=arm64 -oAPT::Architectures=arm64
         -oDir::State::Lists="$dir/apt/lists" -oDir::Cache="$dir/apt/cache"
         -oDebug::NoLocking=1 -oAPT::Sandbox::User=root)
    if ! ls "$dir/apt/lists/"*Packages* >/dev/null 2>&1; then
      timeout 600 apt-get "${APT[@]}" update -qq >&2
    fi
    kmeta=linux-image-arm64; extra=(busybox-static grub-efi-arm64-bin) ;;
  *) echo "fetch.sh: unknown arch $arch" >&2; exit 2 ;;
esac

# linux-image-<arch> is a metapackage; its first Depends is the versioned kernel.
kpkg="$(apt-cache "${APT[@]}" depends "$kmeta" | awk '/Depends: linux-image-/ {print $2; exit}')"
[ -n "$kpkg" ] || { echo "fetch.sh: no kernel package behind $kmeta" >&2; exit 1; }

cd "$dir/debs"
for p in "$kpkg" "${extra[@]}"; do
  if ! ls "${p}"_*.deb >/dev/null 2>&1; then
    timeout 900 apt-get "${APT[@]}" download -qq "$p" >&2
  fi
done
rm -rf "$root.tmp"; mkdir -p "$root.tmp"
for d in ./*.deb; do dpkg -x "$d" "$root.tmp"; done
rm -rf "$root"; mv "$root.tmp" "$root"
echo "$kpkg" > "$dir/kernel-package"
touch "$stamp"
echo "$root"
