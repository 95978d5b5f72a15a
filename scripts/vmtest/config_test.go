package main

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/nltrace/nltrace/internal/vm"
)

func TestDefaultsRunArm64(t *testing.T) {
	t.Setenv("KERNELS", "")
	t.Setenv("ARM64_PKG", "")
	t.Setenv("PKG", "")
	c, err := parseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(c.Kernels, "6.12-arm64") {
		t.Errorf("default kernels %q lack 6.12-arm64", c.Kernels)
	}
	for _, a := range []string{"amd64", "arm64"} {
		if got := c.patterns(a); got != nil {
			t.Errorf("%s guests test %q, want the whole module (nil)", a, got)
		}
	}
	c.ArchPkgs["arm64"] = []string{"./nlclient"}
	if got := c.patterns("arm64"); !slices.Equal(got, []string{"./nlclient"}) {
		t.Errorf("-arm64-pkg ./nlclient: arm64 guests test %q", got)
	}
	if got := c.patterns("amd64"); got != nil {
		t.Errorf("-arm64-pkg ./nlclient: amd64 guests test %q, want the whole module", got)
	}
	c.Pkgs = []string{"./probe"}
	for _, a := range []string{"amd64", "arm64"} {
		if got := c.patterns(a); !slices.Equal(got, c.Pkgs) {
			t.Errorf("-pkg ./probe: %s guests test %q", a, got)
		}
	}
}

func TestArm64TimeoutsScale(t *testing.T) {
	c := config{Timeout: 8 * time.Minute, TestTimeout: 5 * time.Minute}
	if g, tt := c.guestTimeout("amd64"), c.testTimeout("amd64"); g != c.Timeout || tt != c.TestTimeout {
		t.Errorf("amd64 timeouts %v %v, want them as given", g, tt)
	}
	if g, tt := c.guestTimeout("arm64"), c.testTimeout("arm64"); g != 16*time.Minute || tt != 10*time.Minute {
		t.Errorf("arm64 timeouts %v %v, want 16m 10m", g, tt)
	}
}

// TestBootableSkipsFailed: a guest that could not be prepared, or whose
// packages all failed to build, is not booted (the matrix reports it).
func TestBootableSkipsFailed(t *testing.T) {
	k := &vm.Kernel{Spec: vm.Spec{Series: "6.12", Flavour: "cloud", Arch: "amd64"}}
	ok := &guestRun{Kernel: k, Pkgs: []testPkg{{Rel: "p"}}}
	failed := &guestRun{Kernel: k, Pkgs: []testPkg{{Rel: "p"}}, Err: errors.New("no kernel")}
	unbuilt := &guestRun{Kernel: k, Pkgs: []testPkg{{Rel: "p", BuildErr: errors.New("x")}}}
	if got := bootable([]*guestRun{failed, ok, unbuilt}); !slices.Equal(got, []*guestRun{ok}) {
		t.Errorf("bootable = %v, want only the guest with something to run", got)
	}
}
