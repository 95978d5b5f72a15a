package run

import (
	"errors"
	"fmt"
	"os/exec"
	"time"

	"github.com/nltrace/nltrace/internal/churn"
	"github.com/nltrace/nltrace/internal/field"
	"github.com/nltrace/nltrace/nlclient"
	"github.com/nltrace/nltrace/probe"
)

// Config is one run. Its zero value is not valid: see Validate.
type Config struct {
	Kinds   []nlclient.Kind
	Options nlclient.Options // policy and retry budget
	// Dumpers is the number of concurrent dumpers; 0 only with Exec.
	Dumpers int
	// Dumps bounds the dumps of each kind over all dumpers; 0 runs until
	// Duration ends.
	Dumps    int
	Duration time.Duration

	// Target is the namespace dumped when Namespace is nil: the caller's
	// own tables, never changed.
	Target nlclient.Target
	// Namespace makes the run build a namespace of its own, populated and
	// churned as it says, and dump that one.
	Namespace *churn.Config
	// InjectAt, above 0, replaces the churn with one change between chunk
	// InjectAt and InjectAt+1 of every dump (one dumper, needs Namespace).
	InjectAt int
	Exec     *Exec
	Trace    Trace
}

// Exec runs the user's program over and over in the run's namespace.
type Exec struct {
	Command []string
	Timeout time.Duration // per run; 0: none
	// Runs bounds the program's runs; 0 runs it until Duration ends, or
	// until the dumpers are done.
	Runs int
}

// Trace says whether to attach the kernel probe to the run's namespace.
type Trace struct {
	Mode    TraceMode
	Backend probe.Backend
	Stacks  bool // a kernel stack with every counter bump
}

// TraceMode says how much kernel attribution matters.
type TraceMode int

const (
	// TraceOff attaches nothing.
	TraceOff TraceMode = iota
	// TraceIfAvailable attaches when the kernel allows it; otherwise the
	// report says why there is no attribution.
	TraceIfAvailable
	// TraceRequired fails the run, before any work, when the probe cannot
	// attach.
	TraceRequired
)

// bad is a field.Error: callers map the field to their own words (a
// command line flag, a config key).
var bad = field.Bad

// MaxObjects bounds every population count: beyond it a run only measures
// how long the kernel takes to make devices.
const MaxObjects = 1 << 20

// Validate checks the whole configuration before any work is done, and
// returns every problem it finds.
func (c *Config) Validate() error {
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	if len(c.Kinds) == 0 && c.Dumpers > 0 {
		add(bad("Kinds", "[]", "want at least one kind to dump"))
	}
	if c.Options.Policy == nlclient.Retry && c.Options.Attempts < 1 {
		add(bad("Options.Attempts", c.Options.Attempts, "want at least 1"))
	}
	switch {
	case c.Dumpers < 0:
		add(bad("Dumpers", c.Dumpers, "want 1 or more (0 only with a program to run)"))
	case c.Dumpers == 0 && c.Exec == nil:
		add(bad("Dumpers", c.Dumpers, "want 1 or more (0 only with a program to run)"))
	}
	if c.Dumps < 0 {
		add(bad("Dumps", c.Dumps, "want 0 (run for Duration) or more"))
	}
	if c.Duration < 0 {
		add(bad("Duration", c.Duration, "want a positive duration"))
	}
	if c.Dumps > 0 && c.Duration > 0 {
		add(bad("Duration", c.Duration, "want either Dumps or Duration, not both"))
	}
	if c.Dumps > 0 && c.Dumpers == 0 {
		add(bad("Dumps", c.Dumps, "want 0 without dumpers (a program's runs are counted in Exec.Runs)"))
	}
	if c.Duration == 0 && c.Dumpers > 0 && c.Dumps == 0 {
		add(bad("Dumps", c.Dumps, "want a number of dumps, or a Duration"))
	}
	if c.Duration == 0 && c.Exec != nil && c.Exec.Runs == 0 && c.Dumpers == 0 {
		add(bad("Exec.Runs", c.Exec.Runs, "want a number of runs, or a Duration"))
	}
	if c.Namespace == nil {
		errs = append(errs, c.validateHost()...)
	} else {
		errs = append(errs, c.validateNamespace()...)
	}
	if e := c.Exec; e != nil {
		if len(e.Command) == 0 {
			add(bad("Exec.Command", "[]", "want a program to run"))
		} else if _, err := exec.LookPath(e.Command[0]); err != nil {
			add(bad("Exec.Command", e.Command[0], "want a program that exists and is executable"))
		}
		if e.Timeout < 0 {
			add(bad("Exec.Timeout", e.Timeout, "want a positive duration, or 0 for none"))
		}
		if e.Runs < 0 {
			add(bad("Exec.Runs", e.Runs, "want 0 (run for Duration) or more"))
		}
		if e.Runs > 0 && c.Duration > 0 {
			add(bad("Duration", c.Duration, "want either Exec.Runs or Duration, not both"))
		}
	}
	return errors.Join(errs...)
}

// validateHost checks a run on the caller's namespace: nothing there may
// be changed, so everything that changes tables is refused.
func (c *Config) validateHost() []error {
	var errs []error
	if c.InjectAt != 0 {
		errs = append(errs, bad("InjectAt", c.InjectAt, "needs a namespace of the run's own (Namespace)"))
	}
	if c.Exec != nil {
		errs = append(errs, bad("Exec", c.Exec.Command, "needs a namespace of the run's own (Namespace)"))
	}
	if c.Trace.Mode == TraceRequired {
		errs = append(errs, bad("Trace.Mode", "required", "explains the dumps of a namespace of the run's own (Namespace)"))
	}
	return errs
}

func (c *Config) validateNamespace() []error {
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	n := c.Namespace
	if c.Target != (nlclient.Target{}) {
		add(bad("Target", c.Target, "cannot be used with Namespace: the run dumps a namespace of its own"))
	}
	if n.Links < 1 || n.Links > MaxObjects {
		add(bad("Namespace.Links", n.Links, fmt.Sprintf("want 1 to %d (addresses and churn need a device)", MaxObjects)))
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"Namespace.Addrs", n.Addrs}, {"Namespace.Addrs6", n.Addrs6}, {"Namespace.Nexthops", n.Nexthops}} {
		if f.v < 0 || f.v > MaxObjects {
			add(bad(f.name, f.v, fmt.Sprintf("want 0 to %d", MaxObjects)))
		}
	}
	if n.Workers < 1 || n.Workers > 256 {
		add(bad("Namespace.Workers", n.Workers, "want 1 to 256"))
	}
	if n.Rate < 0 {
		add(bad("Namespace.Rate", n.Rate, "want 0 (as fast as possible) or more operations per second"))
	}
	switch {
	case c.InjectAt < 0:
		add(bad("InjectAt", c.InjectAt, "want a chunk number, 1 or more"))
	case c.InjectAt > 0 && c.Exec != nil:
		add(bad("InjectAt", c.InjectAt, "works through the run's own dumpers: it cannot run with a program"))
	case c.InjectAt > 0 && c.Dumpers > 1:
		add(bad("Dumpers", c.Dumpers, "want 1 with InjectAt: the changes of other dumpers would land at random points"))
	case c.InjectAt > 0 && !n.Mix.Empty():
		add(bad("Namespace.Mix", n.Mix, "want no background churn with InjectAt: it makes one change per dump"))
	case c.InjectAt == 0 && n.Mix.Empty():
		add(bad("Namespace.Mix", "empty", "want at least one churn operation"))
	}
	return errs
}
