package churn

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/internal/netns"
)

// Prefix starts the name of every namespace this package creates.
const Prefix = "nltrace-churn-"

// awaySuffix names the second namespace of a run, where netns moves go.
const awaySuffix = "-away"

var seq atomic.Int64

// newName returns a fresh namespace name carrying this process's pid.
func newName() string {
	return fmt.Sprintf("%s%d-%d", Prefix, os.Getpid(), seq.Add(1))
}

// Owner returns the pid in a namespace name made by this package.
func Owner(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, Prefix)
	if !ok {
		return 0, false
	}
	pid, _, _ := strings.Cut(rest, "-")
	n, err := strconv.Atoi(pid)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// Leftover is a namespace of a run whose process is gone.
type Leftover struct {
	Name string
	PID  int
}

// Leftovers lists the namespaces left by runs that no longer exist. A
// namespace whose process still runs is not a leftover.
func Leftovers() ([]Leftover, error) {
	names, err := netns.List(Prefix)
	if err != nil {
		return nil, err
	}
	var out []Leftover
	for _, name := range names {
		pid, ok := Owner(name)
		if !ok || alive(pid) {
			continue
		}
		out = append(out, Leftover{Name: name, PID: pid})
	}
	return out, nil
}

// Cleanup removes every leftover and returns what it removed.
func Cleanup() ([]Leftover, error) {
	left, err := Leftovers()
	if err != nil {
		return nil, err
	}
	var errs []error
	var done []Leftover
	for _, l := range left {
		if err := netns.Delete(l.Name); err != nil {
			errs = append(errs, err)
			continue
		}
		done = append(done, l)
	}
	return done, errors.Join(errs...)
}

// alive reports whether a process exists. EPERM means it exists but
// belongs to someone else.
func alive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}
