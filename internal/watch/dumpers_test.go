package watch

import (
	"testing"
	"time"
)

func TestDumpersRetriesAndRuns(t *testing.T) {
	ms := uint64(time.Millisecond)
	ds := newDumpers()
	kubelet := Process{PID: 812, Comm: "kubelet"}
	// A retry loop: three interrupted attempts 5 ms apart, then success;
	// later a periodic listing, interrupted, 30 s on: not a retry.
	steps := []struct {
		start       uint64
		interrupted bool
		retry       bool
		attempt     int
	}{
		{0, true, false, 1},
		{10 * ms, true, true, 2},
		{20 * ms, true, true, 3},
		{30 * ms, false, true, 0},
		{30000 * ms, true, false, 1},
		{60000 * ms, false, false, 0},
	}
	for i, s := range steps {
		retry, attempt := ds.add(dumpOutcome{dumper: kubelet, netns: 1, kind: "link", start: s.start, end: s.start + 5*ms,
			interrupted: s.interrupted, explained: s.interrupted, culprits: []string{"containerd-shim"}})
		if retry != s.retry || attempt != s.attempt {
			t.Errorf("dump %d: retry %v attempt %d, want %v %d", i, retry, attempt, s.retry, s.attempt)
		}
	}
	// Another kind of the same process is another sequence.
	if retry, _ := ds.add(dumpOutcome{dumper: kubelet, netns: 1, kind: "addr4", start: 60010 * ms, end: 60011 * ms}); retry {
		t.Error("a dump of another kind counted as a retry")
	}
	sum := ds.summary(5)
	if len(sum) != 1 {
		t.Fatalf("summary %+v, want one dumper", sum)
	}
	d := sum[0]
	if d.Dumps != 7 || d.Interrupted != 4 || d.Explained != 4 || d.Retries != 3 || d.LongestRun != 3 || d.PID != 812 || d.Processes != 1 {
		t.Errorf("summary %+v", d)
	}
	if len(d.Culprits) != 1 || d.Culprits[0] != (Culprit{"containerd-shim", 4}) {
		t.Errorf("culprits %+v", d.Culprits)
	}
}

// TestDumpersAreBounded: a shell loop of short-lived processes, and more
// names than the summary keeps, leave bounded state.
func TestDumpersAreBounded(t *testing.T) {
	ds := newDumpers()
	for i := range 10000 {
		ds.add(dumpOutcome{dumper: Process{PID: uint32(1000 + i), Comm: "ip"}, kind: "link", start: uint64(i), end: uint64(i) + 1})
		ds.add(dumpOutcome{dumper: Process{PID: 7, Comm: "d" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676))}, kind: "link",
			start: uint64(i), end: uint64(i) + 1})
	}
	ds.forget(20000)
	if len(ds.streaks) != 0 {
		t.Errorf("%d retry sequences kept after they ended", len(ds.streaks))
	}
	if len(ds.byComm) > maxDumpers || ds.byComm[otherComm] == nil {
		t.Errorf("%d process names kept, want at most %d with %q", len(ds.byComm), maxDumpers, otherComm)
	}
	if ip := ds.byComm["ip"]; ip.Processes != maxDumpers || len(ip.pids) > maxDumpers {
		t.Errorf("ip: %d processes counted, %d ids kept", ip.Processes, len(ip.pids))
	}
}
