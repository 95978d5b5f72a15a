package main

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/internal/run"
)

// progress shows the populating: one line rewritten in place on a
// terminal, a line per thousand objects otherwise.
func progress(what string, done, total int) {
	line := fmt.Sprintf("populating: %d/%d %s", done, total, what)
	if isTerminal(os.Stderr) {
		fmt.Fprintf(os.Stderr, "\r\033[K%s", line)
		if done == total {
			fmt.Fprintln(os.Stderr)
		}
		return
	}
	if done == total || done%1000 == 0 {
		fmt.Fprintln(os.Stderr, line)
	}
}

func started(s run.Start) {
	if s.OwnNamespace {
		fmt.Fprintf(os.Stderr, "nltrace: running in namespace %s (%s); Ctrl-C stops early and removes it\n", s.NetNS, s.Summary)
	}
}

// status prints the run's status line: rewritten in place on a terminal,
// one plain line every logEvery otherwise, so that a log stays readable.
type status struct {
	f    *os.File
	tty  bool
	last time.Time
}

const logEvery = 5 * time.Second

func newStatus(f *os.File) *status { return &status{f: f, tty: isTerminal(f), last: time.Now()} }

func (s *status) show(line string) {
	if s.tty {
		fmt.Fprintf(s.f, "\r\033[K%s", line)
		return
	}
	if time.Since(s.last) >= logEvery {
		s.last = time.Now()
		fmt.Fprintln(s.f, line)
	}
}

// clearStatus removes a status line left on a terminal.
func clearStatus(f *os.File) {
	if isTerminal(f) {
		fmt.Fprint(f, "\r\033[K")
	}
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
