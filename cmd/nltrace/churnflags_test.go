package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nltrace/nltrace/internal/churn"
)

// parse runs the dump command's flag parsing on args.
func parse(t *testing.T, args ...string) (churnConfig, bool, error) {
	t.Helper()
	var cfg churnConfig
	var wants bool
	var perr error
	cmd := dumpCommand()
	cmd.Action = func(c *cli.Context) error {
		wants = wantsChurn(c)
		cfg, perr = parseChurnFlags(c)
		return nil
	}
	app := &cli.App{Commands: []*cli.Command{cmd}, Writer: io.Discard, ErrWriter: io.Discard}
	if err := app.Run(append([]string{"nltrace", "dump"}, args...)); err != nil {
		return cfg, false, err
	}
	return cfg, wants, perr
}

func TestParseChurnFlags(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		check func(churnConfig) bool
		err   string // part of the error, "" for none
	}{
		{[]string{"--churn"}, func(c churnConfig) bool {
			return c.engine.Mix == churn.Mix{churn.LinkOps: 1} && c.dump.duration == 10*time.Second &&
				c.dumpers == 1 && c.engine.Links == 1000 && c.churn && c.engine.Addrs == 0
		}, ""},
		{[]string{"--churn=link=3,netns=1", "-k", "link,addr4"}, func(c churnConfig) bool {
			return c.engine.Mix == churn.Mix{churn.LinkOps: 3, churn.NetnsOps: 1} && c.engine.Addrs == 1000
		}, ""},
		{[]string{"--churn", "-k", "addr6,nexthop", "--addrs6", "5"}, func(c churnConfig) bool {
			return c.engine.Mix == churn.Mix{churn.Addr6Ops: 1, churn.NexthopOps: 1} && c.engine.Addrs6 == 5 && c.engine.Nexthops == 1000
		}, ""},
		{[]string{"--inject-at", "3"}, func(c churnConfig) bool {
			return c.injectAt == 3 && !c.churn && c.dumps == 10 && c.dump.duration == 0
		}, ""},
		{[]string{"--churn", "--exec", "--", "client", "-v"}, func(c churnConfig) bool {
			return c.dumpers == 0 && strings.Join(c.exec, " ") == "client -v"
		}, ""},
		{[]string{"--churn", "--dumpers", "2", "--exec", "--", "client"}, func(c churnConfig) bool { return c.dumpers == 2 }, ""},
		{[]string{"--churn=bogus"}, nil, "unknown operation"},
		{[]string{"--inject-at", "3", "--churn"}, nil, "background"},
		{[]string{"--inject-at", "3", "--dumpers", "2"}, nil, "one dumper"},
		{[]string{"--churn", "--exec"}, nil, "needs a command"},
		{[]string{"--churn", "--netns", "x"}, nil, "--netns"},
		{[]string{"--churn", "--links", "0"}, nil, "--links"},
		{[]string{"--churn", "--dumps", "5", "--duration", "1s"}, nil, "not both"},
		{[]string{"--churn", "stray"}, nil, "unexpected arguments"},
	} {
		cfg, wants, err := parse(t, tc.args...)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: error %v, want one containing %q", tc.args, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.args, err)
		case tc.err == "" && (!wants || !tc.check(cfg)):
			t.Errorf("%q: wants churn %v, config %+v", tc.args, wants, cfg)
		}
	}
}
