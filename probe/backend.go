package probe

import (
	"fmt"
	"strings"
)

// Backend is how programs attach to kernel functions.
type Backend int

const (
	// Auto tries fentry, then kprobe, then tracepoint.
	Auto Backend = iota
	// Fentry uses fentry/fexit (BPF trampolines; 5.5+, needs BTF).
	Fentry
	// Kprobe uses kprobe/kretprobe.
	Kprobe
	// Tracepoint watches the syscalls of netlink clients and writers,
	// where kernels refuse both of the others (see bpf/syscall.c): it
	// sees less (Probe.Limits).
	Tracepoint
)

var backendNames = []string{"auto", "fentry", "kprobe", "tracepoint"}

func (b Backend) String() string {
	if int(b) < len(backendNames) {
		return backendNames[b]
	}
	return fmt.Sprintf("backend(%d)", int(b))
}

// MarshalText makes backends readable in JSON.
func (b Backend) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// ParseBackend accepts auto, fentry, kprobe or tracepoint.
func ParseBackend(s string) (Backend, error) {
	for i, n := range backendNames {
		if strings.EqualFold(s, n) {
			return Backend(i), nil
		}
	}
	return 0, fmt.Errorf("unknown backend %q (want %s)", s, strings.Join(backendNames, ", "))
}
