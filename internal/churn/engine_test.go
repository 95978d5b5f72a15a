package churn

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/nltrace/nltrace/internal/netns"
	"github.com/nltrace/nltrace/internal/testenv"
	"github.com/nltrace/nltrace/nlclient"
)

// start builds an engine that the test removes even when it fails.
func start(t testing.TB, cfg Config) *Engine {
	t.Helper()
	testenv.Root(t)
	e, err := Start(context.Background(), cfg)
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

func TestStartPopulates(t *testing.T) {
	e := start(t, Config{Links: 41, Addrs: 20, Addrs6: 20, Nexthops: 10, Neighs: 30, Mix: Mix{LinkOps: 1}})
	if testenv.Required("dummy") && e.LinkKind() != "dummy" {
		t.Errorf("link kind %q, want dummy where the kernel has it", e.LinkKind())
	}
	c, err := nlclient.Dial(e.Target())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, k := range []nlclient.Kind{nlclient.Link, nlclient.Addr4, nlclient.Addr6, nlclient.Nexthop, nlclient.Neigh, nlclient.Route4, nlclient.Route6} {
		stable := e.Stable(k)
		r, err := c.Dump(context.Background(), k, nlclient.Options{})
		if err != nil {
			t.Fatalf("%v dump: %v", k, err)
		}
		if cons := nlclient.Check(r, stable); !cons.OK() {
			t.Errorf("%v: populated objects missing or repeated: %+v", k, cons)
		}
		want := map[nlclient.Kind]int{nlclient.Link: 42, nlclient.Addr4: 20, nlclient.Addr6: 20, nlclient.Nexthop: 10, nlclient.Neigh: 30,
			// A local route per address.
			nlclient.Route4: 20, nlclient.Route6: 20}[k]
		if len(stable) < want {
			t.Errorf("%v: %d stable objects, want at least %d", k, len(stable), want)
		}
	}
}

func TestCloseRemovesNamespaces(t *testing.T) {
	testenv.Root(t)
	e, err := Start(context.Background(), Config{Links: 3, Mix: Mix{LinkOps: 1}})
	if err != nil {
		t.Fatal(err)
	}
	name := e.Name()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{name, name + awaySuffix} {
		if _, err := os.Stat(netns.Path(n)); !os.IsNotExist(err) {
			t.Errorf("namespace %s still there after Close (stat: %v)", n, err)
		}
	}
}

func TestRunDoesEveryOperation(t *testing.T) {
	e := start(t, Config{Links: 8, Addrs: 1, Mix: Mix{1, 1, 1, 1, 1, 1, 1}, Workers: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := e.Run(ctx); err != nil {
		t.Fatalf("run: %v", err)
	}
	c := e.Counts()
	for _, k := range OpKinds() {
		if c.Ops[k] == 0 {
			t.Errorf("no %v operation in 0.5 s", k)
		}
	}
	if c.Errors != 0 {
		t.Errorf("%d failed operations", c.Errors)
	}
}
