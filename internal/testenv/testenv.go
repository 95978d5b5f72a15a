// Package testenv decides, for tests, whether a missing capability of the
// running machine is a reason to skip or a failure.
//
// On a developer's machine a test that needs kprobes, fentry or the dummy
// driver skips with the reason. Inside the kernel matrix the harness sets
// NLTRACE_REQUIRE (a comma-separated list, or "all"), and the same missing
// capability fails the test: a BPF test that did not run must not look like
// a pass.
package testenv

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// RequireEnv names the variable that lists the capabilities which must be
// present.
const RequireEnv = "NLTRACE_REQUIRE"

// Required reports whether the environment demands the capability.
func Required(capability string) bool {
	list := strings.Split(os.Getenv(RequireEnv), ",")
	return slices.Contains(list, "all") || slices.Contains(list, capability)
}

// Need skips the test when err is not nil, or fails it when the capability
// is required.
func Need(tb testing.TB, capability string, err error) {
	tb.Helper()
	if err == nil {
		return
	}
	if Required(capability) {
		tb.Fatalf("%s is required here (%s) but unavailable: %v", capability, RequireEnv, err)
	}
	tb.Skipf("%s unavailable: %v", capability, err)
}

// Root skips the test (or fails it, when "root" is required) unless it runs
// as root.
func Root(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		Need(tb, "root", errNotRoot)
	}
}

type notRootError struct{}

func (notRootError) Error() string { return "the test needs root (run it with sudo)" }

var errNotRoot = notRootError{}
