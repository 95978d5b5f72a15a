package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/nltrace/nltrace/internal/churn"
	"github.com/nltrace/nltrace/internal/netns"
)

func cleanupCommand() *cli.Command {
	return &cli.Command{
		Name:  "cleanup",
		Usage: "remove the network namespaces left by killed `dump --churn` runs, and the processes still in them",
		Description: "Removes every " + churn.Prefix + "* namespace under " + netns.Dir + " that no live run holds\n" +
			"(binds hidden under a later mount of " + netns.Dir + " included), after ending (SIGKILL) the\n" +
			"processes still inside it, such as an --exec program that outlived a killed run. A live run\n" +
			"holds a lock on its namespaces, which the kernel drops when the run dies: its namespaces are\n" +
			"left alone, from any PID namespace. Exits 1 when something could not be removed.",
		Action: func(c *cli.Context) error {
			w := c.App.Writer
			removals, err := churn.Cleanup()
			var failed []error
			for _, r := range removals {
				for _, p := range r.Ended {
					fmt.Fprintf(w, "ended %s, which was inside %s\n", p, r.Name)
				}
				if r.Err != nil {
					failed = append(failed, fmt.Errorf("could not remove %s: %w", r.Name, r.Err))
					continue
				}
				fmt.Fprintf(w, "removed %s (its run is gone)\n", r.Name)
			}
			if err != nil {
				failed = append(failed, err)
			}
			if len(failed) > 0 {
				return fmt.Errorf("cleanup: %w", errors.Join(failed...))
			}
			if len(removals) == 0 {
				fmt.Fprintln(w, "nothing to remove")
			}
			return nil
		},
	}
}
