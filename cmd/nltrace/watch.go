package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/nltrace/nltrace/internal/watch"
	"github.com/nltrace/nltrace/nlclient"
	"github.com/nltrace/nltrace/probe"
)

func watchCommand() *cli.Command {
	return &cli.Command{
		Name:  "watch",
		Usage: "explain the interrupted rtnetlink dumps of every process on this host, live",
		Description: "Observes every rtnetlink dump made on the host, by any process in any network namespace, with\n" +
			"the eBPF probe (fentry, else kprobes, else tracepoints), and prints a line for each one the kernel\n" +
			"interrupted: who dumped, which chunk was flagged, which counter moved and which process (or the\n" +
			"kernel) moved it. nltrace's own dumps are never reported. On exit (SIGINT, --duration, --until)\n" +
			"it prints a summary per dumping process. --metrics serves the same as Prometheus metrics.",
		Flags:        watchFlags(),
		OnUsageError: usageError,
		Action: func(c *cli.Context) error {
			cfg, jsonLines, err := parseWatch(c)
			if err != nil {
				return err
			}
			return runWatch(c.Context, cfg, jsonLines)
		},
	}
}

func watchFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "kind", Aliases: []string{"k"}, Value: cli.NewStringSlice("all"),
			Usage: "dumps to watch: " + strings.Join(watch.Kinds, ", ") + " (addr, route: both families at once, as ip addr show), or all; repeat or comma-separate"},
		&cli.StringFlag{Name: "netns", Usage: "only dumps in this network namespace: NAME (under /run/netns), /path, pid:N or fd:N", DefaultText: "every namespace"},
		&cli.UintFlag{Name: "pid", Usage: "only dumps made by this process (its id as the host sees it)", DefaultText: "any"},
		&cli.StringFlag{Name: "comm", Usage: "only dumps made by processes of this name (as in /proc/PID/comm, 15 characters at most)", DefaultText: "any"},
		&cli.StringFlag{Name: "backend", Value: "auto", Usage: "how to attach: auto (fentry, else kprobe, else tracepoint), fentry, kprobe, tracepoint"},
		&cli.DurationFlag{Name: "duration", Aliases: []string{"d"}, Usage: "stop after this long", DefaultText: "until interrupted"},
		&cli.IntFlag{Name: "until", Usage: "stop after this many interrupted dumps", DefaultText: "no limit"},
		&cli.BoolFlag{Name: "json-lines", Usage: "one JSON record per line: \"start\", \"interrupted\" per interrupted dump, \"overload\", \"warning\", then \"summary\" (docs/watch.md)"},
		&cli.StringFlag{Name: "metrics", Usage: "serve Prometheus metrics on ADDR (host:port; :9090 for every address) at /metrics", DefaultText: "off"},
	}
}

func parseWatch(c *cli.Context) (watch.Config, bool, error) {
	var cfg watch.Config
	if c.Args().Present() {
		return cfg, false, fmt.Errorf("unexpected arguments %q", c.Args().Slice())
	}
	var err error
	if cfg.Kinds, err = watch.ParseKinds(c.StringSlice("kind")); err != nil {
		return cfg, false, fmt.Errorf("--kind: %w", err)
	}
	if cfg.NetNS, err = nlclient.ParseTarget(c.String("netns")); err != nil {
		return cfg, false, fmt.Errorf("--netns: %w", err)
	}
	if cfg.Backend, err = probe.ParseBackend(c.String("backend")); err != nil {
		return cfg, false, fmt.Errorf("--backend: %w", err)
	}
	pid := c.Uint("pid")
	if pid > 1<<22 {
		return cfg, false, fmt.Errorf("--pid %d: not a process id (at most %d)", pid, 1<<22)
	}
	cfg.PID, cfg.Comm = uint32(pid), c.String("comm")
	cfg.Duration, cfg.Until, cfg.Metrics = c.Duration("duration"), c.Int("until"), c.String("metrics")
	return cfg, c.Bool("json-lines"), watchFlagError(cfg.Validate())
}

// watchFlagNames names the flag of each Config field.
var watchFlagNames = map[string]string{"Kinds": "kind", "NetNS": "netns", "PID": "pid", "Comm": "comm",
	"Duration": "duration", "Until": "until", "Metrics": "metrics", "Backend": "backend"}

func watchFlagError(err error) error {
	var fe *watch.FieldError
	if errors.As(err, &fe) {
		return fmt.Errorf("--%s: %w", watchFlagNames[fe.Field], fe.Err)
	}
	return err
}

func runWatch(sig context.Context, cfg watch.Config, jsonLines bool) error {
	ctx, cancel := context.WithCancelCause(sig)
	defer cancel(nil)
	out := &recordWriter{w: os.Stdout, json: jsonLines}
	cfg.OnStart = func(s *watch.Start) {
		fmt.Fprintln(os.Stderr, startLine(s))
		out.write(s)
	}
	cfg.OnRecord = func(r any) {
		if err := out.write(r); err != nil && ctx.Err() == nil {
			cancel(fmt.Errorf("write: %w", err))
		}
	}
	s, err := watch.Run(ctx, cfg)
	if err != nil {
		return watchFlagError(err)
	}
	if jsonLines {
		out.write(s)
	} else {
		writeSummary(os.Stdout, s)
	}
	for _, e := range s.Errors {
		fmt.Fprintln(os.Stderr, "nltrace watch: "+e)
	}
	switch werr := context.Cause(ctx); {
	case len(s.Errors) > 0:
		// The probe's reader or the metrics server failed: what was
		// seen is printed, and is not all there was.
		return cli.Exit("", 1)
	case sig.Err() != nil:
		return cli.Exit("", exitSignal)
	case werr != nil && !errors.Is(werr, context.Canceled):
		return werr
	}
	return nil
}

// recordWriter prints records as JSON lines, or as text: interrupted dumps
// on stdout, overload and warnings on stderr; the start and the summary
// are printed otherwise in text.
type recordWriter struct {
	mu   sync.Mutex
	w    io.Writer
	json bool
}

func (o *recordWriter) write(v any) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.json {
		return json.NewEncoder(o.w).Encode(v)
	}
	switch t := v.(type) {
	case *watch.Interrupted:
		_, err := fmt.Fprintln(o.w, t)
		return err
	case *watch.Overload, *watch.Warning:
		fmt.Fprintln(os.Stderr, "nltrace watch:", t)
	}
	return nil
}

func startLine(s *watch.Start) string {
	where := "every network namespace"
	if s.NetNS != 0 {
		where = fmt.Sprintf("network namespace %d", s.NetNS)
	}
	line := fmt.Sprintf("nltrace watch: watching rtnetlink dumps in %s (backend %s", where, s.Backend)
	if s.Hooks != "" {
		line += ": " + s.Hooks
	}
	line += ")"
	if s.Metrics != "" {
		line += "; metrics on http://" + s.Metrics + "/metrics"
	}
	if s.Fallback != "" {
		line += "\nnltrace watch: fell back to " + s.Backend + ": " + strings.ReplaceAll(s.Fallback, "\n", "; ")
	}
	for _, sk := range s.Skipped {
		line += "\nnltrace watch: not observable here: " + sk.String()
	}
	for _, l := range s.Limits {
		line += "\nnltrace watch: limit of this backend: " + l
	}
	return line
}

// writeSummary prints the per-process table.
func writeSummary(w io.Writer, s *watch.Summary) {
	fmt.Fprintf(w, "\nwatched %s: %d dumps, %d interrupted (%s), %d of them explained (%s)\n",
		s.Duration.Round(100*1e6), s.Dumps, s.Interrupted, percent(s.Interrupted, s.Dumps), s.Explained, percent(s.Explained, s.Interrupted))
	if len(s.Dumpers) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "process\tdumps\tinterrupted\tretries\tlongest run\t\ttop culprits")
		for _, d := range s.Dumpers {
			var culprits []string
			for _, c := range d.Culprits {
				culprits = append(culprits, fmt.Sprintf("%s (%d)", c.Comm, c.Dumps))
			}
			fmt.Fprintf(tw, "%s\t%d\t%d (%s)\t%d\t%d\t\t%s\n", dumperName(d), d.Dumps, d.Interrupted, percent(d.Interrupted, d.Dumps),
				d.Retries, d.LongestRun, strings.Join(culprits, ", "))
		}
		tw.Flush()
	}
	if s.Drops > 0 || s.DroppedSamples > 0 || s.DroppedWriters > 0 {
		fmt.Fprintf(w, "overload: %d kernel events lost, %d samples and %d writer events dropped by the join\n", s.Drops, s.DroppedSamples, s.DroppedWriters)
	}
}

func dumperName(d watch.Dumper) string {
	if d.Processes == 1 {
		return fmt.Sprintf("%s[%d]", d.Comm, d.PID)
	}
	if d.Processes >= watch.MaxProcesses {
		return fmt.Sprintf("%s (%d+ processes)", d.Comm, d.Processes)
	}
	return fmt.Sprintf("%s (%d processes)", d.Comm, d.Processes)
}

func percent(n, of int) string {
	if of == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(of))
}
