package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nltrace/nltrace/internal/churn"
	"github.com/nltrace/nltrace/internal/report"
	"github.com/nltrace/nltrace/internal/repro"
	"github.com/nltrace/nltrace/internal/run"
)

func dumpCommand() *cli.Command {
	return &cli.Command{
		Name:  "dump",
		Usage: "dump rtnetlink tables and report every interrupted dump",
		Description: "Dumps the current namespace (or --netns) N times (--dumps) or for a duration, read-only;\n" +
			"with --churn, --inject-at or --exec, dumps a namespace of nltrace's own while changing it.\n" +
			"Prints, per kind, how many dumps were interrupted (NLM_F_DUMP_INTR), where, and why.",
		Flags:        dumpFlags(),
		OnUsageError: usageError,
		Action: func(c *cli.Context) error {
			cfg, out, err := parseDump(c)
			if err != nil {
				return err
			}
			return runDump(c, cfg, out)
		},
	}
}

func dumpFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "kind", Aliases: []string{"k"}, Value: cli.NewStringSlice("link"),
			Usage: "what to dump: link, addr4, addr6, route4, route6, neigh, nexthop, stats, or all (repeat or comma-separate)"},
		&cli.StringFlag{Name: "netns", Usage: "network namespace: NAME (under /run/netns), /path, pid:N or fd:N (default: the current one)"},
		&cli.StringFlag{Name: "policy", Value: "lenient", Usage: "on an interrupted dump: lenient (keep the data), strict (an EINTR error), retry"},
		&cli.IntFlag{Name: "retries", Value: 10, Usage: "most attempts per dump with --policy retry"},
		&cli.IntFlag{Name: "dumps", Aliases: []string{"n", "count"}, Usage: "dumps of each kind, then stop", DefaultText: "1; 10 with --inject-at; with --churn: --duration 10s"},
		&cli.DurationFlag{Name: "duration", Aliases: []string{"d"}, Usage: "dump for this long instead of a number of dumps"},
		&cli.IntFlag{Name: "dumpers", Value: 1, Usage: "concurrent dumpers (with --exec: 0 unless given)"},
		&cli.BoolFlag{Name: "json", Usage: "print the report as one JSON document (docs/report.schema.json)"},
		&cli.BoolFlag{Name: "json-lines", Usage: "stream one JSON record per line: a \"dump\" per dump, an \"exec_run\" per program run, then the \"report\""},
		&cli.BoolFlag{Name: "expect-interrupts", Usage: fmt.Sprintf("exit with status %d when no interruption was reproduced", exitNoInterrupt)},

		&cli.GenericFlag{Name: "churn", Value: &mixFlag{}, DefaultText: "off",
			Usage: "dump a namespace of nltrace's own while changing it; --churn=MIX picks the operations: link, netns, addr4, up, addr6, nexthop, neigh, with weights (link=3,netns=1; default: what moves the dumped kinds' counters)"},
		&cli.Float64Flag{Name: "churn-rate", Usage: "churn operations per second over all workers (0: as fast as possible)"},
		&cli.IntFlag{Name: "churn-workers", Value: 4, Usage: "parallel churn workers"},
		&cli.IntFlag{Name: "links", Value: 1000, Usage: "stable devices to populate the namespace with"},
		&cli.StringFlag{Name: "link-kind", Value: "auto", Usage: "kind of the populated and churned devices: auto (dummy where present, else veth), dummy, veth, ..."},
		&cli.IntFlag{Name: "addrs", Usage: "stable IPv4 addresses", DefaultText: "1000 when --kind includes addr4, else 0"},
		&cli.IntFlag{Name: "addrs6", Usage: "stable IPv6 addresses", DefaultText: "1000 when --kind includes addr6, else 0"},
		&cli.IntFlag{Name: "nexthops", Usage: "stable nexthops", DefaultText: "1000 when --kind includes nexthop, else 0"},
		&cli.IntFlag{Name: "inject-at", Usage: "no background churn: make exactly one change between chunk K and K+1 of every dump (deterministic)", DefaultText: "off"},
		&cli.BoolFlag{Name: "exec", Usage: "run the program after -- again and again inside the churning namespace: --exec -- CMD ARGS..."},
		&cli.IntFlag{Name: "runs", Usage: "runs of the --exec program, then stop", DefaultText: "while the dumpers run, or for --duration"},
		&cli.DurationFlag{Name: "exec-timeout", Value: 10 * time.Second, Usage: "time limit of each --exec run"},

		&cli.BoolFlag{Name: "trace", DefaultText: "on in a namespace of nltrace's own when the kernel allows it",
			Usage: "explain each interrupted dump with kernel events (eBPF: needs root, kernel BTF, and fentry or kprobes); asked for explicitly, its absence is an error"},
		&cli.StringFlag{Name: "backend", Value: "auto", Usage: "how --trace attaches: auto (fentry, else kprobe), fentry, kprobe"},
		&cli.BoolFlag{Name: "stacks", Usage: "with --trace, record a kernel stack with every counter bump (--json shows them)"},
	}
}

// output is how the report is printed.
type output struct {
	json, jsonLines bool
	expect          bool // --expect-interrupts
}

func runDump(c *cli.Context, cfg run.Config, out output) error {
	if cfg.Namespace != nil {
		warnLeftovers()
	}
	var lines *report.Lines
	hooks := run.Hooks{Populating: progress, Started: started, Status: newStatus(os.Stderr).show}
	if out.jsonLines {
		lines = report.NewLines(os.Stdout)
		hooks.Dump = func(d repro.Dump) { lines.Dump(d) }
		hooks.ExecRun = func(r repro.ExecRun) { lines.ExecRun(r) }
	}
	rep, err := run.Run(c.Context, cfg, hooks)
	clearStatus(os.Stderr)
	if rep == nil {
		if c.Context.Err() != nil {
			return cli.Exit(err.Error(), exitSignal)
		}
		return flagError(err)
	}
	if werr := write(rep, out, lines); werr != nil {
		return errors.Join(fmt.Errorf("write the report: %w", werr), err)
	}
	switch {
	case err != nil:
		return fmt.Errorf("%w (remove it with `nltrace cleanup`)", err)
	case rep.Stopped != "":
		return cli.Exit("", exitSignal)
	case out.expect && !rep.AnyInterrupted():
		return cli.Exit("no interrupted dump reproduced (--expect-interrupts)", exitNoInterrupt)
	}
	return nil
}

func write(rep *report.Report, out output, lines *report.Lines) error {
	switch {
	case lines != nil:
		return lines.Report(rep)
	case out.json:
		return rep.WriteJSON(os.Stdout)
	}
	return rep.WriteText(os.Stdout)
}

func warnLeftovers() {
	left, err := churn.Leftovers()
	if err != nil {
		return
	}
	for _, l := range left {
		fmt.Fprintf(os.Stderr, "nltrace: found namespace %s left by a run that is gone (pid %d): remove it with `nltrace cleanup`\n", l.Name, l.PID)
	}
}
