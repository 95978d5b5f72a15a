package report

import (
	"context"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Live prints status() on f until ctx ends: rewritten in place every second
// on a terminal, one plain line every five seconds otherwise (a log file
// then stays readable). It returns once the line is cleared.
func Live(ctx context.Context, f *os.File, status func() string) {
	tty := isTerminal(f)
	every := 5 * time.Second
	if tty {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if tty {
				fmt.Fprint(f, "\r\033[K")
			}
			return
		case <-t.C:
			if tty {
				fmt.Fprintf(f, "\r\033[K%s", status())
			} else {
				fmt.Fprintln(f, status())
			}
		}
	}
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
