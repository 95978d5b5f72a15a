package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nltrace/nltrace/internal/vm"
)

// TestInitramfsCarriesGuestBusybox: an arm64 guest cannot run the host's
// busybox, so the archive must hold the kernel's own.
func TestInitramfsCarriesGuestBusybox(t *testing.T) {
	dir := t.TempDir()
	bb := filepath.Join(dir, "busybox")
	mod := filepath.Join(dir, "veth.ko")
	os.WriteFile(bb, []byte("arm64 busybox"), 0o755)
	os.WriteFile(mod, []byte("module"), 0o644)
	k := &vm.Kernel{Spec: vm.Spec{Series: "6.12", Flavour: "cloud", Arch: "arm64"}, Busybox: bb, Modules: []string{mod}}
	dst := filepath.Join(dir, "initrd.cpio")
	if err := writeInitramfs(dst, dir, k, guestOptions{RunID: "x"}, nil, "", nil); err != nil {
		t.Fatal(err)
	}
	files := readNewc(t, dst)
	if got := files["bin/busybox"]; got != "arm64 busybox" {
		t.Errorf("bin/busybox holds %q, want the guest's busybox", got)
	}
	if got := files["lib/modules/veth.ko"]; got != "module" {
		t.Errorf("lib/modules/veth.ko holds %q", got)
	}
}

// readNewc returns the regular files of a newc archive.
func readNewc(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	align := func(n int) int { return (n + 3) &^ 3 }
	for off := 0; off+110 <= len(data); {
		h := string(data[off : off+110])
		if !strings.HasPrefix(h, "070701") {
			t.Fatalf("bad newc header at %d", off)
		}
		field := func(i int) int {
			v, err := strconv.ParseUint(h[6+8*i:14+8*i], 16, 32)
			if err != nil {
				t.Fatal(err)
			}
			return int(v)
		}
		mode, size, nameLen := field(1), field(6), field(11)
		name := string(data[off+110 : off+110+nameLen-1])
		if name == "TRAILER!!!" {
			break
		}
		body := align(off + 110 + nameLen)
		if mode&0o170000 == 0o100000 {
			files[name] = string(data[body : body+size])
		}
		off = align(body + size)
	}
	return files
}

// TestInitramfsCarriesModuleDocs: internal/report's tests read
// ../../docs/report.schema.json from their package directory, and
// cmd/nltrace's ../../deploy/kubernetes and ../../go.mod.
func TestInitramfsCarriesModuleDocs(t *testing.T) {
	root := t.TempDir()
	pkgDir := filepath.Join(root, "internal", "report")
	for name, data := range map[string]string{
		"docs/report.schema.json":      "{}",
		"deploy/kubernetes/Dockerfile": "FROM scratch",
		"go.mod":                       "module x",
		"internal/report/x_test.go":    "package report",
		"internal/report/report.bin":   "test binary",
		"busybox":                      "busybox",
	} {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	k := &vm.Kernel{Spec: vm.Spec{Series: "6.12", Flavour: "cloud", Arch: "amd64"}, Busybox: filepath.Join(root, "busybox")}
	pkgs := []testPkg{{Rel: "internal/report", Dir: pkgDir, Binary: filepath.Join(pkgDir, "report.bin")}}
	dst := filepath.Join(t.TempDir(), "initrd.cpio")
	if err := writeInitramfs(dst, root, k, guestOptions{RunID: "x"}, pkgs, "", nil); err != nil {
		t.Fatal(err)
	}
	files := readNewc(t, dst)
	for name, want := range map[string]string{
		"src/docs/report.schema.json":      "{}",
		"src/deploy/kubernetes/Dockerfile": "FROM scratch",
		"src/go.mod":                       "module x",
		"src/internal/report/x_test.go":    "package report",
		"tests/internal_report.test":       "test binary",
	} {
		if files[name] != want {
			t.Errorf("%s holds %q, want %q", name, files[name], want)
		}
	}
}
