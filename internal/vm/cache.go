package vm

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
	"slices"
	"strings"
	"syscall"
)

// The kernel cache holds, per package, the downloaded .deb and a directory
// of the files extracted from it, both named PACKAGE_VERSION(_ARCH). A
// directory is only used once completeFile is in it, so an interrupted
// extraction is redone rather than booted.
const completeFile = ".complete"

const busyboxPackage = "busybox-static"

// resolveBusybox returns a static busybox for the guest. The host's own
// serves guests of its architecture; for the others the newest
// busybox-static of that architecture is downloaded rather than
// installed, which would replace the host's.
// The caller holds the cache lock.
func resolveBusybox(cacheDir, arch string, progress io.Writer) (string, error) {
	if arch == HostArch {
		return "/bin/busybox", nil // CheckHostTools made sure it is static
	}
	_, version, err := newestPackage("^"+busyboxPackage+"$", arch, progress)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cacheDir, fmt.Sprintf("%s_%s_%s", busyboxPackage, strings.ReplaceAll(version, ":", "%3a"), arch))
	bin := filepath.Join(dir, "busybox")
	if _, err := os.Stat(filepath.Join(dir, completeFile)); err == nil {
		return bin, nil
	}
	deb, err := download(cacheDir, busyboxPackage, arch, version, progress)
	if err != nil {
		return "", err
	}
	target := func(name string) (string, bool) {
		if name == "./bin/busybox" {
			return bin, false
		}
		return "", false
	}
	if err := extract(deb, dir, target, "", bin); err != nil {
		return "", fmt.Errorf("extract %s: %w", deb, err)
	}
	if err := CheckStatic(bin, arch); err != nil {
		return "", fmt.Errorf("%s from %s: %w", bin, filepath.Base(deb), err)
	}
	mine := func(name, archSuffix string) bool { return name == busyboxPackage && archSuffix == arch }
	prune(cacheDir, mine, progress, deb, dir)
	return bin, nil
}

// prune drops superseded downloads matched by stale (package name and the
// architecture suffix of the cache entry): a kernel is about 30 MB and
// Debian publishes a new one every few weeks.
func prune(cacheDir string, stale func(name, arch string) bool, progress io.Writer, keep ...string) {
	entries, _ := os.ReadDir(cacheDir)
	for _, e := range entries {
		f := strings.Split(strings.TrimSuffix(e.Name(), ".deb"), "_")
		p := filepath.Join(cacheDir, e.Name())
		if !stale(f[0], f[len(f)-1]) || slices.Contains(keep, p) {
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			fmt.Fprintf(progress, "prune cache: %v\n", err)
		}
	}
}

func lockDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock kernel cache: %w (the cache must be a directory this user can write)", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock kernel cache: %w (the cache must be a directory this user can write)", err)
	}
	return func() { f.Close() }, nil
}

// newestPackage asks apt for the packages of one architecture whose names
// match pattern and orders their candidate versions with dpkg: name order
// breaks at 6.12.99 vs 6.12.100.
func newestPackage(pattern, arch string, progress io.Writer) (string, string, error) {
	pkg, version, err := newestCandidate(pattern, arch)
	if errors.Is(err, errNoPackage) {
		fmt.Fprintf(progress, "nothing matches %s for %s in apt's lists, running apt-get update\n", pattern, arch)
		if out, uerr := exec.Command("apt-get", "update").CombinedOutput(); uerr != nil {
			return "", "", fmt.Errorf("apt-get update: %w\n%s", uerr, out)
		}
		pkg, version, err = newestCandidate(pattern, arch)
	}
	if errors.Is(err, errNoPackage) {
		hint := "is Debian bookworm (and bookworm-security) in apt's sources?"
		if arch != HostArch {
			hint = fmt.Sprintf("is %s a dpkg architecture here? scripts/deps.sh adds it", arch)
		}
		return "", "", fmt.Errorf("no %s package matches %s: %s", arch, pattern, hint)
	}
	return pkg, version, err
}

var errNoPackage = errors.New("no package")

func newestCandidate(pattern, arch string) (string, string, error) {
	names, err := aptSearch(pattern)
	if err != nil {
		return "", "", err
	}
	if len(names) == 0 {
		return "", "", errNoPackage
	}
	// A name qualified with an architecture apt does not know, or for
	// which the package does not exist, makes apt-cache fail outright.
	args := []string{"show", "--no-all-versions"}
	for _, n := range names {
		args = append(args, n+":"+arch)
	}
	out, err := exec.Command("apt-cache", args...).Output()
	if err != nil {
		if len(out) == 0 {
			return "", "", errNoPackage
		}
		return "", "", fmt.Errorf("apt-cache show: %w", ExitDetail(err))
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
		return "", "", fmt.Errorf("apt-cache %s printed no version", strings.Join(args, " "))
	}
	return bestPkg, bestVer, nil
}

func aptSearch(pattern string) ([]string, error) {
	out, err := exec.Command("apt-cache", "search", "--names-only", pattern).Output()
	if err != nil {
		return nil, fmt.Errorf("apt-cache search: %w (is this a Debian host with apt?)", ExitDetail(err))
	}
	var names []string
	for line := range strings.Lines(string(out)) {
		if name, _, ok := strings.Cut(line, " - "); ok {
			names = append(names, name)
		}
	}
	return names, nil
}

// download fetches pkg:arch=version unless the cache already holds that
// .deb. apt-get writes into its working directory, so it runs in a scratch
// directory and the result is renamed: an interrupted download never looks
// cached.
func download(cacheDir, pkg, arch, version string, progress io.Writer) (string, error) {
	deb := filepath.Join(cacheDir, fmt.Sprintf("%s_%s_%s.deb", pkg, strings.ReplaceAll(version, ":", "%3a"), arch))
	if _, err := os.Stat(deb); err == nil {
		return deb, nil
	}
	fmt.Fprintf(progress, "downloading %s:%s=%s\n", pkg, arch, version)
	tmp, err := os.MkdirTemp(cacheDir, ".download-")
	if err != nil {
		return "", fmt.Errorf("download %s: %w", pkg, err)
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("apt-get", "download", "-q", pkg+":"+arch+"="+version)
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("apt-get download %s:%s=%s: %w\n%s", pkg, arch, version, err, out)
	}
	// apt names the file itself (the epoch's colon escaped or not): take
	// whatever single .deb it wrote.
	got, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if len(got) != 1 {
		return "", fmt.Errorf("apt-get download %s:%s=%s left %d .deb files, want 1", pkg, arch, version, len(got))
	}
	if err := os.Rename(got[0], deb); err != nil {
		return "", fmt.Errorf("download %s: %w", pkg, err)
	}
	return deb, nil
}

// extract streams a package's data archive through dpkg-deb into dir,
// keeping only the members target names (every one of want must be
// there): unpacking all of a kernel's modules would cost seconds and
// hundreds of megabytes. stamp goes into completeFile, written last.
func extract(deb, dir string, target func(member string) (dst string, xz bool), stamp string, want ...string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
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
	found, err := extractMembers(stdout, target)
	io.Copy(io.Discard, stdout)
	if werr := cmd.Wait(); werr != nil && err == nil {
		err = fmt.Errorf("dpkg-deb --fsys-tarfile: %w: %s", werr, stderr.Bytes())
	}
	if err != nil {
		return err
	}
	for _, w := range want {
		if !found[w] {
			return fmt.Errorf("package has no %s", filepath.Base(w))
		}
	}
	return os.WriteFile(filepath.Join(dir, completeFile), []byte(stamp), 0o644)
}

func extractMembers(r io.Reader, target func(string) (string, bool)) (map[string]bool, error) {
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
		dst, compressed := target(h.Name)
		if dst == "" {
			continue
		}
		if err := writeMember(tr, dst, compressed); err != nil {
			return nil, fmt.Errorf("%s: %w", h.Name, err)
		}
		found[dst] = true
	}
}

// memberTarget maps a kernel package's members to k's files: the image,
// its config, and wantedModules (k.Modules in the same order).
func memberTarget(name string, k *Kernel) (dst string, xz bool) {
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

// ExitDetail adds a failed command's stderr to its error.
func ExitDetail(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return fmt.Errorf("%w: %s", err, bytes.TrimSpace(ee.Stderr))
	}
	return err
}
