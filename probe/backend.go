package probe

import (
	"fmt"
	"strings"
)

// Backend is how programs attach to kernel functions.
type Backend int

const (
	// Auto tries fentry, then kprobe.
	Auto Backend = iota
	// Fentry uses fentry/fexit (BPF trampolines; 5.5+, needs BTF).
	Fentry
	// Kprobe uses kprobe/kretprobe.
	Kprobe
)

var backendNames = []string{"auto", "fentry", "kprobe"}

func (b Backend) String() string {
	if int(b) < len(backendNames) {
		return backendNames[b]
	}
	return fmt.Sprintf("backend(%d)", int(b))
}

// MarshalText makes backends readable in JSON.
func (b Backend) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// ParseBackend accepts auto, fentry or kprobe.
func ParseBackend(s string) (Backend, error) {
	for i, n := range backendNames {
		if strings.EqualFold(s, n) {
			return Backend(i), nil
		}
	}
	return 0, fmt.Errorf("unknown backend %q (want %s)", s, strings.Join(backendNames, ", "))
}
