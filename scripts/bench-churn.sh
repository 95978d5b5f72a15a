#!/bin/sh
# bench-churn.sh: figures of `nltrace dump --churn` against baselines
# measured in the same run, printed with their ratios.
#   1. median time to the first interrupted link dump, 1000 links: nltrace
#      with its defaults against a shell loop of `ip link add/del` beside
#      `ip link show` in a namespace of its own (ratio > 1: nltrace faster);
#   2. peak resident memory of a default 30 s run (target: under 64 MiB).
# Operations per second against `ip -batch` are Go benchmarks:
#   go test ./internal/churn -run '^$' -bench . -benchtime 1x
# Usage: sudo scripts/bench-churn.sh [RUNS] (default 5). Needs ip, jq and
# GNU time; builds nltrace into a temporary directory.
set -eu
RUNS=${1:-5}
LINKS=1000
tmp=$(mktemp -d)
ns=nltrace-bench-$$
cleanup() {
	[ -n "${loop:-}" ] && kill "$loop" 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
cd "$(dirname "$0")/.."
go build -o "$tmp/nltrace" ./cmd/nltrace

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
now() { date +%s.%N; }

# 1a. nltrace, default flags: seconds from the first dump to the end of the
# first interrupted one, as its report measures.
for i in $(seq "$RUNS"); do
	"$tmp/nltrace" dump --churn --duration 3s --json 2>/dev/null | jq -r '.kinds[0].first_interrupt_s // 999'
done >"$tmp/nltrace.txt"

# 1b. baseline: the same 1000 links made by ip -batch, then one shell loop
# adding and deleting a link while another runs `ip link show`.
for i in $(seq "$RUNS"); do
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	seq 0 2 $((LINKS - 1)) | awk '{ printf "link add st-%d type veth peer name st-%d\n", $1, $1 + 1 }' >"$tmp/batch"
	ip -n "$ns" -batch "$tmp/batch"
	start=$(now)
	(while :; do ip -n "$ns" link add ch-0 type veth peer name cp-0; ip -n "$ns" link del ch-0; done) 2>/dev/null &
	loop=$!
	while ! ip -n "$ns" link show 2>&1 >/dev/null | grep -q "Dump was interrupted"; do
		[ "$(echo "$(now) - $start > 60" | bc)" = 1 ] && break
	done
	echo "$(now) - $start" | bc
	kill "$loop"; wait "$loop" 2>/dev/null || true; loop=
	ip netns del "$ns"
done >"$tmp/ip.txt"

ours=$(median <"$tmp/nltrace.txt")
theirs=$(median <"$tmp/ip.txt")
echo "time to first interrupted link dump, $LINKS links, median of $RUNS:"
echo "  nltrace --churn  ${ours} s   (runs: $(tr '\n' ' ' <"$tmp/nltrace.txt"))"
echo "  ip loops         ${theirs} s   (runs: $(tr '\n' ' ' <"$tmp/ip.txt"))"
echo "  ratio (ip / nltrace, >1 = nltrace faster): $(echo "scale=1; $theirs / $ours" | bc)"

# 2. peak RSS of a default 30 s run.
/usr/bin/time -f %M -o "$tmp/rss" "$tmp/nltrace" dump --churn --duration 30s >/dev/null 2>&1
kib=$(cat "$tmp/rss")
echo "max RSS of a default 30 s run: $((kib / 1024)) MiB (target 64 MiB; ratio target/measured $(echo "scale=1; 65536 / $kib" | bc))"
