package churn

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/nltrace/nltrace/internal/panics"
	"github.com/nltrace/nltrace/nlclient"
)

// Run churns until ctx ends, and returns the first error of a worker (an
// operation the kernel refused, or a worker's panic).
func (e *Engine) Run(ctx context.Context) error {
	if e.cfg.Mix.Empty() {
		return errors.New("empty churn mix")
	}
	var p *pacer
	if e.cfg.Rate > 0 {
		p = &pacer{start: time.Now(), interval: time.Duration(float64(time.Second) / e.cfg.Rate)}
	}
	e.mu.Lock()
	e.started, e.stopped = time.Now(), time.Time{}
	e.mu.Unlock()
	g, ctx := errgroup.WithContext(ctx)
	for id := range e.cfg.Workers {
		g.Go(panics.Guard(fmt.Sprintf("churn worker %d", id), func() error { return e.work(ctx, id, p) }))
	}
	err := g.Wait()
	e.mu.Lock()
	e.stopped = time.Now()
	e.mu.Unlock()
	return err
}

// worker is one churner's state: each owns its own churn link, addresses
// and nexthop, so workers never race on one object.
type worker struct {
	e        *Engine
	id       int
	main     *nlclient.Client
	away     *nlclient.Client
	where    int // where the churn link is: none, home or away
	addr4    bool
	addr6    bool
	nexthop  bool
	neigh    bool
	up       bool
	upIndex  int32
	linkName string
}

const (
	nowhere = iota
	home
	away
)

func (e *Engine) work(ctx context.Context, id int, p *pacer) error {
	w := &worker{e: e, id: id, linkName: fmt.Sprintf("ch-%d", id)}
	var err error
	if w.main, err = nlclient.Dial(e.Target()); err != nil {
		return err
	}
	defer w.main.Close()
	if w.away, err = nlclient.Dial(nlclient.Target{Path: e.awayNS.Name()}); err != nil {
		return err
	}
	defer w.away.Close()
	// Each worker toggles a stable link of its own, counted from the end
	// so that the address host (the first) keeps its state.
	w.upIndex = e.linkIdx[len(e.linkIdx)-1-id%len(e.linkIdx)]
	s := newScheduler(e.cfg.Mix, id)
	for {
		if err := p.wait(ctx); err != nil {
			return nil
		}
		if ctx.Err() != nil {
			return nil
		}
		done, err := w.do(s.next())
		if err != nil {
			e.errs.Add(1)
			return fmt.Errorf("churn worker %d: %w", id, err)
		}
		e.counts[done].Add(1)
		e.busyOnce.Do(func() { close(e.busy) })
	}
}

// do runs one operation of the kind and returns the kind it really ran: a
// link that is away must come home before it can be deleted, and a link
// must exist before it can move.
func (w *worker) do(k OpKind) (OpKind, error) {
	switch k {
	case LinkOps, NetnsOps:
		return w.linkOp(k)
	case Addr4Ops:
		w.addr4 = !w.addr4
		if w.addr4 {
			return k, w.main.AddAddr(w.e.linkIdx[0], churnAddr4(w.id))
		}
		return k, w.main.DeleteAddr(w.e.linkIdx[0], churnAddr4(w.id))
	case Addr6Ops:
		w.addr6 = !w.addr6
		if w.addr6 {
			return k, w.main.AddAddr(w.e.linkIdx[0], churnAddr6(w.id))
		}
		return k, w.main.DeleteAddr(w.e.linkIdx[0], churnAddr6(w.id))
	case UpOps:
		w.up = !w.up
		return k, w.main.SetLinkUp(w.upIndex, w.up)
	case NexthopOps:
		w.nexthop = !w.nexthop
		id := uint32(1<<24 + w.id)
		if w.nexthop {
			return k, w.main.AddNexthop(id)
		}
		return k, w.main.DeleteNexthop(id)
	case NeighOps:
		w.neigh = !w.neigh
		if w.neigh {
			return k, w.main.AddNeigh(w.e.linkIdx[0], churnNeigh(w.id))
		}
		return k, w.main.DeleteNeigh(w.e.linkIdx[0], churnNeigh(w.id))
	}
	return k, fmt.Errorf("unknown churn operation %v", k)
}

func (w *worker) linkOp(k OpKind) (OpKind, error) {
	switch {
	case w.where == nowhere:
		w.where = home
		return LinkOps, w.main.AddLink(w.linkName, w.e.kind, fmt.Sprintf("cp-%d", w.id))
	case w.where == away:
		idx, err := w.away.LinkIndex(w.linkName)
		if err != nil {
			return NetnsOps, err
		}
		w.where = home
		return NetnsOps, w.away.MoveLink(idx, int(w.e.mainNS.Fd()))
	}
	idx, err := w.main.LinkIndex(w.linkName)
	if err != nil {
		return k, err
	}
	if k == NetnsOps {
		w.where = away
		return NetnsOps, w.main.MoveLink(idx, int(w.e.awayNS.Fd()))
	}
	w.where = nowhere
	return LinkOps, w.main.DeleteLink(idx)
}

// pacer spaces the operations of all workers to a target rate. A nil pacer
// does not wait.
type pacer struct {
	start    time.Time
	interval time.Duration
	n        atomic.Int64
}

func (p *pacer) wait(ctx context.Context) error {
	if p == nil {
		return nil
	}
	at := p.start.Add(time.Duration(p.n.Add(1)-1) * p.interval)
	d := time.Until(at)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
