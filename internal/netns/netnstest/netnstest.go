// Package netnstest runs a test in mount and PID namespaces of its own,
// with a fresh tmpfs on /run and its own /proc. There /run/netns is as on a
// freshly booted machine (no directory yet, so not a mount point),
// whatever the host's state, and whatever the test mounts (an `ip netns
// add` binding /run/netns over itself included) stays out of the host's
// mount table and of the tests that other processes run at the same time:
// it all goes with the child process, failed or not, and so do the
// namespaces only its mounts held. The test sees, and can signal, only the
// processes it starts: code that kills processes (cleanup's) cannot reach
// anyone else's, even when wrong.
package netnstest

import (
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/internal/testenv"
)

// childEnv carries the name of the test that the child process runs.
const childEnv = "NLTRACE_TEST_PRIVATE_RUN"

// PrivateRun reports whether the calling test runs in its private
// namespaces; the test's body goes on only then:
//
//	if !netnstest.PrivateRun(t) {
//		return
//	}
//
// In the test binary started by `go test` it runs the test again in a
// child process, pid 1 of a PID namespace of its own, with a mount
// namespace of its own (all mounts private, a new tmpfs on /run, a /proc
// of that PID namespace), reports the child's output and fails when the child
// fails, and returns false.
func PrivateRun(t *testing.T) bool {
	t.Helper()
	testenv.Root(t)
	if os.Getenv(childEnv) == t.Name() {
		// Never go on outside a PID namespace of its own: the test may kill
		// what it finds.
		if os.Getpid() != 1 {
			t.Fatalf("%s=%s outside a PID namespace of its own (pid %d)", childEnv, t.Name(), os.Getpid())
		}
		// Every mount is private already: the runtime made them so in the
		// child (SysProcAttr.Unshareflags below).
		// A guest's initramfs may have no /run to mount on.
		if err := os.MkdirAll("/run", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mount("tmpfs", "/run", "tmpfs", 0, "mode=0755"); err != nil {
			t.Fatalf("mount a tmpfs on /run: %v", err)
		}
		if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			t.Fatalf("mount this PID namespace's /proc: %v", err)
		}
		return true
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var run []string
	for _, part := range strings.Split(t.Name(), "/") {
		run = append(run, "^"+regexp.QuoteMeta(part)+"$")
	}
	cmd := exec.Command(self, "-test.run="+strings.Join(run, "/"), "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+t.Name())
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Unshareflags: syscall.CLONE_NEWNS, // and the runtime makes every mount private
		Cloneflags:   syscall.CLONE_NEWPID,
		Pdeathsig:    syscall.SIGKILL,
	}
	out, err := cmd.CombinedOutput()
	switch {
	case err == nil && strings.Contains(string(out), "--- SKIP: "+t.Name()):
		t.Skipf("skipped in private namespaces:\n%s", out)
	case err != nil:
		t.Errorf("in private namespaces: %v\n%s", err, out)
	case !strings.Contains(string(out), "--- PASS: "+t.Name()):
		t.Errorf("in private namespaces the test did not pass:\n%s", out)
	case testing.Verbose():
		t.Logf("in private namespaces:\n%s", out)
	}
	return false
}

// BindFresh binds a new, empty network namespace on path, creating the
// file, with a plain bind mount: the way older versions, and `ip netns add`
// in a plain directory, bound theirs. A test binds a fresh namespace, never
// its own: what a test leaves for cleanup to kill the processes of must
// not be the machine's namespace.
func BindFresh(tb testing.TB, path string) uint64 {
	tb.Helper()
	if err := os.WriteFile(path, nil, 0o444); err != nil {
		tb.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		err = unix.Mount("/proc/thread-self/ns/net", path, "none", unix.MS_BIND, "")
		// Unlocked only back home; otherwise the thread ends with the
		// goroutine (or, the main thread, is parked) rather than run
		// anything else in the new namespace.
		if back := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); back == nil {
			runtime.UnlockOSThread()
		} else if err == nil {
			err = back
		}
		errc <- err
	}()
	if err := <-errc; err != nil {
		tb.Fatalf("bind a new namespace on %s: %v", path, err)
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		tb.Fatal(err)
	}
	return st.Ino
}
