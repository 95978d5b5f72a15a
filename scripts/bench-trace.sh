#!/bin/sh
# bench-trace.sh: what the tracepoint backend costs, natively, against the
# same work with the probe detached in the same run. Each benchmark run
# makes ROUNDS rounds of a detached and an attached half in ABBA order
# (BenchmarkOverhead and BenchmarkBystander, probe/bench_linux_test.go);
# the script makes COUNT runs and prints the median of their slowdowns (each
# a median over rounds) and the lowest and highest:
#   dump                 300-link dumps, the probe on their namespace and
#                        its ring buffer read, as a traced run has it;
#   dump-other-netns     the same dumps, the probe filtering another namespace;
#   udp                  another process: sendmsg then recvmsg of a datagram
#                        on 127.0.0.1;
#   read                 another process: 64-byte reads of /dev/zero;
#   getppid              another process, a syscall no program is on: the
#                        price of syscall tracepoints being on at all;
#   KIND-empty-programs  the same, with programs that return at once on the
#                        probe's tracepoints instead: the floor of any design
#                        on syscall tracepoints.
# Each run also logs every program's runs and ns per run (kernel BPF
# statistics, turned on after the rounds). It exits 1 when the median of
# dump or udp is 5% or more (the bound of issue 10).
#
#   sudo scripts/bench-trace.sh [COUNT [ROUNDS]]    (default 5 and 10)
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "bench-trace.sh needs root: run it with sudo" >&2; exit 1; }
count=${1:-5}
rounds=${2:-10}
bound=5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/probe.test" ./probe
out=$tmp/out

# bench PATTERN: COUNT runs of the sub-benchmarks PATTERN, ROUNDS rounds each.
bench() {
	(cd probe && "$tmp/probe.test" -test.run '^$' -test.bench "$1" -test.benchtime "${rounds}x" -test.count "$count") |
		grep -v '^\(goos\|goarch\|pkg\|cpu\|PASS\|ok\)' | tee -a "$out"
}
bench '^BenchmarkOverhead$/^tracepoint(-other-netns)?$'
bench '^BenchmarkBystander$/^(udp|read|getppid)(-empty-programs)?$'

# values NAME UNIT: the metric UNIT of every run of benchmark NAME, sorted.
values() {
	awk -v name="$1" -v unit="$2" '$1 == name || $1 ~ "^" name "-[0-9]+$" {
		for (i = 3; i < NF; i++) if ($(i + 1) == unit) print $i
	}' "$out" | sort -g
}
median() {
	values "$1" "$2" | awk '{ v[NR] = $1 } END {
		if (NR == 0) exit 1
		printf "%.1f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
	}'
}
spread() {
	values "$1" "$2" | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.1f to %.1f", lo, hi }'
}
echo
echo "tracepoint backend, attached vs detached: median over $count runs of each run's median of $rounds ABBA rounds"
echo "(rounds during which another tracing program was loaded are left out; a run with none left gives no figure)"
fail=0
# line LABEL NAME UNIT BOUNDED
line() {
	runs=$(values "$2" slowdown-% | wc -l)
	left=$(values "$2" foreign-rounds | awk '{ n += $1 } END { print n + 0 }')
	if [ "$runs" -eq 0 ]; then
		echo "  $1: no figure (every round had another tracing program loaded: run it again on a quiet machine)" >&2
		fail=1
		return
	fi
	m=$(median "$2" slowdown-%)
	printf "  %-18s %9s ns/%s detached, %9s attached: %6s%% slower (runs %s; %d runs, %d of %d rounds left out)\n" "$1" \
		"$(median "$2" "detached-ns/$3")" "$3" "$(median "$2" "attached-ns/$3")" "$m" "$(spread "$2" slowdown-%)" \
		"$runs" "$left" $((count * rounds))
	if [ "$4" = bounded ] && awk -v m="$m" -v b="$bound" 'BEGIN { exit !(m >= b) }'; then
		echo "  ^ $1: ${m}% is not under ${bound}%: see the programs' ns/run in the log above" >&2
		fail=1
	fi
}
line dump BenchmarkOverhead/tracepoint dump bounded
line dump-other-netns BenchmarkOverhead/tracepoint-other-netns dump -
line udp BenchmarkBystander/udp op bounded
line udp-empty BenchmarkBystander/udp-empty-programs op -
line read BenchmarkBystander/read op -
line read-empty BenchmarkBystander/read-empty-programs op -
line getppid BenchmarkBystander/getppid op -
line getppid-empty BenchmarkBystander/getppid-empty-programs op -
exit "$fail"
