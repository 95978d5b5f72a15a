package repro_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/internal/churn"
	"github.com/nltrace/nltrace/internal/kernel"
	"github.com/nltrace/nltrace/internal/report"
	. "github.com/nltrace/nltrace/internal/repro"
	"github.com/nltrace/nltrace/internal/testenv"
	"github.com/nltrace/nltrace/nlclient"
)

// testLinks keeps the tests quick in the emulated kernel matrix while giving
// link dumps a dozen chunks or more.
const testLinks = 300

// engine builds a churn engine that the test removes even when it fails.
func engine(t *testing.T, cfg churn.Config) *churn.Engine {
	t.Helper()
	testenv.Root(t)
	e, err := churn.Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start churn engine: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return e
}

// collect runs the dumpers and returns every dump.
func collect(t *testing.T, ctx context.Context, cfg Config) []Dump {
	t.Helper()
	var mu sync.Mutex
	var dumps []Dump
	err := Run(ctx, cfg, func(d Dump) {
		mu.Lock()
		defer mu.Unlock()
		dumps = append(dumps, d)
	})
	if err != nil {
		t.Fatalf("dumpers: %v", err)
	}
	return dumps
}

// churning runs the engine until the test ends.
func churning(t *testing.T, e *churn.Engine) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("churn: %v", err)
		}
	})
}

func TestChurnInterruptsLinkDumps(t *testing.T) {
	e := engine(t, churn.Config{Links: testLinks, Mix: churn.Mix{churn.LinkOps: 3, churn.NetnsOps: 1}, Workers: 2})
	churning(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var mu sync.Mutex
	dumps, interrupted := 0, 0
	err := Run(ctx, Config{Target: e.Target(), Kinds: []nlclient.Kind{nlclient.Link}, Dumpers: 2, Dumps: 2000,
		Options: nlclient.Options{Policy: nlclient.Strict}}, func(d Dump) {
		mu.Lock()
		defer mu.Unlock()
		dumps++
		if d.Result.Interrupted() {
			interrupted++
			if d.Err == nil {
				t.Errorf("strict policy returned an interrupted dump without an error")
			}
			if interrupted == 5 {
				cancel()
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d of %d link dumps interrupted", interrupted, dumps)
	if interrupted == 0 {
		t.Errorf("no link dump interrupted in %d dumps under link churn", dumps)
	}
}

// injectRun is one deterministic run: a fresh namespace, dumps with one
// change after chunk k. It returns the flagged chunk of each dump (0: lost)
// and the dumps' chunk count.
func injectRun(t *testing.T, k, dumps int) (flagged []int, chunks int) {
	e := engine(t, churn.Config{Links: testLinks})
	got := collect(t, context.Background(), Config{Target: e.Target(), Kinds: []nlclient.Kind{nlclient.Link},
		Dumps: dumps, InjectAt: k, Inject: e.Inject, Revert: e.Revert})
	if len(got) != dumps {
		t.Fatalf("%d dumps, want %d", len(got), dumps)
	}
	for _, d := range got {
		if !d.Injection.Made {
			t.Fatalf("inject-at %d: no change made in a dump of %d chunks", k, len(d.Result.Chunks))
		}
		flagged = append(flagged, d.Result.FirstInterrupted)
		chunks = len(d.Result.Chunks)
	}
	return flagged, chunks
}

func TestInjectAtFlagsTheSameChunk(t *testing.T) {
	for _, k := range []int{1, 4} {
		t.Run(fmt.Sprint("K=", k), func(t *testing.T) {
			var want int
			for run := range 2 {
				flagged, _ := injectRun(t, k, 5)
				if run == 0 {
					want = flagged[0]
				}
				for i, c := range flagged {
					if c != want || c == 0 {
						t.Fatalf("run %d dump %d flagged chunk %d, want %d every time (all: %v)", run, i, c, want, flagged)
					}
				}
			}
			// docs/kernel.md: chunk K+1 is built before the change.
			t.Logf("a change after chunk %d is flagged on chunk %d", k, want)
			if want != k+2 {
				t.Logf("not K+2 as measured on 6.1, 6.12 and 6.18")
			}
		})
	}
}

func TestInjectAtReportsTheLostWindow(t *testing.T) {
	_, chunks := injectRun(t, 1, 1)
	// The last data chunk is chunks-1 (the last chunk holds NLMSG_DONE); a
	// change after it can never be flagged.
	last := chunks - 1
	flagged, _ := injectRun(t, last, 3)
	for i, c := range flagged {
		if c != 0 {
			t.Errorf("dump %d: a change after the last data chunk %d was flagged on chunk %d", i, last, c)
		}
	}
}

// TestLenientCountsSilentInconsistencies measures, per kernel, how often
// link and address dumps are interrupted under churn and whether the data
// of lenient dumps was really wrong; the kernel matrix logs these figures.
func TestLenientCountsSilentInconsistencies(t *testing.T) {
	var uts unix.Utsname
	unix.Uname(&uts)
	release := unix.ByteSliceToString(uts.Release[:])
	tests := []struct {
		kind nlclient.Kind
		cfg  churn.Config
	}{
		{nlclient.Link, churn.Config{Links: testLinks, Mix: churn.Mix{churn.LinkOps: 1, churn.NetnsOps: 1}}},
		{nlclient.Addr4, churn.Config{Links: 10, Addrs: 1000, Mix: churn.MixFor([]nlclient.Kind{nlclient.Addr4})}},
		{nlclient.Addr6, churn.Config{Links: 10, Addrs6: 1000, Mix: churn.MixFor([]nlclient.Kind{nlclient.Addr6})}},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			tt.cfg.Workers = 2
			e := engine(t, tt.cfg)
			churning(t, e)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			kinds := []nlclient.Kind{tt.kind}
			coll := report.NewCollector(report.Setup{Policy: nlclient.Lenient}, kinds)
			if err := Run(ctx, Config{Target: e.Target(), Kinds: kinds, Dumpers: 2, Stable: e.Stable}, coll.Add); err != nil {
				t.Fatal(err)
			}
			k := coll.Report(nil, nil).Kinds[0]
			c := k.Consistency
			if c == nil || c.Checked != k.Dumps || k.Dumps == 0 {
				t.Fatalf("consistency %+v of %d dumps: want every dump checked", c, k.Dumps)
			}
			t.Logf("kernel %s, %v: %d dumps, %d interrupted (%.0f%%), %d inconsistent (%d missed, %d repeated, %d without the flag)",
				release, tt.kind, k.Dumps, k.Interrupted, 100*float64(k.Interrupted)/float64(k.Dumps),
				c.Inconsistent, c.Missing, c.Repeated, c.Unflagged)
			// Addresses are walked by position within their device on every
			// kernel, so only devices have a prediction to hold the kernel to.
			if k := kernel.Running(); k.Walk == kernel.WalkIndex && tt.kind == nlclient.Link && c.Missing > 0 {
				t.Errorf("kernel %s walks devices by ifindex (%s), yet %d stable links were missed", release, k.WalkSource, c.Missing)
			}
		})
	}
}

func TestExecCountsFailuresInTheNamespace(t *testing.T) {
	e := engine(t, churn.Config{Links: 2})
	f, err := os.Open(e.Target().Path)
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	unix.Fstat(int(f.Fd()), &st)
	f.Close()
	// Exits 3 inside the namespace, 4 outside: proves where it ran.
	script := fmt.Sprintf(`echo "netlink: Dump was interrupted and may be inconsistent." >&2
[ "$(readlink /proc/self/ns/net)" = "net:[%d]" ] && exit 3
exit 4`, st.Ino)
	var runs []ExecRun
	err = RunExec(context.Background(), ExecConfig{Command: []string{"sh", "-c", script}, NetNS: e.Target().Path,
		Timeout: 10 * time.Second, Runs: 3}, func(r ExecRun) { runs = append(runs, r) })
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 3 {
		t.Fatalf("%d runs, want 3", len(runs))
	}
	for _, r := range runs {
		if r.Status() != "exit 3" || len(r.Symptoms) != 1 || r.Symptoms[0] != "Dump was interrupted" {
			t.Errorf("run: %s, symptoms %q; want exit 3 (in the namespace) and the iproute2 symptom", r.Status(), r.Symptoms)
		}
		if r.Tail != "netlink: Dump was interrupted and may be inconsistent.\n" {
			t.Errorf("run's output tail %q, want what it printed", r.Tail)
		}
	}
}

func TestExecTimesOut(t *testing.T) {
	e := engine(t, churn.Config{Links: 2})
	var runs []ExecRun
	err := RunExec(context.Background(), ExecConfig{Command: []string{"sh", "-c", "sleep 30"}, NetNS: e.Target().Path,
		Timeout: 200 * time.Millisecond, Runs: 1}, func(r ExecRun) { runs = append(runs, r) })
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || !runs[0].TimedOut || runs[0].Duration > 5*time.Second {
		t.Fatalf("runs %+v: want one timed out run", runs)
	}
}
