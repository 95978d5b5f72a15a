package repro

import (
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"
)

func TestSiginfoPid(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	defer cmd.Wait()
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, cmd.Process.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != nil {
		t.Fatal(err)
	}
	if got := siginfoPid(&info); got != cmd.Process.Pid {
		t.Errorf("si_pid %d, want %d", got, cmd.Process.Pid)
	}
}
