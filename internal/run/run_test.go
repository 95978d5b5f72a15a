package run

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nltrace/nltrace/internal/churn"
	"github.com/nltrace/nltrace/internal/field"
	"github.com/nltrace/nltrace/internal/netns"
	"github.com/nltrace/nltrace/internal/repro"
	"github.com/nltrace/nltrace/internal/testenv"
	"github.com/nltrace/nltrace/nlclient"
	"github.com/nltrace/nltrace/probe"
)

func TestValidateRejectsBeforeWork(t *testing.T) {
	ns := &churn.Config{Links: 10, Workers: 1, Mix: churn.Mix{churn.LinkOps: 1}}
	for _, tc := range []struct {
		name  string
		cfg   Config
		field string
	}{
		{"no dumpers, no program", Config{Kinds: []nlclient.Kind{nlclient.Link}, Dumps: 1}, "Dumpers"},
		{"endless dumps", Config{Kinds: []nlclient.Kind{nlclient.Link}, Dumpers: 1}, "Dumps"},
		{"endless program", Config{Namespace: ns, Exec: &Exec{Command: []string{"true"}}}, "Exec.Runs"},
		{"missing program", Config{Namespace: ns, Exec: &Exec{Command: []string{"/nonexistent/client"}, Runs: 1}}, "Exec.Command"},
		{"program on the host", Config{Exec: &Exec{Command: []string{"true"}, Runs: 1}}, "Exec"},
		{"injection on the host", Config{Kinds: []nlclient.Kind{nlclient.Link}, Dumpers: 1, Dumps: 1, InjectAt: 2}, "InjectAt"},
		{"injection with churn", Config{Kinds: []nlclient.Kind{nlclient.Link}, Dumpers: 1, Dumps: 1, InjectAt: 2, Namespace: ns}, "Namespace.Mix"},
		{"required trace on the host", Config{Kinds: []nlclient.Kind{nlclient.Link}, Dumpers: 1, Dumps: 1, Trace: Trace{Mode: TraceRequired}}, "Trace.Mode"},
	} {
		err := tc.cfg.Validate()
		var fe *field.Error
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.field+" ") {
			t.Errorf("%s: %v, want an error on %s", tc.name, err, tc.field)
		}
		// Run must refuse it before touching anything.
		if _, err := Run(context.Background(), tc.cfg, Hooks{}); err == nil {
			t.Errorf("%s: Run accepted it", tc.name)
		}
	}
}

func TestRunHostNamespace(t *testing.T) {
	path := testenv.NetNS(t)
	var dumps atomic.Int64
	rep, err := Run(context.Background(), Config{
		Kinds: []nlclient.Kind{nlclient.Link, nlclient.Addr4}, Dumpers: 2, Dumps: 5,
		Target: nlclient.Target{Path: path},
	}, Hooks{Dump: func(repro.Dump) { dumps.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OwnNamespace || rep.NetNS != path || len(rep.Kinds) != 2 || rep.Churn != nil || rep.Trace != nil {
		t.Fatalf("report %+v: want the caller's namespace, two kinds, no churn, no trace", rep)
	}
	for _, k := range rep.Kinds {
		if k.Dumps != 5 || k.Attempts != 5 {
			t.Errorf("%v: %d dumps, %d attempts; want 5 of each", k.Kind, k.Dumps, k.Attempts)
		}
	}
	if dumps.Load() != 10 {
		t.Errorf("the Dump hook saw %d dumps, want 10", dumps.Load())
	}
}

func TestRunOwnNamespaceLeavesNothing(t *testing.T) {
	testenv.Root(t)
	prefix := fmt.Sprintf("%s%d-", churn.Prefix, os.Getpid())
	var start Start
	var statuses atomic.Int64
	rep, err := Run(context.Background(), Config{
		Kinds: []nlclient.Kind{nlclient.Link}, Dumpers: 1, Duration: 1500 * time.Millisecond,
		Namespace: &churn.Config{Links: 20, Workers: 1, Mix: churn.Mix{churn.LinkOps: 1}},
	}, Hooks{Started: func(s Start) { start = s }, Status: func(string) { statuses.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	if !start.OwnNamespace || !strings.HasPrefix(start.NetNS, prefix) || rep.NetNS != start.NetNS {
		t.Errorf("started %+v, report netns %q: want the run's own namespace", start, rep.NetNS)
	}
	if rep.Churn == nil || rep.Kinds[0].Dumps == 0 || rep.Kinds[0].Stable == 0 {
		t.Errorf("report %+v: want dumps, stable links and churn", rep)
	}
	if statuses.Load() == 0 {
		t.Error("no status line in 1.5 s")
	}
	if left, _ := netns.List(prefix); len(left) > 0 {
		t.Errorf("namespaces left behind: %v", left)
	}
}

func TestRunStoppedByCaller(t *testing.T) {
	testenv.Root(t)
	ctx, cancel := context.WithCancelCause(context.Background())
	rep, err := Run(ctx, Config{
		Kinds: []nlclient.Kind{nlclient.Link}, Dumpers: 1, Duration: time.Minute,
		Namespace: &churn.Config{Links: 10, Workers: 1, Mix: churn.Mix{churn.LinkOps: 1}},
	}, Hooks{Started: func(Start) {
		time.AfterFunc(300*time.Millisecond, func() { cancel(errors.New("signal: interrupt")) })
	}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Stopped != "signal: interrupt" || rep.Elapsed > 30 {
		t.Errorf("stopped %q after %.1f s: want the caller's cause, early", rep.Stopped, rep.Elapsed)
	}
}

func TestRequiredTraceFailsBeforePopulating(t *testing.T) {
	testenv.Root(t)
	if p, err := probe.Open(probe.Config{}); err == nil {
		p.Close()
		t.Skip("this kernel can trace: nothing to refuse")
	}
	var populated atomic.Int64
	_, err := Run(context.Background(), Config{
		Kinds: []nlclient.Kind{nlclient.Link}, Dumpers: 1, Dumps: 1, Trace: Trace{Mode: TraceRequired},
		Namespace: &churn.Config{Links: 50, Workers: 1, Mix: churn.Mix{churn.LinkOps: 1}},
	}, Hooks{Populating: func(string, int, int) { populated.Add(1) }})
	if err == nil || populated.Load() > 0 {
		t.Errorf("required trace on a kernel that refuses it: error %v after %d progress calls; want an error before populating", err, populated.Load())
	}
}
