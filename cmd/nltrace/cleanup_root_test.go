package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/internal/churn"
	"github.com/nltrace/nltrace/internal/netns"
	"github.com/nltrace/nltrace/internal/netns/netnstest"
	"github.com/nltrace/nltrace/internal/testenv"
)

// These tests run in namespaces of their own (netnstest.PrivateRun): the
// cleanups they run see only the tests' own runs and leftovers, and can
// end only the tests' own processes.

// cleanupOutput runs `nltrace cleanup` and returns what it printed; it
// must succeed and never tell root to become root.
func cleanupOutput(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cleanup: %v\n%s", err, out)
	}
	if s := string(out); strings.Contains(s, "needs root") || strings.Contains(s, "sudo") {
		t.Errorf("cleanup tells root to be root:\n%s", s)
	}
	t.Logf("nltrace cleanup:\n%s", out)
	return string(out)
}

func exists(t *testing.T, name string) bool {
	t.Helper()
	names, err := netns.List(name)
	if err != nil {
		t.Fatal(err)
	}
	return slices.Contains(names, name)
}

// TestCleanupInAPIDNamespaceSparesALiveRun: from another PID namespace
// the live run's pid does not exist, yet the run is alive.
func TestCleanupInAPIDNamespaceSparesALiveRun(t *testing.T) {
	if !netnstest.PrivateRun(t) {
		return
	}
	_, err := exec.LookPath("unshare")
	testenv.Need(t, "unshare", err)
	run, _, seen := startUntil(t, "nltrace: running in namespace", "dump", "--churn", "--links", "2", "--duration", "5m")
	defer run.Wait()
	defer run.Process.Signal(os.Interrupt)
	names := namespacesOf(t, run.Process.Pid)
	if len(names) != 2 {
		t.Fatalf("the live run has namespaces %v, want 2; stderr: %q", names, seen)
	}

	cleanup := nltrace(t, "cleanup")
	inPIDNS := exec.Command("unshare", append([]string{"--pid", "--fork", "--mount-proc", cleanup.Path}, cleanup.Args[1:]...)...)
	inPIDNS.Env = cleanup.Env
	out := cleanupOutput(t, inPIDNS)
	for _, n := range names {
		if !exists(t, n) || strings.Contains(out, n) {
			t.Errorf("cleanup in a PID namespace of its own removed the live run's %s:\n%s", n, out)
		}
	}
	if err := run.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("the live run is gone: %v", err)
	}
}

// TestCleanupRemovesAPID1Leftover: the first process of a container is
// pid 1, as this test is here; a killed run's namespace carries that pid,
// which always runs.
func TestCleanupRemovesAPID1Leftover(t *testing.T) {
	if !netnstest.PrivateRun(t) {
		return
	}
	names := []string{churn.Prefix + "1-5eed0001-1", churn.Prefix + "1-1"} // this version's, an older one's
	for _, n := range names {
		if _, err := netns.Create(n); err != nil {
			t.Fatal(err)
		}
	}
	out := cleanupOutput(t, nltrace(t, "cleanup"))
	for _, n := range names {
		if !strings.Contains(out, "removed "+n) {
			t.Errorf("cleanup did not say it removed %s:\n%s", n, out)
		}
		if exists(t, n) {
			t.Errorf("%s is still there:\n%s", n, out)
		}
	}
}

// TestCleanupEndsWhatAKilledRunLeftRunning: what an --exec program
// started in the background outlives a SIGKILLed run (the program itself
// goes with it, by its parent-death signal; its children do not), stays
// inside the namespace and keeps it and its links alive. Cleanup ends it,
// says so, and removes the namespace.
func TestCleanupEndsWhatAKilledRunLeftRunning(t *testing.T) {
	if !netnstest.PrivateRun(t) {
		return
	}
	run, _, seen := startUntil(t, "nltrace: running in namespace",
		"dump", "--churn", "--links", "2", "--duration", "5m", "--exec-timeout", "10m", "--exec", "--", "sh", "-c", "setsid sleep 1000 & wait")
	names := namespacesOf(t, run.Process.Pid)
	i := slices.IndexFunc(names, func(n string) bool { return !strings.HasSuffix(n, "-away") })
	if len(names) != 2 || i < 0 {
		run.Process.Kill()
		t.Fatalf("the run has namespaces %v, want 2; stderr: %q", names, seen)
	}
	name := names[i]
	var st unix.Stat_t
	if err := unix.Stat(netns.Path(name), &st); err != nil {
		t.Fatal(err)
	}
	var sleep netns.Process
	for deadline := time.Now().Add(10 * time.Second); sleep.PID == 0; time.Sleep(20 * time.Millisecond) {
		ps, err := netns.Processes(st.Ino)
		if err != nil {
			t.Fatal(err)
		}
		if j := slices.IndexFunc(ps, func(p netns.Process) bool { return p.Comm == "sleep" && p.Inside }); j >= 0 {
			sleep = ps[j]
		}
		if sleep.PID == 0 && time.Now().After(deadline) {
			run.Process.Kill()
			t.Fatalf("no sleep inside %s after 10 s (processes %v)", name, ps)
		}
	}
	t.Cleanup(func() { syscall.Kill(sleep.PID, syscall.SIGKILL) })
	run.Process.Kill()
	run.Wait()

	out := cleanupOutput(t, nltrace(t, "cleanup"))
	for _, want := range []string{fmt.Sprintf("ended pid %d (sleep), which was inside %s\n", sleep.PID, name), "removed " + name + " ", "removed " + name + "-away "} {
		if !strings.Contains(out, want) {
			t.Errorf("cleanup did not say %q:\n%s", want, out)
		}
	}
	if running(sleep.PID) {
		t.Errorf("%v still runs:\n%s", sleep, out)
	}
	if ps, err := netns.Processes(st.Ino); err != nil || len(ps) > 0 {
		t.Errorf("namespace %s still kept alive by %v (%v)", name, ps, err)
	}
	for _, n := range names {
		if exists(t, n) {
			t.Errorf("%s is still there:\n%s", n, out)
		}
	}
}

// running reports whether a process exists and is not a zombie: here the
// test, pid 1, inherits the killed run's children and does not reap them.
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, after, _ := bytes.Cut(b, []byte(") "))
	return len(after) > 0 && after[0] != 'Z'
}

// TestCleanupAfterIPNetnsAddDuringAKilledRun: an `ip netns add` during a
// run, on a machine where /run/netns is not a mount point yet (the private
// run starts with an empty /run), then SIGKILL: cleanup removes the run's
// namespaces, and `ip netns list` has nothing invalid to say.
func TestCleanupAfterIPNetnsAddDuringAKilledRun(t *testing.T) {
	if !netnstest.PrivateRun(t) {
		return
	}
	testenv.Need(t, "iproute2", iproute2())
	run, _, seen := startUntil(t, "nltrace: running in namespace", "dump", "--churn", "--links", "2", "--duration", "5m")
	names := namespacesOf(t, run.Process.Pid)
	if len(names) != 2 {
		run.Process.Kill()
		t.Fatalf("the run has namespaces %v, want 2; stderr: %q", names, seen)
	}
	const other = "nltrace-test-ip-add"
	if out, err := exec.Command("ip", "netns", "add", other).CombinedOutput(); err != nil {
		run.Process.Kill()
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	defer exec.Command("ip", "netns", "delete", other).Run()
	run.Process.Kill()
	run.Wait()

	out := cleanupOutput(t, nltrace(t, "cleanup"))
	for _, n := range names {
		if !strings.Contains(out, "removed "+n+" ") || exists(t, n) {
			t.Errorf("%s not removed:\n%s", n, out)
		}
	}
	list, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil || strings.Contains(string(list), "invalid") || !strings.Contains(string(list), other) {
		t.Errorf("ip netns list: %v\n%s", err, list)
	}
}
