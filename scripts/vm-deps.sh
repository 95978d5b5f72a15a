#!/bin/sh
# Installs what scripts/vmtest needs on a Debian host: QEMU (no KVM
# needed), a static busybox for the guest, cpio and xz for the kernels'
# modules. Quick and silent when everything is already there.
set -eu

need=""
command -v qemu-system-x86_64 >/dev/null 2>&1 || need="$need qemu-system-x86"
# The dynamic busybox package also provides /bin/busybox; only the static
# one runs in a guest without libc.
dpkg-query -W -f='${Status}\n' busybox-static 2>/dev/null | grep -q 'install ok installed' || need="$need busybox-static"
command -v cpio >/dev/null 2>&1 || need="$need cpio"
command -v xz >/dev/null 2>&1 || need="$need xz-utils"

[ -z "$need" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "vm-deps: need$need; run as root (sudo $0)" >&2
	exit 1
fi
echo "vm-deps: installing$need" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086 # word splitting of the package list is wanted
apt-get install -y -q --no-install-recommends $need
