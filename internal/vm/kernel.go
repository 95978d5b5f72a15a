package vm

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Kernel is one resolved kernel, its files on the host, and the busybox
// its guest runs.
type Kernel struct {
	Spec    Spec
	Package string // linux-image-6.1.0-56-cloud-amd64-unsigned; "" for an image
	Version string // Debian package version: 6.1.192-2; "" for an image
	// Release is uname -r: 6.1.0-56-cloud-amd64. An image does not say
	// it without booting, so there it is the image's file name.
	Release string
	Dir     string // cache directory holding the files below; "" for an image
	Vmlinuz string
	Config  string   // kernel config file; "" when there is none (see ReadConfig)
	Modules []string // uncompressed .ko files, in load order; see ModuleName
	Busybox string   // static, for the guest's architecture
}

func (k *Kernel) String() string {
	if k.Spec.Image != "" {
		return fmt.Sprintf("%s (image %s, %s)", k.Release, k.Vmlinuz, k.Spec.Arch)
	}
	return fmt.Sprintf("%s (%s:%s %s)", k.Release, k.Package, k.Spec.Arch, k.Version)
}

// ModuleName is the name insmod and lsmod know a module file by.
func ModuleName(path string) string { return strings.TrimSuffix(filepath.Base(path), ".ko") }

// wantedModules are loaded in this order; neither depends on another
// module in Debian's kernels, so no modules.dep is needed. Debian builds
// both as modules; a kernel image given as a file is assumed to have them
// built in.
var wantedModules = []string{"veth", "dummy"}

// ReadConfig reads the y/m/n (and string) settings of the kernel's config,
// without the CONFIG_ prefix. A kernel without a config file gives an
// empty map, so callers treat every option as unknown rather than fail.
func (k *Kernel) ReadConfig() (map[string]string, error) {
	cfg := map[string]string{}
	if k.Config == "" {
		return cfg, nil
	}
	data, err := os.ReadFile(k.Config)
	if err != nil {
		return nil, fmt.Errorf("kernel config: %w", err)
	}
	for line := range strings.Lines(string(data)) {
		if key, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok && strings.HasPrefix(key, "CONFIG_") {
			cfg[strings.TrimPrefix(key, "CONFIG_")] = v
		}
	}
	return cfg, nil
}

// Resolve makes the kernel of s ready to boot. A series is resolved to
// the newest package apt knows, downloaded into cacheDir unless that exact
// version is already there, and the few files the guest needs extracted;
// a .deb file is extracted into cacheDir; an image is used where it is.
// progress gets one line per slow step (download, extraction), without a
// prefix.
func Resolve(cacheDir string, s Spec, progress io.Writer) (*Kernel, error) {
	if _, ok := Arches[s.Arch]; !ok {
		return nil, fmt.Errorf("kernel %s: unknown architecture %q (one of %s)", s, s.Arch, archNames())
	}
	if s.Image != "" && s.Arch == HostArch {
		return resolveImage(s, "/bin/busybox") // nothing to download or cache
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("kernel cache: %w (the cache must be a directory this user can write; NLTRACE_VM_CACHE names another)", err)
	}
	// Parallel runs (make vmtest next to the self-tests) share the cache.
	unlock, err := lockDir(cacheDir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	busybox, err := resolveBusybox(cacheDir, s.Arch, progress)
	if err != nil {
		return nil, err
	}
	switch {
	case s.Image != "":
		return resolveImage(s, busybox)
	case s.Deb != "":
		return resolveDeb(cacheDir, s, busybox, progress)
	}
	return resolveSeries(cacheDir, s, busybox, progress)
}

// packagePattern matches both naming schemes Debian uses for its kernels:
// the ABI-numbered 6.1.0-NN of a stable release, and 6.12.NNN+debNN of a
// backport, whose name changes with every upload.
func packagePattern(s Spec) string {
	series := strings.ReplaceAll(s.Series, ".", `\.`)
	return `^linux-image-` + series + `(\.0-[0-9]+|\.[0-9]+\+deb[0-9]+)-` + Flavours[s.Flavour] + s.Arch + `-unsigned$`
}

func resolveSeries(cacheDir string, s Spec, busybox string, progress io.Writer) (*Kernel, error) {
	if _, ok := Flavours[s.Flavour]; !ok || !seriesRE.MatchString(s.Series) {
		return nil, fmt.Errorf("kernel %s: want %s", s, SpecForms)
	}
	pattern := packagePattern(s)
	pkg, version, err := newestPackage(pattern, s.Arch, progress)
	if err != nil {
		return nil, err
	}
	k := newDebKernel(s, pkg, version, filepath.Join(cacheDir, pkg+"_"+version), busybox)
	if _, err := os.Stat(filepath.Join(k.Dir, completeFile)); err == nil {
		return k, nil
	}
	deb, err := download(cacheDir, pkg, s.Arch, version, progress)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "extracting %s\n", filepath.Base(deb))
	target := func(name string) (string, bool) { return memberTarget(name, k) }
	if err := extract(deb, k.Dir, target, "", append([]string{k.Vmlinuz, k.Config}, k.Modules...)...); err != nil {
		return nil, fmt.Errorf("extract %s: %w", deb, err)
	}
	re := regexp.MustCompile(pattern)
	prune(cacheDir, func(name, _ string) bool { return re.MatchString(name) }, progress, deb, k.Dir)
	return k, nil
}

// resolveDeb extracts a .deb the user gave. Its directory is named after
// the file's package, apart from apt's downloads, and is extracted again
// when the file changes (a rebuilt kernel keeps its version). Config and
// modules are optional: a custom kernel may have veth built in.
func resolveDeb(cacheDir string, s Spec, busybox string, progress io.Writer) (*Kernel, error) {
	f, err := debFields(s.Deb, "Package", "Version")
	if err != nil {
		return nil, err
	}
	pkg, version := f["Package"], f["Version"]
	if pkg == "" || version == "" {
		return nil, fmt.Errorf("%s: no Package or Version in its control file; is it a linux-image package?", s.Deb)
	}
	st, err := os.Stat(s.Deb)
	if err != nil {
		return nil, err
	}
	local := localPrefix + pkg
	dir := filepath.Join(cacheDir, fmt.Sprintf("%s_%s_%s", local, strings.ReplaceAll(version, ":", "%3a"), s.Arch))
	k := newDebKernel(s, pkg, version, dir, busybox)
	stamp := fmt.Sprintf("%s %d %d\n", s.Deb, st.Size(), st.ModTime().UnixNano())
	if got, err := os.ReadFile(filepath.Join(dir, completeFile)); err != nil || string(got) != stamp {
		fmt.Fprintf(progress, "extracting %s\n", s.Deb)
		target := func(name string) (string, bool) { return memberTarget(name, k) }
		if err := extract(s.Deb, dir, target, stamp, k.Vmlinuz); err != nil {
			return nil, fmt.Errorf("extract %s: %w", s.Deb, err)
		}
		prune(cacheDir, func(name, _ string) bool { return name == local }, progress, dir)
	}
	if _, err := os.Stat(k.Config); err != nil {
		k.Config = ""
	}
	var mods []string
	for _, m := range k.Modules {
		if _, err := os.Stat(m); err == nil {
			mods = append(mods, m)
		}
	}
	k.Modules = mods
	return k, nil
}

// localPrefix marks cache entries extracted from a .deb the user gave.
const localPrefix = "local-"

func newDebKernel(s Spec, pkg, version, dir, busybox string) *Kernel {
	k := &Kernel{
		Spec:    s,
		Package: pkg,
		Version: version,
		Release: strings.TrimSuffix(strings.TrimPrefix(pkg, "linux-image-"), "-unsigned"),
		Dir:     dir,
		Vmlinuz: filepath.Join(dir, "vmlinuz"),
		Config:  filepath.Join(dir, "config"),
		Busybox: busybox,
	}
	for _, m := range wantedModules {
		k.Modules = append(k.Modules, filepath.Join(dir, m+".ko"))
	}
	return k
}

// resolveImage uses a kernel image where it is. Its config, if any, is a
// "config" or "config-*" file next to it (config-RELEASE for
// vmlinuz-RELEASE first, as /boot has them).
func resolveImage(s Spec, busybox string) (*Kernel, error) {
	if _, err := os.Stat(s.Image); err != nil {
		return nil, fmt.Errorf("kernel image: %w", err)
	}
	base := filepath.Base(s.Image)
	k := &Kernel{Spec: s, Release: base, Vmlinuz: s.Image, Busybox: busybox}
	dir := filepath.Dir(s.Image)
	candidates := []string{filepath.Join(dir, "config")}
	for _, p := range []string{"vmlinuz-", "vmlinux-", "bzImage-", "Image-"} {
		if rel, ok := strings.CutPrefix(base, p); ok {
			candidates = append([]string{filepath.Join(dir, "config-"+rel)}, candidates...)
		}
	}
	others, _ := filepath.Glob(filepath.Join(dir, "config-*"))
	for _, c := range append(candidates, others...) {
		if st, err := os.Stat(c); err == nil && st.Mode().IsRegular() {
			k.Config = c
			break
		}
	}
	return k, nil
}
