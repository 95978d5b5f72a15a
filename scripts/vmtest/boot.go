package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// qemuArgs is the command line that worked here without KVM (docs/vm.md).
// panic=-1 and -no-reboot turn a guest panic into a QEMU exit instead of a
// hang until the timeout.
func qemuArgs(a arch, vmlinuz, initrd string, shell bool) []string {
	cmdline := "console=" + a.Console + " panic=-1 quiet"
	if shell {
		cmdline += " vmtest.shell"
	}
	args := append([]string{}, a.Machine...)
	return append(args, "-accel", "tcg", "-smp", "1",
		"-kernel", vmlinuz, "-initrd", initrd, "-append", cmdline,
		"-nographic", "-no-reboot", "-nic", "none")
}

// bootResult is what the host learned from one guest.
type bootResult struct {
	Wall     time.Duration
	TimedOut bool
	QemuErr  error // QEMU's own exit status: reported, never trusted as a verdict
	Log      string
	Report   *guestReport
}

// boot runs one guest to completion, keeping its serial console in logPath.
// The guest's verdict comes from the log, never from QEMU's exit code.
func boot(ctx context.Context, k *kernel, initrd, logPath string, timeout time.Duration, runID string, stream io.Writer) (*bootResult, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("serial log: %w", err)
	}
	defer logf.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	a := arches[k.Guest.Arch]
	cmd := exec.CommandContext(ctx, a.Qemu, qemuArgs(a, k.Vmlinuz, initrd, false)...)
	cmd.WaitDelay = 5 * time.Second
	var out io.Writer = logf
	if stream != nil {
		out = io.MultiWriter(logf, stream)
	}
	cmd.Stdout, cmd.Stderr = out, out
	// QEMU must not read the terminal: its -nographic monitor would
	// interpret keystrokes.
	cmd.Stdin = nil
	start := time.Now()
	runErr := cmd.Run()
	res := &bootResult{Wall: time.Since(start), Log: logPath, QemuErr: runErr}
	res.TimedOut = errors.Is(ctx.Err(), context.DeadlineExceeded)
	if err := logf.Sync(); err != nil {
		return nil, fmt.Errorf("serial log: %w", err)
	}
	data, err := os.ReadFile(logPath)
	if err != nil {
		return nil, fmt.Errorf("serial log: %w", err)
	}
	res.Report = parseLog(string(data), runID)
	return res, nil
}

// shell boots with stdin attached; QEMU's Ctrl-A x quits.
func shell(ctx context.Context, k *kernel, initrd string) error {
	a := arches[k.Guest.Arch]
	cmd := exec.CommandContext(ctx, a.Qemu, qemuArgs(a, k.Vmlinuz, initrd, true)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	return cmd.Run()
}

// pkgResult is one package's outcome inside one guest.
type pkgResult struct {
	Pkg                     string
	Began, Ended            bool
	ExitCode                int
	Secs                    float64
	Passed, Failed, Skipped int
	FailedTests             []string
	Panic                   string   // first "panic:" line, e.g. a -test.timeout
	Benchmarks              []string // result lines of -bench runs
}

// OK is the single place a package's verdict is decided: it must have
// finished, exited zero and reported no failed test.
func (r *pkgResult) OK() bool { return r.Ended && r.ExitCode == 0 && r.Failed == 0 }

// guestReport is everything the serial log says about the payload.
type guestReport struct {
	Booted  bool
	Release string
	Require string
	Done    bool
	Pkgs    map[string]*pkgResult
	Order   []string
}

var (
	markerRE = regexp.MustCompile(`@@vmtest (\S+) (boot|begin|end|done)(.*)$`)
	resultRE = regexp.MustCompile(`^\s*--- (PASS|FAIL|SKIP): (\S+)`)
	// After "panic: test timed out", go test lists the running tests as
	// "\t\tTestX (4m54s)": those are the ones that hung.
	runningRE = regexp.MustCompile(`^\t\t(\S+) \([0-9hms.]+\)$`)
)

// parseLog reads markers and go test -v result lines. Markers carry the
// run's random id: output of an earlier run, or a test printing something
// marker-like, cannot count. Subtests are counted like tests.
func parseLog(log, runID string) *guestReport {
	rep := &guestReport{Pkgs: map[string]*pkgResult{}}
	var cur *pkgResult
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if m := markerRE.FindStringSubmatch(line); m != nil && m[1] == runID {
			fields := markerFields(m[3])
			switch m[2] {
			case "boot":
				rep.Booted, rep.Release, rep.Require = true, fields["release"], fields["require"]
			case "begin":
				name := fields["pkg"]
				cur = &pkgResult{Pkg: name, Began: true, ExitCode: -1}
				if rep.Pkgs[name] == nil {
					rep.Order = append(rep.Order, name)
				}
				rep.Pkgs[name] = cur
			case "end":
				r := rep.Pkgs[fields["pkg"]]
				if r == nil {
					continue
				}
				r.Ended = true
				if rc, err := strconv.Atoi(fields["rc"]); err == nil {
					r.ExitCode = rc
				}
				r.Secs, _ = strconv.ParseFloat(fields["secs"], 64)
				cur = nil
			case "done":
				rep.Done = true
			}
			continue
		}
		if cur == nil {
			continue
		}
		if strings.HasPrefix(line, "panic: ") && cur.Panic == "" {
			cur.Panic = line
		}
		if strings.HasPrefix(cur.Panic, "panic: test timed out") {
			if m := runningRE.FindStringSubmatch(line); m != nil {
				cur.FailedTests = append(cur.FailedTests, m[1]+" (hung)")
			}
		}
		if strings.HasPrefix(line, "Benchmark") && strings.Contains(line, "ns/op") {
			cur.Benchmarks = append(cur.Benchmarks, line)
		}
		m := resultRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		switch m[1] {
		case "PASS":
			cur.Passed++
		case "FAIL":
			cur.Failed++
			cur.FailedTests = append(cur.FailedTests, m[2])
		case "SKIP":
			cur.Skipped++
		}
	}
	return rep
}

func markerFields(s string) map[string]string {
	f := map[string]string{}
	for _, kv := range strings.Fields(s) {
		if k, v, ok := strings.Cut(kv, "="); ok {
			f[k] = v
		}
	}
	return f
}
