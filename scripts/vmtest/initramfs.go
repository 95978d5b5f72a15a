package main

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
)

// guestOptions is what one guest's /init does.
type guestOptions struct {
	RunID         string // in every marker, so no stray output can fake one
	Require       string
	Run           string
	Bench         string
	TestTimeout   string
	FailOnPurpose bool
	PayloadHang   bool
	HasNltrace    bool
	HasLab        bool     // lab clients under labDir
	Modules       []string // base names, in load order
}

// guestEnv tells test binaries they run inside the guest; the self-test
// uses it to refuse to boot QEMU recursively.
const guestEnv = "NLTRACE_VMTEST_GUEST"

// initScript renders /init. Each package runs in a copy of its source
// directory, so relative testdata/ paths resolve as under go test.
// The shell variant (vmtest.shell on the kernel command line) shares the
// whole initramfs and only replaces the payload.
func initScript(o guestOptions, pkgs []testPkg) string {
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
	for _, m := range o.Modules {
		w("insmod /lib/modules/%s.ko || echo 'vmtest: insmod %s failed'", m, m)
	}
	w("ip link set lo up")
	w("export %s=1 NLTRACE_REQUIRE=%s", guestEnv, shellQuote(o.Require))
	if o.HasNltrace {
		w("export NLTRACE_BIN=/bin/nltrace")
	}
	if o.HasLab {
		w("export NLTRACE_LAB_BIN=%s", labDir)
	}
	if o.FailOnPurpose {
		w("export NLTRACE_VMTEST_FAIL_ON_PURPOSE=1")
	}
	w("up() { read u _ </proc/uptime; echo $u; }")
	w("echo; echo \"@@vmtest %s boot release=$(uname -r) require=$NLTRACE_REQUIRE\"", o.RunID)
	w("if grep -q vmtest.shell /proc/cmdline; then")
	w("  echo 'vmtest: debug shell; exit it (or Ctrl-A x) to power off'")
	w("  setsid cttyhack sh; poweroff -f; fi")
	args := "-test.v -test.timeout=" + shellQuote(o.TestTimeout)
	run := o.Run
	if o.Bench != "" {
		args += " -test.benchmem -test.bench=" + shellQuote(o.Bench)
		if run == "" {
			run = "^$" // benchmarks only
		}
	}
	if run != "" {
		args += " -test.run=" + shellQuote(run)
	}
	for _, p := range pkgs {
		w("echo; echo '@@vmtest %s begin pkg=%s'", o.RunID, p.Name())
		if o.PayloadHang {
			w("while :; do sleep 3600; done")
		}
		w("s=$(up); cd %s && /tests/%s %s; rc=$?; e=$(up); cd /", shellQuote(guestSrc(p)), p.binName(), args)
		w("echo; echo \"@@vmtest %s end pkg=%s rc=$rc secs=$(awk \"BEGIN{print $e-$s}\")\"", o.RunID, p.Name())
	}
	w("echo '@@vmtest %s done'", o.RunID)
	w("poweroff -f")
	return b.String()
}

// moduleFiles are files and directories outside any package that tests
// read by a relative path (../../docs/report.schema.json, ../../go.mod),
// as they can under go test.
var moduleFiles = []string{"docs", "deploy", "go.mod"}

func guestSrc(p testPkg) string { return path.Join("/src", p.Rel) }

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// writeInitramfs packs the guest's root file system as an uncompressed
// newc archive: the kernel unpacks it faster than it would decompress one,
// and writing it in Go needs neither the cpio tool nor mknod. lab are the
// client lab's binaries, packed under labDir.
func writeInitramfs(dst, root string, k *kernel, o guestOptions, pkgs []testPkg, nltrace string, lab []string) error {
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	a := &newcWriter{w: bw, ino: 1}
	for _, d := range []string{"bin", "dev", "proc", "sys", "tmp", "run", "lib", "lib/modules", "tests", "src"} {
		a.dir(d)
	}
	a.node("dev/console", syscall.S_IFCHR|0o600, 5, 1)
	a.node("dev/null", syscall.S_IFCHR|0o666, 1, 3)
	a.fileBytes("init", 0o755, []byte(initScript(o, pkgs)))
	a.file("bin/busybox", 0o755, k.Busybox)
	for i, m := range o.Modules {
		a.file("lib/modules/"+m+".ko", 0o644, k.Modules[i])
	}
	if nltrace != "" {
		a.file("bin/nltrace", 0o755, nltrace)
	}
	for _, c := range lab {
		a.file(path.Join(strings.TrimPrefix(labDir, "/"), filepath.Base(c)), 0o755, c)
	}
	for _, p := range pkgs {
		a.file("tests/"+p.binName(), 0o755, p.Binary)
		a.sourceDir(p)
	}
	if len(pkgs) > 0 {
		for _, f := range moduleFiles {
			if st, err := os.Stat(filepath.Join(root, f)); err == nil && !st.IsDir() {
				a.file(path.Join("src", f), 0o644, filepath.Join(root, f))
				continue
			}
			a.tree(path.Join("src", f), filepath.Join(root, f))
		}
	}
	a.trailer()
	if a.err != nil {
		return fmt.Errorf("write initramfs: %w", a.err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write initramfs: %w", err)
	}
	return f.Close()
}

// newcWriter writes the "070701" cpio format the kernel unpacks. It keeps
// the first error, so callers check once at the end.
type newcWriter struct {
	w    io.Writer
	ino  int
	off  int64
	err  error
	dirs map[string]bool
}

func (a *newcWriter) header(name string, mode uint32, size int64, major, minor uint32) {
	if a.err != nil {
		return
	}
	a.ino++
	nlink := 1
	if mode&syscall.S_IFMT == syscall.S_IFDIR {
		nlink = 2
	}
	h := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		a.ino, mode, 0, 0, nlink, 0, size, 0, 0, major, minor, len(name)+1, 0)
	a.write([]byte(h + name + "\x00"))
	a.pad()
}

func (a *newcWriter) write(b []byte) {
	if a.err != nil {
		return
	}
	n, err := a.w.Write(b)
	a.off += int64(n)
	a.err = err
}

func (a *newcWriter) pad() {
	if r := a.off % 4; r != 0 {
		a.write(make([]byte, 4-r))
	}
}

func (a *newcWriter) dir(name string) {
	if a.dirs == nil {
		a.dirs = map[string]bool{}
	}
	if name == "." || a.dirs[name] {
		return
	}
	a.dir(path.Dir(name))
	a.dirs[name] = true
	a.header(name, syscall.S_IFDIR|0o755, 0, 0, 0)
}

func (a *newcWriter) node(name string, mode, major, minor uint32) {
	a.dir(path.Dir(name))
	a.header(name, mode, 0, major, minor)
}

func (a *newcWriter) fileBytes(name string, perm uint32, data []byte) {
	a.dir(path.Dir(name))
	a.header(name, syscall.S_IFREG|perm, int64(len(data)), 0, 0)
	a.write(data)
	a.pad()
}

func (a *newcWriter) file(name string, perm uint32, src string) {
	if a.err != nil {
		return
	}
	f, err := os.Open(src)
	if err != nil {
		a.err = err
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		a.err = err
		return
	}
	a.dir(path.Dir(name))
	a.header(name, syscall.S_IFREG|perm, st.Size(), 0, 0)
	if a.err != nil {
		return
	}
	n, err := io.Copy(a.w, f)
	a.off += n
	if err == nil && n != st.Size() {
		err = fmt.Errorf("%s changed size while packing", src)
	}
	a.err = err
	a.pad()
}

// sourceDir copies the package directory's own files and its testdata/
// tree; other subdirectories are other packages.
func (a *newcWriter) sourceDir(p testPkg) {
	dst := strings.TrimPrefix(guestSrc(p), "/")
	a.dir(dst)
	entries, err := os.ReadDir(p.Dir)
	if err != nil {
		a.err = err
		return
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			a.file(path.Join(dst, e.Name()), 0o644, filepath.Join(p.Dir, e.Name()))
		}
	}
	a.tree(path.Join(dst, "testdata"), filepath.Join(p.Dir, "testdata"))
}

// tree copies the directory src, if it exists, to dst in the archive.
func (a *newcWriter) tree(dst, src string) {
	if _, err := os.Stat(src); err != nil {
		return
	}
	walkErr := filepath.WalkDir(src, func(from string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, from)
		name := path.Join(dst, filepath.ToSlash(rel))
		switch {
		case d.IsDir():
			a.dir(name)
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			a.file(name, uint32(info.Mode().Perm()), from)
		}
		return a.err
	})
	if walkErr != nil && a.err == nil {
		a.err = walkErr
	}
}

func (a *newcWriter) trailer() {
	a.header("TRAILER!!!", 0, 0, 0, 0)
	// The kernel accepts any length; padding to 512 mirrors cpio(1).
	if r := a.off % 512; r != 0 {
		a.write(make([]byte, 512-r))
	}
}
