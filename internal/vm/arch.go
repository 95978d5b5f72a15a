package vm

import (
	"debug/elf"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
)

// Arch is what differs between guest architectures. Debian's and Go's
// names agree for the ones supported here.
type Arch struct {
	Name    string   // amd64, arm64: GOARCH and the Debian architecture
	Qemu    string   // system emulator
	Machine []string // QEMU arguments that pick the board and memory
	// CPU is the -cpu model under TCG; under KVM the guest gets the
	// host's CPU.
	CPU     string
	Console string // serial console device on the kernel command line
	ELF     elf.Machine
	// Slowdown scales timeouts given for amd64: the same tests took up
	// to twice as long in the arm64 guest.
	Slowdown int
}

// Arches are the guest architectures that booted here under TCG
// (docs/vm.md). Debian's arm64 kernel signs every return address with
// pointer authentication; TCG's emulation of the architected algorithm
// (QARMA) made the guest 3-5 times slower than with QEMU's cheap
// implementation-defined one, which the kernel cannot tell apart.
var Arches = map[string]Arch{
	"amd64": {Name: "amd64", Qemu: "qemu-system-x86_64", CPU: "max", Machine: []string{"-m", "1G"}, Console: "ttyS0", ELF: elf.EM_X86_64, Slowdown: 1},
	"arm64": {Name: "arm64", Qemu: "qemu-system-aarch64", CPU: "max,pauth-impdef=on", Machine: []string{"-M", "virt", "-m", "2G"}, Console: "ttyAMA0", ELF: elf.EM_AARCH64, Slowdown: 2},
}

// HostArch is the architecture whose guests use this machine's own
// static busybox (and KVM, when there is one); other guests get a busybox
// downloaded for their architecture and are emulated.
var HostArch = runtime.GOARCH

// archNames lists the supported architectures for error messages.
func archNames() string {
	names := make([]string, 0, len(Arches))
	for n := range Arches {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// CheckStatic makes sure a binary can run in a guest of arch: the right
// machine, and no interpreter since the guest has no libc.
func CheckStatic(path, arch string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if want := Arches[arch].ELF; f.Machine != want {
		return fmt.Errorf("built for %v, the %s guest needs %v", f.Machine, arch, want)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return errors.New("dynamically linked; the guest has no libc")
		}
	}
	return nil
}
