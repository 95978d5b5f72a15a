package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nltrace/nltrace/internal/churn"
	"github.com/nltrace/nltrace/internal/monitor"
	"github.com/nltrace/nltrace/internal/run"
	"github.com/nltrace/nltrace/internal/watch"
	"github.com/nltrace/nltrace/nlclient"
	"github.com/nltrace/nltrace/probe"
)

// parse runs the dump command's flag parsing on args, then the library's
// validation, as the command does before any work.
func parse(t *testing.T, args ...string) (run.Config, output, error) {
	t.Helper()
	var cfg run.Config
	var out output
	err := parseWith(dumpCommand(), args, func(c *cli.Context) (err error) {
		if cfg, out, err = parseDump(c); err == nil {
			err = flagError(cfg.Validate())
		}
		return err
	})
	return cfg, out, err
}

// parseWith runs cmd's flag parsing on args, with parse, the command's
// own checks before any work, in place of its action.
func parseWith(cmd *cli.Command, args []string, parse func(*cli.Context) error) error {
	var perr error
	cmd.Action = func(c *cli.Context) error {
		perr = parse(c)
		return nil
	}
	app := &cli.App{Name: "nltrace", Commands: []*cli.Command{cmd}, Writer: io.Discard, ErrWriter: io.Discard, OnUsageError: usageError}
	if err := app.Run(append([]string{"nltrace", cmd.Name}, args...)); err != nil {
		return err
	}
	return perr
}

func TestParseDumpFlags(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		check func(run.Config, output) bool
		err   string // part of the error, "" for none
	}{
		// The caller's namespace, read-only.
		{nil, func(c run.Config, _ output) bool {
			return c.Namespace == nil && c.Dumps == 1 && c.Dumpers == 1 && c.Trace.Mode == run.TraceOff
		}, ""},
		{[]string{"--netns", "blue", "--duration", "2s", "--json-lines"}, func(c run.Config, o output) bool {
			return c.Target.Path == "/run/netns/blue" && c.Dumps == 0 && c.Duration == 2*time.Second && o.jsonLines
		}, ""},
		{[]string{"--links", "5"}, nil, "--links applies only to a namespace of nltrace's own"},
		{[]string{"--trace"}, nil, "--trace applies only"},
		{[]string{"stray"}, nil, "unexpected arguments"},
		{[]string{"--dumpers", "-1"}, nil, "--dumpers -1: want 1 or more"},
		{[]string{"--dumps", "5", "--duration", "1s"}, nil, "not both"},
		{[]string{"--json", "--json-lines"}, nil, "not both"},
		{[]string{"--retries", "0"}, nil, "--retries 0"},
		{[]string{"--kind", "bogus"}, nil, "--kind"},
		// A namespace of nltrace's own.
		{[]string{"--churn"}, func(c run.Config, _ output) bool {
			n := c.Namespace
			return n.Mix == churn.Mix{churn.LinkOps: 1} && c.Duration == 10*time.Second && c.Dumps == 0 &&
				c.Dumpers == 1 && n.Links == 1000 && n.Addrs == 0 && c.Trace.Mode == run.TraceIfAvailable
		}, ""},
		{[]string{"--churn=link=3,netns=1", "-k", "link,addr4"}, func(c run.Config, _ output) bool {
			return c.Namespace.Mix == churn.Mix{churn.LinkOps: 3, churn.NetnsOps: 1} && c.Namespace.Addrs == 1000
		}, ""},
		{[]string{"--churn", "-k", "addr6,nexthop", "--addrs6", "5"}, func(c run.Config, _ output) bool {
			n := c.Namespace
			return n.Mix == churn.Mix{churn.Addr6Ops: 1, churn.NexthopOps: 1} && n.Addrs6 == 5 && n.Nexthops == 1000
		}, ""},
		{[]string{"--inject-at", "3"}, func(c run.Config, _ output) bool {
			return c.InjectAt == 3 && c.Namespace.Mix.Empty() && c.Dumps == 10 && c.Duration == 0
		}, ""},
		{[]string{"--churn", "--exec", "--", "true", "-v"}, func(c run.Config, _ output) bool {
			return c.Dumpers == 0 && strings.Join(c.Exec.Command, " ") == "true -v" && c.Duration == 10*time.Second
		}, ""},
		{[]string{"--churn", "--runs", "3", "--exec", "--", "true"}, func(c run.Config, _ output) bool {
			return c.Exec.Runs == 3 && c.Duration == 0
		}, ""},
		{[]string{"--churn", "--dumpers", "2", "--exec", "--", "true"}, func(c run.Config, _ output) bool { return c.Dumpers == 2 }, ""},
		{[]string{"--churn", "--trace=false"}, func(c run.Config, _ output) bool { return c.Trace.Mode == run.TraceOff }, ""},
		{[]string{"--churn", "--trace", "--backend", "kprobe"}, func(c run.Config, _ output) bool {
			return c.Trace.Mode == run.TraceRequired && c.Trace.Backend.String() == "kprobe"
		}, ""},
		{[]string{"--churn=bogus"}, nil, "--churn: churn mix \"bogus\": unknown operation"},
		{[]string{"--bogus"}, nil, "flag provided but not defined: --bogus (see nltrace dump --help)"},
		{[]string{"--dumps", "x"}, nil, "for flag --dumps"},
		{[]string{"--inject-at", "3", "--churn"}, nil, "background"},
		{[]string{"--inject-at", "3", "--dumpers", "2"}, nil, "--dumpers 2: want 1 with --inject-at"},
		{[]string{"--inject-at", "0"}, nil, "--inject-at 0: want a chunk number"},
		{[]string{"--inject-at", "-1"}, nil, "--inject-at -1: want a chunk number"},
		{[]string{"--churn", "--exec"}, nil, "needs a command"},
		{[]string{"--churn", "--netns", "x"}, nil, "--netns"},
		{[]string{"--churn", "--links", "0"}, nil, "--links 0: want 1 to 1048576"},
		{[]string{"--churn", "--links", "-1"}, nil, "--links -1: want 1 to 1048576"},
		{[]string{"--churn", "--addrs", "-1"}, nil, "--addrs -1: want 0 to 1048576"},
		{[]string{"--churn", "--churn-workers", "0"}, nil, "--churn-workers 0"},
		{[]string{"--churn", "--churn-rate", "-1"}, nil, "--churn-rate -1"},
		{[]string{"--churn", "--dumps", "5", "--duration", "1s"}, nil, "not both"},
		{[]string{"--churn", "--exec-timeout", "-1s", "--exec", "--", "x"}, nil, "--exec-timeout -1s"},
		{[]string{"--churn", "--runs", "-1", "--exec", "--", "x"}, nil, "--runs -1"},
		{[]string{"--churn", "--dumps", "3", "--exec", "--", "x"}, nil, "--dumps 3: want 0 without dumpers"},
		{[]string{"--churn", "--backend", "bogus"}, nil, "--backend"},
		{[]string{"--churn", "--exec", "--", "/nonexistent/client"}, nil, "--exec /nonexistent/client: want a program that exists"},
		{[]string{"--churn", "stray"}, nil, "unexpected arguments"},
	} {
		cfg, out, err := parse(t, tc.args...)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: error %v, want one containing %q", tc.args, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.args, err)
		case tc.err == "" && !tc.check(cfg, out):
			t.Errorf("%q: config %+v, namespace %+v", tc.args, cfg, cfg.Namespace)
		}
	}
}

// TestFlagErrorNamesFlags checks that every field the library can reject
// has a flag name: a new field without one would reach the user in Go's
// words.
func TestFlagErrorNamesFlags(t *testing.T) {
	cfg := run.Config{
		Kinds: nil, Dumpers: -1, Dumps: -1, Duration: -1, InjectAt: -1,
		Options:   nlclient.Options{Policy: nlclient.Retry},
		Namespace: &churn.Config{Links: -1, Addrs: -1, Addrs6: -1, Nexthops: -1, Workers: -1, Rate: -1},
		Exec:      &run.Exec{Timeout: -1, Runs: -1},
		Target:    nlclient.Target{PID: 1},
	}
	err := flagError(cfg.Validate())
	if err == nil {
		t.Fatal("no error")
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if !strings.HasPrefix(line, "--") {
			t.Errorf("error line %q does not start with a flag", line)
		}
	}
}

// TestEveryFlagRejectsBadValues walks every flag of the dump command: a
// bad value is one line naming the flag, before any work. A new flag
// without a bad value here fails the test.
func TestEveryFlagRejectsBadValues(t *testing.T) {
	own := []string{"--churn"}
	bad := map[string][]string{
		"kind": {"--kind", "bogus"}, "netns": {"--netns", "a/b"}, "policy": {"--policy", "sometimes"},
		"retries": {"--retries", "0"}, "dumps": {"--dumps", "-1"}, "duration": {"--duration", "-1s"},
		"dumpers": {"--dumpers", "-1"}, "json": {"--json=maybe"}, "json-lines": {"--json-lines=maybe"},
		"expect-interrupts": {"--expect-interrupts=maybe"}, "churn": {"--churn=bogus"},
		"churn-rate": append(own, "--churn-rate", "-1"), "churn-workers": append(own, "--churn-workers", "0"),
		"links": append(own, "--links", "0"), "link-kind": append(own, "--link-kind", ""),
		"addrs": append(own, "--addrs", "-1"), "addrs6": append(own, "--addrs6", "-1"),
		"nexthops": append(own, "--nexthops", "-1"), "inject-at": {"--inject-at", "0"},
		"exec": {"--churn", "--exec=maybe"}, "runs": append(own, "--runs", "-1", "--exec", "--", "true"),
		"exec-timeout": append(own, "--exec-timeout", "-1s", "--exec", "--", "true"),
		"trace":        append(own, "--trace=maybe"), "backend": append(own, "--backend", "bogus"),
		"stacks": append(own, "--stacks=maybe"),
	}
	cases := map[string][][]string{}
	for name, args := range bad {
		cases[name] = [][]string{args}
	}
	rejectsBadValues(t, dumpFlags(), cases, func(args ...string) error {
		_, _, err := parse(t, args...)
		return err
	})
}

// rejectsBadValues checks that parse refuses each flag's bad values (a
// line naming the flag) and that every flag has some.
func rejectsBadValues(t *testing.T, flags []cli.Flag, bad map[string][][]string, parse func(args ...string) error) {
	t.Helper()
	for _, f := range flags {
		name := f.Names()[0]
		cases, ok := bad[name]
		if !ok {
			t.Errorf("--%s: no bad value in this test", name)
			continue
		}
		for _, args := range cases {
			err := parse(args...)
			switch {
			case err == nil:
				t.Errorf("%q: accepted", args)
			case !strings.Contains(err.Error(), "--"+name):
				t.Errorf("%q: %q does not name --%s", args, err, name)
			case strings.Contains(err.Error(), "\n"):
				t.Errorf("%q: %q is more than one line", args, err)
			}
		}
	}
}

// parseMonitorArgs runs the monitor command's flag parsing on args, as the
// command does before any work.
func parseMonitorArgs(t *testing.T, args ...string) (monitor.Config, monitorOutput, error) {
	t.Helper()
	var cfg monitor.Config
	var out monitorOutput
	err := parseWith(monitorCommand(), args, func(c *cli.Context) (err error) {
		cfg, out, err = parseMonitor(c)
		return err
	})
	return cfg, out, err
}

// TestEveryMonitorFlagRejectsBadValues walks every flag of the monitor
// command, as TestEveryFlagRejectsBadValues does for dump.
func TestEveryMonitorFlagRejectsBadValues(t *testing.T) {
	bad := map[string][][]string{
		"kind":       {{"--kind", "bogus"}, {"--kind", "stats"}, {"--kind", ""}},
		"netns":      {{"--netns", "a/b"}, {"--netns", "pid:x"}},
		"all-netns":  {{"--all-netns=maybe"}},
		"json-lines": {{"--json-lines=maybe"}},
		"rcvbuf":     {{"--rcvbuf", "-1"}, {"--rcvbuf", "1k"}},
		"duration":   {{"--duration", "-1s"}, {"--duration", "soon"}},
	}
	rejectsBadValues(t, monitorFlags(), bad, func(args ...string) error {
		_, _, err := parseMonitorArgs(t, args...)
		return err
	})
	cfg, out, err := parseMonitorArgs(t)
	if err != nil || len(cfg.Kinds) != len(monitor.Kinds) || cfg.AllNetNS || out.jsonLines || cfg.RcvBuf != 0 {
		t.Errorf("defaults: %+v %+v %v; want every kind, the current namespace", cfg, out, err)
	}
	if _, _, err := parseMonitorArgs(t, "stray"); err == nil || !strings.Contains(err.Error(), "unexpected arguments") {
		t.Errorf("a stray argument: %v", err)
	}
}

// parseWatchArgs runs the watch command's flag parsing on args, as the
// command does before any work.
func parseWatchArgs(t *testing.T, args ...string) (watch.Config, bool, error) {
	t.Helper()
	var cfg watch.Config
	var jsonLines bool
	err := parseWith(watchCommand(), args, func(c *cli.Context) (err error) {
		cfg, jsonLines, err = parseWatch(c)
		return err
	})
	return cfg, jsonLines, err
}

// TestEveryWatchFlagRejectsBadValues walks every flag of the watch
// command, as TestEveryFlagRejectsBadValues does for dump.
func TestEveryWatchFlagRejectsBadValues(t *testing.T) {
	bad := map[string][][]string{
		"kind":       {{"--kind", "bogus"}, {"--kind", "links"}, {"--kind", ""}},
		"netns":      {{"--netns", "a/b"}, {"--netns", "pid:x"}},
		"pid":        {{"--pid", "-1"}, {"--pid", "99999999"}, {"--pid", "kubelet"}},
		"comm":       {{"--comm", "a-name-of-16-chars"}},
		"backend":    {{"--backend", "bogus"}},
		"duration":   {{"--duration", "-1s"}, {"--duration", "soon"}},
		"until":      {{"--until", "-1"}, {"--until", "x"}},
		"json-lines": {{"--json-lines=maybe"}},
		"metrics":    {{"--metrics", "9090"}, {"--metrics", "localhost"}},
	}
	rejectsBadValues(t, watchFlags(), bad, func(args ...string) error {
		_, _, err := parseWatchArgs(t, args...)
		return err
	})
	cfg, jsonLines, err := parseWatchArgs(t)
	if err != nil || cfg.Kinds != nil || cfg.NetNS != (nlclient.Target{}) || cfg.PID != 0 || jsonLines || cfg.Backend != probe.Auto {
		t.Errorf("defaults: %+v %v %v; want every kind, every namespace, auto", cfg, jsonLines, err)
	}
	if _, _, err := parseWatchArgs(t, "stray"); err == nil || !strings.Contains(err.Error(), "unexpected arguments") {
		t.Errorf("a stray argument: %v", err)
	}
}
