package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nltrace/nltrace/nlclient"
)

func dumpCommand() *cli.Command {
	return &cli.Command{
		Name:  "dump",
		Usage: "dump rtnetlink tables and report every interrupted dump",
		Description: "Runs dumps once, N times (--dumps) or for a duration (--duration) and prints, per kind,\n" +
			"how many dumps were interrupted (NLM_F_DUMP_INTR) and where.",
		Flags: append([]cli.Flag{
			&cli.StringSliceFlag{Name: "kind", Aliases: []string{"k"}, Value: cli.NewStringSlice("link"),
				Usage: "what to dump: link, addr4, addr6, route4, route6, neigh, nexthop, stats, or all (repeat or comma-separate)"},
			&cli.StringFlag{Name: "netns", Usage: "network namespace: NAME (under /run/netns), /path, pid:N or fd:N (default: the current one)"},
			&cli.StringFlag{Name: "policy", Value: "lenient", Usage: "on an interrupted dump: lenient (keep the data), strict (an EINTR error), retry"},
			&cli.IntFlag{Name: "retries", Value: 10, Usage: "most attempts per dump with --policy retry"},
			&cli.IntFlag{Name: "dumps", Aliases: []string{"n", "count"}, Value: 1, Usage: "dumps of each kind, then stop (with --churn or --inject-at: default 10s, or 10 dumps for --inject-at; with --exec: runs)"},
			&cli.DurationFlag{Name: "duration", Aliases: []string{"d"}, Usage: "dump for this long instead of a number of dumps"},
			&cli.BoolFlag{Name: "json", Usage: "one JSON object per dump on stdout instead of the table"},
		}, append(churnFlags(), traceFlags()...)...),
		Action: runDump,
	}
}

// dumpConfig is what the dump flags say, checked.
type dumpConfig struct {
	kinds    []nlclient.Kind
	target   nlclient.Target
	opts     nlclient.Options
	count    int
	duration time.Duration
	json     bool
}

func parseDumpFlags(c *cli.Context) (dumpConfig, error) {
	var cfg dumpConfig
	var err error
	if cfg.kinds, err = nlclient.ParseKinds(c.StringSlice("kind")); err != nil {
		return cfg, err
	}
	if cfg.target, err = nlclient.ParseTarget(c.String("netns")); err != nil {
		return cfg, err
	}
	if cfg.opts.Policy, err = nlclient.ParsePolicy(c.String("policy")); err != nil {
		return cfg, err
	}
	if cfg.opts.Attempts = c.Int("retries"); cfg.opts.Attempts < 1 {
		return cfg, fmt.Errorf("--retries %d: want at least 1", cfg.opts.Attempts)
	}
	if cfg.count = c.Int("dumps"); cfg.count < 1 {
		return cfg, fmt.Errorf("--dumps %d: want at least 1", cfg.count)
	}
	if cfg.duration = c.Duration("duration"); cfg.duration < 0 {
		return cfg, fmt.Errorf("--duration %v: want a positive duration", cfg.duration)
	}
	cfg.json = c.Bool("json")
	return cfg, nil
}

func runDump(c *cli.Context) error {
	if _, err := parseTraceFlags(c, wantsChurn(c)); err != nil {
		return err
	}
	if wantsChurn(c) {
		return runChurn(c)
	}
	cfg, err := parseDumpFlags(c)
	if err != nil {
		return err
	}
	client, err := nlclient.Dial(cfg.target)
	if err != nil {
		return err
	}
	defer client.Close()

	ctx := c.Context
	if cfg.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.duration)
		defer cancel()
	}
	stats := map[nlclient.Kind]*kindStats{}
	enc := json.NewEncoder(os.Stdout)
	for n := 0; cfg.duration > 0 || n < cfg.count; n++ {
		for _, k := range cfg.kinds {
			r, err := client.Dump(ctx, k, cfg.opts)
			if ctx.Err() != nil {
				return finish(c, cfg, stats)
			}
			if err != nil && !errors.Is(err, nlclient.ErrDumpInterrupted) {
				return err
			}
			if stats[k] == nil {
				stats[k] = &kindStats{kind: k}
			}
			stats[k].add(r)
			if cfg.json {
				if err := enc.Encode(dumpRecord(r, err)); err != nil {
					return fmt.Errorf("write JSON: %w", err)
				}
			}
		}
	}
	return finish(c, cfg, stats)
}

// finish prints the table of what was dumped, also when a signal cut the
// run short, which the exit status then says.
func finish(c *cli.Context, cfg dumpConfig, stats map[nlclient.Kind]*kindStats) error {
	if !cfg.json {
		printTable(os.Stdout, cfg.kinds, stats)
	}
	if c.Context.Err() != nil {
		return cli.Exit("", exitSignal)
	}
	return nil
}
