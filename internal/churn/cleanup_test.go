package churn

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/internal/netns"
	"github.com/nltrace/nltrace/internal/netns/netnstest"
	"github.com/nltrace/nltrace/internal/testenv"
)

func containsName(l []Leftover, name string) bool {
	return slices.ContainsFunc(l, func(x Leftover) bool { return x.Name == name })
}

func removal(rs []Removal, name string) (Removal, bool) {
	i := slices.IndexFunc(rs, func(r Removal) bool { return r.Name == name })
	if i < 0 {
		return Removal{}, false
	}
	return rs[i], true
}

func exists(name string) bool {
	names, err := netns.List(name)
	return err == nil && slices.Contains(names, name)
}

// deadPID returns the pid of a process that has exited (nobody holds it
// until reused, which a fresh pid makes unlikely within the test).
func deadPID(t *testing.T) int {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// TestRootLeftoversByLockNotPID: a live run is the one holding its
// namespace's lock, whatever the pid in the name says. The pid means
// nothing in another PID namespace: a killed run that was pid 1 in a
// container leaves a name with pid 1, which always runs on the host.
func TestRootLeftoversByLockNotPID(t *testing.T) {
	if !netnstest.PrivateRun(t) {
		return
	}
	live := newName()
	held, err := newNamespace(live)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()

	killed := fmt.Sprintf("%s%d-%s-1", Prefix, os.Getpid(), "0badc0de") // a name of this very process, unheld
	pid1 := fmt.Sprintf("%s1-%s-1", Prefix, "5eed0001")
	legacyPID1 := Prefix + "1-1"                            // an older version's, killed as pid 1
	legacyDead := fmt.Sprintf("%s%d-1", Prefix, deadPID(t)) // an older version's, its pid gone
	for _, n := range []string{killed, pid1, legacyPID1, legacyDead} {
		if _, err := netns.Create(n); err != nil {
			t.Fatal(err)
		}
	}
	legacyLive := olderVersionRun(t)

	left, err := Leftovers()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{killed, pid1, legacyPID1, legacyDead} {
		if !containsName(left, n) {
			t.Errorf("%s is not a leftover (leftovers %v)", n, left)
		}
	}
	for _, n := range []string{live, legacyLive} {
		if containsName(left, n) {
			t.Errorf("the live run's %s is called a leftover", n)
		}
	}

	removed, err := Cleanup()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{killed, pid1, legacyPID1, legacyDead} {
		if r, ok := removal(removed, n); !ok || r.Err != nil {
			t.Errorf("cleanup of %s: %+v (found %v)", n, r, ok)
		}
		if exists(n) {
			t.Errorf("%s is still there", n)
		}
	}
	for _, n := range []string{live, legacyLive} {
		if !exists(n) {
			t.Errorf("cleanup removed the live run's %s", n)
		}
	}
}

// olderVersionRun starts a process that holds open a namespace named with
// its pid, as versions without locks did for the whole run, and returns
// that name.
func olderVersionRun(t *testing.T) string {
	const ready = "/run/nltrace-test-ready"
	// The shell names the namespace by its own pid ($$), which exec keeps.
	run := exec.Command("sh", "-c", `while [ ! -e `+ready+` ]; do sleep 0.01; done; exec sleep 1000 <`+netns.Dir+`/`+Prefix+`$$-2`)
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { run.Process.Kill(); run.Wait() })
	name := fmt.Sprintf("%s%d-2", Prefix, run.Process.Pid)
	if _, err := netns.Create(name); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ready, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ino := statIno(t, netns.Path(name))
	for deadline := time.Now().Add(5 * time.Second); !netns.Keeps(run.Process.Pid, ino); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("pid %d does not hold %s open", run.Process.Pid, name)
		}
	}
	return name
}

func statIno(t *testing.T, path string) uint64 {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// TestRootCloseAfterIPNetnsAdd: an `ip netns add` while the engine runs,
// on a machine where /run/netns is not a mount point yet (the private run
// starts with an empty /run), must not leave the engine's namespaces
// behind.
func TestRootCloseAfterIPNetnsAdd(t *testing.T) {
	if !netnstest.PrivateRun(t) {
		return
	}
	testenv.Need(t, "iproute2", iproute2())
	e, err := Start(context.Background(), Config{Links: 4, Mix: Mix{LinkOps: 1}})
	if err != nil {
		t.Fatal(err)
	}
	const other = "nltrace-test-ip-add"
	if out, err := exec.Command("ip", "netns", "add", other).CombinedOutput(); err != nil {
		e.Close()
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	defer exec.Command("ip", "netns", "delete", other).Run()
	if err := e.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if left, err := netns.List(Prefix); err != nil || len(left) > 0 {
		t.Errorf("left behind: %v (%v)", left, err)
	}
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil || strings.Contains(string(out), "invalid") || !strings.Contains(string(out), other) {
		t.Errorf("ip netns list: %v\n%s", err, out)
	}
	if out, err := exec.Command("ip", "netns", "delete", other).CombinedOutput(); err != nil {
		t.Errorf("ip netns delete: %v: %s", err, out)
	}
}

// TestRootCleanupFindsHiddenLeftovers: a namespace bound while /run/netns
// was a plain directory, then hidden by a bind of /run/netns over itself
// (what `ip netns add` did to runs of older versions).
func TestRootCleanupFindsHiddenLeftovers(t *testing.T) {
	if !netnstest.PrivateRun(t) {
		return
	}
	name := fmt.Sprintf("%s%d-1", Prefix, deadPID(t))
	if err := os.MkdirAll(netns.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	netnstest.BindFresh(t, netns.Path(name))
	mount := func(src, dst string, flags uintptr) {
		if err := unix.Mount(src, dst, "none", flags, ""); err != nil {
			t.Fatalf("mount %s %s: %v", src, dst, err)
		}
	}
	mount(netns.Dir, netns.Dir, unix.MS_BIND|unix.MS_REC)
	mount("", netns.Dir, unix.MS_SHARED|unix.MS_REC)
	if err := unix.Unmount(netns.Path(name), unix.MNT_DETACH); err != nil {
		t.Fatal(err) // the copy on top: what is left is hidden
	}

	removed, err := Cleanup()
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := removal(removed, name); !ok || r.Err != nil {
		t.Errorf("cleanup of %s: %+v (found %v)", name, r, ok)
	}
	if exists(name) {
		t.Errorf("%s is still there", name)
	}
}

// TestRootCleanupEndsProcessesInside: a program left running in a killed
// run's namespace keeps it alive; cleanup ends it, says so and removes
// the namespace.
func TestRootCleanupEndsProcessesInside(t *testing.T) {
	if !netnstest.PrivateRun(t) {
		return
	}
	name := newName()
	held, err := newNamespace(name)
	if err != nil {
		t.Fatal(err)
	}
	ino, err := netns.Inode(held)
	if err != nil {
		t.Fatal(err)
	}
	sleep := exec.Command("sleep", "1000")
	if err := netns.Do(netns.Path(name), sleep.Start); err != nil {
		held.Close()
		t.Fatal(err)
	}
	defer sleep.Process.Kill()
	// Start returns after fork, before exec: until then the child still
	// carries the test binary's name, which a slow guest shows.
	commPath := fmt.Sprintf("/proc/%d/comm", sleep.Process.Pid)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if b, _ := os.ReadFile(commPath); strings.TrimSpace(string(b)) == "sleep" {
			break
		}
	}
	held.Close() // the lock goes, as when the kernel ends a SIGKILLed run

	removed, err := Cleanup()
	if err != nil {
		t.Fatal(err)
	}
	r, ok := removal(removed, name)
	if !ok || r.Err != nil {
		t.Fatalf("cleanup of %s: %+v (found %v)", name, r, ok)
	}
	want := netns.Process{PID: sleep.Process.Pid, Comm: "sleep", Inside: true}
	if !slices.Contains(r.Ended, want) {
		t.Errorf("ended %v, want %v", r.Ended, want)
	}
	var exit *exec.ExitError
	if err := sleep.Wait(); !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("sleep ended with %v, want SIGKILL", err)
	}
	if ps, err := netns.Processes(ino); err != nil || len(ps) > 0 {
		t.Errorf("still kept alive by %v (%v)", ps, err)
	}
	if exists(name) {
		t.Errorf("%s is still there", name)
	}
}

// iproute2 says why `ip netns` cannot be used: busybox's ip, in the matrix
// guests, has no netns command.
func iproute2() error {
	out, err := exec.Command("ip", "-V").CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip -V: %w", err)
	}
	if !strings.Contains(string(out), "iproute2") {
		return errors.New("ip is not iproute2's: " + strings.TrimSpace(string(out)))
	}
	return nil
}

// TestRootCleanupNeverEndsTheMachinesNamespace: a leftover's name bound to
// the namespace everything else runs in (by mistake or malice) must not
// get every process on the machine killed. The private run confines the
// damage, should the check fail, to the test's own processes.
func TestRootCleanupNeverEndsTheMachinesNamespace(t *testing.T) {
	if !netnstest.PrivateRun(t) {
		return
	}
	name := fmt.Sprintf("%s%d-1", Prefix, deadPID(t))
	if err := os.MkdirAll(netns.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(netns.Path(name), nil, 0o444); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("/proc/1/ns/net", netns.Path(name), "none", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	sleep := exec.Command("sleep", "1000")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { sleep.Process.Kill(); sleep.Wait() }()

	removed, err := Cleanup()
	if err != nil {
		t.Fatal(err)
	}
	r, ok := removal(removed, name)
	if !ok || r.Err == nil || !strings.Contains(r.Err.Error(), "not ended") || len(r.Ended) > 0 {
		t.Errorf("cleanup of %s: %+v (found %v), want its processes spared and said so", name, r, ok)
	}
	if err := sleep.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("a process of the machine's namespace was ended: %v", err)
	}
}
