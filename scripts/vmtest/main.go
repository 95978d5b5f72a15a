// Command vmtest runs the module's tests inside QEMU on Debian's cloud
// kernels, because the development machine's kernel refuses kprobe and
// fentry. See scripts/vmtest/vmtest.mk and `go run ./scripts/vmtest -h`.
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
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

type config struct {
	Kernels       []string            // guest specs: 6.12, 6.12-arm64
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
	kernels := fs.String("kernels", envOr("KERNELS", defaultKernels), "guests to boot, space or comma separated: a Debian kernel series for amd64, SERIES-arm64 for arm64 (env KERNELS)")
	pkgs := fs.String("pkg", os.Getenv("PKG"), "packages to test in every guest, space or comma separated (env PKG; default: every package with tests except ./scripts/vmtest, or -arm64-pkg in arm64 guests)")
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
	if _, err := parseGuests(c.Kernels); err != nil {
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
	return c.Timeout * time.Duration(arches[arch].Slowdown)
}

func (c config) testTimeout(arch string) time.Duration {
	return c.TestTimeout * time.Duration(arches[arch].Slowdown)
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
	if os.Getenv(guestEnv) != "" {
		return fail(errors.New("refusing to boot QEMU inside a vmtest guest"))
	}
	specs, err := parseGuests(c.Kernels)
	if err != nil {
		return fail(err)
	}
	if err := checkHostTools(specs); err != nil {
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
	kernels := make([]*kernel, len(specs))
	kerrs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i, g := range specs {
		wg.Go(func() { kernels[i], kerrs[i] = resolveKernel(c.CacheDir, g, stderr) })
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
		b := builds[k.Guest.Arch]
		g := &guestRun{Kernel: k, Pkgs: b.Pkgs, BuildErr: errors.Join(b.NltraceErr, b.LabErr)}
		runs[i] = g
		g.Require, g.Err = kernelRequire(k, c.Require)
		if g.Err != nil {
			continue
		}
		fmt.Fprintf(stderr, "vmtest: %s requires %s\n", k.Release, g.Require)
		opts := guestOptions{RunID: runID, Require: g.Require, Run: c.Run, Bench: c.Bench, TestTimeout: c.testTimeout(k.Guest.Arch).String(),
			FailOnPurpose: c.FailOnPurpose, PayloadHang: c.PayloadHang, HasNltrace: b.Nltrace != "", HasLab: len(b.Lab) > 0, Modules: wantedModules}
		initrd := filepath.Join(work, k.Release+".cpio")
		if err := writeInitramfs(initrd, root, k, opts, built(b.Pkgs), b.Nltrace, b.Lab); err != nil {
			g.Err = err
			continue
		}
		if c.Shell {
			fmt.Fprintf(stderr, "vmtest: booting %s into a shell (Ctrl-A x quits QEMU)\n", k.Release)
			if err := shell(ctx, k, initrd); err != nil {
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

// bootAll runs the guests in parallel, one per host CPU: each has one
// virtual CPU, and TCG gains nothing from more. Guests of a foreign
// architecture start first: they take longest, and starting them last
// would leave CPUs idle at the end.
func bootAll(ctx context.Context, c config, runs []*guestRun, work, runID string, stderr io.Writer) {
	order := bootOrder(runs)
	queue := make(chan *guestRun, len(order))
	for _, g := range order {
		queue <- g
	}
	close(queue)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range min(runtime.NumCPU(), len(queue)) {
		wg.Go(func() {
			for g := range queue {
				bootOne(ctx, c, g, work, runID, stderr, &mu)
			}
		})
	}
	wg.Wait()
}

// bootOrder lists the guests that have something to run, foreign
// architectures first.
func bootOrder(runs []*guestRun) []*guestRun {
	var order []*guestRun
	for _, foreign := range []bool{true, false} {
		for _, g := range runs {
			if g.Err == nil && len(built(g.Pkgs)) > 0 && (g.Kernel.Guest.Arch != hostArch) == foreign {
				order = append(order, g)
			}
		}
	}
	return order
}

func bootOne(ctx context.Context, c config, g *guestRun, work, runID string, stderr io.Writer, mu *sync.Mutex) {
	rel := g.Kernel.Release
	logPath := filepath.Join(c.LogDir, rel+".log")
	fmt.Fprintf(stderr, "vmtest: booting %s (serial log %s)\n", rel, logPath)
	var stream io.Writer
	if c.Verbose {
		stream = &prefixWriter{prefix: "[" + g.Kernel.Guest.String() + "] ", w: stderr, mu: mu}
	}
	res, err := boot(ctx, g.Kernel, filepath.Join(work, rel+".cpio"), logPath, c.guestTimeout(g.Kernel.Guest.Arch), runID, stream)
	g.Result, g.Err = res, err
	if err == nil {
		fmt.Fprintf(stderr, "vmtest: %s finished in %.1fs\n", rel, res.Wall.Seconds())
	}
}

func kernelRequire(k *kernel, override string) (string, error) {
	if override != "" {
		return override, nil
	}
	cfg, err := kernelConfig(k.Config)
	if err != nil {
		return "", fmt.Errorf("kernel config: %w", err)
	}
	return strings.Join(requirements(cfg), ","), nil
}

func randomID() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// checkHostTools fails early with the fix instead of midway with an exec
// error.
func checkHostTools(specs []guestSpec) error {
	tools := []string{"apt-get", "apt-cache", "dpkg", "dpkg-deb", "xz", "go"}
	native := false
	for _, g := range specs {
		if q := arches[g.Arch].Qemu; !slices.Contains(tools, q) {
			tools = append(tools, q)
		}
		native = native || g.Arch == hostArch
	}
	var missing []string
	for _, t := range tools {
		if _, err := exec.LookPath(t); err != nil {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s not found: run scripts/deps.sh", strings.Join(missing, ", "))
	}
	if !native {
		return nil
	}
	// A dynamically linked busybox (package busybox) cannot run in a guest
	// without libc.
	if err := checkStatic("/bin/busybox", hostArch); err != nil {
		return fmt.Errorf("/bin/busybox: %w: install busybox-static (scripts/deps.sh)", err)
	}
	return nil
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
