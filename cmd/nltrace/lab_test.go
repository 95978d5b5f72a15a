package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nltrace/nltrace/internal/report"
	"github.com/nltrace/nltrace/internal/testenv"
)

// labBinEnv names a directory of prebuilt lab clients (scripts/lab.sh build
// DIR), for machines without a Go toolchain such as the matrix guests.
const labBinEnv = "NLTRACE_LAB_BIN"

// labLinks is the number of stable devices; the clients expect lo too.
const labLinks = 400

// labClients returns the directory holding the lab clients, building them
// from testdata/clients when labBinEnv is unset.
func labClients(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv(labBinEnv); dir != "" {
		return dir
	}
	script, err := filepath.Abs(filepath.Join("..", "..", "scripts", "lab.sh"))
	if err == nil {
		_, err = os.Stat(script)
	}
	if err == nil {
		_, err = exec.LookPath("go")
	}
	if err != nil {
		testenv.Need(t, "lab", fmt.Errorf("cannot build the client lab (set %s to prebuilt clients): %w", labBinEnv, err))
	}
	dir := t.TempDir()
	if out, err := exec.Command("sh", script, "build", dir).CombinedOutput(); err != nil {
		// Each client module needs its pinned vishvananda/netlink from the
		// module cache or proxy.
		testenv.Need(t, "lab", fmt.Errorf("scripts/lab.sh build: %w\n%s", err, out))
	}
	return dir
}

// runLab runs one client again and again under link churn and returns
// what nltrace saw of its runs.
func runLab(t *testing.T, client string, args ...string) *report.ExecReport {
	t.Helper()
	// A run of v1.1.0 takes close to the default 10 s exec timeout in a
	// busy one-CPU guest.
	nlArgs := []string{"dump", "--churn", "--links", fmt.Sprint(labLinks), "--runs", "5", "--exec-timeout", "60s", "--json", "--exec", "--", client}
	cmd := nltrace(t, append(nlArgs, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nltrace %s: %v\n%s", strings.Join(nlArgs, " "), err, stderr.String())
	}
	if left := namespacesOf(t, cmd.Process.Pid); len(left) > 0 {
		t.Errorf("namespaces left behind: %v", left)
	}
	var r report.Report
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out)
	}
	if r.Exec == nil || r.Exec.Runs == 0 {
		t.Fatalf("no runs of %s in the report:\n%s", client, out)
	}
	t.Logf("%s: statuses %v, symptoms %v", filepath.Base(client), r.Exec.Statuses, r.Exec.Symptoms)
	return r.Exec
}

// count returns the runs with the label (a status or a symptom).
func count(list []report.Count, label string) int {
	for _, c := range list {
		if c.Label == label {
			return c.Runs
		}
	}
	return 0
}

// TestLabClients runs each client of testdata/clients under nltrace's link
// churn and checks it fails the way its library version does in the field
// (testdata/clients/README.md has the exit codes).
func TestLabClients(t *testing.T) {
	testenv.Root(t)
	bin := labClients(t)
	// Each run makes 20 link dumps: 100 per client, enough for the
	// interrupted ones to show on every kernel of the matrix.
	clientArgs := []string{"-count", "20", "-expect", fmt.Sprint(labLinks + 1)}

	t.Run("vnl-v1.1.0", func(t *testing.T) {
		e := runLab(t, filepath.Join(bin, "vnl-v1.1.0"), clientArgs...)
		for _, s := range e.Symptoms {
			if s.Runs > 0 {
				t.Errorf("v1.1.0 ignores the flag, yet %d runs printed %q", s.Runs, s.Label)
			}
		}
		// Exit 4 (fewer links than stable) is what kernels up to 6.8 can
		// give silently; it is no error message.
		if clean, short := count(e.Statuses, "exit 0"), count(e.Statuses, "exit 4"); clean+short != e.Runs {
			t.Errorf("want only exit 0 or 4, got %v", e.Statuses)
		}
	})

	t.Run("vnl-v1.2.1", func(t *testing.T) {
		e := runLab(t, filepath.Join(bin, "vnl-v1.2.1"), clientArgs...)
		if count(e.Symptoms, "interrupted system call") == 0 || count(e.Statuses, "exit 1") == 0 {
			t.Errorf("want at least one run failing with \"failed to get vlans: failed to list links: interrupted system call\" and exit 1, got %v", e.Statuses)
		}
		if n := count(e.Symptoms, "results may be incomplete or inconsistent"); n > 0 {
			t.Errorf("v1.2.1 has no ErrDumpInterrupted, yet %d runs printed it", n)
		}
	})

	t.Run("vnl-v1.3.1", func(t *testing.T) {
		e := runLab(t, filepath.Join(bin, "vnl-v1.3.1"), clientArgs...)
		// Exit 3: data returned with ErrDumpInterrupted; 4 when also short.
		withData := count(e.Statuses, "exit 3") + count(e.Statuses, "exit 4")
		if count(e.Symptoms, "results may be incomplete or inconsistent") == 0 || withData == 0 {
			t.Errorf("want at least one run warning \"results may be incomplete or inconsistent\" with data (exit 3), got %v", e.Statuses)
		}
		// v1.3 reads non-blocking sockets: no EINTR of either kind.
		if n := count(e.Statuses, "exit 1"); n > 0 {
			t.Errorf("%d runs failed without data", n)
		}
	})

	t.Run("ip", func(t *testing.T) {
		if err := iproute2(); err != nil {
			testenv.Need(t, "iproute2", err)
		}
		e := runLab(t, filepath.Join(bin, "ip-client"), clientArgs...)
		if count(e.Symptoms, "Dump was interrupted") == 0 {
			t.Errorf("want at least one \"Dump was interrupted\" warning, got %v", e.Symptoms)
		}
		if n := count(e.Statuses, "exit 0") + count(e.Statuses, "exit 4"); n != e.Runs {
			t.Errorf("ip exits 0 on an interrupted dump, got %v", e.Statuses)
		}
	})
}

// iproute2 reports whether ip(8) is iproute2's: busybox's, in the matrix
// guests, prints no dump warning.
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
