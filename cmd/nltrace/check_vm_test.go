package main

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nltrace/nltrace/internal/check"
	"github.com/nltrace/nltrace/internal/testenv"
	"github.com/nltrace/nltrace/internal/vm"
)

// staticNltrace builds nltrace as a guest runs it: static, for the host's
// architecture. The test binary cannot stand in: the guest runs it as
// nltrace check.
func staticNltrace(t *testing.T) string {
	t.Helper()
	if err := vm.RefuseNested(); err != nil {
		t.Skip(err)
	}
	_, err := exec.LookPath("go")
	testenv.Need(t, "vm", err)
	bin := filepath.Join(t.TempDir(), "nltrace")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestCheckKernelsJudgeClients is the CI use of nltrace check: two Debian
// kernels booted under QEMU, vishvananda/netlink v1.2.1 reported as a
// client regression on both (its EINTR exits), with a JUnit report; and
// v1.3.1 passing once its warning is allowed.
func TestCheckKernelsJudgeClients(t *testing.T) {
	testenv.Root(t)
	bin := staticNltrace(t)
	lab := labClients(t)
	dir := t.TempDir()
	junit := filepath.Join(dir, "junit.xml")
	base := []string{"check", "--kernel", "6.1", "--kernel", "6.12", "--only", "client/,flag-position", "--exec-duration", "3s"}
	run := func(args ...string) (int, string, string) {
		cmd := exec.Command(bin, append(base, args...)...)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if _, ok := err.(*exec.ExitError); err != nil && !ok {
			t.Fatal(err)
		}
		if strings.Contains(stderr.String(), "qemu-system") && strings.Contains(stderr.String(), "not found") {
			testenv.Need(t, "vm", fmt.Errorf("%s", stderr.String()))
		}
		return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
	}

	code, out, stderr := run("--json", "--junit", junit, "--exec", "--", filepath.Join(lab, "vnl-v1.2.1"))
	var doc check.Document
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("exit %d, not JSON: %v\n%s%s", code, err, out, stderr)
	}
	if code != check.StatusRegression || len(doc.Kernels) != 2 {
		t.Fatalf("v1.2.1: exit %d, %d kernels; want %d on two\n%s%s", code, len(doc.Kernels), check.StatusRegression, out, stderr)
	}
	for _, r := range doc.Kernels {
		t.Logf("%s (%s): boot to verdict %.1fs (%s), suite %.1fs", r.Kernel, r.Spec, r.Boot, r.Accel, r.Secs)
		if r.Boot <= r.Secs || r.Accel == "" {
			t.Errorf("%s: boot to verdict %.1fs, suite %.1fs, accel %q", r.Kernel, r.Boot, r.Secs, r.Accel)
		}
		for _, o := range r.Checks {
			t.Logf("  %s: %s: %s", o.Name, o.Verdict, o.Measured)
			want := check.Pass
			if strings.HasPrefix(o.Name, "client/") {
				want = check.Regression
			}
			if o.Verdict != want {
				t.Errorf("%s %s: %s, want %s", r.Kernel, o.Name, o.Verdict, want)
			}
		}
	}
	data, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Suites []struct {
			Name     string `xml:"name,attr"`
			Failures int    `xml:"failures,attr"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &suites); err != nil || len(suites.Suites) != 2 || suites.Suites[0].Failures != 2 || suites.Suites[1].Failures != 2 {
		t.Errorf("JUnit: %+v %v\n%s", suites, err, data)
	}

	code, out, stderr = run("--allow", "results may be incomplete", "--exec", "--", filepath.Join(lab, "vnl-v1.3.1"))
	if code != 0 {
		t.Errorf("v1.3.1 with its warning allowed: exit %d\n%s%s", code, out, stderr)
	}
}
