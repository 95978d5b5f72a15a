package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/internal/churn"
	"github.com/nltrace/nltrace/nlclient"
	"github.com/nltrace/nltrace/internal/report"
	"github.com/nltrace/nltrace/internal/repro"
)

// Exit statuses of a churn run besides 0 and 1.
const (
	exitNoInterrupt = 3   // --expect-interrupts and nothing was reproduced
	exitSignal      = 130 // stopped by SIGINT or SIGTERM, after cleaning up
)

func runChurn(c *cli.Context) error {
	cfg, err := parseChurnFlags(c)
	if err != nil {
		return err
	}
	if left, err := churn.Leftovers(); err == nil && len(left) > 0 {
		for _, l := range left {
			fmt.Fprintf(os.Stderr, "nltrace: found namespace %s left by a run that is gone (pid %d): remove it with `nltrace cleanup`\n", l.Name, l.PID)
		}
	}
	ctx := c.Context
	cfg.engine.Progress = progress
	eng, err := churn.Start(ctx, cfg.engine)
	if err != nil {
		if ctx.Err() != nil {
			return cli.Exit("nltrace: interrupted while populating; namespace removed", exitSignal)
		}
		return err
	}
	// The engine owns namespaces: remove them however this function ends,
	// a panic included (worker goroutines turn theirs into errors).
	defer func() {
		if err := eng.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "nltrace: remove namespace %s: %v (try `nltrace cleanup`)\n", eng.Name(), err)
		}
	}()
	rep, err := reproduce(ctx, cfg, eng)
	if err != nil {
		return err
	}
	if cfg.dump.json {
		err = rep.WriteJSON(os.Stdout)
	} else {
		err = rep.WriteText(os.Stdout)
	}
	if err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	switch {
	case rep.Stopped != "":
		return cli.Exit("", exitSignal)
	case cfg.expect && !rep.AnyInterrupted():
		return cli.Exit("nltrace: no interrupted dump reproduced (--expect-interrupts)", exitNoInterrupt)
	}
	return nil
}

// reproduce runs the churn, the dumpers and the program until the run ends,
// and returns the report.
func reproduce(parent context.Context, cfg churnConfig, eng *churn.Engine) (*report.Report, error) {
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	release := unix.ByteSliceToString(uts.Release[:])
	setup := report.Setup{
		Kernel: release, NetNS: eng.Name(), LinkKind: eng.LinkKind(), Links: cfg.engine.Links,
		Addrs: cfg.engine.Addrs, Addrs6: cfg.engine.Addrs6, Nexthops: cfg.engine.Nexthops,
		Policy: cfg.dump.opts.Policy, Dumpers: cfg.dumpers, InjectAt: cfg.injectAt,
	}
	if setup.Policy == nlclient.Retry {
		setup.Retries = cfg.dump.opts.Attempts
	}
	var kinds []nlclient.Kind
	if cfg.dumpers > 0 {
		kinds = cfg.dump.kinds
	}

	// The probe is attached before the churn starts, so that every
	// counter bump a dump can see is recorded, and before the run's clock
	// starts: loading it takes seconds on slow machines.
	tr, err := startTrace(cfg.trace, eng.Target().Path)
	if err != nil {
		return nil, err
	}
	defer tr.Close()

	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	if cfg.dump.duration > 0 {
		var stop context.CancelFunc
		ctx, stop = context.WithTimeout(ctx, cfg.dump.duration)
		defer stop()
	}
	fmt.Fprintf(os.Stderr, "nltrace: running in namespace %s (%s); Ctrl-C stops early and removes it\n", eng.Name(), runSummary(cfg))
	var churning sync.WaitGroup
	// Churn runs until the dumpers and the program are done.
	churnCtx, stopChurn := context.WithCancel(ctx)
	defer stopChurn()
	if cfg.churn {
		goSafe(&churning, cancel, func() error { return eng.Run(churnCtx) })
	}
	// Dumps start once the churn does, so that the time to the first
	// interruption measures the dumps, not the workers' start-up.
	if cfg.churn {
		select {
		case <-eng.Busy():
		case <-ctx.Done():
		}
	}
	coll := report.NewCollector(setup, kinds)
	statusCtx, stopStatus := context.WithCancel(ctx)
	statusDone := make(chan struct{})
	go func() {
		defer close(statusDone)
		report.Live(statusCtx, os.Stderr, func() string { return coll.Status() + churnStatus(eng) })
	}()

	// Every dump goes to each sink in turn. The report is one; a
	// correlation step (--trace) joins dumps to the kernel's view on
	// Result.Seq, PortID and NetNSInode by adding its own.
	sinks := []func(repro.Dump){coll.Add, tr.Add}
	sink := func(d repro.Dump) {
		for _, s := range sinks {
			s(d)
		}
	}
	var work sync.WaitGroup
	if cfg.dumpers > 0 {
		goSafe(&work, cancel, func() error {
			return repro.Run(ctx, repro.Config{
				Target: eng.Target(), Kinds: kinds, Options: cfg.dump.opts, Dumpers: cfg.dumpers,
				Dumps: cfg.dumps, InjectAt: cfg.injectAt, Inject: eng.Inject, Revert: eng.Revert, Stable: eng.Stable,
			}, sink)
		})
	}
	if cfg.exec != nil {
		goSafe(&work, cancel, func() error { return runExec(ctx, cfg, eng, coll) })
	}
	work.Wait()
	stopChurn()
	churning.Wait()
	stopStatus()
	<-statusDone
	traced := tr.Stop()

	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return nil, err
	}
	rep := coll.Report(
		func(k nlclient.Kind) int { return len(eng.Stable(k)) },
		func(k nlclient.Kind) string { return report.Expected(release, k) })
	if parent.Err() != nil {
		rep.Stopped = "signal"
	}
	if cfg.churn {
		rep.Churn = churnReport(cfg.engine, eng.Counts())
	}
	rep.Trace = traced
	return rep, nil
}

// goSafe runs fn in a goroutine whose error, or panic, ends the run: a
// panic must not kill the process before the namespace is removed.
func goSafe(wg *sync.WaitGroup, cancel context.CancelCauseFunc, fn func() error) {
	wg.Go(func() {
		defer func() {
			if p := recover(); p != nil {
				cancel(fmt.Errorf("panic: %v\n%s", p, debug.Stack()))
			}
		}()
		if err := fn(); err != nil {
			cancel(err)
		}
	})
}

func runSummary(cfg churnConfig) string {
	var parts []string
	if cfg.dumpers > 0 {
		parts = append(parts, fmt.Sprintf("%d dumpers of %v", cfg.dumpers, cfg.dump.kinds))
	}
	if cfg.exec != nil {
		parts = append(parts, fmt.Sprintf("running %s", strings.Join(cfg.exec, " ")))
	}
	switch {
	case cfg.injectAt > 0:
		parts = append(parts, fmt.Sprintf("one change after chunk %d of each dump", cfg.injectAt))
	case cfg.churn:
		parts = append(parts, fmt.Sprintf("churn %v", cfg.engine.Mix))
	}
	if cfg.dumps > 0 {
		parts = append(parts, fmt.Sprintf("%d dumps each", cfg.dumps))
	} else {
		parts = append(parts, fmt.Sprintf("for %v", cfg.dump.duration))
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

// progress shows the populating: one line rewritten in place on a
// terminal, a line per thousand objects otherwise.
func progress(what string, done, total int) {
	line := fmt.Sprintf("populating: %d/%d %s", done, total, what)
	if _, err := unix.IoctlGetTermios(int(os.Stderr.Fd()), unix.TCGETS); err == nil {
		fmt.Fprintf(os.Stderr, "\r\033[K%s", line)
		if done == total {
			fmt.Fprintln(os.Stderr)
		}
		return
	}
	if done == total || done%1000 == 0 {
		fmt.Fprintln(os.Stderr, line)
	}
}
