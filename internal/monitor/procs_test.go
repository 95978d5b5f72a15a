package monitor

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestProcsLookup resolves socket inodes on a fake /proc: found, then
// rescanned on a miss only when the last scan is older than the event,
// and a process that ended is not named from the cache.
func TestProcsLookup(t *testing.T) {
	proc := t.TempDir()
	addProc := func(pid, comm string, links ...string) {
		fd := filepath.Join(proc, pid, "fd")
		if err := os.MkdirAll(fd, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(proc, pid, "comm"), []byte(comm+"\n"), 0o644)
		for i, l := range links {
			if err := os.Symlink(l, filepath.Join(fd, string(rune('3'+i)))); err != nil {
				t.Fatal(err)
			}
		}
	}
	addProc("42", "ip", "/dev/null", "socket:[1001]")
	addProc("self", "not-a-pid", "socket:[1002]")
	p := &procs{proc: proc}
	before := time.Now()
	if pr, ok := p.lookup(1001, before); !ok || pr.pid != 42 || pr.comm != "ip" {
		t.Errorf("inode 1001: %+v, %v; want ip[42]", pr, ok)
	}
	// A socket opened after the last scan, by an event newer than it.
	addProc("43", "nltrace", "socket:[1003]")
	if _, ok := p.lookup(1003, before); ok {
		t.Error("inode 1003 found without a new scan, for an event older than the last one")
	}
	if pr, ok := p.lookup(1003, time.Now()); !ok || pr.pid != 43 {
		t.Errorf("inode 1003: %+v, %v; want nltrace[43]", pr, ok)
	}
	// The process ended: the cache does not name it.
	os.RemoveAll(filepath.Join(proc, "42"))
	if pr, ok := p.lookup(1001, time.Now()); ok {
		t.Errorf("inode 1001 of an ended process: %+v", pr)
	}
}
