package report

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nltrace/nltrace/internal/repro"
	"github.com/nltrace/nltrace/nlclient"
)

// result fakes one dump attempt of n chunks, flagged on chunk flag (0: not
// flagged, -1: only NLMSG_DONE).
func result(n, flag, attempt int) *nlclient.Result {
	r := &nlclient.Result{Kind: nlclient.Link, Start: time.Now(), Duration: time.Millisecond, Attempt: attempt}
	for i := 1; i <= n; i++ {
		r.Chunks = append(r.Chunks, nlclient.Chunk{Index: i, Done: i == n})
	}
	switch {
	case flag > 0:
		r.FirstInterrupted = flag
	case flag < 0:
		r.DoneInterrupted = true
	}
	return r
}

func TestCollectorRetry(t *testing.T) {
	c := NewCollector(Setup{Policy: nlclient.Retry, Retries: 3}, []nlclient.Kind{nlclient.Link})
	// 6 dumps: 3 consistent at once, one after 2 attempts (first flagged on
	// chunk 5), one after 3 (first flagged only on DONE), one gave up.
	for range 3 {
		c.Add(repro.Dump{Kind: nlclient.Link, Result: result(10, 0, 1)})
	}
	r2 := result(10, 0, 2)
	r2.Earlier = []*nlclient.Result{result(10, 5, 1)}
	c.Add(repro.Dump{Kind: nlclient.Link, Result: r2})
	r3 := result(10, 0, 3)
	r3.Earlier = []*nlclient.Result{result(10, -1, 1), result(10, 7, 2)}
	c.Add(repro.Dump{Kind: nlclient.Link, Result: r3})
	gave := result(10, 5, 3)
	gave.Earlier = []*nlclient.Result{result(10, 5, 1), result(10, 5, 2)}
	c.Add(repro.Dump{Kind: nlclient.Link, Result: gave})

	k := c.Report(nil, nil).Kinds[0]
	if k.Dumps != 6 || k.Interrupted != 3 || k.DoneOnly != 1 {
		t.Errorf("dumps %d interrupted %d done-only %d; want 6, 3, 1", k.Dumps, k.Interrupted, k.DoneOnly)
	}
	if len(k.Flagged) != 1 || k.Flagged[0] != (Position{Chunk: 5, Dumps: 2}) {
		t.Errorf("flagged %v, want chunk 5 twice", k.Flagged)
	}
	rr := k.Retry
	if rr.Consistent != 5 || rr.GaveUp != 1 || rr.P50 != 1 || rr.Max != 3 || rr.Budget999Reached {
		t.Errorf("retry %+v: want 5 consistent, 1 gave up, p50 1, max 3, 99.9%% not reached", rr)
	}
	if k.FirstInterrupt == nil || k.DumpsToFirstInterrupt != 4 {
		t.Errorf("first interrupt %v after %d dumps, want after dump 4", k.FirstInterrupt, k.DumpsToFirstInterrupt)
	}
}

func TestCollectorConsistencyAndInjection(t *testing.T) {
	c := NewCollector(Setup{Policy: nlclient.Lenient, InjectAt: 3}, []nlclient.Kind{nlclient.Link})
	miss := &nlclient.Consistency{Missing: []nlclient.Key{{Kind: nlclient.Link, Index: 7}}}
	rep := &nlclient.Consistency{Repeated: []nlclient.Key{{Kind: nlclient.Link, Index: 8}, {Kind: nlclient.Link, Index: 9}}}
	ok := &nlclient.Consistency{}
	for _, d := range []repro.Dump{
		{Result: result(10, 5, 1), Consistency: miss, Injection: &repro.Injection{At: 3, Made: true}},
		{Result: result(10, 0, 1), Consistency: rep, Injection: &repro.Injection{At: 3, Made: true}},
		{Result: result(10, 0, 1), Consistency: ok, Injection: &repro.Injection{At: 3}},
	} {
		d.Kind = nlclient.Link
		c.Add(d)
	}
	k := c.Report(nil, func(nlclient.Kind) string { return "none expected" }).Kinds[0]
	want := ConsistencyReport{Checked: 3, Inconsistent: 2, Unflagged: 1, Missing: 1, Repeated: 2, Expected: "none expected"}
	if *k.Consistency != want {
		t.Errorf("consistency %+v, want %+v", *k.Consistency, want)
	}
	if in := *k.Inject; in != (InjectReport{At: 3, Made: 2, NotMade: 1, Flagged: 1, Lost: 1}) {
		t.Errorf("inject %+v", in)
	}
	var sb strings.Builder
	if err := c.Report(nil, nil).WriteText(&sb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sb.String(), "lost in 1") || !strings.Contains(sb.String(), "did not show it") {
		t.Errorf("text report does not say the change was lost:\n%s", sb.String())
	}
}

func TestCollectorExec(t *testing.T) {
	c := NewCollector(Setup{}, nil)
	cmd := []string{"client"}
	c.AddExec(cmd, repro.ExecRun{ExitCode: 1, Symptoms: []string{"interrupted system call"}})
	c.AddExec(cmd, repro.ExecRun{ExitCode: 0})
	c.AddExec(cmd, repro.ExecRun{ExitCode: -1, TimedOut: true})
	c.AddExec(cmd, repro.ExecRun{ExitCode: -1, Signal: "SIGKILL", CutShort: true, Symptoms: []string{"interrupted system call"}})
	r := c.Report(nil, nil)
	e := r.Exec
	if e.Runs != 4 || e.Failed != 2 || e.CutShort != 1 || e.Symptoms[0] != (Count{"interrupted system call", 2}) ||
		!slices.Contains(e.Statuses, Count{repro.CutShort, 1}) {
		t.Errorf("exec %+v: want 4 runs, 2 failed, 1 cut short (a status of its own, its symptom counted)", e)
	}
	var sb strings.Builder
	if err := r.WriteText(&sb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sb.String(), "4 runs, 2 failed, 1 cut short by the end of the run") {
		t.Errorf("the text report does not name the run cut short:\n%s", sb.String())
	}
	if !r.AnyInterrupted() {
		t.Errorf("a symptom in the output is a reproduced interruption")
	}
}
