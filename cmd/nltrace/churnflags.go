package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nltrace/nltrace/internal/churn"
	"github.com/nltrace/nltrace/nlclient"
)

// churnFlags are the dump command's flags for reproducing interruptions.
func churnFlags() []cli.Flag {
	return []cli.Flag{
		&cli.GenericFlag{Name: "churn", Value: &mixFlag{}, DefaultText: "off",
			Usage: "dump a namespace of nltrace's own while changing it; --churn=MIX picks the operations: link, netns, addr4, up, addr6, nexthop, with weights (link=3,netns=1; default: what moves the dumped kinds' counters)"},
		&cli.Float64Flag{Name: "churn-rate", Usage: "churn operations per second over all workers (0: as fast as possible)"},
		&cli.IntFlag{Name: "churn-workers", Value: 4, Usage: "parallel churn workers"},
		&cli.IntFlag{Name: "links", Value: 1000, Usage: "stable devices to populate the namespace with"},
		&cli.StringFlag{Name: "link-kind", Value: "auto", Usage: "kind of the populated and churned devices: auto (dummy where present, else veth), dummy, veth, ..."},
		&cli.IntFlag{Name: "addrs", Usage: "stable IPv4 addresses", DefaultText: "1000 when --kind includes addr4, else 0"},
		&cli.IntFlag{Name: "addrs6", Usage: "stable IPv6 addresses", DefaultText: "1000 when --kind includes addr6, else 0"},
		&cli.IntFlag{Name: "nexthops", Usage: "stable nexthops", DefaultText: "1000 when --kind includes nexthop, else 0"},
		&cli.IntFlag{Name: "dumpers", Value: 1, Usage: "concurrent dumpers (with --exec: 0 unless given)"},
		&cli.IntFlag{Name: "inject-at", Usage: "no background churn: make exactly one change between chunk K and K+1 of every dump (deterministic; 10 dumps unless --dumps or --duration)", DefaultText: "off"},
		&cli.BoolFlag{Name: "expect-interrupts", Usage: fmt.Sprintf("exit with status %d when no interruption was reproduced", exitNoInterrupt)},
		&cli.BoolFlag{Name: "exec", Usage: "run the program after -- again and again inside the churning namespace: --exec -- CMD ARGS..."},
		&cli.DurationFlag{Name: "exec-timeout", Value: 10 * time.Second, Usage: "time limit of each --exec run"},
	}
}

// wantsChurn reports whether the dump command must run a reproduction.
func wantsChurn(c *cli.Context) bool {
	return c.IsSet("churn") || c.IsSet("inject-at") || c.Bool("exec")
}

// mixFlag is a boolean flag that also takes a value: --churn alone, or
// --churn=link=3,netns=1.
type mixFlag struct {
	set bool
	mix string // empty: the default for the dumped kinds
}

func (m *mixFlag) IsBoolFlag() bool { return true }

func (m *mixFlag) String() string {
	if m == nil || !m.set {
		return ""
	}
	return m.mix
}

func (m *mixFlag) Set(s string) error {
	switch strings.ToLower(s) {
	case "true", "auto":
		m.set, m.mix = true, ""
	case "false":
		m.set, m.mix = false, ""
	default:
		if _, err := churn.ParseMix(s); err != nil {
			return err
		}
		m.set, m.mix = true, s
	}
	return nil
}

// churnConfig is what the churn flags say, checked.
type churnConfig struct {
	dump     dumpConfig
	engine   churn.Config
	dumpers  int
	dumps    int
	injectAt int
	expect   bool
	exec     []string
	execTO   time.Duration
	churn    bool // background churn (not with --inject-at)
	trace    traceConfig
}

func parseChurnFlags(c *cli.Context) (churnConfig, error) {
	var cfg churnConfig
	var err error
	if cfg.dump, err = parseDumpFlags(c); err != nil {
		return cfg, err
	}
	if c.IsSet("netns") {
		return cfg, errors.New("--netns cannot be used with --churn, --inject-at or --exec: they dump a namespace of nltrace's own")
	}
	has := func(k nlclient.Kind) bool { return slices.Contains(cfg.dump.kinds, k) }
	orDefault := func(name string, k nlclient.Kind) int {
		if !c.IsSet(name) && has(k) {
			return 1000
		}
		return c.Int(name)
	}
	cfg.engine = churn.Config{
		Links: c.Int("links"), LinkKind: c.String("link-kind"),
		Addrs: orDefault("addrs", nlclient.Addr4), Addrs6: orDefault("addrs6", nlclient.Addr6),
		Nexthops: orDefault("nexthops", nlclient.Nexthop),
		Rate:     c.Float64("churn-rate"), Workers: c.Int("churn-workers"),
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"links", cfg.engine.Links}, {"addrs", cfg.engine.Addrs}, {"addrs6", cfg.engine.Addrs6}, {"nexthops", cfg.engine.Nexthops}} {
		if n.v < 0 || n.v > 1<<20 {
			return cfg, fmt.Errorf("--%s %d: want 0 to %d", n.name, n.v, 1<<20)
		}
	}
	if cfg.engine.Links < 1 {
		return cfg, errors.New("--links: want at least 1")
	}
	if cfg.engine.Workers < 1 || cfg.engine.Workers > 256 {
		return cfg, fmt.Errorf("--churn-workers %d: want 1 to 256", cfg.engine.Workers)
	}
	if cfg.engine.Rate < 0 {
		return cfg, fmt.Errorf("--churn-rate %v: want 0 (as fast as possible) or more", cfg.engine.Rate)
	}
	mix := churn.MixFor(cfg.dump.kinds)
	if m := c.Generic("churn").(*mixFlag); m.mix != "" {
		mix, _ = churn.ParseMix(m.mix)
	}
	cfg.engine.Mix = mix
	if cfg.trace, err = parseTraceFlags(c, true); err != nil {
		return cfg, err
	}
	cfg.dumpers, cfg.injectAt = c.Int("dumpers"), c.Int("inject-at")
	if c.IsSet("dumps") {
		cfg.dumps = cfg.dump.count
	}
	cfg.expect, cfg.execTO = c.Bool("expect-interrupts"), c.Duration("exec-timeout")
	if c.Bool("exec") {
		cfg.exec = c.Args().Slice()
		if len(cfg.exec) == 0 {
			return cfg, errors.New("--exec needs a command: nltrace dump --churn --exec -- CMD ARGS...")
		}
		if !c.IsSet("dumpers") {
			cfg.dumpers = 0
		}
	} else if c.Args().Present() {
		return cfg, fmt.Errorf("unexpected arguments %q (a program to run goes after --exec --)", c.Args().Slice())
	}
	if cfg.dumpers < 0 || (cfg.dumpers == 0 && cfg.exec == nil) {
		return cfg, fmt.Errorf("--dumpers %d: want at least 1", cfg.dumpers)
	}
	if cfg.dumps < 0 {
		return cfg, fmt.Errorf("--dumps %d: want 0 (use --duration) or more", cfg.dumps)
	}
	if cfg.injectAt < 0 {
		return cfg, fmt.Errorf("--inject-at %d: want a chunk number, 1 or more", cfg.injectAt)
	}
	cfg.churn = cfg.injectAt == 0
	if cfg.injectAt > 0 {
		switch {
		case c.IsSet("churn"):
			return cfg, errors.New("--inject-at makes one change per dump: it cannot run with background --churn")
		case cfg.exec != nil:
			return cfg, errors.New("--inject-at works through nltrace's own dumpers: it cannot run with --exec")
		case cfg.dumpers > 1:
			return cfg, errors.New("--inject-at runs one dumper: the changes of others would land at random points")
		}
		if cfg.dumps == 0 && cfg.dump.duration == 0 {
			cfg.dumps = 10
		}
	}
	if cfg.dumps == 0 && cfg.dump.duration == 0 {
		cfg.dump.duration = 10 * time.Second
	}
	if cfg.dumps > 0 && c.IsSet("duration") {
		return cfg, errors.New("give --dumps or --duration, not both")
	}
	return cfg, nil
}
