package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nltrace/nltrace/internal/testenv"
	"github.com/nltrace/nltrace/internal/vm"
)

// The self-tests prove the harness cannot pass by accident: a guest whose
// test fails, and a guest that never reports, must both fail the run. They
// boot QEMU, so they skip under -short and inside a guest; CI sets
// NLTRACE_REQUIRE=vm so that missing QEMU or kernels fail instead.

func selfTestConfig(t *testing.T) config {
	t.Helper()
	if os.Getenv(guestEnv) != "" {
		t.Skip("inside a vmtest guest: no QEMU in QEMU")
	}
	if testing.Short() {
		t.Skip("boots QEMU; skipped with -short")
	}
	series := envOr("NLTRACE_VMTEST_SELFTEST_KERNEL", "6.12")
	cache := envOr("NLTRACE_VM_CACHE", "/var/cache/nltrace-vm")
	g, err := vm.ParseSpec(series)
	if err != nil {
		t.Fatal(err)
	}
	err = vm.CheckHostTools([]vm.Spec{g}, "go")
	if err == nil {
		_, err = vm.Resolve(cache, g, testWriter{t})
	}
	testenv.Need(t, "vm", err)
	return config{
		Kernels:     []string{series},
		Pkgs:        []string{"./scripts/vmtest"},
		Timeout:     4 * time.Minute,
		TestTimeout: 2 * time.Minute,
		CacheDir:    cache,
		LogDir:      t.TempDir(),
	}
}

func runHarness(t *testing.T, c config) (int, string) {
	t.Helper()
	var out, progress bytes.Buffer
	code := run(context.Background(), c, &out, &progress)
	t.Logf("exit %d\nstderr:\n%s\nstdout:\n%s", code, progress.String(), out.String())
	return code, out.String()
}

func serialLog(t *testing.T, c config) string {
	t.Helper()
	logs, _ := filepath.Glob(filepath.Join(c.LogDir, "*.log"))
	if len(logs) != 1 {
		t.Fatalf("want one serial log in %s, found %v", c.LogDir, logs)
	}
	data, err := os.ReadFile(logs[0])
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestSelfTestFailingGuestFails(t *testing.T) {
	t.Parallel()
	c := selfTestConfig(t)
	c.FailOnPurpose = true
	code, out := runHarness(t, c)
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if !strings.Contains(out, "FAIL") || !strings.Contains(out, "./scripts/vmtest failed: TestFailOnPurpose") {
		t.Errorf("matrix does not report TestFailOnPurpose as failed")
	}
	// The same boot proves the guest gives tests what /init promises.
	log := serialLog(t, c)
	for _, want := range []string{"--- PASS: TestGuestEnvironment", "--- PASS: TestGuestLinks", "--- FAIL: TestFailOnPurpose"} {
		if !strings.Contains(log, want) {
			t.Errorf("serial log lacks %q", want)
		}
	}
}

func TestSelfTestSilentGuestFails(t *testing.T) {
	t.Parallel()
	c := selfTestConfig(t)
	c.PayloadHang = true
	c.Timeout = 30 * time.Second
	code, out := runHarness(t, c)
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	for _, want := range []string{"NO END MARKER", "timed out", "FAIL"} {
		if !strings.Contains(out, want) {
			t.Errorf("matrix lacks %q", want)
		}
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}
