#!/usr/bin/env bash
# Install what the boot tests (npm run test:boot, test:boot:arm64) need on a
# Debian 12 machine: QEMU for x86_64 and aarch64, the UEFI firmware for both
# (OVMF, AAVMF), GRUB's x86_64 EFI modules and tools, cpio and busybox-static.
# The kernels and the arm64 GRUB/busybox are not installed: scripts/boot/fetch.sh
# downloads and unpacks them into .cache/boot/.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if [ "${SKIP_APT_UPDATE:-0}" != 1 ]; then apt-get update -qq; fi
apt-get install -y -qq --no-install-recommends \
  qemu-system-x86 ovmf grub-efi-amd64-bin grub-common cpio busybox-static \
  qemu-system-arm qemu-efi-aarch64 \
  e2fsprogs dosfstools mtools fdisk xz-utils >/dev/null
