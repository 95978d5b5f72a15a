package vm

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

// GuestEnv is set to 1 in every guest. Programs that boot QEMU refuse to
// when they see it (RefuseNested): under TCG a guest in a guest would only
// crawl to its timeout. Tests also use it to tell they run in a guest.
const GuestEnv = "NLTRACE_VMTEST_GUEST"

// RefuseNested fails inside a guest.
func RefuseNested() error {
	if os.Getenv(GuestEnv) != "" {
		return fmt.Errorf("refusing to boot QEMU inside a guest (%s is set)", GuestEnv)
	}
	return nil
}

// Preamble is the start of every guest's /init, a busybox shell script:
// it mounts everything before any Go code starts (cilium/ebpf probes BPF
// in an init() and caches a failure if /proc is missing, docs/vm.md),
// loads k's modules as PackBase packed them, and brings lo up. The caller
// appends its payload, which must end with `poweroff -f`: init exiting
// panics the kernel.
func Preamble(k *Kernel) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w("#!/bin/busybox sh")
	w("/bin/busybox --install -s /bin")
	w("export PATH=/bin HOME=/tmp TMPDIR=/tmp")
	w("mount -t proc proc /proc")
	w("mount -t sysfs sysfs /sys")
	w("mount -t devtmpfs devtmpfs /dev")
	w("mount -t bpf bpf /sys/fs/bpf")
	w("mount -t tracefs tracefs /sys/kernel/tracing")
	w("mount -t debugfs debugfs /sys/kernel/debug")
	w("mount -t tmpfs tmpfs /tmp")
	w("mount -t tmpfs tmpfs /run")
	for _, m := range k.Modules {
		name := ModuleName(m)
		w("insmod /lib/modules/%s.ko || echo 'init: insmod %s failed'", name, name)
	}
	w("ip link set lo up")
	w("export %s=1", GuestEnv)
	return b.String()
}

// PackBase adds what Preamble needs to a: the mount points, busybox, the
// device nodes (without /dev/console init has no output; devtmpfs only
// comes later) and k's modules under lib/modules. The caller adds "init"
// and its payload, then closes a.
func PackBase(a *Archive, k *Kernel) {
	for _, d := range []string{"bin", "dev", "proc", "sys", "tmp", "run", "lib/modules"} {
		a.Dir(d)
	}
	a.Node("dev/console", syscall.S_IFCHR|0o600, 5, 1)
	a.Node("dev/null", syscall.S_IFCHR|0o666, 1, 3)
	a.File("bin/busybox", 0o755, k.Busybox)
	for _, m := range k.Modules {
		a.File("lib/modules/"+ModuleName(m)+".ko", 0o644, m)
	}
}

// ShellQuote quotes s for /init.
func ShellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
