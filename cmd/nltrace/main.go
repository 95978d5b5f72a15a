// Command nltrace reproduces, measures and explains interrupted netlink
// dumps (NLM_F_DUMP_INTR). It parses flags and prints; the work is done by
// the internal/run library.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"
)

// Exit statuses besides 0 and 1.
const (
	exitNoInterrupt = 3   // --expect-interrupts and nothing was reproduced
	exitSignal      = 130 // stopped by a signal, after cleaning up
)

func main() {
	// Every way of asking nltrace to stop cancels the context, with the
	// signal as its cause: every command then removes what it created
	// (namespaces, links, BPF links) and says what stopped it. SIGHUP is a
	// closed terminal or SSH session; SIGPIPE a reader gone (`| head -1`),
	// whose default action would kill nltrace with its namespace left.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	defer stop()
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))

	app := &cli.App{
		Name:  "nltrace",
		Usage: "reproduce, measure and explain interrupted netlink dumps (NLM_F_DUMP_INTR)",
		Commands: []*cli.Command{
			dumpCommand(),
			cleanupCommand(),
			monitorCommand(),
			watchCommand(),
			checkCommand(),
			budgetCommand(),
		},
		HideHelpCommand: true,
		OnUsageError:    usageError,
	}
	if err := app.RunContext(ctx, os.Args); err != nil {
		if msg := err.Error(); msg != "" {
			fmt.Fprintf(os.Stderr, "nltrace: %s\n", msg)
		}
		os.Exit(exitCode(err))
	}
}

// exitCode lets a command choose its status (cli.Exit) and gives 1 to any
// other error.
func exitCode(err error) int {
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return 1
}
