package vm

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPackBaseCarriesGuestBusybox: an arm64 guest cannot run the host's
// busybox, so the archive must hold the kernel's own, and the modules
// Preamble loads.
func TestPackBaseCarriesGuestBusybox(t *testing.T) {
	dir := t.TempDir()
	bb := filepath.Join(dir, "busybox")
	mod := filepath.Join(dir, "veth.ko")
	os.WriteFile(bb, []byte("arm64 busybox"), 0o755)
	os.WriteFile(mod, []byte("module"), 0o644)
	k := &Kernel{Spec: Spec{Series: "6.12", Flavour: "cloud", Arch: "arm64"}, Busybox: bb, Modules: []string{mod}}
	var buf bytes.Buffer
	a := NewArchive(&buf)
	PackBase(a, k)
	a.Bytes("init", 0o755, []byte(Preamble(k)+"poweroff -f\n"))
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if buf.Len()%512 != 0 {
		t.Errorf("archive of %d bytes is not padded to 512", buf.Len())
	}
	files, nodes := readNewc(t, buf.Bytes())
	if got := files["bin/busybox"]; got != "arm64 busybox" {
		t.Errorf("bin/busybox holds %q, want the guest's busybox", got)
	}
	if got := files["lib/modules/veth.ko"]; got != "module" {
		t.Errorf("lib/modules/veth.ko holds %q", got)
	}
	if nodes["dev/console"] != "5,1" || nodes["dev/null"] != "1,3" {
		t.Errorf("device nodes %v, want dev/console 5,1 and dev/null 1,3", nodes)
	}
	init := files["init"]
	for _, want := range []string{"#!/bin/busybox sh\n", "mount -t proc proc /proc\n", "mount -t bpf bpf /sys/fs/bpf\n",
		"insmod /lib/modules/veth.ko ", "ip link set lo up\n", "export " + GuestEnv + "=1\n"} {
		if !strings.Contains(init, want) {
			t.Errorf("/init lacks %q:\n%s", want, init)
		}
	}
	if strings.Index(init, "mount -t proc") > strings.Index(init, "insmod") {
		t.Error("/init loads modules before /proc is mounted")
	}
}

func TestPreambleWithoutModules(t *testing.T) {
	if p := Preamble(&Kernel{}); strings.Contains(p, "insmod") {
		t.Errorf("an image without modules gets insmod lines:\n%s", p)
	}
}

func TestArchiveKeepsFirstError(t *testing.T) {
	var buf bytes.Buffer
	a := NewArchive(&buf)
	a.File("bin/missing", 0o755, filepath.Join(t.TempDir(), "missing"))
	n := buf.Len()
	a.Bytes("init", 0o755, []byte("x"))
	if buf.Len() != n {
		t.Error("wrote on after an error")
	}
	if err := a.Close(); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("Close = %v, want the first error", err)
	}
}

func TestRefuseNested(t *testing.T) {
	t.Setenv(GuestEnv, "")
	if err := RefuseNested(); err != nil {
		t.Errorf("outside a guest: %v", err)
	}
	t.Setenv(GuestEnv, "1")
	if err := RefuseNested(); err == nil {
		t.Error("inside a guest: no error")
	}
}

// readNewc returns the regular files of a newc archive, and its device
// nodes as "major,minor".
func readNewc(t *testing.T, data []byte) (files, nodes map[string]string) {
	t.Helper()
	files, nodes, err := ReadArchive(data)
	if err != nil {
		t.Fatal(err)
	}
	return files, nodes
}
