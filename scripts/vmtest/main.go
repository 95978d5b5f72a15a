// Command vmtest runs the module's tests inside QEMU on Debian's kernels
// (or a .deb or kernel image given as a file), because the development
// machine's kernel refuses kprobe and fentry. Booting is internal/vm's;
// this command builds the test binaries, writes the /init that runs them,
// and reads their results. See scripts/vmtest/vmtest.mk and
// `go run ./scripts/vmtest -h`.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nltrace/nltrace/internal/vm"
)

type config struct {
	Kernels       []string            // guest specs (vm.ParseSpec): 6.12, 6.12-arm64, 6.12-rt, a .deb or an image
	Pkgs          []string            // for every guest; empty: ArchPkgs or the whole module
	ArchPkgs      map[string][]string // per-architecture default of Pkgs
	Run           string
	Bench         string
	Timeout       time.Duration
	TestTimeout   time.Duration
	Require       string // overrides the per-kernel list when set
	FailOnPurpose bool
	PayloadHang   bool
	Shell         bool
	Verbose       bool
	CacheDir      string
	LogDir        string
	Keep          bool
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "vmtest:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, cfg, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("vmtest", flag.ContinueOnError)
	kernels := fs.String("kernels", envOr("KERNELS", defaultKernels), "guests to boot, space or comma separated (env KERNELS); each is "+vm.SpecForms)
	pkgs := fs.String("pkg", os.Getenv("PKG"), "packages to test in every guest, space or comma separated (env PKG; default: every package with tests except ./scripts/vmtest and ./internal/vm, or -arm64-pkg in arm64 guests)")
	arm64Pkgs := fs.String("arm64-pkg", os.Getenv("ARM64_PKG"), "packages to test in arm64 guests when -pkg is not given, to shorten a matrix whose arm64 guest is its slowest (env ARM64_PKG; default: as amd64)")
	fs.StringVar(&c.Run, "run", os.Getenv("RUN"), "passed to the test binaries as -test.run (env RUN)")
	fs.StringVar(&c.Bench, "bench", os.Getenv("BENCH"), "run only the benchmarks matching this (-test.bench, with -test.run=^$ unless -run is given; env BENCH)")
	fs.DurationVar(&c.Timeout, "timeout", 12*time.Minute, "per-guest limit from QEMU start to power-off (doubled for arm64 guests)")
	fs.DurationVar(&c.TestTimeout, "test-timeout", 8*time.Minute, "passed to each test binary as -test.timeout (doubled for arm64 guests)")
	fs.StringVar(&c.Require, "require", "", "NLTRACE_REQUIRE for every guest (default: derived from each kernel's config)")
	fs.BoolVar(&c.FailOnPurpose, "fail-on-purpose", false, "set NLTRACE_VMTEST_FAIL_ON_PURPOSE=1 in the guest (harness self-test)")
	fs.BoolVar(&c.PayloadHang, "payload-hang", false, "make the guest hang after its first begin marker (harness self-test)")
	fs.BoolVar(&c.Shell, "shell", false, "boot the first kernel into an interactive shell on this terminal")
	fs.BoolVar(&c.Verbose, "v", false, "stream the serial consoles to stderr")
	fs.StringVar(&c.CacheDir, "cache", envOr("NLTRACE_VM_CACHE", "/var/cache/nltrace-vm"), "kernel download cache (env NLTRACE_VM_CACHE)")
	fs.StringVar(&c.LogDir, "logdir", "", "directory for serial logs (default: a new directory under $TMPDIR)")
	fs.BoolVar(&c.Keep, "keep", false, "keep the built binaries and initramfs next to the logs")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	c.Kernels, c.Pkgs = splitList(*kernels), splitList(*pkgs)
	c.ArchPkgs = map[string][]string{"arm64": splitList(*arm64Pkgs)}
	if len(c.Kernels) == 0 {
		return c, errors.New("no kernel series given (-kernels 6.12)")
	}
	if _, err := vm.ParseSpecs(c.Kernels); err != nil {
		return c, err
	}
	return c, nil
}

// defaultKernels is the CI matrix. The arm64 guest runs every package: it
// took about as long as an amd64 guest (docs/vm.md).
const defaultKernels = "6.1 6.12 6.12-arm64"

// patterns names the packages the guests of one architecture test; nil
// means the whole module.
func (c config) patterns(arch string) []string {
	if len(c.Pkgs) > 0 {
		return c.Pkgs
	}
	if p := c.ArchPkgs[arch]; len(p) > 0 {
		return p
	}
	return nil
}

func (c config) guestTimeout(arch string) time.Duration {
	return c.Timeout * time.Duration(vm.Arches[arch].Slowdown)
}

func (c config) testTimeout(arch string) time.Duration {
	return c.TestTimeout * time.Duration(vm.Arches[arch].Slowdown)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
}

// run is the whole harness; the self-test calls it directly. It returns
// the process exit code: 0 all passed, 1 a test or guest failed, 2 the
// harness could not run.
func run(ctx context.Context, c config, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintln(stderr, "vmtest:", err)
		return 2
	}
	if err := vm.RefuseNested(); err != nil {
		return fail(err)
	}
	specs, err := vm.ParseSpecs(c.Kernels)
	if err != nil {
		return fail(err)
	}
	if err := vm.CheckHostTools(specs, "go"); err != nil {
		return fail(err)
	}
	root, err := moduleRoot()
	if err != nil {
		return fail(err)
	}
	// Every guest of an architecture tests the same packages, so each
	// architecture's binaries are built once.
	builds := map[string]*archBuild{}
	var archOrder []string
	for _, g := range specs {
		if builds[g.Arch] != nil {
			continue
		}
		pkgs, err := listPackages(root, c.patterns(g.Arch), stderr)
		if err != nil {
			return fail(fmt.Errorf("%s guests: %w", g.Arch, err))
		}
		builds[g.Arch] = &archBuild{Arch: g.Arch, Pkgs: pkgs}
		archOrder = append(archOrder, g.Arch)
	}
	if c.LogDir == "" {
		c.LogDir, err = os.MkdirTemp("", "nltrace-vmtest-")
	} else {
		err = os.MkdirAll(c.LogDir, 0o755)
	}
	if err != nil {
		return fail(fmt.Errorf("log directory: %w", err))
	}
	work := filepath.Join(c.LogDir, "work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		return fail(fmt.Errorf("work directory: %w", err))
	}
	if !c.Keep {
		defer os.RemoveAll(work)
	}

	// Downloads and builds are independent; overlap them.
	kernels := make([]*vm.Kernel, len(specs))
	kerrs := make([]error, len(specs))
	var wg sync.WaitGroup
	progress := &prefixWriter{prefix: "vmtest: ", w: stderr, mu: &sync.Mutex{}}
	for i, g := range specs {
		wg.Go(func() { kernels[i], kerrs[i] = vm.Resolve(c.CacheDir, g, progress) })
	}
	for _, a := range archOrder {
		if err := builds[a].build(root, filepath.Join(work, a), stderr); err != nil {
			wg.Wait()
			return fail(err)
		}
	}
	wg.Wait()
	if err := errors.Join(kerrs...); err != nil {
		return fail(err)
	}
	for _, k := range kernels {
		fmt.Fprintf(stderr, "vmtest: kernel %s\n", k)
	}

	runID := randomID()
	runs := make([]*guestRun, len(kernels))
	for i, k := range kernels {
		b := builds[k.Spec.Arch]
		g := &guestRun{Kernel: k, Pkgs: b.Pkgs, BuildErr: errors.Join(b.NltraceErr, b.LabErr)}
		runs[i] = g
		g.Require, g.Err = kernelRequire(k, c.Require)
		if g.Err != nil {
			continue
		}
		fmt.Fprintf(stderr, "vmtest: %s requires %s\n", k.Release, g.Require)
		opts := guestOptions{RunID: runID, Require: g.Require, Run: c.Run, Bench: c.Bench, TestTimeout: c.testTimeout(k.Spec.Arch).String(),
			FailOnPurpose: c.FailOnPurpose, PayloadHang: c.PayloadHang, HasNltrace: b.Nltrace != "", HasLab: len(b.Lab) > 0}
		initrd := filepath.Join(work, k.Release+".cpio")
		if err := writeInitramfs(initrd, root, k, opts, built(b.Pkgs), b.Nltrace, b.Lab); err != nil {
			g.Err = err
			continue
		}
		if c.Shell {
			fmt.Fprintf(stderr, "vmtest: booting %s into a shell (Ctrl-A x quits QEMU)\n", k.Release)
			if err := vm.Shell(ctx, k, initrd, shellFlag); err != nil {
				return fail(fmt.Errorf("qemu: %w", err))
			}
			return 0
		}
	}
	bootAll(ctx, c, runs, work, runID, stderr)
	if !writeMatrix(stdout, runs) {
		return 1
	}
	return 0
}

// bootAll runs the guests that have something to run, with
// vm.BootAll's scheduling: one per host CPU, foreign architectures first.
func bootAll(ctx context.Context, c config, runs []*guestRun, work, runID string, stderr io.Writer) {
	var mu sync.Mutex
	var jobs []vm.Job
	for _, g := range bootable(runs) {
		jobs = append(jobs, vm.Job{Arch: g.Kernel.Spec.Arch, Run: func() { bootOne(ctx, c, g, work, runID, stderr, &mu) }})
	}
	vm.BootAll(jobs, 0)
}

// bootable lists the guests that have something to run: started, and
// with at least one package that compiled.
func bootable(runs []*guestRun) []*guestRun {
	var ok []*guestRun
	for _, g := range runs {
		if g.Err == nil && len(built(g.Pkgs)) > 0 {
			ok = append(ok, g)
		}
	}
	return ok
}

func bootOne(ctx context.Context, c config, g *guestRun, work, runID string, stderr io.Writer, mu *sync.Mutex) {
	rel := g.Kernel.Release
	logPath := filepath.Join(c.LogDir, rel+".log")
	fmt.Fprintf(stderr, "vmtest: booting %s (serial log %s)\n", rel, logPath)
	fmt.Fprintf(stderr, "vmtest: %s runs under %s\n", rel, vm.AccelFor(g.Kernel.Spec.Arch))
	var stream io.Writer
	if c.Verbose {
		stream = &prefixWriter{prefix: "[" + g.Kernel.Spec.String() + "] ", w: stderr, mu: mu}
	}
	res, err := vm.Boot(ctx, vm.Guest{Kernel: g.Kernel, Initrd: filepath.Join(work, rel+".cpio"), Log: logPath,
		Timeout: c.guestTimeout(g.Kernel.Spec.Arch), Stream: stream})
	g.Err = err
	if err == nil {
		g.Result = &bootResult{Result: *res, Report: parseLog(res.Output, runID)}
		fmt.Fprintf(stderr, "vmtest: %s finished in %.1fs\n", rel, res.Wall.Seconds())
	}
}

func kernelRequire(k *vm.Kernel, override string) (string, error) {
	if override != "" {
		return override, nil
	}
	cfg, err := k.ReadConfig()
	if err != nil {
		return "", err
	}
	return strings.Join(requirements(cfg), ","), nil
}

func randomID() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ansiRE matches the terminal control sequences SeaBIOS and busybox's
// shell print, which would garble a prefixed stream.
var ansiRE = regexp.MustCompile(`\x1b(\[[0-9;?]*[A-Za-z]|c)`)

// prefixWriter tags streamed console lines with their kernel, so parallel
// guests stay readable.
type prefixWriter struct {
	prefix  string
	w       io.Writer
	mu      *sync.Mutex
	partial []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.partial = append(p.partial, b...)
	for {
		i := strings.IndexByte(string(p.partial), '\n')
		if i < 0 {
			break
		}
		line := ansiRE.ReplaceAllString(strings.TrimRight(string(p.partial[:i]), "\r"), "")
		fmt.Fprintf(p.w, "%s%s\n", p.prefix, line)
		p.partial = p.partial[i+1:]
	}
	return len(b), nil
}
