package check

import (
	"bytes"
	"encoding/xml"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nltrace/nltrace/internal/field"
	"github.com/nltrace/nltrace/internal/repro"
)

func TestCompareRegressed(t *testing.T) {
	tests := []struct {
		c         compare
		base, now int
		want      bool
	}{
		{exact, 2, 2, false}, {exact, 2, 0, true}, {exact, 0, 2, true},
		{seenIsWorse, 0, 0, false}, {seenIsWorse, 0, 1, true}, {seenIsWorse, 1, 0, false}, {seenIsWorse, 3, 7, false},
		{unseenIsWorse, 1, 0, true}, {unseenIsWorse, 1, 1, false}, {unseenIsWorse, 0, 1, false},
		{lowerIsWorse, 100, 99, false}, {lowerIsWorse, 100, 98, true}, {lowerIsWorse, 90, 100, false},
	}
	for _, tt := range tests {
		if got := tt.c.regressed(tt.base, tt.now); got != tt.want {
			t.Errorf("compare %d: baseline %d, now %d: regressed %v, want %v", tt.c, tt.base, tt.now, got, tt.want)
		}
	}
}

func def(name string, c compare, e *expectation) checkDef {
	return checkDef{name: name, measure: "m", compare: c, expect: func(Features) *expectation { return e }}
}

func TestJudge(t *testing.T) {
	two := &expectation{"2", "docs", is(2)}
	got := map[string]fact{"a": {value: 2, text: "two"}, "b": {value: 0, text: "none"}, "s": {skip: "no nexthops"}}
	tests := []struct {
		name string
		d    checkDef
		b    *Baseline
		err  error
		want Verdict
	}{
		{"holds", def("a", exact, two), nil, nil, Pass},
		{"broken", def("b", exact, two), nil, nil, Regression},
		{"nothing expected", def("b", exact, nil), nil, nil, Measured},
		{"skipped", def("s", exact, two), nil, nil, Skipped},
		{"measurement failed", def("a", exact, two), nil, errors.New("EPERM"), Error},
		{"no fact", def("z", exact, two), nil, nil, Error},
		// A baseline replaces the default expectation, both ways.
		{"baseline agrees", def("b", exact, two), &Baseline{Kernel: "k", Facts: map[string]int{"b": 0}}, nil, Pass},
		{"baseline differs", def("a", exact, nil), &Baseline{Kernel: "k", Facts: map[string]int{"a": 0}}, nil, Regression},
		{"baseline lacks the fact", def("a", exact, two), &Baseline{Kernel: "k", Facts: map[string]int{"x": 0}}, nil, Pass},
	}
	for _, tt := range tests {
		o := judge(tt.d, Features{}, tt.b, got, tt.err, time.Second)
		if o.Verdict != tt.want {
			t.Errorf("%s: verdict %s (%+v), want %s", tt.name, o.Verdict, o, tt.want)
		}
		if o.Verdict == Regression && (o.Expect == "" || o.Measured == "") {
			t.Errorf("%s: a regression must say what was expected and measured: %+v", tt.name, o)
		}
	}
}

func TestClientJudge(t *testing.T) {
	eintr := repro.ExecRun{ExitCode: 1, Symptoms: []string{"interrupted system call"}}
	warned := repro.ExecRun{ExitCode: 3, Symptoms: []string{"results may be incomplete or inconsistent"}}
	clean := repro.ExecRun{ExitCode: 0}
	tests := []struct {
		name        string
		c           Client
		r           repro.ExecRun
		failed, bad bool
	}{
		{"v1.2.1 EINTR", Client{}, eintr, true, true},
		{"v1.2.1 EINTR, other symptom allowed", Client{Allow: []string{"results may be incomplete"}}, eintr, true, true},
		{"v1.3.1 warning, not allowed", Client{}, warned, true, true},
		{"v1.3.1 warning allowed", Client{Allow: []string{"Results may be incomplete"}}, warned, false, false},
		{"exit 3 allowed", Client{Exit: []int{3}}, warned, false, true},
		{"0 is always allowed", Client{Exit: []int{3}}, clean, false, false},
		{"clean", Client{}, clean, false, false},
		{"killed after an allowed warning", Client{Allow: []string{"results may be"}}, repro.ExecRun{ExitCode: -1, Signal: "killed", Symptoms: warned.Symptoms}, true, false},
	}
	for _, tt := range tests {
		failed, forbidden := tt.c.judge(tt.r)
		if failed != tt.failed || (len(forbidden) > 0) != tt.bad {
			t.Errorf("%s: failed %v, forbidden %v; want failed %v, forbidden %v", tt.name, failed, forbidden, tt.failed, tt.bad)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	client := func(c Client) *Client {
		c.Command, c.Duration = []string{"true"}, time.Second
		return &c
	}
	tests := []struct {
		cfg   Config
		field string
	}{
		{Config{}, "Churn"},
		{Config{Churn: time.Second, Only: []string{"bogus"}}, "Only"},
		{Config{Churn: time.Second, Only: []string{"client/exit"}}, "Only"}, // no client
		{Config{Churn: time.Second, Client: client(Client{Allow: []string{"no such text"}})}, "Client.Allow"},
		{Config{Churn: time.Second, Client: client(Client{Allow: []string{" "}})}, "Client.Allow"},
		{Config{Churn: time.Second, Client: client(Client{Exit: []int{256}})}, "Client.Exit"},
		{Config{Churn: time.Second, Client: &Client{Command: []string{"true"}}}, "Client.Duration"},
		{Config{Churn: time.Second, Baseline: &Baseline{Facts: map[string]int{"lost-windw": 0}}}, "Baseline"},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		var fe *field.Error
		if !errors.As(err, &fe) || fe.Field != tt.field {
			t.Errorf("%+v: %v, want an error on %s", tt.cfg, err, tt.field)
		}
	}
	ok := Config{Churn: time.Second, Only: []string{"link/", "lost-window"}, Client: client(Client{Allow: []string{"results may be incomplete"}})}
	if err := ok.Validate(); err != nil {
		t.Errorf("a good configuration: %v", err)
	}
	if got := ok.selected(); len(got) != 5 {
		t.Errorf("--only link/ lost-window selected %d checks, want the 4 link checks and lost-window", len(got))
	}
}

func results() []*Result {
	v := func(n int) *int { return &n }
	return []*Result{{Kernel: "6.1.0-57-cloud-amd64", Secs: 30, Boot: 40, Accel: "tcg", Checks: []Outcome{
		{Name: "flag-position", Value: v(2), Measured: "on chunk K+2", Expect: "K+2", Because: "docs", Verdict: Pass, Secs: 1},
		{Name: "lost-window", Value: v(2), Measured: "2 chunks", Expect: "0, as on the baseline", Because: "baseline", Verdict: Regression, Secs: 1},
		{Name: "nexthop/flagged", Measured: "no nexthops", Verdict: Skipped},
		{Name: "attribution", Measured: "probe: EPERM <&>", Verdict: Error},
	}}}
}

// TestJUnitReadsBack parses the XML as a CI system would, and finds each
// verdict where JUnit readers look for it.
func TestJUnitReadsBack(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, results()); err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, buf.String())
	}
	s := doc.Suites[0]
	if s.Tests != 4 || s.Failures != 1 || s.Skipped != 1 || s.Errors != 1 || s.Time != 40 {
		t.Errorf("suite counts %+v", s)
	}
	if f := s.Cases[1].Failure; f == nil || !strings.Contains(f.Message, "expected 0, as on the baseline") || s.Cases[1].Name != "lost-window" {
		t.Errorf("the regression's failure: %+v", s.Cases[1])
	}
	if s.Cases[3].Error == nil || s.Cases[3].Error.Message != "probe: EPERM <&>" {
		t.Errorf("the error: %+v", s.Cases[3])
	}
}

func TestStatus(t *testing.T) {
	r := results()
	if got := Status(r); got != StatusError {
		t.Errorf("with an error: status %d, want %d", got, StatusError)
	}
	r[0].Checks = r[0].Checks[:3]
	if got := Status(r); got != StatusRegression {
		t.Errorf("with a regression: status %d, want %d", got, StatusRegression)
	}
	if got := Regressions(r); len(got) != 1 || got[0] != "6.1.0-57-cloud-amd64: lost-window" {
		t.Errorf("regressions %q", got)
	}
	r[0].Checks = r[0].Checks[:1]
	if got := Status(r); got != StatusOK {
		t.Errorf("all passed: status %d", got)
	}
	r = append(r, &Result{Kernel: "6.12", Err: "guest never answered"})
	if got := Status(r); got != StatusError {
		t.Errorf("a kernel not checked: status %d", got)
	}
}

func TestTableShowsWhatFailed(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTable(&buf, results(), false); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"REGRESSION (2)", "lost-window: REGRESSION: 2 chunks", "expected 0, as on the baseline", "40.0s (tcg)", "ERROR:"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "flag-position: PASS") {
		t.Errorf("passed checks are detailed without --verbose:\n%s", out)
	}
}

// TestBaselineFromOtherCPUs: whether a race was seen is only held to a
// baseline measured with as many CPUs; exact facts always are.
func TestBaselineFromOtherCPUs(t *testing.T) {
	b := &Baseline{Kernel: "6.1", CPUs: 1, Facts: map[string]int{"addr6/unflagged": 0, "lost-window": 0}}
	got := map[string]fact{"addr6/unflagged": {value: 1, text: "10 of 1861"}, "lost-window": {value: 2, text: "2"}}
	two := Features{CPUs: 2}
	o := judge(def("addr6/unflagged", seenIsWorse, nil), two, b, got, nil, 0)
	if o.Verdict != Measured || !strings.Contains(o.Because, "1 CPUs and this run has 2") {
		t.Errorf("a race fact against a 1-CPU baseline on 2 CPUs: %+v", o)
	}
	if o := judge(def("addr6/unflagged", seenIsWorse, nil), Features{CPUs: 1}, b, got, nil, 0); o.Verdict != Regression {
		t.Errorf("the same on 1 CPU: %+v", o)
	}
	if o := judge(def("lost-window", exact, nil), two, b, got, nil, 0); o.Verdict != Regression {
		t.Errorf("an exact fact on 2 CPUs: %+v", o)
	}
}
