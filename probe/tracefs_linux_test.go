//go:build linux

package probe_test

import (
	"os"
	"strings"
	"testing"

	"github.com/nltrace/nltrace/internal/testenv"
	"github.com/nltrace/nltrace/probe"
)

// tracefsMounts counts the tracefs mounts of the process's mount
// namespace (its main thread's).
func tracefsMounts(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), " - tracefs ")
}

// TestTracepointLeavesNoMount checks that the tracepoint backend mounts
// no tracefs in nltrace's mount namespace, while attached or after: a
// killed nltrace could not unmount it. Where tracefs is mounted already
// it proves nothing: `make host-test` runs it where it is not (CI's host).
func TestTracepointLeavesNoMount(t *testing.T) {
	testenv.Root(t)
	before := tracefsMounts(t)
	p := openProbe(t, probe.Config{Backend: probe.Tracepoint})
	during := tracefsMounts(t)
	p.Close()
	if after := tracefsMounts(t); during != before || after != before {
		t.Errorf("tracefs mounts: %d before, %d while attached, %d after", before, during, after)
	}
}
