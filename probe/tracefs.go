//go:build linux

package probe

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// tracefsDir is where the kernel documents tracefs, and where cilium/ebpf
// looks for it.
const tracefsDir = "/sys/kernel/tracing"

// withTracefs runs fn where tracefs is mounted: tracepoint links read a
// tracepoint's id there, and many hosts (this project's CI machine among
// them) do not mount it at boot. Where it is missing, fn runs on a thread
// of its own in a mount namespace of its own with tracefs mounted: the
// thread ends with fn, its namespace and mount with it, so that nltrace
// leaves no mount behind, even when killed. The links fn makes are the
// process's, and outlive the thread.
func withTracefs(fn func() error) error {
	if mounted() {
		return fn()
	}
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread is thrown away when the goroutine
		// ends, rather than returned to the scheduler in this namespace.
		runtime.LockOSThread()
		errc <- privateTracefs(fn)
	}()
	return <-errc
}

func privateTracefs(fn func() error) error {
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return tracefsError(fmt.Errorf("mount namespace for tracefs (unshare): %w", err))
	}
	// Nothing mounted here may reach the host's namespace.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return tracefsError(fmt.Errorf("make the tracefs mount private: %w", err))
	}
	if err := unix.Mount("tracefs", tracefsDir, "tracefs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return tracefsError(fmt.Errorf("mount tracefs on %s: %w", tracefsDir, err))
	}
	return fn()
}

// tracefsError marks what a host refuses as a missing capability.
func tracefsError(err error) error {
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENODEV) || errors.Is(err, os.ErrNotExist) {
		return unavailable(fmt.Errorf("%w (tracepoint links need tracefs)%s", err, permissionHint(err)))
	}
	return err
}

// mounted reports whether tracefs, or the debugfs of old kernels that
// holds it, is where cilium/ebpf looks.
func mounted() bool {
	for _, dir := range []string{tracefsDir, "/sys/kernel/debug/tracing"} {
		var st unix.Statfs_t
		if unix.Statfs(dir, &st) == nil && (st.Type == unix.TRACEFS_MAGIC || st.Type == unix.DEBUGFS_MAGIC) {
			return true
		}
	}
	return false
}
