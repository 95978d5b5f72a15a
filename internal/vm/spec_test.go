package vm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSpec(t *testing.T) {
	for _, tt := range []struct {
		in, series, flavour, arch, name string
	}{
		{"6.12", "6.12", "cloud", "amd64", "6.12"},
		{"6.1", "6.1", "cloud", "amd64", "6.1"},
		{"6.1-amd64", "6.1", "cloud", "amd64", "6.1"},
		{"6.12-arm64", "6.12", "cloud", "arm64", "6.12-arm64"},
		{"6.1-cloud", "6.1", "cloud", "amd64", "6.1"},
		{"6.12-rt", "6.12", "rt", "amd64", "6.12-rt"},
		{"6.12-rt-arm64", "6.12", "rt", "arm64", "6.12-rt-arm64"},
		{"6.12-arm64-rt", "6.12", "rt", "arm64", "6.12-rt-arm64"},
		{"6.12-generic", "6.12", "generic", "amd64", "6.12-generic"},
		{"6.12-cloud-amd64", "6.12", "cloud", "amd64", "6.12"},
	} {
		g, err := ParseSpec(tt.in)
		if err != nil || g.Series != tt.series || g.Flavour != tt.flavour || g.Arch != tt.arch || g.String() != tt.name {
			t.Errorf("ParseSpec(%q) = %+v (%s), %v; want %s %s %s named %s", tt.in, g, g, err, tt.series, tt.flavour, tt.arch, tt.name)
		}
	}
	for _, bad := range []string{"6.12-", "6.12-riscv64", "612", "6.12.117", "arm64", "", "6.12-rt-cloud", "6.12-arm64-amd64",
		"/nonexistent/vmlinuz", "missing.deb"} {
		g, err := ParseSpec(bad)
		if err == nil {
			t.Errorf("ParseSpec(%q) = %+v, want an error", bad, g)
			continue
		}
		if !strings.Contains(err.Error(), "SERIES[-FLAVOUR][-ARCH]") {
			t.Errorf("ParseSpec(%q): %v does not say which forms are accepted", bad, err)
		}
	}
	if _, err := ParseSpecs([]string{"6.12", "6.12-cloud-amd64"}); err == nil {
		t.Error("the same guest twice: no error")
	}
	if _, err := ParseSpecs([]string{"6.12", "6.12-rt", "6.12-arm64"}); err != nil {
		t.Errorf("three different guests: %v", err)
	}
}

func TestPackagePattern(t *testing.T) {
	for _, tt := range []struct {
		spec, name string
		match      bool
	}{
		{"6.1", "linux-image-6.1.0-56-cloud-amd64-unsigned", true},
		{"6.1", "linux-image-6.12.117+deb12-cloud-amd64-unsigned", false},
		{"6.12", "linux-image-6.12.117+deb12-cloud-amd64-unsigned", true},
		{"6.12", "linux-image-6.12.117+deb12-cloud-amd64-dbg", false},
		{"6.12", "linux-image-6.12.117+deb12-cloud-arm64-unsigned", false},
		{"6.12", "linux-image-6.12.117+deb12-amd64-unsigned", false},
		{"6.12-arm64", "linux-image-6.12.117+deb12-cloud-arm64-unsigned", true},
		{"6.12-arm64", "linux-image-6.12.117+deb12-cloud-amd64-unsigned", false},
		{"6.12-arm64", "linux-image-6.12.117+deb12-arm64-unsigned", false},
		{"6.12-rt", "linux-image-6.12.117+deb12-rt-amd64-unsigned", true},
		{"6.12-rt", "linux-image-6.12.117+deb12-cloud-amd64-unsigned", false},
		{"6.12-rt-arm64", "linux-image-6.12.117+deb12-rt-arm64-unsigned", true},
		{"6.12-generic", "linux-image-6.12.117+deb12-amd64-unsigned", true},
		{"6.12-generic", "linux-image-6.12.117+deb12-rt-amd64-unsigned", false},
		{"6.12-generic", "linux-image-6.12.117+deb12-cloud-amd64-unsigned", false},
		{"6.1-generic", "linux-image-6.1.0-57-amd64-unsigned", true},
		{"6.1-rt", "linux-image-6.1.0-57-rt-amd64-unsigned", true},
	} {
		g, err := ParseSpec(tt.spec)
		if err != nil {
			t.Fatal(err)
		}
		if got := mustMatch(t, packagePattern(g), tt.name); got != tt.match {
			t.Errorf("%s ~ %s: %v, want %v", tt.spec, tt.name, got, tt.match)
		}
	}
}

// writeImage writes a file with magic at off, as a kernel image header.
func writeImage(t *testing.T, dir, name string, off int, magic string) string {
	t.Helper()
	b := make([]byte, 4096)
	copy(b, "MZ") // both x86 and arm64 images carry an EFI stub
	copy(b[off:], magic)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseSpecImage(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name, magic string
		off         int
		arch        string
	}{
		{"Image", "ARM\x64", 56, "arm64"},
		{"bzImage", "HdrS", 0x202, "amd64"},
	} {
		p := writeImage(t, dir, tt.name, tt.off, tt.magic)
		g, err := ParseSpec(p)
		if err != nil || g.Image != p || g.Arch != tt.arch || g.Deb != "" || g.Series != "" {
			t.Errorf("ParseSpec(%s) = %+v, %v; want an %s image", tt.name, g, err, tt.arch)
		}
	}
	// A relative name without a slash is a file when it exists.
	t.Chdir(dir)
	if g, err := ParseSpec("bzImage"); err != nil || g.Image != filepath.Join(dir, "bzImage") {
		t.Errorf("ParseSpec(bzImage) in its directory = %+v, %v", g, err)
	}
	// Random bytes are no kernel: refused before QEMU is started.
	if err := os.WriteFile("vmlinuz-unknown", []byte("random bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	if g, err := ParseSpec("./vmlinuz-unknown"); err == nil || !strings.Contains(err.Error(), "not a kernel image") {
		t.Errorf("ParseSpec(vmlinuz-unknown) = %+v, %v; want an error", g, err)
	}
	// A .deb by name that is not one by content.
	if err := os.WriteFile("fake.deb", []byte("not ar"), 0o644); err != nil {
		t.Fatal(err)
	}
	if g, err := ParseSpec("./fake.deb"); err == nil {
		t.Errorf("ParseSpec(fake.deb) = %+v, want an error", g)
	}
}
