package main

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nltrace/nltrace/internal/churn"
	"github.com/nltrace/nltrace/internal/field"
	"github.com/nltrace/nltrace/internal/run"
	"github.com/nltrace/nltrace/nlclient"
	"github.com/nltrace/nltrace/probe"
)

// Defaults that depend on other flags.
const (
	defaultDuration = 10 * time.Second // of a run in nltrace's own namespace
	defaultInjected = 10               // dumps with --inject-at
	defaultObjects  = 1000             // addresses or nexthops when their kind is dumped
)

// namespaceFlags only make sense in a namespace of nltrace's own.
var namespaceFlags = []string{"churn-rate", "churn-workers", "links", "link-kind", "addrs", "addrs6", "nexthops", "runs", "exec-timeout", "trace", "backend", "stacks"}

// parseDump reads every flag of the dump command once, into the run's
// configuration; run.Config.Validate then checks it as a whole.
func parseDump(c *cli.Context) (run.Config, output, error) {
	var cfg run.Config
	out := output{json: c.Bool("json"), jsonLines: c.Bool("json-lines"), expect: c.Bool("expect-interrupts")}
	if out.json && out.jsonLines {
		return cfg, out, errors.New("give --json or --json-lines, not both")
	}
	var err error
	if cfg.Kinds, err = nlclient.ParseKinds(c.StringSlice("kind")); err != nil {
		return cfg, out, fmt.Errorf("--kind: %w", err)
	}
	if cfg.Options.Policy, err = nlclient.ParsePolicy(c.String("policy")); err != nil {
		return cfg, out, fmt.Errorf("--policy: %w", err)
	}
	cfg.Options.Attempts = c.Int("retries")
	if cfg.Options.Attempts < 1 {
		return cfg, out, fmt.Errorf("--retries %d: want at least 1", cfg.Options.Attempts)
	}
	cfg.Dumpers, cfg.Dumps, cfg.Duration, cfg.InjectAt = c.Int("dumpers"), c.Int("dumps"), c.Duration("duration"), c.Int("inject-at")
	own := c.IsSet("churn") || c.IsSet("inject-at") || c.Bool("exec")
	if !own {
		return cfg, out, parseHost(c, &cfg)
	}
	if c.IsSet("netns") {
		return cfg, out, errors.New("--netns cannot be used with --churn, --inject-at or --exec: they dump a namespace of nltrace's own")
	}
	if kind := c.String("link-kind"); strings.TrimSpace(kind) == "" || strings.ContainsAny(kind, " /") {
		return cfg, out, fmt.Errorf("--link-kind %q: want auto, dummy, veth, or another link type the kernel knows", kind)
	}
	cfg.Namespace = namespaceConfig(c, cfg.Kinds)
	if cfg.Trace, err = traceConfig(c); err != nil {
		return cfg, out, err
	}
	if c.Bool("exec") {
		cfg.Exec = &run.Exec{Command: c.Args().Slice(), Timeout: c.Duration("exec-timeout"), Runs: c.Int("runs")}
		if len(cfg.Exec.Command) == 0 {
			return cfg, out, errors.New("--exec needs a command after --: nltrace dump --churn --exec -- CMD ARGS...")
		}
		if !c.IsSet("dumpers") {
			cfg.Dumpers = 0
		}
	} else if c.Args().Present() {
		return cfg, out, fmt.Errorf("unexpected arguments %q (a program to run goes after --exec --)", c.Args().Slice())
	}
	if c.IsSet("inject-at") {
		if cfg.InjectAt < 1 {
			return cfg, out, fmt.Errorf("--inject-at %d: want a chunk number, 1 or more", cfg.InjectAt)
		}
		if c.IsSet("churn") {
			return cfg, out, errors.New("--inject-at makes one change per dump: it cannot run with background --churn")
		}
		cfg.Namespace.Mix = churn.Mix{}
		if !c.IsSet("dumps") && !c.IsSet("duration") {
			cfg.Dumps = defaultInjected
		}
	}
	if !c.IsSet("dumps") && !c.IsSet("duration") && !c.IsSet("runs") && cfg.Dumps == 0 {
		cfg.Duration = defaultDuration
	}
	return cfg, out, nil
}

// parseHost reads a run on an existing namespace: nothing may change
// there, so the flags that make or change one are refused.
func parseHost(c *cli.Context, cfg *run.Config) error {
	for _, name := range namespaceFlags {
		if c.IsSet(name) {
			return fmt.Errorf("--%s applies only to a namespace of nltrace's own: add --churn, --inject-at or --exec", name)
		}
	}
	if c.Args().Present() {
		return fmt.Errorf("unexpected arguments %q (a program to run goes after --churn --exec --)", c.Args().Slice())
	}
	var err error
	if cfg.Target, err = nlclient.ParseTarget(c.String("netns")); err != nil {
		return fmt.Errorf("--netns: %w", err)
	}
	if !c.IsSet("dumps") && !c.IsSet("duration") {
		cfg.Dumps = 1
	}
	return nil
}

func namespaceConfig(c *cli.Context, kinds []nlclient.Kind) *churn.Config {
	orDefault := func(name string, k nlclient.Kind) int {
		if !c.IsSet(name) && slices.Contains(kinds, k) {
			return defaultObjects
		}
		return c.Int(name)
	}
	n := &churn.Config{
		Links: c.Int("links"), LinkKind: c.String("link-kind"),
		Addrs: orDefault("addrs", nlclient.Addr4), Addrs6: orDefault("addrs6", nlclient.Addr6),
		Nexthops: orDefault("nexthops", nlclient.Nexthop),
		Rate:     c.Float64("churn-rate"), Workers: c.Int("churn-workers"),
		Mix: churn.MixFor(kinds),
	}
	if m := c.Generic("churn").(*mixFlag); m.set {
		n.Mix = m.mix
	}
	return n
}

func traceConfig(c *cli.Context) (run.Trace, error) {
	t := run.Trace{Mode: run.TraceIfAvailable, Stacks: c.Bool("stacks")}
	var err error
	if t.Backend, err = probe.ParseBackend(c.String("backend")); err != nil {
		return t, fmt.Errorf("--backend: %w", err)
	}
	if c.IsSet("trace") {
		t.Mode = run.TraceOff
		if c.Bool("trace") {
			t.Mode = run.TraceRequired
		}
	}
	return t, nil
}

// mixFlag is a boolean flag that also takes a value: --churn alone, or
// --churn=link=3,netns=1.
type mixFlag struct {
	set bool      // a mix was given
	mix churn.Mix // empty: the default for the dumped kinds
}

func (m *mixFlag) IsBoolFlag() bool { return true }

func (m *mixFlag) String() string {
	if m == nil || !m.set {
		return ""
	}
	return m.mix.String()
}

func (m *mixFlag) Set(s string) error {
	switch strings.ToLower(s) {
	case "true", "auto":
		m.set, m.mix = false, churn.Mix{}
	case "false":
		return errors.New("--churn=false: leave --churn out instead")
	default:
		mix, err := churn.ParseMix(s)
		if err != nil {
			return err
		}
		m.set, m.mix = true, mix
	}
	return nil
}

// flags names the command line flag of each run.Config field.
var flags = map[string]string{
	"Kinds": "--kind", "Options.Attempts": "--retries", "Dumpers": "--dumpers", "Dumps": "--dumps",
	"Duration": "--duration", "Target": "--netns", "InjectAt": "--inject-at",
	"Namespace.Links": "--links", "Namespace.Addrs": "--addrs", "Namespace.Addrs6": "--addrs6",
	"Namespace.Nexthops": "--nexthops", "Namespace.Workers": "--churn-workers", "Namespace.Rate": "--churn-rate",
	"Namespace.Mix": "--churn", "Exec": "--exec", "Exec.Command": "--exec", "Exec.Timeout": "--exec-timeout",
	"Exec.Runs": "--runs", "Trace.Mode": "--trace",
}

// flagError rewrites run's field errors in the words of the command line;
// other errors pass unchanged.
func flagError(err error) error { return inFlagWords(err, flags) }

// inFlagWords rewrites the libraries' field errors with names, which
// maps Config fields to flags; other errors pass unchanged.
func inFlagWords(err error, names map[string]string) error {
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		var out []error
		for _, e := range joined.Unwrap() {
			out = append(out, inFlagWords(e, names))
		}
		return errors.Join(out...)
	}
	var fe *field.Error
	if !errors.As(err, &fe) {
		return err
	}
	want := fe.Want
	name := names[fe.Field]
	if name == "" {
		name = fe.Field
	}
	fields := slices.Collect(maps.Keys(names))
	// Longest first: "Exec.Runs" before "Exec".
	slices.SortFunc(fields, func(a, b string) int { return len(b) - len(a) })
	for _, f := range fields {
		want = strings.ReplaceAll(want, f, names[f])
	}
	return fmt.Errorf("%s %v: %s", name, fe.Value, want)
}
