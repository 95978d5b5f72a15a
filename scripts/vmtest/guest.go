package main

import (
	"debug/elf"
	"fmt"
	"runtime"
	"slices"
	"strings"
)

// arch is what differs between guest architectures. Debian's and Go's
// names agree for the ones supported here.
type arch struct {
	Name    string   // amd64, arm64: GOARCH and the Debian architecture
	Qemu    string   // system emulator
	Machine []string // QEMU arguments that pick the board, CPU and memory
	Console string   // serial console device on the kernel command line
	ELF     elf.Machine
	// Slowdown scales the -timeout and -test-timeout given for amd64:
	// the same tests took up to twice as long in the arm64 guest.
	Slowdown int
}

// arches are the guest architectures that booted here under TCG
// (docs/vm.md). Debian's arm64 kernel signs every return address with
// pointer authentication; TCG's emulation of the architected algorithm
// (QARMA) made the guest 3-5 times slower than with QEMU's cheap
// implementation-defined one, which the kernel cannot tell apart.
var arches = map[string]arch{
	"amd64": {Name: "amd64", Qemu: "qemu-system-x86_64", Machine: []string{"-cpu", "max", "-m", "1G"}, Console: "ttyS0", ELF: elf.EM_X86_64, Slowdown: 1},
	"arm64": {Name: "arm64", Qemu: "qemu-system-aarch64", Machine: []string{"-M", "virt", "-cpu", "max,pauth-impdef=on", "-m", "2G"}, Console: "ttyAMA0", ELF: elf.EM_AARCH64, Slowdown: 2},
}

// hostArch is the architecture whose guests use this machine's own
// static busybox; other guests get one downloaded for their architecture.
var hostArch = runtime.GOARCH

// guestSpec is one entry of -kernels: a Debian kernel series and the
// architecture to boot it on, written "6.12" (the host's architecture is
// not implied: a bare series means amd64, as in CI) or "6.12-arm64".
type guestSpec struct {
	Series string
	Arch   string // a key of arches
}

func (g guestSpec) String() string {
	if g.Arch == "amd64" {
		return g.Series
	}
	return g.Series + "-" + g.Arch
}

func parseGuest(s string) (guestSpec, error) {
	series, archName, suffixed := strings.Cut(s, "-")
	if !suffixed {
		archName = "amd64"
	}
	if _, ok := arches[archName]; !ok {
		names := make([]string, 0, len(arches))
		for n := range arches {
			names = append(names, n)
		}
		slices.Sort(names)
		return guestSpec{}, fmt.Errorf("kernel %q: unknown architecture %q (want SERIES or SERIES-ARCH, ARCH one of %s)", s, archName, strings.Join(names, ", "))
	}
	if !seriesRE.MatchString(series) {
		return guestSpec{}, fmt.Errorf("kernel %q: series %q is not MAJOR.MINOR (want 6.12 or 6.12-arm64)", s, series)
	}
	return guestSpec{Series: series, Arch: archName}, nil
}

func parseGuests(list []string) ([]guestSpec, error) {
	var specs []guestSpec
	seen := map[guestSpec]bool{}
	for _, s := range list {
		g, err := parseGuest(s)
		if err != nil {
			return nil, err
		}
		if seen[g] {
			return nil, fmt.Errorf("kernel %s given twice", g)
		}
		seen[g] = true
		specs = append(specs, g)
	}
	return specs, nil
}
