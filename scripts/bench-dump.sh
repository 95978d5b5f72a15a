#!/bin/sh
# bench-dump.sh runs BenchmarkLinkDump (needs root: it builds a namespace of
# 1001 links) COUNT times and prints the medians of each way's dumps/s and
# of nlclient/raw, the interleaved ratio nlclient must keep at 0.8 or above.
#
#   sudo scripts/bench-dump.sh [COUNT]    (default 5)
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "bench-dump.sh needs root: run it with sudo" >&2; exit 1; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
go test -run '^$' -bench '^BenchmarkLinkDump$' -benchmem -count "${1:-5}" ./nlclient | tee "$out"

# median NAME UNIT: the median of the metric UNIT of sub-benchmark NAME.
median() {
	awk -v name="BenchmarkLinkDump/$1-" -v unit="$2" 'index($1, name) == 1 {
		for (i = 3; i < NF; i++) if ($(i + 1) == unit) print $i
	}' "$out" | sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) exit 1
		printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
	}'
}
echo
echo "dumps/s (median): nlclient $(median nlclient dumps/s), raw $(median raw dumps/s), vishvananda v1.3.1 $(median vishvananda-v1.3.1 dumps/s)"
echo "nlclient/raw = $(median nlclient-vs-raw nlclient/raw) (interleaved; target >= 0.80)"
