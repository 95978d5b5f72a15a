package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/nltrace/nltrace/internal/vm"
)

// selfPkg is this harness and vmPkg the package it boots guests with.
// Their tests boot QEMU and use apt, so they only run in a guest when asked
// for by name.
const (
	selfPkg = "scripts/vmtest"
	vmPkg   = "internal/vm"
)

// testPkg is one package whose test binary runs in the guest.
type testPkg struct {
	Rel    string // path inside the module: "nlclient", "." for the root
	Dir    string // absolute source directory on the host
	Binary string // built test binary on the host
	// BuildErr keeps a package that does not compile out of the guests
	// while the others still run; the matrix reports it as a failure.
	BuildErr error
}

// Name is how packages appear in markers and in the matrix.
func (p testPkg) Name() string { return "./" + strings.TrimPrefix(p.Rel, ".") }

// binName flattens the package path into one file name.
func (p testPkg) binName() string {
	if p.Rel == "." {
		return "root.test"
	}
	return strings.ReplaceAll(p.Rel, "/", "_") + ".test"
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return "", fmt.Errorf("find the module root: %w (run from inside the nltrace repository)", vm.ExitDetail(err))
	}
	return strings.TrimSpace(string(out)), nil
}

// listPackages resolves patterns to the packages that have tests. Without
// patterns it takes the whole module except this harness.
func listPackages(root string, patterns []string, progress io.Writer) ([]testPkg, error) {
	explicit := len(patterns) > 0
	if !explicit {
		patterns = []string{"./..."}
	}
	args := append([]string{"list", "-e", "-f",
		"{{.Dir}}\t{{len .TestGoFiles}}\t{{len .XTestGoFiles}}\t{{if .Error}}{{.Error}}{{end}}"}, patterns...)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %w", strings.Join(patterns, " "), vm.ExitDetail(err))
	}
	var pkgs []testPkg
	for line := range strings.Lines(string(out)) {
		f := strings.SplitN(strings.TrimRight(line, "\n"), "\t", 4)
		if len(f) < 4 {
			continue
		}
		rel, err := filepath.Rel(root, f[0])
		if err != nil || strings.HasPrefix(rel, "..") {
			return nil, fmt.Errorf("package %s is outside the module %s", f[0], root)
		}
		p := testPkg{Rel: filepath.ToSlash(rel), Dir: f[0]}
		switch {
		case f[3] != "":
			return nil, fmt.Errorf("package %s: %s", p.Name(), f[3])
		case !explicit && (p.Rel == selfPkg || p.Rel == vmPkg):
			continue
		case f[1] == "0" && f[2] == "0":
			if explicit {
				fmt.Fprintf(progress, "vmtest: %s has no test files, skipped\n", p.Name())
			}
			continue
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("no package with tests matches %s", strings.Join(patterns, " "))
	}
	return pkgs, nil
}

// archBuild is what the guests of one architecture run: their packages'
// test binaries and, when they test ./cmd/nltrace, the command itself
// (NLTRACE_BIN); the client lab (NLTRACE_LAB_BIN) when they test
// ./cmd/nltrace or ./internal/watch, whose tests run its clients.
type archBuild struct {
	Arch       string
	Pkgs       []testPkg
	Nltrace    string   // "" when not built
	NltraceErr error    // why ./cmd/nltrace did not build; fails the guests
	Lab        []string // the lab's clients, packed under labDir; nil when not built
	LabErr     error    // why a client did not build; fails the guests
}

// build compiles static test binaries (the guest has no libc) into outDir.
// A package that does not compile gets its BuildErr and the others still
// run. Only a binary that cannot run in the guest at all is an error.
func (b *archBuild) build(root, outDir string, progress io.Writer) error {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("build directory: %w", err)
	}
	wantNltrace, wantLab := false, false
	for i := range b.Pkgs {
		p := &b.Pkgs[i]
		p.Binary = filepath.Join(outDir, p.binName())
		wantNltrace = wantNltrace || p.Name() == "./cmd/nltrace"
		wantLab = wantLab || p.Name() == "./cmd/nltrace" || p.Name() == "./internal/watch"
		fmt.Fprintf(progress, "vmtest: building %s test binary for %s\n", p.Name(), b.Arch)
		if err := goBuild(root, b.Arch, "test", "-c", "-o", p.Binary, p.Name()); err != nil {
			p.BuildErr = err
			fmt.Fprintf(progress, "vmtest: %v\n", err)
			continue
		}
		if err := vm.CheckStatic(p.Binary, b.Arch); err != nil {
			return fmt.Errorf("%s test binary: %w (the harness builds with CGO_ENABLED=0 GOARCH=%s)", p.Name(), err, b.Arch)
		}
	}
	if wantNltrace {
		bin := filepath.Join(outDir, "nltrace")
		fmt.Fprintf(progress, "vmtest: building ./cmd/nltrace for %s\n", b.Arch)
		if err := goBuild(root, b.Arch, "build", "-o", bin, "./cmd/nltrace"); err != nil {
			fmt.Fprintf(progress, "vmtest: %v\n", err)
			b.NltraceErr = fmt.Errorf("./cmd/nltrace does not build for %s, NLTRACE_BIN is unset in its guests", b.Arch)
		} else {
			b.Nltrace = bin
		}
	}
	if !wantLab {
		return nil
	}
	start := time.Now()
	fmt.Fprintf(progress, "vmtest: building the client lab (testdata/clients) for %s\n", b.Arch)
	lab, err := buildLab(root, b.Arch, filepath.Join(outDir, "lab"))
	if err != nil {
		fmt.Fprintf(progress, "vmtest: %v\n", err)
		first, _, _ := strings.Cut(err.Error(), "\n")
		b.LabErr = fmt.Errorf("%s (details above); NLTRACE_LAB_BIN is unset in the %s guests", first, b.Arch)
		return nil
	}
	b.Lab = lab
	names := make([]string, len(lab))
	for i, c := range lab {
		names[i] = filepath.Base(c)
	}
	fmt.Fprintf(progress, "vmtest: built %s for %s in %.1fs\n", strings.Join(names, " "), b.Arch, time.Since(start).Seconds())
	return nil
}

// labDir is where the guests find the client lab. /init exports it as
// NLTRACE_LAB_BIN, which cmd/nltrace's lab tests use instead of building
// the lab: the guests have no Go toolchain.
const labDir = "/lab"

// buildLab builds the Go clients of the client lab (testdata/clients/vnl-*,
// each its own module pinned to one vishvananda/netlink version) for arch,
// the way scripts/lab.sh build does for the host. The ip client is left
// out: it runs iproute2's ip, and the guests have busybox's. A client that
// does not build is an error naming it: its module comes from the module
// cache or proxy, and a lab short of a client would only skip its test.
func buildLab(root, arch, outDir string) ([]string, error) {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("client lab: %w", err)
	}
	dirs, err := filepath.Glob(filepath.Join(root, "testdata", "clients", "vnl-*"))
	if err != nil {
		return nil, fmt.Errorf("client lab: %w", err)
	}
	var bins []string
	for _, dir := range dirs {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			continue
		}
		name := filepath.Base(dir)
		bin := filepath.Join(outDir, name)
		if err := goBuild(dir, arch, "build", "-trimpath", "-o", bin, "."); err != nil {
			return nil, fmt.Errorf("client lab: %s does not build for %s: %w", name, arch, err)
		}
		if err := vm.CheckStatic(bin, arch); err != nil {
			return nil, fmt.Errorf("client lab: %s: %w", name, err)
		}
		bins = append(bins, bin)
	}
	if len(bins) == 0 {
		return nil, fmt.Errorf("client lab: no client in %s", filepath.Join(root, "testdata", "clients"))
	}
	return bins, nil
}

// built returns the packages that compiled.
func built(pkgs []testPkg) []testPkg {
	var ok []testPkg
	for _, p := range pkgs {
		if p.BuildErr == nil {
			ok = append(ok, p)
		}
	}
	return ok
}

// goBuild runs go in dir (the module root, or a lab client's module) for a
// static linux/arch binary.
func goBuild(dir, arch string, args ...string) error {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("GOARCH=%s go %s: %w\n%s", arch, strings.Join(args, " "), err, out.Bytes())
	}
	return nil
}
