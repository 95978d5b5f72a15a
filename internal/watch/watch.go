//go:build linux

package watch

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/internal/correlate"
	"github.com/nltrace/nltrace/internal/netns"
	"github.com/nltrace/nltrace/nlclient"
	"github.com/nltrace/nltrace/probe"
)

// Config says what to watch and for how long.
type Config struct {
	Backend probe.Backend
	// NetNS keeps the dumps of one namespace (the zero value: every one).
	NetNS nlclient.Target
	// PID keeps one process's dumps; Comm those of processes of a name.
	PID  uint32
	Comm string
	// Kinds keeps dumps of these kinds (names from Kinds; nil: all).
	Kinds []string
	// Duration and Until stop the watch after a time, or after so many
	// interrupted dumps (0: until ctx ends).
	Duration time.Duration
	Until    int
	// Metrics is an address (host:port) to serve Prometheus metrics on,
	// at /metrics ("": none).
	Metrics string
	// OnStart sees what is attached, once it is; OnRecord each
	// *Interrupted, *Overload and *Warning record as it is made, from one
	// goroutine at a time.
	OnStart  func(*Start)
	OnRecord func(any)
}

// Start says what the watch runs on ("type": "start").
type Start struct {
	Type    string          `json:"type"`
	Backend string          `json:"backend"`
	Hooks   string          `json:"hooks,omitempty"`
	NetNS   uint64          `json:"netns,omitempty"`
	Metrics string          `json:"metrics,omitempty"` // the address served
	Skipped []probe.Skipped `json:"skipped,omitempty"`
	Limits  []string        `json:"limits,omitempty"`
}

// Summary is the end of a watch ("type": "summary").
type Summary struct {
	Type        string        `json:"type"`
	Duration    time.Duration `json:"duration_ns"`
	Dumps       int           `json:"dumps"`
	Interrupted int           `json:"interrupted"`
	Explained   int           `json:"explained"`
	Dumpers     []Dumper      `json:"dumpers"`
	// Drops counts kernel events lost (ring buffer, notification
	// overruns); DroppedSamples and DroppedWriters, events the join let go
	// to stay within its bounds.
	Drops          uint64   `json:"drops"`
	DroppedSamples int      `json:"dropped_samples"`
	DroppedWriters int      `json:"dropped_writers"`
	Errors         []string `json:"errors,omitempty"`
}

// topCulprits is how many culprits each dumper's summary names.
const topCulprits = 5

// FieldError is a Config field with a bad value.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// Validate checks every field before any work.
func (c *Config) Validate() error {
	for _, k := range c.Kinds {
		if !slices.Contains(Kinds, k) {
			return &FieldError{"Kinds", fmt.Errorf("unknown dump kind %q", k)}
		}
	}
	switch {
	case len(c.Comm) > 15:
		return &FieldError{"Comm", fmt.Errorf("%q is longer than the kernel's 15-character process names: give its first 15 characters", c.Comm)}
	case c.Duration < 0:
		return &FieldError{"Duration", fmt.Errorf("%v: want a positive duration", c.Duration)}
	case c.Until < 0:
		return &FieldError{"Until", fmt.Errorf("%d: want a number of interrupted dumps", c.Until)}
	}
	if c.Metrics != "" {
		if _, _, err := net.SplitHostPort(c.Metrics); err != nil {
			return &FieldError{"Metrics", fmt.Errorf("%q: want host:port (:9090 for every address): %w", c.Metrics, err)}
		}
	}
	return nil
}

// Run watches until ctx ends, Duration passes or Until interrupted dumps
// were seen, and returns the summary.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var ino uint64
	if cfg.NetNS != (nlclient.Target{}) {
		f, err := cfg.NetNS.Open()
		if err != nil {
			return nil, &FieldError{"NetNS", err}
		}
		ino, err = netns.Inode(f)
		f.Close()
		if err != nil {
			return nil, &FieldError{"NetNS", err}
		}
	}
	var ln net.Listener
	if cfg.Metrics != "" {
		var err error
		if ln, err = net.Listen("tcp", cfg.Metrics); err != nil {
			return nil, &FieldError{"Metrics", fmt.Errorf("serve metrics: %w", err)}
		}
		defer ln.Close()
	}
	p, err := probe.Open(probe.Config{Backend: cfg.Backend, NetNS: ino, PID: cfg.PID})
	if err != nil {
		return nil, err
	}
	defer p.Close()
	w := newWatcher(cfg, p)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if cfg.Duration > 0 {
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	w.stop = cancel
	start := &Start{Type: "start", Backend: p.Backend.String(), Hooks: p.Hooks, NetNS: ino, Skipped: p.Skipped, Limits: p.Limits}
	var served chan error
	// Served until the last dumps are joined, not only while watching.
	serving, stopServing := context.WithCancel(context.Background())
	defer stopServing()
	if ln != nil {
		start.Metrics = ln.Addr().String()
		served = make(chan error, 1)
		go func() { served <- w.metrics.serve(serving, ln) }()
	}
	if cfg.OnStart != nil {
		cfg.OnStart(start)
	}
	began := time.Now()
	ran := make(chan error, 1)
	go func() { ran <- p.Run(ctx, w.event) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var runErr error
loop:
	for {
		select {
		case runErr = <-ran:
			break loop
		case <-tick.C:
			w.sweep()
		}
	}
	cancel()
	// The probe is drained: every dump still open is joined now.
	w.join.Flush()
	w.sweep()
	s := w.summary(time.Since(began))
	if runErr != nil {
		s.Errors = append(s.Errors, runErr.Error())
	}
	stopServing()
	if served != nil {
		if err := <-served; err != nil {
			s.Errors = append(s.Errors, "metrics: "+err.Error())
		}
	}
	return s, nil
}

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

	mu          sync.Mutex // the joiner's callback and the ticker
	dumpers     *dumpers
	dumps       int
	interrupted int
	explained   int
	drops       uint64
	dropped     [2]int // samples, writers
}

func newWatcher(cfg Config, p *probe.Probe) *watcher {
	w := &watcher{cfg: cfg, p: p, self: uint32(os.Getpid()), dumpers: newDumpers(), metrics: newMetrics(p.Backend.String(), p.Hooks)}
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	w.wall = time.Duration(time.Now().UnixNano() - ts.Nano())
	// Other processes' dumps end when their NLMSG_DONE is queued, or are
	// given up on after a few seconds (a client that stopped reading).
	w.join = correlate.NewJoiner(correlate.JoinerConfig{FromSamples: true, SampleTimeout: 5 * time.Second, OnDump: w.dump})
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

// dump takes one joined dump, with its samples (the joiner is locked).
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
	w.mu.Lock()
	defer w.mu.Unlock()
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
	r := &Interrupted{Type: "interrupted", Time: w.when(first.Start), Dumper: o.dumper, NetNS: d.NetNS, Kind: o.kind,
		PortID: d.PortID, Seq: d.Seq, Chunks: len(d.Result.Chunks), Retry: retry, Attempt: attempt,
		Explained: o.explained, Interruptions: d.Interruptions, Note: d.Missing}
	for _, in := range d.Interruptions {
		if !in.Done && in.Chunk > 0 && in.Chunk <= len(d.Samples) {
			r.Time = w.when(flaggedStart(d.Samples, in.Chunk))
			break
		}
	}
	if w.cfg.OnRecord != nil {
		w.cfg.OnRecord(r)
	}
	if w.cfg.Until > 0 && w.interrupted >= w.cfg.Until {
		w.stop()
	}
}

// flaggedStart is when the chunk-th chunk with data was built.
func flaggedStart(samples []*probe.Sample, chunk int) uint64 {
	n := 0
	for _, s := range samples {
		if s.Bytes > 0 {
			if n++; n == chunk {
				return s.Start
			}
		}
	}
	return samples[0].Start
}

func (w *watcher) when(mono uint64) time.Time { return time.Unix(0, int64(mono)+int64(w.wall)) }

// sweep joins the dumps that are over when no event comes to do it,
// reports overload, and forgets finished retry sequences.
func (w *watcher) sweep() {
	samples, writers := w.join.Sweep()
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
	if w.cfg.OnRecord != nil {
		if o.RingBuffer > 0 || o.Samples > 0 || o.Writers > 0 {
			w.cfg.OnRecord(o)
		}
		for _, err := range w.p.TakeFollowErrors() {
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
