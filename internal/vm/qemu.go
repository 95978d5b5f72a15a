package vm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// QemuArgs is the command line that boots vmlinuz with initrd (docs/vm.md).
// panic=-1 and -no-reboot turn a guest panic into a QEMU exit instead of a
// hang until the timeout. One virtual CPU: TCG gains nothing from more,
// and one guest per host CPU runs instead (BootAll). extra are added to
// the kernel command line.
func QemuArgs(a Arch, acc Accel, vmlinuz, initrd string, extra ...string) []string {
	cmdline := strings.Join(append([]string{"console=" + a.Console, "panic=-1", "quiet"}, extra...), " ")
	cpu := a.CPU
	if acc.Name == "kvm" {
		cpu = "host"
	}
	args := append([]string{}, a.Machine...)
	return append(args, "-accel", acc.Name, "-cpu", cpu, "-smp", "1",
		"-kernel", vmlinuz, "-initrd", initrd, "-append", cmdline,
		"-nographic", "-no-reboot", "-nic", "none")
}

// Guest is one boot to run.
type Guest struct {
	Kernel  *Kernel
	Initrd  string
	Log     string        // serial log file to create
	Timeout time.Duration // from QEMU start to its exit
	Stream  io.Writer     // gets the console as it comes, if not nil
	Append  []string      // more kernel command line words
}

// Result is what the host learned from one guest.
type Result struct {
	Accel    Accel
	Wall     time.Duration
	TimedOut bool
	QemuErr  error  // QEMU's own exit status: reported, never trusted as a verdict
	Log      string // path of the serial log
	Output   string // the serial log's content
}

// Boot runs one guest to completion, keeping its serial console in g.Log.
// Its error is about the host (the log file); a guest that fails, hangs
// or never starts is a Result, to be judged from Output.
func Boot(ctx context.Context, g Guest) (*Result, error) {
	logf, err := os.Create(g.Log)
	if err != nil {
		return nil, fmt.Errorf("serial log: %w", err)
	}
	defer logf.Close()
	ctx, cancel := context.WithTimeout(ctx, g.Timeout)
	defer cancel()
	a := Arches[g.Kernel.Spec.Arch]
	acc := AccelFor(a.Name)
	cmd := exec.CommandContext(ctx, a.Qemu, QemuArgs(a, acc, g.Kernel.Vmlinuz, g.Initrd, g.Append...)...)
	// QEMU's children keep the pipes open after a kill; do not wait on
	// them for ever.
	cmd.WaitDelay = 5 * time.Second
	var out io.Writer = logf
	if g.Stream != nil {
		out = io.MultiWriter(logf, g.Stream)
	}
	cmd.Stdout, cmd.Stderr = out, out
	// QEMU must not read the terminal: its -nographic monitor would
	// interpret keystrokes.
	cmd.Stdin = nil
	start := time.Now()
	runErr := cmd.Run()
	res := &Result{Accel: acc, Wall: time.Since(start), Log: g.Log, QemuErr: runErr}
	res.TimedOut = errors.Is(ctx.Err(), context.DeadlineExceeded)
	if err := logf.Sync(); err != nil {
		return nil, fmt.Errorf("serial log: %w", err)
	}
	data, err := os.ReadFile(g.Log)
	if err != nil {
		return nil, fmt.Errorf("serial log: %w", err)
	}
	res.Output = string(data)
	return res, nil
}

// Shell boots with this terminal attached, for a person; QEMU's Ctrl-A x
// quits. extra go on the kernel command line, for /init to see.
func Shell(ctx context.Context, k *Kernel, initrd string, extra ...string) error {
	a := Arches[k.Spec.Arch]
	cmd := exec.CommandContext(ctx, a.Qemu, QemuArgs(a, AccelFor(a.Name), k.Vmlinuz, initrd, extra...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	return cmd.Run()
}
