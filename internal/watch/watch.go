//go:build linux

package watch

import (
	"context"
	"fmt"
	"net"
	"runtime/debug"
	"slices"
	"time"

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
	// Fallback says why the preferred backends failed, when Auto fell
	// back: worth a look, since it can be a bug rather than a kernel limit.
	Fallback string `json:"fallback,omitempty"`
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
	// Loading took tens of MB of garbage (kernel BTF, /proc/kallsyms):
	// collected now, the heap of a long watch does not grow on top of it.
	debug.FreeOSMemory()
	w := newWatcher(cfg, p)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if cfg.Duration > 0 {
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	w.stop = cancel
	start := &Start{Type: "start", Backend: p.Backend.String(), Hooks: p.Hooks, NetNS: ino, Skipped: p.Skipped, Limits: p.Limits}
	if p.Fallback != nil {
		start.Fallback = p.Fallback.Error()
	}
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
	tick := time.NewTicker(sweepEvery)
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
