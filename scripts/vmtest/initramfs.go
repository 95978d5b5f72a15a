package main

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/nltrace/nltrace/internal/vm"
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
	HasLab        bool // lab clients under labDir
}

// guestEnv tells test binaries they run inside the guest; the self-test
// uses it to refuse to boot QEMU recursively.
const guestEnv = vm.GuestEnv

// initScript renders /init: vm.Preamble, then the test loop. Each package runs in a copy of its source
// directory, so relative testdata/ paths resolve as under go test.
// The shell variant (vmtest.shell on the kernel command line) shares the
// whole initramfs and only replaces the payload.
func initScript(k *vm.Kernel, o guestOptions, pkgs []testPkg) string {
	var b strings.Builder
	b.WriteString(vm.Preamble(k))
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w("export NLTRACE_REQUIRE=%s", shellQuote(o.Require))
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
	w("if grep -q %s /proc/cmdline; then", shellFlag)
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
// read by a relative path (../../docs/report.schema.json, ../../go.mod,
// ../../examples/ci), as they can under go test.
var moduleFiles = []string{"docs", "deploy", "examples", "go.mod"}

func guestSrc(p testPkg) string { return path.Join("/src", p.Rel) }

func shellQuote(s string) string { return vm.ShellQuote(s) }

// writeInitramfs packs the guest's root file system: vm.PackBase, /init,
// and the test binaries with their sources. lab are the client lab's
// binaries, packed under labDir.
func writeInitramfs(dst, root string, k *vm.Kernel, o guestOptions, pkgs []testPkg, nltrace string, lab []string) error {
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	a := vm.NewArchive(bw)
	vm.PackBase(a, k)
	a.Dir("tests")
	a.Dir("src")
	a.Bytes("init", 0o755, []byte(initScript(k, o, pkgs)))
	if nltrace != "" {
		a.File("bin/nltrace", 0o755, nltrace)
	}
	for _, c := range lab {
		a.File(path.Join(strings.TrimPrefix(labDir, "/"), filepath.Base(c)), 0o755, c)
	}
	var srcErr error
	for _, p := range pkgs {
		a.File("tests/"+p.binName(), 0o755, p.Binary)
		if err := sourceDir(a, p); err != nil && srcErr == nil {
			srcErr = fmt.Errorf("write initramfs: %w", err)
		}
	}
	if len(pkgs) > 0 {
		for _, f := range moduleFiles {
			if st, err := os.Stat(filepath.Join(root, f)); err == nil && !st.IsDir() {
				a.File(path.Join("src", f), 0o644, filepath.Join(root, f))
				continue
			}
			a.Tree(path.Join("src", f), filepath.Join(root, f))
		}
	}
	if err := a.Close(); err != nil {
		return err
	}
	if srcErr != nil {
		return srcErr
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write initramfs: %w", err)
	}
	return f.Close()
}

// sourceDir copies the package directory's own files and its testdata/
// tree; other subdirectories are other packages.
func sourceDir(a *vm.Archive, p testPkg) error {
	dst := strings.TrimPrefix(guestSrc(p), "/")
	a.Dir(dst)
	entries, err := os.ReadDir(p.Dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			a.File(path.Join(dst, e.Name()), 0o644, filepath.Join(p.Dir, e.Name()))
		}
	}
	a.Tree(path.Join(dst, "testdata"), filepath.Join(p.Dir, "testdata"))
	return nil
}
