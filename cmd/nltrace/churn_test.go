package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nltrace/nltrace/internal/churn"
	"github.com/nltrace/nltrace/internal/netns"
	"github.com/nltrace/nltrace/internal/report"
	"github.com/nltrace/nltrace/internal/testenv"
)

// mainArgsEnv makes the test binary run nltrace's main with these
// arguments (a JSON list): the tests run the real command as a process
// without needing a Go toolchain, also inside the kernel matrix guests.
const mainArgsEnv = "NLTRACE_TEST_MAIN_ARGS"

func TestNltraceMain(t *testing.T) {
	args, ok := os.LookupEnv(mainArgsEnv)
	if !ok {
		t.Skip("runs only as the nltrace command of other tests")
	}
	var list []string
	if err := json.Unmarshal([]byte(args), &list); err != nil {
		t.Fatal(err)
	}
	os.Args = append([]string{"nltrace"}, list...)
	main()
	os.Exit(0)
}

// nltrace returns the command line of nltrace with args.
func nltrace(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	testenv.Root(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^TestNltraceMain$")
	list, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(os.Environ(), mainArgsEnv+"="+string(list))
	return cmd
}

// namespacesOf lists the churn namespaces of one process.
func namespacesOf(t *testing.T, pid int) []string {
	names, err := netns.List(fmt.Sprintf("%s%d-", churn.Prefix, pid))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// reportRun is one finished nltrace run with --json.
type reportRun struct {
	*report.Report
	out    []byte
	stderr string
	pid    int
}

// runReport runs nltrace with args (which must include --json) and
// returns its report; a failed run fails the test.
func runReport(t *testing.T, args ...string) reportRun {
	t.Helper()
	cmd := nltrace(t, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nltrace: %v\n%s", err, stderr.String())
	}
	var r report.Report
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out)
	}
	return reportRun{&r, out, stderr.String(), cmd.Process.Pid}
}

func TestChurnReproducesInterruptedLinkDumps(t *testing.T) {
	r := runReport(t, "dump", "--churn", "--links", "300", "--dumpers", "2", "--duration", "3s", "--expect-interrupts", "--json")
	if len(r.Kinds) != 1 || r.Kinds[0].Interrupted == 0 || r.Churn == nil || r.Churn.Ops[churn.LinkOps].Count == 0 {
		t.Errorf("want interrupted link dumps and link churn in the report:\n%s", r.out)
	}
	if left := namespacesOf(t, r.pid); len(left) > 0 {
		t.Errorf("namespaces left behind: %v", left)
	}
}

func TestInjectAtCommandIsDeterministic(t *testing.T) {
	var want []report.Position
	for run := range 2 {
		r := runReport(t, "dump", "--inject-at", "2", "--links", "300", "--dumps", "4", "--json")
		out := r.out
		k := r.Kinds[0]
		if k.Interrupted != 4 || len(k.Flagged) != 1 || k.Inject.Flagged != 4 {
			t.Fatalf("run %d: want all 4 dumps flagged on one chunk:\n%s", run, out)
		}
		if run == 0 {
			want = k.Flagged
		} else if k.Flagged[0] != want[0] {
			t.Errorf("run %d flagged %v, run 0 %v", run, k.Flagged, want)
		}
	}
}

func TestExecCountsClientFailures(t *testing.T) {
	cmd := nltrace(t, "dump", "--churn", "--links", "20", "--runs", "3", "--json", "--exec", "--",
		"sh", "-c", `echo "failed to list links: interrupted system call" >&2; exit 1`)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nltrace: %v", err)
	}
	var r report.Report
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out)
	}
	e := r.Exec
	if e == nil || e.Runs != 3 || e.Failed != 3 || len(e.Statuses) != 1 || e.Statuses[0] != (report.Count{Label: "exit 1", Runs: 3}) {
		t.Fatalf("exec report %+v: want 3 runs, all exit 1", e)
	}
	for _, s := range e.Symptoms {
		want := 0
		if s.Label == "interrupted system call" {
			want = 3
		}
		if s.Runs != want {
			t.Errorf("symptom %q in %d runs, want %d", s.Label, s.Runs, want)
		}
	}
	if len(r.Kinds) != 0 {
		t.Errorf("--exec without --dumpers ran dumpers: %+v", r.Kinds)
	}
}

func TestSignalLeavesNoNamespace(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE} {
		for _, when := range []string{"populating", "running"} {
			t.Run(fmt.Sprintf("%v while %s", sig, when), func(t *testing.T) {
				signalRun(t, sig, when)
			})
		}
	}
}

// startUntil starts nltrace with args and reads its stderr up to the first
// line starting with want; it returns the scanner, positioned after that
// line, and the lines seen. Namespaces the run leaves are removed when the
// test ends.
func startUntil(t *testing.T, want string, args ...string) (*exec.Cmd, *bufio.Scanner, []string) {
	t.Helper()
	cmd := nltrace(t, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		for _, n := range namespacesOf(t, pid) {
			netns.Delete(n)
		}
	})
	lines := bufio.NewScanner(stderr)
	var seen []string
	for lines.Scan() {
		seen = append(seen, lines.Text())
		if strings.HasPrefix(lines.Text(), want) {
			break
		}
	}
	return cmd, lines, seen
}

// signalRun starts a long run, signals it once stderr shows the phase, and
// checks that it exits on its own, with status 130, leaving nothing.
func signalRun(t *testing.T, sig syscall.Signal, phase string) {
	links := "300"
	if phase == "populating" {
		links = "20000" // long enough to be caught in the middle
	}
	want := "populating: "
	if phase == "running" {
		want = "nltrace: running in namespace"
	}
	cmd, lines, seen := startUntil(t, want, "dump", "--churn", "--links", links, "--duration", "5m")
	pid := cmd.Process.Pid
	if len(namespacesOf(t, pid)) == 0 {
		cmd.Process.Kill()
		t.Fatalf("no namespace of pid %d while %s; stderr: %q", pid, phase, seen)
	}
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	var err error
	go func() {
		for lines.Scan() {
		}
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("still running 60 s after %v", sig)
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitSignal {
		t.Errorf("after %v: %v, want exit status %d (the signal handled, not fatal)", sig, err, exitSignal)
	}
	if left := namespacesOf(t, pid); len(left) > 0 {
		t.Errorf("after %v while %s: namespaces left: %v", sig, phase, left)
	}
}

func TestKilledRunIsReportedAndCleanedUp(t *testing.T) {
	cmd, _, _ := startUntil(t, "nltrace: running in namespace", "dump", "--churn", "--links", "20", "--duration", "5m")
	pid := cmd.Process.Pid
	cmd.Process.Kill() // no chance to clean up
	cmd.Wait()
	left := namespacesOf(t, pid)
	if len(left) != 2 {
		t.Fatalf("a killed run left %v, want its two namespaces", left)
	}

	next := nltrace(t, "dump", "--churn", "--links", "2", "--dumps", "1")
	out, err := next.CombinedOutput()
	if err != nil {
		t.Fatalf("next run: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), fmt.Sprintf("found namespace %s", left[0])) {
		t.Errorf("the next run did not report the leftover %s:\n%s", left[0], out)
	}

	out, err = nltrace(t, "cleanup").CombinedOutput()
	if err != nil {
		t.Fatalf("cleanup: %v\n%s", err, out)
	}
	if got := namespacesOf(t, pid); len(got) > 0 {
		t.Errorf("cleanup left %v:\n%s", got, out)
	}
	if !strings.Contains(string(out), "removed "+left[0]) {
		t.Errorf("cleanup did not say what it removed:\n%s", out)
	}
}
