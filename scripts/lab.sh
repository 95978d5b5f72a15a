#!/bin/sh
# lab.sh builds the client lab (testdata/clients) and runs it under link
# churn in a namespace of its own.
#
#   scripts/lab.sh build [BINDIR]      build every client into BINDIR (default bin/lab)
#   scripts/lab.sh run [RUNS] [LINKS]  as root: RUNS runs of each client (default 50)
#                                      against LINKS veth links (default 1000) while
#                                      a veth pair is added and deleted in a loop;
#                                      prints one table row per client and outcome
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
clients="$root/testdata/clients"

build() {
	bin=$(mkdir -p "$1" && cd "$1" && pwd)
	for dir in "$clients"/vnl-*/; do
		name=$(basename "$dir")
		# Each client is its own module, pinned by its own go.sum.
		(cd "$dir" && CGO_ENABLED=0 go build -trimpath -o "$bin/$name" .)
	done
	cp "$clients/ip/ip-client.sh" "$bin/ip-client"
	echo "built: $(cd "$bin" && echo *) in $bin"
}

# churn_loop feeds ip an endless add/delete of one veth pair; -force keeps ip
# going past a failed command. It runs under setsid so that one kill of its
# process group stops the loop and ip together.
churn_loop='while :; do
	echo "link add nltrace-ca type veth peer name nltrace-cb"
	echo "link del nltrace-ca"
done | ip -n "$1" -force -batch -'

# outcome names what one run of a client showed, from its status and stderr.
outcome() {
	status=$1 err=$2
	msg=$(sed -e 's/^run [0-9]*: //' -e 's/(got [0-9]* [a-z]*)/(got N)/' -e 's/got [0-9]* links/got X links/' "$err" | sort -u | paste -sd '|' -)
	echo "exit $status: ${msg:-(nothing on stderr)}"
}

run() {
	runs=$1 links=$2
	[ "$(id -u)" -eq 0 ] || { echo "lab.sh run needs root: run it with sudo" >&2; exit 1; }
	bin="$root/bin/lab"
	build "$bin" >/dev/null
	ns="nltrace-lab-$$"
	tmp=$(mktemp -d)
	churner=
	cleanup() {
		set +e # clean up everything, whatever fails
		# Stop the churn loop before removing the namespace.
		if [ -n "$churner" ]; then
			kill -- -"$churner" 2>/dev/null
			wait "$churner" 2>/dev/null
		fi
		ip netns del "$ns"
		rm -rf "$tmp"
	}
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	ip netns add "$ns"
	i=0
	while [ "$i" -lt $((links / 2)) ]; do
		echo "link add nltrace-a$i type veth peer name nltrace-b$i"
		i=$((i + 1))
	done >"$tmp/setup"
	ip -n "$ns" -batch "$tmp/setup"
	stable=$(ip -n "$ns" -o link show | wc -l)
	echo "kernel $(uname -r), netns $ns, $stable stable links, $runs runs per client, one veth pair added and deleted in a loop"

	first=$(next_index "$ns")
	began=$(date +%s)
	setsid sh -c "$churn_loop" churn "$ns" >/dev/null 2>&1 &
	churner=$!
	sleep 1

	echo "| client | outcome | runs | links returned |"
	echo "|---|---|---|---|"
	for client in vnl-v1.1.0 vnl-v1.2.1 vnl-v1.3.1 ip-client; do
		: >"$tmp/outcomes"
		: >"$tmp/out"
		n=0
		while [ "$n" -lt "$runs" ]; do
			n=$((n + 1))
			status=0
			ip netns exec "$ns" "$bin/$client" -count 1 -expect "$stable" >>"$tmp/out" 2>"$tmp/err" || status=$?
			outcome "$status" "$tmp/err" >>"$tmp/outcomes"
		done
		seen=$(sed -n 's/.*links_min=\([0-9]*\) links_max=\([0-9]*\).*/\1 \2/p' "$tmp/out" |
			awk '$1 > 0 { if (!lo || $1 < lo) lo = $1; if ($2 > hi) hi = $2 } END { print lo "-" hi }')
		sort "$tmp/outcomes" | uniq -c | sort -rn | while read -r count what; do
			echo "| $client | $what | $count/$runs | $seen |"
		done
	done
	pairs=$((($(next_index "$ns") - first) / 2))
	secs=$(($(date +%s) - began))
	echo "churn: $pairs veth pairs added and deleted in ${secs} s (about $((2 * pairs / (secs > 0 ? secs : 1))) changes/s)"
}

# next_index adds a probe veth pair and returns its first ifindex: the
# kernel hands out indexes in order, so two probes count the pairs between.
next_index() {
	ip -n "$1" link add nltrace-probe type veth peer name nltrace-probe-b
	ip -n "$1" -o link show nltrace-probe | cut -d: -f1
	ip -n "$1" link del nltrace-probe
}

case "${1:-}" in
build) build "${2:-$root/bin/lab}" ;;
run) run "${2:-50}" "${3:-1000}" ;;
*) sed -n '2,10s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac
