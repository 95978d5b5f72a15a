package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nltrace/nltrace/internal/monitor"
	"github.com/nltrace/nltrace/nlclient"
)

func monitorCommand() *cli.Command {
	return &cli.Command{
		Name:  "monitor",
		Usage: "print rtnetlink changes as they happen, with the process that made each",
		Description: "Subscribes to link, address, route, neighbour and nexthop notifications of the current\n" +
			"namespace (or --netns, or every namespace with an id there: --all-netns) and prints one line\n" +
			"per change, naming the writing process where the kernel says which socket asked for it.\n" +
			"Notifications lost to a full socket buffer are counted and reported, and the tables dumped\n" +
			"again. Stops on SIGINT or after --duration, then prints a summary on stderr.",
		Flags:        monitorFlags(),
		OnUsageError: usageError,
		Action: func(c *cli.Context) error {
			cfg, out, err := parseMonitor(c)
			if err != nil {
				return err
			}
			return runMonitor(c.Context, cfg, out)
		},
	}
}

func monitorFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "kind", Aliases: []string{"k"}, Value: cli.NewStringSlice("all"),
			Usage: "what to watch: link, addr4, addr6, route4, route6, neigh, nexthop, or all (repeat or comma-separate)"},
		&cli.StringFlag{Name: "netns", Usage: "network namespace: NAME (under /run/netns), /path, pid:N or fd:N (default: the current one)"},
		&cli.BoolFlag{Name: "all-netns", Usage: "also every namespace that has an id in the monitored one (as ip monitor all-nsid); lines show the nsid and name"},
		&cli.BoolFlag{Name: "json-lines", Usage: "one JSON object per event (fields: docs/monitor.md)"},
		&cli.IntFlag{Name: "rcvbuf", Usage: "socket receive buffer in bytes (small values provoke overruns)", DefaultText: fmt.Sprint(monitor.DefaultRcvBuf)},
		&cli.DurationFlag{Name: "duration", Aliases: []string{"d"}, Usage: "stop after this long", DefaultText: "until interrupted"},
	}
}

// monitorOutput is how events are printed.
type monitorOutput struct {
	jsonLines bool
	duration  time.Duration
}

func parseMonitor(c *cli.Context) (monitor.Config, monitorOutput, error) {
	var cfg monitor.Config
	out := monitorOutput{jsonLines: c.Bool("json-lines"), duration: c.Duration("duration")}
	if c.Args().Present() {
		return cfg, out, fmt.Errorf("unexpected arguments %q", c.Args().Slice())
	}
	var err error
	if cfg.Kinds, err = monitor.ParseKinds(c.StringSlice("kind")); err != nil {
		return cfg, out, fmt.Errorf("--kind: %w", err)
	}
	if cfg.Target, err = nlclient.ParseTarget(c.String("netns")); err != nil {
		return cfg, out, fmt.Errorf("--netns: %w", err)
	}
	cfg.AllNetNS, cfg.RcvBuf = c.Bool("all-netns"), c.Int("rcvbuf")
	if cfg.RcvBuf < 0 {
		return cfg, out, fmt.Errorf("--rcvbuf %d: want a size in bytes (0: the default)", cfg.RcvBuf)
	}
	if out.duration < 0 {
		return cfg, out, fmt.Errorf("--duration %v: want a positive duration", out.duration)
	}
	return cfg, out, cfg.Validate()
}

func runMonitor(sig context.Context, cfg monitor.Config, out monitorOutput) error {
	ctx, cancel := context.WithCancelCause(sig)
	defer cancel(nil)
	if out.duration > 0 {
		var stop context.CancelFunc
		ctx, stop = context.WithTimeout(ctx, out.duration)
		defer stop()
	}
	m, err := monitor.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer m.Close()
	fmt.Fprintf(os.Stderr, "nltrace monitor: watching %s in netns %s%s (receive buffer %d bytes)\n",
		kindNames(cfg.Kinds), cfg.Target, map[bool]string{true: " and every namespace with an id there"}[cfg.AllNetNS], m.RcvBuf())
	if err := monitor.CheckWriters(); err != nil {
		fmt.Fprintf(os.Stderr, "nltrace monitor: writing processes cannot be named, only port ids: %v\n", err)
	}
	print := printer(os.Stdout, out.jsonLines)
	err = m.Run(ctx, func(e monitor.Event) {
		if werr := print(e); werr != nil && ctx.Err() == nil {
			cancel(fmt.Errorf("write: %w", werr))
		}
	})
	fmt.Fprintln(os.Stderr, summary(m.Stats()))
	switch werr := context.Cause(ctx); {
	case err != nil:
		return err
	case sig.Err() != nil:
		return cli.Exit("", exitSignal)
	case werr != nil && !errors.Is(werr, context.DeadlineExceeded):
		return werr
	}
	return nil
}

// printer writes each event as a line of text or of JSON.
func printer(w io.Writer, jsonLines bool) func(monitor.Event) error {
	if jsonLines {
		enc := json.NewEncoder(w)
		return func(e monitor.Event) error { return enc.Encode(e) }
	}
	return func(e monitor.Event) error {
		_, err := fmt.Fprintln(w, e)
		return err
	}
}

func kindNames(kinds []nlclient.Kind) string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = k.String()
	}
	return strings.Join(names, ", ")
}

// summary says what the run saw, overruns first: losses are never silent.
func summary(s monitor.Stats) string {
	var b strings.Builder
	fmt.Fprintf(&b, "nltrace monitor: %d events", s.Events)
	if s.Unresolved > 0 {
		fmt.Fprintf(&b, " (%d with a writer not found)", s.Unresolved)
	}
	lost := fmt.Sprint(s.Lost)
	switch {
	case !s.LostKnown && s.Lost == 0:
		lost = "an unknown number of"
	case !s.LostKnown:
		lost = "at least " + lost
	}
	fmt.Fprintf(&b, "; %d overruns, %s events lost, %d tables dumped again", s.Overruns, lost, s.Resyncs)
	if s.Undecoded > 0 {
		fmt.Fprintf(&b, "; %d notifications could not be decoded", s.Undecoded)
	}
	return b.String()
}
