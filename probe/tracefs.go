//go:build linux

package probe

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// tracefsDir is where the kernel documents tracefs, and where cilium/ebpf
// looks for it (once per process: the place must stay the same).
const tracefsDir = "/sys/kernel/tracing"

// mountTracefs makes sure tracefs is mounted, which tracepoint links need
// to find a tracepoint's id; many hosts (this project's CI machine among
// them) do not mount it at boot. It returns the function that unmounts
// what it mounted: nothing when tracefs was there already, since others
// may be using it.
func mountTracefs() (unmount func() error, err error) {
	if mounted() {
		return func() error { return nil }, nil
	}
	if err := unix.Mount("tracefs", tracefsDir, "tracefs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		err = fmt.Errorf("mount tracefs on %s (mount -t tracefs tracefs %s): %w", tracefsDir, tracefsDir, err)
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENODEV) || errors.Is(err, os.ErrNotExist) {
			return nil, unavailable(fmt.Errorf("%w%s", err, permissionHint(err)))
		}
		return nil, err
	}
	return func() error {
		// Detached: a reader still in it (a shell in events/) must not
		// keep nltrace from ending.
		if err := unix.Unmount(tracefsDir, unix.MNT_DETACH); err != nil {
			return fmt.Errorf("unmount the tracefs nltrace mounted on %s: %w", tracefsDir, err)
		}
		return nil
	}, nil
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
