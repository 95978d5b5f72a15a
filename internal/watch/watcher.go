//go:build linux

package watch

import (
	"cmp"
	"context"
	"os"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/internal/correlate"
	"github.com/nltrace/nltrace/probe"
)

// sweepEvery is how often the watcher releases the dumps joined since,
// and looks for overload, when no event comes to do it.
const sweepEvery = 250 * time.Millisecond

// watcher joins the probe's events and keeps the figures.
type watcher struct {
	cfg     Config
	p       *probe.Probe
	self    uint32
	join    *correlate.Joiner
	metrics *metrics
	stop    context.CancelFunc
	// Wall time minus CLOCK_MONOTONIC, to date kernel events.
	wall time.Duration

	mu sync.Mutex // the joiner's callback and the ticker
	// held are the dumps joined and not yet counted: they are counted in
	// the order they started, which retries and runs depend on, while
	// the joiner joins them in the order they end (an abandoned dump
	// late, when its samples stop).
	held        []*joined
	dumpers     *dumpers
	dumps       int
	interrupted int
	explained   int
	drops       uint64
	dropped     [2]int // samples, writers
}

// joined is a dump the joiner let go of: what the figures need, and the
// record when it was interrupted.
type joined struct {
	outcome dumpOutcome
	record  *Interrupted
}

func newWatcher(cfg Config, p *probe.Probe) *watcher {
	w := &watcher{cfg: cfg, p: p, self: uint32(os.Getpid()), dumpers: newDumpers(), metrics: newMetrics(p.Backend.String(), p.Hooks)}
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	w.wall = time.Duration(time.Now().UnixNano() - ts.Nano())
	// Other processes' dumps end when their NLMSG_DONE is queued, or are
	// given up on once their chunks stop for 2 s (a client that stopped
	// reading: vishvananda/netlink v1.2.1 closes its socket mid-dump).
	w.join = correlate.NewJoiner(correlate.JoinerConfig{FromSamples: true, SampleTimeout: 2 * time.Second, OnDump: w.dump})
	return w
}

// event filters the probe's events before the join: nltrace's own dumps,
// and those the filters leave out.
func (w *watcher) event(ev any) {
	switch e := ev.(type) {
	case *probe.Sample:
		if e.PID == w.self || w.cfg.Comm != "" && e.Comm != w.cfg.Comm ||
			w.cfg.Kinds != nil && !slices.Contains(w.cfg.Kinds, kindOf(e)) {
			return
		}
	case *probe.Writer:
		w.mu.Lock()
		w.metrics.writers.WithLabelValues(e.Op.String(), w.metrics.writerComms.value(culpritName(e))).Inc()
		w.mu.Unlock()
	}
	w.join.Event(ev)
}

// dump takes one joined dump while its samples are there (the joiner is
// locked), and holds it until the dumps that started before it are in.
func (w *watcher) dump(d *correlate.Dump) {
	if len(d.Samples) == 0 {
		return
	}
	first, last := d.Samples[0], d.Samples[len(d.Samples)-1]
	o := dumpOutcome{dumper: Process{first.PID, first.TID, first.Comm}, netns: d.NetNS, kind: kindOf(first),
		start: first.Start, end: last.End, interrupted: d.Interrupted(), explained: d.Explained()}
	seen := map[string]bool{}
	for _, in := range d.Interruptions {
		for _, wr := range in.Writers {
			if c := culpritName(wr); !seen[c] {
				seen[c] = true
				o.culprits = append(o.culprits, c)
			}
		}
	}
	j := &joined{outcome: o}
	if o.interrupted {
		j.record = &Interrupted{Type: "interrupted", Time: w.when(flaggedStart(d)), Dumper: o.dumper, NetNS: d.NetNS, Kind: o.kind,
			PortID: d.PortID, Seq: d.Seq, Chunks: len(d.Result.Chunks), Explained: o.explained,
			Interruptions: d.Interruptions, Note: d.Missing}
	}
	w.mu.Lock()
	w.held = append(w.held, j)
	w.mu.Unlock()
}

// flaggedStart is when the first flagged chunk with data was built, or
// the dump's start when only NLMSG_DONE was flagged.
func flaggedStart(d *correlate.Dump) uint64 {
	for _, in := range d.Interruptions {
		if in.Done || in.Chunk <= 0 {
			continue
		}
		n := 0
		for _, s := range d.Samples {
			if s.Bytes > 0 {
				if n++; n == in.Chunk {
					return s.Start
				}
			}
		}
	}
	return d.Samples[0].Start
}

func (w *watcher) when(mono uint64) time.Time { return time.Unix(0, int64(mono)+int64(w.wall)) }

// release counts the held dumps that started before before (all of them
// when all is set), in the order they started, and reports the
// interrupted ones.
func (w *watcher) release(before uint64, all bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	slices.SortStableFunc(w.held, func(a, b *joined) int { return cmp.Compare(a.outcome.start, b.outcome.start) })
	n := 0
	for _, j := range w.held {
		if !all && j.outcome.start >= before {
			break
		}
		w.count(j)
		n++
	}
	w.held = slices.Delete(w.held, 0, n)
}

// count folds one dump into the figures and the metrics, and reports it
// when it was interrupted (w.mu held).
func (w *watcher) count(j *joined) {
	o := j.outcome
	retry, attempt := w.dumpers.add(o)
	m, comm := w.metrics, w.metrics.dumperComms.value(o.dumper.Comm)
	m.dumps.WithLabelValues(o.kind, comm).Inc()
	w.dumps++
	if !o.interrupted {
		return
	}
	w.interrupted++
	m.interrupted.WithLabelValues(o.kind, comm).Inc()
	if o.explained {
		w.explained++
		m.explained.WithLabelValues(o.kind, comm).Inc()
	}
	for _, c := range o.culprits {
		m.culprits.WithLabelValues(o.kind, comm, m.writerComms.value(c)).Inc()
	}
	j.record.Retry, j.record.Attempt = retry, attempt
	if w.cfg.Until > 0 && w.interrupted > w.cfg.Until {
		return // counted; the dumps joined while stopping are not listed
	}
	if w.cfg.OnRecord != nil {
		w.cfg.OnRecord(j.record)
	}
	if w.cfg.Until > 0 && w.interrupted == w.cfg.Until {
		w.stop()
	}
}

// sweep joins the dumps that are over when no event comes to do it,
// releases those that every earlier-started dump is joined before,
// reports overload, and forgets finished retry sequences.
func (w *watcher) sweep() {
	samples, writers := w.join.Sweep()
	oldest, waiting := w.join.Waiting()
	w.release(oldest, !waiting)
	drops, dropErr := w.p.Drops()
	w.mu.Lock()
	defer w.mu.Unlock()
	o := &Overload{Type: "overload", Time: time.Now(), Samples: samples - w.dropped[0], Writers: writers - w.dropped[1]}
	if dropErr == nil && drops > w.drops {
		o.RingBuffer = drops - w.drops
		w.metrics.drops.Add(float64(o.RingBuffer))
		w.drops = drops
	}
	w.dropped = [2]int{samples, writers}
	w.metrics.joinDrops.WithLabelValues("sample").Add(float64(o.Samples))
	w.metrics.joinDrops.WithLabelValues("writer").Add(float64(o.Writers))
	unheard := w.p.TakeFollowErrors()
	if w.cfg.OnRecord != nil {
		if o.RingBuffer > 0 || o.Samples > 0 || o.Writers > 0 {
			w.cfg.OnRecord(o)
		}
		for _, err := range unheard {
			w.cfg.OnRecord(&Warning{Type: "warning", Time: o.Time, Message: "changes in " + err.Error() + " go unexplained"})
		}
	}
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) == nil {
		w.dumpers.forget(uint64(ts.Nano()) - uint64(10*retryGap))
	}
}

func (w *watcher) summary(d time.Duration) *Summary {
	w.mu.Lock()
	defer w.mu.Unlock()
	return &Summary{Type: "summary", Duration: d, Dumps: w.dumps, Interrupted: w.interrupted, Explained: w.explained,
		Dumpers: w.dumpers.summary(topCulprits), Drops: w.drops, DroppedSamples: w.dropped[0], DroppedWriters: w.dropped[1]}
}
