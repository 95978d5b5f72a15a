package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
)

// kernel is one resolved and extracted Debian cloud kernel.
type kernel struct {
	Series  string // as requested: "6.1"
	Package string // linux-image-6.1.0-56-cloud-amd64-unsigned
	Version string // Debian package version: 6.1.192-2
	Release string // uname -r: 6.1.0-56-cloud-amd64
	Dir     string // cache directory holding the files below
	Vmlinuz string
	Config  string
	Modules []string // uncompressed .ko files, in load order
}

func (k *kernel) String() string {
	return fmt.Sprintf("%s (%s %s)", k.Release, k.Package, k.Version)
}

// wantedModules are loaded in this order; neither depends on another
// module in Debian's cloud kernels, so no modules.dep is needed.
var wantedModules = []string{"veth", "dummy"}

var seriesRE = regexp.MustCompile(`^[0-9]+\.[0-9]+$`)

// packagePattern matches both naming schemes Debian uses for cloud kernels:
// the ABI-numbered 6.1.0-NN of a stable release, and 6.12.NNN+debNN of a
// backport, whose name changes with every upload.
func packagePattern(series string) string {
	s := strings.ReplaceAll(series, ".", `\.`)
	return `^linux-image-` + s + `(\.0-[0-9]+|\.[0-9]+\+deb[0-9]+)-cloud-amd64-unsigned$`
}

// resolveKernel finds the newest package of the series, downloads it into
// the cache unless that exact version is already there, and extracts the
// few files the guest needs.
func resolveKernel(cacheDir, series string, progress io.Writer) (*kernel, error) {
	if !seriesRE.MatchString(series) {
		return nil, fmt.Errorf("kernel series %q: want MAJOR.MINOR such as 6.12", series)
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("kernel cache: %w (set NLTRACE_VM_CACHE to a writable directory)", err)
	}
	// Parallel runs (make vmtest next to the self-tests) share the cache.
	unlock, err := lockDir(cacheDir)
	if err != nil {
		return nil, err
	}
	defer unlock()

	pkg, version, err := newestPackage(series, progress)
	if err != nil {
		return nil, err
	}
	k := &kernel{
		Series:  series,
		Package: pkg,
		Version: version,
		Release: strings.TrimSuffix(strings.TrimPrefix(pkg, "linux-image-"), "-unsigned"),
		Dir:     filepath.Join(cacheDir, pkg+"_"+version),
	}
	k.Vmlinuz = filepath.Join(k.Dir, "vmlinuz")
	k.Config = filepath.Join(k.Dir, "config")
	for _, m := range wantedModules {
		k.Modules = append(k.Modules, filepath.Join(k.Dir, m+".ko"))
	}
	if _, err := os.Stat(filepath.Join(k.Dir, ".complete")); err == nil {
		return k, nil
	}
	deb, err := download(cacheDir, pkg, version, progress)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "vmtest: extracting %s\n", filepath.Base(deb))
	if err := extract(deb, k); err != nil {
		return nil, fmt.Errorf("extract %s: %w", deb, err)
	}
	prune(cacheDir, series, k, deb, progress)
	return k, nil
}

// prune drops the series' superseded downloads: each is about 30 MB and
// Debian publishes a new one every few weeks.
func prune(cacheDir, series string, k *kernel, deb string, progress io.Writer) {
	re := regexp.MustCompile(packagePattern(series))
	entries, _ := os.ReadDir(cacheDir)
	for _, e := range entries {
		name, _, _ := strings.Cut(e.Name(), "_")
		p := filepath.Join(cacheDir, e.Name())
		if !re.MatchString(name) || p == deb || p == k.Dir {
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			fmt.Fprintf(progress, "vmtest: prune cache: %v\n", err)
		}
	}
}

func lockDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock kernel cache: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock kernel cache: %w", err)
	}
	return func() { f.Close() }, nil
}

// newestPackage asks apt for the series' packages and orders their
// candidate versions with dpkg: name order breaks at 6.12.99 vs 6.12.100.
func newestPackage(series string, progress io.Writer) (string, string, error) {
	names, err := aptSearch(series)
	if err == nil && len(names) == 0 {
		fmt.Fprintf(progress, "vmtest: no %s cloud kernel in apt's lists, running apt-get update\n", series)
		if out, uerr := exec.Command("apt-get", "update").CombinedOutput(); uerr != nil {
			return "", "", fmt.Errorf("apt-get update: %w\n%s", uerr, out)
		}
		names, err = aptSearch(series)
	}
	if err != nil {
		return "", "", err
	}
	if len(names) == 0 {
		return "", "", fmt.Errorf("no package matches %s: is Debian bookworm (and bookworm-security) in apt's sources?", packagePattern(series))
	}
	out, err := exec.Command("apt-cache", append([]string{"show", "--no-all-versions"}, names...)...).Output()
	if err != nil {
		return "", "", fmt.Errorf("apt-cache show: %w", exitDetail(err))
	}
	var bestPkg, bestVer, pkg string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "Package: "); ok {
			pkg = v
		}
		v, ok := strings.CutPrefix(line, "Version: ")
		if !ok {
			continue
		}
		newer := bestVer == ""
		if !newer {
			newer = exec.Command("dpkg", "--compare-versions", v, "gt", bestVer).Run() == nil
		}
		if newer {
			bestPkg, bestVer = pkg, v
		}
	}
	if bestVer == "" {
		return "", "", fmt.Errorf("apt-cache show %s printed no version", strings.Join(names, " "))
	}
	return bestPkg, bestVer, nil
}

func aptSearch(series string) ([]string, error) {
	out, err := exec.Command("apt-cache", "search", "--names-only", packagePattern(series)).Output()
	if err != nil {
		return nil, fmt.Errorf("apt-cache search: %w (is this a Debian host with apt?)", exitDetail(err))
	}
	var names []string
	for line := range strings.Lines(string(out)) {
		if name, _, ok := strings.Cut(line, " - "); ok {
			names = append(names, name)
		}
	}
	return names, nil
}

// download fetches pkg=version unless the cache already holds that .deb.
// apt-get writes into its working directory, so it runs in a scratch
// directory and the result is renamed: an interrupted download never looks
// cached.
func download(cacheDir, pkg, version string, progress io.Writer) (string, error) {
	name := fmt.Sprintf("%s_%s_amd64.deb", pkg, strings.ReplaceAll(version, ":", "%3a"))
	deb := filepath.Join(cacheDir, name)
	if _, err := os.Stat(deb); err == nil {
		return deb, nil
	}
	fmt.Fprintf(progress, "vmtest: downloading %s=%s\n", pkg, version)
	tmp, err := os.MkdirTemp(cacheDir, ".download-")
	if err != nil {
		return "", fmt.Errorf("download %s: %w", pkg, err)
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("apt-get", "download", "-q", pkg+"="+version)
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("apt-get download %s=%s: %w\n%s", pkg, version, err, out)
	}
	if err := os.Rename(filepath.Join(tmp, name), deb); err != nil {
		return "", fmt.Errorf("download %s: %w", pkg, err)
	}
	return deb, nil
}

// extract streams the package's data archive through dpkg-deb and keeps
// only vmlinuz, config and the wanted modules: unpacking all of the
// package's modules would cost seconds and hundreds of megabytes.
func extract(deb string, k *kernel) error {
	if err := os.RemoveAll(k.Dir); err != nil {
		return err
	}
	if err := os.MkdirAll(k.Dir, 0o755); err != nil {
		return err
	}
	cmd := exec.Command("dpkg-deb", "--fsys-tarfile", deb)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("dpkg-deb: %w", err)
	}
	found, err := extractMembers(stdout, k)
	io.Copy(io.Discard, stdout)
	if werr := cmd.Wait(); werr != nil && err == nil {
		err = fmt.Errorf("dpkg-deb --fsys-tarfile: %w: %s", werr, stderr.Bytes())
	}
	if err != nil {
		return err
	}
	for _, want := range append([]string{k.Vmlinuz, k.Config}, k.Modules...) {
		if !found[want] {
			return fmt.Errorf("package has no %s", filepath.Base(want))
		}
	}
	return os.WriteFile(filepath.Join(k.Dir, ".complete"), nil, 0o644)
}

func extractMembers(r io.Reader, k *kernel) (map[string]bool, error) {
	found := map[string]bool{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return found, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read data archive: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		dst, compressed := memberTarget(h.Name, k)
		if dst == "" {
			continue
		}
		if err := writeMember(tr, dst, compressed); err != nil {
			return nil, fmt.Errorf("%s: %w", h.Name, err)
		}
		found[dst] = true
	}
}

func memberTarget(name string, k *kernel) (dst string, xz bool) {
	base := filepath.Base(name)
	switch {
	case strings.HasPrefix(name, "./boot/vmlinuz-"):
		return k.Vmlinuz, false
	case strings.HasPrefix(name, "./boot/config-"):
		return k.Config, false
	case !strings.Contains(name, "/kernel/drivers/net/"):
		return "", false
	}
	for i, m := range wantedModules {
		switch base {
		case m + ".ko":
			return k.Modules[i], false
		case m + ".ko.xz":
			return k.Modules[i], true
		}
	}
	return "", false
}

// writeMember decompresses .ko.xz with the xz tool: the guest's insmod
// cannot be relied on to handle compressed modules and Go has no xz.
func writeMember(r io.Reader, dst string, compressed bool) error {
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer f.Close()
	if !compressed {
		_, err = io.Copy(f, r)
		return err
	}
	cmd := exec.Command("xz", "-dc")
	cmd.Stdin, cmd.Stdout = r, f
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("xz -dc: %w: %s (run scripts/deps.sh)", err, stderr.Bytes())
	}
	return nil
}

// kernelConfig reads the y/m/n settings of a kernel config file.
func kernelConfig(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cfg := map[string]string{}
	for line := range strings.Lines(string(data)) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok && strings.HasPrefix(k, "CONFIG_") {
			cfg[strings.TrimPrefix(k, "CONFIG_")] = v
		}
	}
	return cfg, nil
}

// requirements lists what testenv must treat as mandatory on this kernel:
// a capability the kernel was built with and a test could not use is a bug
// in the test or the tool, not a reason to skip.
func requirements(cfg map[string]string) []string {
	on := func(names ...string) bool {
		for _, n := range names {
			if cfg[n] != "y" {
				return false
			}
		}
		return true
	}
	mod := func(n string) bool { return cfg[n] == "y" || cfg[n] == "m" }
	req := []string{"root"}
	if mod("VETH") {
		req = append(req, "veth")
	}
	if mod("DUMMY") {
		req = append(req, "dummy")
	}
	if on("BPF_SYSCALL", "KPROBES", "KPROBE_EVENTS", "BPF_EVENTS", "DEBUG_INFO_BTF") {
		req = append(req, "kprobe")
	}
	if on("BPF_SYSCALL", "BPF_JIT", "DEBUG_INFO_BTF", "FUNCTION_TRACER", "DYNAMIC_FTRACE_WITH_DIRECT_CALLS") {
		req = append(req, "fentry")
	}
	if on("BPF_SYSCALL", "KPROBES", "FPROBE", "DEBUG_INFO_BTF") {
		req = append(req, "kprobe_multi")
	}
	return req
}

// exitDetail adds a failed command's stderr to its error.
func exitDetail(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return fmt.Errorf("%w: %s", err, bytes.TrimSpace(ee.Stderr))
	}
	return err
}
