package repro

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/internal/netns"
)

// Symptoms are the texts by which clients report an interrupted dump (or
// its follow-on EBUSY): Go's and libc's EINTR text, vishvananda/netlink's
// ErrDumpInterrupted, iproute2's warning, and EBUSY.
var Symptoms = []string{
	"interrupted system call",
	"results may be incomplete or inconsistent",
	"Dump was interrupted",
	"device or resource busy",
}

// maxOutput bounds what is kept of one run's output for matching.
const maxOutput = 1 << 20

// ExecConfig says which program to run, where, and how often.
type ExecConfig struct {
	Command []string
	NetNS   string        // namespace file the program runs in
	Timeout time.Duration // per run
	Runs    int           // 0: until the context ends
}

// ExecRun is one run of the program.
type ExecRun struct {
	Start    time.Time
	Duration time.Duration
	ExitCode int    // -1 when killed by a signal
	Signal   string // the signal that ended it
	TimedOut bool
	Symptoms []string // those its output contained
}

// Status is a short name of how the run ended, for counting.
func (r ExecRun) Status() string {
	switch {
	case r.TimedOut:
		return "timeout"
	case r.Signal != "":
		return "signal " + r.Signal
	}
	return fmt.Sprintf("exit %d", r.ExitCode)
}

// RunExec runs the program again and again inside the namespace until the
// context ends or Runs is reached. A program that cannot be started at all
// is an error; its failures are results.
func RunExec(ctx context.Context, cfg ExecConfig, sink func(ExecRun)) error {
	if len(cfg.Command) == 0 {
		return errors.New("no program to run")
	}
	if _, err := exec.LookPath(cfg.Command[0]); err != nil {
		return fmt.Errorf("program to run: %w", err)
	}
	for n := 0; cfg.Runs == 0 || n < cfg.Runs; n++ {
		r, err := runOnce(ctx, cfg)
		if ctx.Err() != nil {
			return nil // a run cut short by the end says nothing
		}
		if err != nil {
			return err
		}
		sink(r)
	}
	return nil
}

func runOnce(ctx context.Context, cfg ExecConfig) (ExecRun, error) {
	if cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Timeout)
		defer cancel()
	}
	var out bytes.Buffer
	w := &capped{b: &out}
	cmd := exec.CommandContext(ctx, cfg.Command[0], cfg.Command[1:]...)
	cmd.Stdout, cmd.Stderr = w, w
	// Its own process group: Ctrl-C reaches nltrace only, and a timeout
	// kills the program's children too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return unix.Kill(-cmd.Process.Pid, unix.SIGKILL) }
	cmd.WaitDelay = time.Second
	r := ExecRun{Start: time.Now()}
	if err := startIn(cfg.NetNS, cmd); err != nil {
		return r, fmt.Errorf("start %s: %w", cfg.Command[0], err)
	}
	err := cmd.Wait()
	r.Duration = time.Since(r.Start)
	r.ExitCode = cmd.ProcessState.ExitCode()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		r.Signal = unix.SignalName(ws.Signal())
	}
	r.TimedOut = errors.Is(ctx.Err(), context.DeadlineExceeded)
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) && !r.TimedOut && !errors.Is(err, exec.ErrWaitDelay) {
		return r, fmt.Errorf("wait for %s: %w", cfg.Command[0], err)
	}
	r.Symptoms = Match(out.String())
	return r, nil
}

// Match returns the symptoms a program's output contains, ignoring case.
func Match(output string) []string {
	lower := strings.ToLower(output)
	var found []string
	for _, s := range Symptoms {
		if strings.Contains(lower, strings.ToLower(s)) {
			found = append(found, s)
		}
	}
	return found
}

// startIn starts the command from a thread inside the namespace: the child
// inherits the thread's namespace, and nltrace's own threads stay where they
// are.
func startIn(path string, cmd *exec.Cmd) error {
	return netns.Do(path, cmd.Start)
}

// capped keeps the first maxOutput bytes and drops the rest.
type capped struct{ b *bytes.Buffer }

func (c *capped) Write(p []byte) (int, error) {
	if room := maxOutput - c.b.Len(); room > 0 {
		c.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
