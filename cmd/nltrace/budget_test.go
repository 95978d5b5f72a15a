package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/nltrace/nltrace/internal/budget"
)

func parseBudgetArgs(t *testing.T, args ...string) (budget.Config, budgetOutput, error) {
	t.Helper()
	var cfg budget.Config
	var out budgetOutput
	err := parseWith(budgetCommand(), args, func(c *cli.Context) (err error) {
		cfg, out, err = parseBudget(c)
		return err
	})
	return cfg, out, err
}

// TestEveryBudgetFlagRejectsBadValues walks every flag of the budget
// command, as TestEveryFlagRejectsBadValues does for dump.
func TestEveryBudgetFlagRejectsBadValues(t *testing.T) {
	dir := t.TempDir()
	bad := map[string][][]string{
		"links":        {{"--links", "0"}, {"--links", "many"}},
		"rate":         {{"--rate", "0"}, {"--rate", "1e6"}, {"--rate", "-1"}},
		"kind":         {{"--kind", "addr4"}, {"--kind", "bogus"}},
		"attempts":     {{"--attempts", "0"}},
		"cell-time":    {{"--cell-time", "0s"}, {"--cell-time", "soon"}},
		"json":         {{"--json=maybe"}},
		"svg":          {{"--svg", dir}, {"--svg", filepath.Join(dir, "no", "plot.svg")}},
		"exec":         {{"--exec"}, {"--exec=maybe"}},
		"exec-timeout": {{"--exec-timeout", "1s"}, {"--exec-timeout", "-1s", "--exec", "--", "true"}},
	}
	rejectsBadValues(t, budgetFlags(), bad, func(args ...string) error {
		_, _, err := parseBudgetArgs(t, args...)
		return err
	})
	cfg, _, err := parseBudgetArgs(t)
	if err != nil || len(cfg.Links)*len(cfg.Rates) != 12 || cfg.Attempts != 30 {
		t.Errorf("defaults: %+v, %v; want the 4 x 3 grid and 30 attempts", cfg, err)
	}
}

// budgetJSON runs nltrace budget --json and reads its report.
func budgetJSON(t *testing.T, args ...string) *budget.Report {
	t.Helper()
	cmd := nltrace(t, append([]string{"budget"}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nltrace budget: %v\n%s", err, stderr.String())
	}
	if left := namespacesOf(t, cmd.Process.Pid); len(left) > 0 {
		t.Errorf("namespaces left: %v", left)
	}
	var rep budget.Report
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	return &rep
}

// TestBudgetSweep runs a small grid: JSON with every cell, the plot
// written, the probabilities ordered as they must be (5 attempts failing
// together is never likelier than 1). A cell where no dump got through
// (300 links at 100/s in the emulated arm64 guest) must say so.
func TestBudgetSweep(t *testing.T) {
	svg := filepath.Join(t.TempDir(), "plot.svg")
	rep := budgetJSON(t, "--links", "100,300", "--rate", "100", "--cell-time", "2s", "--json", "--svg", svg)
	if len(rep.Cells) != 2 || rep.Stopped != "" {
		t.Fatalf("%d cells, stopped %q; want 2", len(rep.Cells), rep.Stopped)
	}
	for i, c := range rep.Cells {
		t.Logf("%d links at %.1f/s: %d dumps, P(1) %+v, P(5) %+v, budgets %v %q", c.Links, c.Rate, c.Dumps, c.Fail[0], c.Fail[1], c.Need, c.NeedWhy)
		switch {
		case c.Rate <= 0:
			t.Errorf("cell %d links: no churn measured", c.Links)
		case c.Dumps == 0 && (i == 0 || !strings.HasPrefix(c.NeedWhy[0], "no dump finished")):
			t.Errorf("cell %d links: no dump, and %q", c.Links, c.NeedWhy)
		case c.Dumps > 0 && c.Fail[1].P > c.Fail[0].P:
			t.Errorf("cell %d links: 5 attempts failed together more often than 1: %+v", c.Links, c.Fail)
		}
	}
	if data, err := os.ReadFile(svg); err != nil || !strings.Contains(string(data), "<svg") {
		t.Errorf("plot: %v", err)
	}
}

// TestBudgetStoppedPrintsWhatWasMeasured: Ctrl-C during the second cell
// prints the first, says the sweep stopped, exits 130 and leaves nothing.
func TestBudgetStoppedPrintsWhatWasMeasured(t *testing.T) {
	cmd := nltrace(t, "budget", "--links", "100", "--rate", "10,20,30", "--cell-time", "2s")
	var stdout strings.Builder
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stderr)
	for lines.Scan() && !strings.HasPrefix(lines.Text(), "nltrace budget: cell 2/3") {
	}
	cmd.Process.Signal(syscall.SIGINT)
	for lines.Scan() {
	}
	if code := exitStatus(cmd.Wait()); code != exitSignal {
		t.Errorf("exit %d, want %d", code, exitSignal)
	}
	out := stdout.String()
	t.Logf("%s", out)
	if !strings.Contains(out, "stopped early") || !strings.Contains(out, "\n100    10 ") || strings.Contains(out, "\n100    30 ") {
		t.Errorf("want the first cell and a word on the stop:\n%s", out)
	}
	if left := namespacesOf(t, cmd.Process.Pid); len(left) > 0 {
		t.Errorf("namespaces left: %v", left)
	}
}

// TestBudgetExecCountsExhaustedRetries sweeps vishvananda/netlink v1.3.1
// wrapped in a retry loop of 5, as the CNI plugins retry: the share of its
// runs that exhausted the 5 attempts, per cell.
func TestBudgetExecCountsExhaustedRetries(t *testing.T) {
	lab := labClients(t)
	wrapper := filepath.Join(t.TempDir(), "retry5")
	script := `#!/bin/sh
i=1
while :; do
	"$@" && exit 0
	rc=$?
	[ $i -ge 5 ] && exit $rc
	i=$((i + 1))
done
`
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	rep := budgetJSON(t, "--links", "100,300", "--rate", "100", "--cell-time", "4s", "--json", "--exec", "--", wrapper, filepath.Join(lab, "vnl-v1.3.1"))
	if len(rep.Cells) != 2 {
		t.Fatalf("%d cells, want 2", len(rep.Cells))
	}
	for _, c := range rep.Cells {
		if c.Runs == 0 || c.Exhausted == nil || c.Exhausted.N != c.Runs {
			t.Errorf("%d links: %d runs, exhausted %+v", c.Links, c.Runs, c.Exhausted)
			continue
		}
		t.Logf("%d links at %.0f/s: %d of %d runs exhausted 5 attempts (%.1f%%, 95%% %.1f-%.1f%%)",
			c.Links, c.Rate, c.Exhausted.K, c.Runs, 100*c.Exhausted.P, 100*c.Exhausted.Low, 100*c.Exhausted.High)
	}
}
