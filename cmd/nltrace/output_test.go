package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nltrace/nltrace/internal/netns"
	"github.com/nltrace/nltrace/internal/report"
	"github.com/nltrace/nltrace/internal/testenv"
)

// TestJSONIsOneDocument checks that --json prints one report in every
// mode, the caller's namespace included.
func TestJSONIsOneDocument(t *testing.T) {
	path := testenv.NetNS(t)
	for _, args := range [][]string{
		{"dump", "--netns", path, "--kind", "link,route4", "--dumps", "3", "--json"},
		{"dump", "--churn", "--links", "20", "--dumps", "3", "--json", "--trace=false"},
	} {
		r := runReport(t, args...)
		if len(r.Kinds) != 2 && len(r.Kinds) != 1 || r.Kinds[0].Dumps != 3 {
			t.Errorf("%q: report %s", args, r.out)
		}
		dec := json.NewDecoder(bytes.NewReader(r.out))
		var first, second any
		if err := dec.Decode(&first); err != nil || dec.Decode(&second) == nil {
			t.Errorf("%q: want exactly one JSON document:\n%s", args, r.out)
		}
	}
}

// TestJSONLinesRecords checks the streaming output: a dump record per
// dump, an exec_run record per run, and the report last, agreeing with
// the records.
func TestJSONLinesRecords(t *testing.T) {
	cmd := nltrace(t, "dump", "--churn", "--links", "20", "--duration", "1s", "--dumpers", "1", "--json-lines", "--trace=false",
		"--exec", "--", "true")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nltrace: %v\n%s", err, stderr.String())
	}
	counts := map[string]int{}
	var last report.Record
	lines := bufio.NewScanner(bytes.NewReader(out))
	for lines.Scan() {
		var rec report.Record
		if err := json.Unmarshal(lines.Bytes(), &rec); err != nil {
			t.Fatalf("line %q: %v", lines.Text(), err)
		}
		counts[rec.Type]++
		last = rec
	}
	if counts[report.TypeReport] != 1 || last.Type != report.TypeReport || last.Report.Exec == nil {
		t.Fatalf("records %v, last %q: want the report last, with the program's runs\n%s", counts, last.Type, out)
	}
	if counts[report.TypeDump] == 0 || counts[report.TypeDump] != last.Report.Kinds[0].Dumps {
		t.Errorf("%d dump records, report counts %d dumps", counts[report.TypeDump], last.Report.Kinds[0].Dumps)
	}
	if counts[report.TypeExecRun] == 0 || counts[report.TypeExecRun] != last.Report.Exec.Runs {
		t.Errorf("%d exec_run records, report counts %d runs", counts[report.TypeExecRun], last.Report.Exec.Runs)
	}
}

// TestClosedOutputEndsTheRun checks that a reader that goes away (`| head
// -1`, a failing `| jq`) ends the run, and that the run still removes its
// namespace.
func TestClosedOutputEndsTheRun(t *testing.T) {
	cmd := nltrace(t, "dump", "--churn", "--links", "100", "--duration", "5m", "--json-lines", "--trace=false")
	stdout, err := cmd.StdoutPipe()
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
	first, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		t.Fatalf("no first record: %v", err)
	}
	if !strings.HasPrefix(first, `{"type":"dump"`) {
		t.Errorf("first record %q", first)
	}
	stdout.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("still running 60 s after its output was closed")
	}
	if left := namespacesOf(t, pid); len(left) > 0 {
		t.Errorf("namespaces left after the output closed: %v", left)
	}
}
