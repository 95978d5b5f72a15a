package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/nltrace/nltrace/internal/netns/netnstest"
	"github.com/nltrace/nltrace/internal/testenv"
	"github.com/nltrace/nltrace/probe"
)

// needTracing skips the test unless the probe attaches here with backend
// (Auto: the one nltrace would pick itself), as TestSignalLeavesNoBPF
// decides: in the matrix guests now, on this machine once a backend it
// allows exists. Where NLTRACE_REQUIRE names the backend (any backend, for
// Auto), the test fails instead.
func needTracing(t *testing.T, backend probe.Backend) {
	t.Helper()
	p, err := probe.Open(probe.Config{Backend: backend})
	if err != nil && !errors.Is(err, probe.ErrUnavailable) {
		t.Fatalf("the %v probe is broken, not unavailable: %v", backend, err)
	}
	if backend != probe.Auto {
		testenv.Need(t, backend.String(), err)
	} else if err != nil {
		for _, b := range []probe.Backend{probe.Fentry, probe.Kprobe} {
			if testenv.Required(b.String()) {
				testenv.Need(t, b.String(), err)
			}
		}
		t.Skipf("no tracing backend attaches here: %v", err)
	}
	p.Close()
}

// bpfHeld is what a process holds of BPF: the ids of its programs, links
// and maps, and its perf events (a kprobe attached the old way).
type bpfHeld struct {
	progs []ebpf.ProgramID
	links []link.ID
	maps  []ebpf.MapID
	perf  int
}

func (h bpfHeld) String() string {
	return fmt.Sprintf("programs %v, links %v, maps %v, %d perf events", h.progs, h.links, h.maps, h.perf)
}

// heldBPF lists the BPF objects the process has descriptors of, from
// /proc/PID/fd and fdinfo.
func heldBPF(pid int) bpfHeld {
	var h bpfHeld
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, _ := os.ReadDir(dir)
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join(dir, fd.Name()))
		if err != nil {
			continue
		}
		key := ""
		switch target {
		case "anon_inode:bpf-prog":
			key = "prog_id"
		case "anon_inode:bpf_link", "anon_inode:bpf-link":
			key = "link_id"
		case "anon_inode:bpf-map":
			key = "map_id"
		case "anon_inode:[perf_event]":
			h.perf++
			continue
		default:
			continue
		}
		info, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%s", pid, fd.Name()))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(info), "\n") {
			v, ok := strings.CutPrefix(line, key+":")
			if !ok {
				continue
			}
			id, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
			if err != nil {
				continue
			}
			switch key {
			case "prog_id":
				h.progs = append(h.progs, ebpf.ProgramID(id))
			case "link_id":
				h.links = append(h.links, link.ID(id))
			case "map_id":
				h.maps = append(h.maps, ebpf.MapID(id))
			}
		}
	}
	return h
}

// alive returns those of the objects that still exist.
func (h bpfHeld) alive() bpfHeld {
	var left bpfHeld
	for _, id := range h.progs {
		if p, err := ebpf.NewProgramFromID(id); err == nil {
			p.Close()
			left.progs = append(left.progs, id)
		}
	}
	for _, id := range h.links {
		if l, err := link.NewFromID(id); err == nil {
			l.Close()
			left.links = append(left.links, id)
		}
	}
	for _, id := range h.maps {
		if m, err := ebpf.NewMapFromID(id); err == nil {
			m.Close()
			left.maps = append(left.maps, id)
		}
	}
	return left
}

func (h bpfHeld) empty() bool { return len(h.progs)+len(h.links)+len(h.maps) == 0 }

// stopped reports whether every thread of the process is stopped.
func stopped(pid int) bool {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil || len(tasks) == 0 {
		return false
	}
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
		if err != nil {
			return false
		}
		_, after, _ := strings.Cut(string(b), ") ")
		if !strings.HasPrefix(after, "T") {
			return false
		}
	}
	return true
}

// TestKillDuringTraceAttachLeavesNothing: a traced run SIGKILLed while it
// attaches its probe to the namespace it has just populated, then
// `nltrace cleanup`: no namespace, mount or process of the run remains,
// and none of the BPF programs, links and maps it held (nothing is
// pinned; the kernel frees them with its descriptors).
//
// The run announces no attach phase: populating ends, the probe is loaded
// and attached (internal/run startTrace), then "running in namespace". The
// test waits for populating to start (the required probe's preflight is
// over by then, its objects closed), then for the first BPF link (or perf
// event) the run holds, stops it there with SIGSTOP, lists what it holds,
// and SIGKILLs it. A run that had already announced "running" was caught
// too late, which fails the test.
func TestKillDuringTraceAttachLeavesNothing(t *testing.T) {
	for _, backend := range []probe.Backend{probe.Auto, probe.Kprobe} {
		t.Run(backend.String(), func(t *testing.T) {
			testenv.Root(t)
			needTracing(t, backend)
			if !netnstest.PrivateRun(t) {
				return
			}
			killDuringAttach(t, backend)
		})
	}
}

func killDuringAttach(t *testing.T, backend probe.Backend) {
	run, lines, seen := startUntil(t, "populating: ", "dump", "--churn", "--links", "20", "--duration", "5m", "--trace", "--backend", backend.String())
	stderr := drain(lines)
	pid := run.Process.Pid
	if len(seen) == 0 || !strings.HasPrefix(seen[len(seen)-1], "populating: ") {
		run.Process.Kill()
		run.Wait()
		t.Fatalf("the run never populated; stderr: %q %s", seen, stderr())
	}
	attaching := func() bool { h := heldBPF(pid); return len(h.links) > 0 || h.perf > 0 }
	for deadline := time.Now().Add(3 * time.Minute); !attaching(); time.Sleep(time.Millisecond) {
		if err := run.Process.Signal(syscall.Signal(0)); err != nil || time.Now().After(deadline) {
			run.Process.Kill()
			run.Wait()
			t.Fatalf("the run never attached a BPF link (%v); stderr: %q %s", err, seen, stderr())
		}
	}
	syscall.Kill(pid, syscall.SIGSTOP)
	if !waitFor(10*time.Second, func() bool { return stopped(pid) }) {
		run.Process.Kill()
		run.Wait()
		t.Fatal("the run did not stop on SIGSTOP")
	}
	held := heldBPF(pid)
	if len(held.alive().progs) != len(held.progs) || len(held.progs) == 0 {
		run.Process.Kill()
		run.Wait()
		t.Fatalf("of %v held while attaching, only %v found alive: the check after the kill would prove nothing", held, held.alive())
	}
	inodes := inodesOf(t, pid, seen)
	run.Process.Kill()
	run.Wait()
	if out := stderr(); strings.Contains(out, "nltrace: running in namespace") {
		t.Fatalf("killed after the probe was attached, not while attaching; stderr:\n%s", out)
	}
	t.Logf("killed while attaching, holding %v", held)

	out := cleanupOutput(t, nltrace(t, "cleanup"))
	for n := range inodes {
		if !strings.Contains(out, "removed "+n+" ") {
			t.Errorf("cleanup did not remove %s:\n%s", n, out)
		}
	}
	nothingLeft(t, inodes)
	// The kernel frees programs once their last reference goes, which can
	// lag the process's exit a little.
	if !waitFor(10*time.Second, func() bool { return held.alive().empty() }) {
		t.Errorf("BPF objects of the killed run still loaded: %v", held.alive())
	}
}
