package main

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseGuest(t *testing.T) {
	for _, tt := range []struct {
		in, series, arch, name string
	}{
		{"6.12", "6.12", "amd64", "6.12"},
		{"6.1-amd64", "6.1", "amd64", "6.1"},
		{"6.12-arm64", "6.12", "arm64", "6.12-arm64"},
	} {
		g, err := parseGuest(tt.in)
		if err != nil || g.Series != tt.series || g.Arch != tt.arch || g.String() != tt.name {
			t.Errorf("parseGuest(%q) = %+v (%s), %v; want %s %s named %s", tt.in, g, g, err, tt.series, tt.arch, tt.name)
		}
	}
	for _, bad := range []string{"6.12-", "6.12-riscv64", "612", "6.12.117", "arm64", ""} {
		if g, err := parseGuest(bad); err == nil {
			t.Errorf("parseGuest(%q) = %+v, want an error", bad, g)
		}
	}
	if _, err := parseGuests([]string{"6.12", "6.12-amd64"}); err == nil {
		t.Error("the same guest twice: no error")
	}
}

func TestDefaultsRunArm64(t *testing.T) {
	t.Setenv("KERNELS", "")
	t.Setenv("ARM64_PKG", "")
	t.Setenv("PKG", "")
	c, err := parseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(c.Kernels, "6.12-arm64") {
		t.Errorf("default kernels %q lack 6.12-arm64", c.Kernels)
	}
	for _, a := range []string{"amd64", "arm64"} {
		if got := c.patterns(a); got != nil {
			t.Errorf("%s guests test %q, want the whole module (nil)", a, got)
		}
	}
	c.ArchPkgs["arm64"] = []string{"./nlclient"}
	if got := c.patterns("arm64"); !slices.Equal(got, []string{"./nlclient"}) {
		t.Errorf("-arm64-pkg ./nlclient: arm64 guests test %q", got)
	}
	if got := c.patterns("amd64"); got != nil {
		t.Errorf("-arm64-pkg ./nlclient: amd64 guests test %q, want the whole module", got)
	}
	c.Pkgs = []string{"./probe"}
	for _, a := range []string{"amd64", "arm64"} {
		if got := c.patterns(a); !slices.Equal(got, c.Pkgs) {
			t.Errorf("-pkg ./probe: %s guests test %q", a, got)
		}
	}
}

func TestArm64TimeoutsScale(t *testing.T) {
	c := config{Timeout: 8 * time.Minute, TestTimeout: 5 * time.Minute}
	if g, tt := c.guestTimeout("amd64"), c.testTimeout("amd64"); g != c.Timeout || tt != c.TestTimeout {
		t.Errorf("amd64 timeouts %v %v, want them as given", g, tt)
	}
	if g, tt := c.guestTimeout("arm64"), c.testTimeout("arm64"); g != 16*time.Minute || tt != 10*time.Minute {
		t.Errorf("arm64 timeouts %v %v, want 16m 10m", g, tt)
	}
}

func TestQemuArgsPerArch(t *testing.T) {
	for _, tt := range []struct {
		arch string
		want []string
	}{
		{"amd64", []string{"-cpu max ", "-m 1G", "console=ttyS0 "}},
		{"arm64", []string{"-M virt", "-cpu max,pauth-impdef=on", "-m 2G", "console=ttyAMA0 "}},
	} {
		args := strings.Join(qemuArgs(arches[tt.arch], "vmlinuz", "initrd", false), " ")
		for _, w := range tt.want {
			if !strings.Contains(args, w) {
				t.Errorf("%s: %q lacks %q", tt.arch, args, w)
			}
		}
	}
}

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
	if err := checkStatic(writeELF(t, elf.EM_AARCH64, false), "arm64"); err != nil {
		t.Errorf("static arm64 binary for arm64: %v", err)
	}
	if err := checkStatic(writeELF(t, elf.EM_X86_64, false), "arm64"); err == nil || !strings.Contains(err.Error(), "EM_X86_64") {
		t.Errorf("amd64 binary for arm64: %v, want an error naming EM_X86_64", err)
	}
	if err := checkStatic(writeELF(t, elf.EM_AARCH64, true), "arm64"); err == nil || !strings.Contains(err.Error(), "dynamically linked") {
		t.Errorf("dynamic binary: %v, want dynamically linked", err)
	}
}

func TestBootOrderForeignFirst(t *testing.T) {
	foreign := "arm64"
	if hostArch == "arm64" {
		foreign = "amd64"
	}
	pkgs := []testPkg{{Rel: "p"}}
	mk := func(series, arch string) *guestRun {
		return &guestRun{Kernel: &kernel{Guest: guestSpec{series, arch}}, Pkgs: pkgs}
	}
	runs := []*guestRun{mk("6.1", hostArch), mk("6.12", hostArch), mk("6.12", foreign)}
	failed := mk("6.6", foreign)
	failed.Err = errors.New("no kernel")
	runs = append(runs, failed)
	var got []string
	for _, g := range bootOrder(runs) {
		got = append(got, g.Kernel.Guest.Series+"-"+g.Kernel.Guest.Arch)
	}
	want := []string{"6.12-" + foreign, "6.1-" + hostArch, "6.12-" + hostArch}
	if !slices.Equal(got, want) {
		t.Errorf("boot order %q, want %q", got, want)
	}
}

func TestPruneKeepsOtherArchitectures(t *testing.T) {
	dir := t.TempDir()
	names := []string{
		"busybox-static_1%3a1.35.0-4_arm64", "busybox-static_1%3a1.35.0-4_arm64.deb",
		"busybox-static_1%3a1.36.1-1_arm64", "busybox-static_1%3a1.36.1-1_arm64.deb",
		"busybox-static_1%3a1.35.0-4_riscv64",
		"linux-image-6.12.117+deb12-cloud-arm64-unsigned_6.12.117-1~deb12u1",
		".lock",
	}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	keep := []string{filepath.Join(dir, names[2]), filepath.Join(dir, names[3])}
	prune(dir, func(name, arch string) bool { return name == busyboxPackage && arch == "arm64" }, io.Discard, keep...)
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	want := append([]string{".lock"}, names[2:6]...)
	slices.Sort(want)
	if !slices.Equal(left, want) {
		t.Errorf("left %q, want %q", left, want)
	}
}

// TestInitramfsCarriesGuestBusybox: an arm64 guest cannot run the host's
// busybox, so the archive must hold the kernel's own.
func TestInitramfsCarriesGuestBusybox(t *testing.T) {
	dir := t.TempDir()
	bb := filepath.Join(dir, "busybox")
	mod := filepath.Join(dir, "veth.ko")
	os.WriteFile(bb, []byte("arm64 busybox"), 0o755)
	os.WriteFile(mod, []byte("module"), 0o644)
	k := &kernel{Guest: guestSpec{"6.12", "arm64"}, Busybox: bb, Modules: []string{mod}}
	dst := filepath.Join(dir, "initrd.cpio")
	if err := writeInitramfs(dst, dir, k, guestOptions{RunID: "x", Modules: []string{"veth"}}, nil, "", nil); err != nil {
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
	k := &kernel{Guest: guestSpec{"6.12", "amd64"}, Busybox: filepath.Join(root, "busybox")}
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
