package repro

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync/atomic"
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
	// CutShort says the program was still running when the run ended (its
	// duration, its dumps, or a signal) and was killed then; Symptoms are
	// those of its output so far.
	CutShort bool
	Symptoms []string // those its output contained
	// Tail is the end of what it printed (stdout and stderr as they came,
	// at most TailBytes), to show why a run failed.
	Tail string
}

// TailBytes bounds ExecRun.Tail: a few lines of an error message.
const TailBytes = 512

// CutShort is the status of a run still going when the run ended.
const CutShort = "cut short by the end of the run"

// Status is a short name of how the run ended, for counting.
func (r ExecRun) Status() string {
	switch {
	case r.CutShort:
		return CutShort
	case r.TimedOut:
		return "timeout"
	case r.Signal != "":
		return "signal " + r.Signal
	}
	return fmt.Sprintf("exit %d", r.ExitCode)
}

// RunExec runs the program again and again inside the namespace until the
// context ends or Runs is reached. A program that cannot be started at all
// is an error; its failures are results, and so is a run the end of the
// context cuts short.
func RunExec(ctx context.Context, cfg ExecConfig, sink func(ExecRun)) error {
	if len(cfg.Command) == 0 {
		return errors.New("no program to run")
	}
	if _, err := exec.LookPath(cfg.Command[0]); err != nil {
		return fmt.Errorf("program to run: %w", err)
	}
	for n := 0; cfg.Runs == 0 || n < cfg.Runs; n++ {
		if ctx.Err() != nil {
			return nil
		}
		r, err := runOnce(ctx, cfg)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		sink(r)
	}
	return nil
}

// errTimedOut is the cause of a run's own timeout, told apart from the end
// of the whole run.
var errTimedOut = errors.New("run timed out")

func runOnce(ctx context.Context, cfg ExecConfig) (ExecRun, error) {
	runCtx := ctx
	if cfg.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeoutCause(ctx, cfg.Timeout, errTimedOut)
		defer cancel()
	}
	out := newMatcher()
	tail := &tailWriter{}
	cmd := exec.CommandContext(runCtx, cfg.Command[0], cfg.Command[1:]...)
	// One writer for both: os/exec then copies from one goroutine.
	both := io.MultiWriter(out, tail)
	cmd.Stdout, cmd.Stderr = both, both
	// Its own process group: Ctrl-C reaches nltrace only, and a timeout
	// kills the program's children too. Pdeathsig: a SIGKILLed nltrace,
	// which cannot clean up, takes the program along (its descendants
	// are left to nltrace cleanup).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	var killed atomic.Bool
	cmd.Cancel = func() error {
		err := unix.Kill(-cmd.Process.Pid, unix.SIGKILL)
		if errors.Is(err, unix.ESRCH) {
			// Reaped just before the context ended: not a run cut short.
			return os.ErrProcessDone
		}
		killed.Store(err == nil)
		return err
	}
	cmd.WaitDelay = time.Second
	r := ExecRun{Start: time.Now()}
	// The kernel sends Pdeathsig when the THREAD that started the child
	// ends, not the process, and Go ends threads of its own accord (a
	// goroutine that exits locked to its thread takes the thread along).
	// So the program is started and waited for by one goroutine locked to
	// its thread inside netns.Do: that thread lives until the program has
	// ended, and the program inherits its namespace.
	var waitErr error
	err := netns.Do(cfg.NetNS, func() error {
		if err := startDirect(cmd); err != nil {
			return fmt.Errorf("start %s: %w", cfg.Command[0], err)
		}
		defer waitedFor(cmd.Process.Pid)
		waitErr = cmd.Wait()
		return nil
	})
	if cmd.ProcessState == nil { // not started, or not waited for
		if err == nil {
			err = fmt.Errorf("wait for %s: %w", cfg.Command[0], waitErr)
		}
		return r, err
	}
	r.Duration = time.Since(r.Start)
	r.ExitCode = cmd.ProcessState.ExitCode()
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		r.Signal = unix.SignalName(ws.Signal())
	}
	// A program that ended on its own as the context did keeps its status.
	if killed.Load() && ws.Signaled() && ws.Signal() == unix.SIGKILL {
		r.TimedOut = errors.Is(context.Cause(runCtx), errTimedOut)
		r.CutShort = !r.TimedOut
	}
	var exitErr *exec.ExitError
	switch {
	case waitErr == nil, killed.Load(), errors.As(waitErr, &exitErr), errors.Is(waitErr, exec.ErrWaitDelay):
	default:
		return r, fmt.Errorf("wait for %s: %w", cfg.Command[0], waitErr)
	}
	r.Symptoms = out.symptoms()
	r.Tail = string(tail.b)
	// err is now the thread's failure to return to nltrace's namespace:
	// nltrace's own fault, which ends the run.
	return r, err
}
