package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nltrace/nltrace/internal/check"
	"github.com/nltrace/nltrace/internal/vm"
)

func checkCommand() *cli.Command {
	return &cli.Command{
		Name:  "check",
		Usage: "check how a kernel interrupts dumps, and how a client copes, against expectations (for CI)",
		Description: "Runs named checks, each in a namespace of nltrace's own: where the flag lands, the lost window, and\n" +
			"per kind whether dumps are flagged under churn, whether a wrong dump can go unflagged, whether stable\n" +
			"objects are missed or repeated, whether the address cursor is positional, NLMSG_DONE's flag, and\n" +
			"whether the kernel probe explains every interruption. With --exec -- CMD, the client runs under churn\n" +
			"and must meet --allow-exit and --allow. Expectations come from what the kernel's BTF says about it,\n" +
			"or from --baseline. Exit status: 0 every expectation held, 4 a regression, 1 an error.",
		Flags:        checkFlags(),
		OnUsageError: usageError,
		Action: func(c *cli.Context) error {
			cfg, out, err := parseCheck(c)
			if err != nil {
				return err
			}
			return runCheck(c, cfg, out)
		},
	}
}

func checkFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "only", Usage: "run only these checks, or groups of them (link/, client/); repeat or comma-separate", DefaultText: "all"},
		&cli.DurationFlag{Name: "churn-duration", Value: check.DefaultChurn, Usage: "how long each kind is dumped under churn"},
		&cli.BoolFlag{Name: "json", Usage: "print the results as one JSON document"},
		&cli.StringFlag{Name: "junit", Usage: "also write the results as JUnit XML to FILE, for CI systems to show"},
		&cli.StringFlag{Name: "baseline", Usage: "hold the kernel to the facts in FILE instead of its default expectations"},
		&cli.StringFlag{Name: "record-baseline", Usage: "write the facts measured to FILE, as a baseline for later runs"},
		&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "print what every check measured and expected, not only the failed ones"},
		&cli.BoolFlag{Name: "exec", Usage: "also run the client after -- again and again under link churn: --exec -- CMD ARGS..."},
		&cli.DurationFlag{Name: "exec-duration", Value: 5 * time.Second, Usage: "how long the --exec client runs under churn"},
		&cli.DurationFlag{Name: "exec-timeout", Value: 10 * time.Second, Usage: "time limit of each --exec run"},
		&cli.IntSliceFlag{Name: "allow-exit", Usage: "exit statuses of a good --exec run besides 0; repeat or comma-separate (the symptoms a run prints are judged by --allow)", DefaultText: "0 only"},
		&cli.StringSliceFlag{Name: "allow", Usage: "a symptom the --exec client may print (and then exit with any status), e.g. \"results may be incomplete\"; repeatable"},

		&cli.StringSliceFlag{Name: "kernel", Usage: "check this kernel in a QEMU guest instead of this machine's (KVM when usable, TCG otherwise); repeatable. SPEC is " + vm.SpecForms},
		&cli.StringFlag{Name: "vm-cache", Value: "/var/cache/nltrace-vm", EnvVars: []string{"NLTRACE_VM_CACHE"}, Usage: "where --kernel keeps downloaded kernels"},
		&cli.StringFlag{Name: "vm-logs", Usage: "directory for the guests' serial logs", DefaultText: "a new directory under $TMPDIR"},
		&cli.DurationFlag{Name: "vm-timeout", Value: 5 * time.Minute, Usage: "limit for one guest from QEMU's start to its verdict (doubled for emulated arm64)"},
		&cli.IntFlag{Name: "vm-parallel", Usage: "guests booted at once (each has one virtual CPU)", DefaultText: "one per host CPU"},
		&cli.StringSliceFlag{Name: "guest-nltrace", Usage: "a static nltrace built for a guest architecture (CGO_ENABLED=0 GOARCH=arm64 go build ./cmd/nltrace); repeatable", DefaultText: "this nltrace, for guests of its architecture"},
		// The guest side of --kernel: the configuration the host wrote.
		&cli.StringFlag{Name: "config", Hidden: true},
	}
}

type checkOutput struct {
	json           bool
	verbose        bool
	junit          string
	recordBaseline string
	guests         *check.Guests // nil: this machine's kernel
}

// clientFlags only make sense with --exec, vmFlags with --kernel.
var (
	clientFlags = []string{"exec-duration", "exec-timeout", "allow-exit", "allow"}
	vmFlags     = []string{"vm-cache", "vm-logs", "vm-timeout", "vm-parallel", "guest-nltrace"}
)

func parseCheck(c *cli.Context) (check.Config, checkOutput, error) {
	out := checkOutput{json: c.Bool("json"), verbose: c.Bool("verbose"), junit: c.String("junit"), recordBaseline: c.String("record-baseline")}
	if p := c.String("config"); p != "" {
		cfg, err := guestConfig(p)
		return cfg, out, err
	}
	cfg := check.Config{Churn: c.Duration("churn-duration")}
	for _, o := range c.StringSlice("only") {
		if o = strings.TrimSpace(o); o != "" {
			cfg.Only = append(cfg.Only, o)
		}
	}
	if c.Bool("exec") {
		cfg.Client = &check.Client{Command: c.Args().Slice(), Duration: c.Duration("exec-duration"), Timeout: c.Duration("exec-timeout"),
			Exit: c.IntSlice("allow-exit"), Allow: c.StringSlice("allow")}
		if len(cfg.Client.Command) == 0 {
			return cfg, out, errors.New("--exec needs a command after --: nltrace check --exec -- CMD ARGS...")
		}
	} else {
		if c.Args().Present() {
			return cfg, out, fmt.Errorf("unexpected arguments %q (a client to run goes after --exec --)", c.Args().Slice())
		}
		for _, name := range clientFlags {
			if c.IsSet(name) {
				return cfg, out, fmt.Errorf("--%s applies to a client: add --exec -- CMD ARGS", name)
			}
		}
	}
	if p := c.String("baseline"); p != "" {
		b, err := check.ReadBaseline(p)
		if err != nil {
			return cfg, out, fmt.Errorf("--baseline: %w", err)
		}
		cfg.Baseline = b
	}
	if out.recordBaseline != "" && out.recordBaseline == c.String("baseline") {
		return cfg, out, errors.New("--record-baseline would overwrite the --baseline file being compared with: give another file")
	}
	var err error
	if out.guests, err = parseGuests(c); err != nil {
		return cfg, out, err
	}
	if out.recordBaseline != "" && out.guests != nil && len(out.guests.Specs) > 1 {
		return cfg, out, errors.New("--record-baseline stores one known-good kernel: give a single --kernel")
	}
	for _, f := range []struct{ flag, path string }{{"junit", out.junit}, {"record-baseline", out.recordBaseline}} {
		if err := writable(f.path); err != nil {
			return cfg, out, fmt.Errorf("--%s: %w", f.flag, err)
		}
	}
	return cfg, out, checkFlagError(cfg.Validate())
}

// writable makes sure an output file can be written before minutes of
// measuring, without leaving an empty file behind.
func writable(path string) error {
	if path == "" {
		return nil
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Errorf("%s is a directory: want a file", path)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		f, err = os.OpenFile(path, os.O_WRONLY, 0)
		if err == nil {
			return f.Close()
		}
	}
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(path)
}

// checkFields names the command line flag of each check.Config field.
var checkFields = map[string]string{
	"Churn": "--churn-duration", "Only": "--only", "Baseline": "--baseline",
	"Client": "--exec", "Client.Command": "--exec", "Client.Duration": "--exec-duration", "Client.Timeout": "--exec-timeout",
	"Client.Exit": "--allow-exit", "Client.Allow": "--allow",
}

func checkFlagError(err error) error { return inFlagWords(err, checkFields) }

// parseGuests reads --kernel and the flags that go with it; nil without
// --kernel.
func parseGuests(c *cli.Context) (*check.Guests, error) {
	list := c.StringSlice("kernel")
	if len(list) == 0 {
		for _, name := range vmFlags {
			if c.IsSet(name) {
				return nil, fmt.Errorf("--%s applies to guests: add --kernel SPEC", name)
			}
		}
		return nil, nil
	}
	specs, err := vm.ParseSpecs(list)
	if err != nil {
		return nil, fmt.Errorf("--kernel: %w", err)
	}
	if d := c.Duration("vm-timeout"); d <= 0 {
		return nil, fmt.Errorf("--vm-timeout %v: want a positive duration", d)
	}
	if n := c.Int("vm-parallel"); n < 0 {
		return nil, fmt.Errorf("--vm-parallel %d: want 1 or more guests at once (0: one per host CPU)", n)
	}
	if d := c.String("vm-logs"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("--vm-logs: %w", err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find this nltrace to run in the guests: %w", err)
	}
	bins, err := check.NltraceBinaries(self, c.StringSlice("guest-nltrace"))
	if err != nil {
		return nil, fmt.Errorf("--guest-nltrace: %w", err)
	}
	return &check.Guests{Specs: specs, CacheDir: c.String("vm-cache"), LogDir: c.String("vm-logs"), Nltrace: bins,
		Timeout: c.Duration("vm-timeout"), Parallel: c.Int("vm-parallel"),
		Args: func(config string) []string { return []string{"/bin/nltrace", "check", "--json", "--config", config} },
	}, nil
}

// guestConfig reads the configuration the host wrote for a guest.
func guestConfig(path string) (check.Config, error) {
	var cfg check.Config
	data, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(data, &cfg)
	}
	if err != nil {
		return cfg, fmt.Errorf("--config: %w", err)
	}
	return cfg, cfg.Validate()
}

func runCheck(c *cli.Context, cfg check.Config, out checkOutput) error {
	// The attribution check reports what the probe's warnings would say
	// (a fallback, a missing backend): only errors are worth a log line.
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	progress := func(s string) { fmt.Fprintf(os.Stderr, "nltrace check: %s\n", s) }
	var results []*check.Result
	var err error
	if out.guests != nil {
		out.guests.Progress = progress
		results, err = check.RunKernels(c.Context, cfg, *out.guests)
	} else {
		var res *check.Result
		if res, err = check.Run(c.Context, cfg, progress); err == nil {
			results = []*check.Result{res}
		}
	}
	if err != nil {
		if c.Context.Err() != nil {
			return cli.Exit(err.Error(), exitSignal)
		}
		return checkFlagError(err)
	}
	return finishCheck(results, out)
}

// finishCheck prints and writes the results and turns them into the exit
// status.
func finishCheck(results []*check.Result, out checkOutput) error {
	var werr error
	if out.json {
		werr = check.WriteJSON(os.Stdout, results)
	} else {
		werr = check.WriteTable(os.Stdout, results, out.verbose)
	}
	if out.junit != "" {
		werr = errors.Join(werr, writeFile(out.junit, func(f *os.File) error { return check.WriteJUnit(f, results) }))
	}
	status := check.Status(results)
	switch {
	case out.recordBaseline == "":
	case status != check.StatusOK:
		// A known-good kernel is one on which every expectation held.
		fmt.Fprintf(os.Stderr, "nltrace check: baseline not recorded in %s: the run did not pass\n", out.recordBaseline)
	default:
		werr = errors.Join(werr, check.NewBaseline(results[0]).WriteFile(out.recordBaseline))
	}
	if werr != nil {
		return werr
	}
	if status == check.StatusOK {
		return nil
	}
	// The verdict's last line already says why.
	return cli.Exit("", status)
}

func writeFile(path string, write func(*os.File) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
