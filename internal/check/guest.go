package check

import (
	"bufio"
	"context"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nltrace/nltrace/internal/vm"
)

// Guests says how RunKernels boots the kernels to check.
type Guests struct {
	Specs    []vm.Spec
	CacheDir string // downloaded kernels
	LogDir   string // serial logs; "" makes a directory under $TMPDIR
	// Nltrace maps guest architectures to a static nltrace binary built for
	// them; the guest runs it as /bin/nltrace.
	Nltrace map[string]string
	// Args is the command line of nltrace check inside the guest, which
	// reads its configuration from configPath.
	Args func(configPath string) []string
	// Timeout bounds one guest from QEMU's start to its exit; an arm64
	// guest, emulated, gets it times vm.Arch.Slowdown.
	Timeout time.Duration
	// Parallel is how many guests boot at once; 0: one per host CPU.
	Parallel int
	// Progress hears one line per step: downloads, boots, verdicts.
	Progress func(string)
}

// Paths inside the guest.
const (
	guestConfig = "/check.json"
	guestClient = "/client"
	markerTag   = "@@nltrace"
)

// Preflight refuses, before anything is downloaded or booted, what
// cannot work: QEMU or apt missing, a guest architecture without an
// nltrace binary, a client that cannot run in a guest without libc.
func (g *Guests) Preflight(cfg *Config) error {
	if err := vm.RefuseNested(); err != nil {
		return err
	}
	if err := vm.CheckHostTools(g.Specs); err != nil {
		return err
	}
	for _, s := range g.Specs {
		bin, ok := g.Nltrace[s.Arch]
		if !ok {
			return fmt.Errorf("kernel %s: no nltrace built for %s: build one (CGO_ENABLED=0 GOARCH=%s go build -o nltrace-%s ./cmd/nltrace) and give it with --guest-nltrace", s, s.Arch, s.Arch, s.Arch)
		}
		if err := vm.CheckStatic(bin, s.Arch); err != nil {
			return fmt.Errorf("kernel %s: nltrace %s: %w (build it with CGO_ENABLED=0: make build)", s, bin, err)
		}
		if cfg.Client != nil {
			if err := runsInGuest(cfg.Client.Command[0], s.Arch); err != nil {
				return fmt.Errorf("kernel %s: --exec %s: %w", s, cfg.Client.Command[0], err)
			}
		}
	}
	return nil
}

// runsInGuest accepts a static binary of the guest's architecture, or a
// script (busybox runs it).
func runsInGuest(path, arch string) error {
	p, err := exec.LookPath(path)
	if err != nil {
		return err
	}
	f, err := elf.Open(p)
	if err != nil {
		return nil // not ELF: a script
	}
	f.Close()
	return vm.CheckStatic(p, arch)
}

// RunKernels runs the suite in a guest for each of g.Specs and returns
// their results in that order. A guest that fails to boot or to answer
// is a Result with Err; RunKernels returns an error only when it could not
// start, or ctx ended.
func RunKernels(ctx context.Context, cfg Config, g Guests) ([]*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := g.Preflight(&cfg); err != nil {
		return nil, err
	}
	say := func(format string, a ...any) {
		if g.Progress != nil {
			g.Progress(fmt.Sprintf(format, a...))
		}
	}
	kernels := make([]*vm.Kernel, len(g.Specs))
	errs := make([]error, len(g.Specs))
	var wg sync.WaitGroup
	for i, s := range g.Specs {
		wg.Go(func() {
			kernels[i], errs[i] = vm.Resolve(g.CacheDir, s, lineWriter(func(l string) { say("%s: %s", s, l) }))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// Made once the kernels are there, so that a failed download leaves no
	// empty directory behind.
	logDir := g.LogDir
	if logDir == "" {
		var err error
		if logDir, err = os.MkdirTemp("", "nltrace-check-"); err != nil {
			return nil, fmt.Errorf("serial log directory: %w", err)
		}
	}
	work, err := os.MkdirTemp(logDir, "initrd-")
	if err != nil {
		return nil, fmt.Errorf("serial log directory: %w", err)
	}
	defer os.RemoveAll(work)
	results := make([]*Result, len(kernels))
	var jobs []vm.Job
	for i, k := range kernels {
		initrd := filepath.Join(work, fmt.Sprintf("%d.cpio", i))
		runID, err := writeGuest(initrd, k, cfg, g)
		if err != nil {
			return nil, fmt.Errorf("kernel %s: initramfs: %w", g.Specs[i], err)
		}
		logPath := filepath.Join(logDir, fmt.Sprintf("%s.log", sanitize(k.Release)))
		jobs = append(jobs, vm.Job{Arch: k.Spec.Arch, Run: func() {
			timeout := g.Timeout * time.Duration(max(1, vm.Arches[k.Spec.Arch].Slowdown))
			say("booting %s (%s), serial log %s", g.Specs[i], k.Release, logPath)
			results[i] = bootOne(ctx, k, g.Specs[i], initrd, logPath, runID, timeout)
			if r := results[i]; r.Err == "" {
				say("%s: verdict %.1fs after QEMU started (%s)", r.Kernel, r.Boot, r.Accel)
			}
		}})
	}
	vm.BootAll(jobs, g.Parallel)
	if ctx.Err() != nil {
		return nil, fmt.Errorf("stopped: %w", context.Cause(ctx))
	}
	return results, nil
}

// writeGuest packs the guest: busybox and modules, nltrace, the client,
// the configuration with the client's path as the guest sees it, and an
// /init that runs the suite between markers and powers off.
func writeGuest(dst string, k *vm.Kernel, cfg Config, g Guests) (string, error) {
	runID := make([]byte, 6)
	rand.Read(runID)
	id := hex.EncodeToString(runID)
	f, err := os.Create(dst)
	if err != nil {
		return "", err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	a := vm.NewArchive(bw)
	vm.PackBase(a, k)
	a.File("bin/nltrace", 0o755, g.Nltrace[k.Spec.Arch])
	if c := cfg.Client; c != nil {
		src, err := exec.LookPath(c.Command[0])
		if err != nil {
			return "", err
		}
		inGuest := path.Join(guestClient, filepath.Base(src))
		a.File(strings.TrimPrefix(inGuest, "/"), 0o755, src)
		client := *c
		client.Command = append([]string{inGuest}, c.Command[1:]...)
		cfg.Client = &client
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		return "", err
	}
	a.Bytes(strings.TrimPrefix(guestConfig, "/"), 0o644, data)
	a.Bytes("init", 0o755, []byte(initScript(k, id, g.Args(guestConfig))))
	if err := a.Close(); err != nil {
		return "", err
	}
	if err := bw.Flush(); err != nil {
		return "", err
	}
	return id, f.Close()
}

// initScript runs the suite with its JSON on stdout kept in a file and
// printed whole between two markers, so that the console's other output
// (the suite's progress on stderr) cannot interleave with it.
func initScript(k *vm.Kernel, id string, args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = vm.ShellQuote(a)
	}
	var b strings.Builder
	b.WriteString(vm.Preamble(k))
	fmt.Fprintf(&b, "echo; echo '%s %s begin release='$(uname -r)\n", markerTag, id)
	fmt.Fprintf(&b, "%s > /tmp/check.json; rc=$?\n", strings.Join(quoted, " "))
	fmt.Fprintf(&b, "echo; echo '%s %s json'; cat /tmp/check.json; echo; echo \"%s %s end rc=$rc\"\n", markerTag, id, markerTag, id)
	b.WriteString("poweroff -f\n")
	return b.String()
}

// bootOne boots one guest and reads its verdict from the serial log.
func bootOne(ctx context.Context, k *vm.Kernel, spec vm.Spec, initrd, logPath, id string, timeout time.Duration) *Result {
	res := &Result{Kernel: k.Release, Spec: spec.String(), Checks: []Outcome{}}
	// loglevel=1: only emergencies on the console, which carries the JSON.
	out, err := vm.Boot(ctx, vm.Guest{Kernel: k, Initrd: initrd, Log: logPath, Timeout: timeout, Append: []string{"loglevel=1"}})
	if err != nil {
		res.Err = err.Error()
		return res
	}
	res.Accel = out.Accel.Name
	got, problem := readGuest(out.Output, id)
	switch {
	case problem != "" && out.TimedOut:
		res.Err = fmt.Sprintf("the guest did not answer within its limit of %v and was stopped: give it longer; serial log %s", timeout, logPath)
	case problem != "":
		res.Err = fmt.Sprintf("%s; serial log %s", problem, logPath)
	default:
		got.Spec, got.Boot, got.Accel = res.Spec, secs(out.Wall), res.Accel
		return got
	}
	return res
}

// readGuest finds the suite's JSON between the markers of run id.
func readGuest(log, id string) (*Result, string) {
	var begin, js, end *vm.Marker
	for _, m := range vm.Markers(log, markerTag, id) {
		switch m.Word {
		case "begin":
			begin = &m
		case "json":
			js = &m
		case "end":
			end = &m
		}
	}
	switch {
	case begin == nil:
		return nil, "the guest never reached /init (boot failure or panic)"
	case js == nil || end == nil:
		return nil, "the guest stopped before nltrace check ended (panic or crash)"
	}
	var doc Document
	if err := json.Unmarshal([]byte(log[js.End:end.Start]), &doc); err != nil || len(doc.Kernels) != 1 {
		return nil, fmt.Sprintf("nltrace check exited with status %s without a result (its error is in the log)", end.Fields["rc"])
	}
	return doc.Kernels[0], ""
}

// lineWriter hands each line written to fn.
type lineWriter func(string)

func (fn lineWriter) Write(b []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if l != "" {
			fn(l)
		}
	}
	return len(b), nil
}

var _ io.Writer = lineWriter(nil)

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' {
			return '_'
		}
		return r
	}, s)
}

// NltraceBinaries maps each path to the architecture it was built for,
// starting from self (the running nltrace) for the host's; later paths
// replace earlier ones of the same architecture.
func NltraceBinaries(self string, paths []string) (map[string]string, error) {
	out := map[string]string{}
	if self != "" {
		out[vm.HostArch] = self
	}
	for _, p := range paths {
		f, err := elf.Open(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w (want an nltrace binary)", p, err)
		}
		m := f.Machine
		f.Close()
		arch := ""
		for name, a := range vm.Arches {
			if a.ELF == m {
				arch = name
			}
		}
		if arch == "" {
			return nil, fmt.Errorf("%s is built for %v, which no guest runs", p, m)
		}
		out[arch] = p
	}
	return out, nil
}
