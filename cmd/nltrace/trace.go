package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/urfave/cli/v2"

	"github.com/nltrace/nltrace/internal/correlate"
	"github.com/nltrace/nltrace/internal/netns"
	"github.com/nltrace/nltrace/nlclient"
	"github.com/nltrace/nltrace/probe"
	"github.com/nltrace/nltrace/internal/repro"
)

// traceFlags are the dump command's flags for kernel attribution.
func traceFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "trace", DefaultText: "on with --churn or --inject-at when the kernel allows it",
			Usage: "explain each interrupted dump with kernel events (eBPF: needs root, kernel BTF, and fentry or kprobes); asked for explicitly, its absence is an error"},
		&cli.StringFlag{Name: "backend", Value: "auto", Usage: "how --trace attaches: auto (fentry, else kprobe), fentry, kprobe"},
		&cli.BoolFlag{Name: "stacks", Usage: "with --trace, record a kernel stack with every counter bump (--json shows them)"},
	}
}

// traceConfig is what the trace flags say, checked.
type traceConfig struct {
	on       bool // try to trace
	explicit bool // the user asked: failing to trace is an error
	backend  probe.Backend
	stacks   bool
}

func parseTraceFlags(c *cli.Context, churning bool) (traceConfig, error) {
	var cfg traceConfig
	var err error
	if cfg.backend, err = probe.ParseBackend(c.String("backend")); err != nil {
		return cfg, err
	}
	cfg.stacks = c.Bool("stacks")
	cfg.explicit = c.IsSet("trace") && c.Bool("trace")
	cfg.on = churning && (!c.IsSet("trace") || c.Bool("trace"))
	if cfg.explicit && !churning {
		return cfg, errors.New("--trace explains the dumps of a reproduction: use it with --churn or --inject-at")
	}
	return cfg, nil
}

// tracer records the kernel's view of a run's dumps and joins it to what
// the dumpers saw.
type tracer struct {
	cfg     traceConfig
	p       *probe.Probe
	cancel  context.CancelFunc
	done    chan struct{}
	runErr  error
	mu      sync.Mutex
	results []*nlclient.Result
	chunks  []*probe.Sample
	writers []*probe.Writer
	// unavailable says why there is no kernel attribution.
	unavailable string
}

// startTrace attaches the probe to the namespace at nsPath. When tracing
// was not asked for explicitly and the kernel refuses it, the run goes on
// and the report says why it has no kernel attribution.
func startTrace(cfg traceConfig, nsPath string) (*tracer, error) {
	t := &tracer{cfg: cfg}
	if !cfg.on {
		return t, nil
	}
	inode, err := namespaceInode(nsPath)
	if err == nil {
		t.p, err = probe.Open(probe.Config{Backend: cfg.backend, NetNS: inode, Stacks: cfg.stacks})
	}
	if err != nil {
		if cfg.explicit {
			return nil, fmt.Errorf("--trace: %w", err)
		}
		t.unavailable = err.Error()
		slog.Warn("kernel attribution unavailable, continuing without it (pass --trace=false to silence)", "reason", err)
		return t, nil
	}
	if len(t.p.Skipped) > 0 {
		slog.Warn("kernel functions not traceable here; the report says what is missing", "skipped", len(t.p.Skipped))
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.cancel, t.done = cancel, make(chan struct{})
	go func() {
		defer close(t.done)
		t.runErr = t.p.Run(ctx, t.event)
	}()
	return t, nil
}

func namespaceInode(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("open namespace: %w", err)
	}
	defer f.Close()
	return netns.Inode(f)
}

func (t *tracer) event(ev any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch e := ev.(type) {
	case *probe.Sample:
		t.chunks = append(t.chunks, e)
	case *probe.Writer:
		t.writers = append(t.writers, e)
	}
}

// Add is a repro sink: it keeps each dump's results for the join.
func (t *tracer) Add(d repro.Dump) {
	if t.p == nil || d.Result == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.results = append(t.results, d.Result)
}

// Stop drains the probe, detaches it and explains the dumps.
func (t *tracer) Stop() *correlate.Report {
	if t.p == nil {
		if t.unavailable == "" {
			return nil // not asked for
		}
		return &correlate.Report{Unavailable: t.unavailable}
	}
	t.cancel()
	<-t.done
	t.mu.Lock()
	defer t.mu.Unlock()
	r := correlate.NewReport(correlate.Join(t.results, t.chunks, t.writers), 5)
	r.Backend, r.Skipped = t.p.Backend.String(), t.p.Skipped
	var err error
	if r.Drops, err = t.p.Drops(); err != nil {
		r.Errors = append(r.Errors, err.Error())
	}
	if t.runErr != nil {
		r.Errors = append(r.Errors, t.runErr.Error())
	}
	if err := t.p.Close(); err != nil {
		r.Errors = append(r.Errors, fmt.Sprintf("detach: %v", err))
	}
	t.p = nil
	return r
}

// Close detaches the probe if Stop was not reached.
func (t *tracer) Close() {
	if t.p != nil {
		t.cancel()
		<-t.done
		t.p.Close()
	}
}
