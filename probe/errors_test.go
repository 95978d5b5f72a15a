package probe

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// verifierLog is what the kernel says about a program reading a register
// it never set.
var verifierLog = []string{"0: R1=ctx() R10=fp0", "0: (bf) r0 = r2", "R2 !read_ok", "processed 1 insns (limit 1000000)"}

// TestLoadErrorTellsBugsFromMissingCapabilities pins which load failures
// mean "this kernel cannot trace" (ErrUnavailable: the caller goes on
// without attribution) and which are bugs that must surface.
func TestLoadErrorTellsBugsFromMissingCapabilities(t *testing.T) {
	for _, tt := range []struct {
		name        string
		err         error
		unavailable bool
		contains    []string
	}{{
		name:     "verifier rejection",
		err:      fmt.Errorf("program fentry_dump: %w", &ebpf.VerifierError{Cause: unix.EACCES, Log: verifierLog}),
		contains: verifierLog[:3], // the whole log, not only its summary
	}, {
		name:     "verifier rejection with EPERM",
		err:      &ebpf.VerifierError{Cause: unix.EPERM, Log: verifierLog},
		contains: verifierLog[:3],
	}, {
		name:        "program type refused by policy",
		err:         fmt.Errorf("program fentry_dump: load program: %w", unix.EPERM),
		unavailable: true,
		contains:    []string{"operation not permitted", "forbids this program type"},
	}, {
		name:        "refused before the verifier ran",
		err:         &ebpf.VerifierError{Cause: unix.EPERM},
		unavailable: true,
	}, {
		name:        "map type missing",
		err:         fmt.Errorf("map events: %w", ebpf.ErrNotSupported),
		unavailable: true,
	}, {
		name: "bad CO-RE relocation",
		err:  errors.New("program kprobe_dump: apply CO-RE relocations: field prev_seq: not found"),
	}} {
		t.Run(tt.name, func(t *testing.T) {
			err := loadError(dumpSide, tt.err)
			if got := errors.Is(err, ErrUnavailable); got != tt.unavailable {
				t.Errorf("errors.Is(%q, ErrUnavailable) = %v, want %v", err, got, tt.unavailable)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("%q does not wrap the load error", err)
			}
			for _, s := range tt.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%q does not say %q", err, s)
				}
			}
		})
	}
}

// TestBackendErrorsKeepBugs checks that a bug in one backend is not
// hidden by the other being unavailable.
func TestBackendErrorsKeepBugs(t *testing.T) {
	refused := loadError(writerSide, unix.EPERM)
	bug := loadError(writerSide, &ebpf.VerifierError{Cause: unix.EACCES, Log: verifierLog})
	for _, tt := range []struct {
		name        string
		errs        []error
		unavailable bool
	}{
		{"both refused", []error{refused, refused}, true},
		{"one refused, one rejected", []error{refused, bug}, false},
		{"one rejected", []error{bug}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			backends := []Backend{Fentry, Kprobe}[:len(tt.errs)]
			err := backendErrors(backends, tt.errs)
			if got := errors.Is(err, ErrUnavailable); got != tt.unavailable {
				t.Errorf("errors.Is(%q, ErrUnavailable) = %v, want %v", err, got, tt.unavailable)
			}
			for _, b := range backends {
				if !strings.Contains(err.Error(), b.String()+" backend: ") {
					t.Errorf("%q does not name the %v backend", err, b)
				}
			}
			if strings.Count(err.Error(), ErrUnavailable.Error()) > 1 {
				t.Errorf("%q repeats %q", err, ErrUnavailable)
			}
			var ve *ebpf.VerifierError
			if !tt.unavailable && !errors.As(err, &ve) {
				t.Errorf("%q lost the verifier error", err)
			}
		})
	}
}
