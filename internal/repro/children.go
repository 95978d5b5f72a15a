package repro

import (
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// children keeps a subreaper (package run) from taking the exit status of
// a program RunExec started: os/exec waits for its own child through a
// pidfd, and that wait fails if someone else reaped the child first. The
// lock also keeps a start from slipping between a reaper's look at an
// ended child and its reaping: a child is in direct before a reaper can
// see it.
var children = struct {
	sync.Mutex
	direct map[int]bool // started by RunExec, not yet waited for
}{direct: map[int]bool{}}

func startDirect(cmd *exec.Cmd) error {
	children.Lock()
	defer children.Unlock()
	if err := cmd.Start(); err != nil {
		return err
	}
	children.direct[cmd.Process.Pid] = true
	return nil
}

func waitedFor(pid int) {
	children.Lock()
	defer children.Unlock()
	delete(children.direct, pid)
}

// ReapOrphans collects the exit status of every ended child of this
// process that RunExec did not start, and returns how many it collected.
// Those are the program's descendants, re-parented to this process once
// it is a child subreaper: nltrace starts no other process. A child of
// RunExec's that has ended stops the collection until os/exec has waited
// for it (waitid names one ended child at a time): call again later.
func ReapOrphans() (int, error) {
	children.Lock()
	defer children.Unlock()
	n := 0
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.ECHILD):
			return n, nil
		case err != nil:
			return n, fmt.Errorf("look for ended children: %w", err)
		}
		pid := siginfoPid(&info)
		if pid == 0 || children.direct[pid] {
			return n, nil
		}
		var ws unix.WaitStatus
		if _, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil); err != nil && !errors.Is(err, unix.ECHILD) {
			return n, fmt.Errorf("reap child %d: %w", pid, err)
		}
		n++
	}
}

// siginfoPid reads si_pid of a SIGCHLD siginfo, which x/sys/unix leaves
// in an opaque union. The union follows three ints at the alignment of a
// pointer (it holds pointers): offset 16 on 64-bit machines, 12 on 32-bit
// ones, on every Linux architecture.
func siginfoPid(info *unix.Siginfo) int {
	off := unsafe.Offsetof(struct {
		_, _, _ int32
		union   uintptr
	}{}.union)
	return int(*(*int32)(unsafe.Add(unsafe.Pointer(info), off)))
}
