package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/nltrace/nltrace/internal/churn"
)

func cleanupCommand() *cli.Command {
	return &cli.Command{
		Name:  "cleanup",
		Usage: "remove the network namespaces left by killed `dump --churn` runs",
		Description: "Removes every " + churn.Prefix + "* namespace under /run/netns whose process no longer\n" +
			"runs. Namespaces of runs still alive are left alone.",
		Action: func(c *cli.Context) error {
			removed, err := churn.Cleanup()
			for _, l := range removed {
				fmt.Fprintf(c.App.Writer, "removed %s (pid %d is gone)\n", l.Name, l.PID)
			}
			if err != nil {
				return fmt.Errorf("cleanup: %w", err)
			}
			if len(removed) == 0 {
				fmt.Fprintln(c.App.Writer, "nothing to remove")
			}
			return nil
		},
	}
}
