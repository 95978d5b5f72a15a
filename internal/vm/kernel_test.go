package vm

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/nltrace/nltrace/internal/testenv"
)

func mustMatch(t *testing.T, pattern, s string) bool {
	t.Helper()
	return regexp.MustCompile(pattern).MatchString(s)
}

// cachedDeb is the 6.12 cloud kernel package of the cache, downloaded by
// Resolve when missing (as make vmtest would). Without apt or the network
// the test skips, or fails under NLTRACE_REQUIRE=vm, as in CI.
func cachedDeb(t *testing.T) string {
	t.Helper()
	if err := RefuseNested(); err != nil {
		t.Skip(err)
	}
	cache := os.Getenv("NLTRACE_VM_CACHE")
	if cache == "" {
		cache = "/var/cache/nltrace-vm"
	}
	s, err := ParseSpec("6.12-" + HostArch)
	if err == nil {
		err = CheckHostTools([]Spec{s})
	}
	if err == nil {
		_, err = Resolve(cache, s, testWriter{t})
	}
	testenv.Need(t, "vm", err)
	debs, _ := filepath.Glob(filepath.Join(cache, "linux-image-6.12.*-cloud-"+HostArch+"-unsigned_*.deb"))
	if len(debs) == 0 {
		t.Fatalf("Resolve left no 6.12 cloud %s kernel package in %s", HostArch, cache)
	}
	return debs[len(debs)-1]
}

func TestResolveDeb(t *testing.T) {
	deb := cachedDeb(t)
	s, err := ParseSpec(deb)
	if err != nil {
		t.Fatal(err)
	}
	if s.Deb != deb || s.Arch != HostArch {
		t.Fatalf("ParseSpec(%s) = %+v", deb, s)
	}
	cache := t.TempDir()
	k, err := Resolve(cache, s, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	if !mustMatch(t, `^6\.12\.[0-9]+\+deb[0-9]+-cloud-`+HostArch+`$`, k.Release) {
		t.Errorf("release %q", k.Release)
	}
	var mods []string
	for _, m := range k.Modules {
		mods = append(mods, ModuleName(m))
	}
	if !slices.Equal(mods, wantedModules) {
		t.Errorf("modules %q, want %q", mods, wantedModules)
	}
	cfg, err := k.ReadConfig()
	if err != nil || cfg["VETH"] != "m" {
		t.Errorf("config: VETH=%q, %v", cfg["VETH"], err)
	}
	for _, f := range append([]string{k.Vmlinuz, k.Config}, k.Modules...) {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	// Resolved again: the stamp matches, nothing is extracted.
	var progress countWriter
	if _, err := Resolve(cache, s, &progress); err != nil || progress != 0 {
		t.Errorf("second Resolve: %v, %d progress lines, want none", err, progress)
	}
}

func TestResolveImage(t *testing.T) {
	dir := t.TempDir()
	img := writeImage(t, dir, "vmlinuz-6.99.0-test", 0x202, "HdrS")
	if HostArch != "amd64" {
		img = writeImage(t, dir, "vmlinuz-6.99.0-test", 56, "ARM\x64")
	}
	s, err := ParseSpec(img)
	if err != nil {
		t.Fatal(err)
	}
	k, err := Resolve(filepath.Join(dir, "unused-cache"), s, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	if k.Vmlinuz != img || k.Release != "vmlinuz-6.99.0-test" || len(k.Modules) != 0 || k.Config != "" {
		t.Errorf("image kernel %+v", k)
	}
	if cfg, err := k.ReadConfig(); err != nil || len(cfg) != 0 {
		t.Errorf("no config: %v, %v; want an empty config", cfg, err)
	}
	os.WriteFile(filepath.Join(dir, "config-6.99.0-old"), []byte("CONFIG_VETH=m\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "config-6.99.0-test"), []byte("CONFIG_VETH=y\n"), 0o644)
	if k, err = Resolve(dir, s, testWriter{t}); err != nil {
		t.Fatal(err)
	}
	if cfg, err := k.ReadConfig(); err != nil || cfg["VETH"] != "y" {
		t.Errorf("config next to vmlinuz-6.99.0-test: %s, VETH=%q, %v; want config-6.99.0-test", k.Config, cfg["VETH"], err)
	}
	if _, err := os.Stat(filepath.Join(dir, "unused-cache")); err == nil {
		t.Error("a host-architecture image created the cache")
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
	prune(dir, func(name, arch string) bool { return name == busyboxPackage && arch == "arm64" }, testWriter{t}, keep...)
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

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Logf("%s", b)
	return len(b), nil
}

type countWriter int

func (c *countWriter) Write(b []byte) (int, error) {
	*c++
	return len(b), nil
}
