#!/usr/bin/env bash
# Installs the Debian packages that building, testing and the kernel matrix
# need. Idempotent: when everything is present it only checks and exits.
set -euo pipefail

packages=(
	clang-19 llvm-19 libbpf-dev  # make generate (bpf2go)
	qemu-system-x86 busybox-static cpio xz-utils  # the kernel matrix
	iproute2  # baselines of benchmarks and the client lab
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages ${missing[*]}; run as root (sudo make deps)" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
