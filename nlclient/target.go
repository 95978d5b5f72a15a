package nlclient

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/nltrace/nltrace/internal/netns"
)

// Target names the network namespace to dump: the caller's own (the zero
// value), a bound namespace file, a process's, or an open descriptor.
type Target struct {
	Path string // /run/netns/NAME or any namespace file
	PID  int    // the namespace of this process
	FD   int    // an open namespace descriptor, owned by the caller
}

// ParseTarget reads "", NAME (under /run/netns), /path, pid:N or fd:N.
func ParseTarget(s string) (Target, error) {
	switch {
	case s == "":
		return Target{}, nil
	case strings.HasPrefix(s, "pid:"):
		n, err := strconv.Atoi(s[4:])
		if err != nil || n <= 0 {
			return Target{}, fmt.Errorf("netns %q: want pid:N with N a process id", s)
		}
		return Target{PID: n}, nil
	case strings.HasPrefix(s, "fd:"):
		n, err := strconv.Atoi(s[3:])
		if err != nil || n <= 2 {
			return Target{}, fmt.Errorf("netns %q: want fd:N with N an open descriptor above 2", s)
		}
		return Target{FD: n}, nil
	case strings.HasPrefix(s, "/"):
		return Target{Path: s}, nil
	case strings.ContainsRune(s, '/'):
		return Target{}, fmt.Errorf("netns %q: want a name under %s, an absolute path, pid:N or fd:N", s, netns.Dir)
	}
	return Target{Path: netns.Path(s)}, nil
}

func (t Target) String() string {
	switch {
	case t.Path != "":
		return t.Path
	case t.PID != 0:
		return fmt.Sprintf("pid:%d", t.PID)
	case t.FD != 0:
		return fmt.Sprintf("fd:%d", t.FD)
	}
	return "current"
}

// Open returns the target's namespace file, checked to be one; the caller
// closes it.
func (t Target) Open() (*os.File, error) {
	path := "/proc/self/ns/net"
	switch {
	case t.Path != "":
		path = t.Path
	case t.PID != 0:
		path = fmt.Sprintf("/proc/%d/ns/net", t.PID)
	case t.FD != 0:
		// A new open file description: closing it leaves the caller's open.
		path = fmt.Sprintf("/proc/self/fd/%d", t.FD)
	}
	f, err := netns.Open(path)
	switch {
	case errors.Is(err, os.ErrNotExist) && t.Path != "":
		return nil, fmt.Errorf("%w (ip netns list shows the named namespaces)", err)
	case err != nil && t.Path == "":
		return nil, fmt.Errorf("netns %s: %w", t, err)
	}
	return f, err
}
