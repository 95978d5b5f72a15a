package check

import (
	"errors"
	"runtime"

	"github.com/cilium/ebpf/btf"

	"github.com/nltrace/nltrace/internal/kernel"
)

// Features are what decides a kernel's default expectations, each with
// what decided it: its BTF where the kernel's types tell, its version
// where they cannot.
type Features struct {
	Walk       string `json:"walk"` // how link dumps go through devices: hash, ifindex
	WalkSource string `json:"walk_source"`
	Nexthops   bool   `json:"nexthops"` // nexthop objects (5.3+) exist
	// NexthopSource says what decided Nexthops.
	NexthopSource string `json:"nexthop_source"`
	// CPUs decide how often races happen: whether a rare event was seen at
	// all is only comparable between runs with as many.
	CPUs int `json:"cpus"`
}

// Detect reads the running kernel's features.
func Detect() (string, Features) {
	k := kernel.Running()
	f := Features{Walk: k.Walk.String(), WalkSource: k.WalkSource, CPUs: runtime.NumCPU()}
	f.Nexthops, f.NexthopSource = nexthops(k.Release)
	return k.Release, f
}

// nexthops: struct netns_nexthop is in BTF exactly when the kernel has
// nexthop objects; without BTF, assume the version decides (5.3).
func nexthops(release string) (bool, string) {
	spec, err := btf.LoadKernelSpec()
	if err == nil {
		var s *btf.Struct
		err = spec.TypeByName("netns_nexthop", &s)
		if err == nil {
			return true, "BTF: struct netns_nexthop"
		}
		if errors.Is(err, btf.ErrNotFound) {
			return false, "BTF: no struct netns_nexthop"
		}
	}
	major, minor, ok := kernel.ParseRelease(release)
	if !ok {
		return false, "unknown: no BTF and an unreadable release"
	}
	return major > 5 || major == 5 && minor >= 3, "version (5.3+ has nexthops); no BTF: " + err.Error()
}
