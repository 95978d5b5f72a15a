package probe

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"
)

// ErrUnavailable is wrapped by errors that mean "this kernel, or this
// process, cannot trace here": no BTF, no kprobes, the program type refused
// (EPERM from a security policy or missing privileges), no function to
// attach to. Callers that only wanted attribution as a bonus go on without
// it. Any other error, a program the verifier rejects above all, is a bug
// to report and never wraps ErrUnavailable.
var ErrUnavailable = errors.New("kernel tracing unavailable")

// unavailableError marks a missing capability without repeating
// ErrUnavailable's text at every level: Open prefixes it once.
type unavailableError struct{ err error }

func (e unavailableError) Error() string        { return e.err.Error() }
func (e unavailableError) Unwrap() error        { return e.err }
func (e unavailableError) Is(target error) bool { return target == ErrUnavailable }

func unavailable(err error) error { return unavailableError{err} }

// enotsupp is the kernel-internal ENOTSUPP that tracing attach returns
// where the architecture has no BPF trampolines; x/sys/unix lacks it.
const enotsupp = syscall.Errno(524)

// missingCapability reports whether err says the kernel or the process
// lacks something, rather than that nltrace did something wrong.
func missingCapability(err error) bool {
	for _, target := range []error{
		unix.EPERM, os.ErrPermission, // privileges, lockdown, seccomp, sandbox policy
		ebpf.ErrNotSupported, unix.EOPNOTSUPP, enotsupp, // program, map or attach type
		unix.ENOENT, os.ErrNotExist, btf.ErrNotFound, // the function or tracing support
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// loadError classifies a failure to load one side's object. A verifier
// log means the kernel read the program and refused it: a bug, printed
// whole. The kernel refusing the program type outright (EPERM with no log)
// or lacking a map or program type is a missing capability.
func loadError(s side, err error) error {
	var ve *ebpf.VerifierError
	if errors.As(err, &ve) && len(ve.Log) > 0 {
		return &verifierError{fmt.Sprintf("load %v programs: the verifier rejected one (a bug: please report it with this log)", s), err, ve}
	}
	err = fmt.Errorf("load %v programs: %w%s", s, err, permissionHint(err))
	if missingCapability(err) {
		return unavailable(err)
	}
	return err
}

// verifierError prints the whole verifier log (%+v), where the error's
// own text keeps only its last lines, and unwraps to the load error.
type verifierError struct {
	msg string
	err error
	ve  *ebpf.VerifierError
}

func (e *verifierError) Error() string {
	// The chain's text ends with the log's summary: swap it for the log.
	prefix, ok := strings.CutSuffix(e.err.Error(), e.ve.Error())
	if !ok {
		prefix = e.err.Error() + ": "
	}
	return fmt.Sprintf("%s: %s%+v", e.msg, prefix, e.ve)
}

func (e *verifierError) Unwrap() error { return e.err }

// backendErrors joins why each backend failed. Only when every backend
// lacked a capability is the result ErrUnavailable: a bug in one backend
// must not read as "this kernel cannot trace".
func backendErrors(backends []Backend, errs []error) error {
	all := true
	for _, err := range errs {
		all = all && errors.Is(err, ErrUnavailable)
	}
	out := make([]error, len(errs))
	for i, err := range errs {
		if !all && errors.Is(err, ErrUnavailable) {
			// Keep the text, drop the mark: errors.Is looks into every
			// branch of a join.
			out[i] = fmt.Errorf("%v backend: %v", backends[i], err)
			continue
		}
		out[i] = fmt.Errorf("%v backend: %w", backends[i], err)
	}
	if all {
		return fmt.Errorf("%w: %w", ErrUnavailable, errors.Join(out...))
	}
	return errors.Join(out...)
}

func permissionHint(err error) string {
	switch {
	case errors.Is(err, unix.EPERM), errors.Is(err, os.ErrPermission):
		if os.Geteuid() != 0 {
			return " (needs root, or CAP_BPF and CAP_PERFMON: run with sudo)"
		}
		return " (refused although running as root, so not a memlock limit: a security policy, lockdown or seccomp forbids this program type here)"
	case errors.Is(err, unix.ENOENT), errors.Is(err, os.ErrNotExist):
		return " (kernel function or tracing support missing: check CONFIG_KPROBES / CONFIG_FUNCTION_TRACER)"
	case errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, ebpf.ErrNotSupported), errors.Is(err, enotsupp):
		return " (this kernel does not support the attach type: try the other backend)"
	}
	return ""
}
