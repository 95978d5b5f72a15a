package churn

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nltrace/nltrace/internal/netns"
	"github.com/nltrace/nltrace/nlclient"
)

// Config says what to build and how to churn it.
type Config struct {
	Links    int    // stable devices (veth pairs count as two; an odd count is rounded up)
	LinkKind string // "auto" (dummy, else veth), "dummy", "veth", ...
	Addrs    int    // stable IPv4 addresses
	Addrs6   int    // stable IPv6 addresses
	Nexthops int    // stable nexthops
	Neighs   int    // stable IPv4 neighbour entries, on the first link like the addresses
	Mix      Mix
	Rate     float64 // operations per second over all workers; 0 = as fast as possible
	Workers  int
	// Progress, when set, is called while populating.
	Progress func(what string, done, total int)
}

// Engine owns a namespace (and its second one) for the length of a run.
type Engine struct {
	cfg      Config
	name     string
	kind     string // the link kind in use
	mainNS   *os.File
	awayNS   *os.File
	ctl      *nlclient.Client // populating and injected changes
	stable   map[nlclient.Kind][]nlclient.Key
	linkIdx  []int32         // stable links' indexes, in creation order
	injected [numInject]bool // what Inject added and Revert has not removed

	busy     chan struct{} // closed once the first operation succeeded
	busyOnce sync.Once
	counts   [numOpKinds]atomic.Uint64
	errs     atomic.Uint64
	started  time.Time
	stopped  time.Time
	mu       sync.Mutex
}

// Start creates the namespaces and populates them. On error nothing is left.
// The caller must Close the engine, also after a panic: defer it right away.
func Start(ctx context.Context, cfg Config) (e *Engine, err error) {
	if cfg.Links < 1 {
		return nil, fmt.Errorf("links %d: want at least 1 (addresses and churn need a device)", cfg.Links)
	}
	if cfg.Workers < 1 {
		cfg.Workers = 1
	}
	if cfg.LinkKind == "" {
		cfg.LinkKind = "auto"
	}
	if cfg.Rate < 0 {
		return nil, fmt.Errorf("churn rate %v: want >= 0 operations per second", cfg.Rate)
	}
	// Deleting a device's last IPv4 address disables IP on it, which
	// flushes its neighbour entries, permanent ones too (fib_disable_ip).
	if (cfg.Neighs > 0 || cfg.Mix[NeighOps] > 0) && cfg.Mix[Addr4Ops] > 0 && cfg.Addrs == 0 {
		return nil, errors.New("neighbour entries and addr4 churn need stable IPv4 addresses: deleting the churned address, the link's last, would flush the neighbours")
	}
	e = &Engine{cfg: cfg, name: newName(), busy: make(chan struct{})}
	defer func() {
		if err != nil {
			err = errors.Join(err, e.Close())
			e = nil
		}
	}()
	if e.mainNS, err = newNamespace(e.name); err != nil {
		return e, err
	}
	if e.awayNS, err = newNamespace(e.name + awaySuffix); err != nil {
		return e, err
	}
	if e.ctl, err = nlclient.Dial(e.Target()); err != nil {
		return e, err
	}
	if err := e.populate(ctx); err != nil {
		return e, err
	}
	return e, nil
}

// Name is the main namespace's name under /run/netns.
func (e *Engine) Name() string { return e.name }

// Target is the main namespace, for dumpers.
func (e *Engine) Target() nlclient.Target { return nlclient.Target{Path: netns.Path(e.name)} }

// LinkKind is the kind of link in use ("dummy" or "veth" under "auto").
func (e *Engine) LinkKind() string { return e.kind }

// Stable returns the keys of the objects of a dump kind that exist for the
// whole run: the populated ones, and lo for links. Nil when the run has no
// stable objects of that kind.
func (e *Engine) Stable(k nlclient.Kind) []nlclient.Key { return e.stable[k] }

// Close removes both namespaces. It is safe to call more than once and on a
// half-built engine.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var errs []error
	if e.ctl != nil {
		e.ctl.Close()
		e.ctl = nil
	}
	// Removed while still held: a namespace seen unlocked is a leftover to
	// `nltrace cleanup`. Only what this engine made: a name that was taken
	// is someone else's.
	for _, ns := range []struct {
		f    **os.File
		name string
	}{{&e.awayNS, e.name + awaySuffix}, {&e.mainNS, e.name}} {
		if *ns.f != nil {
			errs = append(errs, netns.Delete(ns.name))
			(*ns.f).Close()
			*ns.f = nil
		}
	}
	return errors.Join(errs...)
}

// Busy is closed once Run has made its first change: dumps started after
// it meet churn from their first chunk.
func (e *Engine) Busy() <-chan struct{} { return e.busy }

// Counts is how many operations of each kind succeeded, and over how long.
type Counts struct {
	Ops     [numOpKinds]uint64
	Errors  uint64
	Elapsed time.Duration
}

// Counts returns the operations done so far.
func (e *Engine) Counts() Counts {
	var c Counts
	for k := range c.Ops {
		c.Ops[k] = e.counts[k].Load()
	}
	c.Errors = e.errs.Load()
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.started.IsZero():
	case e.stopped.IsZero():
		c.Elapsed = time.Since(e.started)
	default:
		c.Elapsed = e.stopped.Sub(e.started)
	}
	return c
}
