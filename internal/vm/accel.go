package vm

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
)

// Accel is how QEMU runs a guest, and why.
type Accel struct {
	Name   string // "kvm" or "tcg": the value of -accel
	Reason string // for logs: why this one
}

func (a Accel) String() string { return a.Name + " (" + a.Reason + ")" }

// AccelEnv set to "tcg" keeps every guest on TCG, to compare timings or
// to work around a KVM that opens but does not run guests.
const AccelEnv = "NLTRACE_VM_ACCEL"

// ChooseAccel picks KVM when it is usable (kvmErr nil) and the guest has
// the host's architecture, TCG otherwise: KVM cannot run a foreign
// instruction set.
func ChooseAccel(kvmErr error, guestArch, hostArch string) Accel {
	switch {
	case guestArch != hostArch:
		return Accel{"tcg", fmt.Sprintf("%s guest on an %s host: emulated", guestArch, hostArch)}
	case kvmErr != nil:
		return Accel{"tcg", "no KVM: " + kvmErr.Error()}
	}
	return Accel{"kvm", "/dev/kvm is usable and the guest is " + guestArch}
}

// AccelFor is the accelerator a guest of arch gets on this host.
func AccelFor(arch string) Accel { return ChooseAccel(kvmUsable(), arch, HostArch) }

var kvmUsable = sync.OnceValue(KVMUsable)

// KVMUsable says whether QEMU can use KVM here, and if not, why. /dev/kvm
// must open read-write; on x86 the CPU must also advertise vmx or svm:
// some sandboxes offer a /dev/kvm that opens and creates VMs but on which
// QEMU aborts setting up the virtual CPU ("failed to set MSR").
func KVMUsable() error {
	if os.Getenv(AccelEnv) == "tcg" {
		return fmt.Errorf("%s=tcg", AccelEnv)
	}
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("/dev/kvm: %w", errors.Unwrap(err))
	}
	f.Close()
	if HostArch == "amd64" {
		info, err := os.ReadFile("/proc/cpuinfo")
		if err != nil {
			return fmt.Errorf("read /proc/cpuinfo: %w", err)
		}
		if !cpuHasVirt(string(info)) {
			return errors.New("/dev/kvm opens, but the CPU advertises neither vmx nor svm (no nested virtualisation)")
		}
	}
	return nil
}

func cpuHasVirt(cpuinfo string) bool {
	for line := range strings.Lines(cpuinfo) {
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(k) != "flags" {
			continue
		}
		for _, f := range strings.Fields(v) {
			if f == "vmx" || f == "svm" {
				return true
			}
		}
	}
	return false
}
