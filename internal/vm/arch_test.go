package vm

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeELF writes the smallest ELF file debug/elf accepts: a header and,
// for a dynamic binary, one PT_INTERP program header.
func writeELF(t *testing.T, m elf.Machine, dynamic bool) string {
	t.Helper()
	var b bytes.Buffer
	phnum := 0
	if dynamic {
		phnum = 1
	}
	ident := [16]byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)}
	binary.Write(&b, binary.LittleEndian, elf.Header64{
		Ident: ident, Type: uint16(elf.ET_EXEC), Machine: uint16(m), Version: uint32(elf.EV_CURRENT),
		Phoff: 64, Ehsize: 64, Phentsize: 56, Phnum: uint16(phnum), Shentsize: 64,
	})
	if dynamic {
		binary.Write(&b, binary.LittleEndian, elf.Prog64{Type: uint32(elf.PT_INTERP)})
	}
	p := filepath.Join(t.TempDir(), "bin")
	if err := os.WriteFile(p, b.Bytes(), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckStatic(t *testing.T) {
	if err := CheckStatic(writeELF(t, elf.EM_AARCH64, false), "arm64"); err != nil {
		t.Errorf("static arm64 binary for arm64: %v", err)
	}
	if err := CheckStatic(writeELF(t, elf.EM_X86_64, false), "arm64"); err == nil || !strings.Contains(err.Error(), "EM_X86_64") {
		t.Errorf("amd64 binary for arm64: %v, want an error naming EM_X86_64", err)
	}
	if err := CheckStatic(writeELF(t, elf.EM_AARCH64, true), "arm64"); err == nil || !strings.Contains(err.Error(), "dynamically linked") {
		t.Errorf("dynamic binary: %v, want dynamically linked", err)
	}
}

func TestImageArchFromELF(t *testing.T) {
	data, err := os.ReadFile(writeELF(t, elf.EM_AARCH64, false))
	if err != nil {
		t.Fatal(err)
	}
	if got := imageArch(data); got != "arm64" {
		t.Errorf("arm64 ELF image: %s", got)
	}
}

func TestQemuArgsPerArch(t *testing.T) {
	tcg := Accel{Name: "tcg"}
	for _, tt := range []struct {
		arch string
		acc  Accel
		want []string
	}{
		{"amd64", tcg, []string{"-accel tcg", "-cpu max ", "-m 1G", "console=ttyS0 "}},
		{"arm64", tcg, []string{"-M virt", "-accel tcg", "-cpu max,pauth-impdef=on", "-m 2G", "console=ttyAMA0 "}},
		{"amd64", Accel{Name: "kvm"}, []string{"-accel kvm", "-cpu host ", "-m 1G"}},
		{"arm64", Accel{Name: "kvm"}, []string{"-M virt", "-accel kvm", "-cpu host ", "-m 2G"}},
	} {
		args := strings.Join(QemuArgs(Arches[tt.arch], tt.acc, "vmlinuz", "initrd", "vmtest.shell"), " ")
		for _, w := range append(tt.want, "panic=-1 quiet vmtest.shell", "-smp 1") {
			if !strings.Contains(args, w) {
				t.Errorf("%s %s: %q lacks %q", tt.arch, tt.acc.Name, args, w)
			}
		}
	}
}

func TestChooseAccel(t *testing.T) {
	noKVM := errors.New("/dev/kvm: permission denied")
	for _, tt := range []struct {
		kvm         error
		guest, host string
		want        string
	}{
		{nil, "amd64", "amd64", "kvm"},
		{nil, "arm64", "arm64", "kvm"},
		{nil, "arm64", "amd64", "tcg"},
		{nil, "amd64", "arm64", "tcg"},
		{noKVM, "amd64", "amd64", "tcg"},
		{noKVM, "arm64", "amd64", "tcg"},
	} {
		a := ChooseAccel(tt.kvm, tt.guest, tt.host)
		if a.Name != tt.want || a.Reason == "" {
			t.Errorf("ChooseAccel(%v, %s, %s) = %v, want %s with a reason", tt.kvm, tt.guest, tt.host, a, tt.want)
		}
		if tt.kvm != nil && tt.guest == tt.host && !strings.Contains(a.Reason, "permission denied") {
			t.Errorf("reason %q does not say why KVM is unusable", a.Reason)
		}
	}
}

func TestCPUHasVirt(t *testing.T) {
	if !cpuHasVirt("processor\t: 0\nflags\t\t: fpu vme svm lm\n") {
		t.Error("svm not seen")
	}
	if cpuHasVirt("processor\t: 0\nflags\t\t: fpu vme lm hypervisor\nvmx flags\t: ept\n") {
		t.Error("no vmx or svm flag, but virtualisation seen")
	}
}

func TestBootOrderForeignFirst(t *testing.T) {
	foreign := "arm64"
	if HostArch == "arm64" {
		foreign = "amd64"
	}
	var got []string
	mk := func(name, arch string) Job {
		return Job{Arch: arch, Run: func() { got = append(got, name) }}
	}
	jobs := []Job{mk("6.1", HostArch), mk("6.12", HostArch), mk("6.12-"+foreign, foreign)}
	BootAll(jobs, 1) // one at a time: the order is the start order
	want := []string{"6.12-" + foreign, "6.1", "6.12"}
	if !slices.Equal(got, want) {
		t.Errorf("boot order %q, want %q", got, want)
	}
}
