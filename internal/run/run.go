package run

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/nltrace/nltrace/internal/churn"
	"github.com/nltrace/nltrace/internal/kernel"
	"github.com/nltrace/nltrace/internal/panics"
	"github.com/nltrace/nltrace/internal/report"
	"github.com/nltrace/nltrace/internal/repro"
	"github.com/nltrace/nltrace/nlclient"
)

// Hooks are how a run shows its progress; each may be nil. Dump and
// ExecRun are never called concurrently with themselves or each other.
type Hooks struct {
	// Populating reports the namespace being filled.
	Populating func(what string, done, total int)
	// Started is called once the dumps start.
	Started func(Start)
	// Status is a line on the run so far, about once a second.
	Status func(line string)
	// Dump and ExecRun see every dump and every run of the program as it
	// ends (streaming output).
	Dump    func(repro.Dump)
	ExecRun func(repro.ExecRun)
}

// Start says what a run is doing, once it has started.
type Start struct {
	NetNS        string // the namespace dumped
	OwnNamespace bool   // a namespace of the run's own, removed at the end
	Summary      string // one line: dumpers, program, churn, length
}

// statusEvery is how often Hooks.Status is called.
const statusEvery = time.Second

// Run validates cfg, runs it, and returns its report. When ctx ends early
// (a signal) the report covers what was done and says so in Stopped, the
// cause of ctx. Nothing the run made survives it; if removing its
// namespace fails, Run returns the report and the error.
func Run(ctx context.Context, cfg Config, hooks Hooks) (rep *report.Report, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := preflight(cfg.Trace); err != nil {
		return nil, err
	}
	kern := kernel.Running()
	target := cfg.Target
	var eng *churn.Engine
	if cfg.Namespace != nil {
		nsCfg := *cfg.Namespace
		nsCfg.Progress = hooks.Populating
		if eng, err = churn.Start(ctx, nsCfg); err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("stopped while populating (%v); namespace removed: %w", context.Cause(ctx), ctx.Err())
			}
			return nil, err
		}
		// However Run ends, a panic of its own included.
		defer func() {
			if cerr := eng.Close(); cerr != nil {
				err = errors.Join(err, fmt.Errorf("remove namespace %s: %w", eng.Name(), cerr))
			}
		}()
		target = eng.Target()
	}
	// The probe is attached before the churn starts, so that every counter
	// bump a dump can see is recorded, and before the run's clock starts:
	// loading it takes seconds on slow machines.
	tr := &tracer{}
	if eng != nil {
		if tr, err = startTrace(cfg.Trace, target.Path); err != nil {
			return nil, err
		}
		defer tr.close()
	}
	if cfg.Exec != nil && eng != nil {
		kids, aerr := adoptChildren(target.Path)
		if aerr != nil {
			return nil, aerr
		}
		// Before the namespace is removed: a process of the program's left
		// in it would keep it, and its links, alive.
		defer func() {
			if eerr := kids.end(); eerr != nil {
				err = errors.Join(err, eerr)
			}
		}()
	}
	coll, err := work(ctx, cfg, eng, target, kern, tr, hooks)
	if err != nil {
		return nil, err
	}
	stable := func(nlclient.Kind) int { return 0 }
	if eng != nil {
		stable = func(k nlclient.Kind) int { return len(eng.Stable(k)) }
	}
	rep = coll.Report(stable, kern.Expected)
	if ctx.Err() != nil {
		rep.Stopped = context.Cause(ctx).Error()
	}
	if eng != nil && cfg.InjectAt == 0 {
		rep.Churn = churnReport(*cfg.Namespace, eng.Counts())
	}
	rep.Trace = tr.finish()
	return rep, nil
}

// work runs the churn, the dumpers, the program and the status line until
// the dumps and runs are done, the duration ends, ctx ends, or one of them
// fails.
func work(parent context.Context, cfg Config, eng *churn.Engine, target nlclient.Target, kern kernel.Kernel, tr *tracer, hooks Hooks) (*report.Collector, error) {
	ctx := parent
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(parent, cfg.Duration)
		defer cancel()
	}
	churning := eng != nil && cfg.InjectAt == 0
	g, gctx := errgroup.WithContext(ctx)
	churnCtx, stopChurn := context.WithCancel(gctx)
	defer stopChurn()
	if churning {
		g.Go(panics.Guard("churn", func() error { return eng.Run(churnCtx) }))
		// Dumps start once the churn does, so that the time to the first
		// interruption measures the dumps, not the workers' start-up.
		select {
		case <-eng.Busy():
		case <-gctx.Done():
		}
	}
	var kinds []nlclient.Kind
	if cfg.Dumpers > 0 {
		kinds = cfg.Kinds
	}
	coll := report.NewCollector(setup(cfg, eng, target, kern), kinds)
	if hooks.Started != nil {
		hooks.Started(Start{NetNS: coll.Setup().NetNS, OwnNamespace: eng != nil, Summary: summary(cfg)})
	}
	sinks := newSinks(coll, tr, hooks, cfg.Exec)
	statusCtx, stopStatus := context.WithCancel(gctx)
	defer stopStatus()
	g.Go(func() error {
		status(statusCtx, hooks.Status, func() string { return coll.Status() + churnStatus(eng) })
		return nil
	})
	g.Go(func() error {
		// The churn and the status line stop with the work they serve.
		defer stopChurn()
		defer stopStatus()
		w, wctx := errgroup.WithContext(gctx)
		// A program without a number of runs goes on while the dumpers do.
		execCtx, stopExec := context.WithCancel(wctx)
		defer stopExec()
		if cfg.Dumpers > 0 {
			rc := repro.Config{Target: target, Kinds: kinds, Options: cfg.Options, Dumpers: cfg.Dumpers,
				Dumps: cfg.Dumps, InjectAt: cfg.InjectAt}
			if eng != nil {
				rc.Inject, rc.Revert, rc.Stable = eng.Inject, eng.Revert, eng.Stable
			}
			w.Go(panics.Guard("dumpers", func() error {
				if cfg.Exec != nil && cfg.Exec.Runs == 0 {
					defer stopExec()
				}
				return repro.Run(wctx, rc, sinks.dump)
			}))
		}
		if e := cfg.Exec; e != nil {
			ec := repro.ExecConfig{Command: e.Command, NetNS: target.Path, Timeout: e.Timeout, Runs: e.Runs}
			w.Go(panics.Guard("exec", func() error { return repro.RunExec(execCtx, ec, sinks.execRun) }))
		}
		return w.Wait()
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return coll, nil
}

// status calls fn with line() every statusEvery until ctx ends.
func status(ctx context.Context, fn func(string), line func() string) {
	if fn == nil {
		return
	}
	t := time.NewTicker(statusEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn(line())
		}
	}
}

func setup(cfg Config, eng *churn.Engine, target nlclient.Target, kern kernel.Kernel) report.Setup {
	s := report.Setup{
		Kernel: kern.Release, NetNS: target.String(), Kinds: cfg.Kinds, Policy: cfg.Options.Policy,
		Dumpers: cfg.Dumpers, Dumps: cfg.Dumps, Duration: cfg.Duration.Seconds(), InjectAt: cfg.InjectAt,
	}
	if s.Policy == nlclient.Retry {
		s.Retries = cfg.Options.Attempts
	}
	if eng != nil {
		n := cfg.Namespace
		s.NetNS, s.OwnNamespace, s.LinkKind = eng.Name(), true, eng.LinkKind()
		s.Links, s.Addrs, s.Addrs6, s.Nexthops = n.Links, n.Addrs, n.Addrs6, n.Nexthops
	}
	return s
}

func summary(cfg Config) string {
	var parts []string
	if cfg.Dumpers > 0 {
		parts = append(parts, fmt.Sprintf("%d dumpers of %v", cfg.Dumpers, cfg.Kinds))
	}
	if cfg.Exec != nil {
		parts = append(parts, "running "+strings.Join(cfg.Exec.Command, " "))
	}
	switch {
	case cfg.InjectAt > 0:
		parts = append(parts, fmt.Sprintf("one change after chunk %d of each dump", cfg.InjectAt))
	case cfg.Namespace != nil:
		parts = append(parts, fmt.Sprintf("churn %v", cfg.Namespace.Mix))
	}
	switch {
	case cfg.Dumps > 0:
		parts = append(parts, fmt.Sprintf("%d dumps of each kind", cfg.Dumps))
	case cfg.Exec != nil && cfg.Exec.Runs > 0:
		parts = append(parts, fmt.Sprintf("%d runs", cfg.Exec.Runs))
	default:
		parts = append(parts, fmt.Sprintf("for %v", cfg.Duration))
	}
	return strings.Join(parts, ", ")
}

func churnReport(cfg churn.Config, c churn.Counts) *report.ChurnReport {
	r := &report.ChurnReport{Workers: cfg.Workers, Rate: cfg.Rate, Mix: cfg.Mix.String(), Seconds: c.Elapsed.Seconds(), Errors: c.Errors}
	for _, k := range churn.OpKinds() {
		o := report.OpRate{Kind: k.String(), Count: c.Ops[k]}
		if r.Seconds > 0 {
			o.PerSecond = float64(o.Count) / r.Seconds
		}
		r.Ops = append(r.Ops, o)
	}
	return r
}

func churnStatus(eng *churn.Engine) string {
	if eng == nil {
		return ""
	}
	c := eng.Counts()
	if c.Elapsed <= 0 {
		return ""
	}
	var n uint64
	for _, v := range c.Ops {
		n += v
	}
	return fmt.Sprintf(" | churn %.0f op/s", float64(n)/c.Elapsed.Seconds())
}
