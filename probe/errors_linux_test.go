//go:build linux

package probe

import (
	"errors"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"

	"github.com/nltrace/nltrace/internal/testenv"
)

// TestVerifierRejectionIsABug loads the objects with one program the
// verifier must refuse, on a kernel that loads the real ones, and checks
// that the error is a bug with the verifier's whole log, not "tracing
// unavailable": a broken program must not pass for a kernel limit.
func TestVerifierRejectionIsABug(t *testing.T) {
	testenv.Root(t)
	kernel, err := btf.LoadKernelSpec()
	if err != nil {
		testenv.Need(t, "fentry", err)
	}
	syms, _ := LoadKallsyms()
	for _, b := range []Backend{Fentry, Kprobe} {
		t.Run(b.String(), func(t *testing.T) {
			o, err := loadObjects()
			if err != nil {
				t.Fatal(err)
			}
			p, err := open(b, Config{}, kernel, syms, o)
			if err != nil && !errors.Is(err, ErrUnavailable) {
				t.Fatal(err)
			}
			testenv.Need(t, b.String(), err)
			p.Close()

			if o, err = loadObjects(); err != nil {
				t.Fatal(err)
			}
			// R2 holds nothing at a program's entry: reading it is refused.
			broken := asm.Instructions{asm.Mov.Reg(asm.R0, asm.R2), asm.Return()}
			o.write.FentryListNetdevice.Instructions = broken
			o.write.KprobeListNetdevice.Instructions = broken
			p, err = open(b, Config{}, kernel, syms, o)
			if err == nil {
				p.Close()
				t.Fatal("a program the verifier must refuse was loaded")
			}
			t.Logf("%v", err)
			var ve *ebpf.VerifierError
			if !errors.As(err, &ve) || errors.Is(err, ErrUnavailable) {
				t.Fatalf("want a verifier error not marked unavailable, got %v", err)
			}
			for _, line := range ve.Log {
				if !strings.Contains(err.Error(), line) {
					t.Errorf("the error leaves out the verifier's line %q", line)
				}
			}
		})
	}
}
