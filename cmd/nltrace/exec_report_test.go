package main

import (
	"strings"
	"testing"
)

// A program still running when the run ends is a run, not nothing.
func TestExecRunCutShortIsReported(t *testing.T) {
	s := newSleeper(t, 3)
	const cut = "cut short by the end of the run"
	r := runReport(t, "dump", "--churn", "--links", "2", "--duration", "2s", "--json", "--exec", "--",
		"sh", "-c", "echo 'failed to list links: interrupted system call'; exec sleep "+string(s))
	e := r.Exec
	if e == nil {
		t.Fatalf("no exec section: the program still running at the end was dropped\n%s", r.out)
	}
	if e.Runs != 1 || len(e.Statuses) != 1 || e.Statuses[0].Label != cut || e.Statuses[0].Runs != 1 || e.Failed != 0 {
		t.Errorf("exec report %+v: want one run, %q, none failed", e, cut)
	}
	if e.CutShort != 1 {
		t.Errorf("cut_short %d, want 1", e.CutShort)
	}
	for _, sym := range e.Symptoms {
		if want := sym.Label == "interrupted system call"; (sym.Runs == 1) != want {
			t.Errorf("symptom %q in %d runs: want the output printed before the end counted", sym.Label, sym.Runs)
		}
	}

	text, err := nltrace(t, "dump", "--churn", "--links", "2", "--duration", "1s", "--exec", "--", "sleep", string(s)).Output()
	if err != nil {
		t.Fatalf("nltrace: %v\n%s", err, text)
	}
	if !strings.Contains(string(text), cut) {
		t.Errorf("the text report does not name the run cut short:\n%s", text)
	}
}
