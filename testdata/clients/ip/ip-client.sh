#!/bin/sh
# ip-client.sh lists links and addresses with iproute2 the way shell-based
# tools do: `ip -d link show`, then `ip addr show`. On an interrupted dump ip
# prints "Dump was interrupted and may be inconsistent." on stderr, keeps the
# data and exits 0; this script passes that line through and, like ip, still
# exits 0. It only counts the warnings in its summary.
#
# Usage: ip-client.sh [-count N] [-expect N] [-v]
# Exit status: 0 clean or only warned, 1 an ip command failed, 2 usage,
# 4 a run saw fewer links than -expect (see README.md).
set -u

count=1 expect=0 verbose=0
while [ $# -gt 0 ]; do
	case "$1" in
	-count) count=${2:?-count needs a number}; shift 2 ;;
	-expect) expect=${2:?-expect needs a number}; shift 2 ;;
	-v) verbose=1; shift ;;
	*) echo "usage: $0 [-count N] [-expect N] [-v]" >&2; exit 2 ;;
	esac
done

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

failed=0 warned=0 inconsistent=0 min=0 max=0 i=0
while [ "$i" -lt "$count" ]; do
	i=$((i + 1))
	if ! ip -d link show >"$tmp/links" 2>"$tmp/err" || ! ip addr show >/dev/null 2>>"$tmp/err"; then
		failed=$((failed + 1))
		sed "s/^/run $i: /" "$tmp/err" >&2
		continue
	fi
	[ -s "$tmp/err" ] && sed "s/^/run $i: /" "$tmp/err" >&2
	links=$(grep -c '^[0-9]*: ' "$tmp/links")
	if [ "$min" -eq 0 ] || [ "$links" -lt "$min" ]; then min=$links; fi
	if [ "$links" -gt "$max" ]; then max=$links; fi
	if [ "$links" -lt "$expect" ]; then
		inconsistent=$((inconsistent + 1))
		echo "run $i: inconsistent: got $links links, want at least $expect" >&2
	elif grep -q 'Dump was interrupted' "$tmp/err"; then
		warned=$((warned + 1))
	fi
	[ "$verbose" -eq 1 ] && echo "run $i: links=$links"
done

echo "runs=$count ok=$((count - failed - warned - inconsistent)) failed=$failed warned=$warned inconsistent=$inconsistent links_min=$min links_max=$max"
[ "$failed" -gt 0 ] && exit 1
[ "$inconsistent" -gt 0 ] && exit 4
exit 0
