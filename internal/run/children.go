package run

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/internal/netns"
	"github.com/nltrace/nltrace/internal/repro"
)

// endWait bounds the wait for killed processes to be gone: SIGKILL takes
// effect when a process leaves the kernel, which one stuck in a
// filesystem or a driver may not do for a while.
const endWait = 10 * time.Second

// subreaper is this process as a child subreaper: set while at least one
// run has a program going, so that the program's orphans (a daemon it
// started, a background job it left) become children of nltrace instead
// of init, are reaped as they end, and can be ended with the run.
var subreaper struct {
	sync.Mutex
	runs    int
	already bool          // a subreaper before the first run: left so
	stop    chan struct{} // ends the reaping goroutine
	done    chan struct{}
}

// children bounds the lifetime of the processes a run's program starts
// to the run.
type children struct {
	ns *os.File // the run's namespace
	st unix.Stat_t
}

// adoptChildren makes this process a child subreaper that reaps the
// program's orphans, until end. nsPath is the run's namespace.
func adoptChildren(nsPath string) (*children, error) {
	f, err := netns.Open(nsPath)
	if err != nil {
		return nil, err
	}
	c := &children{ns: f}
	if err := unix.Fstat(int(f.Fd()), &c.st); err != nil {
		f.Close()
		return nil, fmt.Errorf("stat namespace %s: %w", nsPath, err)
	}
	subreaper.Lock()
	defer subreaper.Unlock()
	if subreaper.runs == 0 {
		var was int32
		if err := unix.Prctl(unix.PR_GET_CHILD_SUBREAPER, uintptr(unsafe.Pointer(&was)), 0, 0, 0); err != nil {
			f.Close()
			return nil, fmt.Errorf("read the child subreaper attribute: %w", err)
		}
		subreaper.already = was != 0
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			f.Close()
			return nil, fmt.Errorf("become a child subreaper: %w", err)
		}
		subreaper.stop, subreaper.done = make(chan struct{}), make(chan struct{})
		go reap(subreaper.stop, subreaper.done)
	}
	subreaper.runs++
	return c, nil
}

// reap collects orphans as they end, so that a long run of a program that
// leaves a background job each time piles up no zombies. SIGCHLD says
// when; the tick catches those queued behind a program os/exec has yet to
// wait for (see repro.ReapOrphans).
func reap(stop, done chan struct{}) {
	defer close(done)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, unix.SIGCHLD)
	defer signal.Stop(sig)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-sig:
		case <-tick.C:
		}
		// An error here is the kernel's refusal to wait for children: the
		// sweep at the end of the run meets it again and reports it.
		repro.ReapOrphans()
	}
}

// end kills every process in the run's namespace, waits until none is
// left, and reaps those that were the run's children. The last run to end
// also kills and reaps every orphan left outside the namespace (a program
// may start a daemon in a namespace of its own), then stops being a
// subreaper. It must be called after the program's last run has been
// waited for, and before the namespace is removed.
func (c *children) end() error {
	defer c.ns.Close()
	subreaper.Lock()
	defer subreaper.Unlock()
	// A subreaper adopts only its own descendants, and nltrace starts no
	// process but the program: every orphan is the program's. Not so for
	// the init of a PID namespace (nltrace as a container's entry point),
	// which adopts every orphan there.
	orphans := subreaper.runs == 1 && os.Getpid() != 1
	err := c.sweep(orphans)
	subreaper.runs--
	if subreaper.runs == 0 {
		close(subreaper.stop)
		<-subreaper.done
		if !subreaper.already {
			if perr := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0); perr != nil {
				err = errors.Join(err, fmt.Errorf("stop being a child subreaper: %w", perr))
			}
		}
	}
	return err
}

// sweep signals what is left until nothing is, or endWait has passed.
func (c *children) sweep(orphans bool) error {
	deadline := time.Now().Add(endWait)
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		left, err := c.kill(orphans)
		if _, rerr := repro.ReapOrphans(); rerr != nil {
			err = errors.Join(err, rerr)
		}
		if err != nil {
			return err
		}
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d processes of the program still alive %v after SIGKILL, holding namespace %s: %s",
				len(left), endWait, c.ns.Name(), strings.Join(left, ", "))
		}
		time.Sleep(delay)
	}
}

// kill sends SIGKILL to every live process in the run's namespace and,
// with orphans, to every child of this process (RunExec has waited for
// all of its own by then, so each is an orphan of the program). It
// returns those it signalled. Each process is held by its /proc directory
// while it is judged and signalled, so a pid reused meanwhile is never
// hit; that also holds when /proc belongs to another PID namespace than
// this process, where pids differ.
func (c *children) kill(orphans bool) (signalled []string, err error) {
	self, _ := os.Readlink("/proc/self") // this process's pid as /proc numbers it
	dir, err := os.Open("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	defer dir.Close()
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	for _, name := range names {
		if _, err := strconv.Atoi(name); err != nil || name == self {
			// nltrace itself is never in the namespace, although one of its
			// threads may be, for a moment, inside netns.Do.
			continue
		}
		fd, err := unix.Open("/proc/"+name, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			continue // gone
		}
		if c.inNamespace(fd) || orphans && self != "" && parent(fd) == self {
			err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
			switch {
			case err == nil:
				signalled = append(signalled, name+" ("+command(fd)+")")
			case !errors.Is(err, unix.ESRCH):
				unix.Close(fd)
				return signalled, fmt.Errorf("kill process %s (%s) of the program: %w", name, command(fd), err)
			}
		}
		unix.Close(fd)
	}
	return signalled, nil
}

// inNamespace reports whether the live process whose /proc directory is
// fd is in the run's namespace. A process that has exited has no
// namespace any more, and holds none.
func (c *children) inNamespace(fd int) bool {
	var st unix.Stat_t
	if err := unix.Fstatat(fd, "ns/net", &st, 0); err != nil {
		return false
	}
	return st.Dev == c.st.Dev && st.Ino == c.st.Ino
}

// parent returns the parent pid of the process whose /proc directory is fd,
// "" when it cannot be read.
func parent(fd int) string {
	b, err := readAt(fd, "stat")
	if err != nil {
		return ""
	}
	// The command, in parentheses, may hold anything: the fields after it
	// are the state, then the parent.
	i := strings.LastIndexByte(b, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(b[i+1:])
	if len(f) < 2 || f[0] == "Z" {
		return "" // a zombie is reaped, not killed
	}
	return f[1]
}

func command(fd int) string {
	b, _ := readAt(fd, "comm")
	return strings.TrimSpace(b)
}

func readAt(dirfd int, name string) (string, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	b := make([]byte, 4096)
	n, err := f.Read(b)
	return string(b[:n]), err
}
