package probe_test

import (
	"os"
	"strings"
	"testing"

	"github.com/nltrace/nltrace/internal/testenv"
	"github.com/nltrace/nltrace/probe"
)

// TestKprobeHintNamesOnlyUntriedBackends checks that a kernel without
// kprobes is not told to try fentry after fentry was refused.
func TestKprobeHintNamesOnlyUntriedBackends(t *testing.T) {
	testenv.Root(t)
	if _, err := os.Stat("/sys/bus/event_source/devices/kprobe"); err == nil {
		t.Skip("this kernel has kprobes: no hint to give")
	}
	if p, err := probe.Open(probe.Config{Backend: probe.Fentry}); err == nil {
		p.Close()
		t.Skip("fentry works here: auto never reaches kprobe")
	}
	// Auto may end on the tracepoint backend: then why kprobe failed is in
	// its Fallback.
	p, err := probe.Open(probe.Config{Backend: probe.Auto})
	if err == nil {
		err = p.Fallback
		p.Close()
	}
	if err == nil || strings.Contains(err.Error(), "or the fentry backend") || strings.Contains(err.Error(), "--backend") {
		t.Errorf("auto, fentry refused: %v; want no suggestion to use fentry, and no flag named", err)
	}
	_, err = probe.Open(probe.Config{Backend: probe.Kprobe})
	if err == nil || !strings.Contains(err.Error(), "or the fentry backend") {
		t.Errorf("kprobe asked for: %v; want the fentry backend suggested", err)
	}
}
