package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/internal/churn"
	"github.com/nltrace/nltrace/internal/netns"
	"github.com/nltrace/nltrace/internal/netns/netnstest"
)

// These tests run in namespaces of their own (netnstest.PrivateRun): the
// `ip netns` they run and the cleanups they run see only the tests' own
// /run/netns, runs and processes.

// ipNetns runs `ip netns add|del NAME`: iproute2's ip where there is one,
// else the system calls iproute2's ip/ipnetns.c makes (busybox's ip, in
// the matrix guests, has no netns command). add: make /run/netns a shared
// mount point (bind it over itself when it is not one yet), then bind a new
// namespace on NAME; del: unmount NAME (MNT_DETACH), then unlink it.
func ipNetns(t *testing.T, op, name string) {
	t.Helper()
	if iproute2() == nil {
		if out, err := exec.Command("ip", "netns", op, name).CombinedOutput(); err != nil {
			t.Fatalf("ip netns %s %s: %v: %s", op, name, err, out)
		}
		return
	}
	path := netns.Path(name)
	switch op {
	case "add":
		if err := os.MkdirAll(netns.Dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for made := false; ; made = true {
			err := unix.Mount("", netns.Dir, "none", unix.MS_SHARED|unix.MS_REC, "")
			if err == nil {
				break
			}
			if !errors.Is(err, unix.EINVAL) || made {
				t.Fatalf("mount --make-rshared %s: %v", netns.Dir, err)
			}
			if err := unix.Mount(netns.Dir, netns.Dir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
				t.Fatalf("mount --rbind %s %s: %v", netns.Dir, netns.Dir, err)
			}
		}
		netnstest.BindFresh(t, path)
	case "del":
		unix.Unmount(path, unix.MNT_DETACH)
		if err := os.Remove(path); err != nil {
			t.Fatalf("del %s: %v", name, err)
		}
	default:
		t.Fatalf("ip netns %s: not emulated", op)
	}
}

// inodesOf returns the namespaces of a run by name, with their inodes; it
// wants both of them.
func inodesOf(t *testing.T, pid int, stderr []string) map[string]uint64 {
	t.Helper()
	names := namespacesOf(t, pid)
	if len(names) != 2 {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("the run has namespaces %v, want 2; stderr: %q", names, stderr)
	}
	inodes := map[string]uint64{}
	for _, n := range names {
		inodes[n] = inodeAt(t, n)
	}
	return inodes
}

// inodeAt returns the inode of the namespace bound at name, 0 if there is
// none there.
func inodeAt(t *testing.T, name string) uint64 {
	t.Helper()
	f, err := netns.Open(netns.Path(name))
	if err != nil {
		return 0
	}
	defer f.Close()
	ino, err := netns.Inode(f)
	if err != nil {
		t.Fatal(err)
	}
	return ino
}

// nothingLeft checks that nothing keeps the run's namespaces alive: no
// name under /run/netns, no mount of them anywhere in the mount table
// (hidden or propagated copies included), no process inside or holding
// them. In a private run that table and those processes are all there is,
// so the kernel has freed the namespaces, and every link in them.
func nothingLeft(t *testing.T, inodes map[string]uint64) {
	t.Helper()
	if left, err := netns.List(churn.Prefix); err != nil || len(left) > 0 {
		t.Errorf("namespaces left: %v (%v)", left, err)
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for name, ino := range inodes {
		root := fmt.Sprintf(" net:[%d] ", ino)
		for _, line := range strings.Split(string(mi), "\n") {
			if strings.Contains(line, root) {
				t.Errorf("%s (inode %d) is still mounted: %s", name, ino, line)
			}
		}
		if ps, err := netns.Processes(ino); err != nil || len(ps) > 0 {
			t.Errorf("%s (inode %d) kept alive by %v (%v)", name, ino, ps, err)
		}
		if netns.Keeps(os.Getpid(), ino) {
			t.Errorf("%s (inode %d) kept alive by the test itself", name, ino)
		}
	}
}

// drain reads the rest of a run's stderr; the returned function waits for
// its end and returns it.
func drain(lines *bufio.Scanner) func() string {
	var mu sync.Mutex
	var b strings.Builder
	done := make(chan struct{})
	go func() {
		defer close(done)
		for lines.Scan() {
			mu.Lock()
			b.WriteString(lines.Text() + "\n")
			mu.Unlock()
		}
	}()
	return func() string {
		<-done
		mu.Lock()
		defer mu.Unlock()
		return b.String()
	}
}

// waitExit waits for the run to end, up to d; it kills it and fails the
// test after that.
func waitExit(t *testing.T, cmd *exec.Cmd, d time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		cmd.Process.Kill()
		<-done
		t.Fatalf("the run still went on %v later", d)
		return nil
	}
}

func exitStatus(err error) int {
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	default:
		return -1
	}
}

// TestIPNetnsDelOfAnotherNamespaceDuringARun: someone deletes their own
// namespaces (`ip netns del`) during a run, one added before the run (ip
// made /run/netns a mount point) and one during it. Unmounts propagate
// between the peers of a shared mount; none may take nltrace's
// namespaces with them, with /run private or shared as systemd makes it
// (then every bind under /run/netns has a propagated copy under /run).
// The run goes on, and leaves nothing, ended by a signal or SIGKILLed then
// cleaned up.
func TestIPNetnsDelOfAnotherNamespaceDuringARun(t *testing.T) {
	for _, shared := range []bool{false, true} {
		for _, kill := range []bool{false, true} {
			name := "run private"
			if shared {
				name = "run shared"
			}
			if kill {
				name += ", SIGKILL then cleanup"
			} else {
				name += ", SIGINT"
			}
			t.Run(name, func(t *testing.T) {
				if !netnstest.PrivateRun(t) {
					return
				}
				if shared {
					if err := unix.Mount("", "/run", "none", unix.MS_SHARED, ""); err != nil {
						t.Fatal(err)
					}
				}
				const early, late = "nltrace-test-early", "nltrace-test-late"
				ipNetns(t, "add", early)
				run, lines, seen := startUntil(t, "nltrace: running in namespace", "dump", "--churn", "--links", "2", "--duration", "5m", "--trace=false")
				stderr := drain(lines)
				inodes := inodesOf(t, run.Process.Pid, seen)
				ipNetns(t, "add", late)
				ipNetns(t, "del", early)
				ipNetns(t, "del", late)
				for n, ino := range inodes {
					if got := inodeAt(t, n); got != ino {
						t.Errorf("%s binds inode %d after the other namespaces went, want %d", n, got, ino)
					}
				}
				if err := run.Process.Signal(syscall.Signal(0)); err != nil {
					t.Fatalf("the run ended: %v; stderr: %s", err, stderr())
				}
				if kill {
					run.Process.Kill()
					run.Wait()
					out := cleanupOutput(t, nltrace(t, "cleanup"))
					for n := range inodes {
						if !strings.Contains(out, "removed "+n+" ") {
							t.Errorf("cleanup did not remove %s:\n%s", n, out)
						}
					}
				} else {
					run.Process.Signal(os.Interrupt)
					if err := waitExit(t, run, time.Minute); exitStatus(err) != exitSignal {
						t.Errorf("after SIGINT: %v, want exit status %d; stderr:\n%s", err, exitSignal, stderr())
					}
				}
				nothingLeft(t, inodes)
				if iproute2() == nil {
					if out, err := exec.Command("ip", "netns", "list").CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
						t.Errorf("ip netns list: %v\n%s", err, out)
					}
				}
			})
		}
	}
}

// TestIPNetnsDelOfTheRunsNamespace: someone deletes one of the run's own
// namespaces under it (`ip netns del nltrace-churn-...`). The run must end
// with an error that names the namespace, or finish, and leave nothing:
// the namespace itself goes with the last reference to it, the run's.
func TestIPNetnsDelOfTheRunsNamespace(t *testing.T) {
	for _, tc := range []struct {
		name string
		away bool     // delete the -away namespace, not the dumped one
		args []string // after dump --churn --links 2 --trace=false
		kill bool     // SIGKILL the run after the deletion, then cleanup
	}{
		{name: "dumped namespace, dumpers", args: []string{"--duration", "5s"}},
		{name: "away namespace, dumpers", away: true, args: []string{"--duration", "5s"}},
		{name: "dumped namespace, exec", args: []string{"--duration", "30s", "--exec", "--", "sh", "-c", "sleep 0.1"}},
		{name: "dumped namespace, SIGKILL then cleanup", args: []string{"--duration", "5m"}, kill: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !netnstest.PrivateRun(t) {
				return
			}
			run, lines, seen := startUntil(t, "nltrace: running in namespace", append([]string{"dump", "--churn", "--links", "2", "--trace=false"}, tc.args...)...)
			stderr := drain(lines)
			inodes := inodesOf(t, run.Process.Pid, seen)
			var victim string
			for n := range inodes {
				if strings.HasSuffix(n, "-away") == tc.away {
					victim = n
				}
			}
			ipNetns(t, "del", victim)
			if err := run.Process.Signal(syscall.Signal(0)); err != nil {
				t.Fatalf("the run ended before %s was deleted: %v; stderr: %s", victim, err, stderr())
			}
			if tc.kill {
				run.Process.Kill()
				run.Wait()
				out := cleanupOutput(t, nltrace(t, "cleanup"))
				for n := range inodes {
					if n != victim && !strings.Contains(out, "removed "+n+" ") {
						t.Errorf("cleanup did not remove %s:\n%s", n, out)
					}
				}
			} else {
				// All of stderr first: Wait closes the pipe, and a line
				// not read by then is lost (CI once saw exit 1 and no line).
				out := stderr()
				err := waitExit(t, run, 2*time.Minute)
				switch exitStatus(err) {
				case 0:
					t.Logf("the run finished without %s", victim)
				case 1:
					if !strings.Contains(out, victim) {
						t.Errorf("the run failed without naming %s:\n%s", victim, out)
					}
					t.Logf("the run ended with an error:\n%s", out)
				default:
					t.Errorf("the run ended with %v, want exit status 0 or 1; stderr:\n%s", err, out)
				}
			}
			nothingLeft(t, inodes)
		})
	}
}
