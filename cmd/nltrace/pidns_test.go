package main

import (
	"encoding/json"
	"strings"
	"syscall"
	"testing"

	"github.com/nltrace/nltrace/internal/churn"
	"github.com/nltrace/nltrace/internal/netns"
	"github.com/nltrace/nltrace/internal/report"
)

// TestRunsInAPIDNamespace runs nltrace as PID 1 of a PID namespace of its
// own that still sees the host's /proc, as `unshare --pid --fork` and some
// containers do: the thread IDs it knows are not the ones /proc shows.
func TestRunsInAPIDNamespace(t *testing.T) {
	cmd := nltrace(t, "dump", "--churn", "--links", "5", "--dumps", "2", "--trace=false", "--json")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nltrace in a PID namespace: %v\n%s", err, stderr.String())
	}
	var r report.Report
	if err := json.Unmarshal(out, &r); err != nil || len(r.Kinds) != 1 || r.Kinds[0].Dumps != 2 {
		t.Errorf("report %s (%v): want 2 link dumps", out, err)
	}
	// Its namespaces carry pid 1, the pid it saw.
	left, err := netns.List(churn.Prefix + "1-")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range left {
		if n == r.NetNS || n == r.NetNS+"-away" {
			t.Errorf("namespace %s left behind", n)
		}
	}
}
