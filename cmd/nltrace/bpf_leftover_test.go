package main

import (
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/nltrace/nltrace/internal/testenv"
	"github.com/nltrace/nltrace/probe"
)

// probePrograms counts the loaded BPF programs that are nltrace's: its
// program names start with their section's kind (names are cut to 15
// bytes by the kernel). The guests run nothing else that loads BPF.
func probePrograms(t *testing.T) int {
	t.Helper()
	n := 0
	for id := ebpf.ProgramID(0); ; {
		next, err := ebpf.ProgramGetNextID(id)
		if errors.Is(err, syscall.ENOENT) {
			return n
		}
		if err != nil {
			t.Fatalf("list BPF programs: %v", err)
		}
		id = next
		p, err := ebpf.NewProgramFromID(id)
		if err != nil {
			continue // unloaded meanwhile
		}
		info, err := p.Info()
		p.Close()
		if err != nil {
			continue
		}
		for _, prefix := range []string{"fentry_", "fexit_", "kprobe_", "kretprobe_"} {
			if strings.HasPrefix(info.Name, prefix) {
				n++
				break
			}
		}
	}
}

// TestSignalLeavesNoBPF checks that a traced run stopped by a signal,
// SIGKILL included, leaves no BPF program or link loaded: nltrace pins
// nothing, so the kernel frees them with its file descriptors.
func TestSignalLeavesNoBPF(t *testing.T) {
	p, err := probe.Open(probe.Config{Backend: probe.Fentry})
	if err != nil && !errors.Is(err, probe.ErrUnavailable) {
		t.Fatalf("the fentry probe is broken, not unavailable: %v", err)
	}
	testenv.Need(t, probe.Fentry.String(), err)
	p.Close()
	if n := probePrograms(t); n != 0 {
		t.Fatalf("%d probe programs loaded before the test", n)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd, _, seen := startUntil(t, "nltrace: running in namespace", "dump", "--churn", "--links", "20", "--duration", "5m", "--trace")
			if n := probePrograms(t); n == 0 {
				cmd.Process.Kill()
				t.Fatalf("no probe program loaded while the traced run goes; stderr: %q", seen)
			}
			cmd.Process.Signal(sig)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(60 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("still running 60 s after %v", sig)
			}
			// The kernel frees programs once their last reference goes,
			// which can lag the process's exit a little.
			deadline := time.Now().Add(10 * time.Second)
			for probePrograms(t) > 0 && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
			}
			if n := probePrograms(t); n > 0 {
				t.Errorf("after %v: %d probe programs still loaded", sig, n)
			}
		})
	}
}
