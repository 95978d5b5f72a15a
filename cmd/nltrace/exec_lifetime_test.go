package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sleeper is a `sleep` of a length no other process on the machine uses,
// so that a test can find the ones its run left, and kill them when it
// ends, failed or not.
type sleeper string

func newSleeper(t *testing.T, n int) sleeper {
	s := sleeper(strconv.Itoa(7_000_000 + 1000*(os.Getpid()%1000) + n))
	t.Cleanup(func() {
		for _, pid := range s.alive() {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return s
}

// alive lists the live processes running `sleep s` (a zombie has no
// command line, so it is not listed).
func (s sleeper) alive() []int {
	want := []byte("sleep\x00" + string(s) + "\x00")
	var pids []int
	for _, pid := range allPids() {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err == nil && bytes.Equal(b, want) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// waitFor polls cond for up to d.
func waitFor(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); ; time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
	}
}

func allPids() []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// inNetNS lists the live processes whose network namespace is ns, as
// readlink /proc/PID/ns/net prints it ("net:[4026532...]").
func inNetNS(ns string) []int {
	var pids []int
	for _, pid := range allPids() {
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid)); err == nil && l == ns {
			pids = append(pids, pid)
		}
	}
	return pids
}

// A program that daemonizes must not keep the run's namespace, with its
// links, alive after the run.
func TestExecDaemonEndsWithTheRun(t *testing.T) {
	s := newSleeper(t, 1)
	nsFile := filepath.Join(t.TempDir(), "ns")
	script := fmt.Sprintf("readlink /proc/self/ns/net > %s; setsid sleep %s & exit 0", nsFile, s)
	r := runReport(t, "dump", "--churn", "--links", "2", "--runs", "1", "--json", "--exec", "--", "sh", "-c", script)
	if left := s.alive(); len(left) > 0 {
		t.Errorf("the program's daemon outlived the run: pids %v", left)
	}
	b, err := os.ReadFile(nsFile)
	if err != nil {
		t.Fatalf("the program did not run: %v", err)
	}
	if ns := strings.TrimSpace(string(b)); !waitFor(time.Second, func() bool { return len(inNetNS(ns)) == 0 }) {
		t.Errorf("processes %v keep the run's namespace %s alive", inNetNS(ns), ns)
	}
	if left := namespacesOf(t, r.pid); len(left) > 0 {
		t.Errorf("namespaces left: %v", left)
	}
}

// A SIGKILLed nltrace cannot clean up, but the program it runs must not
// go on without it.
func TestExecProgramDiesWithKilledRun(t *testing.T) {
	s := newSleeper(t, 2)
	cmd, lines, _ := startUntil(t, "nltrace: running in namespace",
		"dump", "--churn", "--links", "2", "--duration", "5m", "--exec", "--", "sleep", string(s))
	go func() {
		for lines.Scan() {
		}
	}()
	if !waitFor(10*time.Second, func() bool { return len(s.alive()) > 0 }) {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("the program never started")
	}
	cmd.Process.Kill()
	cmd.Wait()
	if !waitFor(5*time.Second, func() bool { return len(s.alive()) == 0 }) {
		t.Errorf("the program outlived a SIGKILLed nltrace by 5 s: pids %v", s.alive())
	}
}
