#!/bin/sh
# retry.sh N CMD ARGS: runs CMD until it exits 0, at most N times, the way
# downstream projects wrap a netlink listing in a retry loop with a fixed
# budget. Exits 0 on the first success, else with CMD's last status, after
# saying the budget was exhausted.
n=$1
shift
i=1
while :; do
	"$@" && exit 0
	rc=$?
	[ "$i" -ge "$n" ] && break
	i=$((i + 1))
done
echo "retry.sh: $1 failed $n times in a row (last exit $rc): budget exhausted" >&2
exit "$rc"
