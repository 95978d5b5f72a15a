#!/bin/sh
# Vendor libbpf's BPF-side headers into bpf/include/bpf from Debian's
# libbpf-dev package at a pinned version. The objects in probe/ are committed
# and `make check-generated` must reproduce them byte for byte: with the
# distribution's headers, whatever libbpf-dev happened to be installed leaked
# into them (a new bpf_helper_defs.h changes the BTF).
#
# Licence: the headers are LGPL-2.1 OR BSD-2-Clause (SPDX line in each file,
# Debian's copyright file kept next to them as COPYRIGHT); nltrace uses them
# under BSD-2-Clause, which its Dual BSD/GPL programs can include.
#
# Usage: scripts/update-libbpf-headers.sh [DEBIAN-VERSION]
# Then run `make generate` and commit bpf/include and probe/ together.
set -eu

VERSION=${1:-1:1.1.2-0+deb12u1}
HEADERS="bpf_helpers.h bpf_helper_defs.h bpf_tracing.h bpf_core_read.h"

dest=$(cd "$(dirname "$0")/.." && pwd)/bpf/include/bpf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# apt-get download needs the version in the configured sources: a version
# gone from them means picking a newer pin (apt-cache policy libbpf-dev).
(cd "$tmp" && apt-get download "libbpf-dev=$VERSION") || {
	echo "cannot download libbpf-dev=$VERSION: check apt-cache policy libbpf-dev and pass a listed version" >&2
	exit 1
}
dpkg-deb -x "$tmp"/libbpf-dev_*.deb "$tmp/root"

mkdir -p "$dest"
for h in $HEADERS; do
	install -m 0644 "$tmp/root/usr/include/bpf/$h" "$dest/$h"
done
install -m 0644 "$tmp/root/usr/share/doc/libbpf-dev/copyright" "$dest/COPYRIGHT"
echo "$VERSION" >"$dest/VERSION"
echo "vendored libbpf-dev $VERSION headers into $dest"
