package check

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/nltrace/nltrace/internal/field"
)

// Config is one run of the suite. Kernels empty means this machine's
// kernel; see RunKernels for the others.
type Config struct {
	// Only keeps the checks named, or those of a group ("link/" or "link",
	// "client/"); empty keeps them all.
	Only []string
	// Churn is how long each kind's churn measurement runs.
	Churn    time.Duration
	Client   *Client
	Baseline *Baseline
}

// DefaultChurn keeps the suite under a minute here and its guests under
// 90 s from boot to verdict under TCG, while every kind with a counter
// still sees dozens of interrupted dumps.
const DefaultChurn = 2 * time.Second

// bad is a field.Error: callers say the field in their own words (a flag).
var bad = field.Bad

// Names lists every check the configuration can run, in suite order.
func (c *Config) Names() []string {
	var names []string
	for _, d := range definitions(c.Client) {
		names = append(names, d.name)
	}
	return names
}

// Validate checks everything before any work is done.
func (c *Config) Validate() error {
	var errs []error
	if c.Churn <= 0 {
		errs = append(errs, bad("Churn", c.Churn, "want a positive duration"))
	}
	if c.Client != nil {
		if err := c.Client.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	names, all := c.Names(), allNames()
	for _, o := range c.Only {
		switch {
		case slices.ContainsFunc(names, func(n string) bool { return selects(o, n) }):
		case slices.ContainsFunc(all, func(n string) bool { return selects(o, n) }):
			errs = append(errs, bad("Only", fmt.Sprintf("%q", o), "checks a client: give the client to run (Client)"))
		default:
			errs = append(errs, bad("Only", fmt.Sprintf("%q", o), "want a check name or a group (link/, client/): "+strings.Join(names, ", ")))
		}
	}
	// A baseline recorded with a client keeps its client facts for runs
	// with one; they are no typo.
	if c.Baseline != nil {
		if unknown := c.Baseline.Unknown(all); len(unknown) > 0 {
			errs = append(errs, bad("Baseline", strings.Join(unknown, ", "), "want facts named after checks: "+strings.Join(all, ", ")))
		}
	}
	return errors.Join(errs...)
}

// allNames lists the checks of the suite with a client.
func allNames() []string {
	var names []string
	for _, d := range definitions(&Client{Command: []string{"client"}}) {
		names = append(names, d.name)
	}
	return names
}

// selects says whether an entry of Only ("link/flagged", "link/", "link")
// keeps the check name.
func selects(only, name string) bool {
	group := strings.TrimSuffix(only, "/") + "/"
	return only == name || strings.HasPrefix(name, group)
}

func (c *Config) selected() []checkDef {
	var out []checkDef
	for _, d := range definitions(c.Client) {
		if len(c.Only) == 0 || slices.ContainsFunc(c.Only, func(o string) bool { return selects(o, d.name) }) {
			out = append(out, d)
		}
	}
	return out
}

// Preflight refuses, before any work, what cannot work on this machine:
// the suite builds network namespaces, and runs the client.
func (c *Config) Preflight() error {
	if os.Geteuid() != 0 {
		return errors.New("nltrace check creates network namespaces and loads BPF programs: run it as root (sudo nltrace check)")
	}
	if c.Client != nil {
		if _, err := exec.LookPath(c.Client.Command[0]); err != nil {
			return bad("Client.Command", c.Client.Command[0], "want a program that exists and is executable")
		}
	}
	return nil
}

// Run runs the suite on this machine's kernel. progress, when not nil,
// hears what is being measured. A measurement that fails makes its checks
// errors and the suite goes on; Run returns an error only when it could
// not start or ctx ended.
func Run(ctx context.Context, cfg Config, progress func(string)) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.Preflight(); err != nil {
		return nil, err
	}
	start := time.Now()
	release, feats := Detect()
	res := &Result{Kernel: release, Features: feats}
	defs := cfg.selected()
	runs := measurements(cfg.Churn, cfg.Client)
	got, errs, took := map[string]fact{}, map[string]error{}, map[string]time.Duration{}
	var order []string
	for _, d := range defs {
		if !slices.Contains(order, d.measure) {
			order = append(order, d.measure)
		}
	}
	for i, m := range order {
		if progress != nil {
			progress(fmt.Sprintf("[%d/%d] %s", i+1, len(order), m))
		}
		t0 := time.Now()
		f, err := runs[m](ctx, feats)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("stopped during %s: %w", m, context.Cause(ctx))
		}
		took[m] = time.Since(t0)
		if err != nil {
			errs[m] = err
			continue
		}
		for name, v := range f {
			got[name] = v
		}
	}
	for _, d := range defs {
		res.Checks = append(res.Checks, judge(d, feats, cfg.Baseline, got, errs[d.measure], took[d.measure]))
	}
	res.Secs = secs(time.Since(start))
	return res, nil
}

// sampleLines is how much of a client's output an outcome keeps: the end
// of an error message.
const sampleLines = 5

// judge turns a check's fact into its outcome: the baseline's value when
// one is given, else the kernel's default expectation, decides.
func judge(d checkDef, f Features, b *Baseline, got map[string]fact, err error, took time.Duration) Outcome {
	o := Outcome{Name: d.name, Secs: secs(took)}
	e := d.expect(f)
	note := ""
	if base, ok := b.fact(d.name); ok {
		o.Baseline = &base
		if note = b.comparable(d.compare, f.CPUs); note == "" {
			e = baselineExpectation(d.compare, base, b.Kernel)
		}
	}
	if e != nil {
		o.Expect, o.Because = e.text, e.because
	}
	if note != "" {
		o.Because = strings.TrimPrefix(o.Because+"; "+note, "; ")
	}
	fa, ok := got[d.name]
	switch {
	case err != nil:
		o.Verdict, o.Measured = Error, err.Error()
		return o
	case !ok:
		o.Verdict, o.Measured = Error, "the measurement gave no value for this check"
		return o
	case fa.skip != "":
		o.Verdict, o.Measured = Skipped, fa.skip
		return o
	}
	v := fa.value
	o.Value, o.Measured, o.Sample = &v, fa.text, lastLines(fa.sample, sampleLines)
	switch {
	case e == nil:
		o.Verdict = Measured
	case e.holds(v):
		o.Verdict = Pass
	default:
		o.Verdict = Regression
	}
	return o
}
