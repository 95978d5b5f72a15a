package netns

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Process is a process that keeps a network namespace alive.
type Process struct {
	PID    int
	Comm   string
	Inside bool // a thread of it runs in the namespace; otherwise it holds the namespace open
}

func (p Process) String() string { return fmt.Sprintf("pid %d (%s)", p.PID, p.Comm) }

// Processes lists the processes that keep the namespace with inode ino
// alive: those with a thread inside it, then those holding a descriptor of
// it. Removing a namespace's name frees none of them, nor the links they
// keep. Only this PID namespace's processes are visible, and the caller is
// left out.
func Processes(ino uint64) ([]Process, error) {
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	self := selfPID()
	var inside, holding []Process
	for _, e := range procs {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		switch {
		case in(pid, ino):
			inside = append(inside, Process{PID: pid, Comm: comm(pid), Inside: true})
		case holds(pid, ino):
			holding = append(holding, Process{PID: pid, Comm: comm(pid)})
		}
	}
	return append(inside, holding...), nil
}

// Keeps reports whether the process is inside the namespace with inode
// ino or holds it open.
func Keeps(pid int, ino uint64) bool { return in(pid, ino) || holds(pid, ino) }

// selfPID is this process's pid as /proc numbers it, which is not
// os.Getpid() in a PID namespace of its own that sees its parent's /proc.
func selfPID() int {
	l, err := os.Readlink("/proc/self")
	if err != nil {
		return os.Getpid()
	}
	pid, err := strconv.Atoi(l)
	if err != nil {
		return os.Getpid()
	}
	return pid
}

// in reports whether a thread of the process is in the namespace: one
// thread is enough to keep it alive.
func in(pid int, ino uint64) bool {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return false
	}
	for _, t := range tasks {
		var st unix.Stat_t
		if unix.Stat(fmt.Sprintf("/proc/%d/task/%s/ns/net", pid, t.Name()), &st) == nil && st.Ino == ino {
			return true
		}
	}
	return false
}

// holds reports whether the process has a descriptor of the namespace.
// Its link names the path it was opened by (/run/netns/NAME), or net:[INO]
// when that was /proc/PID/ns/net: the file it leads to tells.
func holds(pid int, ino uint64) bool {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, fd := range fds {
		var st unix.Stat_t
		if unix.Stat(filepath.Join(dir, fd.Name()), &st) == nil && st.Ino == ino && isNSFS(st.Dev) {
			return true
		}
	}
	return false
}

// isNSFS reports whether dev is the namespace file system's device.
func isNSFS(dev uint64) bool {
	var st unix.Stat_t
	return unix.Stat("/proc/thread-self/ns/net", &st) == nil && st.Dev == dev
}

func comm(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}

// End kills (SIGKILL) the processes of ps that are inside the namespace
// with inode ino, and waits up to timeout for them to exit. It refuses
// when the namespace is the caller's or pid 1's. It returns
// those it ended; the error names those still there. A process is checked
// again once a pidfd pins it, so a pid reused meanwhile is never signalled.
func End(ps []Process, ino uint64, timeout time.Duration) ([]Process, error) {
	type victim struct {
		Process
		pidfd int // -1 where pidfds are missing (before Linux 5.3)
	}
	if who := own(ino); who != "" {
		return nil, fmt.Errorf("the namespace is %s network namespace: its processes are not ended", who)
	}
	var vs []victim
	var errs []error
	for _, p := range ps {
		if !p.Inside {
			continue
		}
		fd, err := unix.PidfdOpen(p.PID, 0)
		switch {
		case errors.Is(err, unix.ESRCH):
			continue // gone already
		case errors.Is(err, unix.ENOSYS):
			fd = -1
		case err != nil:
			errs = append(errs, fmt.Errorf("end %s: %w", p, err))
			continue
		}
		if !in(p.PID, ino) {
			closeFD(fd)
			continue
		}
		if fd >= 0 {
			err = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
		} else {
			err = unix.Kill(p.PID, unix.SIGKILL)
		}
		if err != nil && !errors.Is(err, unix.ESRCH) {
			closeFD(fd)
			errs = append(errs, fmt.Errorf("end %s: %w", p, hint(err)))
			continue
		}
		vs = append(vs, victim{p, fd})
	}
	var ended []Process
	deadline := time.Now().Add(timeout)
	for _, v := range vs {
		gone := exited(v.PID, v.pidfd, ino)
		for !gone && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
			gone = exited(v.PID, v.pidfd, ino)
		}
		closeFD(v.pidfd)
		if gone {
			ended = append(ended, v.Process)
			continue
		}
		errs = append(errs, fmt.Errorf("%s is still in the namespace %v after SIGKILL (stuck in the kernel?)", v.Process, timeout))
	}
	return ended, errors.Join(errs...)
}

// own names whose namespace ino is when it is this process's or pid 1's:
// a name bound to the machine's (or the container's) own namespace, by
// mistake or malice, must not get every process there killed. Pid 1's
// may be out of reach (a sandbox's init); this process's never is.
func own(ino uint64) string {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/net", &st); err != nil || st.Ino == ino {
		return "this process's"
	}
	if err := unix.Stat("/proc/1/ns/net", &st); err == nil && st.Ino == ino {
		return "pid 1's"
	}
	return ""
}

// exited reports whether the process has left the namespace: it exited
// (a pidfd turns readable then, zombie or reaped) or, without a pidfd, no
// longer shows in it.
func exited(pid, pidfd int, ino uint64) bool {
	if pidfd >= 0 {
		fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 0)
		return err == nil && n > 0
	}
	return !in(pid, ino)
}

func closeFD(fd int) {
	if fd >= 0 {
		unix.Close(fd)
	}
}
