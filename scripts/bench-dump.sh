#!/bin/sh
# bench-dump.sh runs BenchmarkLinkDump (needs root: it builds a namespace of
# 1001 links) and prints the median dumps/s of each way and nlclient's speed
# relative to the raw floor, measured two ways:
#   interleaved  nlclient and raw alternate dump by dump in ABBA order in one
#                process (nlclient-vs-raw), median of COUNT runs;
#   separate     each side alone in a process of its own, COUNT processes
#                each (in ABBA order), ratio of the two medians.
# It exits 1 when either ratio is below 0.90 (the floor); the goal is 0.95.
#
#   sudo scripts/bench-dump.sh [COUNT]    (default 5)
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "bench-dump.sh needs root: run it with sudo" >&2; exit 1; }
count=${1:-5}
floor=0.90
goal=0.95
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/nlclient.test" ./nlclient
out=$tmp/out

# bench PATTERN [FLAGS]: one process running the sub-benchmarks PATTERN.
bench() {
	pattern=$1
	shift
	(cd nlclient && "$tmp/nlclient.test" -test.run '^$' -test.bench "^BenchmarkLinkDump\$/$pattern" -test.benchmem "$@") |
		grep '^BenchmarkLinkDump/' | tee -a "$out"
}
i=0
while [ "$i" -lt "$count" ]; do
	if [ $((i % 2)) -eq 0 ]; then
		bench '^nlclient$'
		bench '^raw$'
	else
		bench '^raw$'
		bench '^nlclient$'
	fi
	i=$((i + 1))
done
bench '^(nlclient-vs-raw|vishvananda-v1.3.1)$' -test.count "$count"

# median NAME UNIT: the median of the metric UNIT of sub-benchmark NAME.
median() {
	awk -v name="BenchmarkLinkDump/$1-" -v unit="$2" 'index($1, name) == 1 {
		for (i = 3; i < NF; i++) if ($(i + 1) == unit) print $i
	}' "$out" | sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) exit 1
		printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
	}'
}
# spread NAME UNIT: the lowest and highest value, "LOW-HIGH".
spread() {
	awk -v name="BenchmarkLinkDump/$1-" -v unit="$2" 'index($1, name) == 1 {
		for (i = 3; i < NF; i++) if ($(i + 1) == unit) print $i
	}' "$out" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.0f-%.0f", lo, hi }'
}
nl=$(median nlclient dumps/s)
raw=$(median raw dumps/s)
interleaved=$(median nlclient-vs-raw nlclient/raw)
separate=$(awk -v a="$nl" -v b="$raw" 'BEGIN { printf "%.2f", a / b }')
echo
echo "dumps/s (median): nlclient $nl alone ($(spread nlclient dumps/s) over $count processes), raw $raw alone ($(spread raw dumps/s)), vishvananda v1.3.1 $(median vishvananda-v1.3.1 dumps/s)"
echo "nlclient/raw = $interleaved interleaved (ABBA), $separate from separate runs (goal >= $goal, floor $floor)"
awk -v a="$interleaved" -v b="$separate" -v f="$floor" 'BEGIN { exit !(a >= f && b >= f) }' || {
	echo "bench-dump.sh: nlclient/raw below $floor: profile with go test -cpuprofile and -memprofile" >&2
	exit 1
}
