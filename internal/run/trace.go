package run

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/nltrace/nltrace/internal/correlate"
	"github.com/nltrace/nltrace/internal/monitor"
	"github.com/nltrace/nltrace/internal/netns"
	"github.com/nltrace/nltrace/nlclient"
	"github.com/nltrace/nltrace/probe"
)

// topCulprits is how many culprits each kind's attribution names.
const topCulprits = 5

// tracer records the kernel's view of a run's dumps and joins it to what
// the dumpers saw as the run goes: a run of hours must not keep every
// kernel sample.
type tracer struct {
	p    *probe.Probe
	join *correlate.Joiner
	stop context.CancelFunc
	done chan error
	// kernel watches the changes the kernel makes by itself, for the
	// tracepoint backend; nil otherwise.
	kernel *monitor.KernelChanges
	// unavailable says why there is no kernel attribution.
	unavailable string
	warnings    []string
}

// startTrace attaches the probe to the namespace at nsPath. When tracing
// is not required and the kernel refuses it, the run goes on and the
// report says why it has no kernel attribution.
func startTrace(cfg Trace, nsPath string) (*tracer, error) {
	t := &tracer{}
	if cfg.Mode == TraceOff {
		return t, nil
	}
	inode, err := namespaceInode(nsPath)
	if err == nil {
		t.p, err = probe.Open(probe.Config{Backend: cfg.Backend, NetNS: inode, Stacks: cfg.Stacks})
	}
	if err != nil {
		if cfg.Mode == TraceRequired || !errors.Is(err, probe.ErrUnavailable) {
			return nil, fmt.Errorf("kernel attribution: %w", err)
		}
		t.unavailable = err.Error()
		slog.Warn("kernel attribution unavailable, continuing without it", "reason", err)
		return t, nil
	}
	if t.p.Fallback != nil {
		// fentry refused on a kernel that has kprobes is usually policy,
		// but may be a bug in the fentry programs: say which.
		slog.Warn("kernel attribution fell back to "+t.p.Backend.String(), "reason", t.p.Fallback)
	}
	if len(t.p.Skipped) > 0 {
		slog.Warn("kernel functions not traceable here; the report says what is missing", "skipped", len(t.p.Skipped))
	}
	t.join = correlate.NewJoiner(correlate.JoinerConfig{Top: topCulprits})
	if t.p.Hooks == probe.SyscallHooks {
		if t.kernel, err = monitor.WatchKernelChanges(nsPath, inode, t.join.Event); err != nil {
			// The requests are still explained.
			t.warnings = append(t.warnings, err.Error())
			slog.Warn("the kernel's own changes will go unexplained", "reason", err)
		}
	}
	ctx, stop := context.WithCancel(context.Background())
	t.stop, t.done = stop, make(chan error, 1)
	go func() { t.done <- t.p.Run(ctx, t.join.Event) }()
	return t, nil
}

// preflight checks, before a namespace is populated for minutes, that a
// required probe can load and attach at all. The probe is loaded again
// once the namespace exists: its filter is set at load time.
func preflight(cfg Trace) error {
	if cfg.Mode != TraceRequired {
		return nil
	}
	p, err := probe.Open(probe.Config{Backend: cfg.Backend, Stacks: cfg.Stacks})
	if err != nil {
		return fmt.Errorf("kernel attribution: %w", err)
	}
	return p.Close()
}

func namespaceInode(path string) (uint64, error) {
	f, err := netns.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return netns.Inode(f)
}

// add hands a dump's result to the join.
func (t *tracer) add(r *nlclient.Result) {
	if t.p != nil && r != nil {
		t.join.Result(r)
	}
}

// finish drains the probe, detaches it and explains the dumps; nil when
// tracing was off.
func (t *tracer) finish() *correlate.Attribution {
	if t.p == nil {
		if t.unavailable == "" {
			return nil
		}
		return &correlate.Attribution{Unavailable: t.unavailable}
	}
	t.stop()
	runErr := <-t.done
	if t.kernel != nil {
		t.warnings = append(t.warnings, t.kernel.Close()...)
		t.kernel = nil
	}
	// The probe is drained: every sample and writer is in.
	a := t.join.Flush()
	a.Errors = append(a.Errors, t.warnings...)
	a.Backend, a.Skipped, a.Limits = t.p.Backend.String(), t.p.Skipped, t.p.Limits
	var err error
	if a.Drops, err = t.p.Drops(); err != nil {
		a.Errors = append(a.Errors, err.Error())
	}
	if runErr != nil {
		a.Errors = append(a.Errors, runErr.Error())
	}
	if err := t.p.Close(); err != nil {
		a.Errors = append(a.Errors, fmt.Sprintf("detach: %v", err))
	}
	t.p = nil
	return a
}

// close detaches the probe if finish was not reached, and stops watching
// the namespace: the monitor's socket would keep it alive.
func (t *tracer) close() {
	if t.kernel != nil {
		t.kernel.Close()
		t.kernel = nil
	}
	if t.p != nil {
		t.stop()
		<-t.done
		t.p.Close()
		t.p = nil
	}
}
