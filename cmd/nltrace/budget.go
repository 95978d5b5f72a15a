package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nltrace/nltrace/internal/budget"
	"github.com/nltrace/nltrace/nlclient"
)

func budgetCommand() *cli.Command {
	return &cli.Command{
		Name:  "budget",
		Usage: "how many retries a dump needs: a sweep over link counts and churn rates, with a plot",
		Description: "For each cell of the grid (--links x --rate), dumps a namespace of nltrace's own with the retry\n" +
			"policy (up to --attempts) while links are added and removed at the paced rate, for --cell-time.\n" +
			"Prints, per cell, the probability that 1, 5 and 30 attempts in a row all fail, with 95% intervals\n" +
			"and a fitted model beside them, and the smallest budget for 99.9% and 99.99% success where the\n" +
			"dumps can show it. --exec sweeps your own program (e.g. your client in its retry loop) instead.",
		Flags:        budgetFlags(),
		OnUsageError: usageError,
		Action: func(c *cli.Context) error {
			cfg, out, err := parseBudget(c)
			if err != nil {
				return err
			}
			return runBudget(c, cfg, out)
		},
	}
}

func budgetFlags() []cli.Flag {
	return []cli.Flag{
		&cli.IntSliceFlag{Name: "links", Value: cli.NewIntSlice(100, 300, 1000, 3000), Usage: "link counts of the grid's rows"},
		&cli.Float64SliceFlag{Name: "rate", Value: cli.NewFloat64Slice(1, 10, 100), Usage: fmt.Sprintf("link changes per second of the grid's columns, paced (at most %d)", budget.MaxRate)},
		&cli.StringFlag{Name: "kind", Value: "link", Usage: "what to dump: link or stats"},
		&cli.IntFlag{Name: "attempts", Value: 30, Usage: "attempts a dump gets (the largest budget measured)"},
		&cli.DurationFlag{Name: "cell-time", Value: 40 * time.Second, Usage: "time spent on each cell"},
		&cli.BoolFlag{Name: "json", Usage: "print the report as one JSON document"},
		&cli.StringFlag{Name: "svg", Usage: "also write the plot to FILE (a standalone SVG)"},
		&cli.BoolFlag{Name: "exec", Usage: "sweep the program after -- instead of nltrace's dumper: --exec -- CMD ARGS"},
		&cli.DurationFlag{Name: "exec-timeout", Value: 30 * time.Second, Usage: "time limit of each --exec run"},
	}
}

type budgetOutput struct {
	json bool
	svg  string
}

var budgetFields = map[string]string{
	"Links": "--links", "Rates": "--rate", "Kind": "--kind", "Attempts": "--attempts", "CellTime": "--cell-time",
	"Exec.Command": "--exec",
}

func parseBudget(c *cli.Context) (budget.Config, budgetOutput, error) {
	out := budgetOutput{json: c.Bool("json"), svg: c.String("svg")}
	cfg := budget.Config{Links: c.IntSlice("links"), Rates: c.Float64Slice("rate"), Attempts: c.Int("attempts"), CellTime: c.Duration("cell-time")}
	kinds, err := nlclient.ParseKinds([]string{c.String("kind")})
	if err != nil || len(kinds) != 1 {
		return cfg, out, fmt.Errorf("--kind %q: want link or stats", c.String("kind"))
	}
	cfg.Kind = kinds[0]
	if c.Bool("exec") {
		cfg.Exec = &budget.Exec{Command: c.Args().Slice(), Timeout: c.Duration("exec-timeout")}
		if len(cfg.Exec.Command) == 0 {
			return cfg, out, errors.New("--exec needs a command after --: nltrace budget --exec -- CMD ARGS...")
		}
		if cfg.Exec.Timeout < 0 {
			return cfg, out, fmt.Errorf("--exec-timeout %v: want a positive duration, or 0 for none", cfg.Exec.Timeout)
		}
	} else if c.Args().Present() {
		return cfg, out, fmt.Errorf("unexpected arguments %q (a program to run goes after --exec --)", c.Args().Slice())
	} else if c.IsSet("exec-timeout") {
		return cfg, out, errors.New("--exec-timeout applies to a program: add --exec -- CMD ARGS")
	}
	if err := writable(out.svg); err != nil {
		return cfg, out, fmt.Errorf("--svg: %w", err)
	}
	return cfg, out, inFlagWords(cfg.Validate(), budgetFields)
}

func runBudget(c *cli.Context, cfg budget.Config, out budgetOutput) error {
	if os.Geteuid() != 0 {
		return errors.New("nltrace budget creates network namespaces: run it as root (sudo nltrace budget)")
	}
	warnLeftovers()
	hooks := budget.Hooks{Cell: func(links int, rate float64, i, n int, left time.Duration) {
		fmt.Fprintf(os.Stderr, "nltrace budget: cell %d/%d: %d links at %.4g changes/s (%v left at most)\n", i, n, links, rate, left.Round(time.Second))
	}}
	rep, err := budget.Run(c.Context, cfg, hooks)
	if err != nil {
		return inFlagWords(err, budgetFields)
	}
	var werr error
	if out.json {
		werr = rep.WriteJSON(os.Stdout)
	} else {
		werr = rep.WriteTable(os.Stdout)
	}
	if out.svg != "" && len(rep.Cells) > 0 {
		werr = errors.Join(werr, writeFile(out.svg, func(f *os.File) error { return rep.WriteSVG(f) }))
	}
	if werr != nil {
		return werr
	}
	if rep.Stopped != "" {
		return cli.Exit("", exitSignal)
	}
	return nil
}
