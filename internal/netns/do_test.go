package netns_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/internal/netns"
	"github.com/nltrace/nltrace/internal/testenv"
)

// The main goroutine keeps the main thread, so the goroutines Do starts run
// on threads the runtime ends when they stay locked (it parks a locked main
// thread instead, which the tests could not tell from a thread kept alive).
func init() { runtime.LockOSThread() }

// within fails the test when fn has not returned after a few seconds: an
// open that blocks must show as a failure, not as a hung test binary.
func within(t *testing.T, what string, fn func() error) error {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- fn() }()
	select {
	case err := <-errc:
		return err
	case <-time.After(5 * time.Second):
		t.Fatalf("%s still blocked after 5 s", what)
		return nil
	}
}

func TestOpenRejectsWhatIsNotANetworkNamespace(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ path, is string }{
		{file, "a regular file"},
		{dir, "a directory"},
		{fifo, "a FIFO"},
		{"/proc/self/ns/uts", "a UTS namespace"},
	}
	for _, tt := range tests {
		t.Run(tt.is, func(t *testing.T) {
			err := within(t, "open "+tt.path, func() error {
				f, err := netns.Open(tt.path)
				if err == nil {
					f.Close()
				}
				return err
			})
			if err == nil {
				t.Fatalf("Open(%s) accepted %s", tt.path, tt.is)
			}
			for _, want := range []string{tt.path, tt.is, "want a network namespace"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		_, err := netns.Open(filepath.Join(dir, "missing"))
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("err = %v, want one matching os.ErrNotExist", err)
		}
	})
}

func TestOpenAcceptsANetworkNamespace(t *testing.T) {
	f, err := netns.Open("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func TestDoRefusesAFIFOWithoutRunningFn(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	ran := false
	err := within(t, "Do on a FIFO", func() error {
		return netns.Do(fifo, func() error { ran = true; return nil })
	})
	if err == nil || ran {
		t.Errorf("Do on a FIFO: err %v, fn ran %v", err, ran)
	}
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// threadsIn lists the process's threads whose network namespace has the
// inode.
func threadsIn(t *testing.T, ino uint64) []string {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	var in []string
	for _, task := range tasks {
		var st unix.Stat_t
		if unix.Stat(filepath.Join("/proc/self/task", task.Name(), "ns/net"), &st) == nil && st.Ino == ino {
			in = append(in, task.Name())
		}
	}
	return in
}

func TestRootDoEntersAndReturns(t *testing.T) {
	path := testenv.NetNS(t)
	target := inode(t, path)
	for i := range 20 {
		var inside uint64
		err := netns.Do(path, func() error {
			inside = inode(t, "/proc/thread-self/ns/net")
			if i == 0 {
				return errors.New("fn failed")
			}
			return nil
		})
		if i == 0 && (err == nil || err.Error() != "fn failed") {
			t.Errorf("Do returned %v, want fn's error as it is", err)
		}
		if i > 0 && err != nil {
			t.Fatal(err)
		}
		if inside != target {
			t.Fatalf("fn ran in namespace %d, want %d", inside, target)
		}
	}
	if in := threadsIn(t, target); len(in) > 0 {
		t.Errorf("threads %v were left in the namespace", in)
	}
}

// TestRootDoDiscardsAThreadThatCannotReturn drops the thread's
// CAP_SYS_ADMIN inside fn, so that setns back fails: that thread must never
// run another goroutine.
func TestRootDoDiscardsAThreadThatCannotReturn(t *testing.T) {
	path := testenv.NetNS(t)
	target := inode(t, path)
	var tid int
	err := netns.Do(path, func() error {
		tid = unix.Gettid()
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			return err
		}
		data[unix.CAP_SYS_ADMIN/32].Effective &^= 1 << (unix.CAP_SYS_ADMIN % 32)
		return unix.Capset(&hdr, &data[0])
	})
	if err == nil || !strings.Contains(err.Error(), "return to the original network namespace") {
		t.Fatalf("Do returned %v, want the failed way back", err)
	}
	if tid == os.Getpid() {
		t.Fatal("fn ran on the main thread, which init locked")
	}
	task := fmt.Sprintf("/proc/self/task/%d", tid)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(task); errors.Is(err, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("thread %d, stuck in the namespace, still exists", tid)
		}
	}
	// Whatever runs now must run in the original namespace.
	for range 50 {
		if err := netns.Do("/proc/self/ns/net", func() error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if in := threadsIn(t, target); len(in) > 0 {
		t.Errorf("threads %v are in the namespace", in)
	}
}
