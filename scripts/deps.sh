#!/usr/bin/env bash
# Installs the Debian packages that building, testing and the kernel matrix
# need. Idempotent: when everything is present it only checks and exits.
set -euo pipefail

packages=(
	clang-19 llvm-19  # make generate (bpf2go; the libbpf headers are vendored in bpf/include)
	qemu-system-x86 qemu-system-arm busybox-static cpio xz-utils  # the kernel matrix
	iproute2  # baselines of benchmarks, the client lab, the metrics test's load
	prometheus  # the metrics test scrapes nltrace watch with an instance of its own
	librsvg2-bin  # rsvg-convert renders nltrace budget's plot in its test
)
# The kernel matrix's arm64 guest downloads its kernel and busybox from
# apt's arm64 lists (apt-get download, not installed): dpkg must know the
# architecture and apt must have fetched its lists.
foreign_arches=(arm64)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
new_arches=()
lists_missing=()
for a in "${foreign_arches[@]}"; do
	dpkg --print-foreign-architectures | grep -qx "$a" || new_arches+=("$a")
	compgen -G "/var/lib/apt/lists/*_binary-${a}_Packages*" >/dev/null || lists_missing+=("$a")
done
[ ${#missing[@]} -eq 0 ] && [ ${#new_arches[@]} -eq 0 ] && [ ${#lists_missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	what="${missing[*]} ${new_arches[*]/#/architecture } ${lists_missing[*]/#/apt lists of }"
	echo "deps: missing $(echo $what); run as root (sudo make deps)" >&2
	exit 1
fi
for a in "${new_arches[@]}"; do
	echo "deps: adding dpkg architecture $a" >&2
	dpkg --add-architecture "$a"
done
echo "deps: apt-get update" >&2
apt-get update -qq
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}" >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's prometheus package enables its service and starts it (on :9090)
# where no policy-rc.d forbids it. The test starts its own instance: one
# installed here for it must not run now, nor at the next boot.
if [[ " ${missing[*]} " == *" prometheus "* ]]; then
	if [ -d /run/systemd/system ]; then
		systemctl disable --now --quiet prometheus.service
	else
		update-rc.d prometheus disable >/dev/null
		/etc/init.d/prometheus stop >/dev/null || true  # not running: nothing to stop
	fi
fi
