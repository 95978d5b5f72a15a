package main

import (
	"os"
	"path/filepath"
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
	if err == nil {
		var files map[string]string
		if files, _, err = vm.ReadArchive(data); err == nil {
			return files
		}
	}
	t.Fatal(err)
	return nil
}

// TestInitramfsCarriesModuleDocs: internal/report's tests read
// ../../docs/report.schema.json from their package directory, and
// cmd/nltrace's ../../deploy/kubernetes, ../../examples and ../../go.mod.
func TestInitramfsCarriesModuleDocs(t *testing.T) {
	root := t.TempDir()
	pkgDir := filepath.Join(root, "internal", "report")
	for name, data := range map[string]string{
		"docs/report.schema.json":      "{}",
		"deploy/kubernetes/Dockerfile": "FROM scratch",
		"examples/ci/gitlab-ci.yml":    "job:",
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
		"src/examples/ci/gitlab-ci.yml":    "job:",
		"src/go.mod":                       "module x",
		"src/internal/report/x_test.go":    "package report",
		"tests/internal_report.test":       "test binary",
	} {
		if files[name] != want {
			t.Errorf("%s holds %q, want %q", name, files[name], want)
		}
	}
}
