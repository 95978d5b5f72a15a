// Command nltrace reproduces, measures and explains interrupted netlink
// dumps (NLM_F_DUMP_INTR).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"
)

func main() {
	// SIGINT and SIGTERM cancel the context: every command then removes
	// what it created (namespaces, links, BPF links) before exiting.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))

	app := &cli.App{
		Name:  "nltrace",
		Usage: "reproduce, measure and explain interrupted netlink dumps (NLM_F_DUMP_INTR)",
		Commands: []*cli.Command{
			dumpCommand(),
			cleanupCommand(),
		},
		HideHelpCommand: true,
	}
	if err := app.RunContext(ctx, os.Args); err != nil {
		fmt.Fprintf(os.Stderr, "nltrace: %v\n", err)
		os.Exit(exitCode(err))
	}
}

// exitCode lets a command choose its status (cli.Exit) and gives 1 to any
// other error.
func exitCode(err error) int {
	if ec, ok := err.(cli.ExitCoder); ok {
		return ec.ExitCode()
	}
	return 1
}
