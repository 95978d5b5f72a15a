package main

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/nltrace/nltrace/internal/check"
)

func parseCheckArgs(t *testing.T, args ...string) (check.Config, checkOutput, error) {
	t.Helper()
	var cfg check.Config
	var out checkOutput
	err := parseWith(checkCommand(), args, func(c *cli.Context) (err error) {
		cfg, out, err = parseCheck(c)
		return err
	})
	return cfg, out, err
}

// TestEveryCheckFlagRejectsBadValues walks every flag of the check
// command, as TestEveryFlagRejectsBadValues does for dump.
func TestEveryCheckFlagRejectsBadValues(t *testing.T) {
	dir := t.TempDir()
	notJSON := filepath.Join(dir, "baseline.json")
	if err := os.WriteFile(notJSON, []byte("facts: none"), 0o644); err != nil {
		t.Fatal(err)
	}
	client := []string{"--exec", "--", "true"}
	bad := map[string][][]string{
		"only":            {{"--only", "bogus"}, {"--only", "client/exit"}},
		"churn-duration":  {{"--churn-duration", "0s"}, {"--churn-duration", "soon"}},
		"json":            {{"--json=maybe"}},
		"junit":           {{"--junit", dir}, {"--junit", filepath.Join(dir, "no", "such", "dir.xml")}},
		"baseline":        {{"--baseline", filepath.Join(dir, "missing.json")}, {"--baseline", notJSON}},
		"record-baseline": {{"--record-baseline", dir}},
		"verbose":         {{"--verbose=maybe"}},
		"exec":            {{"--exec"}, {"--exec=maybe"}},
		"exec-duration":   {{"--exec-duration", "0s"}, append([]string{"--exec-duration", "-1s"}, client...)},
		"exec-timeout":    {{"--exec-timeout", "1s"}, append([]string{"--exec-timeout", "-1s"}, client...)},
		"allow-exit":      {{"--allow-exit", "3"}, append([]string{"--allow-exit", "300"}, client...)},
		"allow":           {{"--allow", "results may be incomplete"}, append([]string{"--allow", "all is well"}, client...)},
		"kernel":          {{"--kernel", "6"}, {"--kernel", "6.12-sparc"}, {"--kernel", "6.12", "--kernel", "6.12-cloud"}, {"--kernel", "6.1", "--kernel", "6.12", "--record-baseline", filepath.Join(dir, "b.json")}},
		"vm-cache":        {{"--vm-cache", dir}},
		"vm-logs":         {{"--vm-logs", dir}, {"--kernel", "6.12", "--vm-logs", notJSON}},
		"vm-timeout":      {{"--vm-timeout", "1m"}, {"--kernel", "6.12", "--vm-timeout", "0s"}},
		"vm-parallel":     {{"--vm-parallel", "1"}, {"--kernel", "6.12", "--vm-parallel", "-1"}},
		"guest-nltrace":   {{"--guest-nltrace", notJSON}, {"--kernel", "6.12", "--guest-nltrace", notJSON}},
		"config":          {{"--config", filepath.Join(dir, "missing.json")}, {"--config", notJSON}},
	}
	rejectsBadValues(t, checkFlags(), bad, func(args ...string) error {
		_, _, err := parseCheckArgs(t, args...)
		return err
	})
	if _, err := os.Stat(filepath.Join(dir, "junit.xml")); err == nil {
		t.Error("parsing left an output file behind")
	}
	cfg, out, err := parseCheckArgs(t)
	if err != nil || cfg.Client != nil || cfg.Churn != check.DefaultChurn || out.json {
		t.Errorf("defaults: %+v %+v %v", cfg, out, err)
	}
	if _, _, err := parseCheckArgs(t, "stray"); err == nil || !strings.Contains(err.Error(), "unexpected arguments") {
		t.Errorf("a stray argument: %v", err)
	}
}

// checkRun runs nltrace check and returns its exit status, stdout and
// stderr.
func checkRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := nltrace(t, append([]string{"check"}, args...)...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	if left := namespacesOf(t, cmd.Process.Pid); len(left) > 0 {
		t.Errorf("namespaces left behind: %v", left)
	}
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

// TestCheckFailsOnAChangedFact records a baseline, edits it to expect no
// lost window, as a kernel that flagged every change would show, and
// checks against it: exit status 4, naming the check, in the table and
// in the JUnit report.
func TestCheckFailsOnAChangedFact(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "baseline.json")
	only := []string{"--only", "flag-position,lost-window"}
	code, out, stderr := checkRun(t, append(only, "--record-baseline", base)...)
	if code != 0 {
		t.Fatalf("recording: exit %d\n%s%s", code, out, stderr)
	}
	b, err := check.ReadBaseline(base)
	if err != nil {
		t.Fatal(err)
	}
	if b.Facts["lost-window"] != 2 || b.Facts["flag-position"] != 2 {
		t.Fatalf("recorded facts %v, want a lost window of 2 and the flag 2 chunks later (docs/kernel.md)", b.Facts)
	}
	code, out, stderr = checkRun(t, append(only, "--baseline", base)...)
	if code != 0 {
		t.Fatalf("against its own baseline: exit %d\n%s%s", code, out, stderr)
	}

	b.Facts["lost-window"] = 0
	if err := b.WriteFile(base); err != nil {
		t.Fatal(err)
	}
	junit := filepath.Join(dir, "junit.xml")
	// A run that fails records no baseline.
	again := filepath.Join(dir, "again.json")
	code, out, stderr = checkRun(t, append(only, "--baseline", base, "--junit", junit, "--record-baseline", again)...)
	t.Logf("exit %d\n%s%s", code, out, stderr)
	if code != check.StatusRegression {
		t.Errorf("exit %d, want %d", code, check.StatusRegression)
	}
	last := out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:]
	if !strings.HasPrefix(last, "REGRESSION: ") || !strings.Contains(last, ": lost-window") || strings.Contains(last, "flag-position") {
		t.Errorf("the verdict does not name lost-window alone: %q", last)
	}
	if _, err := os.Stat(again); err == nil || !strings.Contains(stderr, "baseline not recorded") {
		t.Errorf("a failed run recorded a baseline (%v), or did not say it did not: %q", err, stderr)
	}
	data, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Suites []struct {
			Failures int `xml:"failures,attr"`
			Cases    []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil || len(doc.Suites) != 1 {
		t.Fatalf("JUnit: %v\n%s", err, data)
	}
	for _, c := range doc.Suites[0].Cases {
		if (c.Failure != nil) != (c.Name == "lost-window") {
			t.Errorf("JUnit case %s: failure %v", c.Name, c.Failure != nil)
		}
	}
}

// TestCheckJudgesLabClients runs vishvananda/netlink v1.2.1, whose
// interrupted dumps fail with EINTR, and v1.3.1, which returns the data
// with a warning, under the client checks.
func TestCheckJudgesLabClients(t *testing.T) {
	lab := labClients(t)
	args := []string{"--only", "client/", "--exec-duration", "4s", "--json"}
	code, out, stderr := checkRun(t, append(args, "--exec", "--", filepath.Join(lab, "vnl-v1.2.1"))...)
	var doc check.Document
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("v1.2.1: not JSON: %v\n%s%s", err, out, stderr)
	}
	for _, o := range doc.Kernels[0].Checks {
		t.Logf("v1.2.1: exit %d, %s %s: %s", code, o.Name, o.Verdict, o.Measured)
	}
	if code != check.StatusRegression || len(doc.Regressions) != 2 {
		t.Errorf("v1.2.1: exit %d, regressions %q; want %d for client/exit and client/symptoms", code, doc.Regressions, check.StatusRegression)
	}
	if !strings.Contains(out, "interrupted system call") {
		t.Errorf("v1.2.1: the report does not name EINTR:\n%s", out)
	}
	for _, o := range doc.Kernels[0].Checks {
		if !strings.Contains(o.Sample, "failed to list links: interrupted system call") {
			t.Errorf("v1.2.1 %s: the output of a failing run is not shown: %q", o.Name, o.Sample)
		}
	}

	v131 := append(args, "--exec", "--", filepath.Join(lab, "vnl-v1.3.1"))
	code, out, stderr = checkRun(t, v131...)
	if code != check.StatusRegression || !strings.Contains(out, "results may be incomplete") {
		t.Errorf("v1.3.1 without --allow: exit %d, want %d naming its warning\n%s%s", code, check.StatusRegression, out, stderr)
	}
	code, out, stderr = checkRun(t, append([]string{"--allow", "results may be incomplete"}, v131...)...)
	if code != 0 {
		t.Errorf("v1.3.1 with --allow: exit %d, want 0\n%s%s", code, out, stderr)
	}
}
